/**
 * Target `signed-dns`: the DNS path BEHIND the signature check. Each input is a mutated DNS
 * message that is then validly signed with the seed's test key (BEP44 signable, fixed timestamp),
 * and handed to `fromParts`, `fromBytes` or `fromRelayPayload`, so verification passes and the
 * decoder, the record model and every consumer of accepted packets (checks.ts) see the damage.
 */
import { PUBLIC_KEY_BYTES, signable } from '../../sidecar/src/core/signed-packet.ts';
import { mapDnsFields } from '../dns-fields.ts';
import { packetSeeds, type PacketSeed } from '../corpus.ts';
import { ACCEPTED, type FuzzTarget, type Generated } from '../harness.ts';
import { mutateBytes, type ByteSeed } from '../mutators.ts';
import { executeSigned, showSigned, SIGNED_PACKET_CODES, type SignedInput } from './signed-packet.ts';

export function signedDnsTarget(): FuzzTarget<SignedInput> {
  let seeds: PacketSeed[] = [];
  let dns: ByteSeed[] = [];
  return {
    name: 'signed-dns',
    about: 'mutated DNS re-signed with the test key, then fromParts / fromBytes / fromRelayPayload (signature valid: reaches the decoder and the consumers of accepted packets)',
    allowedCodes: SIGNED_PACKET_CODES,
    async setup() {
      seeds = packetSeeds();
      dns = seeds.map(({ packet }) => ({ bytes: packet.dns, fields: mapDnsFields(packet.dns) }));
    },
    generate(rng): Generated<SignedInput> {
      const index = rng.int(seeds.length);
      const { keypair, packet } = seeds[index]!;
      const m = mutateBytes(rng, dns[index]!, dns, 1100);
      const timestamp = packet.timestamp;
      const signature = keypair.sign(signable(timestamp, m.value));
      const entry = rng.weighted([['parts', 2], ['bytes', 1], ['relay', 1]] as const);
      if (entry === 'parts') return { value: { entry, key: keypair.publicKey.bytes, signature, timestamp, dns: m.value }, mutation: m.mutation };
      const bytes = Buffer.alloc(104 + m.value.length);
      bytes.set(keypair.publicKey.bytes, 0);
      bytes.set(signature, 32);
      bytes.writeBigUInt64BE(timestamp, 96);
      bytes.set(m.value, 104);
      const canonical = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      return entry === 'bytes'
        ? { value: { entry, bytes: canonical }, mutation: m.mutation }
        : { value: { entry, key: keypair.publicKey, payload: canonical.subarray(PUBLIC_KEY_BYTES) }, mutation: m.mutation };
    },
    execute(input) {
      executeSigned(input);
      return ACCEPTED;
    },
    show: showSigned,
  };
}
