/**
 * Start-up of the linux-x64 single executable to its `serve` ready line, for the ways it can be
 * built, against the baseline of what shipped before (the official Node binary with its symbols,
 * blob with code cache). All variants are built here from the same bundle, then started in turns
 * (interleaved, so load from other processes hits each the same), `serve --no-dht --no-relays`,
 * and stopped through stdin EOF. Wall time (spawn → ready line) and CPU time of all threads
 * (/proc schedstat) are medians. The last variant is an experiment, not what ships: a V8 start-up
 * snapshot of the loaded bundle (`useSnapshot`; the entry hands `runProcess` to
 * `v8.startupSnapshot.setDeserializeMainFunction`).
 *
 *   npm run bench -- sidecar-start          (PKARR_BENCH_ROUNDS=N, default 15)
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, projectVersion } from '../scripts/build-sidecar.ts';
import { generateBlob } from '../scripts/sea/blob.ts';
import { bundleSidecar } from '../scripts/sea/bundle.ts';
import { injectBlob } from '../scripts/sea/inject.ts';
import { nodeBinary } from '../scripts/sea/node-binaries.ts';
import { cpuMs, LINUX_X64, median, spawnUntilLine, stop } from '../test/sea-support.ts';
import { fmt } from './measure.ts';

interface Variant {
  name: string;
  strip: boolean;
  codeCache: boolean;
  snapshot?: boolean;
  path: string;
  bytes: number;
  wallMs: number[];
  cpuMs: number[];
}

async function buildVariants(work: string): Promise<Variant[]> {
  if (process.versions.node !== LINUX_X64.node.version) throw new Error(`run through npm (Node ${LINUX_X64.node.version}); this is ${process.version}`);
  const bundle = await bundleSidecar(join(REPO_ROOT, 'sidecar', 'src', 'sea-entry.ts'), join(work, 'sidecar.cjs'), await projectVersion());
  const node = await nodeBinary(LINUX_X64.node, join(REPO_ROOT, '.cache', 'node-bins'));
  const specs = [
    { name: 'before: unstripped, code cache', strip: false, codeCache: true },
    { name: 'now: stripped, code cache', strip: true, codeCache: true },
    { name: 'stripped, no code cache', strip: true, codeCache: false },
    { name: 'stripped, V8 startup snapshot', strip: true, codeCache: false, snapshot: true },
  ];
  const variants: Variant[] = [];
  for (const [i, spec] of specs.entries()) {
    const dir = join(work, `v${i}`);
    await mkdir(dir, { recursive: true });
    const blob = spec.snapshot === true ? await snapshotBlob(dir) : await generateBlob(process.execPath, dir, bundle.outfile, spec.codeCache);
    const path = join(dir, 'pkarr-sidecar');
    await injectBlob(node, blob, path, 'elf', { strip: spec.strip });
    variants.push({ ...spec, path, bytes: (await stat(path)).size, wallMs: [], cpuMs: [] });
  }
  return variants;
}

/** A blob whose V8 snapshot holds the loaded sidecar bundle (only valid on this platform). */
async function snapshotBlob(dir: string): Promise<string> {
  const entry = join(dir, 'snapshot-entry.ts');
  const main = join(REPO_ROOT, 'sidecar', 'src', 'cli', 'main.ts');
  await writeFile(entry, `import { startupSnapshot } from 'node:v8';\nimport { runProcess } from ${JSON.stringify(main)};\nstartupSnapshot.setDeserializeMainFunction(() => runProcess());\n`);
  const bundle = await bundleSidecar(entry, join(dir, 'snapshot.cjs'), await projectVersion());
  const config = join(dir, 'sea-config.json');
  const output = join(dir, 'sea-prep.blob');
  await writeFile(config, JSON.stringify({ main: bundle.outfile, output, disableExperimentalSEAWarning: true, useSnapshot: true }));
  const result = spawnSync(process.execPath, ['--experimental-sea-config', config], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' } });
  if (result.status !== 0) throw new Error(`snapshot blob failed: ${result.stderr}`);
  return output;
}

async function startOnce(variant: Variant, dataDir: string): Promise<void> {
  const spawned = await spawnUntilLine(variant.path, ['serve', '--no-dht', '--no-relays', '--data-dir', dataDir], 30_000);
  try {
    const ready = JSON.parse(spawned.firstLine) as { event?: string };
    if (ready.event !== 'ready') throw new Error(`${variant.name}: first line was ${spawned.firstLine}`);
    variant.wallMs.push(spawned.firstLineMs);
    variant.cpuMs.push(await cpuMs(spawned.child.pid!));
  } finally {
    await stop(spawned);
  }
}

export async function run(): Promise<void> {
  const rounds = Number(process.env['PKARR_BENCH_ROUNDS'] ?? 15);
  const work = await mkdtemp(join(REPO_ROOT, '.cache', 'sea', 'bench-'));
  try {
    const variants = await buildVariants(work);
    const dataDir = join(work, 'data');
    for (const v of variants) await startOnce(v, dataDir); // warm the page cache; not counted
    for (const v of variants) { v.wallMs.length = 0; v.cpuMs.length = 0; }
    for (let r = 0; r < rounds; r++) for (const v of variants) await startOnce(v, dataDir);
    const base = variants[0]!;
    const baseWall = median(base.wallMs);
    const baseCpu = median(base.cpuMs);
    console.log(`linux-x64 SEA start-up to the ready line, median of ${rounds} interleaved starts each`);
    console.log('variant                              size MB   wall ms  (ratio)   CPU ms  (ratio)');
    for (const v of variants) {
      const wall = median(v.wallMs);
      const cpu = median(v.cpuMs);
      console.log(`${v.name.padEnd(36)} ${fmt(v.bytes / 1e6, 1).padStart(7)} ${fmt(wall, 1).padStart(9)}  (${fmt(wall / baseWall, 2)}) ${fmt(cpu, 1).padStart(8)}  (${fmt(cpu / baseCpu, 2)})`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
