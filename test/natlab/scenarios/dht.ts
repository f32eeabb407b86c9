/**
 * Our DhtClient inside a lab namespace (agent): join the lab DHT, publish and resolve a signed
 * packet (BEP44), announce and look up peers (BEP5). Used by the lab's own suite to prove the
 * libtorrent nodes store both, from behind each NAT.
 */
import { PkarrError } from '../../../sidecar/src/core/errors.ts';
import { Keypair, PublicKey } from '../../../sidecar/src/core/keys.ts';
import { SignedPacket } from '../../../sidecar/src/core/signed-packet.ts';
import { DhtClient } from '../../../sidecar/src/dht/dht-client.ts';
import type { AgentContext } from '../agent.ts';

const KEY = 'dht:client';

function client(ctx: AgentContext): DhtClient {
  const c = ctx.state.get(KEY) as DhtClient | undefined;
  if (c === undefined) throw new PkarrError('INVALID_ARGUMENT', 'no DhtClient in this agent (call start first)');
  return c;
}

/** Starts a DhtClient bootstrapped from `bootstrap`; resolves with its routing-table size. */
export async function start(ctx: AgentContext, bootstrap: string[]): Promise<number> {
  const c = await DhtClient.start({ bootstrap, port: 0 });
  ctx.state.set(KEY, c);
  ctx.onClose(() => c.destroy());
  return c.nodeCount;
}

/** Signs a TXT record `_lab` = `text` under a fresh key and puts it; returns the key (z32) and how many nodes stored it. */
export async function publish(ctx: AgentContext, text: string): Promise<{ key: string; storedOn: number }> {
  const keypair = Keypair.generate();
  const packet = SignedPacket.sign(keypair, [{ type: 'TXT', name: '_lab', ttl: 300, strings: [text] }]);
  const { storedOn } = await client(ctx).put(packet);
  return { key: keypair.publicKey.z32, storedOn };
}

/** Resolves `key` (z32); returns the `_lab` TXT text or null. */
export async function resolve(ctx: AgentContext, key: string): Promise<string | null> {
  const { packet } = await client(ctx).get(PublicKey.parse(key));
  const txt = packet?.records.find((r) => r.type === 'TXT');
  return txt?.type === 'TXT' ? txt.strings.join('') : null;
}

/** BEP5 announce of `infoHashHex` with `port` (0 = implied); returns how many nodes accepted it. */
export function announce(ctx: AgentContext, infoHashHex: string, port: number): Promise<number> {
  return client(ctx).announce(Buffer.from(infoHashHex, 'hex'), port);
}

/** BEP5 lookup of `infoHashHex`; returns the peers found (`host:port`). */
export async function lookup(ctx: AgentContext, infoHashHex: string): Promise<string[]> {
  const peers = new Set<string>();
  await client(ctx).lookup(Buffer.from(infoHashHex, 'hex'), (host, port) => peers.add(`${host}:${port}`));
  return [...peers];
}
