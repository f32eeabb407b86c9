/**
 * Reads the headers of an executable (ELF, PE, Mach-O 64-bit) to tell its format, architecture,
 * whether it carries a code signature, whether Node's SEA fuse is flipped, and where the injected
 * NODE_SEA_BLOB is — found the way Node's postject-api.h finds it at run time:
 * - ELF: a PT_NOTE segment with a note named `NODE_SEA_BLOB` (4-byte aligned name and desc);
 * - PE: resource type RT_RCDATA (10), entry named `NODE_SEA_BLOB`;
 * - Mach-O: segment `NODE_SEA`, section `__NODE_SEA_BLOB`.
 * The blob starts with Node's SEA magic 0x0143da20 and a flags word.
 */
import type { CpuArch, ExecutableFormat } from './targets.ts';

/** The fuse Node checks to know it is a single executable (postject flips `:0` to `:1`). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The resource name Node looks the blob up by. */
export const SEA_RESOURCE = 'NODE_SEA_BLOB';
/** First word of every SEA preparation blob (node_sea.h kMagic). */
export const SEA_MAGIC = 0x0143da20;
/** Bits of the blob's flags word (node_sea.h SeaFlags). */
export const SEA_FLAGS = { disableExperimentalWarning: 1, useSnapshot: 2, useCodeCache: 4, includeAssets: 8 } as const;

/** Where the SEA blob sits in the file. */
export interface SeaBlobLocation {
  offset: number;
  size: number;
  /** The blob's flags word (see {@link SEA_FLAGS}); NaN if the magic is wrong. */
  flags: number;
  /** The blob starts with {@link SEA_MAGIC}. */
  magicOk: boolean;
}

/** What {@link inspectExecutable} found. */
export interface ExecutableInfo {
  format: ExecutableFormat;
  /** `x64`, `arm64`, or the raw machine number when it is neither. */
  arch: CpuArch | `machine-0x${string}`;
  bits: 32 | 64;
  /** Carries an Authenticode (PE) or LC_CODE_SIGNATURE (Mach-O) signature; always false for ELF. */
  signed: boolean;
  /** State of {@link SEA_FUSE}: `:1` after injection, `:0` in a plain Node binary. */
  fuse: 'flipped' | 'unflipped' | 'absent';
  blob: SeaBlobLocation | null;
}

const PT_NOTE = 4;
const RT_RCDATA = 10;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const MACHO_CPU: Record<number, CpuArch> = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
const ELF_MACHINE: Record<number, CpuArch> = { 0x3e: 'x64', 0xb7: 'arm64' };
const PE_MACHINE: Record<number, CpuArch> = { 0x8664: 'x64', 0xaa64: 'arm64' };

function fail(message: string): never {
  throw new Error(`not a supported executable: ${message}`);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function archName(table: Record<number, CpuArch>, machine: number): ExecutableInfo['arch'] {
  return table[machine] ?? `machine-0x${machine.toString(16)}`;
}

function blobAt(bytes: Uint8Array, offset: number, size: number): SeaBlobLocation {
  if (offset < 0 || size < 8 || offset + size > bytes.length) fail(`SEA blob out of bounds (${offset}+${size})`);
  const dv = view(bytes);
  const magicOk = dv.getUint32(offset, true) === SEA_MAGIC;
  return { offset, size, magicOk, flags: magicOk ? dv.getUint32(offset + 4, true) : Number.NaN };
}

function cString(bytes: Uint8Array, offset: number, max: number): string {
  const slice = bytes.subarray(offset, offset + max);
  const end = slice.indexOf(0);
  return Buffer.from(end === -1 ? slice : slice.subarray(0, end)).toString('latin1');
}

function fuseState(bytes: Uint8Array): ExecutableInfo['fuse'] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = buf.indexOf(`${SEA_FUSE}:`, 0, 'latin1');
  if (at === -1) return 'absent';
  const state = buf[at + SEA_FUSE.length + 1];
  return state === 0x31 ? 'flipped' : 'unflipped';
}

function inspectElf(bytes: Uint8Array): Omit<ExecutableInfo, 'fuse'> {
  const dv = view(bytes);
  if (bytes[4] !== 2) fail('ELF is not 64-bit (EI_CLASS != 2)');
  if (bytes[5] !== 1) fail('ELF is not little-endian');
  const machine = dv.getUint16(0x12, true);
  const phoff = Number(dv.getBigUint64(0x20, true));
  const phentsize = dv.getUint16(0x36, true);
  const phnum = dv.getUint16(0x38, true);
  let blob: SeaBlobLocation | null = null;
  for (let i = 0; i < phnum && blob === null; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > bytes.length) fail('program header table out of bounds');
    if (dv.getUint32(ph, true) !== PT_NOTE) continue;
    const start = Number(dv.getBigUint64(ph + 8, true));
    const end = start + Number(dv.getBigUint64(ph + 32, true));
    let pos = start;
    while (pos + 12 <= end && pos + 12 <= bytes.length) {
      const namesz = dv.getUint32(pos, true);
      const descsz = dv.getUint32(pos + 4, true);
      const nameStart = pos + 12;
      const descStart = nameStart + Math.ceil(namesz / 4) * 4;
      if (namesz > 0 && descsz > 0 && cString(bytes, nameStart, namesz) === SEA_RESOURCE) {
        blob = blobAt(bytes, descStart, descsz);
        break;
      }
      pos = descStart + Math.ceil(descsz / 4) * 4;
    }
  }
  return { format: 'elf', arch: archName(ELF_MACHINE, machine), bits: 64, signed: false, blob };
}

function inspectPe(bytes: Uint8Array): Omit<ExecutableInfo, 'fuse'> {
  const dv = view(bytes);
  const pe = dv.getUint32(0x3c, true);
  if (pe + 24 > bytes.length || dv.getUint32(pe, true) !== 0x00004550) fail('MZ without a PE\\0\\0 header');
  const machine = dv.getUint16(pe + 4, true);
  const sectionCount = dv.getUint16(pe + 6, true);
  const optSize = dv.getUint16(pe + 20, true);
  const opt = pe + 24;
  const magic = dv.getUint16(opt, true);
  const bits = magic === 0x20b ? 64 : magic === 0x10b ? 32 : fail(`unknown optional header magic 0x${magic.toString(16)}`);
  const dirs = opt + (bits === 64 ? 112 : 96);
  const dirCount = dv.getUint32(dirs - 4, true);
  const dir = (index: number): { rva: number; size: number } =>
    index < dirCount ? { rva: dv.getUint32(dirs + index * 8, true), size: dv.getUint32(dirs + index * 8 + 4, true) } : { rva: 0, size: 0 };
  const sections = Array.from({ length: sectionCount }, (_, i) => {
    const s = opt + optSize + i * 40;
    return { va: dv.getUint32(s + 12, true), vsize: Math.max(dv.getUint32(s + 8, true), dv.getUint32(s + 16, true)), raw: dv.getUint32(s + 20, true) };
  });
  const fileOffset = (rva: number): number => {
    const s = sections.find((x) => rva >= x.va && rva < x.va + x.vsize);
    return s === undefined ? fail(`RVA 0x${rva.toString(16)} is in no section`) : rva - s.va + s.raw;
  };
  const signed = dir(4).size > 0; // IMAGE_DIRECTORY_ENTRY_SECURITY (its "RVA" is a file offset)
  let blob: SeaBlobLocation | null = null;
  const resources = dir(2);
  if (resources.size > 0) {
    const base = fileOffset(resources.rva);
    const entries = (at: number): { id: number | string; target: number; isDir: boolean }[] => {
      const named = dv.getUint16(at + 12, true);
      const ids = dv.getUint16(at + 14, true);
      return Array.from({ length: named + ids }, (_, i) => {
        const e = at + 16 + i * 8;
        const name = dv.getUint32(e, true);
        const data = dv.getUint32(e + 4, true);
        let id: number | string = name;
        if (name & 0x80000000) {
          const s = base + (name & 0x7fffffff);
          id = Buffer.from(bytes.subarray(s + 2, s + 2 + dv.getUint16(s, true) * 2)).toString('utf16le');
        }
        return { id, target: base + (data & 0x7fffffff), isDir: (data & 0x80000000) !== 0 };
      });
    };
    const rcdata = entries(base).find((e) => e.id === RT_RCDATA && e.isDir);
    const named = rcdata && entries(rcdata.target).find((e) => typeof e.id === 'string' && e.id.toUpperCase() === SEA_RESOURCE);
    let node = named;
    for (let depth = 0; node?.isDir === true && depth < 4; depth++) node = entries(node.target)[0]; // language level
    if (node !== undefined && !node.isDir) blob = blobAt(bytes, fileOffset(dv.getUint32(node.target, true)), dv.getUint32(node.target + 4, true));
  }
  return { format: 'pe', arch: archName(PE_MACHINE, machine), bits, signed, blob };
}

function inspectMachO(bytes: Uint8Array): Omit<ExecutableInfo, 'fuse'> {
  const dv = view(bytes);
  const cpu = dv.getUint32(4, true);
  const ncmds = dv.getUint32(16, true);
  let at = 32;
  let signed = false;
  let blob: SeaBlobLocation | null = null;
  for (let i = 0; i < ncmds; i++) {
    if (at + 8 > bytes.length) fail('load commands out of bounds');
    const cmd = dv.getUint32(at, true);
    const size = dv.getUint32(at + 4, true);
    if (size < 8) fail('load command with size < 8');
    if (cmd === LC_CODE_SIGNATURE) signed = true;
    if (cmd === LC_SEGMENT_64 && cString(bytes, at + 8, 16) === 'NODE_SEA') {
      const nsects = dv.getUint32(at + 64, true);
      for (let s = 0; s < nsects; s++) {
        const sect = at + 72 + s * 80;
        if (cString(bytes, sect, 16) === `__${SEA_RESOURCE}`) {
          blob = blobAt(bytes, dv.getUint32(sect + 48, true), Number(dv.getBigUint64(sect + 40, true)));
        }
      }
    }
    at += size;
  }
  return { format: 'macho', arch: archName(MACHO_CPU, cpu), bits: 64, signed, blob };
}

/** Inspects the executable image `bytes` (the whole file); throws for anything else. */
export function inspectExecutable(bytes: Uint8Array): ExecutableInfo {
  if (bytes.length < 64) fail(`only ${bytes.length} bytes`);
  const dv = view(bytes);
  let info: Omit<ExecutableInfo, 'fuse'>;
  if (dv.getUint32(0, false) === 0x7f454c46) info = inspectElf(bytes);
  else if (bytes[0] === 0x4d && bytes[1] === 0x5a) info = inspectPe(bytes);
  else if (dv.getUint32(0, true) === 0xfeedfacf) info = inspectMachO(bytes);
  else if (dv.getUint32(0, false) === 0xcafebabe) fail('universal (fat) Mach-O binaries are not handled');
  else fail(`unknown magic 0x${dv.getUint32(0, false).toString(16).padStart(8, '0')}`);
  return { ...info, fuse: fuseState(bytes) };
}
