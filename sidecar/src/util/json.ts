/**
 * JSON text for values plain `JSON.stringify` cannot write: bigint values (the 64-bit microsecond
 * timestamps) become decimal strings instead of throwing. With `bytes: 'hex'` (the CLI's output),
 * byte arrays become lowercase hex instead of `{"0":…}` objects. Used by the JSON-RPC dispatcher
 * and the CLI commands.
 */

export interface JsonOptions {
  /** Write Uint8Array values as lowercase hex strings. */
  bytes?: 'hex';
}

/** `value` as JSON text, with bigint as decimal strings (and bytes as hex when asked). */
export function toJson(value: unknown, options: JsonOptions = {}): string {
  const hexBytes = options.bytes === 'hex';
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (hexBytes && v instanceof Uint8Array) return Buffer.from(v).toString('hex');
    return v;
  });
}
