/**
 * Our public IPv4 address as other nodes see it. BEP42 responders (Rust mainline, libtorrent) add a
 * top-level `ip` key to every KRPC response: 4 address bytes + 2 port bytes of the querier. k-rpc-socket
 * hands the whole decoded message to its `response` listeners, so we can read it there (bittorrent-dht
 * itself never sends it). Each responder gets one vote (its latest); the address with most votes wins.
 */
import { LruMap } from '../util/lru-map.ts';
import { splitHostPort } from '../util/peer-address.ts';

export interface ExternalAddress {
  host: string;
  port: number;
  /** Distinct responders that reported this address. */
  votes: number;
}

/** Most responders remembered (oldest forgotten first). */
const MAX_VOTERS = 1000;

/** Decodes a compact IPv4 `ip` field (6 bytes); null for anything else (IPv6 has 18, unsupported here). */
export function decodeCompactIPv4(bytes: unknown): { host: string; port: number } | null {
  if (!Buffer.isBuffer(bytes) || bytes.length !== 6) return null;
  const port = bytes.readUInt16BE(4);
  if (port === 0) return null;
  return { host: `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`, port };
}

export class ExternalAddressVotes {
  /** Voter "host:port" → reported "host:port"; the voter heard from least recently goes first. */
  readonly #votes = new LruMap<string, string>(MAX_VOTERS);

  /** Records the `ip` field of a response from `voter`. Returns true when it was a usable vote. */
  record(ip: unknown, voter: string): boolean {
    const address = decodeCompactIPv4(ip);
    if (address === null) return false;
    this.#votes.set(voter, `${address.host}:${address.port}`);
    return true;
  }

  /** The address reported by most responders, or null when none reported one. */
  best(): ExternalAddress | null {
    const counts = new Map<string, number>();
    for (const [, reported] of this.#votes.entries()) counts.set(reported, (counts.get(reported) ?? 0) + 1);
    let best: string | null = null;
    let votes = 0;
    for (const [reported, n] of counts) if (n > votes) { best = reported; votes = n; }
    const address = best === null ? null : splitHostPort(best); // always parses: record() stores a decoded address
    return address === null ? null : { ...address, votes };
  }
}
