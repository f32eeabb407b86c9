/**
 * A cross-process lock file, so that builds started at the same time (two test files, a test and
 * `npm run build`) do not fetch or inject the same thing twice at once. A lock whose owner pid
 * no longer exists is taken over.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `task` while holding the lock file `path`. Waits (polling) up to `timeoutMs` for another
 * holder; throws when the lock is still held after that.
 */
export async function withLock<T>(path: string, task: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(owner) && owner > 0 && !alive(owner)) {
      await rm(path, { force: true }); // stale: its owner died
      continue;
    }
    if (Date.now() > deadline) throw new Error(`lock ${path} is still held by pid ${owner || '?'} after ${timeoutMs} ms`);
    await sleep(250);
  }
  try {
    return await task();
  } finally {
    await rm(path, { force: true });
  }
}
