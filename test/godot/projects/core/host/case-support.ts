/**
 * Shared helpers of the core-engine case builders: deterministic keys, hex, and the
 * sidecar's outcome for a DNS message (resolve JSON) or a record list (publish bytes).
 */
import { createHash } from 'node:crypto';
import { decodeDnsPacket } from '../../../../../sidecar/src/core/dns-decode.ts';
import { encodeDnsPacket } from '../../../../../sidecar/src/core/dns-encode.ts';
import { isPkarrError } from '../../../../../sidecar/src/core/errors.ts';
import { Keypair } from '../../../../../sidecar/src/core/keys.ts';
import { MAX_DNS_BYTES } from '../../../../../sidecar/src/core/signed-packet.ts';
import { RpcError } from '../../../../../sidecar/src/rpc/dispatcher.ts';
import { recordsFromJson, recordToJson } from '../../../../../sidecar/src/rpc/record-json.ts';

/** Any JSON value handed to the GDScript suites. */
export type Json = unknown;

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
/** A fixed keypair per label. */
export const keypairOf = (label: string): Keypair => Keypair.fromSeed(new Uint8Array(createHash('sha256').update(`core-engine:${label}`).digest()));

/** The error code the sidecar's publish path gives (RPC -32602 data.code, or the PkarrError code). */
export function errorCode(err: unknown): string {
  if (err instanceof RpcError) return String(err.data?.['code'] ?? 'INVALID_PARAMS');
  if (isPkarrError(err)) return err.code;
  throw err;
}

/** What `resolve` returns for a DNS message of `origin`: records, or the error code. */
export function decodeExpectation(dns: Uint8Array, origin: string): Json {
  try {
    const records = decodeDnsPacket(dns).map((r) => recordToJson(r, origin));
    const text = JSON.stringify(records);
    // Godot strings cannot hold U+0000: such decodes are compared by outcome only.
    return text.includes('\\u0000') ? { ok: true, nul: true } : { ok: true, records };
  } catch (err) {
    return { ok: false, code: errorCode(err) };
  }
}

/** What `publish` makes of records JSON: the DNS bytes (≤ 1000), or the error code. */
export function encodeExpectation(records: unknown, origin: string): Json {
  try {
    const dns = encodeDnsPacket(recordsFromJson(records, origin), origin);
    if (dns.length > MAX_DNS_BYTES) return { ok: false, code: 'PACKET_TOO_LARGE' };
    return { ok: true, hex: hex(dns) };
  } catch (err) {
    return { ok: false, code: errorCode(err) };
  }
}

