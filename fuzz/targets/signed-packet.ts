/**
 * Target `signed-packet`: parse + verify of mutated signed packets through all three entry points:
 * `SignedPacket.fromBytes` (canonical bytes), `fromRelayPayload` (key from the URL + payload) and
 * `fromParts` (BEP44 k/sig/seq/v). Mutations hit the lengths, key, signature, timestamp and DNS;
 * most fail at the length or signature check (the DNS behind a valid signature is the
 * `signed-dns` target's job).
 */
import type { PublicKey } from '../../sidecar/src/core/keys.ts';
import { SignedPacket } from '../../sidecar/src/core/signed-packet.ts';
import { mapDnsFields } from '../dns-fields.ts';
import { canonicalSeeds, KEYS, packetSeeds } from '../corpus.ts';
import { ACCEPTED, FindingError, hexPreview, preview, type FuzzTarget, type Generated } from '../harness.ts';
import { mutateBytes, type ByteSeed } from '../mutators.ts';
import type { Rng } from '../prng.ts';
import { checkAcceptedPacket, sameBytes } from './checks.ts';

export type SignedInput =
  | { entry: 'bytes'; bytes: Uint8Array }
  | { entry: 'relay'; key: PublicKey; payload: Uint8Array }
  | { entry: 'parts'; key: Uint8Array; signature: Uint8Array; timestamp: bigint; dns: Uint8Array };

export const SIGNED_PACKET_CODES = new Set([
  'INVALID_SIGNED_PACKET_BYTES_LENGTH', 'PACKET_TOO_LARGE', 'INVALID_SIGNATURE', 'INVALID_ED25519_PUBLIC_KEY',
  'INVALID_PUBLIC_KEY_LENGTH', 'DNS_ERROR',
]);

const EDGE_TIMESTAMPS = [0n, 1n, -1n, (1n << 53n) + 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n, 1n << 64n, -(1n << 70n)];

/** Runs a parsed packet through the oracles shared with signed-dns. */
export function executeSigned(input: SignedInput): void {
  let packet: SignedPacket;
  switch (input.entry) {
    case 'bytes':
      packet = SignedPacket.fromBytes(input.bytes);
      if (!sameBytes(packet.toBytes(), input.bytes)) throw new FindingError('fromBytes(b).toBytes() differs from b');
      break;
    case 'relay':
      packet = SignedPacket.fromRelayPayload(input.key, input.payload);
      if (!sameBytes(packet.toRelayPayload(), input.payload)) throw new FindingError('fromRelayPayload(p).toRelayPayload() differs from p');
      break;
    case 'parts':
      packet = SignedPacket.fromParts(input.key, input.signature, input.timestamp, input.dns);
      if (!sameBytes(packet.dns, input.dns) || packet.timestamp !== input.timestamp) throw new FindingError('fromParts did not keep its parts');
      break;
  }
  checkAcceptedPacket(packet);
}

export function showSigned(input: SignedInput): string {
  switch (input.entry) {
    case 'bytes': return `fromBytes ${hexPreview(input.bytes)}`;
    case 'relay': return `fromRelayPayload ${input.key.z32} ${hexPreview(input.payload)}`;
    case 'parts': return preview(`fromParts k=${Buffer.from(input.key).toString('hex')} sig=${Buffer.from(input.signature).toString('hex')} ts=${input.timestamp} ${hexPreview(input.dns)}`);
  }
}

function mutatePart(rng: Rng, part: Uint8Array, length: number): Uint8Array {
  return mutateBytes(rng, { bytes: part }, [{ bytes: part }], length + 8).value;
}

export function signedPacketTarget(): FuzzTarget<SignedInput> {
  let canonical: ByteSeed[] = [];
  let payloads: (ByteSeed & { key: PublicKey })[] = [];
  let dnsSeeds: ByteSeed[] = [];
  return {
    name: 'signed-packet',
    about: 'SignedPacket.fromBytes / fromRelayPayload / fromParts on mutated signed seeds (lengths, key, signature, timestamp, DNS), random bytes',
    allowedCodes: SIGNED_PACKET_CODES,
    async setup() {
      canonical = canonicalSeeds();
      payloads = packetSeeds().map(({ packet }) => {
        const bytes = packet.toRelayPayload();
        return { bytes, fields: mapDnsFields(bytes, 72), key: packet.publicKey };
      });
      dnsSeeds = canonical.map((s) => ({ bytes: s.bytes.subarray(104), fields: mapDnsFields(s.bytes.subarray(104)) }));
    },
    generate(rng): Generated<SignedInput> {
      const entry = rng.weighted([['bytes', 5], ['relay', 3], ['parts', 2]] as const);
      if (entry === 'bytes') {
        const m = mutateBytes(rng, rng.pick(canonical), canonical, 1300);
        return { value: { entry, bytes: m.value }, mutation: `bytes:${m.mutation}` };
      }
      if (entry === 'relay') {
        const seed = rng.pick(payloads);
        const key = rng.chance(0.1) ? rng.pick(KEYS).publicKey : seed.key;
        const m = mutateBytes(rng, seed, payloads, 1200);
        return { value: { entry, key, payload: m.value }, mutation: `relay:${m.mutation}${key === seed.key ? '' : '+other-key'}` };
      }
      const index = rng.int(canonical.length);
      const bytes = canonical[index]!.bytes;
      let key = bytes.subarray(0, 32);
      let signature = bytes.subarray(32, 96);
      let timestamp = Buffer.from(bytes).readBigUInt64BE(96);
      let dns = bytes.subarray(104);
      const changed: string[] = [];
      while (changed.length === 0) {
        if (rng.chance(0.25)) { key = mutatePart(rng, key, 32); changed.push('key'); }
        if (rng.chance(0.25)) { signature = mutatePart(rng, signature, 64); changed.push('sig'); }
        if (rng.chance(0.25)) { timestamp = rng.chance(0.5) ? rng.pick(EDGE_TIMESTAMPS) : timestamp + BigInt(rng.range(-3, 3)); changed.push('ts'); }
        if (rng.chance(0.4)) {
          const m = mutateBytes(rng, dnsSeeds[index]!, dnsSeeds, 1100);
          dns = m.value;
          changed.push(`dns:${m.mutation}`);
        }
      }
      return { value: { entry, key, signature, timestamp, dns }, mutation: `parts:${changed.join(',')}` };
    },
    execute(input) {
      executeSigned(input);
      return ACCEPTED;
    },
    show: showSigned,
  };
}
