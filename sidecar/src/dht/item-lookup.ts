/**
 * One iterative BEP44 `get` lookup toward sha1(key), run on our own iterative lookup
 * (iterative-lookup.ts: adaptive per-node soft timeouts) so the local store is never consulted
 * (bittorrent-dht's `get` answers from this node's own stored copy, however stale, without asking
 * the network) and so that we see every reply as it arrives (bittorrent-dht's own `get` only
 * reports after the whole lookup, i.e. after every timeout).
 *
 * Every reply is checked (bep44.ts `checkItem`); the lookup keeps the most recent packet, the highest
 * invalid seq, which packet each responder holds (for `holders`) and the responders' write tokens
 * (for a following `put`). It ends when k-rpc has nothing left to ask, at the deadline, or on cancel.
 */
import type { Krpc, KrpcMessage, KrpcNode, KrpcPeer } from 'bittorrent-dht';
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import { checkItem, itemId, type ItemCheck } from './bep44.ts';
import { IterativeLookup, type LookupTimers } from './iterative-lookup.ts';
import type { RttEstimator } from './rtt-estimator.ts';
import { compareXorDistance } from './xor-distance.ts';

export interface ItemLookupOptions {
  rpc: Krpc;
  key: PublicKey;
  /** Only packets with a timestamp strictly greater count; also sent as BEP44 `seq` in the query. */
  floor?: bigint | undefined;
  /** The lookup stops sending queries and ends after this long. */
  deadlineMs: number;
  /** Called once per distinct valid packet above `floor`, in arrival order. */
  onPacket?: (packet: SignedPacket) => void;
  /** Round-trip estimates: soft timeouts come from here, and every reply updates them. */
  rtt: RttEstimator;
  /** Lookup window (default 20, K). */
  k?: number;
  /** After every reply, failure or soft timeout while the lookup runs (publish-query.ts). */
  onProgress?: () => void;
  timers?: LookupTimers;
}

/** Why a lookup ended. */
export type LookupEnd = 'complete' | 'deadline' | 'cancelled';

/** A node that answered our `get` with a write token. */
export interface TokenNode extends KrpcNode {
  id: Buffer;
  token: Buffer;
}

export class ItemLookup {
  readonly target: Buffer;
  /** Distinct nodes that answered so far. */
  responded = 0;
  /** The most recent valid packet above the floor. */
  best: SignedPacket | null = null;
  /** Highest seq of an item that verified as BEP44 but whose DNS does not parse. */
  invalidSeq: bigint | undefined = undefined;
  /** Settles when the lookup ends. */
  readonly finished: Promise<LookupEnd>;

  readonly #options: ItemLookupOptions;
  readonly #checked = new Map<string, ItemCheck>();
  readonly #holdings = new Map<string, SignedPacket>();
  readonly #responders = new Set<string>();
  readonly #tokenNodes = new Map<string, TokenNode>();
  #ended = false;
  #timer: NodeJS.Timeout | undefined;
  #lookup: IterativeLookup | null = null;
  #end: (reason: LookupEnd) => void = () => {};

  constructor(options: ItemLookupOptions) {
    this.#options = options;
    this.target = Buffer.from(options.key.dhtTarget());
    this.finished = new Promise<LookupEnd>((resolve) => {
      this.#end = (reason) => {
        if (this.#ended) return;
        this.#ended = true;
        clearTimeout(this.#timer);
        this.#lookup?.end();
        resolve(reason);
      };
    });
  }

  /** Starts the lookup (once). */
  start(): this {
    const { rpc, floor, deadlineMs } = this.#options;
    const a: Record<string, unknown> = { id: rpc.id, target: this.target };
    // BEP44: nodes holding seq ≤ this answer without the value (Rust mainline honours it; others ignore it).
    if (floor !== undefined && floor >= 0n && floor <= BigInt(Number.MAX_SAFE_INTEGER)) a.seq = Number(floor);
    this.#timer = setTimeout(() => this.#end('deadline'), deadlineMs);
    const { rtt, onProgress, timers, k } = this.#options;
    this.#lookup = new IterativeLookup({
      rpc,
      target: this.target,
      query: { q: 'get', a },
      rtt,
      ...(timers === undefined ? {} : { timers }),
      ...(k === undefined ? {} : { k }),
      onReply: (message, peer) => this.#onReply(message, peer),
      onProgress: () => { if (!this.#ended) onProgress?.(); },
      onComplete: () => this.#end('complete'),
    }).start();
    return this;
  }

  /** Stops sending queries and ends the lookup now. */
  cancel(): void {
    this.#end('cancelled');
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Candidates closer than `id` still unasked or within their RTO (Infinity before start). */
  unresolvedBefore(id: Buffer): number {
    return this.#lookup?.unresolvedBefore(id) ?? Number.POSITIVE_INFINITY;
  }

  /** The `k` closest responders that gave us a write token, closest to the target first. */
  tokenNodes(k: number): TokenNode[] {
    return [...this.#tokenNodes.values()].sort((a, b) => compareXorDistance(a.id, b.id, this.target)).slice(0, k);
  }

  /** How many responders hold `packet` itself (same timestamp and bytes). */
  holdersOf(packet: SignedPacket): number {
    let n = 0;
    for (const held of this.#holdings.values()) if (held === packet || held.isSameAs(packet)) n++;
    return n;
  }

  #onReply(message: KrpcMessage, peer: KrpcPeer): void {
    if (this.#ended) return;
    const r = message.r;
    if (!r || !Buffer.isBuffer(r.id) || r.id.length !== 20) return;
    const host = peer.address ?? peer.host ?? '';
    const address = `${host}:${peer.port}`;
    if (!this.#responders.has(address)) {
      this.#responders.add(address);
      this.responded++;
    }
    if (Buffer.isBuffer(r.token) && r.token.length > 0) {
      this.#tokenNodes.set(address, { id: r.id, host, port: peer.port, token: r.token });
    }
    if (r.v === undefined) return;

    const id = itemId(r);
    let check = this.#checked.get(id);
    const fresh = check === undefined;
    if (check === undefined) {
      check = checkItem(r, this.#options.key) ?? { kind: 'rejected', reason: 'no item' };
      this.#checked.set(id, check);
    }
    if (check.kind === 'invalid-dns') {
      if (this.invalidSeq === undefined || check.seq > this.invalidSeq) this.invalidSeq = check.seq;
    } else if (check.kind === 'packet') {
      const packet = check.packet;
      this.#holdings.set(address, packet);
      const floor = this.#options.floor;
      if (floor === undefined || packet.timestamp > floor) {
        if (this.best === null || packet.moreRecentThan(this.best)) this.best = packet;
        if (fresh) this.#options.onPacket?.(packet);
      }
    }
  }
}
