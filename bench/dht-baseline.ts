/**
 * The DHT paths as they were before adaptive timeouts and the publish quorum (commit 2b274a6), kept
 * here as the baseline of bench/dht-real.bench.ts: a lookup on k-rpc's own `closest` (every query
 * waits out the fixed KRPC timeout before the lookup can end), and a publish that first runs that
 * whole lookup, then puts to the 20 closest token holders and waits for every answer. Items are
 * checked exactly as in the product (bep44.ts `checkItem`).
 */
import type { Krpc } from 'bittorrent-dht';
import type { PublicKey } from '../sidecar/src/core/keys.ts';
import type { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { checkItem, putArguments } from '../sidecar/src/dht/bep44.ts';
import type { TokenNode } from '../sidecar/src/dht/item-lookup.ts';
import { putToNodes, storedCount } from '../sidecar/src/dht/put-query.ts';
import { compareXorDistance } from '../sidecar/src/dht/xor-distance.ts';

export interface BaselineLookup {
  best: SignedPacket | null;
  tokens: TokenNode[];
  /** ms from the start to the first valid packet, or null. */
  firstMs: number | null;
  /** ms until the lookup ended. */
  totalMs: number;
}

/** The old ItemLookup: k-rpc `closest` toward sha1(key), ending when k-rpc has nothing left or at `deadlineMs`. */
export function baselineLookup(rpc: Krpc, key: PublicKey, deadlineMs: number): Promise<BaselineLookup> {
  const target = Buffer.from(key.dhtTarget());
  const started = performance.now();
  const tokens = new Map<string, TokenNode>();
  let best: SignedPacket | null = null;
  let firstMs: number | null = null;
  return new Promise((resolve) => {
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      const sorted = [...tokens.values()].sort((a, b) => compareXorDistance(a.id, b.id, target)).slice(0, 20);
      resolve({ best, tokens: sorted, firstMs, totalMs: performance.now() - started });
    };
    const timer = setTimeout(end, deadlineMs);
    rpc.closest(target, { q: 'get', a: { id: rpc.id, target } }, (message, peer) => {
      if (ended) return false;
      const r = message.r;
      if (!r || !Buffer.isBuffer(r.id) || r.id.length !== 20) return true;
      const host = peer.address ?? peer.host ?? '';
      if (Buffer.isBuffer(r.token) && r.token.length > 0) tokens.set(`${host}:${peer.port}`, { id: r.id, host, port: peer.port, token: r.token });
      if (r.v === undefined) return true;
      const check = checkItem(r, key);
      if (check?.kind === 'packet') {
        if (best === null || check.packet.moreRecentThan(best)) best = check.packet;
        firstMs ??= performance.now() - started;
      }
      return true;
    }, end);
  });
}

/** The old publish: the whole lookup, then a put to the 20 closest token holders, waiting for every answer. Resolves with the stored count. */
export async function baselinePublish(rpc: Krpc, packet: SignedPacket, deadlineMs: number): Promise<number> {
  const lookup = await baselineLookup(rpc, packet.publicKey, deadlineMs);
  if (lookup.tokens.length === 0) return 0;
  return storedCount(await putToNodes(rpc, lookup.tokens, putArguments(packet)));
}
