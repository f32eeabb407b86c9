/**
 * Node-side helpers for the addon's tests: run `pkarr-sidecar serve` as a child process the way
 * the addon does (piped stdin/stdout/stderr, one ready line), and make JSON-RPC calls to it.
 * Lives next to the engine test project (this folder has a `.gdignore`, so it is not packed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { REPO_ROOT } from '../../../harness/engine-cache.ts';

/** The sidecar entry a source checkout runs with Node (PkarrSidecarLocator.CHECKOUT_ENTRIES[1]). */
export const REPO_SERVE_MAIN_RELATIVE = 'sidecar/src/cli/main.ts';
/** {@link REPO_SERVE_MAIN_RELATIVE} in this checkout. */
export const SERVE_MAIN = join(REPO_ROOT, ...REPO_SERVE_MAIN_RELATIVE.split('/'));
/** The engine project these helpers belong to. */
export const ADDON_PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'addon');
/** The addon itself. */
export const ADDON_DIR = join(REPO_ROOT, 'addons', 'pkarr');
/** A pack `include` filter that leaves the addon's sidecar executables (hundreds of MB, when built) out. */
export const WITHOUT_ADDON_BIN = (res: string): boolean => !res.startsWith('res://addons/pkarr/bin/');

/** The single line `serve` prints on stdout (docs/rpc.md). */
export interface ReadyLine {
  event: string;
  port: number;
  token: string;
  version: string;
  pid: number;
}

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `serve` child. */
export interface ServeChild {
  child: ChildProcess;
  ready: ReadyLine;
  readyLine: string;
  /** stdout after the ready line (must stay empty). */
  stdoutAfterReady(): string;
  /** Everything written to stderr so far (the last 256 KiB). */
  stderr(): string;
  exited: Promise<ChildExit>;
  /** `ws://127.0.0.1:<port>/` */
  url: string;
}

const STDERR_KEEP = 256 * 1024;

/**
 * Spawns `path args` with three pipes and waits for the ready line (rejects with the stderr tail
 * if the child exits or stays silent for `readyTimeoutMs`).
 */
export async function spawnServe(path: string, args: readonly string[], readyTimeoutMs = 30_000): Promise<ServeChild> {
  const child = spawn(path, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-STDERR_KEEP);
  });
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let rest = '';
  const lines = createInterface({ input: child.stdout! });
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ready line within ${readyTimeoutMs} ms; stderr:\n${stderr.slice(-4000)}`));
    }, readyTimeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before its ready line; stderr:\n${stderr.slice(-4000)}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  lines.on('line', (line) => {
    rest += `${line}\n`;
  });
  const ready = JSON.parse(readyLine) as ReadyLine;
  return {
    child,
    ready,
    readyLine,
    stdoutAfterReady: () => rest,
    stderr: () => stderr,
    exited,
    url: `ws://127.0.0.1:${ready.port}/`,
  };
}

/** Resolves with how the child ended, or null if it still runs after `timeoutMs`. */
export async function waitForExit(s: { exited: Promise<ChildExit> }, timeoutMs: number): Promise<ChildExit | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  const result = await Promise.race([s.exited, timeout]);
  clearTimeout(timer);
  return result;
}

/** Kills a child that still runs (SIGKILL) and waits for it. */
export async function killChild(s: ServeChild): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await waitForExit(s, 10_000);
}

/** A minimal JSON-RPC client over the addon's subprotocols (`pkarr-godot.v1`, `token.<hex>`). */
export class RpcSocket {
  readonly ws: WebSocket;
  #next = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
  }

  /** Opens the socket (rejects on a refused handshake). */
  static open(url: string, token: string): Promise<RpcSocket> {
    const ws = new WebSocket(url, ['pkarr-godot.v1', `token.${token}`]);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RpcSocket(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(new Error(`handshake refused with HTTP ${res.statusCode}`));
      });
    });
  }

  /** Calls `method`; resolves with the whole response object. */
  // any: the JSON the sidecar sent; the tests check its shape field by field.
  call(method: string, params: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<{ result?: any; error?: any }> {
    const id = `n${++this.#next}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ws.off('message', onMessage);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (data: WebSocket.RawData): void => {
        const message = JSON.parse(data.toString()) as { id?: string; result?: unknown; error?: unknown };
        if (message.id !== id) return;
        clearTimeout(timer);
        this.ws.off('message', onMessage);
        resolve(message);
      };
      this.ws.on('message', onMessage);
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** Sends a request without waiting for its answer (as the addon sends `shutdown`). */
  send(method: string, params: Record<string, unknown> = {}): void {
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id: `n${++this.#next}`, method, params }));
  }

  close(): void {
    this.ws.terminate();
  }
}
