/**
 * `npm run package:addon`: the zip holds `addons/pkarr/…` and nothing else, laid out as Godot's
 * asset installer expects (one folder under `addons/`, with its own LICENSE and README), with the
 * packed sidecar (`pkarr-sidecar.zst` + manifest, unpacked by the addon on first use) or, with
 * `raw`, the executable. Packs a copy of the addon and of the linux-x64 sidecar (built in
 * beforeAll) in a temporary root, without building, so a parallel rebuild of the real binary cannot
 * change it under the test; the other platforms are therefore reported missing. zstd level 3 keeps
 * it fast (the release uses 19).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { packageAddon, type PackageResult } from '../scripts/package-addon.ts';
import { unpackSidecar, type SidecarManifest } from '../scripts/sea/compress.ts';
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
let checkout: string;
let result: PackageResult;
let zip: Buffer;
let rawResult: PackageResult;
let rawZip: Buffer;
let logged = '';
let version: string;

beforeAll(async () => {
  const built = await ensureHostSidecar();
  root = await mkdtemp(join(tmpdir(), 'pkarr-package-'));
  checkout = join(root, 'checkout');
  await cp('addons/pkarr', join(checkout, 'addons/pkarr'), { recursive: true, filter: (src) => !src.includes('addons/pkarr/bin') });
  await mkdir(join(checkout, 'addons/pkarr/bin/linux-x64'), { recursive: true });
  await copyFile(built.path, join(checkout, 'addons/pkarr/bin/linux-x64/pkarr-sidecar'));
  await copyFile('package.json', join(checkout, 'package.json'));
  version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
  result = await packageAddon({ root: checkout, build: false, out: join(root, 'addon.zip'), level: 1, zstdLevel: 3, log: (line) => { logged += `${line}\n`; } });
  zip = await readFile(result.path);
  rawResult = await packageAddon({ root: checkout, build: false, raw: true, platforms: ['linux-x64'], level: 1, log: () => undefined });
  rawZip = await readFile(rawResult.path);
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
    for (const required of ['plugin.cfg', 'plugin.gd', 'LICENSE', 'README.md', 'icon.png', 'icon.svg', 'connection/pkarr_sidecar_locator.gd']) {
      expect(paths).toContain(`addons/pkarr/${required}`);
    }
    // Nothing to warn about but the platforms without a sidecar.
    expect(result.warnings.filter((w) => !w.startsWith('no sidecar for'))).toEqual([]);
  });

  it('carries every file of the addon folder (hidden ones aside)', async () => {
    const onDisk = (await readdir(join(checkout, 'addons/pkarr'), { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => relative(checkout, join(d.parentPath, d.name)).split(sep).join('/'))
      .filter((p) => !p.split('/').some((segment) => segment.startsWith('.') && segment !== '.gdignore'));
    const { entries, comment } = listZip(zip);
    // The executable is there packed (.zst + manifest), and bin/ is hidden from the editor.
    const packedLayout = onDisk
      .flatMap((p) => (p === 'addons/pkarr/bin/linux-x64/pkarr-sidecar' ? [`${p}.zst`, 'addons/pkarr/bin/linux-x64/pkarr-sidecar.json'] : [p]))
      .concat('addons/pkarr/bin/.gdignore');
    expect(entries.map((e) => e.path).sort()).toEqual(packedLayout.sort());
    expect(comment).toBe(`pkarr-godot addon ${version}`);
  });

  it('stores each file byte for byte (CRC and content of plugin.cfg)', async () => {
    const { entries } = listZip(zip);
    const cfg = entries.find((e) => e.path === 'addons/pkarr/plugin.cfg')!;
    const data = entryData(zip, cfg);
    expect(data.equals(await readFile(join(checkout, 'addons/pkarr/plugin.cfg')))).toBe(true);
    expect(crc32(data) >>> 0).toBe(cfg.crc);
    expect(data.toString()).toContain(`version="${version}"`);
  });

  it('carries the linux-x64 sidecar packed: a stored .zst and a manifest that unpack to the executable', async () => {
    const { entries } = listZip(zip);
    const zst = entries.find((e) => e.path === 'addons/pkarr/bin/linux-x64/pkarr-sidecar.zst')!;
    const json = entries.find((e) => e.path === 'addons/pkarr/bin/linux-x64/pkarr-sidecar.json')!;
    expect(zst.method).toBe(0); // zstd output is stored, not deflated again
    const manifest = JSON.parse(entryData(zip, json).toString('utf8')) as SidecarManifest;
    const onDisk = await readFile(join(checkout, 'addons/pkarr/bin/linux-x64/pkarr-sidecar'));
    expect([manifest.file, manifest.size, manifest.zstd_level, manifest.packed_size]).toEqual(['pkarr-sidecar', onDisk.length, 3, zst.size]);
    expect(unpackSidecar(entryData(zip, zst), manifest).equals(onDisk)).toBe(true);
    for (const e of entries.filter((x) => x.path.startsWith('addons/pkarr/bin/'))) {
      expect(e.path).toMatch(/^addons\/pkarr\/bin\/(\.gdignore|(linux-x64|linux-arm64|windows-x64|macos-x64|macos-arm64)\/pkarr-sidecar\.(zst|json))$/);
    }
    expect(result.sizes).toEqual([{ platform: 'linux-x64', executable: onDisk.length, packed: zst.size }]);
    expect(zip.length).toBeLessThan(onDisk.length / 2.5);
  });

  it('with raw and one platform: the executable itself (mode 0755) in a per-platform zip', async () => {
    expect(rawResult.path).toBe(join(checkout, 'build', `pkarr-godot-addon-${version}-linux-x64.zip`));
    const { entries } = listZip(rawZip);
    const sidecar = entries.find((e) => e.path === 'addons/pkarr/bin/linux-x64/pkarr-sidecar')!;
    expect(sidecar.mode).toBe(0o755);
    const onDisk = await readFile(join(checkout, 'addons/pkarr/bin/linux-x64/pkarr-sidecar'));
    expect(sidecar.size).toBe(onDisk.length);
    expect(sidecar.crc).toBe(crc32(onDisk) >>> 0);
    expect(entries.filter((e) => e.path.startsWith('addons/pkarr/bin/')).map((e) => e.path)).toEqual(['addons/pkarr/bin/.gdignore', 'addons/pkarr/bin/linux-x64/pkarr-sidecar']);
    // Only the platform asked for: nothing is missing.
    expect([rawResult.platforms, rawResult.missing]).toEqual([['linux-x64'], []]);
    await expect(packageAddon({ root: checkout, build: false, platforms: ['linux-x86'], log: () => undefined })).rejects.toThrow(/unknown platform "linux-x86"/);
  });

  it('names every platform without a sidecar loudly, with how to get it', () => {
    expect(result.platforms).toEqual(['linux-x64']);
    expect(result.missing.map((m) => m.platform)).toEqual(['linux-arm64', 'windows-x64', 'macos-x64', 'macos-arm64']);
    expect(logged).toContain('THE ADDON ZIP HAS NO SIDECAR FOR 4 PLATFORM(S)');
    expect(logged).toContain('windows-x64: not built: npm run build:sidecar -- --target win-x64');
    expect(logged).toContain('macos-arm64: Apple Silicon needs a signed binary: build it on a Mac with scripts/build-darwin-arm64.sh');
  });

  const unzip = '/usr/bin/unzip'; // installed by npm test's preparation (scripts/prepare-test.mjs)
  it('extracts with unzip into a packed sidecar that unpacks and runs', async () => {
    const dest = join(root, 'x');
    const extracted = spawnSync(unzip, ['-q', result.path, 'addons/pkarr/bin/linux-x64/*', 'addons/pkarr/plugin.cfg', '-d', dest], { encoding: 'utf8', timeout: 120_000 });
    expect(extracted.status, extracted.stderr).toBe(0);
    // What the addon does on first use: check, unpack, make executable, run.
    const bin = join(dest, 'addons/pkarr/bin/linux-x64');
    const manifest = JSON.parse(await readFile(join(bin, 'pkarr-sidecar.json'), 'utf8')) as SidecarManifest;
    const exe = join(bin, 'pkarr-sidecar');
    await writeFile(exe, unpackSidecar(await readFile(join(bin, 'pkarr-sidecar.zst')), manifest), { mode: 0o755 });
    const run = spawnSync(exe, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stdout).toBe(`${version}\n`);
  }, 150_000);
});
