/**
 * The fuzz loop shared by `npm run fuzz` (fuzz/run.ts, one worker thread per target) and the
 * fixed-seed slice in `npm test` (test/fuzz-slice.test.ts, in-process).
 *
 * For each input index i: generate it from `rngFor(seed, i)`, run it through the target, time it,
 * and classify the result:
 * - accepted;
 * - rejected with a typed error: a PkarrError whose code is a known PkarrErrorCode (and, when the
 *   target documents one, in its allowed set), or whatever typed outcome the target reports
 *   itself (an HTTP status, a JSON-RPC error code);
 * - a finding: any other exception (TypeError, RangeError, a non-Pkarr error), a PkarrError with
 *   an unknown or undocumented code, an oracle violation the target detects (FindingError), an
 *   async input that never settles (bounded by `asyncTimeoutMs`), or an input that stays slower
 *   than `slowMs` when re-run (a single slow run that is fast on re-runs is counted as transient:
 *   GC or CPU contention). Synchronous hangs are caught by run.ts's watchdog.
 */
import { PkarrError, type PkarrErrorCode } from '../sidecar/src/core/errors.ts';
import { rngFor, type Rng } from './prng.ts';

/** Every PkarrErrorCode; the type below fails to compile when errors.ts gains a code not listed here. */
const KNOWN_CODE_LIST = [
  'INVALID_ZBASE32', 'INVALID_PUBLIC_KEY_LENGTH', 'INVALID_PUBLIC_KEY_ENCODING', 'INVALID_ED25519_PUBLIC_KEY',
  'INVALID_SECRET_KEY', 'INVALID_SIGNED_PACKET_BYTES_LENGTH', 'PACKET_TOO_LARGE', 'INVALID_SIGNATURE', 'INVALID_TIMESTAMP',
  'DNS_ERROR', 'INVALID_RECORD', 'INVALID_NAME', 'NOT_MOST_RECENT', 'NOT_FOUND', 'NO_DHT_NODES', 'NO_RESPONSES',
  'DHT_ERROR', 'RELAY_ERROR', 'TIMEOUT', 'BAD_REQUEST', 'INVALID_SIGNED_PACKET_SEQ', 'UNREACHABLE_NAT', 'ADDRESS_UNKNOWN',
  'PORT_MAPPING_FAILED', 'INVALID_ARGUMENT', 'IO_ERROR', 'INTERNAL',
] as const satisfies readonly PkarrErrorCode[];
type MissingCodes = Exclude<PkarrErrorCode, (typeof KNOWN_CODE_LIST)[number]>;
const allCodesListed: [MissingCodes] extends [never] ? true : MissingCodes = true;
void allCodesListed;

/** The known PkarrError codes. */
export const KNOWN_CODES: ReadonlySet<string> = new Set(KNOWN_CODE_LIST);

/** What a target reports for an input it handled. */
export type Outcome = { accepted: true } | { accepted: false; code: string };

export const ACCEPTED: Outcome = { accepted: true };

/** Thrown by a target when an oracle (round trip, response shape, leak check…) fails. */
export class FindingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FindingError';
  }
}

/** A generated input and the mutation that made it. */
export interface Generated<I> {
  value: I;
  mutation: string;
}

/** One fuzz target. */
export interface FuzzTarget<I = unknown> {
  readonly name: string;
  /** One line: what goes in, through which entry points. */
  readonly about: string;
  /** PkarrError codes a rejection may carry; any other (known) code is a finding. Default: all known codes. */
  readonly allowedCodes?: ReadonlySet<string>;
  setup?(): Promise<void>;
  generate(rng: Rng, index: number): Generated<I>;
  execute(input: I): Outcome | Promise<Outcome>;
  /**
   * The time bound of one input when it is not the run's `slowMs` (e.g. a JSON-RPC batch is
   * allowed `slowMs` per 16 entries). Default: `slowMs`.
   */
  budgetMs?(input: I, slowMs: number): number;
  /** A bounded preview of an input for reports (hex, JSON…). */
  show(input: I): string;
  teardown?(): Promise<void>;
}

export interface Finding {
  index: number;
  kind: 'exception' | 'unexpected-code' | 'oracle' | 'async-hang' | 'hang' | 'crash' | 'slow' | 'generator';
  mutation: string;
  error: string;
  input: string;
}

export interface SlowInput {
  index: number;
  /** Fastest of the re-runs at the end of the run (the input's own cost, without noise). */
  ms: number;
  /** What the first run measured. */
  rawMs: number;
  mutation: string;
  input: string;
}

/** How many of the slowest first runs are re-measured at the end. */
const TOP_K = 8;
const END_RERUNS = 5;
/** Slow inputs kept for confirmation at the end; beyond this they are findings at once. */
const MAX_SLOW_PENDING = 200;

export interface TargetStats {
  target: string;
  about: string;
  seed: number;
  /** Inputs run so far (excluding skipped hangs). */
  inputs: number;
  /** Next index to run. */
  next: number;
  accepted: number;
  rejected: Record<string, number>;
  findingCount: number;
  /** The first findings in detail (bounded). */
  findings: Finding[];
  /** The slowest input: the TOP_K slowest first runs re-measured END_RERUNS times at the end, the max of their minimums. */
  slowest: SlowInput | null;
  /** Indices and first-run times of the TOP_K slowest first runs. */
  topRaw: { index: number; ms: number }[];
  /** Inputs that stayed over their bound on the immediate re-runs, to confirm at the end (bounded). */
  slowPending: { index: number; detail: string }[];
  /** Inputs over slowMs that stayed slow when re-run (findings) and those that did not. */
  slowConfirmed: number;
  slowTransient: number;
  /** Longest single measurement, transient ones included. */
  maxRawMs: number;
  elapsedMs: number;
}

export interface RunOptions {
  seed: number;
  start: number;
  count: number;
  /** Per-input bound to flag (default 50 ms). */
  slowMs?: number;
  /** Bound of an async input before it is a hang (default 5000 ms). */
  asyncTimeoutMs?: number;
  /** Indices not to run (inputs that hung a previous worker). */
  skip?: ReadonlySet<number>;
  /** Where the index being run is published for the watchdog (Int32Array over a SharedArrayBuffer). */
  progress?: Int32Array;
  /** Called about once a second with the running stats. */
  onSnapshot?: (stats: TargetStats) => void;
  /** Stats of an earlier (restarted) part of the same run to continue. */
  resume?: TargetStats;
}

const MAX_FINDINGS_KEPT = 25;
const PREVIEW_CHARS = 400;

/** Bounded text for reports. */
export function preview(text: string): string {
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}… (${text.length} chars)` : text;
}

/** Bounded hex for reports. */
export function hexPreview(bytes: Uint8Array): string {
  return preview(`${bytes.length}B ${Buffer.from(bytes.subarray(0, 300)).toString('hex')}`);
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const frame = err.stack?.split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
    return `${err.name}${err instanceof PkarrError ? `(${err.code})` : ''}: ${err.message.slice(0, 300)}${frame ? ` ${frame.trim()}` : ''}`;
  }
  return `non-Error thrown: ${String(err).slice(0, 300)}`;
}

/** Fresh stats for a target. */
export function newStats(target: FuzzTarget<never>, seed: number, start: number): TargetStats {
  return {
    target: target.name, about: target.about, seed, inputs: 0, next: start, accepted: 0, rejected: {}, findingCount: 0, findings: [],
    slowest: null, topRaw: [], slowPending: [], slowConfirmed: 0, slowTransient: 0, maxRawMs: 0, elapsedMs: 0,
  };
}

/** Records a finding (kept in detail up to a bound). */
export function addFinding(stats: TargetStats, finding: Finding): void {
  stats.findingCount += 1;
  if (stats.findings.length < MAX_FINDINGS_KEPT) stats.findings.push(finding);
}

/** Combines the stats of parallel runs of one target over disjoint index ranges. */
export function mergeStats(parts: readonly TargetStats[]): TargetStats {
  const [first, ...rest] = parts;
  if (first === undefined) throw new RangeError('nothing to merge');
  const out: TargetStats = structuredClone(first);
  for (const s of rest) {
    out.inputs += s.inputs;
    out.next = Math.max(out.next, s.next);
    out.accepted += s.accepted;
    for (const [code, n] of Object.entries(s.rejected)) out.rejected[code] = (out.rejected[code] ?? 0) + n;
    out.findingCount += s.findingCount;
    out.findings.push(...s.findings.slice(0, Math.max(0, MAX_FINDINGS_KEPT - out.findings.length)));
    if (s.slowest !== null && (out.slowest === null || s.slowest.ms > out.slowest.ms)) out.slowest = s.slowest;
    out.topRaw = [...out.topRaw, ...s.topRaw].sort((a, b) => b.ms - a.ms).slice(0, TOP_K);
    out.slowPending.push(...s.slowPending);
    out.slowConfirmed += s.slowConfirmed;
    out.slowTransient += s.slowTransient;
    out.maxRawMs = Math.max(out.maxRawMs, s.maxRawMs);
    out.elapsedMs = Math.max(out.elapsedMs, s.elapsedMs); // wall clock of parallel parts
  }
  return out;
}

class AsyncHang extends Error {}

function isPromise(v: unknown): v is Promise<Outcome> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function bounded(promise: Promise<Outcome>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AsyncHang(`no outcome within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Runs one input; returns the outcome or the thrown error, and the time taken. */
async function runOnce<I>(target: FuzzTarget<I>, value: I, asyncTimeoutMs: number): Promise<{ outcome?: Outcome; error?: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    const r = target.execute(value);
    const outcome = isPromise(r) ? await bounded(r, asyncTimeoutMs) : r;
    return { outcome, ms: performance.now() - t0 };
  } catch (error) {
    return { error, ms: performance.now() - t0 };
  }
}

/** Runs `count` inputs of `target` from index `start` (see the module doc). */
export async function runTarget<I>(target: FuzzTarget<I>, options: RunOptions): Promise<TargetStats> {
  const slowMs = options.slowMs ?? 50;
  const asyncTimeoutMs = options.asyncTimeoutMs ?? 5000;
  const stats = options.resume ?? newStats(target as FuzzTarget<never>, options.seed, options.start);
  const began = performance.now() - stats.elapsedMs;
  let lastSnapshot = performance.now();
  const end = options.start + options.count;
  for (let i = stats.next; i < end; i++) {
    stats.next = i + 1;
    if (options.skip?.has(i)) continue;
    if (options.progress) Atomics.store(options.progress, 0, i);
    let input: Generated<I>;
    try {
      input = target.generate(rngFor(options.seed, i), i);
    } catch (err) {
      addFinding(stats, { index: i, kind: 'generator', mutation: '?', error: describe(err), input: '' });
      continue;
    }
    const run = await runOnce(target, input.value, asyncTimeoutMs);
    stats.inputs += 1;
    const finding = (kind: Finding['kind'], error: string): void =>
      addFinding(stats, { index: i, kind, mutation: input.mutation, error, input: target.show(input.value) });
    if (run.outcome !== undefined) {
      if (run.outcome.accepted) stats.accepted += 1;
      else stats.rejected[run.outcome.code] = (stats.rejected[run.outcome.code] ?? 0) + 1;
    } else if (run.error instanceof PkarrError && KNOWN_CODES.has(run.error.code)) {
      const code = run.error.code;
      if (target.allowedCodes !== undefined && !target.allowedCodes.has(code)) finding('unexpected-code', describe(run.error));
      else stats.rejected[code] = (stats.rejected[code] ?? 0) + 1;
    } else if (run.error instanceof FindingError) {
      finding('oracle', run.error.message);
    } else if (run.error instanceof AsyncHang) {
      finding('async-hang', run.error.message);
    } else {
      finding(run.error instanceof PkarrError ? 'unexpected-code' : 'exception', describe(run.error));
    }
    const ms = run.ms;
    if (ms > stats.maxRawMs) stats.maxRawMs = ms;
    const top = stats.topRaw;
    if (top.length < TOP_K || ms > top[top.length - 1]!.ms) {
      top.push({ index: i, ms });
      top.sort((a, b) => b.ms - a.ms);
      if (top.length > TOP_K) top.pop();
    }
    const budget = target.budgetMs?.(input.value, slowMs) ?? slowMs;
    if (ms > budget && !(run.error instanceof AsyncHang)) {
      // Re-run twice: slow every time is a finding, fast again means GC or CPU contention.
      const again = [await runOnce(target, input.value, asyncTimeoutMs), await runOnce(target, input.value, asyncTimeoutMs)];
      const best = Math.min(ms, ...again.map((r) => r.ms));
      if (best > budget && stats.slowPending.length < MAX_SLOW_PENDING) {
        // Sustained CPU contention can slow three runs in a row: confirmed at the end of the run.
        stats.slowPending.push({ index: i, detail: `took ${ms.toFixed(1)} ms, re-runs ${again.map((r) => r.ms.toFixed(1)).join(' / ')} ms` });
      } else if (best > budget) {
        stats.slowConfirmed += 1;
        finding('slow', `took ${ms.toFixed(1)} ms, re-runs ${again.map((r) => r.ms.toFixed(1)).join(' / ')} ms (bound ${budget} ms)`);
      } else {
        stats.slowTransient += 1;
      }
    }
    if ((i & 255) === 0 && options.onSnapshot && performance.now() - lastSnapshot >= 1000) {
      lastSnapshot = performance.now();
      stats.elapsedMs = lastSnapshot - began;
      options.onSnapshot(stats);
    }
  }
  stats.elapsedMs = performance.now() - began;
  await confirmSlow(target, stats, options.seed, slowMs, asyncTimeoutMs);
  await remeasureSlowest(target, stats, options.seed, asyncTimeoutMs);
  return stats;
}

/** Re-runs the pending slow inputs END_RERUNS times: still over the bound every time → a finding. */
async function confirmSlow<I>(target: FuzzTarget<I>, stats: TargetStats, seed: number, slowMs: number, asyncTimeoutMs: number): Promise<void> {
  for (const { index, detail } of stats.slowPending.splice(0)) {
    const input = target.generate(rngFor(seed, index), index);
    const budget = target.budgetMs?.(input.value, slowMs) ?? slowMs;
    const runs: number[] = [];
    for (let r = 0; r < END_RERUNS; r++) runs.push((await runOnce(target, input.value, asyncTimeoutMs)).ms);
    if (Math.min(...runs) > budget) {
      stats.slowConfirmed += 1;
      addFinding(stats, { index, kind: 'slow', mutation: input.mutation, error: `${detail}, at the end ${runs.map((m) => m.toFixed(1)).join(' / ')} ms (bound ${budget} ms)`, input: target.show(input.value) });
    } else {
      stats.slowTransient += 1;
    }
  }
}

/** Re-runs the slowest first runs END_RERUNS times each; the slowest is the max of their minimums. */
async function remeasureSlowest<I>(target: FuzzTarget<I>, stats: TargetStats, seed: number, asyncTimeoutMs: number): Promise<void> {
  for (const { index, ms: rawMs } of stats.topRaw) {
    const input = target.generate(rngFor(seed, index), index);
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < END_RERUNS; r++) best = Math.min(best, (await runOnce(target, input.value, asyncTimeoutMs)).ms);
    if (stats.slowest === null || best > stats.slowest.ms) {
      stats.slowest = { index, ms: best, rawMs, mutation: input.mutation, input: target.show(input.value) };
    }
  }
}

/** Runs a target in this thread with setup/teardown (the test slice and `--index`). */
export async function runInProcess<I>(target: FuzzTarget<I>, options: RunOptions): Promise<TargetStats> {
  await target.setup?.();
  try {
    return await runTarget(target, options);
  } finally {
    await target.teardown?.();
  }
}
