/**
 * Helpers of the abuse and security tests: the real `pkarr-sidecar serve` and `relay` commands as
 * child processes (as the addon and operators run them), raw TCP clients for protocol abuse,
 * JSON-RPC calls over `ws`, and the resident memory of a child (Linux /proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

export const MAIN = resolve('sidecar/src/cli/main.ts');

export interface Child {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr: () => string;
  /** stdout lines after the first. */
  stdoutRest: () => string;
  firstLine: string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

const children: ChildProcess[] = [];
const sockets: { destroy(): void }[] = [];

/** Spawns `main.ts <args>` and waits (≤ 30 s) for its first stdout line. */
export async function spawnCli(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  let rest = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const lines = createInterface({ input: child.stdout! });
  const firstLine = await new Promise<string>((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 30 s; stderr: ${stderr}`)), 30_000);
    lines.once('line', (l) => { clearTimeout(timer); resolveLine(l); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before ready; stderr: ${stderr}`)); });
  });
  lines.on('line', (l) => { rest += `${l}\n`; });
  return { child, stderr: () => stderr, stdoutRest: () => rest, firstLine, exited };
}

export interface Serve extends Child {
  port: number;
  token: string;
  pid: number;
}

/** `pkarr-sidecar serve` without any network (keys and the RPC layer only). */
export async function startServe(dataDir: string, extra: string[] = []): Promise<Serve> {
  const c = await spawnCli(['serve', '--data-dir', dataDir, '--parent-pid', String(process.pid), '--no-dht', '--no-relays', '--log-level', 'debug', ...extra]);
  const ready = JSON.parse(c.firstLine) as { port: number; token: string; pid: number };
  return { ...c, port: ready.port, token: ready.token, pid: ready.pid };
}

/** Closes every socket (and stops every dribble) the helpers created. */
export function closeSockets(): void {
  for (const s of sockets.splice(0)) s.destroy();
}

/** Kills every child and socket the helpers created. */
export function cleanup(): void {
  closeSockets();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A raw TCP connection to 127.0.0.1:port (tracked for cleanup); `closed` resolves on close. */
export function rawSocket(port: number): { socket: Socket; closed: Promise<number>; received: () => string } {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let received = '';
  socket.on('data', (d) => { received += d.toString('latin1'); });
  socket.on('error', () => undefined);
  const started = Date.now();
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
  return { socket, closed, received: () => received };
}

/** Writes `text` one byte every `everyMs` until the socket closes or the text ends. */
export function dribble(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[i++]!);
  }, everyMs);
  sockets.push({ destroy: () => clearInterval(timer) });
}

/** Opens an authenticated RPC WebSocket (tracked for cleanup). */
export function rpcSocket(port: number, protocols: string[], options: WebSocket.ClientOptions = {}): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocols, options);
  ws.on('error', () => undefined);
  sockets.push({ destroy: () => ws.terminate() });
  return ws;
}

/** Resolves 'open' or the HTTP status of a refused handshake ('error' for a dropped socket). */
export function handshake(ws: WebSocket): Promise<'open' | number | 'error'> {
  return new Promise((r) => {
    ws.once('open', () => r('open'));
    ws.once('unexpected-response', (_req, res) => { r(res.statusCode ?? 0); res.resume(); });
    ws.once('error', () => r('error'));
  });
}

let ids = 0;

/** One JSON-RPC call; resolves with the whole response object (≤ 15 s). */
export function call(ws: WebSocket, method: string, params?: unknown): Promise<{ result?: unknown; error?: { code: number; message: string; data?: Record<string, unknown> }; raw: string }> {
  const id = `t${++ids}`;
  return new Promise((resolveCall, reject) => {
    const timer = setTimeout(() => reject(new Error(`no response to ${method} in 15 s`)), 15_000);
    const onMessage = (data: WebSocket.RawData): void => {
      const raw = data.toString();
      const msg = JSON.parse(raw) as { id?: string };
      if (msg.id !== id) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolveCall({ ...(msg as object), raw });
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
  });
}

/** Resident set size of `pid` in KiB (Linux), or null elsewhere. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Waits until `check()` is true (polling every 100 ms, at most `ms`). */
export async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}
