/**
 * `npm run package:addon`: the zip holds `addons/pkarr/…` and nothing else, laid out as Godot's
 * asset installer expects (godot.md §2.2), with the sidecar(s) executable. Packs without building
 * the cross targets (those present are included); linux-x64 is built in beforeAll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { packageAddon, type PackageResult } from '../scripts/package-addon.ts';
import { ensureHostSidecar } from './sea-support.ts';

interface CentralEntry { path: string; method: number; crc: number; compressedSize: number; size: number; mode: number; localOffset: number }

/** Lists a zip's central directory (independent of scripts/zip.ts). */
function listZip(zip: Buffer): { entries: CentralEntry[]; comment: string } {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd).toBeGreaterThan(-1);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: CentralEntry[] = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      path: zip.subarray(at + 46, at + 46 + nameLength).toString('utf8'),
      method: zip.readUInt16LE(at + 10),
      crc: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      mode: (zip.readUInt32LE(at + 38) >>> 16) & 0o777,
      localOffset: zip.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return { entries, comment: zip.subarray(eocd + 22, eocd + 22 + zip.readUInt16LE(eocd + 20)).toString('utf8') };
}

/** The uncompressed bytes of one entry. */
function entryData(zip: Buffer, entry: CentralEntry): Buffer {
  const local = entry.localOffset;
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const stored = zip.subarray(start, start + entry.compressedSize);
  return entry.method === 8 ? inflateRawSync(stored) : Buffer.from(stored);
}

let root: string;
let result: PackageResult;
let zip: Buffer;
let logged = '';
let version: string;

beforeAll(async () => {
  await ensureHostSidecar();
  root = await mkdtemp(join(tmpdir(), 'pkarr-package-'));
  version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
  result = await packageAddon({ build: false, out: join(root, 'addon.zip'), level: 1, log: (line) => { logged += `${line}\n`; } });
  zip = await readFile(result.path);
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('addon zip', () => {
  it('holds only addons/pkarr/… files, each once, with plugin.cfg, the scripts, LICENSE and README', () => {
    const { entries, comment } = listZip(zip);
    const paths = entries.map((e) => e.path);
    expect(paths).toEqual(result.entries);
    expect(new Set(paths).size).toBe(paths.length);
    for (const path of paths) {
      expect(path.startsWith('addons/pkarr/'), path).toBe(true);
      expect(path.split('/').some((segment) => segment.startsWith('.') && segment !== '.gdignore'), path).toBe(false);
    }
    for (const required of ['plugin.cfg', 'plugin.gd', 'LICENSE', 'README.md', 'pkarr_sidecar_locator.gd']) {
      expect(paths).toContain(`addons/pkarr/${required}`);
    }
    expect(comment).toBe(`pkarr-godot addon ${version}`);
  });

  it('stores each file byte for byte (CRC and content of plugin.cfg)', async () => {
    const { entries } = listZip(zip);
    const cfg = entries.find((e) => e.path === 'addons/pkarr/plugin.cfg')!;
    const data = entryData(zip, cfg);
    expect(data.equals(await readFile('addons/pkarr/plugin.cfg'))).toBe(true);
    expect(crc32(data) >>> 0).toBe(cfg.crc);
    expect(data.toString()).toContain(`version="${version}"`);
  });

  it('carries the linux-x64 sidecar as an executable (mode 0755) and only known platform binaries', async () => {
    const { entries } = listZip(zip);
    const sidecar = entries.find((e) => e.path === 'addons/pkarr/bin/linux-x64/pkarr-sidecar')!;
    expect(sidecar).toBeDefined();
    expect(sidecar.mode).toBe(0o755);
    const onDisk = await readFile('addons/pkarr/bin/linux-x64/pkarr-sidecar');
    expect(sidecar.size).toBe(onDisk.length);
    expect(sidecar.crc).toBe(crc32(onDisk) >>> 0);
    for (const e of entries.filter((x) => x.path.startsWith('addons/pkarr/bin/'))) {
      expect(e.path).toMatch(/^addons\/pkarr\/bin\/(linux-x64|linux-arm64|windows-x64|macos-x64|macos-arm64)\/pkarr-sidecar(\.exe)?$/);
      expect(e.mode).toBe(0o755);
    }
    expect(result.platforms).toContain('linux-x64');
  });

  it('names every platform without a sidecar loudly (macos-arm64 cannot be built here)', () => {
    const missing = result.missing.map((m) => m.platform);
    expect([...missing, ...result.platforms].sort()).toEqual(['linux-arm64', 'linux-x64', 'macos-arm64', 'macos-x64', 'windows-x64']);
    if (missing.length > 0) {
      expect(logged).toContain(`THE ADDON ZIP HAS NO SIDECAR FOR ${missing.length} PLATFORM(S)`);
      for (const platform of missing) expect(logged).toContain(`${platform}: `);
    }
    if (missing.includes('macos-arm64')) expect(logged).toContain('scripts/build-darwin-arm64.sh');
  });

  const unzip = '/usr/bin/unzip';
  it.skipIf(!existsSync(unzip))(existsSync(unzip) ? 'extracts with unzip into a working, executable sidecar' : 'unzip round trip: SKIPPED (no /usr/bin/unzip)', async () => {
    const dest = join(root, 'x');
    const extracted = spawnSync(unzip, ['-q', result.path, 'addons/pkarr/bin/linux-x64/*', 'addons/pkarr/plugin.cfg', '-d', dest], { encoding: 'utf8', timeout: 120_000 });
    expect(extracted.status, extracted.stderr).toBe(0);
    const run = spawnSync(join(dest, 'addons/pkarr/bin/linux-x64/pkarr-sidecar'), ['--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stdout).toBe(`${version}\n`);
  }, 150_000);
});
