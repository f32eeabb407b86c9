/**
 * Validation of by-name JSON-RPC params: every failure is a -32602 whose message and
 * `data.field` name the offending field.
 */
import { isPkarrError } from '../core/errors.ts';
import { PublicKey } from '../core/keys.ts';
import { KEY_NAME_PATTERN } from '../keystore/key-store.ts';
import { invalidParams } from './dispatcher.ts';

type Params = Record<string, unknown>;

/** Refuses fields other than `allowed` (catches typos such as `republsh`). */
export function onlyFields(params: Params, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) {
      throw invalidParams(key.slice(0, 64), allowed.length === 0 ? 'this method takes no params' : `unknown field (expected ${allowed.join(', ')})`);
    }
  }
}

/** A required string. */
export function requireString(params: Params, field: string): string {
  const v = params[field];
  if (v === undefined) throw invalidParams(field, 'is required');
  if (typeof v !== 'string') throw invalidParams(field, 'must be a string');
  return v;
}

/** An optional string. */
export function optionalString(params: Params, field: string): string | undefined {
  return params[field] === undefined ? undefined : requireString(params, field);
}

/** An optional integer in [min, max]. */
export function optionalInt(params: Params, field: string, min: number, max: number): number | undefined {
  const v = params[field];
  if (v === undefined) return undefined;
  // Godot sends every JSON number as a float: 8.0 is fine, 8.5 is not.
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalidParams(field, `must be an integer ${min}-${max}`);
  return v;
}

/** A required integer in [min, max]. */
export function requireInt(params: Params, field: string, min: number, max: number): number {
  if (params[field] === undefined) throw invalidParams(field, 'is required');
  return optionalInt(params, field, min, max)!;
}

/** An optional boolean with its default. */
export function optionalBoolean(params: Params, field: string, fallback: boolean): boolean {
  const v = params[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalidParams(field, 'must be true or false');
  return v;
}

/** A key name (`^[A-Za-z0-9_.-]{1,64}$`). */
export function requireKeyName(params: Params, field = 'name'): string {
  const name = requireString(params, field);
  if (!KEY_NAME_PATTERN.test(name)) throw invalidParams(field, 'must be 1-64 characters from A-Z a-z 0-9 _ . -');
  return name;
}

/** A public key in any accepted form (z32, `pk:`, URL); the PkarrError code goes to `data.code`. */
export function requirePublicKey(params: Params, field = 'publicKey'): PublicKey {
  const text = requireString(params, field);
  try {
    return PublicKey.parse(text);
  } catch (err) {
    if (isPkarrError(err)) throw invalidParams(field, err.message, err.code);
    throw err;
  }
}
