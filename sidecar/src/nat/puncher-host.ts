/**
 * The host side of hole punching (docs/nat.md §3). For every address that came through the
 * rendezvous the host sends a few small PROBEs at normal TTL (they open the host's NAT toward the
 * joiner and tell the joiner the path is open); it answers a HELLO only from an IP that came through
 * the rendezvous, rate-limited, with WELCOME = the lobby key's signature over the joiner's nonce,
 * session, address as seen and the host key; that HELLO opens a PunchPath to the joiner.
 *
 * No open relay, no amplification: unsolicited addresses get nothing, HELLO is as long as WELCOME,
 * each rendezvous address gets at most `probeCount` probes of 43 bytes.
 */
import { PkarrError } from '../core/errors.ts';
import type { Keypair } from '../core/keys.ts';
import { RateLimiter, type RateLimit } from '../util/rate-limiter.ts';
import { decodeFrame, encodeProbe, encodeWelcome, FrameType, welcomeMessage, type FrameReject } from './punch-frames.ts';
import { checkTiming, PunchLink, type PunchLinkTiming } from './punch-link.ts';
import type { PunchPath } from './punch-path.ts';
import { RendezvousWatcher, type RendezvousDht, type RendezvousWatcherOptions } from './rendezvous.ts';
import type { UdpAddress, UdpChannel } from './udp-channel.ts';

export const DEFAULT_PROBE_COUNT = 10;
export const DEFAULT_PROBE_INTERVAL_MS = 500;
/** How long an address from the rendezvous may be answered, ms. */
export const DEFAULT_CANDIDATE_TTL_MS = 120_000;
export const DEFAULT_MAX_PATHS = 64;
/** WELCOMEs per joiner IP: a burst of 4, then 2 per second. */
const IP_LIMIT: RateLimit = { requests: 2, periodMs: 1000, burst: 4 };
/** WELCOMEs in all: a burst of 40, then 20 per second. */
const ALL_LIMIT: RateLimit = { requests: 20, periodMs: 1000, burst: 40 };

export interface PunchHostOptions extends PunchLinkTiming {
  /** The punch socket's `punch` channel. */
  channel: UdpChannel;
  /** The lobby key: WELCOMEs are signed with it. */
  keypair: Keypair;
  /** Called for every joiner whose path opened. */
  onPath: (path: PunchPath) => void;
  /** Called for every rendezvous address taken (`probing`: false when it is probed or connected already). */
  onCandidate?: (address: UdpAddress, probing: boolean) => void;
  /** The rendezvous watcher's full lookups (for logs). */
  onFullLookup?: RendezvousWatcherOptions['onFullLookup'];
  /** When given, the host watches its rendezvous on this DHT itself (else the caller calls addCandidate). */
  dht?: RendezvousDht;
  /** Rendezvous poll interval, ms (default 2000). */
  pollIntervalMs?: number;
  /** New rendezvous addresses accepted per minute (default 30). */
  maxNewPerMinute?: number;
  /** PROBEs per rendezvous address (default 10, 1..50). */
  probeCount?: number;
  /** Pause between PROBEs, ms (default 500). */
  probeIntervalMs?: number;
  /** How long a rendezvous address may be answered, ms (default 120000). */
  candidateTtlMs?: number;
  /** Open paths at most (default 64); further HELLOs are refused and counted. */
  maxPaths?: number;
}

export interface PunchHostStats {
  candidates: number;
  probesSent: number;
  welcomesSent: number;
  pathsOpened: number;
  /** HELLOs from IPs that did not come through the rendezvous (answered with nothing). */
  unsolicited: number;
  /** HELLOs refused by the rate limits or maxPaths. */
  rateLimited: number;
  /** HELLOs with another session from an address whose path is open. */
  sessionConflicts: number;
  /** Datagrams that were not a valid frame, by reason. */
  malformed: Partial<Record<FrameReject, number>>;
  /** Valid frames for no open path, or of a type the host does not take (PROBE, WELCOME). */
  unmatched: number;
}

interface Candidate {
  address: UdpAddress;
  expiresAt: number;
  probesLeft: number;
  timer: NodeJS.Timeout | null;
}

function addressId(address: UdpAddress): string {
  return `${address.host}:${address.port}`;
}

function positiveInt(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new PkarrError('INVALID_ARGUMENT', `invalid ${what} ${String(value)} (${min}..${max})`);
  return value;
}

export class PunchHost {
  readonly stats: PunchHostStats = {
    candidates: 0, probesSent: 0, welcomesSent: 0, pathsOpened: 0, unsolicited: 0, rateLimited: 0, sessionConflicts: 0, malformed: {}, unmatched: 0,
  };
  readonly #options: PunchHostOptions;
  readonly #timing: Required<PunchLinkTiming>;
  readonly #probe: Buffer;
  readonly #probeCount: number;
  readonly #probeIntervalMs: number;
  readonly #candidateTtlMs: number;
  readonly #maxPaths: number;
  /** Rendezvous addresses by `host:port`. */
  readonly #candidates = new Map<string, Candidate>();
  /** Open paths by the joiner's `host:port`. */
  readonly #links = new Map<string, PunchLink>();
  /** Token buckets of the WELCOMEs: by joiner IP (only IPs that came through the rendezvous), and one for all. */
  readonly #ipLimiter = new RateLimiter(IP_LIMIT, { now: () => Date.now() });
  readonly #allLimiter = new RateLimiter(ALL_LIMIT, { now: () => Date.now() });
  readonly #removeHandler: () => void;
  readonly #watcher: RendezvousWatcher | null;
  #closed = false;

  constructor(options: PunchHostOptions) {
    this.#timing = checkTiming(options);
    this.#probeCount = positiveInt(options.probeCount ?? DEFAULT_PROBE_COUNT, 1, 50, 'probe count');
    this.#probeIntervalMs = positiveInt(options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS, 10, 60_000, 'probe interval (ms)');
    this.#candidateTtlMs = positiveInt(options.candidateTtlMs ?? DEFAULT_CANDIDATE_TTL_MS, 1000, 3_600_000, 'candidate lifetime (ms)');
    this.#maxPaths = positiveInt(options.maxPaths ?? DEFAULT_MAX_PATHS, 1, 4096, 'maxPaths');
    this.#options = options;
    this.#probe = encodeProbe(options.keypair.publicKey.bytes);
    this.#removeHandler = options.channel.onMessage((payload, from) => this.#receive(payload, from));
    this.#watcher = options.dht === undefined ? null : new RendezvousWatcher({
      dht: options.dht,
      hostKey: options.keypair.publicKey,
      onAddress: (address) => this.addCandidate(address),
      ...(options.onFullLookup !== undefined ? { onFullLookup: options.onFullLookup } : {}),
      ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.maxNewPerMinute !== undefined ? { maxNewPerMinute: options.maxNewPerMinute } : {}),
    }).start();
  }

  /** The rendezvous watcher's counters (null without `dht`). */
  get watcherStats(): RendezvousWatcher['stats'] | null {
    return this.#watcher?.stats ?? null;
  }

  /** The open paths. */
  paths(): PunchPath[] {
    return [...this.#links.values()];
  }

  /**
   * An address that came through the rendezvous (the watcher calls this; callers with another
   * trusted source of joiner addresses may too). Probes it and lets its IP's HELLOs be answered.
   */
  addCandidate(address: UdpAddress): void {
    if (this.#closed) return;
    const id = addressId(address);
    const now = Date.now();
    this.#expire(now);
    let candidate = this.#candidates.get(id);
    if (candidate === undefined) {
      candidate = { address: { host: address.host, port: address.port }, expiresAt: 0, probesLeft: 0, timer: null };
      this.#candidates.set(id, candidate);
      this.stats.candidates++;
    }
    candidate.expiresAt = now + this.#candidateTtlMs;
    const probing = candidate.timer === null && !this.#links.has(id); // else probing already, or connected
    try {
      this.#options.onCandidate?.(candidate.address, probing);
    } catch {
      // A throwing listener must not break the host.
    }
    if (!probing) return;
    candidate.probesLeft = this.#probeCount;
    this.#probeOnce(candidate);
  }

  /** Stops the watcher and probes, closes every path (BYE), stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#removeHandler();
    for (const candidate of this.#candidates.values()) this.#stopProbing(candidate);
    this.#candidates.clear();
    for (const link of [...this.#links.values()]) link.close();
    await this.#watcher?.close();
  }

  #probeOnce(candidate: Candidate): void {
    if (this.#closed || candidate.probesLeft <= 0 || this.#links.has(addressId(candidate.address))) {
      this.#stopProbing(candidate);
      return;
    }
    candidate.probesLeft--;
    this.stats.probesSent++;
    this.#options.channel.send(this.#probe, candidate.address).catch(() => undefined);
    candidate.timer = setTimeout(() => this.#probeOnce(candidate), this.#probeIntervalMs);
    candidate.timer.unref();
  }

  #stopProbing(candidate: Candidate): void {
    if (candidate.timer !== null) clearTimeout(candidate.timer);
    candidate.timer = null;
    candidate.probesLeft = 0;
  }

  /** Forgets expired candidates (and their IPs' rate buckets). */
  #expire(now: number): void {
    for (const [id, candidate] of this.#candidates) {
      if (candidate.expiresAt <= now && candidate.timer === null) this.#candidates.delete(id);
    }
    this.#ipLimiter.retain((ip) => this.#isCandidateIp(ip, now));
  }

  #isCandidateIp(ip: string, now: number): boolean {
    for (const candidate of this.#candidates.values()) {
      if (candidate.address.host === ip && candidate.expiresAt > now) return true;
    }
    return false;
  }

  #receive(payload: Buffer, from: UdpAddress): void {
    const decoded = decodeFrame(payload);
    if (!decoded.ok) {
      this.stats.malformed[decoded.reason] = (this.stats.malformed[decoded.reason] ?? 0) + 1;
      return;
    }
    const frame = decoded.frame;
    const id = addressId(from);
    const link = this.#links.get(id);
    if (frame.type === FrameType.HELLO) {
      this.#hello(from, id, frame.session, frame.nonce, link);
      return;
    }
    if (link !== undefined && link.session.equals(frame.session) && frame.type !== FrameType.PROBE && frame.type !== FrameType.WELCOME) {
      link.receive(frame);
      return;
    }
    this.stats.unmatched++;
  }

  #hello(from: UdpAddress, id: string, session: Buffer, nonce: Buffer, link: PunchLink | undefined): void {
    const now = Date.now();
    if (link !== undefined && !link.session.equals(session)) {
      this.stats.sessionConflicts++;
      return;
    }
    if (!this.#isCandidateIp(from.host, now)) {
      this.stats.unsolicited++;
      return;
    }
    if (link === undefined && this.#links.size >= this.#maxPaths) {
      this.stats.rateLimited++;
      return;
    }
    if (this.#ipLimiter.take(from.host) !== 0 || this.#allLimiter.take('all') !== 0) {
      this.stats.rateLimited++;
      return;
    }
    const hostKey = this.#options.keypair.publicKey.bytes;
    const signature = this.#options.keypair.sign(welcomeMessage(nonce, session, from, hostKey));
    this.stats.welcomesSent++;
    this.#options.channel.send(encodeWelcome(session, from, signature), from).catch(() => undefined);
    if (link !== undefined) {
      link.receive({ type: FrameType.KEEPALIVE, session }); // a repeated HELLO (our WELCOME was lost) still shows life
      return;
    }
    const candidate = this.#candidates.get(id);
    if (candidate !== undefined) this.#stopProbing(candidate);
    const opened = new PunchLink({
      channel: this.#options.channel,
      remote: from,
      session,
      ...this.#timing,
      onEnded: (ended) => { if (this.#links.get(id) === ended) this.#links.delete(id); },
    });
    this.#links.set(id, opened);
    this.stats.pathsOpened++;
    try {
      this.#options.onPath(opened);
    } catch {
      // A throwing listener must not break the host.
    }
  }
}
