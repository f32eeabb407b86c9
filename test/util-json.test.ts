import { describe, expect, it } from 'vitest';
import { toJson } from '../sidecar/src/util/json.ts';

describe('toJson (util/json.ts)', () => {
  it('writes bigint values as decimal strings instead of throwing', () => {
    expect(toJson({ timestamp: 1_700_000_000_000_000n, n: 1, list: [2n ** 64n] })).toBe('{"timestamp":"1700000000000000","n":1,"list":["18446744073709551616"]}');
  });

  it('writes byte arrays as hex only when asked (the CLI), as JSON.stringify does otherwise (RPC)', () => {
    const value = { data: new Uint8Array([0, 171, 255]) };
    expect(toJson(value, { bytes: 'hex' })).toBe('{"data":"00abff"}');
    expect(toJson(value)).toBe(JSON.stringify(value));
  });
});
