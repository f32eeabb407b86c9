/**
 * Parses the TAP printed by `test/godot/runner/test_main.gd` and finds engine errors in a run's
 * output.
 */
import type { GodotLine, LinePattern } from './run-engine.ts';

/** One test point. */
export interface TapTest {
  ok: boolean;
  /** Test number from the TAP line. */
  id: number;
  /** `suite: test`. */
  name: string;
  /** Reason when the test point carries `# SKIP`. */
  skip?: string;
  /** The YAML-ish diagnostic block of a failed test (indentation removed), if any. */
  diag?: string;
}

/** Result of {@link parseTap}. */
export interface TapResult {
  tests: TapTest[];
  passed: number;
  failed: number;
  skipped: number;
  /** The `1..N` plan, or null if missing. */
  plan: number | null;
  /** Lines of the output that start with `TAP version`. */
  versionSeen: boolean;
}

const TEST_LINE = /^(not ok|ok)\s+(\d+)\s*(?:-\s*)?(.*)$/;

/** Parses TAP version 14 lines (other lines are ignored, diagnostics attach to the test above). */
export function parseTap(lines: readonly string[]): TapResult {
  const tests: TapTest[] = [];
  let plan: number | null = null;
  let versionSeen = false;
  let diag: string[] | null = null;
  for (const line of lines) {
    if (diag !== null) {
      if (/^\s+\.\.\.\s*$/.test(line)) {
        const last = tests[tests.length - 1];
        if (last) last.diag = diag.join('\n');
        diag = null;
      } else {
        diag.push(line.replace(/^ {2}/, ''));
      }
      continue;
    }
    if (/^\s+---\s*$/.test(line) && tests.length > 0) {
      diag = [];
      continue;
    }
    if (line.startsWith('TAP version')) versionSeen = true;
    const planMatch = /^1\.\.(\d+)/.exec(line);
    if (planMatch?.[1] !== undefined) plan = Number(planMatch[1]);
    const m = TEST_LINE.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
    const test: TapTest = { ok: m[1] === 'ok', id: Number(m[2]), name: m[3] };
    const skip = /\s+#\s*SKIP\b\s*(.*)$/i.exec(test.name);
    if (skip) {
      test.name = test.name.slice(0, skip.index);
      test.skip = skip[1] ?? '';
    }
    tests.push(test);
  }
  return {
    tests,
    passed: tests.filter((t) => t.ok && t.skip === undefined).length,
    failed: tests.filter((t) => !t.ok).length,
    skipped: tests.filter((t) => t.ok && t.skip !== undefined).length,
    plan,
    versionSeen,
  };
}

/** An error the engine printed, with the indented context lines that followed it. */
export interface EngineError {
  stream: GodotLine['stream'];
  text: string;
  /** Following lines such as `   at: GDScript::reload (res://x.gd:4)`. */
  context: string[];
  /** The error came after the completion marker (during shutdown). */
  afterDone: boolean;
}

/** Lines that count as errors: script errors, parse errors, `push_error`, engine `ERROR:`. */
export const ERROR_LINE = /^(USER )?(SCRIPT )?ERROR:|Parse Error/;

/**
 * Finds error lines (see {@link ERROR_LINE}) in both streams, skipping those that match any
 * `allow` pattern (string = substring, RegExp = test). Warnings are never errors.
 */
export function findErrors(
  lines: readonly GodotLine[],
  allow: readonly LinePattern[] = [],
  doneMarker: LinePattern | null = null,
): EngineError[] {
  const errors: EngineError[] = [];
  let current: EngineError | null = null;
  let done = false;
  for (const line of lines) {
    if (current && line.stream === current.stream && /^\s+\S/.test(line.text)) {
      current.context.push(line.text.trim());
      continue;
    }
    current = null;
    if (doneMarker !== null && matches(doneMarker, line.text, true)) done = true;
    if (!ERROR_LINE.test(line.text)) continue;
    if (allow.some((p) => matches(p, line.text, false))) continue;
    current = { stream: line.stream, text: line.text, context: [], afterDone: done };
    errors.push(current);
  }
  return errors;
}

function matches(pattern: LinePattern, text: string, prefix: boolean): boolean {
  if (typeof pattern !== 'string') return pattern.test(text);
  return prefix ? text.startsWith(pattern) : text.includes(pattern);
}
