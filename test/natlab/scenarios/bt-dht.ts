/**
 * bittorrent-dht nodes (our sidecar/src/dht/dht-node.ts, as the local testnet uses) on lab WAN
 * addresses, run inside the services namespace by an agent (services.ts). They verify BEP44
 * signatures and store items, but send no BEP42 `ip` (libtorrent does): use them next to the
 * libtorrent nodes, not instead of them, when a test needs DHT-STUN.
 */
import type DHT from 'bittorrent-dht';
import { destroyDhtNode, startDhtNode } from '../../../sidecar/src/dht/dht-node.ts';
import type { AgentContext } from '../agent.ts';

const KEY = 'bt-dht:nodes';

/** Starts one node per host on `port`, each bootstrapping from `bootstrap` plus the nodes started before it; returns their `host:port`. */
export async function start(ctx: AgentContext, hosts: string[], port: number, bootstrap: string[]): Promise<string[]> {
  const nodes = (ctx.state.get(KEY) as DHT[] | undefined) ?? [];
  if (!ctx.state.has(KEY)) {
    ctx.state.set(KEY, nodes);
    ctx.onClose(() => Promise.all(nodes.map((n) => destroyDhtNode(n))));
  }
  const out: string[] = [];
  for (const host of hosts) {
    const node = await startDhtNode({ bootstrap: [...bootstrap, ...out].slice(-16), host, port, timeoutMs: 1_000 });
    nodes.push(node);
    out.push(`${host}:${node.address().port}`);
  }
  return out;
}

/** Routing-table sizes of the nodes started so far. */
export function tableSizes(ctx: AgentContext): number[] {
  return ((ctx.state.get(KEY) as DHT[] | undefined) ?? []).map((n) => n.nodes.count());
}
