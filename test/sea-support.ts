/**
 * Shared pieces of the single-executable tests: building the host sidecar once (the build is
 * locked and skips up-to-date targets, so parallel test files do not rebuild it twice), spawning
 * a process and reading its first stdout line, and a tiny JSON-RPC client over ws.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { buildSidecars, type BuiltSidecar } from '../scripts/build-sidecar.ts';
import { SEA_TARGETS, type SeaTarget } from '../scripts/sea/targets.ts';

/** The target of this machine's sidecar (the tests run on Linux x64). */
export const LINUX_X64: SeaTarget = SEA_TARGETS.find((t) => t.name === 'linux-x64')!;

/** Builds (or finds up to date) the linux-x64 sidecar; progress goes nowhere. */
export async function ensureHostSidecar(): Promise<BuiltSidecar> {
  const [built] = await buildSidecars([LINUX_X64], { log: () => undefined });
  if (built === undefined) throw new Error('build returned nothing');
  return built;
}

/** A spawned process with its first stdout line and collected stderr. */
export interface Spawned {
  child: ChildProcess;
  firstLine: string;
  /** Milliseconds from spawn to the first stdout line. */
  firstLineMs: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `command args` with piped stdio and waits (≤ timeoutMs) for its first stdout line. */
export async function spawnUntilLine(command: string, args: string[], timeoutMs = 30_000, options: SpawnOptions = {}): Promise<Spawned> {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const lines = createInterface({ input: child.stdout! });
  try {
    const firstLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no stdout line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      lines.once('line', (line) => { clearTimeout(timer); resolve(line); });
      child.once('error', (err) => { clearTimeout(timer); reject(err); });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before its first line; stderr: ${stderr}`)); });
    });
    const firstLineMs = Number(process.hrtime.bigint() - started) / 1e6;
    return { child, firstLine, firstLineMs, stderr: () => stderr, exited };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** Ends a spawned process: closes stdin, then SIGKILL if it is still there after `graceMs`. */
export async function stop(spawned: Spawned, graceMs = 5000): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.child.stdin?.end();
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), graceMs);
  await spawned.exited;
  clearTimeout(timer);
}

/** The ready line of `pkarr-sidecar serve` (docs/rpc.md). */
export interface ReadyLine { event: string; port: number; token: string; version: string; pid: number }

/** Opens the RPC WebSocket with the subprotocols `pkarr-godot.v1` and `token.<token>`. */
export async function openRpc(ready: ReadyLine, token = ready.token): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${ready.port}/`, ['pkarr-godot.v1', `token.${token}`]);
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no WebSocket handshake within 10 s')), 10_000);
    ws.once('open', () => { clearTimeout(timer); resolve(); });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      res.resume();
      reject(new Error(`handshake refused with HTTP ${res.statusCode}`));
    });
  });
  return ws;
}

let nextId = 0;

/**
 * Sends one JSON-RPC request and resolves with its response (notifications are skipped).
 * `any`: responses are untyped JSON that the tests check field by field.
 */
export function rpc(ws: WebSocket, method: string, params?: unknown, timeoutMs = 20_000): Promise<{ result?: any; error?: any }> {
  const id = `sea${++nextId}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.off('message', onMessage); reject(new Error(`${method}: no response within ${timeoutMs} ms`)); }, timeoutMs);
    const onMessage = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(data.toString()) as { id?: unknown; result?: any; error?: any };
      if (msg.id !== id) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(msg);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
  });
}

/** Resident set size of `pid` in MB (Linux /proc), or NaN when unreadable. */
export async function rssMb(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) / 1024;
}

/**
 * CPU time (ms) all threads of `pid` have run so far, from /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds on the CPU); less sensitive than wall time to other processes sharing the CPU.
 */
export async function cpuMs(pid: number): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  let ns = 0;
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => '');
    ns += Number(text.split(' ')[0] ?? 0) || 0;
  }
  return tasks.length === 0 ? Number.NaN : ns / 1e6;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
