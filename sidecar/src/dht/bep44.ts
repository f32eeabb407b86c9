/**
 * BEP44 mutable items ↔ pkarr packets (the mapping of pubky/pkarr design/base.md; Rust mainline's
 * deviations from BEP44 noted below): the seq ↔ timestamp conversion, the `put` arguments we send,
 * and the checks every item received from the network passes before anyone sees it.
 */
import type { KrpcResponseBody } from 'bittorrent-dht';
import { PkarrError } from '../core/errors.ts';
import { verifySignature } from '../core/ed25519.ts';
import type { PublicKey } from '../core/keys.ts';
import { MAX_DNS_BYTES, SIGNATURE_BYTES, SignedPacket, signable } from '../core/signed-packet.ts';

/**
 * The BEP44 `seq` for a packet timestamp. bittorrent-dht only takes JS numbers and its wire bencode
 * (k-rpc-socket's bencode@2) goes through doubles, so a timestamp above 2^53 would be sent rounded and
 * fail every signature check (bencode@4, which we sign with, prints the exact integer): refuse it.
 */
export function seqFromTimestamp(timestamp: bigint): number {
  if (typeof timestamp !== 'bigint' || timestamp < 0n || timestamp > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PkarrError(
      'INVALID_TIMESTAMP',
      `timestamp ${String(timestamp)} cannot be a DHT seq: bittorrent-dht encodes seq as a double, so it must be an integer in 0..=${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return Number(timestamp);
}

/** Arguments of a BEP44 `put` for a packet (without `id`/`token`, which are per node). */
export interface PutArguments {
  k: Buffer;
  seq: number;
  sig: Buffer;
  v: Buffer;
  /**
   * sha1(k): not in BEP44, required by Rust `mainline` nodes (their put struct has no default for
   * it); others ignore it.
   */
  target: Buffer;
}

function buffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The `put` arguments for `packet`, reusing its signature (nothing is re-signed). No salt, no cas. */
export function putArguments(packet: SignedPacket): PutArguments {
  return {
    k: buffer(packet.publicKey.bytes),
    seq: seqFromTimestamp(packet.timestamp),
    sig: buffer(packet.signature),
    v: buffer(packet.dns),
    target: buffer(packet.publicKey.dhtTarget()),
  };
}

/** What a `get` reply carried. */
export type ItemCheck =
  /** A valid pkarr packet for the requested key. */
  | { kind: 'packet'; packet: SignedPacket }
  /** A valid BEP44 item for the key whose DNS message does not parse (counts for `invalidSeq`). */
  | { kind: 'invalid-dns'; seq: bigint; error: string }
  /** Not a valid item for this key (wrong `k`, bad signature, malformed fields): ignored. */
  | { kind: 'rejected'; reason: string };

/**
 * Checks a `get` reply body against the requested key, in this order: the item fields are well
 * formed, `k` equals the key (BEP44 asks it and Rust mainline skips it: a node may answer with
 * another key's item), the signature verifies over the BEP44 signable, and the DNS parses. Returns
 * null when the reply holds no item.
 */
export function checkItem(r: KrpcResponseBody, key: PublicKey): ItemCheck | null {
  const { v, k, sig, seq } = r;
  if (v === undefined) return null;
  if (!Buffer.isBuffer(v)) return { kind: 'rejected', reason: 'v is not a byte string' };
  if (!Buffer.isBuffer(k) || !Buffer.isBuffer(sig)) return { kind: 'rejected', reason: 'immutable item (no k/sig)' };
  if (k.length !== 32 || !k.equals(key.bytes)) return { kind: 'rejected', reason: 'k differs from the requested key' };
  if (sig.length !== SIGNATURE_BYTES) return { kind: 'rejected', reason: `sig is ${sig.length} bytes` };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return { kind: 'rejected', reason: `seq ${String(seq)} is not a safe non-negative integer` };
  }
  if (v.length > MAX_DNS_BYTES) return { kind: 'rejected', reason: `v is ${v.length} bytes` };
  const timestamp = BigInt(seq);
  if (!verifySignature(k, signable(timestamp, v), sig)) return { kind: 'rejected', reason: 'invalid signature' };
  try {
    return { kind: 'packet', packet: SignedPacket.fromParts(k, sig, timestamp, v) };
  } catch (err) {
    return { kind: 'invalid-dns', seq: timestamp, error: err instanceof Error ? err.message : String(err) };
  }
}

/** A cheap identity for an item, to check each distinct item once per lookup. */
export function itemId(r: KrpcResponseBody): string {
  const sig = Buffer.isBuffer(r.sig) ? r.sig.toString('base64') : '';
  const v = Buffer.isBuffer(r.v) ? r.v.toString('base64') : '';
  const k = Buffer.isBuffer(r.k) ? r.k.toString('base64') : '';
  return `${String(r.seq)}|${k}|${sig}|${v}`;
}
