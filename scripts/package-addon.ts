/**
 * Packages the Godot addon for the Asset Library / a GitHub release:
 * `build/pkarr-godot-addon-<version>.zip` holding `addons/pkarr/…` and nothing else (the Asset
 * Library installs `addons/<name>/` and wants LICENSE and README inside it): every addon file
 * (plugin.cfg, scripts, LICENSE, README, icon) plus, per platform in
 * `addons/pkarr/bin/<platform>/`, the packed sidecar (`pkarr-sidecar.zst` + `pkarr-sidecar.json`,
 * scripts/sea/compress.ts) that the addon unpacks on first use, or with `--raw` the executables
 * themselves (mode 0755).
 *
 * First the offline targets are (re)built unless up to date (scripts/build-sidecar.ts); platforms
 * whose binary is still missing (macos-arm64 needs a Mac) are reported loudly and left out.
 * `--platform` (repeatable) makes a zip for just those platforms (`…-<version>-<platform>.zip`).
 *
 *   node scripts/package-addon.ts [--out FILE] [--no-build] [--level 0-9] [--raw]
 *                                 [--zstd-level 1-22] [--platform NAME]…
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSidecars, checkExecutable, projectVersion, REPO_ROOT, sidecarPath } from './build-sidecar.ts';
import { inspectExecutable } from './sea/executable-info.ts';
import { DEFAULT_ZSTD_LEVEL, MANIFEST_NAME, manifestText, PACKED_NAME, packedSidecarCached, type SidecarManifest } from './sea/compress.ts';
import { ADDON_PLATFORM_DIRS, SEA_TARGETS, UNBUILDABLE_PLATFORMS } from './sea/targets.ts';
import { createZip, type ZipEntry } from './zip.ts';

/** Options of {@link packageAddon}. */
export interface PackageOptions {
  /** Repository root (default: this checkout). */
  root?: string;
  /** Output file (default `build/pkarr-godot-addon-<version>.zip`). */
  out?: string;
  /** Build or refresh the offline targets first (default true). */
  build?: boolean;
  /** Deflate level 0..9 (default 9). */
  level?: number;
  /** Ship the executables themselves instead of the packed sidecars (default false). */
  raw?: boolean;
  /** Zstandard level of the packed sidecars, 1..22 (default 19). */
  zstdLevel?: number;
  /** Only these platform folders (default all of {@link ADDON_PLATFORM_DIRS}). */
  platforms?: string[];
  /** Progress and warnings (default: stderr). */
  log?: (line: string) => void;
}

/** What {@link packageAddon} wrote. */
export interface PackageResult {
  path: string;
  bytes: number;
  /** Archive paths, in archive order. */
  entries: string[];
  /** Platform folders with a sidecar in the archive. */
  platforms: string[];
  /** Per platform in the archive: executable size and, when packed, the packed size. */
  sizes: { platform: string; executable: number; packed?: number }[];
  /** Platform folders without one, with the reason. */
  missing: { platform: string; reason: string }[];
  warnings: string[];
}

const ADDON = 'addons/pkarr';
const BINARY_NAMES = ['pkarr-sidecar', 'pkarr-sidecar.exe'];

/** Addon files outside bin/, as archive paths (sorted). Hidden files and folders are skipped. */
async function addonFiles(root: string): Promise<string[]> {
  const base = join(root, ADDON);
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') && entry.name !== '.gdignore') continue;
      const full = join(dir, entry.name);
      const rel = relative(base, full).split(sep).join('/');
      if (entry.isDirectory()) {
        if (rel !== 'bin') await walk(full);
      } else if (entry.isFile()) {
        found.push(`${ADDON}/${rel}`);
      }
    }
  };
  await walk(base);
  return found.sort();
}

function banner(lines: string[]): string {
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '!'.repeat(width + 4);
  return [rule, ...lines.map((l) => `! ${l.padEnd(width)} !`), rule].join('\n');
}

/** Checks a macos-arm64 binary made on a Mac: Mach-O arm64, fuse flipped, blob, signed. */
function checkAppleSilicon(bytes: Uint8Array): string[] {
  const info = inspectExecutable(bytes);
  const problems: string[] = [];
  if (info.format !== 'macho' || info.arch !== 'arm64') problems.push(`is ${info.format} ${info.arch}, not Mach-O arm64`);
  if (info.fuse !== 'flipped' || info.blob?.magicOk !== true) problems.push('has no SEA blob');
  if (!info.signed) problems.push('is not signed (run codesign --sign - on a Mac; Apple Silicon refuses unsigned code)');
  return problems;
}

/** Builds the addon archive (see the file comment). */
export async function packageAddon(options: PackageOptions = {}): Promise<PackageResult> {
  const root = options.root ?? REPO_ROOT;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const version = await projectVersion(root);
  const wanted = options.platforms ?? [...ADDON_PLATFORM_DIRS];
  for (const platform of wanted) {
    if (!ADDON_PLATFORM_DIRS.includes(platform)) throw new Error(`unknown platform ${JSON.stringify(platform)}; use ${ADDON_PLATFORM_DIRS.join(', ')}`);
  }
  const suffix = options.platforms === undefined ? '' : `-${wanted.join('+')}`;
  const out = options.out ?? join(root, 'build', `pkarr-godot-addon-${version}${suffix}.zip`);
  const warnings: string[] = [];
  const warn = (message: string): void => { warnings.push(message); log(`warning: ${message}`); };
  const zstdLevel = options.zstdLevel ?? DEFAULT_ZSTD_LEVEL;

  if (options.build !== false) await buildSidecars(SEA_TARGETS.filter((t) => wanted.includes(t.platformDir)), { root, log });

  const files = await addonFiles(root);
  const names = new Set(files.map((f) => f.slice(ADDON.length + 1)));
  if (!names.has('plugin.cfg')) throw new Error(`${ADDON}/plugin.cfg is missing: not an addon`);
  if (!names.has('LICENSE') && !names.has('LICENSE.md')) warn(`${ADDON} has no LICENSE (the Asset Library wants a copy inside the plugin folder)`);
  if (!names.has('README.md')) warn(`${ADDON} has no README.md`);
  if (![...names].some((n) => /^icon\.(svg|png)$/.test(n))) warn(`${ADDON} has no icon.svg/icon.png (the Asset Library needs a square icon ≥ 128 px)`);
  const cfgVersion = /^version="([^"]*)"/m.exec(await readFile(join(root, ADDON, 'plugin.cfg'), 'utf8'))?.[1];
  if (cfgVersion !== version) warn(`plugin.cfg version ${JSON.stringify(cfgVersion)} differs from package.json ${version}`);

  const entries: ZipEntry[] = [];
  for (const file of files) entries.push({ path: file, data: await readFile(join(root, file)) });

  const platforms: string[] = [];
  const sizes: PackageResult['sizes'] = [];
  const missing: { platform: string; reason: string }[] = [];
  // Godot's editor neither imports nor lists what is under bin/ (the export plugin copies it).
  entries.push({ path: `${ADDON}/bin/.gdignore`, data: '' });
  for (const platform of wanted) {
    const target = SEA_TARGETS.find((t) => t.platformDir === platform);
    const candidates = target ? [sidecarPath(target, root)] : BINARY_NAMES.map((n) => join(root, ADDON, 'bin', platform, n));
    let path: string | undefined;
    for (const candidate of candidates) {
      if ((await stat(candidate).catch(() => null))?.isFile()) { path = candidate; break; }
    }
    if (path === undefined) {
      missing.push({ platform, reason: UNBUILDABLE_PLATFORMS[platform] ?? `not built: npm run build:sidecar -- --target ${target?.name ?? platform}` });
      continue;
    }
    const bytes = await readFile(path);
    if (target) checkExecutable(inspectExecutable(bytes), target);
    else for (const problem of checkAppleSilicon(bytes)) warn(`${platform} sidecar ${problem}`);
    const archivePath = relative(root, path).split(sep).join('/');
    if (options.raw === true) {
      entries.push({ path: archivePath, data: bytes, mode: 0o755 });
      sizes.push({ platform, executable: bytes.length });
    } else {
      const started = Date.now();
      const file = path.endsWith('.exe') ? 'pkarr-sidecar.exe' : 'pkarr-sidecar';
      const packed = await packedSidecarCached(path, file as SidecarManifest['file'], join(root, '.cache', 'sea', 'packed'), zstdLevel);
      const dir = archivePath.slice(0, archivePath.lastIndexOf('/'));
      // Zstandard output does not deflate: store it.
      entries.push({ path: `${dir}/${PACKED_NAME}`, data: packed.packed, compression: 'store' });
      entries.push({ path: `${dir}/${MANIFEST_NAME}`, data: manifestText(packed.manifest) });
      sizes.push({ platform, executable: bytes.length, packed: packed.packed.length });
      const how = packed.cached ? 'cached' : `zstd -${zstdLevel} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
      log(`${platform}: ${(bytes.length / 1e6).toFixed(1)} MB -> ${(packed.packed.length / 1e6).toFixed(1)} MB packed (${how})`);
    }
    platforms.push(platform);
  }
  if (missing.length > 0) {
    const lines = [`THE ADDON ZIP HAS NO SIDECAR FOR ${missing.length} PLATFORM(S):`, ...missing.map((m) => `  ${m.platform}: ${m.reason}`)];
    log(banner(lines));
    warnings.push(...missing.map((m) => `no sidecar for ${m.platform}`));
  }

  const zip = createZip(entries, { level: options.level ?? 9, comment: `pkarr-godot addon ${version}` });
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, zip);
  log(`wrote ${out}: ${entries.length} files, ${(zip.length / 1e6).toFixed(1)} MB; sidecars: ${platforms.join(', ') || 'none'}`);
  return { path: out, bytes: zip.length, entries: entries.map((e) => e.path), platforms, sizes, missing, warnings };
}

async function cli(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        'no-build': { type: 'boolean' },
        level: { type: 'string' },
        raw: { type: 'boolean' },
        'zstd-level': { type: 'string' },
        platform: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`usage: node scripts/package-addon.ts [--out FILE] [--no-build] [--level 0-9] [--raw] [--zstd-level 1-22] [--platform NAME]…
  --raw          ship the executables instead of the packed sidecars (.zst + manifest)
  --platform     only this platform folder (${ADDON_PLATFORM_DIRS.join(', ')}); repeatable\n`);
    return 0;
  }
  const level = values.level === undefined ? undefined : Number(values.level);
  if (level !== undefined && !(Number.isInteger(level) && level >= 0 && level <= 9)) {
    process.stderr.write(`--level must be 0..9, got ${values.level}\n`);
    return 2;
  }
  const zstdLevel = values['zstd-level'] === undefined ? undefined : Number(values['zstd-level']);
  if (zstdLevel !== undefined && !(Number.isInteger(zstdLevel) && zstdLevel >= 1 && zstdLevel <= 22)) {
    process.stderr.write(`--zstd-level must be 1..22, got ${values['zstd-level']}\n`);
    return 2;
  }
  // Target names (win-x64, darwin-x64) are accepted for their platform folders.
  const folderOf = (name: string): string => SEA_TARGETS.find((t) => t.name === name)?.platformDir ?? name;
  const platforms = values.platform?.flatMap((p) => p.split(',')).map((p) => folderOf(p.trim()));
  await packageAddon({
    ...(values.out === undefined ? {} : { out: resolve(values.out) }),
    ...(level === undefined ? {} : { level }),
    ...(zstdLevel === undefined ? {} : { zstdLevel }),
    ...(platforms === undefined ? {} : { platforms }),
    raw: values.raw === true,
    build: values['no-build'] !== true,
  });
  return 0;
}

if (import.meta.main) {
  cli(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      process.stderr.write(`package-addon: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
