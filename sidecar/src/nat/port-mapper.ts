/**
 * Port mapping on the home router (docs/nat.md §2): `PortMapper.start` probes the gateway for
 * PCP, NAT-PMP and UPnP IGD (v1/v2) in parallel within a time bound; `map` asks the protocols
 * in preference order (default PCP, NAT-PMP, UPnP: leases that vanish on their own when we
 * cannot say goodbye) and keeps each mapping alive by renewing it at half its granted lease
 * (unref'd timers); `unmap` / `close` remove mappings. The external address a gateway reports is
 * passed on with `publicAddress` saying whether it is globally routable (false behind double NAT
 * or CGNAT: the mapping then reaches only the carrier's network).
 */
import { isIPv4 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import { assertAllowedHost } from '../core/loopback-guard.ts';
import { isPublicAddress } from '../lobby/host-address.ts';
import {
  mappingFailed, reasonOf, type BackendGrant, type BackendMapRequest, type MappedVia, type MappingBackend, type MappingProtocol,
  type PortMappingMethod,
} from './port-mapper-backend.ts';
import { listenForAnnouncements, type AnnouncementListener } from './port-mapper-announce.ts';
import { defaultGateways } from './port-mapper-gateway.ts';
import { NatPmpBackend } from './port-mapper-natpmp.ts';
import { PcpBackend } from './port-mapper-pcp.ts';
import { UpnpBackend } from './port-mapper-upnp.ts';
import { GATEWAY_PORT } from './port-mapper-wire.ts';

export type { MappedVia, MappingProtocol, PortMappingMethod } from './port-mapper-backend.ts';

export const DEFAULT_METHODS: readonly PortMappingMethod[] = ['pcp', 'natpmp', 'upnp'];
export const DEFAULT_DISCOVERY_MS = 3000;
export const DEFAULT_TTL_SECONDS = 3600;
export const MAX_TTL_SECONDS = 86_400;
/** Time bound of one map, renewal or removal across the protocols. */
const OPERATION_MS = 5000;
const METHOD_NAMES: Record<PortMappingMethod, string> = { pcp: 'PCP', natpmp: 'NAT-PMP', upnp: 'UPnP' };

export interface PortMapperOptions {
  /** The router's IPv4 address for NAT-PMP/PCP (default: the default gateway). */
  gatewayHint?: string;
  /** Protocols allowed, in preference order (default pcp, natpmp, upnp). */
  protocols?: readonly PortMappingMethod[];
  signal?: AbortSignal;
  /** Discovery time bound (default 3000 ms). */
  discoveryTimeoutMs?: number;
  /** Renewals, changes and losses of mappings. */
  onEvent?: (event: PortMapperEvent) => void;
  /** The NAT-PMP/PCP server port (tests; default 5351). */
  gatewayPort?: number;
  /** Re-create mappings at once when the gateway announces a restart (224.0.0.1:5350; default true). */
  announcements?: boolean;
}

export interface MapRequest {
  protocol: MappingProtocol;
  internalPort: number;
  /** The external port wanted (default: the internal port); the gateway may grant another. */
  externalPort?: number;
  description?: string;
  /** Lease asked for (default 3600 s); renewed at half the granted lease. */
  ttlSeconds?: number;
}

export interface PortMapping {
  protocol: MappingProtocol;
  internalPort: number;
  externalHost: string;
  externalPort: number;
  /** False for a private/CGNAT external address (double NAT): not reachable from the internet. */
  publicAddress: boolean;
  via: MappedVia;
  /** The gateway that holds it. */
  gateway: string;
  /** Lease granted, seconds; 0 = permanent (IGD v1 routers without leases). */
  lifetimeSeconds: number;
  /** When the lease ends unless renewed (ms since epoch); null = permanent. */
  expiresAt: number | null;
}

export type PortMapperEvent =
  | { type: 'renewed'; mapping: PortMapping }
  | { type: 'changed'; mapping: PortMapping; previous: PortMapping }
  | { type: 'renew-failed'; mapping: PortMapping; error: PkarrError };

export interface ExternalAddress {
  host: string;
  publicAddress: boolean;
  via: PortMappingMethod;
}

interface Entry {
  request: BackendMapRequest;
  backend: MappingBackend;
  grant: BackendGrant;
  mapping: PortMapping;
  timer: NodeJS.Timeout | null;
}

const keyOf = (protocol: MappingProtocol, internalPort: number): string => `${protocol}/${internalPort}`;

function checkPort(value: unknown, field: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw new PkarrError('INVALID_ARGUMENT', `${field} must be an integer ${allowZero ? 0 : 1}-65535, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Validates a map request (throws INVALID_ARGUMENT naming the field). */
export function normalizeMapRequest(request: MapRequest): BackendMapRequest {
  if (request.protocol !== 'UDP' && request.protocol !== 'TCP') throw new PkarrError('INVALID_ARGUMENT', `protocol must be "UDP" or "TCP", got ${JSON.stringify(request.protocol)}`);
  const internalPort = checkPort(request.internalPort, 'internalPort');
  const externalPort = request.externalPort === undefined ? internalPort : checkPort(request.externalPort, 'externalPort', true);
  const ttl = request.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) throw new PkarrError('INVALID_ARGUMENT', `ttlSeconds must be an integer 1-${MAX_TTL_SECONDS}, got ${JSON.stringify(ttl)}`);
  const description = request.description ?? 'pkarr-godot';
  if (typeof description !== 'string' || description.length > 64 || !/^[\x20-\x7e]*$/.test(description)) {
    throw new PkarrError('INVALID_ARGUMENT', 'description must be at most 64 printable ASCII characters');
  }
  return { protocol: request.protocol, internalPort, externalPort, lifetimeSeconds: ttl, description };
}

export class PortMapper {
  readonly #backends: MappingBackend[];
  readonly #entries = new Map<string, Entry>();
  /** Maps in flight by key: a second map of the same port waits for the first. */
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #onEvent: ((event: PortMapperEvent) => void) | undefined;
  readonly #announcements: AnnouncementListener | null;
  #closed = false;

  private constructor(backends: MappingBackend[], onEvent: ((event: PortMapperEvent) => void) | undefined, announcements: boolean) {
    this.#backends = backends;
    this.#onEvent = onEvent;
    this.#announcements = announcements ? listenForAnnouncements((gateway) => this.#gatewayRestarted(gateway)) : null;
  }

  /** Finds the gateways; PORT_MAPPING_FAILED (naming each protocol tried and why) when none answers. */
  static async start(options: PortMapperOptions = {}): Promise<PortMapper> {
    const methods = options.protocols ?? DEFAULT_METHODS;
    if (methods.length === 0 || methods.some((m) => !DEFAULT_METHODS.includes(m)) || new Set(methods).size !== methods.length) {
      throw new PkarrError('INVALID_ARGUMENT', `protocols must be a non-empty list of distinct ${DEFAULT_METHODS.join(', ')}`);
    }
    if (options.gatewayHint !== undefined && !isIPv4(options.gatewayHint)) {
      throw new PkarrError('INVALID_ARGUMENT', `gatewayHint must be an IPv4 address, got ${JSON.stringify(options.gatewayHint)}`);
    }
    const timeoutMs = options.discoveryTimeoutMs ?? DEFAULT_DISCOVERY_MS;
    const signal = options.signal === undefined ? AbortSignal.timeout(timeoutMs + 500) : AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs + 500)]);
    let gateway: Promise<string> | null = null;
    const routerAddress = (): Promise<string> => (gateway ??= (async () => {
      const found = options.gatewayHint ?? (await defaultGateways())[0];
      if (found === undefined) throw new Error('no default gateway found (pass gatewayHint)');
      assertAllowedHost(found, 'port-mapping gateway');
      return found;
    })());
    const port = options.gatewayPort ?? GATEWAY_PORT;
    const probes = methods.map(async (method): Promise<MappingBackend> => {
      try {
        if (method === 'upnp') return await UpnpBackend.probe(timeoutMs, signal);
        const router = await routerAddress();
        return method === 'pcp' ? await PcpBackend.probe(router, timeoutMs, signal, port) : await NatPmpBackend.probe(router, timeoutMs, signal, port);
      } catch (err) {
        throw err instanceof PkarrError && err.code === 'PORT_MAPPING_FAILED' ? err : mappingFailed(METHOD_NAMES[method], reasonOf(err), err);
      }
    });
    const settled = await Promise.allSettled(probes);
    const backends = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (backends.length === 0) {
      const reasons = settled.map((s) => (s.status === 'rejected' ? reasonOf(s.reason) : ''));
      throw new PkarrError('PORT_MAPPING_FAILED', `no port-mapping gateway found within ${timeoutMs} ms: ${reasons.join('; ')}`, { tried: methods });
    }
    if (options.signal?.aborted) {
      for (const b of backends) b.close();
      throw new PkarrError('PORT_MAPPING_FAILED', 'port-mapping discovery was aborted');
    }
    return new PortMapper(backends, options.onEvent, options.announcements ?? true);
  }

  /** The protocols that answered, in preference order. */
  get methods(): PortMappingMethod[] {
    return this.#backends.map((b) => b.method);
  }

  /** The mappings currently held. */
  mappings(): PortMapping[] {
    return [...this.#entries.values()].map((e) => ({ ...e.mapping }));
  }

  /**
   * Maps a port (or renews it at once when it is already mapped). Tries each protocol that
   * answered, in order; PORT_MAPPING_FAILED names every one tried and why.
   */
  async map(request: MapRequest): Promise<PortMapping> {
    if (this.#closed) throw new PkarrError('PORT_MAPPING_FAILED', 'the port mapper is closed');
    const normalized = normalizeMapRequest(request);
    const key = keyOf(normalized.protocol, normalized.internalPort);
    for (let running = this.#inFlight.get(key); running !== undefined; running = this.#inFlight.get(key)) await running.catch(() => undefined);
    const work = this.#mapNow(normalized, key);
    this.#inFlight.set(key, work);
    try {
      return await work;
    } finally {
      if (this.#inFlight.get(key) === work) this.#inFlight.delete(key);
    }
  }

  async #mapNow(normalized: BackendMapRequest, key: string): Promise<PortMapping> {
    if (this.#closed) throw new PkarrError('PORT_MAPPING_FAILED', 'the port mapper is closed');
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      existing.request = normalized;
      await this.#renew(existing, true);
      return { ...existing.mapping };
    }
    const reasons: string[] = [];
    for (const backend of this.#backends) {
      try {
        const grant = await backend.map(normalized, AbortSignal.timeout(OPERATION_MS));
        if (this.#closed) {
          await backend.unmap(normalized, grant, AbortSignal.timeout(OPERATION_MS)).catch(() => undefined);
          throw new PkarrError('PORT_MAPPING_FAILED', 'the port mapper was closed while mapping');
        }
        const entry: Entry = { request: normalized, backend, grant, mapping: this.#mappingOf(normalized, backend, grant), timer: null };
        this.#entries.set(key, entry);
        this.#schedule(entry, grant.lifetimeSeconds / 2);
        return { ...entry.mapping };
      } catch (err) {
        if (this.#closed) throw err;
        reasons.push(reasonOf(err));
      }
    }
    throw new PkarrError('PORT_MAPPING_FAILED', `could not map ${normalized.protocol} port ${normalized.internalPort}: ${reasons.join('; ')}`, {
      protocol: normalized.protocol, internalPort: normalized.internalPort,
    });
  }

  /** Removes one mapping (PORT_MAPPING_FAILED when the gateway refused; it is forgotten either way). Unknown: false. */
  async unmap(protocol: MappingProtocol, internalPort: number): Promise<boolean> {
    const key = keyOf(protocol, internalPort);
    await this.#inFlight.get(key)?.catch(() => undefined);
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    if (entry.timer !== null) clearTimeout(entry.timer);
    await entry.backend.unmap(entry.request, entry.grant, AbortSignal.timeout(OPERATION_MS));
    return true;
  }

  /** What the gateway says our external address is (first protocol that can tell), or null. */
  async externalAddress(): Promise<ExternalAddress | null> {
    for (const backend of this.#backends) {
      try {
        const host = await backend.externalAddress(AbortSignal.timeout(OPERATION_MS));
        if (host !== null) return { host, publicAddress: isPublicAddress(host), via: backend.method };
      } catch {
        // try the next protocol
      }
    }
    return null;
  }

  /** Removes every mapping (in parallel, bounded) and releases the sockets; returns the removal errors. */
  async close(): Promise<string[]> {
    if (this.#closed) return [];
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of entries) if (entry.timer !== null) clearTimeout(entry.timer);
    const results = await Promise.allSettled(entries.map((e) => e.backend.unmap(e.request, e.grant, AbortSignal.timeout(OPERATION_MS))));
    for (const backend of this.#backends) backend.close();
    this.#announcements?.close();
    return results.flatMap((r) => (r.status === 'rejected' ? [reasonOf(r.reason)] : []));
  }

  /** A gateway announced a restart: its mappings are gone, re-create them now. */
  #gatewayRestarted(gateway: string): void {
    if (this.#closed) return;
    for (const entry of this.#entries.values()) {
      if (entry.backend.gateway.split(':')[0] === gateway) void this.#renew(entry, false);
    }
  }

  #mappingOf(request: BackendMapRequest, backend: MappingBackend, grant: BackendGrant): PortMapping {
    return {
      protocol: request.protocol,
      internalPort: request.internalPort,
      externalHost: grant.externalHost,
      externalPort: grant.externalPort,
      publicAddress: isPublicAddress(grant.externalHost),
      via: grant.via,
      gateway: backend.gateway,
      lifetimeSeconds: grant.lifetimeSeconds,
      expiresAt: grant.lifetimeSeconds === 0 ? null : Date.now() + grant.lifetimeSeconds * 1000,
    };
  }

  /** Renews `entry` after `seconds` (nothing for a permanent lease). */
  #schedule(entry: Entry, seconds: number): void {
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    if (entry.grant.lifetimeSeconds === 0 || this.#closed) return;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      void this.#renew(entry, false);
    }, Math.max(1000, seconds * 1000));
    entry.timer.unref();
  }

  /** Renews a mapping; on failure retries sooner (throws only when `rethrow`). */
  async #renew(entry: Entry, rethrow: boolean): Promise<void> {
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    const key = keyOf(entry.request.protocol, entry.request.internalPort);
    try {
      const grant = await entry.backend.map(entry.request, AbortSignal.timeout(OPERATION_MS), entry.grant);
      if (this.#closed || this.#entries.get(key) !== entry) return;
      const previous = entry.mapping;
      entry.grant = grant;
      entry.mapping = this.#mappingOf(entry.request, entry.backend, grant);
      const changed = previous.externalHost !== entry.mapping.externalHost || previous.externalPort !== entry.mapping.externalPort;
      this.#emit(changed ? { type: 'changed', mapping: { ...entry.mapping }, previous } : { type: 'renewed', mapping: { ...entry.mapping } });
      this.#schedule(entry, grant.lifetimeSeconds / 2);
    } catch (err) {
      if (this.#closed || this.#entries.get(key) !== entry) return;
      const error = err instanceof PkarrError ? err : mappingFailed(METHOD_NAMES[entry.backend.method], reasonOf(err), err);
      this.#emit({ type: 'renew-failed', mapping: { ...entry.mapping }, error });
      const left = entry.mapping.expiresAt === null ? 0 : (entry.mapping.expiresAt - Date.now()) / 1000;
      this.#schedule(entry, Math.min(Math.max(1, left / 2), Math.max(1, entry.grant.lifetimeSeconds / 2)));
      if (rethrow) throw error;
    }
  }

  #emit(event: PortMapperEvent): void {
    try {
      this.#onEvent?.(event);
    } catch {
      // a listener's failure is not ours
    }
  }
}
