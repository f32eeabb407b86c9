/**
 * The NAT type of the punch socket (docs/nat.md §1), from what DHT-STUN observed, the socket's
 * local port, this machine's interface addresses and the router's port mapping if one was made.
 * Pure: no I/O, the same input always gives the same report.
 *
 * Voters are responders counted by IP (several ports of one host are one witness); when some
 * responders have public addresses, only those vote (a node on our LAN sees our LAN address). The address that
 * a strict majority of voters report, with at least 2 of them, is the consensus; a lone dissenter
 * (a liar, or a mapping that expired mid-probe) is outvoted and counted.
 */
import { isIPv4 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import { isPublicAddress } from '../lobby/host-address.ts';
import type { NatType } from '../lobby/lobby-record.ts';
import type { UdpAddress } from './udp-channel.ts';

/** Every NAT type, from most to least reachable: the `reach` values a lobby record carries. */
export type { NatType } from '../lobby/lobby-record.ts';
/** What a console would call the NAT type. */
export type NatRating = 'open' | 'moderate' | 'strict' | 'unknown';

/** Distinct responders that must agree before an address is believed. */
export const MIN_VOTERS = 2;

/** The router's port mapping for the punch socket (nat/port-mapper.ts), as far as this module needs it. */
export interface PortMappingInfo {
  externalHost: string;
  externalPort: number;
  /** The protocol that made it, e.g. `upnp-igd`, `nat-pmp`, `pcp`. */
  via: string;
}

/** One DHT-STUN observation (dht-stun.ts StunObservation fits). */
export interface NatObservation {
  node: string;
  mapped: UdpAddress | null;
}

export interface NatClassifyInput {
  observations: readonly NatObservation[];
  /** The punch socket's bound port. */
  localPort: number;
  /** This machine's own IP addresses (os.networkInterfaces()). */
  interfaceAddresses: readonly string[];
  portMapping?: PortMappingInfo | null;
}

export interface NatReport {
  type: NatType;
  rating: NatRating;
  /** Where others reach the punch socket (the mapping, or the DHT consensus); null when unknown or symmetric. */
  publicAddress: UdpAddress | null;
  /** The address the DHT agrees it sees the punch socket at (also when type is `mapped`); null when none. */
  observedAddress: UdpAddress | null;
  /** The public IP the DHT agrees on, also when the ports disagree; null when unknown. */
  publicHost: string | null;
  /** Distinct responders (by IP) that reported the consensus address (or host, when symmetric). */
  voters: number;
  /** Distinct responders (by IP) that reported any address. */
  responders: number;
  /** Responders that reported something other than the consensus address. */
  dissenters: number;
  /** A joiner can reach the punch socket without punching (public, or mapped by the router). */
  directlyReachable: boolean;
  /** A path to the punch socket can be opened: directly, or by punching from/to a cone NAT. */
  punchable: boolean;
  /** publicAddress is a globally routable address (false in a LAN or loopback test, or behind CGNAT). */
  routable: boolean;
  /** The NAT kept the local port (null when there is no consensus port). */
  portPreserved: boolean | null;
  /** Another NAT (carrier-grade, or a second router) sits between the router and the internet. */
  doubleNat: boolean;
  /** The port-mapping protocol when type is `mapped`. */
  via: string | null;
  /** The router's mapping as given (also when unusable because its external address is not public). */
  mapping: PortMappingInfo | null;
  /** One sentence for a player. */
  summary: string;
}

function invalid(message: string): PkarrError {
  return new PkarrError('INVALID_ARGUMENT', `NAT classification: ${message}`);
}

function checkPort(port: unknown, what: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`${what} must be a port 1..65535, got ${String(port)}`);
  return port;
}

function hostOfNode(node: unknown): string {
  if (typeof node !== 'string') throw invalid(`observation node must be a string, got ${typeof node}`);
  const colon = node.lastIndexOf(':');
  const host = colon > 0 ? node.slice(0, colon) : '';
  if (!isIPv4(host)) throw invalid(`observation node ${JSON.stringify(node)} is not a.b.c.d:port`);
  return host;
}

interface Tally {
  /** "host:port" → responder IPs that reported it. */
  byAddress: Map<string, Set<string>>;
  /** host → responder IPs that reported it (any port). */
  byHost: Map<string, Set<string>>;
  responders: Set<string>;
}

function tally(observations: readonly NatObservation[]): Tally {
  if (!Array.isArray(observations)) throw invalid('observations must be a list');
  const valid: { voter: string; host: string; port: number }[] = [];
  for (const o of observations) {
    if (typeof o !== 'object' || o === null) throw invalid('an observation must be an object');
    const voter = hostOfNode(o.node);
    if (o.mapped === null) continue;
    if (typeof o.mapped !== 'object' || !isIPv4(o.mapped.host)) throw invalid(`observation of ${o.node}: mapped host must be an IPv4 address`);
    valid.push({ voter, host: o.mapped.host, port: checkPort(o.mapped.port, `observation of ${o.node}: mapped port`) });
  }
  // A node on our own network sees our private address: when nodes on public addresses answered,
  // only they speak for the internet.
  const publicOnly = valid.some((v) => isPublicAddress(v.voter));
  const t: Tally = { byAddress: new Map(), byHost: new Map(), responders: new Set() };
  for (const { voter, host, port } of valid) {
    if (publicOnly && !isPublicAddress(voter)) continue;
    t.responders.add(voter);
    const address = `${host}:${port}`;
    let set = t.byAddress.get(address);
    if (!set) t.byAddress.set(address, (set = new Set()));
    set.add(voter);
    let hostSet = t.byHost.get(host);
    if (!hostSet) t.byHost.set(host, (hostSet = new Set()));
    hostSet.add(voter);
  }
  return t;
}

/** The key a strict majority (and at least MIN_VOTERS) of `total` voters share, or null. */
function majority(groups: Map<string, Set<string>>, total: number): { key: string; votes: number } | null {
  for (const [key, voters] of groups) {
    if (voters.size >= MIN_VOTERS && voters.size * 2 > total) return { key, votes: voters.size };
  }
  return null;
}

function splitAddress(text: string): UdpAddress {
  const colon = text.lastIndexOf(':');
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

/** Classifies the punch socket's reachability (docs/nat.md §1). Throws INVALID_ARGUMENT on malformed input. */
export function classifyNat(input: NatClassifyInput): NatReport {
  const localPort = checkPort(input.localPort, 'localPort');
  if (!Array.isArray(input.interfaceAddresses) || input.interfaceAddresses.some((a) => typeof a !== 'string')) {
    throw invalid('interfaceAddresses must be a list of strings');
  }
  const own = new Set(input.interfaceAddresses.map((a) => (a.startsWith('::ffff:') ? a.slice(7) : a)));
  const t = tally(input.observations);
  const responders = t.responders.size;
  const consensus = majority(t.byAddress, responders);
  const hostConsensus = majority(t.byHost, responders);
  const publicHost = hostConsensus?.key ?? null;
  const stunAddress = consensus === null ? null : splitAddress(consensus.key);

  const mapping = input.portMapping ?? null;
  let mappingNote = '';
  if (mapping !== null) {
    if (typeof mapping !== 'object' || typeof mapping.externalHost !== 'string' || !isIPv4(mapping.externalHost)) {
      throw invalid('portMapping.externalHost must be an IPv4 address');
    }
    checkPort(mapping.externalPort, 'portMapping.externalPort');
    if (typeof mapping.via !== 'string' || mapping.via === '') throw invalid('portMapping.via must name the protocol');
  }

  // The router's own external address being private or CGNAT means another NAT is upstream; so does a
  // DHT consensus on a non-public address that is not ours.
  const mappingPrivate = mapping !== null && !isPublicAddress(mapping.externalHost);
  const seenPrivate = publicHost !== null && !own.has(publicHost) && !isPublicAddress(publicHost);
  const doubleNat = mappingPrivate || seenPrivate;
  if (mappingPrivate) {
    mappingNote = ` The router's ${mapping.via} mapping (${mapping.externalHost}:${mapping.externalPort}) is not reachable from the internet: its external address is not public (carrier-grade NAT or a second router).`;
  } else if (seenPrivate) {
    mappingNote = ` The DHT nodes see this socket at ${publicHost}, which is not a public address (carrier-grade NAT or a second router).`;
  }

  const dissentersOf = (address: string | null): number => {
    if (address === null) return 0;
    const agree = address.includes(':') ? t.byAddress.get(address) : t.byHost.get(address);
    return responders - (agree?.size ?? 0);
  };
  const base = {
    publicHost, responders, doubleNat, observedAddress: stunAddress,
    mapping: mapping === null ? null : { externalHost: mapping.externalHost, externalPort: mapping.externalPort, via: mapping.via },
  };

  if (mapping !== null && !mappingPrivate) {
    const publicAddress = { host: mapping.externalHost, port: mapping.externalPort };
    const seen = publicHost !== null && publicHost !== mapping.externalHost ? ` (the DHT sees this socket at ${publicHost})` : '';
    return {
      ...base, type: 'mapped', rating: 'open', publicAddress, voters: stunAddress?.host === mapping.externalHost ? consensus!.votes : 0,
      dissenters: stunAddress === null ? 0 : dissentersOf(consensus!.key), directlyReachable: true, punchable: true, routable: true,
      portPreserved: mapping.externalPort === localPort, via: mapping.via,
      summary: `NAT type open: the router forwards ${mapping.externalHost}:${mapping.externalPort} to this socket (${mapping.via})${seen}.`,
    };
  }

  if (stunAddress !== null) {
    const votes = consensus!.votes;
    const dissenters = dissentersOf(consensus!.key);
    const routable = isPublicAddress(stunAddress.host);
    const agree = `${votes} DHT node${votes === 1 ? '' : 's'} agree${dissenters > 0 ? `, ${dissenters} disagree` : ''}`;
    if (own.has(stunAddress.host) && stunAddress.port === localPort) {
      const scope = routable ? '' : ` (${stunAddress.host} is not a public address: reachable on this network only)`;
      return {
        ...base, type: 'public', rating: 'open', publicAddress: stunAddress, voters: votes, dissenters, directlyReachable: true,
        punchable: true, routable, portPreserved: true, via: null,
        summary: `NAT type open: no NAT, this socket is reachable at ${stunAddress.host}:${stunAddress.port}${scope} (${agree}).${mappingNote}`,
      };
    }
    const punchable = routable;
    return {
      ...base, type: 'cone', rating: punchable ? 'moderate' : 'strict', publicAddress: stunAddress, voters: votes, dissenters,
      directlyReachable: false, punchable, routable, portPreserved: stunAddress.port === localPort, via: null,
      summary: `NAT type ${punchable ? 'moderate' : 'strict'}: behind a NAT that keeps one public address for this socket, ${stunAddress.host}:${stunAddress.port} (${agree}); ` +
        `players behind most home routers can connect by hole punching, players behind symmetric NATs cannot.${mappingNote}`,
    };
  }

  if (responders >= MIN_VOTERS) {
    const ports = t.byAddress.size;
    return {
      ...base, type: 'symmetric', rating: 'strict', publicAddress: null, voters: hostConsensus?.votes ?? 0, dissenters: publicHost === null ? responders : dissentersOf(publicHost),
      directlyReachable: false, punchable: false, routable: publicHost !== null && isPublicAddress(publicHost), portPreserved: null, via: null,
      summary: `NAT type strict: the NAT gives this socket a different public address per destination (${responders} DHT nodes reported ${ports} addresses); ` +
        `hole punching fails, so only public or port-mapped hosts can be joined: enable UPnP or NAT-PMP on the router, or forward a UDP port.${mappingNote}`,
    };
  }

  return {
    ...base, type: 'unknown', rating: 'unknown', publicAddress: null, voters: responders, dissenters: 0, directlyReachable: false,
    punchable: false, routable: false, portPreserved: null, via: null,
    summary: `NAT type unknown: ${responders === 0 ? 'no DHT node' : `only ${responders} DHT node`} reported this socket's public address (need ${MIN_VOTERS}); ` +
      `the DHT may still be bootstrapping, or UDP is blocked.${mappingNote}`,
  };
}
