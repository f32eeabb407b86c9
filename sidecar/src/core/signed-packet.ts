/**
 * SignedPacket: the pkarr record set, signed by its key (the layout of pubky/pkarr design/base.md).
 *
 * Canonical bytes: `public_key(32) ‖ signature(64) ‖ timestamp_u64_be(8) ‖ dns(≤1000)`.
 * Relay payload:   the same without the leading key.
 * Signed message:  the BEP44 signable `3:seqi<ts>e1:v<len>:<dns>`.
 */
import { PkarrError } from './errors.ts';
import { Keypair, PublicKey } from './keys.ts';
import { isValidPoint } from './ed25519.ts';
import type { DnsRecord } from './records.ts';
import { encodeDnsPacketWith, normalizeRecord } from './dns-encode.ts';
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

/**
 * Allocates `before` spare bytes followed by the BEP44 signable `3:seqi<ts>e1:v<len>:` ‖ dns,
 * with `dns` copied from `source[from, from + length)`; the DNS bytes are the last `length`.
 * One allocation for everything a packet keeps (signature, signable, DNS).
 */
function signableStore(before: number, timestamp: bigint, source: Uint8Array, from: number, length: number): Uint8Array {
  const prefix = `3:seqi${timestamp}e1:v${length}:`;
  const dnsAt = before + prefix.length;
  const store = new Uint8Array(dnsAt + length);
  for (let i = 0; i < prefix.length; i++) store[before + i] = prefix.charCodeAt(i);
  store.set(from === 0 && length === source.length ? source : source.subarray(from, from + length), dnsAt);
  return store;
}

/** The BEP44 signable for a pkarr packet: `3:seqi<ts>e1:v<len>:` followed by the DNS bytes. */
export function signable(timestamp: bigint, dns: Uint8Array): Uint8Array {
  return signableStore(0, timestamp, dns, 0, dns.length);
}

function tooLarge(dnsLength: number): PkarrError {
  return new PkarrError('PACKET_TOO_LARGE', `DNS packet is ${dnsLength} bytes, ${dnsLength - MAX_DNS_BYTES} over the ${MAX_DNS_BYTES}-byte limit`, { size: dnsLength, limit: MAX_DNS_BYTES });
}

function checkSize(size: number): void {
  if (size < HEADER_BYTES) {
    throw new PkarrError('INVALID_SIGNED_PACKET_BYTES_LENGTH', `signed packet is ${size} bytes, expected at least ${HEADER_BYTES}`, { size });
  }
  if (size > MAX_BYTES) {
    throw new PkarrError('PACKET_TOO_LARGE', `signed packet is ${size} bytes, ${size - MAX_BYTES} over the ${MAX_BYTES}-byte limit`, { size, limit: MAX_BYTES });
  }
}

function readU64(bytes: Uint8Array, at: number): bigint {
  const hi = (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>> 0;
  const lo = (((bytes[at + 4] ?? 0) << 24) | ((bytes[at + 5] ?? 0) << 16) | ((bytes[at + 6] ?? 0) << 8) | (bytes[at + 7] ?? 0)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
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

  /**
   * Encodes `records` (names relative to the key, see names.ts) and signs them. `.records` are the
   * records in canonical form (normalizeRecord: exactly what decoding `.dns` gives back).
   */
  static sign(keypair: Keypair, records: readonly DnsRecord[], options: SignOptions = {}): SignedPacket {
    const timestamp = options.timestamp ?? timestamps.next();
    assertTimestamp(timestamp);
    const origin = keypair.publicKey.z32;
    const list = Array.isArray(records) ? records : [...records];
    let dnsLength = 0;
    const message = encodeDnsPacketWith(list, origin, (scratch, length) => {
      if (length > MAX_DNS_BYTES) throw tooLarge(length);
      dnsLength = length;
      return signableStore(0, timestamp, scratch, 0, length);
    });
    const signature = keypair.sign(message);
    const canonical: DnsRecord[] = [];
    for (const record of list) canonical.push(normalizeRecord(record, origin));
    return new SignedPacket(keypair.publicKey, signature, timestamp, message.subarray(message.length - dnsLength), canonical, nowMicros());
  }

  /**
   * Parses and verifies canonical bytes, with the reference's checks in its order:
   * length ≥ 104, length ≤ 1104, valid key, valid signature, parsable DNS.
   */
  static fromBytes(bytes: Uint8Array, lastSeen: bigint = nowMicros()): SignedPacket {
    checkSize(bytes.length);
    const publicKey = PublicKey.fromBytesUnchecked(bytes.subarray(0, PUBLIC_KEY_BYTES));
    const timestamp = readU64(bytes, PUBLIC_KEY_BYTES + SIGNATURE_BYTES);
    return SignedPacket.verified(publicKey, bytes, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, timestamp, bytes, HEADER_BYTES, bytes.length - HEADER_BYTES, lastSeen);
  }

  /** Parses a relay payload (`sig ‖ ts ‖ dns`, 72..1072 bytes) for the key from the URL. */
  static fromRelayPayload(publicKey: PublicKey, payload: Uint8Array, lastSeen: bigint = nowMicros()): SignedPacket {
    checkSize(PUBLIC_KEY_BYTES + payload.length);
    const timestamp = readU64(payload, SIGNATURE_BYTES);
    const dnsAt = SIGNATURE_BYTES + TIMESTAMP_BYTES;
    return SignedPacket.verified(publicKey, payload, 0, SIGNATURE_BYTES, timestamp, payload, dnsAt, payload.length - dnsAt, lastSeen);
  }

  /** Verifies and builds a packet from its parts (e.g. a BEP44 item: k, sig, seq, v). */
  static fromParts(key: Uint8Array, signature: Uint8Array, timestamp: bigint, dns: Uint8Array, lastSeen: bigint = nowMicros()): SignedPacket {
    if (dns.length > MAX_DNS_BYTES) throw tooLarge(dns.length);
    const publicKey = PublicKey.fromBytesUnchecked(key);
    return SignedPacket.verified(publicKey, signature, 0, signature.length, timestamp, dns, 0, dns.length, lastSeen);
  }

  /**
   * Copies the signature (`sigSource[sigAt, +sigLength)`) and DNS (`dnsSource[dnsAt, +dnsLength)`)
   * into one new buffer next to the signable, verifies, decodes. The reference checks the key
   * before the signature, so a failed verification tells an invalid curve point apart.
   */
  private static verified(
    publicKey: PublicKey, sigSource: Uint8Array, sigAt: number, sigLength: number, timestamp: bigint,
    dnsSource: Uint8Array, dnsAt: number, dnsLength: number, lastSeen: bigint,
  ): SignedPacket {
    if (dnsLength > MAX_DNS_BYTES) throw tooLarge(dnsLength);
    const store = signableStore(SIGNATURE_BYTES, timestamp, dnsSource, dnsAt, dnsLength);
    const ok = sigLength === SIGNATURE_BYTES;
    if (ok) store.set(sigSource.subarray(sigAt, sigAt + SIGNATURE_BYTES), 0);
    const signature = store.subarray(0, SIGNATURE_BYTES);
    if (!ok || !publicKey.verify(store.subarray(SIGNATURE_BYTES), signature)) {
      if (!isValidPoint(publicKey.bytes)) {
        throw new PkarrError('INVALID_ED25519_PUBLIC_KEY', `invalid Ed25519 public key ${publicKey.z32}: cannot decompress Edwards point`);
      }
      throw new PkarrError('INVALID_SIGNATURE', `invalid signature for ${publicKey.z32} at timestamp ${timestamp}`);
    }
    const dns = store.subarray(store.length - dnsLength);
    return new SignedPacket(publicKey, signature, timestamp, dns, decodeDnsPacket(dns), lastSeen);
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
