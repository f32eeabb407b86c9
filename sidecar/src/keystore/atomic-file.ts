/**
 * Crash-safe small-file writes: readers only ever see the complete old content or the complete new
 * content, even when the process is killed (SIGKILL, power loss) in the middle of a write.
 *
 * Recipe: a temp file in the same directory (O_CREAT|O_EXCL, the final mode from the start) →
 * write → fsync → rename (or link, for create-only) over the target → fsync the directory.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, link, rename, unlink, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PkarrError } from '../core/errors.ts';

/** Suffix of in-flight temp files: `<target>.tmp-<hex>`. Never matches a `*.key` name. */
const TEMP_MARKER = '.tmp-';

export interface AtomicWriteOptions {
  /** Permission bits of the new file (default 0o600). */
  mode?: number;
  /** true: fail with EEXIST instead of replacing an existing target (atomic create-only). */
  exclusive?: boolean;
}

function ioError(action: string, path: string, err: unknown): PkarrError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
  return new PkarrError('IO_ERROR', `${action} ${path} failed: ${code}`, { errno: code }, { cause: err });
}

/** fsync a directory so a rename/link/unlink inside it survives a crash (no-op where unsupported). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (err) {
    // Windows cannot open directories; some file systems refuse fsync on them. Best effort.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw ioError('fsync', dir, err);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Writes `data` to `path` atomically. With `exclusive`, throws a PkarrError IO_ERROR whose
 * `details.errno` is `EEXIST` when the target already exists (and leaves it untouched).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = dirname(path);
  const temp = join(dir, `${basename(path)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;
  let handle;
  try {
    handle = await open(temp, flags, mode);
  } catch (err) {
    throw ioError('create', temp, err);
  }
  let placed = false;
  try {
    try {
      await handle.writeFile(data);
      // umask may have narrowed the mode; make it exact (e.g. 0600 even under umask 077 is a no-op).
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      if (options.exclusive) {
        await link(temp, path); // EEXIST if the target exists: create-only, never clobbers
      } else {
        await rename(temp, path);
        placed = true;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new PkarrError('IO_ERROR', `${path} already exists`, { errno: 'EEXIST' }, { cause: err });
      }
      throw ioError(options.exclusive ? 'link' : 'rename', path, err);
    }
  } finally {
    if (!placed) await unlink(temp).catch(() => undefined);
  }
  await fsyncDir(dir);
}

/** True for names of temp files left by writeFileAtomic. */
export function isAtomicTempName(name: string): boolean {
  return name.includes(TEMP_MARKER);
}

/**
 * Removes temp files older than `minAgeMs` left in `dir` by a process killed mid-write.
 * Younger ones may belong to a live writer and are kept.
 */
export async function removeStaleTempFiles(dir: string, minAgeMs = 60_000): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const now = Date.now();
  for (const name of names) {
    if (!isAtomicTempName(name)) continue;
    const full = join(dir, name);
    try {
      const info = await stat(full);
      // Date.now() is whole milliseconds, but mtime has sub-millisecond precision (fine-grained
      // timestamps on Linux >= 6.13): a file written within the current millisecond would look up to
      // 1 ms in the future. Compare at the clock's own resolution.
      if (now - Math.floor(info.mtimeMs) >= minAgeMs) {
        await unlink(full);
        removed++;
      }
    } catch {
      // raced with its writer or another cleaner: fine
    }
  }
  return removed;
}
