/**
 * A BEP5 announce that does not wait for the dead. bittorrent-dht's own `announce` first runs a
 * whole `get_peers` lookup, which ends only when every query it sent has answered or timed out, so
 * one unreachable node on the way (the real DHT keeps many: nodes behind NATs, departed ones) costs
 * the full KRPC timeout (2 s) before anything is announced. A joiner's rendezvous announce is on the
 * critical path of hole punching (docs/nat.md §3), so this one ends the lookup as soon as the `k`
 * closest nodes that gave a write token stop changing for a settle time adapted to the network
 * (twice the first answer's round trip, at least `settleMinMs`), then sends `announce_peer` to them.
 * The usual Kademlia end (nothing left to ask) or the deadline also end it.
 */
import type { Krpc, KrpcMessage, KrpcPeer } from 'bittorrent-dht';
import { PkarrError } from '../core/errors.ts';
import { compareXorDistance } from './xor-distance.ts';

export interface QuickAnnounceOptions {
  /** Nodes to announce to (BEP5/mainline K: 8). */
  k?: number;
  /** Shortest settle time, ms (default 150). */
  settleMinMs?: number;
  /** The lookup ends with what it has after this long, ms. */
  deadlineMs: number;
  signal?: AbortSignal;
}

export interface QuickAnnounceResult {
  /** Nodes that accepted the announce. */
  stored: number;
  /** Nodes that answered the lookup. */
  responded: number;
  /** How long the lookup took before the announce, ms. */
  lookupMs: number;
}

interface TokenNode { id: Buffer; host: string; port: number; token: Buffer }

/** Announces `port` (0 = implied: the source port) under `infoHash` to the closest responsive nodes. */
export function quickAnnounce(rpc: Krpc, infoHash: Buffer, port: number, options: QuickAnnounceOptions): Promise<QuickAnnounceResult> {
  const k = options.k ?? 8;
  const settleMinMs = options.settleMinMs ?? 150;
  const started = performance.now();
  const tokens = new Map<string, TokenNode>();
  let responded = 0;
  let firstReplyMs: number | null = null;
  let settle: NodeJS.Timeout | undefined;
  let ended = false;

  return new Promise<QuickAnnounceResult>((resolve, reject) => {
    const closest = (): TokenNode[] => [...tokens.values()].sort((a, b) => compareXorDistance(a.id, b.id, infoHash)).slice(0, k);
    const deadline = setTimeout(() => finish(), options.deadlineMs);
    const onAbort = (): void => {
      if (ended) return;
      ended = true;
      cleanup();
      reject(new PkarrError('TIMEOUT', 'DHT announce aborted'));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      clearTimeout(deadline);
      clearTimeout(settle);
      options.signal?.removeEventListener('abort', onAbort);
    }
    function finish(): void {
      if (ended) return;
      ended = true;
      cleanup();
      const nodes = closest();
      const lookupMs = Math.round(performance.now() - started);
      if (nodes.length === 0) {
        reject(new PkarrError('NO_DHT_NODES', `DHT announce: no DHT node answered (${responded} responded)`));
        return;
      }
      const message = { q: 'announce_peer', a: { id: rpc.id, token: null as Buffer | null, info_hash: infoHash, port, implied_port: port === 0 ? 1 : 0 } };
      let missing = nodes.length;
      let stored = 0;
      for (const node of nodes) {
        // Each query carries its own node's token (k-rpc's queryAll shares one message object).
        rpc.query(node, { q: message.q, a: { ...message.a, token: node.token } }, (err) => {
          if (err === null) stored++;
          if (--missing === 0) resolve({ stored, responded, lookupMs });
        });
      }
    }
    function onReply(message: KrpcMessage, peer: KrpcPeer): boolean {
      if (ended) return false;
      const r = message.r;
      if (!r || !Buffer.isBuffer(r.id) || r.id.length !== 20) return true;
      responded++;
      firstReplyMs ??= performance.now() - started;
      if (!Buffer.isBuffer(r.token) || r.token.length === 0) return true;
      const host = peer.address ?? peer.host ?? '';
      const node = { id: r.id, host, port: peer.port, token: r.token };
      tokens.set(`${host}:${peer.port}`, node);
      // The k closest changed (or just filled up): wait for the set to settle again.
      if (tokens.size >= k && closest().includes(node)) {
        clearTimeout(settle);
        settle = setTimeout(finish, Math.max(settleMinMs, 2 * (firstReplyMs ?? 0)));
      }
      return true;
    }
    rpc.closest(infoHash, { q: 'get_peers', a: { id: rpc.id, info_hash: infoHash } }, onReply, () => finish());
  });
}
