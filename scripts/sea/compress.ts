/**
 * The packed sidecar the addon zip ships: `pkarr-sidecar.zst` (one Zstandard frame with its
 * content checksum) and `pkarr-sidecar.json` (the manifest with the executable's size and
 * SHA-256). The addon (addons/pkarr/connection/pkarr_sidecar_package.gd) decompresses it with Godot's
 * `PackedByteArray.decompress(size, FileAccess.COMPRESSION_ZSTD)`, checks size and SHA-256,
 * and only then makes it executable. Zstandard because it is the best ratio Godot can decompress
 * (no xz/LZMA in Godot 4.3–4.6; gzip/deflate ≈ 30 % larger).
 *
 * Compressing 110 MB at level 19 takes about a minute, so results are cached in
 * `.cache/sea/packed/` by the executable's hash and the level.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { constants, zstdCompress, zstdDecompressSync } from 'node:zlib';

const compress = promisify(zstdCompress);

/** File names next to each other in `addons/pkarr/bin/<platform>/`. */
export const PACKED_NAME = 'pkarr-sidecar.zst';
export const MANIFEST_NAME = 'pkarr-sidecar.json';
/** The level the release zip uses (`--zstd-level`). */
export const DEFAULT_ZSTD_LEVEL = 19;

/** `pkarr-sidecar.json`. Field names are the ones PkarrSidecarPackage reads. */
export interface SidecarManifest {
  format: 1;
  /** The executable's file name once unpacked. */
  file: 'pkarr-sidecar' | 'pkarr-sidecar.exe';
  compression: 'zstd';
  /** Size and SHA-256 (hex) of the executable. */
  size: number;
  sha256: string;
  /** Size and SHA-256 of the `.zst` file. */
  packed_size: number;
  packed_sha256: string;
  zstd_level: number;
}

/** A packed sidecar: the `.zst` bytes and their manifest. */
export interface PackedSidecar {
  packed: Buffer;
  manifest: SidecarManifest;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Compresses `binary` (the executable named `file`) at `level` (1–22). */
export async function packSidecar(binary: Uint8Array, file: SidecarManifest['file'], level = DEFAULT_ZSTD_LEVEL): Promise<PackedSidecar> {
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new Error(`zstd level must be 1..22, got ${level}`);
  const packed = await compress(binary, {
    params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 1 },
    pledgedSrcSize: binary.length,
  });
  const manifest: SidecarManifest = {
    format: 1,
    file,
    compression: 'zstd',
    size: binary.length,
    sha256: sha256(binary),
    packed_size: packed.length,
    packed_sha256: sha256(packed),
    zstd_level: level,
  };
  return { packed, manifest };
}

/** The manifest as written to `pkarr-sidecar.json`. */
export function manifestText(manifest: SidecarManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * The executable inside `packed`, checked the way the addon checks it (the `.zst`'s size and
 * SHA-256 before decompressing, then the executable's); throws on any mismatch. The reference
 * for PkarrSidecarPackage.unpack.
 */
export function unpackSidecar(packed: Uint8Array, manifest: SidecarManifest): Buffer {
  if (packed.length !== manifest.packed_size) throw new Error(`packed sidecar has ${packed.length} bytes, manifest says ${manifest.packed_size}`);
  const packedDigest = sha256(packed);
  if (packedDigest !== manifest.packed_sha256) throw new Error(`packed sidecar's SHA-256 ${packedDigest}, manifest says ${manifest.packed_sha256}`);
  const binary = zstdDecompressSync(packed);
  if (binary.length !== manifest.size) throw new Error(`unpacked to ${binary.length} bytes, manifest says ${manifest.size}`);
  const digest = sha256(binary);
  if (digest !== manifest.sha256) throw new Error(`unpacked SHA-256 ${digest}, manifest says ${manifest.sha256}`);
  return binary;
}

/**
 * {@link packSidecar} of the file at `binaryPath`, cached in `cacheDir` by its SHA-256 and the
 * level (a cached pair is used only when the `.zst` still matches its manifest).
 */
export async function packedSidecarCached(binaryPath: string, file: SidecarManifest['file'], cacheDir: string, level = DEFAULT_ZSTD_LEVEL): Promise<PackedSidecar & { cached: boolean }> {
  const binary = await readFile(binaryPath);
  const key = `${sha256(binary).slice(0, 32)}-${level}`;
  const zstPath = join(cacheDir, `${key}.zst`);
  const jsonPath = join(cacheDir, `${key}.json`);
  const cached = await Promise.all([readFile(zstPath), readFile(jsonPath, 'utf8')]).catch(() => null);
  if (cached !== null) {
    const manifest = JSON.parse(cached[1]) as SidecarManifest;
    if (manifest.file === file && manifest.packed_sha256 === sha256(cached[0]) && manifest.sha256 === sha256(binary)) {
      return { packed: cached[0], manifest, cached: true };
    }
  }
  const result = await packSidecar(binary, file, level);
  await mkdir(cacheDir, { recursive: true });
  const suffix = `.tmp-${process.pid}`;
  await writeFile(zstPath + suffix, result.packed);
  await writeFile(jsonPath + suffix, manifestText(result.manifest));
  await rename(zstPath + suffix, zstPath);
  await rename(jsonPath + suffix, jsonPath);
  return { ...result, cached: false };
}
