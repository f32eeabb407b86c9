/**
 * Runs GDScript test suites (see `test/godot/runner/`) in the web engine and turns the TAP
 * output into a result that fails on any failed test, engine error or missing completion.
 *
 * @example
 * ```ts
 * const r = await runGodotTests({
 *   project: 'test/godot/projects/selftest',
 *   mounts: { 'res://addons/pkarr': 'addons/pkarr' },
 *   config: { port: 1234, token: 'abcd' },           // → res://test_config.json
 * });
 * expect(r.ok, formatGodotTestReport(r)).toBe(true);
 * ```
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './engine-cache.ts';
import { runGodot, DONE_MARKER, type GodotLine, type GodotRunOptions, type GodotRunResult, type LinePattern } from './run-engine.ts';
import { findErrors, parseTap, type EngineError, type TapResult } from './tap.ts';

/** Host folder of the GDScript runner, mounted at {@link RUNNER_RES}. */
export const RUNNER_DIR = join(REPO_ROOT, 'test', 'godot', 'runner');
/** Where the runner lives inside the pack. */
export const RUNNER_RES = 'res://test_runner';
/** The scene that runs the suites. */
export const RUNNER_SCENE = `${RUNNER_RES}/test_main.tscn`;

/** Options for {@link runGodotTests}: {@link GodotRunOptions} plus test settings. */
export interface GodotTestOptions extends Omit<GodotRunOptions, 'doneMarker'> {
  /** Written to `res://test_config.json` (with the keys below); read by suites as `config`. */
  config?: Record<string, unknown>;
  /** Suites to run, as `res://` paths (default: every `res://tests/*_test.gd`). */
  suites?: string[];
  /** Only tests whose `suite: test` name contains this. */
  filter?: string;
  /** Default per-test timeout in seconds (default 10). */
  testTimeoutSec?: number;
  /**
   * Error lines to tolerate (string = substring, RegExp = test), e.g. known engine noise.
   * Nothing is tolerated by default, headless or not (run-engine.ts usesHeadlessDisplay).
   */
  allowErrors?: LinePattern[];
  /** Force `run/main_scene` to the runner scene (default true; release templates reject `--scene`). */
  useRunnerScene?: boolean;
}

/** Outcome of {@link runGodotTests}. */
export interface GodotTestResult extends TapResult {
  /** True when everything passed: no failure, no error, completion marker seen, plan complete. */
  ok: boolean;
  /** Why `ok` is false (empty when ok). */
  problems: string[];
  /** Error lines found in the output (allow-listed ones removed). */
  errors: EngineError[];
  lines: GodotLine[];
  /** The raw engine run. */
  run: GodotRunResult;
}

/** Settings appended to `project.godot` (a repeated section is fine: later keys win). */
function projectOverrides(useRunnerScene: boolean): string {
  const lines = ['', '; --- appended by test/godot/harness/run-tests.ts ---'];
  if (useRunnerScene) lines.push('[application]', `run/main_scene="${RUNNER_SCENE}"`, '');
  // Redraw only on change: a WebGL (non-headless) run would otherwise keep a core busy.
  lines.push('[application]', 'run/low_processor_mode=true', '');
  // Makes get_stack() work in the release template, so failures report file:line.
  lines.push('[debug]', 'settings/gdscript/always_track_call_stacks=true', '');
  return lines.join('\n');
}

/** Builds the pack, runs the suites and evaluates the output. */
export async function runGodotTests(options: GodotTestOptions): Promise<GodotTestResult> {
  const files = { ...(options.files ?? {}) };
  let projectText = files['res://project.godot'];
  if (projectText === undefined && options.project !== undefined) {
    projectText = await readFile(join(options.project, 'project.godot'), 'utf8');
  }
  if (projectText === undefined) throw new Error('runGodotTests: no project.godot');
  const text = typeof projectText === 'string' ? projectText : Buffer.from(projectText).toString('utf8');
  files['res://project.godot'] = text + projectOverrides(options.useRunnerScene ?? true);
  const config: Record<string, unknown> = { ...(options.config ?? {}) };
  if (options.suites) config.suites = options.suites;
  if (options.filter !== undefined) config.filter = options.filter;
  if (options.testTimeoutSec !== undefined) config.test_timeout_sec = options.testTimeoutSec;
  files['res://test_config.json'] = JSON.stringify(config, null, 2);

  const run = await runGodot({
    ...options,
    mounts: { [RUNNER_RES]: RUNNER_DIR, ...(options.mounts ?? {}) },
    files,
    doneMarker: DONE_MARKER,
  });
  return evaluateRun(run, options.allowErrors ?? []);
}

/** Turns a raw run into a {@link GodotTestResult} (exported for runs started with `startGodot`). */
export function evaluateRun(run: GodotRunResult, allowErrors: readonly LinePattern[] = []): GodotTestResult {
  const tap = parseTap(run.stdout);
  const errors = findErrors(run.lines, allowErrors, DONE_MARKER);
  const problems: string[] = [];
  if (!run.completed) {
    problems.push(
      run.timedOut
        ? `no completion marker ("${DONE_MARKER}") before the timeout`
        : `the engine stopped without the completion marker ("${DONE_MARKER}")`,
    );
  }
  if (!tap.versionSeen) problems.push('no "TAP version" line');
  if (run.completed && tap.plan !== tap.tests.length) {
    problems.push(`plan 1..${tap.plan ?? '?'} but ${tap.tests.length} test points`);
  }
  if (tap.failed > 0) problems.push(`${tap.failed} failed test(s)`);
  if (errors.length > 0) problems.push(`${errors.length} engine error(s)`);
  if (run.pageErrors.length > 0) problems.push(`${run.pageErrors.length} page error(s)`);
  if (run.exited && run.exitCode !== 0 && tap.failed === 0) problems.push(`exit code ${run.exitCode}`);
  return { ...tap, ok: problems.length === 0, problems, errors, lines: run.lines, run };
}

/** A readable report (failed tests with diagnostics, errors, output tail) for assertion messages. */
export function formatGodotTestReport(result: GodotTestResult): string {
  const out: string[] = [
    `${result.run.name}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped` +
      ` in ${result.run.durationMs} ms${result.ok ? '' : ` -- ${result.problems.join('; ')}`}`,
  ];
  for (const t of result.tests.filter((x) => !x.ok)) {
    out.push(`  not ok ${t.id} - ${t.name}`);
    if (t.diag) out.push(...t.diag.split('\n').map((l) => `      ${l}`));
  }
  for (const e of result.errors) {
    out.push(`  ${e.afterDone ? '[at exit] ' : ''}${e.text}`, ...e.context.map((c) => `      ${c}`));
  }
  for (const p of result.run.pageErrors) out.push(`  [page] ${p}`);
  if (!result.run.completed) {
    out.push('  last output:', ...result.lines.slice(-30).map((l) => `    [${l.stream}] ${l.text}`));
  }
  return out.join('\n');
}
