/**
 * Where the round trips of one publish go (bench/dht-real.bench.ts with DHT_REAL_TRACE=1): every
 * query of a client socket is recorded (sent, answered, the ids it returned), and after the publish
 * the timeline is summed up against the lab's ground truth (which nodes are alive, their ids):
 *
 * - `depth`: lookup hops until the 10 closest live nodes were all known (seeds = hop 0);
 * - `known10` / `answered10`: when the 10 closest live nodes the lookup found were all known / had
 *   all answered the get (those whose get was lost left out); `found10`: how many of the true 10
 *   closest live nodes the lookup found at all;
 * - `dead`: dead nodes closer than the 10th closest live one that the lookup asked (each costs its
 *   RTO before the nodes behind it count), and when the last of them was asked;
 * - `put10`: when the 10th put acknowledgement came; `quorum`: when the call returned.
 *
 * Bench-only diagnostics: it wraps `rpc.socket.query` and restores it.
 */
import type { Krpc, KrpcMessage, KrpcQuery } from 'bittorrent-dht';
import { compareXorDistance } from '../sidecar/src/dht/xor-distance.ts';
import { parseCompactNodes } from '../sidecar/src/dht/iterative-lookup.ts';

interface Traced {
  q: string;
  port: number;
  sentAt: number;
  doneAt: number | null;
  ok: boolean;
  id: Buffer | undefined;
  token: boolean;
  /** Ports of the nodes the reply listed. */
  listed: number[];
}

export interface TraceSummary {
  quorum: number;
  depth: number;
  known10: number;
  answered10: number;
  deadAsked: number;
  lastDeadAskedAt: number;
  put10: number;
  found10: number;
  gets: number;
  puts: number;
  /** Mean time from a get's token to the put, over the 10 closest live nodes that got one. */
  putLag: number;
}

export class QueryTrace {
  readonly queries: Traced[] = [];
  /** Ids seen in replies and `nodes` lists, by port. */
  readonly ids = new Map<number, Buffer>();
  readonly #t0 = performance.now();
  readonly #rpc: Krpc;
  readonly #original: Krpc['socket']['query'];

  constructor(rpc: Krpc) {
    this.#rpc = rpc;
    const original = rpc.socket.query.bind(rpc.socket);
    this.#original = rpc.socket.query;
    rpc.socket.query = (peer, message: KrpcQuery, cb) => {
      const entry: Traced = { q: message.q, port: peer.port, sentAt: this.now(), doneAt: null, ok: false, id: peer.id, token: false, listed: [] };
      this.queries.push(entry);
      return original(peer, message, (err, reply: KrpcMessage | null, from) => {
        entry.doneAt = this.now();
        const r = reply?.r;
        entry.ok = err === null && r !== undefined;
        if (r !== undefined && Buffer.isBuffer(r.id)) {
          entry.id = r.id;
          this.ids.set(peer.port, r.id);
          entry.token = Buffer.isBuffer(r.token);
          for (const n of parseCompactNodes(r.nodes)) {
            this.ids.set(n.port, n.id);
            entry.listed.push(n.port);
          }
        }
        cb(err, reply, from);
      });
    };
  }

  now(): number {
    return performance.now() - this.#t0;
  }

  restore(): void {
    this.#rpc.socket.query = this.#original;
  }

  /**
   * Sums the trace up. `live`: ports of live nodes; `knownIds`: ground-truth ids by port (the
   * bittorrent-dht nodes; libtorrent ones are learned from the trace); `seeds`: ports known at start.
   */
  summary(target: Buffer, live: Set<number>, knownIds: Map<number, Buffer>, seeds: Set<number>, quorumAt: number): TraceSummary {
    const ids = new Map([...this.ids, ...knownIds]);
    const gets = this.queries.filter((q) => q.q === 'get');
    // When each node was first known, and at which hop.
    const knownAt = new Map<number, { at: number; depth: number }>();
    for (const p of seeds) knownAt.set(p, { at: 0, depth: 0 });
    const byDone = gets.filter((q) => q.doneAt !== null && q.ok).sort((a, b) => a.doneAt! - b.doneAt!);
    for (const q of byDone) {
      const from = knownAt.get(q.port);
      const depth = (from?.depth ?? 0) + 1;
      for (const p of q.listed) if (!knownAt.has(p)) knownAt.set(p, { at: q.doneAt!, depth });
    }
    // The 10 closest live nodes the lookup came to know (a lookup need not find the true 10 closest:
    // tables are incomplete; `found10` says how many of those it found).
    const byDistance = (a: number, b: number): number => compareXorDistance(ids.get(a)!, ids.get(b)!, target);
    const trueClosest = [...live].filter((p) => ids.has(p)).sort(byDistance).slice(0, 10);
    const closestLive = [...live].filter((p) => ids.has(p) && knownAt.has(p)).sort(byDistance).slice(0, 10);
    const found10 = trueClosest.filter((p) => knownAt.has(p)).length;
    const tenth = ids.get(closestLive[closestLive.length - 1]!)!;
    let lagSum = 0;
    let lagN = 0;
    for (const p of closestLive) {
      const token = gets.find((q) => q.port === p && q.ok && q.token);
      const put = this.queries.find((q) => q.q === 'put' && q.port === p);
      if (token === undefined || put === undefined) continue;
      lagSum += put.sentAt - token.doneAt!;
      lagN++;
    }
    let depth = 0;
    let known10 = 0;
    let answered10 = 0;
    for (const p of closestLive) {
      const k = knownAt.get(p);
      depth = Math.max(depth, k?.depth ?? Infinity);
      known10 = Math.max(known10, k?.at ?? Infinity);
      const answered = gets.filter((q) => q.port === p && q.ok).map((q) => q.doneAt!);
      if (answered.length > 0) answered10 = Math.max(answered10, Math.min(...answered)); // a lost query never answers: left out
    }
    let deadAsked = 0;
    let lastDeadAskedAt = 0;
    const deadSeen = new Set<number>();
    for (const q of gets) {
      if (live.has(q.port) || deadSeen.has(q.port)) continue;
      const id = ids.get(q.port);
      if (id === undefined || compareXorDistance(id, tenth, target) > 0) continue;
      deadSeen.add(q.port);
      deadAsked++;
      lastDeadAskedAt = Math.max(lastDeadAskedAt, q.sentAt);
    }
    const acks = this.queries.filter((q) => q.q === 'put' && q.ok).map((q) => q.doneAt!).sort((a, b) => a - b);
    return { quorum: quorumAt, depth, known10, answered10, deadAsked, lastDeadAskedAt, put10: acks[9] ?? Infinity, found10, gets: gets.length,
      puts: this.queries.filter((q) => q.q === 'put').length, putLag: lagN === 0 ? Number.NaN : lagSum / lagN };
  }
}
