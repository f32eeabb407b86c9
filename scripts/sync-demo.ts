/**
 * Copies the addon (addons/pkarr) into the demo project (demo_project/addons/pkarr), replacing
 * what was there, so the demo always runs the addon of this checkout. demo_project/addons/ is
 * git-ignored: run this after cloning and after every change to the addon.
 *
 * Of the sidecar executables in addons/pkarr/bin/ (when they were built) only this machine's
 * platform folder is copied; `--no-bin` copies none (in a checkout the addon then runs
 * `node sidecar/src/cli/main.ts`).
 *
 * Usage: `npm run demo:sync [-- --no-bin]`
 */
import { cp, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(REPO_ROOT, 'addons', 'pkarr');
const TARGET = join(REPO_ROOT, 'demo_project', 'addons', 'pkarr');

/** This machine's folder under bin/, named as PkarrSidecarLocator.platform_dir() names it. */
function platformDir(): string {
  const os = { linux: 'linux', win32: 'windows', darwin: 'macos' }[process.platform as string] ?? process.platform;
  return `${os}-${process.arch}`;
}

async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    count += entry.isDirectory() ? await countFiles(join(dir, entry.name)) : 1;
  }
  return count;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'no-bin': { type: 'boolean', default: false } } });
  if (!(await stat(join(SOURCE, 'plugin.cfg')).catch(() => null))) {
    throw new Error(`${SOURCE} is not the addon (no plugin.cfg)`);
  }
  const bin = join(SOURCE, 'bin');
  const keep = values['no-bin'] ? null : join(bin, platformDir());
  const copied = (path: string): boolean => {
    if (path === bin) return keep !== null;
    if (!path.startsWith(bin + sep)) return true;
    return keep !== null && (path === keep || path.startsWith(keep + sep));
  };
  await rm(TARGET, { recursive: true, force: true });
  await cp(SOURCE, TARGET, { recursive: true, filter: copied });
  console.log(`copied ${await countFiles(TARGET)} files: ${relative(REPO_ROOT, SOURCE)} -> ${relative(REPO_ROOT, TARGET)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
