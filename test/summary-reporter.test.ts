/**
 * The closing line of test/summary-reporter.ts counts every failure. Runs vitest as a child
 * process (bounded) on the fixture files in test/fixtures/summary-reporter/ (named *.case.ts, so
 * the main include glob never picks them up) and checks the line and the exit code.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'summary-reporter');
const VITEST_CLI = join(createRequire(import.meta.url).resolve('vitest/package.json'), '..', 'vitest.mjs');
const LINE = /^vitest: \d+ passed, \d+ failed(?: \(\d+ outside tests\))?, \d+ skipped$/m;

interface FixtureRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The reporter's closing line, or undefined. */
  line: string | undefined;
}

/**
 * Runs vitest on `files` of the fixture folder (all when empty; vitest matches names as
 * substrings, so no fixture name contains another); killed after 60 s.
 */
function runFixtures(files: string[]): Promise<FixtureRun> {
  const env: NodeJS.ProcessEnv = {};
  // The child is a fresh vitest run: nothing of this worker's vitest state may leak into it.
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VITEST') && key !== 'NODE_OPTIONS' && key !== 'TEST') env[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST_CLI, 'run', '--root', FIXTURES, '--config', join(FIXTURES, 'vitest.config.ts'), ...files], {
      cwd: FIXTURES,
      env: { ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, line: LINE.exec(stdout)?.[0] });
    });
  });
}

function describeRun(run: FixtureRun): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr.slice(-3000)}`;
}

describe('summary reporter closing line', () => {
  it('a file that fails to load counts as failed, and the run exits 1', async () => {
    const run = await runFixtures(['throws-at-import.case.ts']);
    expect(run.line, describeRun(run)).toBe('vitest: 0 passed, 1 failed (1 outside tests), 0 skipped');
    expect(run.code).toBe(1);
  }, 90_000);

  it('a file whose beforeAll throws counts as failed; its tests stay skipped', async () => {
    const run = await runFixtures(['before-all-throws.case.ts']);
    expect(run.line, describeRun(run)).toBe('vitest: 0 passed, 1 failed (1 outside tests), 2 skipped');
    expect(run.code).toBe(1);
  }, 90_000);

  it('a suite whose beforeAll throws counts as failed next to a passing test', async () => {
    const run = await runFixtures(['describe-hook-throws.case.ts']);
    expect(run.line, describeRun(run)).toBe('vitest: 1 passed, 1 failed (1 outside tests), 1 skipped');
    expect(run.code).toBe(1);
  }, 90_000);

  it('a failed test counts as failed', async () => {
    const run = await runFixtures(['fails.case.ts']);
    expect(run.line, describeRun(run)).toBe('vitest: 1 passed, 1 failed, 0 skipped');
    expect(run.code).toBe(1);
  }, 90_000);

  it('everything together: every failure counted, exit 1', async () => {
    const run = await runFixtures([]); // every *.case.ts
    // passes (2) + the passing test next to the broken suite + the passing test of fails.case.ts;
    // failed: one test + the file that does not load + two beforeAll hooks.
    expect(run.line, describeRun(run)).toBe('vitest: 4 passed, 4 failed (3 outside tests), 3 skipped');
    expect(run.code).toBe(1);
  }, 90_000);

  it('"0 failed" appears when the run passed, with exit 0', async () => {
    const run = await runFixtures(['passes.case.ts']);
    expect(run.line, describeRun(run)).toBe('vitest: 2 passed, 0 failed, 0 skipped');
    expect(run.code).toBe(0);
  }, 90_000);
});
