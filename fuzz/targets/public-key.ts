/**
 * Target `public-key`: PublicKey.parse on mutated key texts (z32, `pk:`, URL forms: core/keys.ts) and
 * on random 52-character z32 strings (about half are not curve points). Oracle for accepted keys:
 * the canonical forms parse back to the same key.
 */
import { PublicKey } from '../../sidecar/src/core/keys.ts';
import { z32Encode } from '../../sidecar/src/core/z32.ts';
import { publicKeySeeds } from '../corpus.ts';
import { ACCEPTED, FindingError, preview, type FuzzTarget } from '../harness.ts';
import { mutateText } from '../mutators.ts';

const Z32_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function publicKeyTarget(): FuzzTarget<string> {
  let corpus: string[] = [];
  return {
    name: 'public-key',
    about: 'PublicKey.parse(text) on mutated z32 / pk: / URL key texts and random 52-character z32 strings; accepted keys must round-trip',
    allowedCodes: new Set(['INVALID_PUBLIC_KEY_ENCODING', 'INVALID_PUBLIC_KEY_LENGTH', 'INVALID_ED25519_PUBLIC_KEY']),
    async setup() {
      corpus = publicKeySeeds();
    },
    generate(rng) {
      if (rng.chance(0.2)) {
        let text = '';
        for (let i = 0; i < 52; i++) text += Z32_ALPHABET[rng.int(32)];
        return { value: rng.chance(0.3) ? `pk:${text}` : text, mutation: 'random-z32' };
      }
      return mutateText(rng, rng.pick(corpus), corpus, 300);
    },
    execute(text) {
      const key = PublicKey.parse(text);
      if (key.z32.length !== 52 || z32Encode(key.bytes) !== key.z32) throw new FindingError(`accepted key has a non-canonical z32 ${key.z32}`);
      if (!PublicKey.parse(key.z32).equals(key) || !PublicKey.parse(key.toUri()).equals(key)) throw new FindingError('canonical forms do not parse back to the key');
      return ACCEPTED;
    },
    show: (text) => preview(JSON.stringify(text)),
  };
}
