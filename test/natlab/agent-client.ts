/**
 * The test's side of an agent (agent.ts): starts Node 24 inside a namespace, sends calls, routes
 * answers and events. `call(module, fn, ...args)` runs `module.fn(ctx, ...args)` in the agent.
 * Module specifiers: `./x` / `../x` are relative to the repository root (e.g.
 * `./sidecar/src/nat/dht-stun.ts`), absolute paths and `file:` URLs as they are, `node:` and bare
 * specifiers as the agent resolves them.
 */
import { isAbsolute, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { LabProcess } from './process.ts';
import { type AgentMessage, decodeLine, encodeLine, MARK, type WireError } from './wire.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENT = fileURLToPath(new URL('./agent.ts', import.meta.url));

/** The Node 24 binary: this process's when it is ≥ 24, else the repository's node@24 dependency. */
export function node24(): string {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 24 ? process.execPath : resolve(REPO_ROOT, 'node_modules/node/bin/node');
}

/** A module specifier as the agent imports it. */
export function resolveModule(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (module.startsWith('./') || module.startsWith('../')) return pathToFileURL(resolve(REPO_ROOT, module)).href;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  return module;
}

/** An error raised inside the agent, with its original name, code and stack. */
export class AgentError extends Error {
  readonly code: string | undefined;
  readonly remoteStack: string | undefined;
  constructor(ns: string, call: string, wire: WireError) {
    super(`[agent ${ns}] ${call}: ${wire.name}: ${wire.message}`);
    this.name = 'AgentError';
    this.code = wire.code;
    this.remoteStack = wire.stack;
  }
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; call: string }

export class AgentClient {
  readonly ns: string;
  readonly process: LabProcess;
  /** Lines the agent's modules printed on stdout that are not protocol lines. */
  readonly log: string[] = [];
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: string, data: unknown) => void>();

  private constructor(ns: string, proc: LabProcess) {
    this.ns = ns;
    this.process = proc;
    const lines = createInterface({ input: proc.child.stdout! });
    lines.on('line', (line) => this.#onLine(line));
    void proc.exited.then(() => {
      for (const [id, p] of this.#pending) {
        clearTimeout(p.timer);
        p.reject(new PkarrError('IO_ERROR', `natlab: agent in ${ns} exited during ${p.call}: ${proc.describe()}`));
        this.#pending.delete(id);
      }
    });
  }

  /** Starts an agent in `ns` with `env` added; resolves once it is ready. */
  static async start(ns: string, env: Record<string, string>, register: (p: LabProcess) => void): Promise<AgentClient> {
    const proc = new LabProcess(ns, node24(), [AGENT], { stdin: true, env: { ...env, NATLAB_NS: ns }, cwd: REPO_ROOT });
    register(proc);
    const client = new AgentClient(ns, proc);
    await proc.waitFor(/"ready":true/, 15_000);
    return client;
  }

  /** Runs `module.fn(ctx, ...args)` in the agent (default timeout 30 s). */
  call<T = unknown>(module: string | URL, fn: string, ...args: unknown[]): Promise<T> {
    return this.callWithin<T>(30_000, module, fn, ...args);
  }

  /** `call` with an explicit timeout. */
  callWithin<T = unknown>(timeoutMs: number, module: string | URL, fn: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    const spec = resolveModule(module);
    const call = `${spec.split('/').slice(-2).join('/')}#${fn}`;
    return new Promise<T>((resolvePromise, reject) => {
      if (!this.process.running) {
        reject(new PkarrError('IO_ERROR', `natlab: agent in ${this.ns} is not running: ${this.process.describe()}`));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new PkarrError('TIMEOUT', `natlab: agent in ${this.ns}: ${call} did not answer within ${timeoutMs} ms; stderr: ${this.process.stderr.slice(-1500)}`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolvePromise as (v: unknown) => void, reject, timer, call });
      this.process.child.stdin!.write(encodeLine({ id, module: spec, fn, args }).slice(MARK.length));
    });
  }

  /** Subscribes to the agent's events; returns the unsubscribe function. */
  on(handler: (event: string, data: unknown) => void): () => void {
    this.#listeners.add(handler);
    return () => this.#listeners.delete(handler);
  }

  /** Resolves with the data of the next event named `event` (that `accept` accepts), or rejects after `timeoutMs`. */
  waitEvent<T = unknown>(event: string, timeoutMs: number, accept: (data: T) => boolean = () => true): Promise<T> {
    return new Promise<T>((resolvePromise, reject) => {
      const timer = setTimeout(() => { off(); reject(new PkarrError('TIMEOUT', `natlab: agent in ${this.ns}: no event ${event} within ${timeoutMs} ms`)); }, timeoutMs);
      const off = this.on((name, data) => {
        if (name === event && accept(data as T)) { clearTimeout(timer); off(); resolvePromise(data as T); }
      });
    });
  }

  /** Closes stdin (the agent runs its onClose handlers and exits), then makes sure it is gone. */
  async close(): Promise<void> {
    this.process.child.stdin?.end();
    const exited = await Promise.race([this.process.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 6_000))]);
    if (!exited) await this.process.stop();
  }

  #onLine(line: string): void {
    let msg: AgentMessage | null;
    try {
      msg = decodeLine(line) as AgentMessage | null;
    } catch {
      msg = null;
    }
    if (msg === null) { this.log.push(line); return; }
    if ('event' in msg) {
      for (const l of this.#listeners) l(msg.event, msg.data);
      return;
    }
    if (!('id' in msg)) return;
    const p = this.#pending.get(msg.id);
    if (p === undefined) return;
    this.#pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(new AgentError(this.ns, p.call, msg.error));
  }
}
