/**
 * The packed sidecar (scripts/sea/compress.ts) and its unpacking by the addon
 * (addons/pkarr/connection/pkarr_sidecar_package.gd, PkarrSidecarLocator's `addon_packed` candidate):
 * - in Node: pack → manifest → unpack round trip of the real linux-x64 executable, refusals,
 *   the cache;
 * - in the real Godot 4.6 web engine (test/godot/projects/addon/tests/sidecar_package_test.gd):
 *   Godot's zstd + SHA-256 on the same packed executable, install into user:// and the locator
 *   unpacking it. (Running the unpacked sidecar needs a desktop engine: the web one cannot start
 *   processes.)
 * The test compresses at zstd level 3 (≈ 2 s) instead of the release zip's 19 (≈ 1 min): same
 * format, same decoder.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestText, packedSidecarCached, packSidecar, unpackSidecar, type PackedSidecar } from '../scripts/sea/compress.ts';
import { ensureGodotWeb } from './godot/harness/engine-cache.ts';
import { closeBrowser, getBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import { ADDON_DIR, ADDON_PROJECT, WITHOUT_ADDON_BIN } from './godot/projects/addon/host/serve-child.ts';
import { ensureHostSidecar } from './sea-support.ts';

const LEVEL = 3;
const SUITE = 'res://tests/sidecar_package_test.gd';
const EXPECTED_TESTS = [
  'sidecar_package: test_the_manifest_is_read_and_checked',
  'sidecar_package: test_a_real_packed_sidecar_unpacks_to_the_built_executable',
  'sidecar_package: test_a_hash_or_size_that_does_not_match_is_refused',
  'sidecar_package: test_install_unpacks_once_and_reuses_it',
  'sidecar_package: test_find_sidecar_unpacks_the_packed_addon_binary',
];

let work: string;
let binary: Buffer;
let binaryPath: string;
let packed: PackedSidecar;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'pkarr-sea-unpack-'));
  // A copy: a parallel rebuild must not change the executable under the test.
  binaryPath = (await ensureHostSidecar()).path;
  binary = await readFile(binaryPath);
  packed = await packSidecar(binary, 'pkarr-sidecar', LEVEL);
  await Promise.all([ensureGodotWeb(), getBrowser()]);
}, 300_000);

afterAll(async () => {
  await closeBrowser();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('packed sidecar (Node side)', () => {
  it('the manifest describes the executable and the .zst, and unpacking gives it back byte for byte', () => {
    const sha = createHash('sha256').update(binary).digest('hex');
    expect(packed.manifest).toEqual({
      format: 1,
      file: 'pkarr-sidecar',
      compression: 'zstd',
      size: binary.length,
      sha256: sha,
      packed_size: packed.packed.length,
      packed_sha256: createHash('sha256').update(packed.packed).digest('hex'),
      zstd_level: LEVEL,
    });
    // A zstd frame with the content-checksum flag set.
    expect(packed.packed.readUInt32LE(0)).toBe(0xfd2fb528);
    expect(packed.packed[4]! & 0x04).toBe(0x04);
    expect(packed.packed.length).toBeLessThan(binary.length / 2.5);
    expect(unpackSidecar(packed.packed, packed.manifest).equals(binary)).toBe(true);
    expect(JSON.parse(manifestText(packed.manifest))).toEqual(packed.manifest);
  });

  it('refuses a wrong size, a wrong hash and a tampered .zst', () => {
    expect(() => unpackSidecar(packed.packed.subarray(1), packed.manifest)).toThrow(/packed sidecar has/);
    expect(() => unpackSidecar(packed.packed, { ...packed.manifest, size: binary.length + 1 })).toThrow(/unpacked to/);
    expect(() => unpackSidecar(packed.packed, { ...packed.manifest, sha256: '0'.repeat(64) })).toThrow(/unpacked SHA-256/);
    const tampered = Buffer.from(packed.packed);
    tampered[tampered.length >> 1]! ^= 1;
    expect(() => unpackSidecar(tampered, packed.manifest)).toThrow(/packed sidecar's SHA-256/);
    // Even without the packed hash, zstd's own content checksum catches it.
    expect(() => unpackSidecar(tampered, { ...packed.manifest, packed_sha256: createHash('sha256').update(tampered).digest('hex') })).toThrow();
  });

  it('rejects levels outside 1..22', async () => {
    await expect(packSidecar(Buffer.from('x'), 'pkarr-sidecar', 0)).rejects.toThrow(/1\.\.22/);
    await expect(packSidecar(Buffer.from('x'), 'pkarr-sidecar', 23)).rejects.toThrow(/1\.\.22/);
  });

  it('the cache returns the same pair and is keyed by content and level', async () => {
    const cacheDir = join(work, 'cache');
    const small = join(work, 'small');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(small, binary.subarray(0, 2_000_000));
    const first = await packedSidecarCached(small, 'pkarr-sidecar', cacheDir, LEVEL);
    const second = await packedSidecarCached(small, 'pkarr-sidecar', cacheDir, LEVEL);
    expect([first.cached, second.cached]).toEqual([false, true]);
    expect(second.packed.equals(first.packed)).toBe(true);
    expect(second.manifest).toEqual(first.manifest);
    expect((await packedSidecarCached(small, 'pkarr-sidecar', cacheDir, LEVEL + 1)).cached).toBe(false);
    await writeFile(small, binary.subarray(0, 1_000_000));
    const changed = await packedSidecarCached(small, 'pkarr-sidecar', cacheDir, LEVEL);
    expect(changed.cached).toBe(false);
    expect(changed.manifest.size).toBe(1_000_000);
  }, 60_000);
});

describe('packed sidecar in the Godot 4.6 web engine', () => {
  it('unpacks with Godot zstd, checks SHA-256, installs into user:// and the locator finds it', async () => {
    const result = await runGodotTests({
      name: 'sidecar-package',
      project: ADDON_PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      include: WITHOUT_ADDON_BIN,
      files: {
        'res://addons/pkarr/bin/linux-x64/pkarr-sidecar.zst': packed.packed,
        'res://addons/pkarr/bin/linux-x64/pkarr-sidecar.json': manifestText(packed.manifest),
      },
      suites: [SUITE],
      ...(process.env['PKARR_UNPACK_FILTER'] ? { filter: process.env['PKARR_UNPACK_FILTER'] } : {}),
      config: { size: binary.length, sha256: createHash('sha256').update(binary).digest('hex') },
      testTimeoutSec: 90,
      timeoutMs: 240_000,
    });
    for (const line of result.lines) if (line.text.startsWith('# figure:') || process.env['PKARR_UNPACK_FILTER']) console.log(line.text);
    expect(result.ok, formatGodotTestReport(result)).toBe(true);
    expect(result.tests.map((t) => t.name)).toEqual(EXPECTED_TESTS);
    expect([result.passed, result.failed, result.skipped]).toEqual([EXPECTED_TESTS.length, 0, 0]);
  }, 300_000);
});
