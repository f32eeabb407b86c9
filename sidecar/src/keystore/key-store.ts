/**
 * The sidecar's secret key store: one file per named key, `<dataDir>/keys/<name>.key`, holding the
 * 64 lowercase hex characters of the Ed25519 seed (the reference key-file form, pkarr
 * `write_secret_key_file`), mode 0600 in a 0700 directory, always written atomically
 * (atomic-file.ts).
 *
 * Secrets leave the store only through `exportSecret` (the `keys.export` RPC method). Errors are
 * PkarrErrors; not-found and already-exists carry `details.reason` `KEY_NOT_FOUND` / `KEY_EXISTS`.
 */
import { chmod, mkdir, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { readdirSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { PkarrError, isPkarrError } from '../core/errors.ts';
import { Keypair, type PublicKey } from '../core/keys.ts';
import { mapLimited } from '../util/map-limited.ts';
import { fsyncDir, removeStaleTempFiles, writeFileAtomic } from './atomic-file.ts';
import { KeyListCache, type KeyFileOutcome } from './list-cache.ts';

/** Allowed key names (also the file stem). */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const KEY_FILE_PATTERN = /^([A-Za-z0-9_.-]{1,64})\.key$/;
/** Key files `list()` examines at once (bounds open files and thread-pool work per call). */
const LIST_CONCURRENCY = 8;

/** Why a key-store operation failed, for callers that report finer codes than PkarrError's. */
export type KeyStoreFailure = 'KEY_NOT_FOUND' | 'KEY_EXISTS';

export interface StoredKey {
  name: string;
  publicKey: PublicKey;
}

export interface ExportedKey extends StoredKey {
  /** 64 lowercase hex characters of the seed. */
  secretKey: string;
}

/** Returns `KEY_NOT_FOUND` / `KEY_EXISTS` for the store's own failures, else null. */
export function keyStoreFailure(err: unknown): KeyStoreFailure | null {
  if (!isPkarrError(err)) return null;
  const reason = err.details?.['reason'];
  return reason === 'KEY_NOT_FOUND' || reason === 'KEY_EXISTS' ? reason : null;
}

/** Throws INVALID_ARGUMENT unless `name` matches KEY_NAME_PATTERN. */
export function assertKeyName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !KEY_NAME_PATTERN.test(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : typeof name;
    throw new PkarrError('INVALID_ARGUMENT', `invalid key name ${shown}: expected 1-64 characters from A-Z a-z 0-9 _ . -`);
  }
}

function notFound(name: string): PkarrError {
  return new PkarrError('NOT_FOUND', `no key named "${name}"`, { reason: 'KEY_NOT_FOUND', name });
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export class KeyStore {
  /** `<dataDir>/keys`. */
  readonly dir: string;
  readonly #listCache = new KeyListCache();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens (creating with mode 0700 if needed) `<dataDir>/keys` and clears stale temp files. */
  static async open(dataDir: string): Promise<KeyStore> {
    const dir = join(dataDir, 'keys');
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (process.platform !== 'win32') await chmod(dir, 0o700);
    } catch (err) {
      throw new PkarrError('IO_ERROR', `cannot create key directory ${dir}: ${errnoOf(err) ?? String(err)}`, undefined, { cause: err });
    }
    await removeStaleTempFiles(dir);
    return new KeyStore(dir);
  }

  /** Path of the key file for `name` (validated). */
  pathOf(name: string): string {
    assertKeyName(name);
    return join(this.dir, `${name}.key`);
  }

  /** The keypair stored under `name`; NOT_FOUND (reason KEY_NOT_FOUND) when absent. */
  async get(name: string): Promise<Keypair> {
    const path = this.pathOf(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw notFound(name);
      throw new PkarrError('IO_ERROR', `cannot read key "${name}": ${errnoOf(err) ?? String(err)}`, undefined, { cause: err });
    }
    try {
      return Keypair.fromSecretKeyHex(text);
    } catch {
      // Never echo the file content: it is (part of) a secret.
      throw new PkarrError('INVALID_SECRET_KEY', `key file ${path} is corrupt: expected 64 hex characters`);
    }
  }

  /** True when a key named `name` exists. */
  async has(name: string): Promise<boolean> {
    try {
      await this.get(name);
      return true;
    } catch (err) {
      if (keyStoreFailure(err) === 'KEY_NOT_FOUND') return false;
      throw err;
    }
  }

  /**
   * All readable keys, sorted by name. Unreadable or corrupt files are skipped and reported
   * through `onSkip` (with the name only, never the content), on every call.
   *
   * Each call lists the directory and stats every key file; a file is read (and its public key
   * derived) only when it is new or its identity changed since an earlier call (list-cache.ts).
   */
  async list(onSkip?: (name: string, err: unknown) => void): Promise<StoredKey[]> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        this.#listCache.retain(new Set());
        return [];
      }
      throw new PkarrError('IO_ERROR', `cannot list ${this.dir}: ${errnoOf(err) ?? String(err)}`, undefined, { cause: err });
    }
    const names = files.map((f) => KEY_FILE_PATTERN.exec(f)?.[1]).filter((n): n is string => n !== undefined).sort();
    this.#listCache.retain(new Set(names));
    const outcomes = await mapLimited(names, LIST_CONCURRENCY, (name) => this.#examine(name));
    const out: StoredKey[] = [];
    names.forEach((name, i) => {
      const outcome = outcomes[i]!;
      if ('publicKey' in outcome) out.push({ name, publicKey: outcome.publicKey });
      else onSkip?.(name, outcome.error);
    });
    return out;
  }

  /** The public key in `<name>.key`, from the list cache while the file is unchanged. */
  async #examine(name: string): Promise<KeyFileOutcome> {
    const path = join(this.dir, `${name}.key`);
    const statStarted = Date.now();
    let stats: BigIntStats;
    try {
      stats = await stat(path, { bigint: true });
    } catch (err) {
      this.#listCache.forget(name);
      if (errnoOf(err) === 'ENOENT') return { error: notFound(name) }; // deleted since the readdir
      return { error: new PkarrError('IO_ERROR', `cannot read key "${name}": ${errnoOf(err) ?? String(err)}`, undefined, { cause: err }) };
    }
    const cached = this.#listCache.lookup(name, stats);
    if (cached !== null) return cached;
    let outcome: KeyFileOutcome;
    try {
      outcome = { publicKey: (await this.get(name)).publicKey };
    } catch (err) {
      outcome = { error: err };
    }
    // Keys and corrupt content are facts about this file version; I/O failures are retried.
    if ('publicKey' in outcome || isPkarrError(outcome.error, 'INVALID_SECRET_KEY')) this.#listCache.remember(name, stats, outcome, statStarted);
    else this.#listCache.forget(name);
    return outcome;
  }

  /**
   * Number of key files (without reading them). Synchronous on purpose: one small readdir is far
   * cheaper than a thread-pool round trip, and `status` calls it on every request.
   */
  count(): number {
    try {
      return readdirSync(this.dir).filter((f) => KEY_FILE_PATTERN.test(f)).length;
    } catch {
      return 0;
    }
  }

  /** Generates and stores a new key; refuses an existing name (reason KEY_EXISTS). */
  async generate(name: string): Promise<StoredKey> {
    const keypair = Keypair.generate();
    await this.#write(name, keypair, false);
    return { name, publicKey: keypair.publicKey };
  }

  /**
   * Stores an existing secret (64 hex characters of the seed). Without `overwrite`, an existing
   * name holding a different key is refused (KEY_EXISTS); the same key again is a no-op.
   */
  async import(name: string, secretKeyHex: string, options: { overwrite?: boolean } = {}): Promise<StoredKey> {
    assertKeyName(name);
    if (typeof secretKeyHex !== 'string') throw new PkarrError('INVALID_SECRET_KEY', 'secret key must be a string of 64 hex characters');
    const keypair = Keypair.fromSecretKeyHex(secretKeyHex);
    if (options.overwrite) {
      await this.#write(name, keypair, true);
    } else {
      try {
        await this.#write(name, keypair, false);
      } catch (err) {
        if (keyStoreFailure(err) !== 'KEY_EXISTS') throw err;
        const existing = await this.get(name).catch(() => null);
        if (!existing || !existing.publicKey.equals(keypair.publicKey)) throw err;
      }
    }
    return { name, publicKey: keypair.publicKey };
  }

  /** The secret of `name`: the only way a secret leaves the store. */
  async exportSecret(name: string): Promise<ExportedKey> {
    const keypair = await this.get(name);
    return { name, publicKey: keypair.publicKey, secretKey: keypair.toSecretKeyHex() };
  }

  /** Deletes `name`; false when it did not exist. */
  async delete(name: string): Promise<boolean> {
    const path = this.pathOf(name);
    try {
      await unlink(path);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return false;
      throw new PkarrError('IO_ERROR', `cannot delete key "${name}": ${errnoOf(err) ?? String(err)}`, undefined, { cause: err });
    }
    await fsyncDir(this.dir);
    return true;
  }

  async #write(name: string, keypair: Keypair, overwrite: boolean): Promise<void> {
    const path = this.pathOf(name);
    try {
      await writeFileAtomic(path, keypair.toSecretKeyHex(), { mode: 0o600, exclusive: !overwrite });
    } catch (err) {
      if (isPkarrError(err) && err.details?.['errno'] === 'EEXIST') {
        throw new PkarrError('INVALID_ARGUMENT', `a key named "${name}" already exists`, { reason: 'KEY_EXISTS', name });
      }
      throw err;
    }
  }
}
