/**
 * The Mainline DHT adapter (implements the `Dht` contract of types.ts) on bittorrent-dht@11.
 *
 * - get: our own iterative lookup (item-lookup.ts) that never reads the local store, verifies every
 *   item (`k`, signature, DNS), resolves on the first valid packet and keeps going in the background.
 * - put: our own BEP44 put (put-query.ts) with the packet's signature, `target` added, no 1000-byte
 *   off-by-one, Rust mainline's outcome rules, and "already stored" recognised for republishing. It
 *   returns once a quorum of the closest nodes stored the packet and puts to the rest in the
 *   background (publish-query.ts).
 * - Lookups ask each node with a soft timeout from its round-trip estimate (rtt-estimator.ts,
 *   iterative-lookup.ts) instead of waiting the fixed KRPC timeout for the dead.
 * - Our node is also a full DHT node: it stores others' items, verifying their signatures.
 */
import type DHT from 'bittorrent-dht';
import { PkarrError } from '../core/errors.ts';
import { assertAllowedHost } from '../core/loopback-guard.ts';
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import { putArguments } from './bep44.ts';
import { destroyDhtNode, parseNodeAddress, startDhtNode, type NodeAddress } from './dht-node.ts';
import { decodeCompactIPv4, ExternalAddressVotes, type ExternalAddress } from './address-votes.ts';
import { ItemLookup } from './item-lookup.ts';
import { lookupAndPut, PUBLISH_QUORUM, QuorumPut, type QuorumSnapshot } from './publish-query.ts';
import { putResult, storedCount, type PutOutcome } from './put-query.ts';
import { quickAnnounce } from './quick-announce.ts';
import { RttEstimator } from './rtt-estimator.ts';
import { TokenCache } from './token-cache.ts';
import type { Dht, DhtGetOptions, DhtGetResult, DhtLookupStats, DhtPutResult } from './types.ts';

/** Public bootstrap routers (pubky/mainline src/rpc.rs DEFAULT_BOOTSTRAP_NODES). */
export const DEFAULT_BOOTSTRAP: readonly string[] = [
  'router.bittorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'dht.libtorrent.org:25401',
  'relay.pkarr.org:6881',
];

export const DEFAULT_TIMEOUT_MS = 2000;
/** Nodes a put goes to (BEP5/mainline K). */
export const PUT_NODES = 20;

export interface DhtClientOptions {
  /** `host:port` list; default DEFAULT_BOOTSTRAP; [] = none. */
  bootstrap?: readonly string[];
  /** Bind address, default 0.0.0.0 (tests: 127.0.0.1). */
  host?: string;
  /** UDP port, 0 (default) = random. */
  port?: number;
  /** KRPC query timeout in ms (default 2000). */
  timeoutMs?: number;
  /** k-rpc's gate on queries in flight (default KRPC_CONCURRENCY, 80; dht-node.ts). */
  concurrency?: number;
  /** Longest a lookup runs before it ends with what it has (default 5 × timeoutMs). */
  maxLookupMs?: number;
  /** Stored nodes after which `put` returns, 1..20 (default PUBLISH_QUORUM = 10; publish-query.ts). */
  publishQuorum?: number;
  /** Lowest soft timeout of a lookup query, ms (default 100; the highest is timeoutMs). */
  minQueryTimeoutMs?: number;
  /** An unbound udp4 socket to use (benchmarks: link delay and loss); default a new one. */
  socket?: import('node:dgram').Socket;
}

/** Cancel hooks of running operations, so that destroy() settles every pending promise. */
type Cancel = (err: PkarrError) => void;

function abortError(signal: AbortSignal): PkarrError {
  const reason: unknown = signal.reason;
  const text = reason instanceof Error ? reason.message : String(reason ?? 'aborted');
  return new PkarrError('TIMEOUT', `DHT operation aborted: ${text}`, undefined, { cause: reason });
}

function toBuffer(bytes: Uint8Array, length: number, what: string): Buffer {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new PkarrError('INVALID_ARGUMENT', `${what} must be ${length} bytes`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function assertPort(port: number, allowZero: boolean): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid port ${String(port)}`);
  }
}

export class DhtClient implements Dht {
  readonly #dht: DHT;
  readonly #maxLookupMs: number;
  readonly #quorum: number;
  readonly #rtt: RttEstimator;
  readonly #tokens = new TokenCache();
  readonly #votes = new ExternalAddressVotes();
  readonly #active = new Set<Cancel>();
  #destroying: Promise<void> | null = null;

  private constructor(dht: DHT, maxLookupMs: number, quorum: number, rtt: RttEstimator) {
    this.#dht = dht;
    this.#maxLookupMs = maxLookupMs;
    this.#quorum = quorum;
    this.#rtt = rtt;
    dht._rpc.socket.on('response', (message: { ip?: unknown } | null, rinfo: { address: string; port: number }) => {
      if (message?.ip !== undefined) this.#votes.record(message.ip, `${rinfo.address}:${rinfo.port}`);
    });
  }

  /** Binds the UDP socket, bootstraps, and resolves when bootstrapping ended (check `nodeCount`). */
  static async start(options: DhtClientOptions = {}): Promise<DhtClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 10)) throw new PkarrError('INVALID_ARGUMENT', `invalid DHT timeout ${timeoutMs} ms (≥ 10)`);
    const maxLookupMs = options.maxLookupMs ?? 5 * timeoutMs;
    if (!(Number.isFinite(maxLookupMs) && maxLookupMs > 0)) throw new PkarrError('INVALID_ARGUMENT', `invalid maxLookupMs ${maxLookupMs}`);
    const quorum = options.publishQuorum ?? PUBLISH_QUORUM;
    if (!(Number.isInteger(quorum) && quorum >= 1 && quorum <= PUT_NODES)) throw new PkarrError('INVALID_ARGUMENT', `invalid publish quorum ${String(quorum)} (1..${PUT_NODES})`);
    const minMs = Math.min(options.minQueryTimeoutMs ?? 100, timeoutMs);
    const rtt = new RttEstimator({ minMs, maxMs: timeoutMs });
    const bootstrap = [...(options.bootstrap ?? DEFAULT_BOOTSTRAP)];
    for (const node of bootstrap) assertAllowedHost(node.replace(/:\d+$/, ''), 'DHT bootstrap node');
    const dht = await startDhtNode({
      bootstrap,
      host: options.host ?? '0.0.0.0',
      port: options.port ?? 0,
      timeoutMs,
      onRoundTrip: (node, ms) => rtt.record(node, ms), // bootstrap replies: the first RTT samples
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.socket !== undefined ? { socket: options.socket } : {}),
    });
    return new DhtClient(dht, maxLookupMs, quorum, rtt);
  }

  /** Nodes in the routing table. */
  get nodeCount(): number {
    return this.#dht.nodes.count();
  }

  /** Our node ID (20 bytes). */
  get nodeId(): Uint8Array {
    return new Uint8Array(this.#dht.nodeId);
  }

  /** The bound UDP address. */
  address(): NodeAddress {
    const { address, port } = this.#dht.address();
    return { host: address, port };
  }

  /** Our IPv4 address as BEP42 responders report it, by majority; null until one did. */
  externalAddress(): ExternalAddress | null {
    return this.#votes.best();
  }

  /** Adds a node to the routing table (pinged first). */
  addNode(address: string): void {
    this.#assertOpen();
    this.#dht.addNode(parseNodeAddress(address));
  }

  /** The routing table as `host:port` strings (to persist and bootstrap from next time). */
  routingTable(): string[] {
    return this.#dht.toJSON().nodes.map((node) => `${node.host}:${node.port}`);
  }

  /**
   * Puts `packet` on the closest nodes and resolves once `publishQuorum` of them stored it (or every
   * put answered); the rest is put in the background (`settled`). With write tokens from a recent
   * lookup of the key (a resolve just before), no new lookup is made.
   */
  async put(packet: SignedPacket, signal?: AbortSignal): Promise<DhtPutResult> {
    const args = putArguments(packet); // throws INVALID_TIMESTAMP first, even when closed
    this.#assertOpen();
    const what = `DHT put of ${packet.publicKey.z32} @${packet.timestamp}`;
    const noNodes = (): PkarrError => new PkarrError('NO_DHT_NODES', `${what}: no DHT node answered (routing table has ${this.nodeCount} nodes)`);
    return this.#guard(signal, async () => {
      const cached = this.#tokens.get(args.target);
      if (cached !== null) {
        const put = new QuorumPut(this.#dht._rpc, args, this.#quorum);
        for (const node of cached) put.add(node);
        put.close();
        const snapshot = await put.early;
        const { outcome } = snapshot;
        if (storedCount(outcome) > 0 || outcome.conflicts > 0 || this.#closed(signal)) return this.#putAnswer(snapshot, put.settled, what);
        // Every cached node failed (gone, or token expired): look up fresh nodes once.
        this.#tokens.delete(args.target);
      }
      if (signal?.aborted) throw abortError(signal);
      const { put, lookup, lookupEnd } = lookupAndPut({
        rpc: this.#dht._rpc, key: packet.publicKey, args, rtt: this.#rtt, k: PUT_NODES, quorum: this.#quorum, deadlineMs: this.#maxLookupMs,
      });
      // The lookup may outlive this call (background puts): destroy() still ends it.
      const cancel: Cancel = () => lookup.cancel();
      const onAbort = (): void => lookup.cancel();
      this.#active.add(cancel);
      signal?.addEventListener('abort', onAbort, { once: true });
      void lookupEnd.then((end) => {
        this.#active.delete(cancel);
        signal?.removeEventListener('abort', onAbort);
        if (end !== 'cancelled') this.#tokens.set(lookup.target, lookup.tokenNodes(PUT_NODES));
      });
      const snapshot = await put.early;
      if (snapshot.outcome.contacted === 0) throw noNodes();
      return this.#putAnswer(snapshot, put.settled, what);
    });
  }

  #putAnswer(snapshot: QuorumSnapshot, settled: Promise<PutOutcome>, what: string): DhtPutResult {
    const storedOn = putResult(snapshot.outcome, what);
    return { storedOn, pending: snapshot.pending, settled: settled.then(storedCount) };
  }

  async get(key: PublicKey, options: DhtGetOptions = {}): Promise<DhtGetResult> {
    this.#assertOpen();
    const { mostRecent = false, floor, onPacket, signal } = options;
    if (signal?.aborted) throw abortError(signal);
    return new Promise<DhtGetResult>((resolve, reject) => {
      let settled = false;
      const lookup = new ItemLookup({
        rpc: this.#dht._rpc,
        key,
        rtt: this.#rtt,
        floor,
        deadlineMs: this.#maxLookupMs,
        onPacket: (packet) => {
          try {
            onPacket?.(packet);
          } catch {
            // A throwing listener must not break the lookup (we are inside the UDP message handler).
          }
          if (!mostRecent) settle({ packet, responded: lookup.responded, ...invalid() });
        },
      });
      const invalid = (): { invalidSeq?: bigint } => (lookup.invalidSeq === undefined ? {} : { invalidSeq: lookup.invalidSeq });
      const settle = (result: DhtGetResult | PkarrError): void => {
        if (settled) return;
        settled = true;
        if (result instanceof PkarrError) reject(result);
        else resolve(result);
      };
      const cancel: Cancel = (err) => {
        lookup.cancel();
        settle(err);
      };
      const onAbort = (): void => cancel(abortError(signal!));
      this.#active.add(cancel);
      signal?.addEventListener('abort', onAbort, { once: true });
      void lookup.start().finished.then((end) => {
        this.#active.delete(cancel);
        signal?.removeEventListener('abort', onAbort);
        if (end !== 'cancelled') this.#tokens.set(lookup.target, lookup.tokenNodes(PUT_NODES));
        settle({ packet: lookup.best, responded: lookup.responded, ...invalid() });
      });
    });
  }

  async holders(key: PublicKey, signal?: AbortSignal): Promise<DhtLookupStats> {
    this.#assertOpen();
    return this.#guard(signal, async () => {
      const lookup = await this.#runLookup(key, signal);
      const packet = lookup.best;
      return { packet, holders: packet === null ? 0 : lookup.holdersOf(packet) };
    });
  }

  /**
   * BEP5 announce_peer that ends its lookup as soon as the closest responsive nodes settle instead
   * of waiting for every timeout (quick-announce.ts); for announces on a critical path (the
   * rendezvous of hole punching). Resolves with the nodes that accepted it.
   */
  async announceQuick(infoHash: Uint8Array, port: number, signal?: AbortSignal): Promise<number> {
    const hash = toBuffer(infoHash, 20, 'infoHash');
    assertPort(port, true);
    this.#assertOpen();
    return this.#guard(signal, async () => (await quickAnnounce(this.#dht._rpc, hash, port, {
      deadlineMs: this.#maxLookupMs,
      ...(signal === undefined ? {} : { signal }),
    })).stored);
  }

  /** BEP5 announce_peer for `infoHash` (20 bytes); port 0 = implied (our DHT port). Resolves with the nodes that accepted it. */
  async announce(infoHash: Uint8Array, port: number, signal?: AbortSignal): Promise<number> {
    const hash = toBuffer(infoHash, 20, 'infoHash');
    assertPort(port, true);
    this.#assertOpen();
    return this.#guard(signal, () => new Promise<number>((resolve, reject) => {
      this.#dht.announce(hash, port, (err, stored) => {
        if (err === null) resolve(stored ?? 0);
        else if (/No nodes to query/.test(err.message)) reject(new PkarrError('NO_DHT_NODES', `DHT announce: no DHT node answered`));
        else reject(new PkarrError('DHT_ERROR', `DHT announce failed: ${err.message}`, undefined, { cause: err }));
      });
    }));
  }

  /**
   * BEP5 get_peers lookup: calls `onPeer` once per distinct peer and resolves with how many there were
   * when the lookup ends (at most maxLookupMs).
   */
  async lookup(infoHash: Uint8Array, onPeer: (host: string, port: number) => void, signal?: AbortSignal): Promise<number> {
    const hash = toBuffer(infoHash, 20, 'infoHash');
    this.#assertOpen();
    const seen = new Set<string>();
    const dht = this.#dht;
    const onPeerEvent = (peer: { host: string; port: number }, from: Buffer): void => {
      if (!Buffer.isBuffer(from) || !from.equals(hash)) return;
      const id = `${peer.host}:${peer.port}`;
      if (seen.has(id)) return;
      seen.add(id);
      try {
        onPeer(peer.host, peer.port);
      } catch {
        // A throwing listener must not break the lookup.
      }
    };
    dht.on('peer', onPeerEvent);
    let timer: NodeJS.Timeout | undefined;
    let abortLookup: (() => void) | undefined;
    const work = (): Promise<number> => new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(seen.size), this.#maxLookupMs);
      abortLookup = dht.lookup(hash, () => resolve(seen.size));
    });
    return this.#guard(signal, work).finally(() => {
      clearTimeout(timer);
      abortLookup?.();
      dht.off('peer', onPeerEvent);
    });
  }

  /**
   * A cheap repeat of `lookup`: get_peers to the `count` (default 8) nodes closest to `infoHash` that
   * answered this client's last lookup of it (kept 5 minutes), with no iteration. Calls `onPeer` once
   * per distinct peer and resolves with how many of those nodes answered: 0 when there was no recent
   * lookup of `infoHash` (run `lookup` first) or none answered.
   */
  async pollPeers(infoHash: Uint8Array, onPeer: (host: string, port: number) => void, count = 8, signal?: AbortSignal): Promise<number> {
    const hash = toBuffer(infoHash, 20, 'infoHash');
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new PkarrError('INVALID_ARGUMENT', `invalid node count ${String(count)} (1..64)`);
    this.#assertOpen();
    const nodes = this.#dht._tables.get(hash.toString('hex'))?.closest(hash, count) ?? [];
    const rpc = this.#dht._rpc;
    const seen = new Set<string>();
    return this.#guard(signal, async () => {
      const answers = await Promise.all(nodes.map((node) => new Promise<boolean>((resolve) => {
        rpc.query({ ...(node.id ? { id: node.id } : {}), host: node.host, port: node.port }, { q: 'get_peers', a: { id: rpc.id, info_hash: hash } }, (err, message) => {
          if (err !== null || message?.r === undefined) return resolve(false);
          for (const value of Array.isArray(message.r.values) ? message.r.values : []) {
            const peer = decodeCompactIPv4(value);
            const id = peer === null ? '' : `${peer.host}:${peer.port}`;
            if (peer === null || seen.has(id)) continue;
            seen.add(id);
            try {
              onPeer(peer.host, peer.port);
            } catch {
              // A throwing listener must not break the poll.
            }
          }
          resolve(true);
        });
      })));
      return answers.filter(Boolean).length;
    });
  }

  /** Closes the socket and settles every pending operation (DHT_ERROR). Idempotent. */
  destroy(): Promise<void> {
    if (this.#destroying === null) {
      const err = new PkarrError('DHT_ERROR', 'DHT client destroyed');
      for (const cancel of [...this.#active]) cancel(err);
      this.#active.clear();
      this.#tokens.clear();
      this.#destroying = destroyDhtNode(this.#dht);
    }
    return this.#destroying;
  }

  get destroyed(): boolean {
    return this.#destroying !== null;
  }

  #assertOpen(): void {
    if (this.#destroying !== null) throw new PkarrError('DHT_ERROR', 'DHT client destroyed');
  }

  #closed(signal: AbortSignal | undefined): boolean {
    return this.#destroying !== null || signal?.aborted === true;
  }

  /** Runs `work`, settling early on abort or destroy (the work itself is left to finish or time out). */
  #guard<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const done = (): boolean => {
        if (settled) return false;
        settled = true;
        this.#active.delete(cancel);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const cancel: Cancel = (err) => { if (done()) reject(err); };
      const onAbort = (): void => cancel(abortError(signal!));
      this.#active.add(cancel);
      signal?.addEventListener('abort', onAbort, { once: true });
      work().then((value) => { if (done()) resolve(value); }, (err: unknown) => { if (done()) reject(err); });
    });
  }

  /** A full lookup toward the key, cancelled by `signal` or destroy; caches the write tokens found. */
  async #runLookup(key: PublicKey, signal: AbortSignal | undefined): Promise<ItemLookup> {
    const lookup = new ItemLookup({ rpc: this.#dht._rpc, key, rtt: this.#rtt, deadlineMs: this.#maxLookupMs });
    const cancel: Cancel = () => lookup.cancel();
    const onAbort = (): void => lookup.cancel();
    this.#active.add(cancel);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const end = await lookup.start().finished;
      if (end !== 'cancelled') this.#tokens.set(lookup.target, lookup.tokenNodes(PUT_NODES));
      return lookup;
    } finally {
      this.#active.delete(cancel);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
