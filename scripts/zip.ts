/**
 * A small, dependency-free ZIP writer (PKWARE APPNOTE 6.3, no ZIP64, no encryption).
 *
 * Used to build Godot `mainPack` archives for the engine test harness and to package the
 * addon for the Godot Asset Library. Entries are written in the order given; the output is
 * deterministic for the same input (fixed timestamps unless `mtime` is set).
 *
 * @example
 * ```ts
 * import { createZip } from '../../scripts/zip.ts';
 * const zip = createZip([
 *   { path: 'project.godot', data: '[application]\n' },
 *   { path: 'addons/pkarr/', data: '' },                     // explicit directory entry
 *   { path: 'addons/pkarr/bin/pkarr-sidecar', data: bytes, mode: 0o755 },
 * ]);
 * ```
 */
import { Buffer } from 'node:buffer';
import { crc32, deflateRawSync } from 'node:zlib';

/** How an entry's bytes are stored. `auto` deflates and keeps the result only if it is smaller. */
export type ZipCompression = 'store' | 'deflate' | 'auto';

/** One file (or, with a path ending in `/`, one directory) to put in the archive. */
export interface ZipEntry {
  /** Path inside the archive, `/`-separated, relative (no leading `/`, no `..` segments). */
  path: string;
  /** File content; strings are encoded as UTF-8. Must be empty for directory entries. */
  data: Uint8Array | string;
  /** Overrides {@link ZipOptions.compression} for this entry. */
  compression?: ZipCompression;
  /** Unix permission bits (e.g. `0o755` for an executable); defaults to 0o644 / 0o755 for dirs. */
  mode?: number;
  /** Modification time; defaults to {@link ZipOptions.mtime}. */
  mtime?: Date;
}

/** Archive-wide options for {@link createZip}. */
export interface ZipOptions {
  /** Default compression for entries (default `auto`). */
  compression?: ZipCompression;
  /** zlib level 0..9 for deflated entries (default 9). */
  level?: number;
  /** Timestamp written for entries without their own (default 1980-01-01 00:00, local DOS time). */
  mtime?: Date;
  /** Archive comment (UTF-8, max 65535 bytes). */
  comment?: string;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const FLAG_UTF8 = 1 << 11;
const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;

/** Encodes a date as MS-DOS `[time, date]` words (2-second resolution, years 1980..2107). */
function dosDateTime(d: Date): [number, number] {
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107);
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2);
  const date = ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  return [time, date];
}

/** Rejects absolute paths, backslashes, empty and `.`/`..` segments (zip-slip safety). */
function checkPath(path: string): void {
  const bare = path.endsWith('/') ? path.slice(0, -1) : path;
  const bad =
    bare.length === 0 ||
    path.startsWith('/') ||
    path.includes('\\') ||
    bare.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new Error(`zip: invalid entry path ${JSON.stringify(path)}`);
}

interface Prepared {
  name: Buffer;
  method: number;
  crc: number;
  size: number;
  stored: Uint8Array;
  time: number;
  date: number;
  externalAttrs: number;
  offset: number;
}

/**
 * Builds a complete ZIP archive in memory.
 *
 * Paths are stored as UTF-8 (general-purpose flag bit 11) with Unix permissions in the
 * external attributes ("version made by" = Unix), so executables keep their `x` bit when
 * extracted with `unzip`. Throws on duplicate or unsafe paths and on archives that would
 * need ZIP64 (more than 65535 entries or 4 GiB).
 *
 * @param entries files and directories, written in this order
 * @param options archive-wide defaults
 * @returns the archive bytes
 */
export function createZip(entries: readonly ZipEntry[], options: ZipOptions = {}): Buffer {
  if (entries.length > MAX_U16) throw new Error('zip: too many entries (ZIP64 not supported)');
  const level = options.level ?? 9;
  const seen = new Set<string>();
  const chunks: Uint8Array[] = [];
  const prepared: Prepared[] = [];
  let offset = 0;

  for (const entry of entries) {
    checkPath(entry.path);
    if (seen.has(entry.path)) throw new Error(`zip: duplicate entry ${entry.path}`);
    seen.add(entry.path);
    const isDir = entry.path.endsWith('/');
    const raw = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
    if (isDir && raw.length > 0) throw new Error(`zip: directory entry ${entry.path} has data`);
    const mode = entry.compression ?? options.compression ?? 'auto';
    let method = METHOD_STORE;
    let stored: Uint8Array = raw;
    if (!isDir && raw.length > 0 && mode !== 'store') {
      const deflated = deflateRawSync(raw, { level });
      if (mode === 'deflate' || deflated.length < raw.length) {
        method = METHOD_DEFLATE;
        stored = deflated;
      }
    }
    if (raw.length > MAX_U32 || offset + stored.length > MAX_U32) {
      throw new Error('zip: archive larger than 4 GiB (ZIP64 not supported)');
    }
    const [time, date] = dosDateTime(entry.mtime ?? options.mtime ?? new Date(1980, 0, 1));
    const unixMode = (isDir ? 0o040000 : 0o100000) | (entry.mode ?? (isDir ? 0o755 : 0o644));
    const p: Prepared = {
      name: Buffer.from(entry.path, 'utf8'),
      method,
      crc: crc32(raw) >>> 0,
      size: raw.length,
      stored,
      time,
      date,
      // High 16 bits: Unix mode; bit 4 of the low byte: MS-DOS directory attribute.
      externalAttrs: ((unixMode << 16) | (isDir ? 0x10 : 0)) >>> 0,
      offset,
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate, directories)
    local.writeUInt16LE(FLAG_UTF8, 6);
    local.writeUInt16LE(p.method, 8);
    local.writeUInt16LE(p.time, 10);
    local.writeUInt16LE(p.date, 12);
    local.writeUInt32LE(p.crc, 14);
    local.writeUInt32LE(p.stored.length, 18);
    local.writeUInt32LE(p.size, 22);
    local.writeUInt16LE(p.name.length, 26);
    local.writeUInt16LE(0, 28); // extra field length
    chunks.push(local, p.name, p.stored);
    offset += local.length + p.name.length + p.stored.length;
    prepared.push(p);
  }

  const centralStart = offset;
  for (const p of prepared) {
    const central = Buffer.alloc(46);
    central.writeUInt32LE(SIG_CENTRAL, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, spec 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(FLAG_UTF8, 8);
    central.writeUInt16LE(p.method, 10);
    central.writeUInt16LE(p.time, 12);
    central.writeUInt16LE(p.date, 14);
    central.writeUInt32LE(p.crc, 16);
    central.writeUInt32LE(p.stored.length, 20);
    central.writeUInt32LE(p.size, 24);
    central.writeUInt16LE(p.name.length, 28);
    // extra length (30), comment length (32), disk number (34), internal attrs (36): all 0
    central.writeUInt32LE(p.externalAttrs, 38);
    central.writeUInt32LE(p.offset, 42);
    chunks.push(central, p.name);
    offset += central.length + p.name.length;
  }

  const comment = Buffer.from(options.comment ?? '', 'utf8');
  if (comment.length > MAX_U16) throw new Error('zip: comment too long');
  if (offset > MAX_U32) throw new Error('zip: archive larger than 4 GiB (ZIP64 not supported)');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG_END, 0);
  end.writeUInt16LE(prepared.length, 8); // entries on this disk
  end.writeUInt16LE(prepared.length, 10); // entries total
  end.writeUInt32LE(offset - centralStart, 12);
  end.writeUInt32LE(centralStart, 16);
  end.writeUInt16LE(comment.length, 20);
  chunks.push(end, comment);
  return Buffer.concat(chunks);
}
