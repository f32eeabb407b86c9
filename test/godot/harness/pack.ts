/**
 * Builds a Godot `mainPack` (a ZIP whose root is `res://`) from a project directory, optional
 * directories mounted at other `res://` paths, and generated files.
 *
 * Without the editor nothing is imported, so the pack carries sources only (scripts, text scenes
 * and resources, JSON, configs) and a GENERATED `.godot/global_script_class_cache.cfg`, built by
 * scanning every `.gd` for `class_name` / `extends` / `@tool` / `@abstract` / `@icon`. Without
 * that cache the engine prints "Could not load global script cache" and `class_name` globals do
 * not resolve (Godot 4 keeps global classes in that cache, not in `project.godot`; a hand-written
 * cache works, checked on the 4.6 web build).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { createZip, type ZipEntry } from '../../../scripts/zip.ts';

/** Content of a generated file: text (UTF-8) or bytes. */
export type PackFileData = string | Uint8Array;

/** Input for {@link buildPack}. */
export interface PackOptions {
  /** Project directory (holds `project.godot`); becomes `res://`. Optional if `files` has it. */
  project?: string;
  /**
   * Host directories overlaid at `res://` paths, applied after `project` (later wins), e.g.
   * `{ 'res://addons/pkarr': '<repo>/addons/pkarr' }`.
   */
  mounts?: Record<string, string>;
  /** Generated files keyed by `res://` path, applied last, e.g. `res://test_config.json`. */
  files?: Record<string, PackFileData>;
  /**
   * File filter: return false to leave a host file out. Gets the `res://` path and host path.
   * Always skipped: hidden files and folders (`.godot/`, `.git/`, ...), folders holding a
   * `.gdignore`, and `*.import` files (their imported data does not exist without the editor).
   */
  include?: (resPath: string, hostPath: string) => boolean;
}

/** One row of the global script class cache. */
export interface GlobalClass {
  class: string;
  base: string;
  path: string;
  icon: string;
  isTool: boolean;
  isAbstract: boolean;
}

/** Result of {@link buildPack}. */
export interface BuiltPack {
  /** The ZIP bytes, ready to serve as the engine's `mainPack`. */
  zip: Buffer;
  /** Every file in the pack (`res://` paths), sorted. */
  paths: string[];
  /** Classes written to `.godot/global_script_class_cache.cfg`. */
  classes: GlobalClass[];
}

/** Path of the generated class cache inside the pack. */
export const CLASS_CACHE_PATH = 'res://.godot/global_script_class_cache.cfg';

/** Normalises `res://a/b`, `a/b` or `/a/b` to the pack-relative form `a/b` (no trailing `/`). */
export function toPackPath(resPath: string): string {
  const p = resPath.replace(/^res:\/\//, '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (p.split('/').some((s) => s === '..')) throw new Error(`pack: invalid path ${resPath}`);
  return p;
}

async function walk(
  dir: string,
  root: string,
  into: string,
  include: PackOptions['include'],
  out: Map<string, PackFileData>,
): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  if (dir !== root && entries.some((e) => e.name === '.gdignore')) return;
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const host = join(dir, e.name);
    if (e.isDirectory()) {
      await walk(host, root, into, include, out);
    } else if (e.isFile() && !e.name.endsWith('.import')) {
      const rel = relative(root, host).split(sep).join('/');
      const packPath = into ? `${into}/${rel}` : rel;
      if (include && !include(`res://${packPath}`, host)) continue;
      out.set(packPath, await readFile(host));
    }
  }
}

function text(data: PackFileData): string {
  return typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
}

interface ScannedScript {
  className?: string;
  extendsName?: string;
  extendsPath?: string;
  icon: string;
  isTool: boolean;
  isAbstract: boolean;
}

/**
 * Reads the class header of a GDScript source: `class_name`, `extends` (a class name or a
 * `"res://…"` path), `@tool`, `@abstract` and `@icon("…")`. Only unindented lines are read, so
 * inner classes (`class Foo extends Bar:`) are ignored.
 */
export function scanScript(source: string): ScannedScript {
  const out: ScannedScript = { icon: '', isTool: false, isAbstract: false };
  for (const rawLine of source.split(/\r?\n/)) {
    if (/^\s/.test(rawLine)) continue;
    const line = rawLine.replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (/^(func|static|var|const|signal|enum|class)\b/.test(line)) break;
    if (/(^|\s)@tool\b/.test(line)) out.isTool = true;
    if (/(^|\s)@abstract\b/.test(line)) out.isAbstract = true;
    const icon = /@icon\(\s*"([^"]*)"\s*\)/.exec(line);
    if (icon?.[1] !== undefined) out.icon = icon[1];
    const cls = /(?:^|\s)class_name\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(line);
    if (cls?.[1] !== undefined) out.className = cls[1];
    const extPath = /(?:^|\s)extends\s+"([^"]+)"/.exec(line) ?? /(?:^|\s)extends\s+'([^']+)'/.exec(line);
    const extName = /(?:^|\s)extends\s+([A-Za-z_][A-Za-z0-9_.]*)/.exec(line);
    if (extPath?.[1] !== undefined) out.extendsPath = extPath[1];
    else if (extName?.[1] !== undefined) out.extendsName = extName[1];
  }
  return out;
}

/**
 * Computes the global class list for a set of pack files. The `base` of a class is the name in
 * its `extends` (a native or global class), `RefCounted` without `extends`, and for
 * `extends "res://x.gd"` the `class_name` of that script (or, if it has none, its own base).
 * Throws when two scripts declare the same `class_name`.
 */
export function buildClassList(files: ReadonlyMap<string, PackFileData>): GlobalClass[] {
  const scanned = new Map<string, ScannedScript>();
  for (const [path, data] of files) if (path.endsWith('.gd')) scanned.set(path, scanScript(text(data)));

  const baseOf = (path: string, depth: number): string => {
    const s = scanned.get(path);
    if (!s || depth > 32) return 'RefCounted';
    if (s.extendsName !== undefined) return s.extendsName;
    if (s.extendsPath === undefined) return 'RefCounted';
    const parentPath = toPackPath(s.extendsPath);
    const parent = scanned.get(parentPath);
    if (parent?.className !== undefined) return parent.className;
    return baseOf(parentPath, depth + 1);
  };

  const classes: GlobalClass[] = [];
  const owners = new Map<string, string>();
  for (const [path, s] of scanned) {
    if (s.className === undefined) continue;
    const prev = owners.get(s.className);
    if (prev !== undefined) {
      throw new Error(`pack: class_name ${s.className} declared by both res://${prev} and res://${path}`);
    }
    owners.set(s.className, path);
    classes.push({
      class: s.className,
      base: baseOf(path, 0),
      path: `res://${path}`,
      icon: s.icon,
      isTool: s.isTool,
      isAbstract: s.isAbstract,
    });
  }
  classes.sort((a, b) => (a.class < b.class ? -1 : a.class > b.class ? 1 : 0));
  return classes;
}

/** Serialises the class list as Godot's `global_script_class_cache.cfg` (a ConfigFile). */
export function formatClassCache(classes: readonly GlobalClass[]): string {
  const str = (s: string): string => JSON.stringify(s); // GDScript string escapes match JSON's here
  const rows = classes.map(
    (c) =>
      `{\n"base": &${str(c.base)},\n"class": &${str(c.class)},\n"icon": ${str(c.icon)},\n` +
      `"is_abstract": ${c.isAbstract},\n"is_tool": ${c.isTool},\n"language": &"GDScript",\n` +
      `"path": ${str(c.path)}\n}`,
  );
  return `list=[${rows.join(', ')}]\n`;
}

/** Collects every file of a pack (project, mounts, generated files) keyed by pack path. */
export async function collectPackFiles(options: PackOptions): Promise<Map<string, PackFileData>> {
  const files = new Map<string, PackFileData>();
  if (options.project !== undefined) {
    await walk(options.project, options.project, '', options.include, files);
  }
  for (const [res, host] of Object.entries(options.mounts ?? {})) {
    const into = toPackPath(res);
    for (const key of [...files.keys()]) if (key.startsWith(`${into}/`)) files.delete(key);
    await walk(host, host, into, options.include, files);
  }
  for (const [res, data] of Object.entries(options.files ?? {})) files.set(toPackPath(res), data);
  if (!files.has('project.godot')) {
    throw new Error('pack: no project.godot (give `project` or files["res://project.godot"])');
  }
  return files;
}

/**
 * Builds the `mainPack` ZIP: all collected files plus the generated class cache.
 * `project.godot` comes first; the rest is sorted by path.
 */
export async function buildPack(options: PackOptions): Promise<BuiltPack> {
  const files = await collectPackFiles(options);
  const classes = buildClassList(files);
  files.set(toPackPath(CLASS_CACHE_PATH), formatClassCache(classes));
  const paths = [...files.keys()].sort((a, b) =>
    a === 'project.godot' ? -1 : b === 'project.godot' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const entries: ZipEntry[] = paths.map((p) => ({ path: p, data: files.get(p) ?? '' }));
  return { zip: createZip(entries, { level: 6 }), paths: paths.map((p) => `res://${p}`), classes };
}
