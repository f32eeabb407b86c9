/**
 * `pkarr-sidecar serve` as the Godot addon runs it: a child process (`process.execPath
 * sidecar/src/cli/main.ts serve …`) with piped stdio, one ready line on stdout, a WebSocket with the
 * subprotocols `pkarr-godot.v1` and `token.<hex>`, on a local DHT testnet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { SIDECAR_VERSION } from '../sidecar/src/cli/serve-command.ts';
import { DEFAULT_MAX_CONNECTIONS } from '../sidecar/src/rpc/rpc-server.ts';

const MAIN = resolve('sidecar/src/cli/main.ts');
/** docs/rpc.md: the sidecar exits within 2 s of losing its parent / stdin. */
const EXIT_BOUND_MS = 2000;

interface Ready { event: string; port: number; token: string; version: string; pid: number }
interface Running {
  child: ChildProcess;
  ready: Ready;
  readyLine: string;
  stdoutAfterReady: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: string | null; at: number }>;
}

let testnet: Testnet;
let root: string;
const children: ChildProcess[] = [];
const sockets: WebSocket[] = [];
let dirCount = 0;

async function dataDir(): Promise<string> {
  return mkdtemp(join(root, `d${++dirCount}-`));
}

/** The local testnet and no relay: tests never reach a public node or relay. */
function networkArgs(): string[] {
  return [...testnet.bootstrap.flatMap((b) => ['--bootstrap', b]), '--no-relays'];
}

/** Reads the first stdout line of `child` (the ready line) and keeps collecting the rest. */
async function readReady(child: ChildProcess, stderr: () => string): Promise<{ ready: Ready; line: string; rest: () => string }> {
  let rest = '';
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 20 s; stderr: ${stderr()}`)), 20_000);
    lines.once('line', (l) => { clearTimeout(timer); resolveLine(l); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before ready; stderr: ${stderr()}`)); });
  });
  lines.on('line', (l) => { rest += `${l}\n`; });
  return { ready: JSON.parse(line) as Ready, line, rest: () => rest };
}

async function startSidecar(args: string[], options: { dir?: string } = {}): Promise<Running> {
  const dir = options.dir ?? await dataDir();
  const child = spawn(process.execPath, [MAIN, 'serve', '--data-dir', dir, '--parent-pid', String(process.pid), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((r) => {
    child.once('exit', (code, signal) => r({ code, signal, at: Date.now() }));
  });
  const { ready, line, rest } = await readReady(child, () => stderr);
  return { child, ready, readyLine: line, stdoutAfterReady: rest, stderr: () => stderr, exited };
}

function connect(s: { ready: Ready }, protocols?: string[], origin?: string): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${s.ready.port}/`, protocols ?? ['pkarr-godot.v1', `token.${s.ready.token}`], origin ? { origin } : {});
  ws.on('error', () => undefined);
  sockets.push(ws);
  return ws;
}

function handshake(ws: WebSocket): Promise<'open' | number> {
  return new Promise((r) => {
    ws.once('open', () => r('open'));
    ws.once('unexpected-response', (_req, res) => { r(res.statusCode ?? 0); res.resume(); });
  });
}

let ids = 0;
function call(ws: WebSocket, method: string, params?: unknown): Promise<any> {
  const id = `g${++ids}`;
  return new Promise((r) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(data.toString());
      if (msg.id === id) { ws.off('message', onMessage); r(msg); }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
  });
}

/** Sends `text` and resolves with the next response (notifications such as dht.ready are skipped). */
function raw(ws: WebSocket, text: string): Promise<any> {
  return new Promise((r) => {
    const onMessage = (d: WebSocket.RawData): void => {
      const msg = JSON.parse(d.toString());
      if (!Array.isArray(msg) && typeof msg.method === 'string') return;
      ws.off('message', onMessage);
      r(msg);
    };
    ws.on('message', onMessage);
    ws.send(text);
  });
}

async function openClient(s: Running): Promise<WebSocket> {
  const ws = connect(s);
  expect(await handshake(ws)).toBe('open');
  return ws;
}

/** Polls `status` until the DHT reports ready (bounded). */
async function dhtReady(ws: WebSocket): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const { result } = await call(ws, 'status');
    if (result.dht.ready) return result;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('DHT never became ready');
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pkarr-serve-'));
  testnet = await Testnet.create(8);
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await testnet?.destroy();
  await rm(root, { recursive: true, force: true });
});

describe('pkarr-sidecar serve (child process)', () => {
  let a: Running;
  let b: Running;

  beforeAll(async () => {
    [a, b] = await Promise.all([startSidecar([...networkArgs(), '--log-level', 'debug']), startSidecar(networkArgs())]);
  });

  it('prints exactly the documented ready line', async () => {
    expect(Object.keys(a.ready)).toEqual(['event', 'port', 'token', 'version', 'pid']);
    expect(a.ready).toMatchObject({ event: 'ready', version: SIDECAR_VERSION, pid: a.child.pid });
    expect(a.ready.token).toMatch(/^[0-9a-f]{64}$/);
    expect(a.ready.token).not.toBe(b.ready.token);
    expect(a.readyLine).toBe(JSON.stringify(a.ready));
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(SIDECAR_VERSION).toBe(pkg.version);
  });

  it('answers status over the authenticated socket', async () => {
    const ws = await openClient(a);
    expect(ws.protocol).toBe('pkarr-godot.v1');
    const status = await dhtReady(ws);
    expect(status).toMatchObject({ version: SIDECAR_VERSION, pid: a.ready.pid, dht: { enabled: true, ready: true }, relays: [], keys: 0 });
    expect(status.dht.nodes).toBeGreaterThan(0);
  });

  it('publishes with one sidecar and resolves from another on the same testnet', async () => {
    const wa = await openClient(a);
    const wb = await openClient(b);
    await Promise.all([dhtReady(wa), dhtReady(wb)]);
    const { result: key } = await call(wa, 'keys.generate', { name: 'host' });
    const records = [
      { type: 'TXT', name: '_lobby', ttl: 60, text: 'v=1 game=demo' },
      { type: 'SVCB', name: '_enet', ttl: 60, priority: 1, target: '.', params: { port: 7777, ipv4hint: ['127.0.0.1'] } },
    ];
    const published = await call(wa, 'publish', { key: 'host', records });
    expect(published.result).toMatchObject({ publicKey: key.publicKey, timestamp: expect.stringMatching(/^[0-9]{16}$/) });
    expect(published.result.storedOn).toBeGreaterThan(0);
    const resolved = await call(wb, 'resolve', { publicKey: `pk:${key.publicKey}` });
    expect(resolved.result).toMatchObject({
      publicKey: key.publicKey, found: true, source: 'dht', timestamp: published.result.timestamp,
      records: [
        { type: 'TXT', relative: '_lobby', name: `_lobby.${key.publicKey}`, strings: ['v=1 game=demo'], text: 'v=1 game=demo', ttl: 60 },
        { type: 'SVCB', relative: '_enet', priority: 1, target: '.', params: { port: 7777, ipv4hint: ['127.0.0.1'] } },
      ],
    });
    expect(typeof resolved.result.timestamp).toBe('string');
    expect((await call(wa, 'republish.list')).result).toEqual([expect.objectContaining({ publicKey: key.publicKey, timestamp: published.result.timestamp })]);
  });

  it('refuses a missing or wrong token with 401 and a foreign Origin with 403', async () => {
    expect(await handshake(connect(a, ['pkarr-godot.v1']))).toBe(401);
    expect(await handshake(connect(a, ['pkarr-godot.v1', `token.${b.ready.token}`]))).toBe(401);
    expect(await handshake(connect(a, undefined, 'http://evil.example'))).toBe(403);
  });

  it('answers malformed JSON, unknown methods and bad params with JSON-RPC errors', async () => {
    const ws = await openClient(a);
    expect(await raw(ws, '{"jsonrpc":"2.0","id":"x",')).toMatchObject({ id: null, error: { code: -32700 } });
    expect(await raw(ws, '{"jsonrpc":"2.0","id":"y","method":"nope"}')).toMatchObject({ id: 'y', error: { code: -32601 } });
    expect(await raw(ws, '{"jsonrpc":"2.0","id":3,"method":"keys.generate","params":{"name":"a/b"}}'))
      .toMatchObject({ id: 3, error: { code: -32602, data: { field: 'name' } } });
    expect(await raw(ws, '[{"jsonrpc":"2.0","id":"b1","method":"keys.list"},{"jsonrpc":"2.0","method":"status"}]'))
      .toEqual([{ jsonrpc: '2.0', id: 'b1', result: expect.any(Array) }]);
  });

  it('closes a 70 KB frame with 1009 and keeps serving another client', async () => {
    const big = await openClient(a);
    const closed = once(big, 'close');
    big.send('x'.repeat(70_000));
    expect(((await closed) as [number])[0]).toBe(1009);
    const other = await openClient(a);
    expect((await call(other, 'status')).result.pid).toBe(a.ready.pid);
  });

  it('never reveals a secret or the token outside keys.export', async () => {
    const ws = await openClient(a);
    await call(ws, 'keys.generate', { name: 'secretive' });
    const { result } = await call(ws, 'keys.export', { name: 'secretive' });
    expect(result.secretKey).toMatch(/^[0-9a-f]{64}$/);
    const status = JSON.stringify((await call(ws, 'status')).result);
    const listed = JSON.stringify((await call(ws, 'keys.list')).result);
    for (const text of [status, listed, a.stderr(), a.stdoutAfterReady(), b.stderr()]) {
      expect(text).not.toContain(result.secretKey);
      expect(text).not.toContain(a.ready.token);
    }
    expect(a.stderr()).toContain('client #'); // debug logging was on: the check above had text to search
  });

  it('stops on the shutdown method with exit code 0 and nothing more on stdout', async () => {
    const ws = await openClient(b);
    const closed = once(ws, 'close');
    expect((await call(ws, 'shutdown')).result).toEqual({ ok: true });
    expect(((await closed) as [number])[0]).toBe(1001);
    expect(await b.exited).toMatchObject({ code: 0, signal: null });
    expect(b.stdoutAfterReady()).toBe('');
  });
});

describe('pkarr-sidecar serve lifetime', () => {
  it('lets an --allow-origin origin in, caps clients at DEFAULT_MAX_CONNECTIONS (64) and forwards warnings as log notifications', async () => {
    const s = await startSidecar(['--no-dht', '--no-relays', '--allow-origin', 'http://evil.example']);
    const first = connect(s, undefined, 'http://evil.example');
    expect(await handshake(first)).toBe('open');
    expect(await handshake(connect(s, undefined, 'http://other.example'))).toBe(403);
    const log = new Promise<any>((r) => first.on('message', (d) => {
      const msg = JSON.parse(d.toString());
      if (msg.method === 'log') r(msg);
    }));
    for (let i = 1; i < DEFAULT_MAX_CONNECTIONS; i++) expect(await handshake(connect(s))).toBe('open');
    expect(await handshake(connect(s))).toBe(503);
    expect(await log).toEqual({ jsonrpc: '2.0', method: 'log', params: { level: 'warn', message: expect.stringContaining(`${DEFAULT_MAX_CONNECTIONS} clients`) } });
    s.child.kill('SIGTERM');
    expect(await s.exited).toMatchObject({ code: 0, signal: null });
  });

  it('uses the token from --token-file and logs to --log-file', async () => {
    const file = join(root, 'token');
    const logFile = join(root, 'serve.log');
    await writeFile(file, `${'f0'.repeat(32)}\n`, { mode: 0o600 });
    const s = await startSidecar(['--no-dht', '--no-relays', '--token-file', file, '--log-file', logFile]);
    expect(s.ready.token).toBe('f0'.repeat(32));
    expect(await handshake(connect(s))).toBe('open');
    s.child.kill('SIGINT');
    expect(await s.exited).toMatchObject({ code: 0, signal: null });
    const logged = await readFile(logFile, 'utf8');
    expect(logged).toContain('stopping: SIGINT');
    expect(logged).not.toContain('f0'.repeat(32));
    expect(s.stderr()).toBe('');
  });

  it('exits cleanly on SIGTERM, closing clients with 1001', async () => {
    const s = await startSidecar(networkArgs());
    const ws = await openClient(s);
    const closed = once(ws, 'close');
    s.child.kill('SIGTERM');
    expect(((await closed) as [number])[0]).toBe(1001);
    expect(await s.exited).toMatchObject({ code: 0, signal: null });
    expect(s.stderr()).not.toMatch(/error/i);
  });

  it('exits within 2 s when stdin reaches EOF', async () => {
    const s = await startSidecar(networkArgs());
    await openClient(s);
    const start = Date.now();
    s.child.stdin!.end();
    const exit = await s.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - start).toBeLessThan(EXIT_BOUND_MS);
    expect(s.stderr()).toContain('stopping: stdin-eof');
  });

  it('exits within 2 s when its parent (--parent-pid) is SIGKILLed', async () => {
    const dir = await dataDir();
    // The intermediate parent passes its own pid; the sidecar's stdin is not a pipe from it, so only
    // the parent-pid watch can notice its death. The sidecar writes straight into our stdout pipe.
    const script = `
      const { spawn } = await import('node:child_process');
      spawn(process.execPath, [${JSON.stringify(MAIN)}, 'serve', '--data-dir', ${JSON.stringify(dir)}, '--no-dht',
        '--no-relays', '--parent-pid', String(process.pid)], { stdio: ['ignore', 'inherit', 'inherit'] });
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(parent);
    let stderr = '';
    parent.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const { ready } = await readReady(parent, () => stderr);
    const ws = connect({ ready });
    expect(await handshake(ws)).toBe('open');
    // The sidecar holds both pipes until it exits (its pid may linger as a zombie of init).
    const pipesClosed = Promise.all([once(parent.stdout!, 'end'), once(parent.stderr!, 'end')]);
    const closed = once(ws, 'close');
    const start = Date.now();
    parent.kill('SIGKILL');
    expect(((await closed) as [number])[0]).toBe(1001);
    await pipesClosed;
    expect(Date.now() - start).toBeLessThan(EXIT_BOUND_MS);
    expect(stderr).toContain('stopping: parent-exited');
    expect(stderr).toContain('info stopped');
  });

  it('rejects bad options with exit code 2 and no ready line', async () => {
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', 'abc'], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('--port');
  });
});
