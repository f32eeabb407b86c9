/**
 * Prints one plain closing line after the run, `vitest: N passed, M failed, S skipped`, so that
 * CI logs carry a runner-independent summary that can be trusted:
 *
 * - `failed` counts failed tests, plus every test file or suite that failed outside its tests
 *   (a file that does not load, a `beforeAll`/`afterAll` that throws: its tests then show as
 *   skipped, but the file counts as one failure), plus unhandled errors;
 * - `0 failed` appears only when the run passed: when vitest ends a run as failed or interrupted
 *   and nothing above was counted, the run itself counts as one failure.
 *
 * When failures happened outside tests, the line names how many (`(2 outside tests)`).
 */
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';

/** The counts behind the closing line. */
export interface RunSummary {
  passed: number;
  /** Everything that failed: tests, files/suites outside their tests, unhandled errors, the run. */
  failed: number;
  skipped: number;
  /** The part of {@link failed} that is not a failed test. */
  outsideTests: number;
}

/**
 * Failures of `module` outside its tests: one for the file and for each suite with errors of its
 * own (load, hooks), or one when the file failed with neither such errors nor a failed test.
 */
function failuresOutsideTests(module: TestModule): number {
  let count = module.errors().length > 0 ? 1 : 0;
  for (const suite of module.children.allSuites()) {
    if (suite.errors().length > 0) count++;
  }
  if (count === 0 && module.state() === 'failed' && ![...module.children.allTests()].some((t) => t.result().state === 'failed')) count = 1;
  return count;
}

/** Counts a finished run (see the file comment). */
export function summarize(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>, reason: TestRunEndReason): RunSummary {
  let passed = 0;
  let failedTests = 0;
  let skipped = 0;
  let outsideTests = unhandledErrors.length;
  for (const module of testModules) {
    outsideTests += failuresOutsideTests(module);
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failedTests++;
      else skipped++;
    }
  }
  if (reason !== 'passed' && failedTests + outsideTests === 0) outsideTests = 1;
  return { passed, failed: failedTests + outsideTests, skipped, outsideTests };
}

/** The closing line for `summary`. */
export function summaryLine(summary: RunSummary): string {
  const outside = summary.outsideTests > 0 ? ` (${summary.outsideTests} outside tests)` : '';
  return `vitest: ${summary.passed} passed, ${summary.failed} failed${outside}, ${summary.skipped} skipped`;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    process.stdout.write(`\n${summaryLine(summarize(testModules, unhandledErrors, reason))}\n`);
  }
}
