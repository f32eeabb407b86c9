/**
 * SignedPacket: the pkarr record set, signed by its key (spec §1).
 *
 * Canonical bytes: `public_key(32) ‖ signature(64) ‖ timestamp_u64_be(8) ‖ dns(≤1000)`.
 * Relay payload:   the same without the leading key.
 * Signed message:  the BEP44 signable `3:seqi<ts>e1:v<len>:<dns>`.
 */
import { PkarrError } from './errors.ts';
import { Keypair, PublicKey } from './keys.ts';
import { isValidPoint } from './ed25519.ts';
import type { DnsRecord } from './records.ts';
import { encodeDnsPacket } from './dns-encode.ts';
import { decodeDnsPacket } from './dns-decode.ts';
import { findRecords } from './names.ts';
import { DEFAULT_MAXIMUM_TTL, DEFAULT_MINIMUM_TTL, packetTtl } from './ttl.ts';
import { assertTimestamp, nowMicros, timestamps } from './timestamp.ts';

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const TIMESTAMP_BYTES = 8;
export const HEADER_BYTES = PUBLIC_KEY_BYTES + SIGNATURE_BYTES + TIMESTAMP_BYTES; // 104
export const MAX_DNS_BYTES = 1000;
export const MAX_BYTES = HEADER_BYTES + MAX_DNS_BYTES; // 1104
export const MIN_RELAY_PAYLOAD_BYTES = HEADER_BYTES - PUBLIC_KEY_BYTES; // 72
export const MAX_RELAY_PAYLOAD_BYTES = MAX_BYTES - PUBLIC_KEY_BYTES; // 1072

const encoder = new TextEncoder();

/** The BEP44 signable for a pkarr packet: `3:seqi<ts>e1:v<len>:` followed by the DNS bytes. */
export function signable(timestamp: bigint, dns: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`3:seqi${timestamp}e1:v${dns.length}:`);
  const out = new Uint8Array(prefix.length + dns.length);
  out.set(prefix, 0);
  out.set(dns, prefix.length);
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export interface SignOptions {
  /** Timestamp in µs; defaults to the process-wide monotonic source. */
  timestamp?: bigint;
}

export class SignedPacket {
  readonly publicKey: PublicKey;
  readonly signature: Uint8Array;
  /** µs since the epoch; also the BEP44 seq. */
  readonly timestamp: bigint;
  /** The encoded DNS message. */
  readonly dns: Uint8Array;
  /** The decoded answer records (absolute owner names). */
  readonly records: readonly DnsRecord[];
  /** When this packet was last seen fresh (µs); updated by caches, relays (`Memento-Datetime`). */
  lastSeen: bigint;

  private constructor(publicKey: PublicKey, signature: Uint8Array, timestamp: bigint, dns: Uint8Array, records: DnsRecord[], lastSeen: bigint) {
    this.publicKey = publicKey;
    this.signature = signature;
    this.timestamp = timestamp;
    this.dns = dns;
    this.records = Object.freeze(records);
    this.lastSeen = lastSeen;
  }

  /** Encodes `records` (names relative to the key, see names.ts) and signs them. */
  static sign(keypair: Keypair, records: readonly DnsRecord[], options: SignOptions = {}): SignedPacket {
    const timestamp = options.timestamp ?? timestamps.next();
    assertTimestamp(timestamp);
    const dns = encodeDnsPacket([...records], keypair.publicKey.z32);
    if (dns.length > MAX_DNS_BYTES) {
      throw new PkarrError('PACKET_TOO_LARGE', `DNS packet is ${dns.length} bytes, ${dns.length - MAX_DNS_BYTES} over the ${MAX_DNS_BYTES}-byte limit`, { size: dns.length, limit: MAX_DNS_BYTES });
    }
    const signature = keypair.sign(signable(timestamp, dns));
    return new SignedPacket(keypair.publicKey, signature, timestamp, dns, decodeDnsPacket(dns), nowMicros());
  }

  /**
   * Parses and verifies canonical bytes, with the reference's checks in its order:
   * length ≥ 104, length ≤ 1104, valid key, valid signature, parsable DNS.
   */
  static fromBytes(bytes: Uint8Array, lastSeen: bigint = nowMicros()): SignedPacket {
    if (bytes.length < HEADER_BYTES) {
      throw new PkarrError('INVALID_SIGNED_PACKET_BYTES_LENGTH', `signed packet is ${bytes.length} bytes, expected at least ${HEADER_BYTES}`, { size: bytes.length });
    }
    if (bytes.length > MAX_BYTES) {
      throw new PkarrError('PACKET_TOO_LARGE', `signed packet is ${bytes.length} bytes, ${bytes.length - MAX_BYTES} over the ${MAX_BYTES}-byte limit`, { size: bytes.length, limit: MAX_BYTES });
    }
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const keyBytes = view.subarray(0, PUBLIC_KEY_BYTES);
    const signature = new Uint8Array(view.subarray(PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES + SIGNATURE_BYTES));
    const timestamp = view.readBigUInt64BE(PUBLIC_KEY_BYTES + SIGNATURE_BYTES);
    const dns = new Uint8Array(view.subarray(HEADER_BYTES));
    return SignedPacket.fromParts(keyBytes, signature, timestamp, dns, lastSeen);
  }

  /** Parses a relay payload (`sig ‖ ts ‖ dns`, 72..1072 bytes) for the key from the URL. */
  static fromRelayPayload(publicKey: PublicKey, payload: Uint8Array, lastSeen: bigint = nowMicros()): SignedPacket {
    const bytes = new Uint8Array(PUBLIC_KEY_BYTES + payload.length);
    bytes.set(publicKey.bytes, 0);
    bytes.set(payload, PUBLIC_KEY_BYTES);
    return SignedPacket.fromBytes(bytes, lastSeen);
  }

  /** Verifies and builds a packet from its parts (e.g. a BEP44 item: k, sig, seq, v). */
  static fromParts(key: Uint8Array, signature: Uint8Array, timestamp: bigint, dns: Uint8Array, lastSeen: bigint = nowMicros()): SignedPacket {
    if (dns.length > MAX_DNS_BYTES) {
      throw new PkarrError('PACKET_TOO_LARGE', `DNS packet is ${dns.length} bytes, ${dns.length - MAX_DNS_BYTES} over the ${MAX_DNS_BYTES}-byte limit`, { size: dns.length, limit: MAX_DNS_BYTES });
    }
    const publicKey = PublicKey.fromBytesUnchecked(key);
    if (signature.length !== SIGNATURE_BYTES || !publicKey.verify(signable(timestamp, dns), signature)) {
      // The reference checks the key before the signature: tell the two failures apart.
      if (!isValidPoint(publicKey.bytes)) {
        throw new PkarrError('INVALID_ED25519_PUBLIC_KEY', `invalid Ed25519 public key ${publicKey.z32}: cannot decompress Edwards point`);
      }
      throw new PkarrError('INVALID_SIGNATURE', `invalid signature for ${publicKey.z32} at timestamp ${timestamp}`);
    }
    const records = decodeDnsPacket(dns);
    return new SignedPacket(publicKey, new Uint8Array(signature), timestamp, new Uint8Array(dns), records, lastSeen);
  }

  /** Canonical bytes `pk ‖ sig ‖ ts ‖ dns`. */
  toBytes(): Uint8Array {
    const out = Buffer.allocUnsafe(HEADER_BYTES + this.dns.length);
    out.set(this.publicKey.bytes, 0);
    out.set(this.signature, PUBLIC_KEY_BYTES);
    out.writeBigUInt64BE(this.timestamp, PUBLIC_KEY_BYTES + SIGNATURE_BYTES);
    out.set(this.dns, HEADER_BYTES);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Relay payload `sig ‖ ts ‖ dns`. */
  toRelayPayload(): Uint8Array {
    return this.toBytes().subarray(PUBLIC_KEY_BYTES);
  }

  /** Total canonical size in bytes. */
  get size(): number {
    return HEADER_BYTES + this.dns.length;
  }

  /** The records at `name` (relative or absolute; `*` wildcards as the reference). */
  resourceRecords(name: string): DnsRecord[] {
    return findRecords([...this.records], name, this.publicKey.z32);
  }

  /** Like resourceRecords, keeping only records whose own TTL exceeds the elapsed time. */
  freshResourceRecords(name: string, now: bigint = nowMicros()): DnsRecord[] {
    const elapsed = this.elapsedSeconds(now);
    return this.resourceRecords(name).filter((record) => record.ttl > elapsed);
  }

  /** Higher timestamp wins; on equal timestamps the lexicographically greater DNS bytes win. */
  moreRecentThan(other: SignedPacket): boolean {
    if (this.timestamp !== other.timestamp) return this.timestamp > other.timestamp;
    return compareBytes(this.dns, other.dns) > 0;
  }

  /** Same canonical bytes. */
  isSameAs(other: SignedPacket): boolean {
    return this.publicKey.equals(other.publicKey) && compareBytes(this.toBytes(), other.toBytes()) === 0;
  }

  /** Smallest record TTL clamped to [min, max] (seconds). */
  ttl(min: number = DEFAULT_MINIMUM_TTL, max: number = DEFAULT_MAXIMUM_TTL): number {
    return packetTtl([...this.records], min, max);
  }

  /** Whole seconds since lastSeen. */
  elapsedSeconds(now: bigint = nowMicros()): number {
    const diff = now - this.lastSeen;
    return diff <= 0n ? 0 : Number(diff / 1_000_000n);
  }

  /** Seconds until this packet expires from a cache (saturating at 0). */
  expiresIn(min: number = DEFAULT_MINIMUM_TTL, max: number = DEFAULT_MAXIMUM_TTL, now: bigint = nowMicros()): number {
    return Math.max(0, this.ttl(min, max) - this.elapsedSeconds(now));
  }

  isExpired(min: number = DEFAULT_MINIMUM_TTL, max: number = DEFAULT_MAXIMUM_TTL, now: bigint = nowMicros()): boolean {
    return this.expiresIn(min, max, now) === 0;
  }

  /** A copy with another lastSeen (packets are shared between caches). */
  withLastSeen(lastSeen: bigint): SignedPacket {
    return new SignedPacket(this.publicKey, this.signature, this.timestamp, this.dns, [...this.records], lastSeen);
  }
}
