/**
 * Removes the static symbol table and the DWARF debug sections from a 64-bit little-endian ELF
 * executable (x86-64, aarch64), which is what `strip` does to the official Node binaries, without
 * depending on binutils (whose `strip` does not even read aarch64 files on an x86-64 machine).
 *
 * The official Linux Node binaries end with `.debug_*`, `.symtab`, `.strtab` (about 18 MB of
 * 127 MB), then `.shstrtab` and the section header table. Nothing the loader maps lives there, so
 * the file is cut before the first removed section, `.shstrtab` and the section headers are
 * written again after it, and section indices (`sh_link`, `sh_info` of SHF_INFO_LINK sections,
 * `e_shstrndx`) are renumbered. The dynamic symbol table (`.dynsym`, used by native addons) stays.
 * Any other layout is refused: the result must be exactly the input minus those sections.
 */

const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHF_ALLOC = 0x2;
const SHF_INFO_LINK = 0x40;
const SHDR_SIZE = 64;

interface Section {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  /** The raw 64-byte header. */
  header: Uint8Array;
}

/** What {@link stripElf} removed. */
export interface StripResult {
  bytes: Uint8Array;
  /** Names of the removed sections, in file order. */
  removed: string[];
  /** Bytes saved. */
  saved: number;
  /** The input's first `cut` bytes are kept as they are, but for the section header fields. */
  cut: number;
}

function cString(bytes: Uint8Array, offset: number): string {
  let end = offset;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.subarray(offset, end)).toString('latin1');
}

function sections(bytes: Uint8Array): { list: Section[]; shstrndx: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0) !== 0x7f454c46) throw new Error('strip: not an ELF file');
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error('strip: only 64-bit little-endian ELF files are handled');
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  if (shentsize !== SHDR_SIZE || shnum === 0 || shoff + shnum * SHDR_SIZE > bytes.length) throw new Error('strip: bad section header table');
  const raw: Omit<Section, 'name'>[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * SHDR_SIZE;
    nameOffsets.push(dv.getUint32(at, true));
    raw.push({
      index: i,
      type: dv.getUint32(at + 4, true),
      flags: dv.getBigUint64(at + 8, true),
      offset: Number(dv.getBigUint64(at + 24, true)),
      size: Number(dv.getBigUint64(at + 32, true)),
      link: dv.getUint32(at + 40, true),
      info: dv.getUint32(at + 44, true),
      header: bytes.slice(at, at + SHDR_SIZE),
    });
  }
  const names = raw[shstrndx];
  if (names === undefined || names.type !== SHT_STRTAB) throw new Error('strip: no section name table');
  const list = raw.map((s, i) => ({ ...s, name: cString(bytes, names.offset + (nameOffsets[i] ?? 0)) }));
  return { list, shstrndx };
}

/** The sections {@link stripElf} removes: `.debug_*`, the SYMTAB and the STRTAB it links to. */
function removable(list: Section[], shstrndx: number): Set<number> {
  const remove = new Set<number>();
  for (const s of list) {
    if ((s.flags & BigInt(SHF_ALLOC)) !== 0n) continue;
    if (s.name.startsWith('.debug_')) remove.add(s.index);
    if (s.type === SHT_SYMTAB) {
      remove.add(s.index);
      const strtab = list[s.link];
      if (strtab !== undefined && strtab.type === SHT_STRTAB && strtab.index !== shstrndx) remove.add(strtab.index);
    }
  }
  return remove;
}

/**
 * `bytes` without its static symbol table and debug sections (see the file comment). Returns the
 * input unchanged (`removed` empty) when there is nothing to remove. Throws when the removable
 * sections are not all at the end of the file's contents.
 */
export function stripElf(bytes: Uint8Array): StripResult {
  const { list, shstrndx } = sections(bytes);
  const remove = removable(list, shstrndx);
  if (remove.size === 0) return { bytes, removed: [], saved: 0, cut: bytes.length };
  const removed = list.filter((s) => remove.has(s.index));
  const cut = Math.min(...removed.map((s) => s.offset));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Everything kept (sections with contents, program headers' file ranges) must end before the cut.
  for (const s of list) {
    if (remove.has(s.index) || s.index === shstrndx || s.type === SHT_NOBITS || s.index === 0) continue;
    if (s.offset + s.size > cut) throw new Error(`strip: section ${s.name} lies after the debug sections; unexpected layout`);
  }
  const phoff = Number(dv.getBigUint64(0x20, true));
  const phentsize = dv.getUint16(0x36, true);
  const phnum = dv.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    const end = Number(dv.getBigUint64(at + 8, true)) + Number(dv.getBigUint64(at + 32, true));
    if (end > cut) throw new Error('strip: a program segment reaches into the debug sections; unexpected layout');
  }
  const names = list[shstrndx];
  if (names === undefined) throw new Error('strip: no section name table');
  const kept = list.filter((s) => !remove.has(s.index));
  const newIndex = new Map(kept.map((s, i) => [s.index, i]));
  const shstrOffset = cut;
  const shoff = Math.ceil((shstrOffset + names.size) / 8) * 8;
  const out = new Uint8Array(shoff + kept.length * SHDR_SIZE);
  out.set(bytes.subarray(0, cut), 0);
  out.set(bytes.subarray(names.offset, names.offset + names.size), shstrOffset);
  const odv = new DataView(out.buffer);
  kept.forEach((s, i) => {
    const at = shoff + i * SHDR_SIZE;
    out.set(s.header, at);
    if (s.index === shstrndx) odv.setBigUint64(at + 24, BigInt(shstrOffset), true);
    odv.setUint32(at + 40, newIndex.get(s.link) ?? 0, true);
    if ((s.flags & BigInt(SHF_INFO_LINK)) !== 0n) odv.setUint32(at + 44, newIndex.get(s.info) ?? 0, true);
  });
  odv.setBigUint64(0x28, BigInt(shoff), true);
  odv.setUint16(0x3c, kept.length, true);
  odv.setUint16(0x3e, newIndex.get(shstrndx) ?? 0, true);
  return { bytes: out, removed: removed.map((s) => s.name), saved: bytes.length - out.length, cut };
}

/** The section names of a 64-bit little-endian ELF file, in header order. */
export function elfSectionNames(bytes: Uint8Array): string[] {
  return sections(bytes).list.map((s) => s.name);
}
