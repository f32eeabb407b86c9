import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { z32Decode, z32Encode } from '../sidecar/src/core/z32.ts';
import { Keypair, PublicKey, extractKeyText } from '../sidecar/src/core/keys.ts';
import { cryptoBackend, createSigner, verifySignature } from '../sidecar/src/core/ed25519.ts';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { codeOf } from './error-helpers.ts';

const YG4G = 'yg4gxe7z1r7mr6orids9fh95y7gxhdsxjqi6nngsxxtakqaxr5no';
const YG4G_HEX = '01b467a3b7913ab27a04a8edf2f3fb074cfe0ecf4babe108d67be3853b0f26c5';
const ZERO_SEED_HEX = '3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29';
const ZERO_SEED_Z32 = '8pinxxgqs41n4aididenw5apqp1urfmzdztr8jt4abrkdn435ewo';

describe('z-base-32', () => {
  it('encodes and decodes vector A', () => {
    expect(z32Encode(Buffer.from(YG4G_HEX, 'hex'))).toBe(YG4G);
    expect(Buffer.from(z32Decode(YG4G)).toString('hex')).toBe(YG4G_HEX);
  });

  it('decodes o4dk… as the spec says', () => {
    expect(Buffer.from(z32Decode('o4dksfbqk85ogzdb5osziw6befigbuxmuxkuxq8434q89uj56uyy')).toString('hex'))
      .toBe('8686ab142e51f7035c61dc2d7ad3c1416a60cdeb9bd537b8face9c7fcd3bf4c0');
  });

  it('round-trips random buffers of every length 0..40', () => {
    for (let len = 0; len <= 40; len++) {
      for (let i = 0; i < 50; i++) {
        const bytes = randomBytes(len);
        const text = z32Encode(bytes);
        expect(text.length).toBe(Math.ceil((len * 8) / 5));
        expect(Buffer.from(z32Decode(text)).equals(bytes)).toBe(true);
      }
    }
  });

  it('rejects uppercase and characters outside the alphabet', () => {
    expect(codeOf(() => z32Decode(YG4G.toUpperCase()))).toBe('INVALID_ZBASE32');
    for (const bad of ['l', '0', 'v', '2', ' ', 'é']) {
      expect(codeOf(() => z32Decode(`${YG4G.slice(0, 10)}${bad}${YG4G.slice(11)}`))).toBe('INVALID_ZBASE32');
    }
  });
});

describe('PublicKey', () => {
  it('parses every accepted form of the reference tests to the same key', () => {
    const forms = [
      YG4G,
      `pk:${YG4G}`,
      `https://${YG4G}///foo/bar`,
      `https://${YG4G}?foo=bar`,
      `https://${YG4G}#foo`,
      `https://foo.bar.${YG4G}#foo`,
      `https://foo.${YG4G}.`,
      `https://foo@${YG4G}#foo`,
      `https://${YG4G}:8888`,
      `https://foo@bar.${YG4G}.:8888?q=v&a=b#foo`,
      `https://o4dksfbqk85ogzdb5osziw6befigbuxmuxkuxq8434q89uj56uyy.${YG4G}`,
    ];
    for (const form of forms) {
      const key = PublicKey.parse(form);
      expect(Buffer.from(key.bytes).toString('hex'), form).toBe(YG4G_HEX);
      expect(key.z32).toBe(YG4G);
    }
    expect(PublicKey.parse(YG4G).toUri()).toBe(`pk:${YG4G}`);
  });

  it('only narrows text longer than 52 characters', () => {
    expect(extractKeyText(YG4G)).toBe(YG4G);
    expect(extractKeyText(`pk:${YG4G}`)).toBe(YG4G);
    expect(extractKeyText('pk:short')).toBe('pk:short');
  });

  it('gives distinct errors for encoding, length and curve point', () => {
    expect(codeOf(() => PublicKey.parse(`${YG4G.slice(0, 51)}L`))).toBe('INVALID_PUBLIC_KEY_ENCODING');
    expect(codeOf(() => PublicKey.parse(YG4G.slice(0, 51)))).toBe('INVALID_PUBLIC_KEY_LENGTH');
    expect(codeOf(() => PublicKey.parse(`${YG4G}yy`))).toBe('INVALID_PUBLIC_KEY_LENGTH');
    expect(codeOf(() => PublicKey.parse(''))).toBe('INVALID_PUBLIC_KEY_LENGTH');
    // Vector B: decodes to 32 bytes that are not a curve point.
    expect(codeOf(() => PublicKey.parse('c1bkg8tfsyy8wcedtmw4fwhdmm7bbzhgg3z58tf43m5ow8w9mbus'))).toBe('INVALID_ED25519_PUBLIC_KEY');
    expect(codeOf(() => PublicKey.fromBytes(new Uint8Array(31)))).toBe('INVALID_PUBLIC_KEY_LENGTH');
    expect(PublicKey.tryParse('nope')).toBeNull();
  });

  it('computes DHT targets of the spec', () => {
    expect(Buffer.from(PublicKey.parse(ZERO_SEED_Z32).dhtTarget()).toString('hex')).toBe('8c30c97e7fd5460ce3b962db4cd75879eecd8abd');
    expect(Buffer.from(PublicKey.parse(YG4G).dhtTarget()).toString('hex')).toBe('c979c3c978da23d3f96ab37e514b966b6e42116b');
  });
});

describe('Keypair', () => {
  it('derives vector C from the zero seed', () => {
    const kp = Keypair.fromSeed(new Uint8Array(32));
    expect(Buffer.from(kp.publicKey.bytes).toString('hex')).toBe(ZERO_SEED_HEX);
    expect(kp.publicKey.z32).toBe(ZERO_SEED_Z32);
  });

  it('round-trips the key-file form and trims whitespace', () => {
    const kp = Keypair.generate();
    const hex = kp.toSecretKeyHex();
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(Keypair.fromSecretKeyHex(`  ${hex}\n`).publicKey.z32).toBe(kp.publicKey.z32);
    expect(codeOf(() => Keypair.fromSecretKeyHex(hex.slice(1)))).toBe('INVALID_SECRET_KEY');
    expect(codeOf(() => Keypair.fromSecretKeyHex(`${hex.slice(1)}g`))).toBe('INVALID_SECRET_KEY');
    expect(codeOf(() => Keypair.fromSeed(new Uint8Array(31)))).toBe('INVALID_SECRET_KEY');
  });

  it('never serialises the secret', () => {
    const kp = Keypair.generate();
    expect(JSON.stringify({ kp })).not.toContain(kp.toSecretKeyHex());
  });

  it('verifies BEP44 vector E', () => {
    const pk = Buffer.from('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548', 'hex');
    const sig = Buffer.from('305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01', 'hex');
    const msg = Buffer.from('3:seqi1e1:v12:Hello World!');
    expect(verifySignature(pk, msg, sig)).toBe(true);
    expect(verifySignature(pk, Buffer.from('3:seqi2e1:v12:Hello World!'), sig)).toBe(false);
    expect(PublicKey.fromBytes(pk).z32).toBe('q99ajrn41gjsg36ynpoeycer9r1df9g3y11dkrc8pz4h5h98hiry');
  });

  it(`signs exactly like node:crypto (backend: ${cryptoBackend})`, () => {
    for (let i = 0; i < 20; i++) {
      const seed = randomBytes(32);
      const msg = randomBytes(i * 13);
      const ours = createSigner(seed).sign(msg);
      const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
      const reference = nodeSign(null, msg, createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
      expect(Buffer.from(ours).equals(reference)).toBe(true);
    }
  });
});
