/**
 * Turns a plain Node binary into the sidecar: copy (ELF: without its static symbol table and
 * debug sections, elf-strip.ts) → remove the signature → postject the blob (flipping the SEA
 * fuse) → chmod +x. Stripping comes before the injection: stripping an injected binary breaks
 * it (postject's note segment). Mach-O binaries are not stripped: they cannot be run here to
 * check the result. Signatures:
 * - PE: the OpenJS Authenticode signature would be left corrupt by the injection (Node's SEA
 *   docs), so it is removed first with `osslsigncode remove-signature` (Debian package
 *   `osslsigncode`); the result is unsigned.
 * - Mach-O: postject drops LC_CODE_SIGNATURE itself; ad-hoc re-signing (`codesign --sign -`)
 *   needs macOS, so the macOS binaries built here are unsigned.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stripElf } from './elf-strip.ts';
import { SEA_FUSE, SEA_RESOURCE } from './executable-info.ts';
import type { ExecutableFormat } from './targets.ts';

/** Printed by postject on every ELF injection; harmless (the binary runs: sea-smoke test). */
const HARMLESS = [/Can't find string offset for section name/, /Start injection of/, /Injection done/];

function postjectCli(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
}

/** Removes the Authenticode signature of `input` into `output` with osslsigncode. */
export function removePeSignature(input: string, output: string): void {
  const result = spawnSync('osslsigncode', ['remove-signature', '-in', input, '-out', output], { encoding: 'utf8', timeout: 120_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('osslsigncode is not installed; it removes the Windows signature before injection: apt-get install osslsigncode');
  }
  if (result.status !== 0) throw new Error(`osslsigncode remove-signature failed: ${(result.stdout + result.stderr).trim()}`);
}

/** Runs postject on `file` (in a child process: its wasm module installs global handlers). */
function postject(file: string, blob: string, format: ExecutableFormat): Promise<string[]> {
  const args = [postjectCli(), file, SEA_RESOURCE, blob, '--sentinel-fuse', SEA_FUSE];
  if (format === 'macho') args.push('--macho-segment-name', 'NODE_SEA');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex -- postject colours its output
      const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter((l) => l !== '');
      if (code !== 0) reject(new Error(`postject failed (exit ${code ?? signal}): ${lines.join(' | ')}`));
      else resolve(lines.filter((l) => !HARMLESS.some((re) => re.test(l))));
    });
  });
}

/**
 * Writes the single executable `output` from the Node binary `node` and the blob `blob`.
 * Resolves with postject's remaining warnings. `output` is overwritten. `strip: false` keeps an
 * ELF binary's symbols (only the start-up benchmark wants that, as its baseline).
 */
export async function injectBlob(node: string, blob: string, output: string, format: ExecutableFormat, options: { strip?: boolean } = {}): Promise<string[]> {
  await rm(output, { force: true });
  if (format === 'pe') removePeSignature(node, output);
  else if (format === 'elf' && options.strip !== false) await writeFile(output, stripElf(await readFile(node)).bytes);
  else await copyFile(node, output);
  await chmod(output, 0o755);
  const warnings = await postject(output, blob, format);
  await chmod(output, 0o755);
  return warnings;
}
