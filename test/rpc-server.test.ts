import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { request } from 'node:http';
import WebSocket from 'ws';
import { Dispatcher } from '../sidecar/src/rpc/dispatcher.ts';
import { RpcServer, type RpcServerOptions } from '../sidecar/src/rpc/rpc-server.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../sidecar/src/rpc/heartbeat.ts';
import { tokensEqual } from '../sidecar/src/rpc/handshake.ts';
import { silentLogger } from '../sidecar/src/util/log.ts';

const TOKEN = 'ab'.repeat(32);
const servers: RpcServer<null>[] = [];
const sockets: WebSocket[] = [];

let blobCalls = 0;

function dispatcher(): Dispatcher<null> {
  return new Dispatcher<null>()
    .register('echo', (p) => p)
    .register('slow', () => new Promise((r) => setTimeout(() => r('done'), 200)))
    .register('blob', () => { blobCalls++; return 'x'.repeat(60_000); });
}

/** Waits until `read()` has not changed for `quietMs` (bounded). */
async function settle(read: () => number, quietMs = 200, maxMs = 10_000): Promise<void> {
  const start = Date.now();
  let last = read();
  let since = Date.now();
  while (Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 25));
    const now = read();
    if (now !== last) { last = now; since = Date.now(); } else if (Date.now() - since >= quietMs) return;
  }
}

async function startServer(options: Partial<RpcServerOptions<null>> = {}): Promise<RpcServer<null>> {
  const server = await RpcServer.start<null>({ token: TOKEN, dispatcher: dispatcher(), contextFor: () => null, log: silentLogger, ...options });
  servers.push(server);
  return server;
}

interface ConnectOptions { protocols?: string[]; headers?: Record<string, string>; origin?: string; autoPong?: boolean }

function connect(port: number, options: ConnectOptions = {}): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, options.protocols ?? ['pkarr-godot.v1', `token.${TOKEN}`], {
    headers: options.headers ?? {},
    ...(options.origin ? { origin: options.origin } : {}),
    ...(options.autoPong === undefined ? {} : { autoPong: options.autoPong }),
  });
  ws.on('error', () => undefined);
  sockets.push(ws);
  return ws;
}

/** Resolves with 'open' or the HTTP status of a refused handshake. */
function outcome(ws: WebSocket): Promise<'open' | number> {
  return new Promise((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); res.resume(); });
  });
}

function call(ws: WebSocket, method: string, params?: unknown, id: string = method): Promise<any> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(data.toString());
      if (msg.id === id) { ws.off('message', onMessage); resolve(msg); }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
  });
}

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('RPC server handshake', () => {
  it('accepts the token subprotocol, selects pkarr-godot.v1 and round-trips', async () => {
    const server = await startServer();
    const ws = connect(server.port);
    expect(await outcome(ws)).toBe('open');
    expect(ws.protocol).toBe('pkarr-godot.v1');
    expect(await call(ws, 'echo', { a: 'b' }, 'g1')).toEqual({ jsonrpc: '2.0', id: 'g1', result: { a: 'b' } });
    expect(server.connectionCount).toBe(1);
  });

  it('accepts Authorization: Bearer (desktop clients) without subprotocols', async () => {
    const server = await startServer();
    const ws = connect(server.port, { protocols: [], headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(await outcome(ws)).toBe('open');
    expect(ws.protocol).toBe('');
  });

  it('401 without a token or with a wrong one', async () => {
    const server = await startServer();
    expect(await outcome(connect(server.port, { protocols: ['pkarr-godot.v1'] }))).toBe(401);
    expect(await outcome(connect(server.port, { protocols: ['pkarr-godot.v1', `token.${'cd'.repeat(32)}`] }))).toBe(401);
    expect(await outcome(connect(server.port, { protocols: ['pkarr-godot.v1', 'token.ab'] }))).toBe(401);
    expect(await outcome(connect(server.port, { protocols: [], headers: { Authorization: 'Bearer nope' } }))).toBe(401);
    expect(server.connectionCount).toBe(0);
  });

  it('403 for a foreign Origin unless allowed; 403 for a foreign Host', async () => {
    const server = await startServer({ allowOrigins: ['http://127.0.0.1:8060/'] });
    expect(await outcome(connect(server.port, { origin: 'http://evil.example' }))).toBe(403);
    expect(await outcome(connect(server.port, { origin: 'null' }))).toBe(403);
    expect(await outcome(connect(server.port, { origin: 'HTTP://127.0.0.1:8060' }))).toBe('open');
    expect(await outcome(connect(server.port, { headers: { Host: `evil.example:${server.port}` } }))).toBe(403);
    expect(await outcome(connect(server.port, { headers: { Host: `127.0.0.1:${server.port + 1}` } }))).toBe(403);
    expect(await outcome(connect(server.port, { headers: { Host: `localhost:${server.port}` } }))).toBe('open');
    expect(await outcome(connect(server.port, { headers: { Host: `[::1]:${server.port}` } }))).toBe('open');
  });

  it('answers plain HTTP with 426', async () => {
    const server = await startServer();
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: server.port, path: '/' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    expect(status).toBe(426);
  });

  it('caps concurrent connections with 503', async () => {
    const server = await startServer({ maxConnections: 2 });
    const a = connect(server.port);
    const b = connect(server.port);
    expect([await outcome(a), await outcome(b)]).toEqual(['open', 'open']);
    expect(await outcome(connect(server.port))).toBe(503);
    a.close();
    await once(a, 'close');
    await new Promise((r) => setTimeout(r, 50));
    expect(await outcome(connect(server.port))).toBe('open');
  });

  it('tokensEqual compares in constant time without length leaks', () => {
    expect(tokensEqual(TOKEN, TOKEN)).toBe(true);
    expect(tokensEqual(`${TOKEN}0`, TOKEN)).toBe(false);
    expect(tokensEqual('', TOKEN)).toBe(false);
  });
});

describe('RPC server limits', () => {
  it('closes a 70 KB frame with 1009 and keeps serving other clients', async () => {
    const server = await startServer();
    const big = connect(server.port);
    await outcome(big);
    const closed = once(big, 'close');
    big.send(JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 'echo', params: { pad: 'p'.repeat(70_000) } }));
    const [code] = (await closed) as [number];
    expect(code).toBe(1009);
    const other = connect(server.port);
    expect(await outcome(other)).toBe('open');
    expect((await call(other, 'echo', { ok: 1 })).result).toEqual({ ok: 1 });
  });

  it('answers BUSY beyond the in-flight cap per connection', async () => {
    const server = await startServer({ maxInFlight: 2 });
    const ws = connect(server.port);
    await outcome(ws);
    const results = await Promise.all(['a', 'b', 'c'].map((id) => call(ws, 'slow', undefined, id)));
    expect(results.filter((r) => r.result === 'done')).toHaveLength(2);
    expect(results.filter((r) => r.error?.data?.code === 'BUSY')).toHaveLength(1);
    expect((await call(ws, 'slow', undefined, 'd')).result).toBe('done');
  });

  it('closes a client that stops reading with 1013', async () => {
    const server = await startServer({ maxBufferedBytes: 64 * 1024 });
    const ws = connect(server.port);
    await outcome(ws);
    const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    blobCalls = 0;
    for (let i = 0; i < 300; i++) ws.send(JSON.stringify({ jsonrpc: '2.0', id: `b${i}`, method: 'blob' }));
    await settle(() => blobCalls);
    expect(blobCalls).toBeGreaterThan(0);
    const closed = once(ws, 'close');
    raw.resume();
    const [code] = (await closed) as [number];
    expect(code).toBe(1013);
    const other = connect(server.port);
    expect(await outcome(other)).toBe('open');
  });

  it('handles binary frames as UTF-8 JSON and reports invalid UTF-8 as a parse error', async () => {
    const server = await startServer();
    const ws = connect(server.port);
    await outcome(ws);
    const reply = new Promise<any>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
    ws.send(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 'bin', method: 'echo', params: { v: 'ü' } })));
    expect(await reply).toEqual({ jsonrpc: '2.0', id: 'bin', result: { v: 'ü' } });
    const bad = new Promise<any>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
    ws.send(Buffer.from([0xff, 0xfe, 0x7b]));
    expect(await bad).toMatchObject({ id: null, error: { code: -32700 } });
  });

  it('broadcasts notifications and closes clients with 1001 on close()', async () => {
    const server = await startServer();
    const a = connect(server.port);
    const b = connect(server.port);
    await Promise.all([outcome(a), outcome(b)]);
    const got = [a, b].map((ws) => new Promise<any>((r) => ws.once('message', (d) => r(JSON.parse(d.toString())))));
    server.broadcast('dht.ready', { nodes: 3 });
    for (const msg of await Promise.all(got)) expect(msg).toEqual({ jsonrpc: '2.0', method: 'dht.ready', params: { nodes: 3 } });
    const codes = [a, b].map((ws) => once(ws, 'close'));
    await server.close();
    for (const [code] of (await Promise.all(codes)) as [number][]) expect(code).toBe(1001);
  });
});

/** Resolves with the close code, or null if `ws` is still not closed after `ms`. */
function closedWithin(ws: WebSocket, ms: number): Promise<number | null> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(0);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    ws.once('close', (code: number) => { clearTimeout(timer); resolve(code); });
  });
}

/** Resolves with true once `ws` has received `count` pings, false if not within `ms`. */
function pings(ws: WebSocket, count: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const timer = setTimeout(() => { ws.off('ping', onPing); resolve(false); }, ms);
    const onPing = (): void => {
      if (++seen < count) return;
      clearTimeout(timer);
      ws.off('ping', onPing);
      resolve(true);
    };
    ws.on('ping', onPing);
  });
}

describe('RPC server heartbeat', () => {
  it('terminates an authenticated client that stops answering pings and frees its slot', async () => {
    const server = await startServer({ maxConnections: 1, heartbeatIntervalMs: 200 });
    const silent = connect(server.port, { autoPong: false }); // a peer that vanished: nothing comes back
    expect(await outcome(silent)).toBe('open');
    expect(await outcome(connect(server.port))).toBe(503); // it holds the only slot
    // Pinged at the next tick, dropped at the one after (≤ 2 intervals); bounded generously.
    expect(await closedWithin(silent, 10_000)).toBe(1006);
    for (let i = 0; i < 100 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(server.connectionCount).toBe(0);
    const next = connect(server.port);
    expect(await outcome(next)).toBe('open');
    expect((await call(next, 'echo', { ok: 1 })).result).toEqual({ ok: 1 });
  });

  it('keeps an idle client that answers pings across several intervals', async () => {
    const server = await startServer({ maxConnections: 1, heartbeatIntervalMs: 500 });
    const idle = connect(server.port); // ws answers pings by itself, as Godot and browsers do
    expect(await outcome(idle)).toBe('open');
    expect(await pings(idle, 4, 20_000)).toBe(true);
    expect(idle.readyState).toBe(WebSocket.OPEN);
    expect(server.connectionCount).toBe(1);
    expect((await call(idle, 'echo', { still: 'here' })).result).toEqual({ still: 'here' });
  });

  it('counts any received message as a sign of life', async () => {
    const server = await startServer({ heartbeatIntervalMs: 500 });
    const chatty = connect(server.port, { autoPong: false });
    expect(await outcome(chatty)).toBe('open');
    // Never a pong: each ping is answered with a request instead.
    chatty.on('ping', () => chatty.send(JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: [] })));
    expect(await pings(chatty, 4, 20_000)).toBe(true);
    expect(chatty.readyState).toBe(WebSocket.OPEN);
    expect(server.connectionCount).toBe(1);
  });

  it('is on by default, can be turned off, and refuses a bad interval', async () => {
    expect(DEFAULT_HEARTBEAT_INTERVAL_MS).toBeGreaterThanOrEqual(5_000);
    expect(DEFAULT_HEARTBEAT_INTERVAL_MS).toBeLessThanOrEqual(15_000); // a dead slot is free within 30 s
    const off = await startServer({ heartbeatIntervalMs: null });
    const silent = connect(off.port, { autoPong: false });
    expect(await outcome(silent)).toBe('open');
    expect(await pings(silent, 1, 1500)).toBe(false);
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      await expect(startServer({ heartbeatIntervalMs: bad })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });
});
