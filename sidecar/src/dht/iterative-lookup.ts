/**
 * An iterative Kademlia lookup toward a target with adaptive soft timeouts (replaces k-rpc's
 * `closest`, whose every query waits out the one fixed KRPC timeout).
 *
 * Candidates are kept sorted by XOR distance to the target. The *window* is the `k` closest
 * candidates that are not known to be unreachable; every window candidate not asked yet is asked
 * at once (k-rpc asked 16 at a time, which in the dht-real lab left window nodes unasked behind
 * dead ones for an RTO), as far as the socket's budget allows. A query that has not
 * answered within the node's RTO (rtt-estimator.ts: its own estimate, else the network's) goes
 * *slow*: the window no longer counts
 * it, so the next candidate is asked and the lookup need not wait for it; a late reply is still
 * used (the node comes back) until the hard KRPC timeout of the socket, when it fails for good and
 * leaves the routing table as in k-rpc. The lookup is complete when every window candidate has
 * answered: dead nodes cost one RTO, not the full KRPC timeout. A lookup that no node has answered
 * yet also waits for its slow queries (they may be late, not dead).
 *
 * `settledBefore(id)` tells whether every candidate closer than `id` has answered or been given up
 * on, i.e. whether a node is known to be among the closest reachable ones (publish-query.ts puts to
 * such nodes while the lookup still runs).
 */
import type { Krpc, KrpcError, KrpcMessage, KrpcPeer, KrpcQuery, KrpcSocket } from 'bittorrent-dht';
import type { RttEstimator } from './rtt-estimator.ts';
import { compareXorDistance } from './xor-distance.ts';

/** Timer hooks (tests inject fake ones). */
export interface LookupTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: LookupTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Queries one socket may have waiting before our lookups hold back, counted over everything the
 * socket sends (k-rpc-socket's `inflight`: our lookups and puts, bittorrent-dht's own lookups,
 * announces and pings). A browse starts a lookup per directory slot (16) at the same moment:
 * unbounded, that was a burst of 256 queries, and in the NAT lab every query after the first ~160
 * of such a burst went unanswered, so whole lookups failed with no response at all. libtorrent asks
 * 3-8 nodes per lookup at a time; 64 keeps each of a dozen lookups moving while no burst is larger
 * than a quarter of that.
 */
export const MAX_QUERIES_IN_FLIGHT = 64;

/**
 * k-rpc's `concurrency` for our sockets: k-rpc sends (bittorrent-dht's lookups and announces, the
 * rendezvous of hole punching) only while the socket has fewer queries in flight than this. With
 * k-rpc's default (16) our lookups, which may keep 64 waiting (slow ones until the 2 s hard timeout),
 * held every rendezvous announce and poll back for seconds: joins through NATs timed out. Above
 * {@link MAX_QUERIES_IN_FLIGHT}, bittorrent-dht always has 16 places our lookups never take.
 */
export const KRPC_CONCURRENCY = MAX_QUERIES_IN_FLIGHT + 16;

/** The lookups of one socket waiting for a place, and whether they wait for its next `update`. */
interface SendBudget {
  readonly waiting: Set<() => void>;
  armed: boolean;
}

const budgets = new WeakMap<KrpcSocket, SendBudget>();

function budgetOf(socket: KrpcSocket): SendBudget {
  let budget = budgets.get(socket);
  if (budget === undefined) {
    budget = { waiting: new Set(), armed: false };
    budgets.set(socket, budget);
  }
  return budget;
}

/** True when the socket has no place for one more of our queries. */
function socketFull(socket: KrpcSocket): boolean {
  return socket.inflight >= MAX_QUERIES_IN_FLIGHT;
}

/** Calls `wake` once after the socket's next query ends (k-rpc-socket emits `update` then). */
function waitForPlace(socket: KrpcSocket, wake: () => void): void {
  const budget = budgetOf(socket);
  budget.waiting.add(wake);
  if (budget.armed) return;
  budget.armed = true;
  socket.once('update', () => {
    budget.armed = false;
    const waiting = [...budget.waiting];
    budget.waiting.clear();
    for (const next of waiting) next();
  });
}

type State = 'new' | 'pending' | 'slow' | 'answered' | 'failed';

export interface Candidate {
  /** Unknown only for bootstrap routers until they answer. */
  id: Buffer | undefined;
  host: string;
  port: number;
  state: State;
}

interface Entry extends Candidate {
  key: string;
  sentAt: number;
  timer: unknown;
}

export interface IterativeLookupOptions {
  rpc: Krpc;
  target: Buffer;
  query: KrpcQuery;
  rtt: RttEstimator;
  /** Window size (default 20, BEP5/mainline K). */
  k?: number;
  timers?: LookupTimers;
  /** Every valid reply (an `r` with a 20-byte id), in arrival order. */
  onReply: (message: KrpcMessage, peer: KrpcPeer) => void;
  /** After every change of a candidate's state (reply, failure, soft timeout). */
  onProgress?: () => void;
  /** Once, when the window has nothing left to ask or wait for. */
  onComplete: () => void;
}

/**
 * Compact IPv4 node infos (BEP5: 20-byte id, 4-byte address, 2-byte port each). Entries no DHT node
 * can have are skipped, so a reply cannot make us send to them: port 0, 0.0.0.0/8 ("this network"),
 * 224.0.0.0/4 multicast and 240.0.0.0/4 reserved (with the broadcast address).
 */
export function parseCompactNodes(nodes: unknown): { id: Buffer; host: string; port: number }[] {
  if (!Buffer.isBuffer(nodes)) return [];
  const out: { id: Buffer; host: string; port: number }[] = [];
  for (let i = 0; i + 26 <= nodes.length; i += 26) {
    const port = nodes.readUInt16BE(i + 24);
    const first = nodes[i + 20]!;
    if (port === 0 || first === 0 || first >= 224) continue;
    out.push({ id: Buffer.from(nodes.subarray(i, i + 20)), host: `${nodes[i + 20]}.${nodes[i + 21]}.${nodes[i + 22]}.${nodes[i + 23]}`, port });
  }
  return out;
}

export class IterativeLookup {
  readonly #o: IterativeLookupOptions;
  readonly #k: number;
  readonly #timers: LookupTimers;
  /** Candidates with an id, closest first. */
  readonly #sorted: Entry[] = [];
  readonly #byKey = new Map<string, Entry>();
  #ended = false;
  #tableDone = false;
  #routersAsked = false;
  readonly #budget: SendBudget;
  readonly #wake = (): void => this.#kick();

  constructor(options: IterativeLookupOptions) {
    this.#o = options;
    this.#budget = budgetOf(options.rpc.socket);
    this.#k = options.k ?? 20;
    this.#timers = options.timers ?? REAL_TIMERS;
  }

  /** Seeds from the routing table (and the bootstrap routers when it is smaller than that list, as k-rpc does), then asks. */
  start(): this {
    const { rpc, target } = this.#o;
    const known = rpc.nodes.closest(target, this.#k);
    for (const node of known) if (node.id !== undefined) this.#add(node.id, node.host, node.port);
    if (known.length < Math.max(1, rpc.bootstrap.length)) this.#askRouters();
    this.#kick();
    return this;
  }

  #askRouters(): void {
    if (this.#routersAsked) return;
    this.#routersAsked = true;
    for (const router of this.#o.rpc.bootstrap) {
      const key = `${router.host}:${router.port}`;
      if (this.#byKey.has(key)) continue;
      const entry: Entry = { id: undefined, host: router.host, port: router.port, state: 'new', key, sentAt: 0, timer: undefined };
      this.#byKey.set(key, entry);
      this.#send(entry);
    }
  }

  /**
   * When dead or slow candidates leave the window short of `k`, more come from the routing table
   * (farther from the target), and when that has none left and nobody answered, from the
   * bootstrap routers (k-rpc does the same once its failed nodes left the table).
   */
  #topUp(): void {
    if (this.#tableDone) return;
    let usable = 0;
    for (const entry of this.#sorted) if (entry.state !== 'failed' && entry.state !== 'slow') usable++;
    if (usable >= this.#k) return;
    let added = 0;
    for (const node of this.#o.rpc.nodes.closest(this.#o.target, this.#byKey.size + this.#k)) {
      if (node.id === undefined || this.#byKey.has(`${node.host}:${node.port}`)) continue;
      this.#add(node.id, node.host, node.port);
      added++;
    }
    if (added > 0) return;
    this.#tableDone = true;
    if (!this.#sorted.some((e) => e.state === 'answered')) this.#askRouters();
  }

  /** Stops asking; replies still in flight are ignored. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#budget.waiting.delete(this.#wake);
    for (const entry of this.#byKey.values()) this.#timers.clearTimeout(entry.timer);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Queries sent and not answered yet (slow ones included). */
  get inFlight(): number {
    let n = 0;
    for (const entry of this.#byKey.values()) if (entry.state === 'pending' || entry.state === 'slow') n++;
    return n;
  }

  /** The candidates, closest first (a snapshot, for tests and diagnostics). */
  candidates(): Candidate[] {
    return this.#sorted.map(({ id, host, port, state }) => ({ id, host, port, state }));
  }

  /** True when no candidate closer to the target than `id` is still unasked or within its RTO. */
  settledBefore(id: Buffer): boolean {
    return this.unresolvedBefore(id) === 0;
  }

  /** Candidates closer to the target than `id` still unasked or within their RTO. */
  unresolvedBefore(id: Buffer): number {
    const target = this.#o.target;
    let n = 0;
    for (const entry of this.#sorted) {
      if (compareXorDistance(entry.id!, id, target) >= 0) break;
      if (entry.state === 'new' || entry.state === 'pending') n++;
    }
    return n;
  }

  #add(id: Buffer, host: string, port: number): void {
    const key = `${host}:${port}`;
    if (this.#byKey.has(key) || id.equals(this.#o.rpc.id)) return;
    const entry: Entry = { id, host, port, state: 'new', key, sentAt: 0, timer: undefined };
    this.#byKey.set(key, entry);
    this.#insert(entry);
  }

  #insert(entry: Entry): void {
    const target = this.#o.target;
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareXorDistance(this.#sorted[mid]!.id!, entry.id!, target) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.#sorted.splice(lo, 0, entry);
  }

  #send(entry: Entry): void {
    const { rpc, rtt, query } = this.#o;
    entry.state = 'pending'; // pending or slow: in the socket's `inflight` until its answer or hard timeout
    entry.sentAt = this.#timers.now();
    entry.timer = this.#timers.setTimeout(() => this.#onSoftTimeout(entry), rtt.rto(entry.key));
    const peer = entry.id === undefined ? { host: entry.host, port: entry.port } : { id: entry.id, host: entry.host, port: entry.port };
    rpc.socket.query(peer, query, (err, message, from) => this.#onAnswer(entry, err, message, from));
  }

  #onSoftTimeout(entry: Entry): void {
    if (this.#ended || entry.state !== 'pending') return;
    entry.state = 'slow';
    this.#changed();
  }

  #onAnswer(entry: Entry, err: KrpcError | null, message: KrpcMessage | null, from: KrpcPeer): void {
    this.#timers.clearTimeout(entry.timer);
    const r = message?.r;
    const replied = err === null && r !== undefined && Buffer.isBuffer(r.id) && r.id.length === 20;
    if (err !== null && typeof err.code === 'number') this.#o.rtt.record(entry.key, this.#timers.now() - entry.sentAt); // an error reply is a round trip
    if (!replied) {
      entry.state = 'failed';
      const id = entry.id;
      // As k-rpc: a node that timed out (hard timeout) or answered with another id leaves the routing table.
      if (id !== undefined && (err?.code === 'ETIMEDOUT' || err?.code === 'EUNEXPECTEDNODE') && this.#o.rpc.nodes.get(id)) this.#o.rpc.nodes.remove(id);
      if (!this.#ended) this.#changed();
      return;
    }
    this.#o.rtt.record(entry.key, this.#timers.now() - entry.sentAt);
    entry.state = 'answered';
    if (this.#ended) return;
    if (entry.id === undefined) {
      // A bootstrap router: it now has an id and takes its place among the candidates (unless it is a known node).
      const id = r.id as Buffer;
      if (!id.equals(this.#o.rpc.id) && !this.#sorted.some((e) => e.id!.equals(id))) {
        entry.id = id;
        this.#insert(entry);
      }
    }
    for (const node of parseCompactNodes(r.nodes)) this.#add(node.id, node.host, node.port);
    this.#o.onReply(message!, from ?? { host: entry.host, port: entry.port });
    if (!this.#ended) this.#changed();
  }

  #changed(): void {
    this.#kick();
    if (!this.#ended) this.#o.onProgress?.();
  }

  /** Asks the window's unasked candidates; completes when the window has nothing left to ask or wait for. */
  #kick(): void {
    if (this.#ended) return;
    this.#topUp();
    const window: Entry[] = [];
    for (const entry of this.#sorted) {
      if (window.length >= this.#k) break;
      if (entry.state !== 'failed' && entry.state !== 'slow') window.push(entry);
    }
    let open = false;
    for (const entry of window) {
      if (entry.state === 'new') {
        open = true;
        if (this.#o.rpc.destroyed) continue;
        if (socketFull(this.#o.rpc.socket)) waitForPlace(this.#o.rpc.socket, this.#wake); // asked again when one of the socket's queries ends
        else this.#send(entry);
      } else if (entry.state === 'pending') {
        open = true;
      }
    }
    // Bootstrap routers not answered yet (within their RTO) keep the lookup open.
    if (!open) {
      for (const entry of this.#byKey.values()) if (entry.id === undefined && entry.state === 'pending') open = true;
    }
    // A lookup nobody has answered yet waits for its slow queries until the hard timeout: on a
    // loaded machine every reply can come after the RTO, and a soft timeout must never turn late
    // answers into "nobody answered". Once some node answered, slow ones are given up on as
    // designed (in a small network with unreachable entries, e.g. players behind NATs, waiting for
    // a full window of K answers cost every lookup the hard timeout: the NAT lab's joins slowed
    // from ~3 s to 5-12 s and port-restricted pairs timed out).
    if (!open && !this.#sorted.some((e) => e.state === 'answered')) {
      for (const entry of this.#byKey.values()) if (entry.state === 'slow') { open = true; break; }
    }
    if (!open) {
      this.end();
      this.#o.onComplete();
    }
  }
}
