/**
 * Builds and runs test/nat-tunnel-enet-peer.c: a real libenet server/client (the ENet protocol of
 * Godot's ENetMultiplayerPeer) for the game-tunnel test. Needs gcc and libenet-dev (both in
 * scripts/prepare-test.mjs); a missing one fails the build with a message naming it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const SOURCE = resolve('test/nat-tunnel-enet-peer.c');

export interface NativeEnet {
  binary: string;
  dispose(): Promise<void>;
}

/** Compiles the ENet peer into a temporary directory. */
export async function buildNativeEnet(): Promise<NativeEnet> {
  if (!existsSync('/usr/include/enet/enet.h')) {
    throw new Error('libenet-dev is missing (/usr/include/enet/enet.h): run `npm test` once as root or `apt-get install libenet-dev`');
  }
  const dir = await mkdtemp(join(tmpdir(), 'pkarr-enet-'));
  const binary = join(dir, 'enet-peer');
  await new Promise<void>((ok, fail) => {
    execFile('gcc', ['-O1', '-Wall', '-o', binary, SOURCE, '-lenet'], { timeout: 60_000 }, (err, _out, stderr) => {
      if (err) fail(new Error(`building the ENet peer failed (gcc and libenet-dev needed): ${err.message}\n${stderr}`));
      else ok();
    });
  });
  return { binary, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** A running ENet peer: its output lines, a waiter, and a kill by pid. */
export class EnetProcess {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  #waiters: (() => void)[] = [];
  #exited = false;
  #exit = '';

  constructor(binary: string, args: string[]) {
    this.#child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const w of this.#waiters.splice(0)) w();
    });
    // 'close', not 'exit': 'exit' can come before the last lines are read from the stdout pipe (a
    // loaded machine), and a waiter would then see the peer gone without its final line.
    this.#child.once('close', (code, signal) => {
      this.#exited = true;
      this.#exit = signal === null ? `code ${String(code)}` : `signal ${signal}`;
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Waits until a line matches (returns it); throws after `timeoutMs` or when the process exits first. */
  async waitFor(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.#exited) throw new Error(`ENet peer exited (${this.#exit}) before ${what}; output:\n${this.lines.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; output:\n${this.lines.join('\n')}`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, left);
        this.#waiters.push(() => { clearTimeout(t); ok(); });
      });
    }
  }

  /** Closes stdin (the server exits on it) and kills by pid if it has not exited within 2 s. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((ok) => this.#child.once('close', () => ok()));
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
