/**
 * The punch socket's reachability, kept current: runs DHT-STUN (dht-stun.ts) on the punch socket's
 * KRPC channel at start, then periodically and on demand, classifies the answers (nat-type.ts) with
 * the router's port mapping, keeps the latest report and tells listeners when it changed. Used by
 * the RPC `status` result and by the lobby host (what address to advertise, whether to punch).
 */
import { networkInterfaces } from 'node:os';
import { PkarrError } from '../core/errors.ts';
import { dhtStun, type StunResult } from './dht-stun.ts';
import { classifyNat, type NatReport, type PortMappingInfo } from './nat-type.ts';
import type { UdpChannel } from './udp-channel.ts';

/** Default time between probes, ms. */
export const DEFAULT_PROBE_INTERVAL_MS = 5 * 60_000;
/** Default time before probing again after an `unknown` result (DHT still bootstrapping), ms. */
export const DEFAULT_RETRY_UNKNOWN_MS = 30_000;

export interface ReachabilityOptions {
  /** The punch socket's KRPC channel. */
  channel: UdpChannel;
  /** DHT nodes to ping, `a.b.c.d:port`, asked before each probe (e.g. `() => dht.routingTable()`). */
  nodes: () => readonly string[];
  /** This machine's IP addresses (default: every address of os.networkInterfaces()). */
  interfaceAddresses?: () => readonly string[];
  /** The router's current mapping of the punch socket, if any (port-mapper.ts). */
  portMapping?: () => PortMappingInfo | null;
  /** Time between probes, ms (default 5 min; 0 = only on demand). */
  intervalMs?: number;
  /** Time before the next probe after an `unknown` result, ms (default 30 s; capped by intervalMs). */
  retryUnknownMs?: number;
  /** DHT-STUN settings (dht-stun.ts): nodes per probe, wait per ping, our node id. */
  stun?: { count?: number; timeoutMs?: number; nodeId?: Uint8Array };
  /** A periodic probe failed (on-demand probes reject instead). */
  onError?: (err: unknown) => void;
}

/** The latest report plus when it was made, for `status`. */
export type ReachabilitySnapshot = NatReport & { checkedAt: number };

/** The `nat` part of the RPC `status` result (read by the addon's PkarrReachability). */
export interface NatStatusJson {
  reachability: NatReport['type'];
  natType: NatReport['rating'];
  punchable: boolean;
  directlyReachable: boolean;
  /** `ip:port` where others reach the punch socket, or null. */
  publicAddress: string | null;
  /** `ip:port` the DHT sees the punch socket at, or null. */
  observedAddress: string | null;
  voters: number;
  responders: number;
  doubleNat: boolean;
  mapping: { protocol: string; externalHost: string; externalPort: number } | null;
  description: string;
  /** ISO time of the probe, null before the first. */
  checkedAt: string | null;
}

const text = (a: { host: string; port: number } | null): string | null => (a === null ? null : `${a.host}:${a.port}`);

/** The JSON `status` shows for a snapshot (null: not probed yet, reported as unknown). */
export function natStatusJson(snapshot: ReachabilitySnapshot | null): NatStatusJson {
  if (snapshot === null) {
    return {
      reachability: 'unknown', natType: 'unknown', punchable: false, directlyReachable: false, publicAddress: null, observedAddress: null,
      voters: 0, responders: 0, doubleNat: false, mapping: null, description: 'NAT type unknown: not checked yet.', checkedAt: null,
    };
  }
  const m = snapshot.mapping;
  return {
    reachability: snapshot.type,
    natType: snapshot.rating,
    punchable: snapshot.punchable,
    directlyReachable: snapshot.directlyReachable,
    publicAddress: text(snapshot.publicAddress),
    observedAddress: text(snapshot.observedAddress),
    voters: snapshot.voters,
    responders: snapshot.responders,
    doubleNat: snapshot.doubleNat,
    mapping: m === null ? null : { protocol: m.via, externalHost: m.externalHost, externalPort: m.externalPort },
    description: snapshot.summary,
    checkedAt: new Date(snapshot.checkedAt).toISOString(),
  };
}

export type ReachabilityListener = (report: NatReport, previous: NatReport | null) => void;

function allInterfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** 0 (when allowed) or 100 ms .. 2^31-1 ms. */
function checkInterval(value: number, what: string, zeroAllowed: boolean): number {
  if (!(Number.isFinite(value) && ((zeroAllowed && value === 0) || value >= 100) && value <= 2 ** 31 - 1)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid ${what} ${String(value)} ms (${zeroAllowed ? '0 or ' : ''}100..2147483647)`);
  }
  return value;
}

/** The fields whose change is news for a listener. */
function essence(report: NatReport): string {
  const a = report.publicAddress;
  return [report.type, report.rating, a ? `${a.host}:${a.port}` : '-', report.punchable, report.doubleNat, report.via ?? '-'].join('|');
}

export class Reachability {
  readonly #options: ReachabilityOptions;
  readonly #intervalMs: number;
  readonly #retryUnknownMs: number;
  readonly #listeners = new Set<ReachabilityListener>();
  #latest: NatReport | null = null;
  #checkedAt: number | null = null;
  #lastStun: StunResult | null = null;
  #running: Promise<NatReport> | null = null;
  #abort: AbortController | null = null;
  #timer: NodeJS.Timeout | null = null;
  #started = false;
  #closed = false;

  constructor(options: ReachabilityOptions) {
    if (typeof options?.nodes !== 'function' || typeof options.channel?.onMessage !== 'function') {
      throw new PkarrError('INVALID_ARGUMENT', 'Reachability needs a UdpChannel and a nodes() source');
    }
    this.#options = options;
    this.#intervalMs = checkInterval(options.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS, 'probe interval', true);
    this.#retryUnknownMs = checkInterval(options.retryUnknownMs ?? DEFAULT_RETRY_UNKNOWN_MS, 'retry interval', false);
  }

  /** Probes now, then every intervalMs (sooner again while the result is `unknown`). Idempotent. */
  start(): void {
    if (this.#closed || this.#started) return;
    this.#started = true;
    this.#probeInBackground();
  }

  /** The latest report, or null before the first probe ended. */
  latest(): NatReport | null {
    return this.#latest;
  }

  /** The latest report with its time (ms since the epoch), or null. */
  snapshot(): ReachabilitySnapshot | null {
    return this.#latest === null || this.#checkedAt === null ? null : { ...this.#latest, checkedAt: this.#checkedAt };
  }

  /** The raw observations of the latest probe (null before the first). */
  lastObservations(): StunResult | null {
    return this.#lastStun;
  }

  /** Calls `listener` whenever the report changed in substance (type, address, punchability…). */
  onChange(listener: ReachabilityListener): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Probes now (joining a probe already running) and resolves with the new report. */
  refresh(): Promise<NatReport> {
    if (this.#closed) return Promise.reject(new PkarrError('INVALID_ARGUMENT', 'reachability checks were stopped'));
    this.#running ??= this.#probe().finally(() => { this.#running = null; });
    return this.#running;
  }

  /** Classifies the last probe again with the current port mapping (call when the mapping changed). */
  reclassify(): NatReport | null {
    if (this.#closed || this.#lastStun === null) return this.#latest;
    return this.#publish(this.#classify(this.#lastStun));
  }

  /** Stops the timer and aborts a running probe. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#abort?.abort(new Error('reachability checks stopped'));
    this.#listeners.clear();
  }

  async #probe(): Promise<NatReport> {
    const abort = new AbortController();
    this.#abort = abort;
    try {
      const stun = await dhtStun({
        channel: this.#options.channel,
        nodes: this.#options.nodes(),
        ...this.#options.stun,
        signal: abort.signal,
      });
      if (this.#closed) throw new PkarrError('INVALID_ARGUMENT', 'reachability checks were stopped');
      this.#lastStun = stun;
      return this.#publish(this.#classify(stun));
    } finally {
      if (this.#abort === abort) this.#abort = null;
    }
  }

  #classify(stun: StunResult): NatReport {
    return classifyNat({
      observations: stun.observations,
      localPort: this.#options.channel.localAddress().port,
      interfaceAddresses: (this.#options.interfaceAddresses ?? allInterfaceAddresses)(),
      portMapping: this.#options.portMapping?.() ?? null,
    });
  }

  #publish(report: NatReport): NatReport {
    const previous = this.#latest;
    this.#latest = report;
    this.#checkedAt = Date.now();
    if (previous === null || essence(previous) !== essence(report)) {
      for (const listener of [...this.#listeners]) {
        try {
          listener(report, previous);
        } catch {
          // A throwing listener must not stop the others or the probes.
        }
      }
    }
    return report;
  }

  #probeInBackground(): void {
    this.refresh().then(
      () => this.#schedule(),
      (err: unknown) => {
        if (this.#closed) return;
        try { this.#options.onError?.(err); } catch { /* a throwing reporter must not stop the probes */ }
        this.#schedule();
      },
    );
  }

  #schedule(): void {
    if (this.#closed || this.#intervalMs === 0) return;
    const unknown = this.#latest === null || this.#latest.type === 'unknown';
    const delay = unknown ? Math.min(this.#retryUnknownMs, this.#intervalMs) : this.#intervalMs;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => { this.#timer = null; this.#probeInBackground(); }, delay);
    this.#timer.unref();
  }
}
