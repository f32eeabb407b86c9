/**
 * Keeps packets alive on the DHT: BEP44 nodes may drop items after ~2 hours (BEP44 asks for hourly
 * republishing) and the Mainline DHT churns, and nothing in the ecosystem republishes for you
 * (relays don't).
 *
 * Every cycle, for each tracked key:
 * 1. a full DHT lookup (`dht.holders`) finds the newest packet on the network and how many nodes
 *    hold it (relay-only clients do a NetworkOnly resolve instead);
 * 2. a newer packet on the network is adopted — an older one is never put over a newer one;
 * 3. when at least `minHolders` (8, BEP44) nodes already hold the latest packet, nothing is sent
 *    (relay-only clients cannot count holders and always re-PUT: the relay does the DHT put);
 * 4. otherwise the packet is published again through the Client (DHT and relays).
 *
 * Anyone's signed packet can be kept alive (`add`), no secret needed; `addKey` keeps someone
 * else's key alive by resolving it first. Cycles never overlap, run with bounded concurrency, and
 * their timer is unref'd (it does not keep the process alive). `stop()` waits for in-flight work.
 */
import { PkarrError, isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { Client } from './client.ts';
import { toPublicKey } from './client.ts';
import type { PublishResult } from './types.ts';

export const DEFAULT_REPUBLISH_INTERVAL_MS = 3_600_000;
export const DEFAULT_REPUBLISH_CONCURRENCY = 4;
/** BEP44: skip the put when this many nodes already hold the latest seq. */
export const DEFAULT_MIN_HOLDERS = 8;

/** What one cycle did for one key. */
export interface RepublishOutcome {
  key: string;
  /** 'republished': put again; 'skipped': enough nodes hold it; 'missing': nothing known to publish. */
  action: 'republished' | 'skipped' | 'missing';
  /** Timestamp of the packet kept alive (decimal string), when known. */
  timestamp?: string;
  /** Nodes holding the latest packet before this cycle's put (DHT lookups only). */
  holders?: number;
  /** True when a newer packet found on the network replaced the tracked one. */
  adopted: boolean;
  /** The publish result when action is 'republished'. */
  result?: PublishResult;
}

export interface RepublisherOptions {
  /** Publishes (DHT + relays) and resolves; its `dht` (if any) does the holder lookups. */
  client: Client;
  /** Time between the starts of two cycles, ms (default 1 h). */
  intervalMs?: number;
  /** Keys processed in parallel within a cycle (default 4). */
  concurrency?: number;
  /** Skip the put when at least this many nodes hold the latest packet (default 8). */
  minHolders?: number;
  /** Called after every put. */
  onRepublished?: (key: string, outcome: RepublishOutcome) => void;
  /** Called when a key's cycle failed (lookup or publish error, or nothing to publish). */
  onError?: (key: string, error: PkarrError) => void;
  /** Called at the end of every cycle with all outcomes. */
  onCycle?: (outcomes: RepublishOutcome[]) => void;
}

/** A tracked key as `list()` reports it. */
export interface RepublishEntry {
  key: string;
  /** The packet currently kept alive, if one is known. */
  packet: SignedPacket | null;
  /** 'packet': added with its packet; 'key': kept alive by resolving (addKey). */
  kind: 'packet' | 'key';
  lastOutcome?: RepublishOutcome;
  lastError?: string;
}

interface Entry {
  key: PublicKey;
  packet: SignedPacket | null;
  kind: 'packet' | 'key';
  lastOutcome?: RepublishOutcome;
  lastError?: string;
}

function positive(name: string, value: number, integer: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw new PkarrError('INVALID_ARGUMENT', `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

function asPkarrError(err: unknown): PkarrError {
  if (isPkarrError(err)) return err;
  return new PkarrError('INTERNAL', err instanceof Error ? err.message : String(err), undefined, { cause: err });
}

export class Republisher {
  readonly client: Client;
  readonly intervalMs: number;
  readonly concurrency: number;
  readonly minHolders: number;
  readonly #options: RepublisherOptions;
  readonly #entries = new Map<string, Entry>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<RepublishOutcome[]> | null = null;
  #abort = new AbortController();
  #started = false;

  constructor(options: RepublisherOptions) {
    this.client = options.client;
    this.intervalMs = positive('intervalMs', options.intervalMs ?? DEFAULT_REPUBLISH_INTERVAL_MS, false);
    this.concurrency = positive('concurrency', options.concurrency ?? DEFAULT_REPUBLISH_CONCURRENCY, true);
    this.minHolders = positive('minHolders', options.minHolders ?? DEFAULT_MIN_HOLDERS, true);
    this.#options = options;
  }

  /** Keeps `packet` alive (ours or anyone's). A more recent packet already tracked is kept. */
  add(packet: SignedPacket): void {
    const z32 = packet.publicKey.z32;
    const existing = this.#entries.get(z32);
    if (existing !== undefined) {
      if (existing.packet === null || packet.moreRecentThan(existing.packet)) existing.packet = packet;
      existing.kind = 'packet';
      return;
    }
    this.#entries.set(z32, { key: packet.publicKey, packet, kind: 'packet' });
  }

  /** Keeps someone else's key alive: each cycle resolves it and republishes what is found. */
  addKey(keyInput: PublicKey | string): void {
    const key = toPublicKey(keyInput);
    if (this.#entries.has(key.z32)) return;
    this.#entries.set(key.z32, { key, packet: this.client.cached(key) ?? null, kind: 'key' });
  }

  /** Stops tracking `key`; false when it was not tracked. */
  remove(keyInput: PublicKey | string): boolean {
    return this.#entries.delete(toPublicKey(keyInput).z32);
  }

  list(): RepublishEntry[] {
    return [...this.#entries.values()].map((e) => ({
      key: e.key.z32,
      packet: e.packet,
      kind: e.kind,
      ...(e.lastOutcome === undefined ? {} : { lastOutcome: e.lastOutcome }),
      ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
    }));
  }

  get running(): boolean {
    return this.#started;
  }

  /** Starts the periodic cycles; the first one runs after one interval. Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#abort = new AbortController();
    this.#schedule();
  }

  /** Stops the cycles, aborts lookups in flight and waits for the running cycle to finish. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#abort.abort(new PkarrError('INVALID_ARGUMENT', 'republisher stopped'));
    await this.#running?.catch(() => undefined);
  }

  /**
   * Runs one cycle now (or joins the running one) and returns its outcomes. Errors of single keys
   * are reported through `onError` and in the entries, never thrown.
   */
  runOnce(): Promise<RepublishOutcome[]> {
    if (this.#running !== null) return this.#running;
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
    const cycle = this.#cycle().finally(() => { this.#running = null; });
    this.#running = cycle;
    return cycle;
  }

  #schedule(): void {
    if (!this.#started) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.runOnce().finally(() => this.#schedule());
    }, this.intervalMs);
    this.#timer.unref();
  }

  async #cycle(): Promise<RepublishOutcome[]> {
    const queue = [...this.#entries.values()];
    const outcomes: RepublishOutcome[] = [];
    const signal = this.#abort.signal;
    const worker = async (): Promise<void> => {
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
        if (signal.aborted) break;
        if (!this.#entries.has(entry.key.z32)) continue; // removed meanwhile
        try {
          const outcome = await this.#republish(entry, signal);
          entry.lastOutcome = outcome;
          delete entry.lastError;
          outcomes.push(outcome);
          if (outcome.action === 'republished') this.#options.onRepublished?.(entry.key.z32, outcome);
          if (outcome.action === 'missing') {
            const error = new PkarrError('NOT_FOUND', `nothing to republish for ${entry.key.z32}: no packet known or found`);
            entry.lastError = error.message;
            this.#options.onError?.(entry.key.z32, error);
          }
        } catch (err) {
          const error = asPkarrError(err);
          entry.lastError = error.message;
          this.#options.onError?.(entry.key.z32, error);
        }
      }
    };
    const workers = Array.from({ length: Math.min(this.concurrency, Math.max(1, queue.length)) }, () => worker());
    await Promise.all(workers);
    this.#options.onCycle?.(outcomes);
    return outcomes;
  }

  async #republish(entry: Entry, signal: AbortSignal): Promise<RepublishOutcome> {
    const dht = this.client.dht;
    let network: SignedPacket | null = null;
    let holders: number | undefined;
    if (dht !== null) {
      const stats = await dht.holders(entry.key, signal);
      network = stats.packet;
      holders = stats.holders;
    } else {
      network = (await this.client.resolve(entry.key, 'NetworkOnly'))?.packet ?? null;
    }
    const cached = this.client.cached(entry.key);
    const before = entry.packet;
    for (const candidate of [network, cached ?? null]) {
      if (candidate !== null && (entry.packet === null || candidate.moreRecentThan(entry.packet))) entry.packet = candidate;
    }
    const adopted = before !== null && entry.packet !== before;
    const packet = entry.packet;
    const base = { key: entry.key.z32, adopted, ...(holders === undefined ? {} : { holders }) };
    if (packet === null) return { ...base, action: 'missing' };
    const timestamp = packet.timestamp.toString();
    // The lookup's holders count refers to the network's newest packet: only meaningful for ours
    // when they are the same packet.
    const networkHasOurs = network !== null && network.isSameAs(packet);
    if (dht !== null && networkHasOurs && holders !== undefined && holders >= this.minHolders) {
      return { ...base, action: 'skipped', timestamp };
    }
    const result = await this.client.publish(packet);
    return { ...base, action: 'republished', timestamp, result };
  }
}
