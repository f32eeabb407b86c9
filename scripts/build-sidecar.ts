/**
 * Builds the sidecar as a Node single executable application for each desktop target, offline
 * from a Linux x64 machine (docs/packaging.md):
 *
 *   esbuild bundle (CJS) → sea-config.json → `node --experimental-sea-config` with exactly the
 *   target's Node version → copy the official Node binary of the target (npm: node-<os>-<arch>,
 *   integrity-pinned; ELF: without its symbol table and debug sections) → remove its signature →
 *   postject NODE_SEA_BLOB + fuse → chmod +x
 *
 * into `addons/pkarr/bin/<platform>/pkarr-sidecar[.exe]`. A target whose inputs (bundle, Node
 * binaries, build scripts) did not change since its last build is left as it is.
 *
 *   node scripts/build-sidecar.ts [--target linux-x64|linux-arm64|win-x64|darwin-x64|all]… [--force]
 *   node scripts/build-sidecar.ts --bundle-only FILE    (just the bundle; used on a Mac)
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateBlob } from './sea/blob.ts';
import { bundleSidecar } from './sea/bundle.ts';
import { inspectExecutable, type ExecutableInfo } from './sea/executable-info.ts';
import { injectBlob } from './sea/inject.ts';
import { withLock } from './sea/lock.ts';
import { assertNodeVersion, nodeBinary } from './sea/node-binaries.ts';
import { hostTarget, resolveTargets, SEA_TARGETS, type SeaTarget } from './sea/targets.ts';

/** The repository root (this file is in scripts/). */
export const REPO_ROOT = resolve(import.meta.dirname, '..');

/** Options of {@link buildSidecars}. */
export interface BuildOptions {
  /** Repository root (default {@link REPO_ROOT}). */
  root?: string;
  /** Rebuild even when nothing changed. */
  force?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** One built (or up-to-date) sidecar. */
export interface BuiltSidecar {
  target: SeaTarget;
  path: string;
  bytes: number;
  upToDate: boolean;
  seconds: number;
  /** postject output other than its known harmless warnings. */
  warnings: string[];
  info: ExecutableInfo;
}

/** `addons/pkarr/bin/<platform>/pkarr-sidecar[.exe]` of `target` under `root`. */
export function sidecarPath(target: SeaTarget, root = REPO_ROOT): string {
  return join(root, 'addons', 'pkarr', 'bin', target.platformDir, target.fileName);
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

/** The project version (package.json) baked into the binaries. */
export async function projectVersion(root = REPO_ROOT): Promise<string> {
  const version = (await readJson(join(root, 'package.json')))['version'];
  if (typeof version !== 'string') throw new Error('package.json has no version');
  return version;
}

/** The pinned node@<version> package (an optional dependency): the Node every script here runs on. */
async function devDependencyNode(root: string): Promise<string> {
  const pkg = await readJson(join(root, 'package.json'));
  const pinned = { ...(pkg['devDependencies'] as Record<string, string> | undefined), ...(pkg['optionalDependencies'] as Record<string, string> | undefined) };
  const version = pinned['node'];
  if (version === undefined || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error('package.json must pin the node package to an exact version');
  return version;
}

/** Fails unless `info` is what `target` must be: format, arch, flipped fuse, a valid blob. */
export function checkExecutable(info: ExecutableInfo, target: SeaTarget): void {
  const problems: string[] = [];
  if (info.format !== target.format) problems.push(`format ${info.format}, expected ${target.format}`);
  if (info.arch !== target.arch) problems.push(`arch ${info.arch}, expected ${target.arch}`);
  if (info.fuse !== 'flipped') problems.push(`SEA fuse ${info.fuse}`);
  if (info.blob === null) problems.push('no NODE_SEA_BLOB');
  else if (!info.blob.magicOk) problems.push('NODE_SEA_BLOB without the SEA magic');
  if (problems.length > 0) throw new Error(`${target.name}: ${problems.join('; ')}`);
}

async function hashFiles(paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) hash.update(path).update(await readFile(path));
  return hash.digest('hex');
}

interface Stamp { key: string; size: number; mtimeMs: number }

async function upToDate(stampPath: string, key: string, output: string): Promise<boolean> {
  const stamp = await readFile(stampPath, 'utf8').then((t) => JSON.parse(t) as Stamp, () => null);
  const st = await stat(output).catch(() => null);
  return stamp !== null && st !== null && stamp.key === key && stamp.size === st.size && stamp.mtimeMs === st.mtimeMs;
}

/**
 * Builds the sidecar for each of `targets` (see the file comment). Runs on Linux x64 only, under
 * the node devDependency version (npm scripts put it on PATH). Concurrent calls are safe: each
 * target is built under a lock and written atomically.
 */
export async function buildSidecars(targets: readonly SeaTarget[], options: BuildOptions = {}): Promise<BuiltSidecar[]> {
  const root = options.root ?? REPO_ROOT;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the cross-builds run on Linux x64 (this is ${process.platform}-${process.arch}); on a Mac use scripts/build-darwin-arm64.sh`);
  }
  const devNode = await devDependencyNode(root);
  const version = await projectVersion(root);
  const cacheDir = join(root, '.cache');
  const binCache = join(cacheDir, 'node-bins');
  const seaCache = join(cacheDir, 'sea');
  await mkdir(join(seaCache, 'stamps'), { recursive: true });
  const work = await mkdtemp(join(seaCache, `work-${process.pid}-`));
  const results: BuiltSidecar[] = [];
  try {
    let started = Date.now();
    const bundle = await bundleSidecar(join(root, 'sidecar', 'src', 'sea-entry.ts'), join(work, 'pkarr-sidecar.cjs'), version);
    log(`bundle: ${(bundle.bytes / 1024).toFixed(0)} KB in ${Date.now() - started} ms`);
    const recipe = await hashFiles([bundle.outfile, ...['build-sidecar.ts', 'sea/blob.ts', 'sea/inject.ts', 'sea/elf-strip.ts', 'sea/bundle.ts'].map((f) => join(root, 'scripts', f))]);
    for (const target of targets) {
      started = Date.now();
      const output = sidecarPath(target, root);
      const sameHost = target === hostTarget();
      const key = createHash('sha256').update(JSON.stringify([recipe, target.node, target.generator, sameHost])).digest('hex');
      const stampPath = join(seaCache, 'stamps', `${target.name}.json`);
      const built = await withLock(join(seaCache, `${target.name}.lock`), async () => {
        if (!options.force && (await upToDate(stampPath, key, output))) return { upToDate: true, warnings: [] as string[] };
        // The blob generator: the devDependency Node itself when the versions agree, else the
        // linux-x64 Node of the target's version from npm. Either way exactly the target's version.
        let generator: string;
        if (target.generator.version === devNode) {
          if (process.versions.node !== devNode) {
            throw new Error(`run this through npm (npm run build / build:sidecar) so the node@${devNode} devDependency writes the blob; this is Node ${process.version}`);
          }
          generator = process.execPath;
        } else {
          generator = await nodeBinary(target.generator, binCache, log);
        }
        assertNodeVersion(generator, target.node.version);
        const node = await nodeBinary(target.node, binCache, log);
        const targetWork = join(work, target.name);
        await mkdir(targetWork, { recursive: true });
        const blob = await generateBlob(generator, targetWork, bundle.outfile, sameHost);
        await mkdir(join(output, '..'), { recursive: true });
        // Godot must not import the binaries (nor pack them in tests): the export plugin copies them.
        await writeFile(join(output, '..', '..', '.gdignore'), '');
        const tmp = `${output}.tmp-${process.pid}`;
        try {
          const warnings = await injectBlob(node, blob, tmp, target.format);
          checkExecutable(inspectExecutable(await readFile(tmp)), target);
          await rename(tmp, output);
          const st = await stat(output);
          await writeFile(stampPath, JSON.stringify({ key, size: st.size, mtimeMs: st.mtimeMs } satisfies Stamp));
          return { upToDate: false, warnings };
        } finally {
          await rm(tmp, { force: true });
        }
      });
      const bytes = await readFile(output);
      const info = inspectExecutable(bytes);
      checkExecutable(info, target);
      const seconds = (Date.now() - started) / 1000;
      results.push({ target, path: output, bytes: bytes.length, upToDate: built.upToDate, seconds, warnings: built.warnings, info });
      const what = built.upToDate ? 'up to date' : `built in ${seconds.toFixed(1)} s`;
      log(`${target.name}: ${output} (${(bytes.length / 1e6).toFixed(1)} MB, Node ${target.node.version}, ${info.format} ${info.arch}${info.signed ? ', signed' : ', unsigned'}) ${what}`);
      for (const warning of built.warnings) log(`${target.name}: postject: ${warning}`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return results;
}

const USAGE = `usage: node scripts/build-sidecar.ts [--target NAME]… [--force]
       node scripts/build-sidecar.ts --bundle-only FILE
  --target NAME   ${SEA_TARGETS.map((t) => t.name).join(', ')} or all (repeatable; default: this machine's)
  --force         rebuild even when nothing changed
  --bundle-only   write only the esbuild bundle to FILE (any OS; scripts/build-darwin-arm64.sh uses it)`;

async function cli(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { target: { type: 'string', multiple: true }, force: { type: 'boolean' }, 'bundle-only': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values['bundle-only'] !== undefined) {
    const out = resolve(values['bundle-only']);
    const bundle = await bundleSidecar(join(REPO_ROOT, 'sidecar', 'src', 'sea-entry.ts'), out, await projectVersion());
    process.stderr.write(`bundle: ${out} (${(bundle.bytes / 1024).toFixed(0)} KB)\n`);
    return 0;
  }
  const host = hostTarget();
  const names = values.target ?? (host ? [host.name] : []);
  if (names.length === 0) {
    process.stderr.write(`no target for this machine (${process.platform}-${process.arch}); pass --target\n${USAGE}\n`);
    return 2;
  }
  let targets: SeaTarget[];
  try {
    targets = [...new Set(names.flatMap((n) => n.split(',')).flatMap((n) => resolveTargets(n.trim())))];
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  await buildSidecars(targets, { force: values.force === true });
  return 0;
}

if (import.meta.main) {
  cli(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      process.stderr.write(`build-sidecar: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
