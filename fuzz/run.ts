/**
 * `npm run fuzz -- [options]`: the fuzz suite (method and figures in docs/hardening.md).
 *
 *   --target NAME|all   one of the targets (fuzz/targets/index.ts) or all of them (default all)
 *   --count N           inputs per target (default 1,000,000)
 *   --seed N            run seed (default 42); input i of a run is generated from (seed, i) alone
 *   --start N           first input index (default 0)
 *   --index N           reproduce one input: print it, run it in this thread, print the outcome
 *   --slow-ms MS        per-input bound to flag (default 50)
 *   --hang-ms MS        watchdog: an input running this long is a hang (default 30,000)
 *   --jobs N            split each target's index range over N worker threads (default 1)
 *   --json FILE         also write the full report as JSON
 *
 * Each target runs in a worker thread; the main thread watches the index it publishes in shared
 * memory. A worker stuck on one input (a synchronous hang) is terminated, the input is reported
 * and skipped, and a new worker continues from the last snapshot; a worker that dies (crash) is
 * handled the same way. Exit code 1 when any target has findings, 2 for bad arguments.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { cryptoBackend } from '../sidecar/src/core/ed25519.ts';
import { addFinding, mergeStats, runInProcess, type Finding, type TargetStats } from './harness.ts';
import { rngFor } from './prng.ts';
import { loadTarget, TARGET_NAMES } from './targets/index.ts';
import type { WorkerMessage, WorkerRequest } from './worker.ts';

interface Options { targets: string[]; count: number; seed: number; start: number; index: number | null; slowMs: number; hangMs: number; jobs: number; json: string | null }

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      target: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' }, start: { type: 'string' }, index: { type: 'string' },
      'slow-ms': { type: 'string' }, 'hang-ms': { type: 'string' }, jobs: { type: 'string' }, json: { type: 'string' },
    },
  });
  const target = values.target ?? 'all';
  if (target !== 'all' && !TARGET_NAMES.includes(target)) throw new Error(`unknown --target ${JSON.stringify(target)} (all, ${TARGET_NAMES.join(', ')})`);
  return {
    targets: target === 'all' ? [...TARGET_NAMES] : [target],
    count: integer('count', values.count, 1_000_000),
    seed: integer('seed', values.seed, 42),
    start: integer('start', values.start, 0),
    index: values.index === undefined ? null : integer('index', values.index, 0),
    slowMs: integer('slow-ms', values['slow-ms'], 50),
    hangMs: integer('hang-ms', values['hang-ms'], 30_000),
    jobs: Math.max(1, integer('jobs', values.jobs, 1)),
    json: values.json ?? null,
  };
}

type Ended = { kind: 'done'; stats: TargetStats } | { kind: 'hang' | 'crash'; index: number; error: string; last: TargetStats | null };

/** One worker run from `resume` (or the start); resolves when it finishes, hangs or dies. */
function runWorker(name: string, o: Options, skip: number[], resume: TargetStats | null, extra: Finding[]): Promise<Ended> {
  const progress = new SharedArrayBuffer(4);
  const index = new Int32Array(progress);
  Atomics.store(index, 0, -1);
  const request: WorkerRequest = { target: name, seed: o.seed, start: o.start, count: o.count, slowMs: o.slowMs, skip, progress, resume };
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: request });
  return new Promise<Ended>((resolve) => {
    let last = resume;
    let seen = -1;
    let since = Date.now();
    let printed = Date.now();
    let settled = false;
    const finish = (ended: Ended): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      resolve(ended);
    };
    const watchdog = setInterval(() => {
      const i = Atomics.load(index, 0);
      if (i !== seen) {
        seen = i;
        since = Date.now();
      } else if (i >= 0 && Date.now() - since > o.hangMs) {
        void worker.terminate();
        finish({ kind: 'hang', index: i, error: `input still running after ${o.hangMs} ms (worker terminated)`, last });
      }
    }, 250);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'fatal') {
        process.stderr.write(`fuzz: target ${name} failed to set up: ${m.error}\n`);
        process.exit(3);
      }
      if (m.type === 'uncaught') {
        const i = Atomics.load(index, 0);
        extra.push({ index: i, kind: 'crash', mutation: '?', error: `uncaught in worker near input ${i}: ${m.error}`, input: '' });
        return;
      }
      last = m.stats;
      if (m.type === 'done') return finish({ kind: 'done', stats: m.stats });
      if (Date.now() - printed >= 10_000) {
        printed = Date.now();
        const done = m.stats.next - o.start; // of this worker's range
        const rate = m.stats.inputs / (m.stats.elapsedMs / 1000);
        process.stderr.write(`  [${name}] ${done}/${o.count} inputs, ${rate.toFixed(0)}/s, findings ${m.stats.findingCount}\n`);
      }
    });
    worker.on('error', (err) => finish({ kind: 'crash', index: Atomics.load(index, 0), error: `${err.name}: ${err.message}`, last }));
    worker.on('exit', (code) => finish({ kind: 'crash', index: Atomics.load(index, 0), error: `worker exited with code ${code}`, last }));
  });
}

/** Runs one target to the end in workers, restarting after hangs and crashes. */
async function runTargetInWorkers(name: string, o: Options): Promise<TargetStats> {
  const skip: number[] = [];
  const extra: Finding[] = [];
  let resume: TargetStats | null = null;
  for (let attempt = 0; attempt < 100; attempt++) {
    const ended = await runWorker(name, o, skip, resume, extra);
    if (ended.kind === 'done') {
      for (const f of extra) addFinding(ended.stats, f);
      return ended.stats;
    }
    extra.push({
      index: ended.index, kind: ended.kind, mutation: '?', error: ended.error,
      input: `reproduce: npm run fuzz -- --target ${name} --seed ${o.seed} --index ${ended.index}`,
    });
    skip.push(ended.index);
    resume = ended.last;
    process.stderr.write(`  [${name}] ${ended.kind} at input ${ended.index}: ${ended.error}; continuing in a new worker\n`);
  }
  throw new Error(`${name}: gave up after 100 worker restarts`);
}

/** `--index`: one input, in this thread, with the full error. */
async function reproduce(name: string, o: Options, index: number): Promise<void> {
  const target = await loadTarget(name);
  await target.setup?.();
  const input = target.generate(rngFor(o.seed, index), index);
  process.stdout.write(`${name} seed ${o.seed} index ${index}\nmutation: ${input.mutation}\ninput: ${target.show(input.value)}\n`);
  const stats = await runInProcess({ ...target, setup: undefined }, { seed: o.seed, start: index, count: 1, slowMs: o.slowMs });
  process.stdout.write(`${JSON.stringify({ accepted: stats.accepted, rejected: stats.rejected, findings: stats.findings, ms: stats.slowest?.ms }, null, 2)}\n`);
}

function topCodes(rejected: Record<string, number>): string {
  return Object.entries(rejected).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
}

/** The summary table (Markdown, as pasted into docs/hardening.md). */
function summaryTable(all: TargetStats[]): string {
  const rows = all.map((s) => {
    const rate = s.inputs / (s.elapsedMs / 1000);
    const slow = s.slowest === null ? '–' : `${s.slowest.ms.toFixed(2)} ms (#${s.slowest.index})`;
    const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
    return `| ${s.target} | ${s.inputs} | ${s.accepted} | ${rejected} | ${s.findingCount} | ${slow} | ${s.slowConfirmed} / ${s.slowTransient} | ${s.maxRawMs.toFixed(1)} ms | ${rate.toFixed(0)}/s | ${(s.elapsedMs / 1000).toFixed(1)} s |`;
  });
  return [
    '| target | inputs | accepted | rejected | findings | slowest (re-measured) | >bound confirmed / transient | max single run | rate | time |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fuzz: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (o.index !== null) {
    for (const name of o.targets) await reproduce(name, o, o.index);
    return;
  }
  process.stderr.write(`fuzz: seed ${o.seed}, ${o.count} inputs per target from index ${o.start}, ${o.jobs} job(s), node ${process.version}, ed25519 ${cryptoBackend}\n`);
  const all: TargetStats[] = [];
  for (const name of o.targets) {
    process.stderr.write(`[${name}] starting\n`);
    const size = Math.ceil(o.count / o.jobs);
    const ranges = Array.from({ length: o.jobs }, (_, j) => ({ start: o.start + j * size, count: Math.max(0, Math.min(size, o.count - j * size)) })).filter((r) => r.count > 0);
    const stats = mergeStats(await Promise.all(ranges.map((r) => runTargetInWorkers(name, { ...o, ...r }))));
    all.push(stats);
    process.stderr.write(`[${name}] ${stats.inputs} inputs in ${(stats.elapsedMs / 1000).toFixed(1)} s: accepted ${stats.accepted}, findings ${stats.findingCount}\n`);
  }
  process.stdout.write(`\n${summaryTable(all)}\n\n`);
  for (const s of all) {
    process.stdout.write(`## ${s.target}\n${s.about}\nrejected by code: ${topCodes(s.rejected) || '–'}\n`);
    if (s.slowest) process.stdout.write(`slowest: ${s.slowest.ms.toFixed(2)} ms, input #${s.slowest.index} (${s.slowest.mutation}): ${s.slowest.input}\n`);
    for (const f of s.findings) process.stdout.write(`FINDING #${f.index} [${f.kind}] (${f.mutation}) ${f.error}\n    input: ${f.input}\n`);
    if (s.findingCount > s.findings.length) process.stdout.write(`  … and ${s.findingCount - s.findings.length} more findings\n`);
    process.stdout.write('\n');
  }
  if (o.json !== null) {
    writeFileSync(o.json, `${JSON.stringify({ seed: o.seed, count: o.count, start: o.start, jobs: o.jobs, node: process.version, ed25519: cryptoBackend, targets: all }, null, 2)}\n`);
  }
  if (all.some((s) => s.findingCount > 0)) process.exitCode = 1;
}

await main();
