/**
 * Command-line flag parsing, one way for every command (`serve`, `relay` and the CLI commands):
 * node:util parseArgs in strict mode, whose errors become one-line {@link UsageError}s, and the
 * checks of common values (integers in a range, HOST:PORT bootstrap nodes) with messages naming
 * the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PkarrError } from '../core/errors.ts';

/** A problem with the command line (code INVALID_ARGUMENT): the CLI reports it with exit code 2. */
export class UsageError extends PkarrError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'UsageError';
  }
}

/** Collapses a message to one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** parseArgs (strict mode required), with its errors turned into one-line UsageErrors. */
export function parseFlags<T extends ParseArgsConfig & { strict: true }>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseArgs appends advice after the first sentence ("To specify a positional argument…").
    throw new UsageError(oneLine(message.split(/\. (?=To |Did )/)[0] ?? message));
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed flags: strings, booleans and string lists as declared. */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** {@link parseFlags} with untyped values, read with {@link stringValue} and {@link stringList}. */
export function parseCommandArgs(args: string[], options: Options, allowPositionals: boolean): { values: ParsedValues; positionals: string[] } {
  const parsed = parseFlags({ args, options, allowPositionals, strict: true });
  return { values: parsed.values as ParsedValues, positionals: parsed.positionals };
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

/** {@link integerValue} of a flag that may be absent (then null). */
export function optionalInteger(text: string | undefined, flag: string, min: number, max: number): number | null {
  return text === undefined ? null : integerValue(text, flag, min, max);
}

/** Runs `check` on each value given to `flag`; what it throws becomes a UsageError naming the flag. */
export function checkEachValue(flag: string, values: readonly string[], check: (value: string) => unknown): void {
  for (const value of values) {
    try {
      check(value);
    } catch (err) {
      throw new UsageError(`${flag}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Checks `--bootstrap` values: HOST:PORT with a port up to 65535; UsageError otherwise. */
export function checkBootstrap(entries: readonly string[]): void {
  for (const entry of entries) {
    if (!/^[^\s:]+:\d{1,5}$/.test(entry) || Number(entry.slice(entry.lastIndexOf(':') + 1)) > 65535) {
      throw new UsageError(`--bootstrap must be HOST:PORT, got ${JSON.stringify(entry)}`);
    }
  }
}
