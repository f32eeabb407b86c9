/**
 * The typed DNS record model used everywhere in the sidecar (core, CLI, RPC, lobbies).
 *
 * Names: `name` is what the user wrote (relative like `_foo`, `@`, `.`, or absolute ending in the
 * key's z32). Records decoded from a packet carry the absolute owner name (dot-joined, no trailing
 * dot) exactly as in the wire bytes. See names.ts for the normalisation rules.
 */

export type SvcParamValue =
  | { key: 'mandatory'; keys: number[] }
  | { key: 'alpn'; protocols: string[] }
  | { key: 'no-default-alpn' }
  | { key: 'port'; port: number }
  | { key: 'ipv4hint'; addresses: string[] }
  | { key: 'ech'; data: Uint8Array }
  | { key: 'ipv6hint'; addresses: string[] }
  /** Any other key (`keyNNNNN`), kept as opaque bytes. */
  | { key: 'unknown'; code: number; data: Uint8Array };

interface RecordBase {
  /** Owner name (relative or absolute; see names.ts). */
  name: string;
  /** TTL in seconds, u32. */
  ttl: number;
}

export interface ARecord extends RecordBase { type: 'A'; address: string }
export interface AAAARecord extends RecordBase { type: 'AAAA'; address: string }
export interface CNAMERecord extends RecordBase { type: 'CNAME'; target: string }
export interface NSRecord extends RecordBase { type: 'NS'; target: string }
/**
 * TXT: `strings` are the character-strings as on the wire (each ≤ 255 bytes UTF-8).
 * Helpers build them from one text value split into 254-byte chunks like simple-dns (rdata/txt.rs:
 * 254, not 255).
 */
export interface TXTRecord extends RecordBase { type: 'TXT'; strings: string[] }
export interface SRVRecord extends RecordBase {
  type: 'SRV'; priority: number; weight: number; port: number; target: string;
}
export interface SVCBRecord extends RecordBase {
  type: 'SVCB' | 'HTTPS'; priority: number; target: string; params: SvcParamValue[];
}
/** A record of a type we do not model, kept as opaque rdata so nothing is lost on a round trip. */
export interface UnknownRecord extends RecordBase { type: 'UNKNOWN'; typeCode: number; data: Uint8Array }

export type DnsRecord =
  | ARecord | AAAARecord | CNAMERecord | NSRecord | TXTRecord | SRVRecord | SVCBRecord | UnknownRecord;

export type DnsRecordType = DnsRecord['type'];

/** DNS type codes of the modelled types. */
export const TYPE_CODES = {
  A: 1, NS: 2, CNAME: 5, TXT: 16, AAAA: 28, SRV: 33, SVCB: 64, HTTPS: 65,
} as const;

export const CLASS_IN = 1;
