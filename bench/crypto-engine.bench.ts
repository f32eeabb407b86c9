/**
 * Ed25519 in the Godot 4.6 web engine (headless Chromium): verifies and signs per second with
 * the pure-GDScript path (addons/pkarr/crypto/pkarr_ed25519.gd, inline: the web build is
 * single-threaded) against the browser's WebCrypto through PkarrSignatures, one call awaited
 * after the other and 64 calls in flight. The pure path is the baseline of the ratios. Each figure
 * is the best 250 ms window of a 3 s run (means are printed too: other jobs share the cores). Also the
 * time of one short-code scrypt in the browser (PkarrScrypt).
 * Goal: a pure-GDScript verify < 100 ms. Run: `npm run bench -- crypto`.
 * The GDScript side is test/godot/projects/crypto/bench/crypto_bench.gd.
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../test/godot/harness/engine-cache.ts';
import { closeBrowser } from '../test/godot/harness/run-engine.ts';
import { ADDON_DIR } from '../test/godot/projects/addon/host/serve-child.ts';
import { runBenchScene } from './engine-bench.ts';
import { fmt } from './measure.ts';

const PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'crypto');

interface Timing {
  ops: number;
  usec: number;
  /** The best 250 ms window (or batch): the cost when this shared machine left the core alone. */
  best_usec_per_op: number;
}

export async function run(): Promise<void> {
  try {
    const r = await runBenchScene({
      project: PROJECT,
      scene: 'res://bench/crypto_bench.tscn',
      mounts: { 'res://addons/pkarr/crypto': join(ADDON_DIR, 'crypto') },
      include: (res) => !res.startsWith('res://tests/'),
      doneMarker: '# crypto-bench done',
      timeoutMs: 180_000,
    });
    const t = (key: string): Timing => r[key] as Timing;
    const perSec = (x: Timing): number => 1e6 / x.best_usec_per_op;
    const msPer = (x: Timing): number => x.best_usec_per_op / 1000;
    const meanMs = (x: Timing): number => x.usec / 1000 / x.ops;
    const pureVerify = perSec(t('pure_verify'));
    const pureSign = perSec(t('pure_sign'));
    console.log(`backend detected: ${String(r['backend'])}`);
    console.log('best window (mean over the whole run in brackets; the machine is shared):');
    console.log('operation                         ops/s      ms/op   (mean ms/op)   vs pure GDScript');
    const row = (label: string, key: string, baseline: number): void => {
      const x = t(key);
      const mean = `(${fmt(meanMs(x), 2)})`.padStart(12);
      console.log(`${label.padEnd(32)} ${fmt(perSec(x), 1).padStart(7)} ${fmt(msPer(x), 2).padStart(10)}   ${mean}   ${fmt(perSec(x) / baseline, 1)}x`);
    };
    row('verify, pure GDScript', 'pure_verify', pureVerify);
    row('verify, WebCrypto, sequential', 'webcrypto_verify_seq', pureVerify);
    row('verify, WebCrypto, 64 in flight', 'webcrypto_verify_batch', pureVerify);
    row('sign, pure GDScript', 'pure_sign', pureSign);
    row('sign, WebCrypto, sequential', 'webcrypto_sign_seq', pureSign);
    row('sign, WebCrypto, 64 in flight', 'webcrypto_sign_batch', pureSign);
    row('public key, pure GDScript', 'pure_public_key', pureSign);
    console.log(`SHA-512 of 990 bytes, pure GDScript: ${fmt(msPer(t('pure_sha512_1k')), 2)} ms`);
    console.log(`short-code scrypt (N=2^14, r=8, p=1; WebCrypto PBKDF2 + JS ROMix): ${fmt(msPer(t('scrypt_short_code')), 1)} ms`);
    const verifyMs = msPer(t('pure_verify'));
    console.log(`goal pure-GDScript verify < 100 ms: ${fmt(verifyMs, 1)} ms -> ${verifyMs < 100 ? 'met' : 'NOT met'}`);
  } finally {
    await closeBrowser();
  }
}
