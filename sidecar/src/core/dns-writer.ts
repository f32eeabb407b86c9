/**
 * The DNS encoder's output buffer (internal to dns-encode.ts and svcb.ts): one growable
 * big-endian byte buffer, simple-dns's name compression table, and UTF-8 written straight into
 * the buffer (no per-label or per-string temporary arrays).
 *
 * Compression keys are the remaining text of a name from a label on (`www.<z32>`, `<z32>`): a
 * label is the UTF-8 of the text between two dots, so two suffixes have the same wire bytes
 * exactly when their texts are equal — the byte-exact, case-sensitive matching of simple-dns.
 */
import { PkarrError } from './errors.ts';
import { MAX_LABEL_BYTES, MAX_NAME_BYTES, nameToLabels, utf8Bytes } from './names.ts';

/** Largest offset a compression pointer can hold; later suffixes are not remembered. */
const MAX_POINTER_OFFSET = 0x3fff;
const INITIAL_BYTES = 2048;
/** A writer that grew past this drops back to INITIAL_BYTES on reset (no lingering big buffer). */
const KEEP_BYTES = 1 << 16;
/** Table values are `generation << 14 | offset`; a new generation empties the tables in O(1). */
const OFFSET_BITS = 14;
const OFFSET_MASK = (1 << OFFSET_BITS) - 1;
/** Generations stay below 2^16 so values stay small integers; tables are really cleared then. */
const MAX_GENERATION = 1 << 16;
/** Tables holding more stale entries than this are really cleared on reset. */
const MAX_TABLE_ENTRIES = 1024;
/** A valid name has at most 127 labels (each takes at least 2 of its 255 wire bytes). */
const MAX_LABELS = 128;

/** Label boundaries of the last name scanned (text offsets) and their UTF-8 sizes. */
const labelFrom = new Int32Array(MAX_LABELS);
const labelTo = new Int32Array(MAX_LABELS);
const labelBytes = new Int32Array(MAX_LABELS);

/**
 * Splits `name[0, end)` into labels (filling labelFrom/labelTo/labelBytes) with nameToLabels'
 * rules: every label 1–63 UTF-8 bytes, no lone surrogate, at most 255 bytes on the wire counting
 * `extra` bytes of labels that follow (the origin). Returns the label count, or -1 when invalid.
 */
function scanName(name: string, end: number, extra: number): number {
  let count = 0;
  let from = 0;
  let bytes = 0;
  let wire = 1;
  for (let i = 0; i < end; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (bytes === 0 || bytes > MAX_LABEL_BYTES) return -1;
      wire += 1 + bytes;
      if (wire > MAX_NAME_BYTES) return -1;
      labelFrom[count] = from;
      labelTo[count] = i;
      labelBytes[count++] = bytes;
      from = i + 1;
      bytes = 0;
    } else if (c < 0x80) {
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < name.length ? name.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return -1;
      bytes += 4;
      i++;
    } else {
      bytes += 3;
    }
  }
  if (bytes === 0 || bytes > MAX_LABEL_BYTES) return -1;
  wire += 1 + bytes;
  if (wire + extra > MAX_NAME_BYTES) return -1;
  labelFrom[count] = from;
  labelTo[count] = end;
  labelBytes[count++] = bytes;
  return count;
}

/**
 * Throws the PkarrError('INVALID_NAME') nameToLabels gives for `name` (so messages are the same
 * everywhere). Only called for names DnsWriter.name refused.
 */
export function throwNameError(name: string, what: string): never {
  nameToLabels(name, what);
  throw new PkarrError('INVALID_NAME', `${what}: invalid name ${JSON.stringify(name)}`);
}

/**
 * Growable big-endian byte writer with simple-dns name compression. Not reentrant.
 *
 * Names ending in the origin (the signer's key, `setOrigin`) — nearly all of a pkarr packet's —
 * are handled as `<relative part>` + origin: their suffixes are keyed by the relative text only
 * (short, often an interned literal) and the origin label's bytes are encoded once. Other names
 * are keyed by their full suffix text. Either way a key stands for exactly one wire suffix.
 */
export class DnsWriter {
  /** The bytes written so far are `buf[0, length)`. */
  buf = new Uint8Array(INITIAL_BYTES);
  length = 0;
  /** Suffixes ending in the origin, keyed by the text before `.<origin>` (values: see OFFSET_BITS). */
  readonly #relative = new Map<string, number>();
  /** Suffixes not ending in the origin, keyed by their text. */
  readonly #absolute = new Map<string, number>();
  /** Entries of other generations are stale (not in the table). */
  #generation = 1;
  /** Where the bare origin was first written (-1: not yet, or past 0x3FFF). */
  #originAt = -1;
  #origin = '';
  #originLabel: Uint8Array | null = null;

  /**
   * Sets the origin label that names are made relative to (a valid single label, or '' for
   * none); its UTF-8 is kept between calls. Resets the writer.
   */
  setOrigin(origin: string): void {
    if (origin !== this.#origin) {
      this.#origin = origin;
      this.#originLabel = null;
      if (origin !== '' && scanName(origin, origin.length, 0) === 1) {
        const bytes = utf8Bytes(origin);
        const label = new Uint8Array(1 + bytes.length);
        label[0] = bytes.length;
        label.set(bytes, 1);
        this.#originLabel = label;
      }
    }
    this.reset();
  }

  /** Empties the writer and its compression tables (the origin stays). */
  reset(): void {
    this.length = 0;
    this.#generation++;
    if (this.#generation >= MAX_GENERATION || this.#relative.size + this.#absolute.size > MAX_TABLE_ENTRIES) {
      this.#relative.clear();
      this.#absolute.clear();
      this.#generation = 1;
    }
    this.#originAt = -1;
    if (this.buf.length > KEEP_BYTES) this.buf = new Uint8Array(INITIAL_BYTES);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.length++] = v >>> 8;
    this.buf[this.length++] = v;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Overwrites the u16 at `at`. */
  setU16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  /** Overwrites the u32 at `at`. */
  setU32(at: number, v: number): void {
    this.buf[at] = v >>> 24;
    this.buf[at + 1] = v >>> 16;
    this.buf[at + 2] = v >>> 8;
    this.buf[at + 3] = v;
  }

  /**
   * Appends the UTF-8 of `text[from, to)`; returns the number of bytes written, or -1 (with
   * `length` unchanged) when the text has a lone surrogate.
   */
  utf8(text: string, from: number, to: number): number {
    this.ensure(3 * (to - from));
    const buf = this.buf;
    const start = this.length;
    let p = start;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < to ? text.charCodeAt(i + 1) : 0;
        if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return -1;
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        buf[p++] = 0xf0 | (cp >> 18);
        buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[p++] = 0x80 | (cp & 0x3f);
        i++;
      } else {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    this.length = p;
    return p - start;
  }

  /**
   * Writes a name (`''`/`.` = root; one trailing `.` ignored, like nameToLabels). With `compress`
   * it follows simple-dns `compress_append`: walking the suffixes from the left, a suffix written
   * before becomes a pointer and ends the name, otherwise its offset is remembered (if ≤ 0x3FFF)
   * and the label written. Without, the name is written in full and the tables are left alone.
   * Returns false, writing nothing, when the name is invalid (see throwNameError).
   */
  name(name: string, compress: boolean): boolean {
    if (name === '' || name === '.') {
      this.u8(0);
      return true;
    }
    const end = name.charCodeAt(name.length - 1) === 0x2e ? name.length - 1 : name.length;
    const o = this.#origin.length;
    if (this.#originLabel !== null && end >= o && name.startsWith(this.#origin, end - o)) {
      if (end === o) return this.#write(name, 0, true, compress);
      // `<relative>.<origin>` with a non-empty relative part (`.<origin>` takes the generic path and fails there).
      if (end > o + 1 && name.charCodeAt(end - o - 1) === 0x2e) return this.#write(name, end - o - 1, true, compress);
    }
    return this.#write(name, end, false, compress);
  }

  /**
   * Writes the name `name[0, relativeEnd)` followed by the origin (relativeEnd 0: the origin
   * itself). The caller has split off the origin. Returns false when the name is invalid.
   */
  nameInOrigin(name: string, relativeEnd: number, compress: boolean): boolean {
    if (this.#originLabel === null) return false;
    return this.#write(name, relativeEnd, true, compress);
  }

  #write(name: string, end: number, inOrigin: boolean, compress: boolean): boolean {
    const origin = inOrigin ? this.#originLabel : null;
    const count = end === 0 ? 0 : scanName(name, end, origin === null ? 0 : origin.length);
    if (count < 0) return false;
    this.ensure(MAX_NAME_BYTES);
    const table = inOrigin ? this.#relative : this.#absolute;
    for (let l = 0; l < count; l++) {
      const from = labelFrom[l]!;
      if (compress) {
        const suffix = from === 0 && end === name.length ? name : name.slice(from, end);
        const seen = table.get(suffix);
        if (seen !== undefined && seen >>> OFFSET_BITS === this.#generation) return this.#pointer(seen & OFFSET_MASK);
        if (this.length <= MAX_POINTER_OFFSET) table.set(suffix, (this.#generation << OFFSET_BITS) | this.length);
      }
      this.buf[this.length++] = labelBytes[l]!;
      this.utf8(name, from, labelTo[l]!);
    }
    if (origin !== null) {
      if (compress) {
        if (this.#originAt >= 0) return this.#pointer(this.#originAt);
        if (this.length <= MAX_POINTER_OFFSET) this.#originAt = this.length;
      }
      this.buf.set(origin, this.length);
      this.length += origin.length;
    }
    this.buf[this.length++] = 0;
    return true;
  }

  #pointer(offset: number): true {
    this.buf[this.length++] = 0xc0 | (offset >>> 8);
    this.buf[this.length++] = offset;
    return true;
  }
}
