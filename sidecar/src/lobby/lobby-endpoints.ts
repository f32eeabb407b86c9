/**
 * How to connect to a lobby, written with pkarr's endpoints convention (pubky/pkarr
 * design/endpoints.md): an SVCB record (RFC 9460, ServiceMode) at `_<transport>.<z32>` per endpoint,
 * e.g. `_enet` or `_ws`, carrying `port` and an `ipv4hint`/`ipv6hint`, with the target `.` meaning
 * "this key itself", plus A/AAAA records at the apex. A host given as a domain name becomes the
 * SVCB target instead (no hint, no apex address).
 *
 * Reading: SVCB records at `_<transport>` (priority ≥ 1, with a port), ordered by priority; target `.`
 * gives one endpoint per hinted address, or per apex A then AAAA when the record has no hint.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import { parseIPv6, formatIPv6 } from '../core/names.ts';
import type { DnsRecord, SVCBRecord, SvcParamValue } from '../core/records.ts';
import type { SignedPacket } from '../core/signed-packet.ts';

/** One way to reach the lobby's game server. */
export interface LobbyEndpoint {
  /** `enet`, `ws`, `wss`, `webrtc`…: the owner label without its underscore. */
  transport: string;
  /** An IPv4/IPv6 address or a domain name. */
  host: string;
  port: number;
  /** Optional ALPN ids (SVCB `alpn`). */
  alpn?: string[];
}

/** Transport names (`_<transport>` must be one DNS label). */
export const TRANSPORT_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;
/** Most endpoints a lobby may list (and that a reader keeps). */
export const MAX_ENDPOINTS = 16;

const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function invalid(message: string): PkarrError {
  return new PkarrError('INVALID_ARGUMENT', message);
}

/** Canonical text of an IP (RFC 5952 for IPv6), or null for anything that is not an IP literal. */
export function canonicalIp(host: string): string | null {
  if (isIPv4(host)) return host;
  if (isIPv6(host) && !host.includes('%')) {
    const bytes = parseIPv6(host);
    return bytes === null ? null : formatIPv6(bytes);
  }
  return null;
}

/** Validates one endpoint; throws INVALID_ARGUMENT naming the problem. */
export function validateEndpoint(endpoint: LobbyEndpoint, index: number): void {
  const what = `endpoint ${index}`;
  if (typeof endpoint !== 'object' || endpoint === null) throw invalid(`${what} must be an object`);
  if (typeof endpoint.transport !== 'string' || !TRANSPORT_PATTERN.test(endpoint.transport) || endpoint.transport === 'lobby') {
    throw invalid(`${what}: invalid transport ${JSON.stringify(endpoint.transport)} (expected 1-16 characters a-z 0-9 -, starting with a letter, e.g. enet or ws)`);
  }
  if (typeof endpoint.host !== 'string' || (canonicalIp(endpoint.host) === null && !DOMAIN_PATTERN.test(endpoint.host))) {
    throw invalid(`${what}: invalid host ${JSON.stringify(endpoint.host)} (expected an IPv4/IPv6 address or a domain name)`);
  }
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    throw invalid(`${what}: invalid port ${String(endpoint.port)} (expected 1-65535)`);
  }
  if (endpoint.alpn !== undefined) {
    if (!Array.isArray(endpoint.alpn) || endpoint.alpn.length === 0 || endpoint.alpn.some((id) => typeof id !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(id))) {
      throw invalid(`${what}: alpn must be a non-empty list of 1-64 printable ASCII characters each`);
    }
  }
}

/** SVCB + apex A/AAAA records for `endpoints` (validated first). */
export function encodeEndpoints(endpoints: readonly LobbyEndpoint[], ttl: number): DnsRecord[] {
  if (!Array.isArray(endpoints)) throw invalid('endpoints must be a list');
  if (endpoints.length > MAX_ENDPOINTS) throw invalid(`a lobby lists at most ${MAX_ENDPOINTS} endpoints, got ${endpoints.length}`);
  endpoints.forEach(validateEndpoint);
  const apex: DnsRecord[] = [];
  const apexSeen = new Set<string>();
  const services: DnsRecord[] = [];
  const priorities = new Map<string, number>();
  for (const endpoint of endpoints) {
    const priority = (priorities.get(endpoint.transport) ?? 0) + 1;
    priorities.set(endpoint.transport, priority);
    const ip = canonicalIp(endpoint.host);
    const params: SvcParamValue[] = [];
    if (endpoint.alpn !== undefined) params.push({ key: 'alpn', protocols: [...endpoint.alpn] });
    params.push({ key: 'port', port: endpoint.port });
    if (ip !== null) {
      const v4 = isIPv4(ip);
      params.push(v4 ? { key: 'ipv4hint', addresses: [ip] } : { key: 'ipv6hint', addresses: [ip] });
      if (!apexSeen.has(ip)) {
        apexSeen.add(ip);
        apex.push(v4 ? { type: 'A', name: '@', ttl, address: ip } : { type: 'AAAA', name: '@', ttl, address: ip });
      }
    }
    services.push({ type: 'SVCB', name: `_${endpoint.transport}`, ttl, priority, target: ip === null ? endpoint.host.toLowerCase() : '.', params });
  }
  return [...apex, ...services];
}

function hintAddresses(params: readonly SvcParamValue[]): string[] {
  const out: string[] = [];
  for (const p of params) if (p.key === 'ipv4hint' || p.key === 'ipv6hint') out.push(...p.addresses);
  return out;
}

/** The apex A and AAAA addresses of a packet (A first). */
export function apexAddresses(packet: SignedPacket): string[] {
  const out: string[] = [];
  const records = packet.resourceRecords('@');
  for (const r of records) if (r.type === 'A') out.push(r.address);
  for (const r of records) if (r.type === 'AAAA') out.push(canonicalIp(r.address) ?? r.address);
  return out;
}

/** Every address the lobby claims (apex A/AAAA and SVCB hints), canonical, without duplicates. */
export function lobbyAddresses(packet: SignedPacket): string[] {
  const set = new Set(apexAddresses(packet));
  for (const r of packet.records) {
    if (r.type === 'SVCB') for (const a of hintAddresses(r.params)) set.add(canonicalIp(a) ?? a);
  }
  return [...set];
}

/** Reads the endpoints of a lobby packet (never throws; unusable records are skipped). */
export function parseEndpoints(packet: SignedPacket): LobbyEndpoint[] {
  const suffix = `.${packet.publicKey.z32}`;
  const byTransport = new Map<string, SVCBRecord[]>();
  for (const r of packet.records) {
    if (r.type !== 'SVCB' || !r.name.endsWith(suffix) || !r.name.startsWith('_')) continue;
    const transport = r.name.slice(1, -suffix.length);
    if (!TRANSPORT_PATTERN.test(transport) || r.priority === 0) continue;
    const list = byTransport.get(transport) ?? [];
    list.push(r);
    byTransport.set(transport, list);
  }
  const apex = apexAddresses(packet);
  const out: LobbyEndpoint[] = [];
  const seen = new Set<string>();
  for (const [transport, records] of byTransport) {
    records.sort((a, b) => a.priority - b.priority);
    for (const r of records) {
      const portParam = r.params.find((p) => p.key === 'port');
      if (portParam === undefined || portParam.key !== 'port' || portParam.port === 0) continue;
      const alpnParam = r.params.find((p) => p.key === 'alpn');
      const alpn = alpnParam?.key === 'alpn' ? { alpn: [...alpnParam.protocols] } : {};
      const hints = hintAddresses(r.params).map((a) => canonicalIp(a) ?? a);
      const hosts = r.target !== '.' ? [r.target] : hints.length > 0 ? hints : apex;
      for (const host of hosts) {
        const id = `${transport}|${host}|${portParam.port}`;
        if (seen.has(id) || out.length >= MAX_ENDPOINTS) continue;
        seen.add(id);
        out.push({ transport, host, port: portParam.port, ...alpn });
      }
    }
  }
  return out;
}
