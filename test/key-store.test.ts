import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, unlink, writeFile, utimes } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { KeyStore, keyStoreFailure, assertKeyName } from '../sidecar/src/keystore/key-store.ts';
import { writeFileAtomic, removeStaleTempFiles } from '../sidecar/src/keystore/atomic-file.ts';
import { KeyListCache, RACY_WINDOW_MS } from '../sidecar/src/keystore/list-cache.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { isPkarrError } from '../sidecar/src/core/errors.ts';

const posix = process.platform !== 'win32';
let dir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pkarr-keystore-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('KeyStore', () => {
  it('generates, lists, reads, exports and deletes keys', async () => {
    const store = await KeyStore.open(dir);
    const a = await store.generate('alice');
    const b = await store.generate('bob_2.x-y');
    expect((await store.list()).map((k) => [k.name, k.publicKey.z32])).toEqual([
      ['alice', a.publicKey.z32],
      ['bob_2.x-y', b.publicKey.z32],
    ]);
    const kp = await store.get('alice');
    expect(kp.publicKey.z32).toBe(a.publicKey.z32);
    const exported = await store.exportSecret('alice');
    expect(exported.secretKey).toMatch(/^[0-9a-f]{64}$/);
    expect(Keypair.fromSecretKeyHex(exported.secretKey).publicKey.z32).toBe(a.publicKey.z32);
    expect(await store.delete('alice')).toBe(true);
    expect(await store.delete('alice')).toBe(false);
    expect(await store.has('alice')).toBe(false);
    expect((await store.list()).map((k) => k.name)).toEqual(['bob_2.x-y']);
    expect(store.count()).toBe(1);
  });

  it('writes exactly 64 lowercase hex characters, mode 0600 in a 0700 directory', async () => {
    const store = await KeyStore.open(dir);
    await store.generate('k');
    const text = await readFile(join(dir, 'keys', 'k.key'), 'utf8');
    expect(text).toMatch(/^[0-9a-f]{64}$/);
    if (posix) {
      expect((await stat(join(dir, 'keys', 'k.key'))).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
    }
    expect((await readdir(join(dir, 'keys')))).toEqual(['k.key']); // no temp files left behind
  });

  it('reads key files with surrounding whitespace and uppercase hex (reference trims)', async () => {
    const store = await KeyStore.open(dir);
    const kp = Keypair.generate();
    await writeFile(join(dir, 'keys', 'ext.key'), `  ${kp.toSecretKeyHex().toUpperCase()}\n`);
    expect((await store.get('ext')).publicKey.z32).toBe(kp.publicKey.z32);
  });

  it('refuses to generate over an existing name and reports KEY_EXISTS', async () => {
    const store = await KeyStore.open(dir);
    const first = await store.generate('dup');
    const err = await store.generate('dup').catch((e: unknown) => e);
    expect(keyStoreFailure(err)).toBe('KEY_EXISTS');
    expect((await store.get('dup')).publicKey.z32).toBe(first.publicKey.z32);
  });

  it('imports: same key is a no-op, a different key is refused unless overwrite', async () => {
    const store = await KeyStore.open(dir);
    const k1 = Keypair.generate();
    const k2 = Keypair.generate();
    expect((await store.import('imp', k1.toSecretKeyHex())).publicKey.z32).toBe(k1.publicKey.z32);
    await store.import('imp', k1.toSecretKeyHex());
    expect(keyStoreFailure(await store.import('imp', k2.toSecretKeyHex()).catch((e: unknown) => e))).toBe('KEY_EXISTS');
    await store.import('imp', k2.toSecretKeyHex(), { overwrite: true });
    expect((await store.get('imp')).publicKey.z32).toBe(k2.publicKey.z32);
  });

  it('rejects bad names, bad secrets and reports missing keys without leaking content', async () => {
    const store = await KeyStore.open(dir);
    for (const bad of ['', 'a/b', '../x', 'x'.repeat(65), 'sp ace', 'ü', 'a\0b']) {
      expect(() => assertKeyName(bad)).toThrow(/invalid key name/);
      await expect(store.generate(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(store.import('x', 'abc')).rejects.toMatchObject({ code: 'INVALID_SECRET_KEY' });
    const missing = await store.get('nope').catch((e: unknown) => e);
    expect(keyStoreFailure(missing)).toBe('KEY_NOT_FOUND');
    expect(isPkarrError(missing, 'NOT_FOUND')).toBe(true);
    const secretish = 'deadbeef'.repeat(7) + 'zz';
    await writeFile(join(dir, 'keys', 'bad.key'), secretish);
    const corrupt = await store.get('bad').catch((e: unknown) => e as Error);
    expect(corrupt).toMatchObject({ code: 'INVALID_SECRET_KEY' });
    expect(String((corrupt as Error).message)).not.toContain('deadbeef');
    const skipped: string[] = [];
    expect(await store.list((name) => skipped.push(name))).toEqual([]);
    expect(skipped).toEqual(['bad']);
  });

  it('removes stale temp files on open but keeps fresh ones', async () => {
    await KeyStore.open(dir);
    const stale = join(dir, 'keys', 'a.key.tmp-0011');
    const fresh = join(dir, 'keys', 'b.key.tmp-0022');
    await writeFile(stale, 'x');
    await writeFile(fresh, 'y');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(stale, old, old);
    await KeyStore.open(dir);
    expect((await readdir(join(dir, 'keys'))).sort()).toEqual(['b.key.tmp-0022']);
    expect(await removeStaleTempFiles(join(dir, 'keys'), 0)).toBe(1);
  });

  it('writeFileAtomic exclusive never clobbers', async () => {
    const p = join(dir, 'f');
    await writeFileAtomic(p, 'one', { exclusive: true });
    await expect(writeFileAtomic(p, 'two', { exclusive: true })).rejects.toMatchObject({ details: { errno: 'EEXIST' } });
    expect(await readFile(p, 'utf8')).toBe('one');
    await writeFileAtomic(p, 'three');
    expect(await readFile(p, 'utf8')).toBe('three');
  });
});

describe('KeyStore.list cache', () => {
  const T = 1_700_000_000; // a whole second, so restoring a file's mtime gives exactly the cached value

  it('sees keys added, deleted, replaced (atomically or in place, same size and mtime) and corrupted through another store', async () => {
    const store = await KeyStore.open(dir);
    const other = await KeyStore.open(dir); // another process, in effect: writes bypass `store`
    const keysDir = join(dir, 'keys');
    const file = (name: string): string => join(keysDir, `${name}.key`);
    const k = Object.fromEntries(['same', 'gone', 'swap', 'inplace', 'reborn', 'spoil', 'fixed', 'swap2', 'inplace2', 'reborn2', 'fixed2'].map((n) => [n, Keypair.generate()]));
    for (const name of ['same', 'gone', 'swap', 'inplace', 'reborn', 'spoil']) await store.import(name, k[name]!.toSecretKeyHex());
    await writeFile(file('fixed'), 'z'.repeat(64)); // corrupt, 64 bytes like a real key
    for (const f of await readdir(keysDir)) await utimes(join(keysDir, f), T, T);
    // Let the files age past the racy window, so `list` caches them.
    await new Promise((r) => setTimeout(r, RACY_WINDOW_MS + 300));

    const listed = async (): Promise<{ keys: string[][]; skipped: string[] }> => {
      const skipped: string[] = [];
      const keys = (await store.list((name) => skipped.push(name))).map((e) => [e.name, e.publicKey.z32]);
      return { keys, skipped };
    };
    const expected = (names: string[], keyOf: (n: string) => Keypair): string[][] => names.map((n) => [n, keyOf(n).publicKey.z32]);
    const before = await listed();
    expect(before).toEqual({ keys: expected(['gone', 'inplace', 'reborn', 'same', 'spoil', 'swap'], (n) => k[n]!), skipped: ['fixed'] });
    expect(await listed()).toEqual(before); // from the cache: same answer, corrupt file still reported

    const sameSize = async (name: string, text: string): Promise<void> => {
      await writeFile(file(name), text); // in place: same inode, same size
      await utimes(file(name), T, T); // same mtime as cached
    };
    await other.generate('added');
    await other.delete('gone');
    await other.import('swap', k['swap2']!.toSecretKeyHex(), { overwrite: true }); // atomic: a new inode
    await utimes(file('swap'), T, T);
    await sameSize('inplace', k['inplace2']!.toSecretKeyHex());
    await unlink(file('reborn'));
    await writeFile(file('reborn'), k['reborn2']!.toSecretKeyHex()); // may even reuse the inode number
    await utimes(file('reborn'), T, T);
    await sameSize('spoil', 'y'.repeat(64));
    await sameSize('fixed', k['fixed2']!.toSecretKeyHex());
    for (const name of ['swap', 'inplace', 'spoil', 'fixed']) expect((await stat(file(name))).size).toBe(64);

    const added = await other.get('added');
    const now = { same: k['same']!, swap: k['swap2']!, inplace: k['inplace2']!, reborn: k['reborn2']!, fixed: k['fixed2']!, added } as Record<string, Keypair>;
    const after = await listed();
    expect(after).toEqual({ keys: expected(['added', 'fixed', 'inplace', 'reborn', 'same', 'swap'], (n) => now[n]!), skipped: ['spoil'] });
    expect(await listed()).toEqual(after);
    await other.delete('same');
    expect((await listed()).keys.map(([name]) => name)).toEqual(['added', 'fixed', 'inplace', 'reborn', 'swap']);
  }, 30_000);

  it('does not cache files changed within the racy window before the stat', () => {
    const cache = new KeyListCache();
    const changedMs = 1_700_000_000_000;
    const stats = { dev: 1n, ino: 2n, size: 64n, mtimeNs: BigInt(changedMs) * 1_000_000n, ctimeNs: BigInt(changedMs) * 1_000_000n } as BigIntStats;
    const outcome = { publicKey: Keypair.generate().publicKey };
    cache.remember('young', stats, outcome, changedMs + RACY_WINDOW_MS);
    expect(cache.lookup('young', stats)).toBeNull();
    cache.remember('old', stats, outcome, changedMs + RACY_WINDOW_MS + 1);
    expect(cache.lookup('old', stats)).toBe(outcome);
    expect(cache.lookup('old', { ...stats, ctimeNs: stats.ctimeNs + 1n } as BigIntStats)).toBeNull(); // any field change misses
    expect(cache.size).toBe(0); // and drops the stale entry
    cache.remember('a', stats, outcome, changedMs + 10_000);
    cache.remember('b', stats, outcome, changedMs + 10_000);
    cache.retain(new Set(['b']));
    expect([cache.lookup('a', stats), cache.lookup('b', stats)]).toEqual([null, outcome]);
  });
});

describe('KeyStore under kill -9', () => {
  const storeModule = resolve('sidecar/src/keystore/key-store.ts');

  /** A child that rewrites `victim` (alternating two secrets) and creates fresh keys, forever. */
  function spawnWriter(dataDir: string, secrets: [string, string]): ChildProcess {
    const script = `
      const { KeyStore } = await import(${JSON.stringify(storeModule)});
      const store = await KeyStore.open(${JSON.stringify(dataDir)});
      const secrets = ${JSON.stringify(secrets)};
      for (let i = 0; ; i++) {
        await store.import('victim', secrets[i % 2], { overwrite: true });
        await store.generate('n' + Math.random().toString(36).slice(2, 12) + '-' + i);
        if (i === 0) process.stdout.write('go\\n'); // one full round done: the loop is hot
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  }

  it('leaves only complete old or new key files, never corrupt or missing ones', async () => {
    const store = await KeyStore.open(dir);
    const secrets: [string, string] = [Keypair.generate().toSecretKeyHex(), Keypair.generate().toSecretKeyHex()];
    await store.import('victim', secrets[0]);
    let kills = 0;
    for (let round = 0; round < 25; round++) {
      const child = spawnWriter(dir, secrets);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
      const started = await Promise.race([
        once(child.stdout!, 'data').then(() => 'running'), // the writer loop is running
        once(child, 'exit').then(() => `exited early: ${stderr}`),
      ]);
      expect(started).toBe('running');
      await new Promise((r) => setTimeout(r, 5 + ((round * 7) % 40)));
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      const [code, signal] = (await exited) as [number | null, string | null];
      expect(stderr, `writer stderr in round ${round}`).toBe('');
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
      kills++;
      const victim = await readFile(join(dir, 'keys', 'victim.key'), 'utf8');
      expect(secrets, `victim.key after kill ${round}`).toContain(victim);
      for (const k of await readdir(join(dir, 'keys'))) {
        if (!k.endsWith('.key')) continue;
        expect(await readFile(join(dir, 'keys', k), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
      }
    }
    expect(kills).toBe(25);
    const skipped: string[] = [];
    const listed = await store.list((name) => skipped.push(name));
    expect(skipped).toEqual([]);
    expect(listed.length).toBeGreaterThan(25); // victim + at least one new key per round
  }, 120_000);
});
