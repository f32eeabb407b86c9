/**
 * Reads one file out of a (gzipped) tar archive such as an npm package tarball. Dependency-free:
 * ustar headers, GNU long names (`L`) and pax `path` records (`x`) are understood, which covers
 * what `npm pack` writes.
 */
import { gunzipSync } from 'node:zlib';

const BLOCK = 512;

function field(header: Uint8Array, offset: number, length: number): string {
  const bytes = header.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString('utf8');
}

function octal(header: Uint8Array, offset: number, length: number): number {
  const text = field(header, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`tar: bad octal field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

/** `path` from a pax extended header body (`"<len> path=<value>\n"` records). */
function paxPath(body: Uint8Array): string | undefined {
  const text = Buffer.from(body).toString('utf8');
  for (const match of text.matchAll(/^\d+ path=(.*)$/gm)) return match[1];
  return undefined;
}

/**
 * The content of `wanted` in the tar archive `archive` (gzip is detected and undone), or
 * `undefined` when the archive has no such regular file. Throws on a malformed archive.
 */
export function extractTarEntry(archive: Uint8Array, wanted: string): Uint8Array | undefined {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return undefined; // end-of-archive marker
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0x30);
    const prefix = field(header, 345, 155);
    const base = field(header, 0, 100);
    const name = longName ?? (prefix === '' ? base : `${prefix}/${base}`);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > tar.length) throw new Error(`tar: entry ${name} runs past the end of the archive`);
    const data = tar.subarray(dataStart, dataEnd);
    longName = undefined;
    if (type === 'L') {
      longName = Buffer.from(data).toString('utf8').replace(/\0+$/, '');
    } else if (type === 'x') {
      longName = paxPath(data);
    } else if ((type === '0' || type === '\0') && name === wanted) {
      return data;
    }
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return undefined;
}
