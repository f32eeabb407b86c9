/**
 * Where the structural fields of a (valid) DNS message are, so that the DNS-aware mutators can
 * lie about exactly the lengths, counts and pointers a decoder trusts: section counts, label
 * lengths, compression pointers, rdlength, TXT character-string lengths and SVCB param lengths.
 *
 * The walker is lenient and best-effort: it maps the valid corpus messages the mutations start
 * from, and simply stops where a message stops making sense.
 */

export interface DnsFields {
  /** Offsets of the qd/an/ns/ar counts (u16). */
  counts: number[];
  /** Offset of the flags (u16). */
  flags: number;
  /** Offsets where a name starts. */
  names: number[];
  /** Offsets of label length bytes. */
  labels: number[];
  /** Offsets of compression pointers (2 bytes). */
  pointers: number[];
  /** Offsets of record TYPE fields (u16). */
  types: number[];
  /** Offsets of record CLASS fields (u16). */
  classes: number[];
  /** Offsets of rdlength fields (u16). */
  rdlengths: number[];
  /** Offsets of TXT character-string length bytes. */
  stringLengths: number[];
  /** Offsets of SVCB/HTTPS SvcParam length fields (u16); the key is 2 bytes before. */
  paramLengths: number[];
}

function u16(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
}

/** Walks a name at `at`, recording labels/pointers; returns where the name ends (in place). */
function walkName(b: Uint8Array, at: number, f: DnsFields): number {
  f.names.push(at);
  let pos = at;
  for (let guard = 0; guard < 128 && pos < b.length; guard++) {
    const len = b[pos] ?? 0;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) {
      f.pointers.push(pos);
      return pos + 2;
    }
    f.labels.push(pos);
    pos += 1 + len;
  }
  return pos;
}

/** Maps the fields of the DNS message at `base` (the whole of `bytes` after `base`). */
export function mapDnsFields(bytes: Uint8Array, base = 0): DnsFields {
  const b = bytes.subarray(base);
  const f: DnsFields = {
    counts: [4, 6, 8, 10], flags: 2, names: [], labels: [], pointers: [], types: [], classes: [],
    rdlengths: [], stringLengths: [], paramLengths: [],
  };
  if (b.length < 12) return shift(f, base);
  const qd = u16(b, 4);
  const records = u16(b, 6) + u16(b, 8) + u16(b, 10);
  let pos = 12;
  for (let i = 0; i < qd && pos < b.length; i++) {
    pos = walkName(b, pos, f);
    f.types.push(pos);
    f.classes.push(pos + 2);
    pos += 4;
  }
  for (let i = 0; i < records && pos + 10 <= b.length; i++) {
    pos = walkName(b, pos, f);
    if (pos + 10 > b.length) break;
    const type = u16(b, pos);
    f.types.push(pos);
    f.classes.push(pos + 2);
    f.rdlengths.push(pos + 8);
    const start = pos + 10;
    const end = Math.min(b.length, start + u16(b, pos + 8));
    if (type === 16) {
      for (let at = start; at < end; at += 1 + (b[at] ?? 0)) f.stringLengths.push(at);
    } else if (type === 5 || type === 2) {
      walkName(b, start, f);
    } else if (type === 33 && end - start > 6) {
      walkName(b, start + 6, f);
    } else if ((type === 64 || type === 65) && end - start > 2) {
      let at = walkName(b, start + 2, f);
      for (let guard = 0; guard < 64 && at + 4 <= end; guard++) {
        f.paramLengths.push(at + 2);
        at += 4 + u16(b, at + 2);
      }
    }
    pos = end;
  }
  return shift(f, base);
}

function shift(f: DnsFields, base: number): DnsFields {
  if (base === 0) return f;
  const add = (list: number[]): number[] => list.map((o) => o + base);
  return {
    counts: add(f.counts), flags: f.flags + base, names: add(f.names), labels: add(f.labels), pointers: add(f.pointers),
    types: add(f.types), classes: add(f.classes), rdlengths: add(f.rdlengths), stringLengths: add(f.stringLengths),
    paramLengths: add(f.paramLengths),
  };
}
