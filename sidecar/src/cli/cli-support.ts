/**
 * Shared pieces of the CLI commands: one-line error reporting and exit codes. Flag parsing and
 * usage errors: util/cli-flags.ts. JSON output: util/json.ts; waiting for Ctrl-C:
 * util/stop-signals.ts.
 *
 * Exit codes: 0 success, 1 runtime failure (network, I/O, not found), 2 usage error (unknown flag,
 * missing value, bad key, bad record). Errors are always one line on stderr, never a stack trace.
 */
import { isPkarrError } from '../core/errors.ts';
import { UsageError, oneLine } from '../util/cli-flags.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Reports `err` as one line on stderr and returns the exit code: 2 for usage errors, 1 otherwise.
 * PkarrErrors carry their code in brackets so scripts can match it.
 */
export function reportError(command: string, err: unknown): number {
  const prefix = command === '' ? 'pkarr-sidecar' : `pkarr-sidecar ${command}`;
  if (err instanceof UsageError) {
    const hint = command === '' ? 'pkarr-sidecar --help' : `pkarr-sidecar ${command} --help`;
    process.stderr.write(`${prefix}: ${oneLine(err.message)} (see ${hint})\n`);
    return EXIT_USAGE;
  }
  if (isPkarrError(err)) {
    process.stderr.write(`${prefix}: ${oneLine(err.message)} [${err.code}]\n`);
    return EXIT_FAILURE;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${prefix}: ${oneLine(message)}\n`);
  return EXIT_FAILURE;
}
