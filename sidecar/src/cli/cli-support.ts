/**
 * Shared pieces of the CLI commands: argument parsing (node:util parseArgs, strict), usage errors,
 * one-line error reporting and exit codes. JSON output: util/json.ts; waiting for Ctrl-C:
 * util/stop-signals.ts.
 *
 * Exit codes: 0 success, 1 runtime failure (network, I/O, not found), 2 usage error (unknown flag,
 * missing value, bad key, bad record). Errors are always one line on stderr, never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isPkarrError } from '../core/errors.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A problem with the command line: reported with exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed flags: strings, booleans and string lists as declared. */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** parseArgs in strict mode; its errors become UsageErrors with a one-line message. */
export function parseCommandArgs(args: string[], options: Options, allowPositionals: boolean): { values: ParsedValues; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: parsed.values as ParsedValues, positionals: parsed.positionals };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseArgs appends advice after the first sentence ("To specify a positional argument…").
    throw new UsageError(oneLine(message.split(/\. (?=To |Did )/)[0] ?? message));
  }
}

/** A string flag's value, if given. */
export function stringValue(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string flag's values ([] when absent). */
export function stringList(values: ParsedValues, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/** Parses a decimal integer flag within [min, max]; UsageError otherwise. */
export function integerValue(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Collapses a message to one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

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
