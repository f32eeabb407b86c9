/** Target `dns`: decodeDnsPacket on mutated DNS messages and random bytes. */
import { decodeDnsPacket } from '../../sidecar/src/core/dns-decode.ts';
import { dnsSeeds } from '../corpus.ts';
import { ACCEPTED, hexPreview, type FuzzTarget } from '../harness.ts';
import { mutateBytes, type ByteSeed } from '../mutators.ts';
import { checkRecords } from './checks.ts';

export function dnsTarget(): FuzzTarget<Uint8Array> {
  let corpus: ByteSeed[] = [];
  return {
    name: 'dns',
    about: 'decodeDnsPacket(bytes): mutated DNS of the signed seeds and of dns-packet messages (all sections, MX/SOA/OPT/CAA…), random bytes',
    allowedCodes: new Set(['DNS_ERROR']), // dns-decode.ts: "Throws only PkarrError('DNS_ERROR')"
    async setup() {
      corpus = dnsSeeds();
    },
    generate(rng) {
      return mutateBytes(rng, rng.pick(corpus), corpus, 1400);
    },
    execute(bytes) {
      checkRecords(decodeDnsPacket(bytes));
      return ACCEPTED;
    },
    show: hexPreview,
  };
}
