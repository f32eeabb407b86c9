/**
 * Runs inside a NAT-lab namespace through the lab's agent (test/natlab/agent.ts), for
 * nat-stun-lab.test.ts: binds the production punch socket (nat/punch-socket.ts), optionally maps
 * its port on the router with the production port mapper (nat/port-mapper.ts), runs the
 * reachability adapter on the socket's KRPC channel (DHT-STUN against the lab's libtorrent nodes,
 * then the classifier with this namespace's real interface addresses), and records datagrams that
 * reach the socket from anyone but the DHT nodes (to check what "directly reachable" means).
 */
import type { AgentContext } from './natlab/agent.ts';
import type { StunResult } from '../sidecar/src/nat/dht-stun.ts';
import type { NatReport } from '../sidecar/src/nat/nat-type.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { PortMapper, type PortMapping, type PortMappingMethod } from '../sidecar/src/nat/port-mapper.ts';
import { PunchSocket } from '../sidecar/src/nat/punch-socket.ts';
import { Reachability } from '../sidecar/src/nat/reachability.ts';
import type { UdpAddress } from '../sidecar/src/nat/udp-channel.ts';

const KEY = 'nat-stun-lab';

interface Held {
  socket: PunchSocket;
  mapper: PortMapper | null;
  mapping: PortMapping | null;
  reachability: Reachability;
  /** KRPC-channel datagrams from senders that are not DHT nodes. */
  inbound: { from: UdpAddress; text: string }[];
}

export interface LabOpenArgs {
  /** Local port of the punch socket. */
  port: number;
  /** libtorrent nodes, `host:port`, pinged as they are. */
  nodes: string[];
  /** Instead: start the sidecar's DHT node bootstrapped from `nodes` and ping its routing table, as the sidecar does. */
  viaDhtClient?: boolean;
  /** Map the port on the router first with this protocol, asking for this external port. */
  map?: { method: PortMappingMethod; externalPort: number };
  count?: number;
  timeoutMs?: number;
}

export interface LabProbeResult {
  report: NatReport;
  stun: StunResult;
  localPort: number;
  mapping: PortMapping | null;
}

function held(ctx: AgentContext): Held {
  const h = ctx.state.get(KEY) as Held | undefined;
  if (h === undefined) throw new Error('call open first');
  return h;
}

/** Binds the punch socket (and maps its port when asked); it stays open until the agent closes. */
export async function open(ctx: AgentContext, args: LabOpenArgs): Promise<{ localPort: number; mapping: PortMapping | null }> {
  const client = args.viaDhtClient ? await DhtClient.start({ bootstrap: args.nodes, timeoutMs: 1000 }) : null;
  if (client !== null) ctx.onClose(() => client.destroy());
  const socket = await PunchSocket.bind({ port: args.port });
  const dht = new Set(args.nodes);
  const h: Held = {
    socket, mapper: null, mapping: null, inbound: [],
    reachability: new Reachability({
      channel: socket.krpc,
      nodes: () => (client === null ? args.nodes : client.routingTable()),
      intervalMs: 0,
      portMapping: () => h.mapping,
      stun: { count: args.count ?? 8, timeoutMs: args.timeoutMs ?? 3000 },
    }),
  };
  ctx.state.set(KEY, h);
  ctx.onClose(async () => {
    h.reachability.close();
    await h.mapper?.close();
    await socket.close();
  });
  socket.krpc.onMessage((payload, from) => {
    if (!dht.has(`${from.host}:${from.port}`) && h.inbound.length < 100) h.inbound.push({ from, text: payload.subarray(0, 64).toString('latin1') });
  });
  if (args.map) {
    h.mapper = await PortMapper.start({ protocols: [args.map.method] });
    h.mapping = await h.mapper.map({ protocol: 'UDP', internalPort: socket.address().port, externalPort: args.map.externalPort, description: 'nat-stun lab' });
  }
  return { localPort: socket.address().port, mapping: h.mapping };
}

/** Runs one DHT-STUN probe on the open socket and classifies it. */
export async function probe(ctx: AgentContext): Promise<LabProbeResult> {
  const h = held(ctx);
  const report = await h.reachability.refresh();
  return { report, stun: h.reachability.lastObservations()!, localPort: h.socket.address().port, mapping: h.mapping };
}

/** What reached the socket from senders other than the DHT nodes. */
export function inbound(ctx: AgentContext): { from: UdpAddress; text: string }[] {
  return held(ctx).inbound;
}
