/**
 * Runs inside a NAT-lab namespace through the lab's agent (test/natlab/agent.ts): binds a UDP
 * socket as the punch socket would, runs the reachability adapter (DHT-STUN against the lab's
 * libtorrent nodes, then the classifier with this namespace's real interface addresses) and returns
 * the report with the raw observations. Used by nat-stun-lab.test.ts.
 */
import type { AgentContext } from './natlab/agent.ts';
import type { StunResult } from '../sidecar/src/nat/dht-stun.ts';
import type { NatReport, PortMappingInfo } from '../sidecar/src/nat/nat-type.ts';
import { Reachability } from '../sidecar/src/nat/reachability.ts';
import { DgramChannel } from './nat-stun-helpers.ts';

export interface LabProbeArgs {
  /** libtorrent nodes, `host:port`. */
  nodes: string[];
  /** Local port of the socket (0 = any). */
  port: number;
  count?: number;
  timeoutMs?: number;
  /** A router mapping made beforehand (natpmpc/upnpc or the port mapper). */
  mapping?: PortMappingInfo | null;
}

export interface LabProbeResult {
  report: NatReport;
  stun: StunResult;
  localPort: number;
}

/** One probe from a fresh socket on `port`, closed afterwards. */
export async function probe(_ctx: AgentContext, args: LabProbeArgs): Promise<LabProbeResult> {
  const channel = await DgramChannel.open('0.0.0.0', args.port);
  const reachability = new Reachability({
    channel,
    nodes: () => args.nodes,
    intervalMs: 0,
    portMapping: () => args.mapping ?? null,
    stun: { count: args.count ?? 8, timeoutMs: args.timeoutMs ?? 3000 },
  });
  try {
    const report = await reachability.refresh();
    return { report, stun: reachability.lastObservations()!, localPort: channel.localAddress().port };
  } finally {
    reachability.close();
    await channel.close();
  }
}
