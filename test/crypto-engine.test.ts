/**
 * addons/pkarr/crypto in the real Godot 4.6 web engine (headless Chromium): PkarrSha512 against
 * FIPS 180-2 vectors, PkarrEd25519 (pure GDScript) and the WebCrypto path of PkarrSignatures
 * against the RFC 8032 §7.1 vectors and the pkarr spec's test vectors (vectors/pkarr.json of the
 * crypto project; test/signed-packet.test.ts checks the same on the sidecar), tampering and
 * strictness on both paths; PkarrScrypt against RFC 7914 and the sidecar's short-code fingerprints.
 * The GDScript suites live in test/godot/projects/crypto/tests. While working on them:
 * PKARR_CRYPTO_FILTER=<"suite: test" substring> runs only matching tests (the count check is then
 * left out), PKARR_CRYPTO_SHOW=1 prints the engine's lines with their times.
 */
import { createPrivateKey, createPublicKey, randomBytes, randomInt, sign } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { shortCodeFingerprint } from '../sidecar/src/lobby/short-code.ts';
import { REPO_ROOT } from './godot/harness/engine-cache.ts';
import { closeBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';

const PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'crypto');
const CRYPTO = join(REPO_ROOT, 'addons', 'pkarr', 'crypto');

afterAll(closeBrowser);

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Random keys and messages signed by Node's Ed25519, for the suite node_crosscheck_test.gd. */
function nodeCases(count: number): { seed: string; public_key: string; message: string; signature: string }[] {
  return Array.from({ length: count }, () => {
    const seed = randomBytes(32);
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    const message = randomBytes(randomInt(0, 400));
    return {
      seed: seed.toString('hex'),
      public_key: createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12).toString('hex'),
      message: message.toString('hex'),
      signature: sign(null, message, key).toString('hex'),
    };
  });
}

describe('addons/pkarr/crypto in the web engine', () => {
  it('passes every crypto suite', async () => {
    const filter = process.env.PKARR_CRYPTO_FILTER;
    const shortCodes = await Promise.all(
      [Keypair.fromSeed(new Uint8Array(32)), Keypair.generate(), Keypair.generate()].map(async (k) => ({
        public_key: Buffer.from(k.publicKey.bytes).toString('hex'),
        fingerprint: Buffer.from(await shortCodeFingerprint(k.publicKey)).toString('hex'),
      })),
    );
    const r = await runGodotTests({
      config: { short_codes: shortCodes, node_cases: nodeCases(40) },
      project: PROJECT,
      // Only the crypto folder: it depends on nothing else of the addon.
      mounts: { 'res://addons/pkarr/crypto': CRYPTO },
      testTimeoutSec: 60,
      ...(filter ? { filter } : {}),
      timeoutMs: 240_000,
    });
    if (process.env.PKARR_CRYPTO_SHOW) console.log(r.lines.map((l) => `${l.ms} ${l.text}`).join('\n'));
    expect(r.ok, formatGodotTestReport(r)).toBe(true);
    if (!filter) expect(r.passed).toBe(36);
  }, 300_000);
});
