/**
 * A process the lab started inside a namespace (`ip netns exec NS setpriv --pdeathsig SIGKILL cmd …`;
 * both exec, so the pid is the command's, and it dies with the test process even on SIGKILL). Each runs in its own process group; stdout/stderr are kept (the
 * last 64 KiB) for error messages. `stop()` kills the group by pid (SIGTERM, then SIGKILL).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { IP } from './exec.ts';

const KEEP = 64 * 1024;
const SETPRIV = '/usr/bin/setpriv';

export interface SpawnOptions {
  /** Extra environment (added to the parent's). */
  env?: Record<string, string>;
  /** Keep stdin as a pipe (default: closed). */
  stdin?: boolean;
  /** Working directory. */
  cwd?: string;
}

export class LabProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ns: string;
  readonly command: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  #out = '';
  #err = '';
  #exit: number | string | null = null;

  constructor(ns: string, command: string, args: string[], options: SpawnOptions = {}) {
    this.ns = ns;
    this.command = [command, ...args].join(' ');
    // setpriv --pdeathsig: the command is SIGKILLed if this (test) process dies without cleaning up.
    this.child = spawn(IP, ['netns', 'exec', ns, SETPRIV, '--pdeathsig', 'SIGKILL', '--', command, ...args], {
      detached: true,
      stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
    });
    if (this.child.pid === undefined) throw new PkarrError('IO_ERROR', `natlab: could not spawn ${this.command} in ${ns}`);
    this.pid = this.child.pid;
    this.child.stdout?.setEncoding('utf8').on('data', (s: string) => { this.#out = (this.#out + s).slice(-KEEP); });
    this.child.stderr?.setEncoding('utf8').on('data', (s: string) => { this.#err = (this.#err + s).slice(-KEEP); });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = code ?? signal ?? 'unknown';
        resolve(this.#exit);
      });
      this.child.once('error', (err) => {
        this.#err += `\nspawn error: ${err.message}`;
        this.#exit = 'spawn-error';
        resolve(this.#exit);
      });
    });
  }

  get running(): boolean {
    return this.#exit === null;
  }

  /** Captured stdout (last 64 KiB). */
  get stdout(): string {
    return this.#out;
  }

  /** Captured stderr (last 64 KiB). */
  get stderr(): string {
    return this.#err;
  }

  /** One line for error messages: command, namespace, exit state, the tail of stderr. */
  describe(): string {
    const state = this.#exit === null ? 'running' : `exited ${String(this.#exit)}`;
    return `${this.command} (ns ${this.ns}, pid ${this.pid}, ${state}); stderr: ${this.#err.slice(-2000).trim() || '(empty)'}`;
  }

  /** Resolves when `pattern` appears in stdout (or stderr); rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const source = stream === 'stdout' ? this.child.stdout : this.child.stderr;
      const text = (): string => (stream === 'stdout' ? this.#out : this.#err);
      const check = (): boolean => {
        const m = text().match(pattern);
        if (m) { done(); resolve(m); return true; }
        return false;
      };
      const onExit = (): void => { done(); reject(new PkarrError('IO_ERROR', `natlab: process exited before ${String(pattern)}: ${this.describe()}`)); };
      const timer = setTimeout(() => { done(); reject(new PkarrError('TIMEOUT', `natlab: no ${String(pattern)} within ${timeoutMs} ms: ${this.describe()}`)); }, timeoutMs);
      const onData = (): void => { setImmediate(check); };
      const done = (): void => { clearTimeout(timer); source?.off('data', onData); this.child.off('exit', onExit); };
      source?.on('data', onData);
      this.child.once('exit', onExit);
      if (!this.running) { onExit(); return; }
      check();
    });
  }

  /** Kills the process group: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 1_500): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.signal('SIGKILL'); // leftovers in the group (children of the command)
  }

  /** Synchronous SIGKILL of the group (exit-time cleanup). */
  killNow(): void {
    this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch {
      // The bare pid only while we have not seen it exit: once reaped, the pid is free for reuse
      // (pid_max is 32768 here) and would hit an unrelated process of another test.
      if (!this.running) return;
      try { process.kill(this.pid, sig); } catch { /* already gone */ }
    }
  }
}
