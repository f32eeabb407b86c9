/**
 * Abuse of the JSON-RPC service over real sockets, against the real `pkarr-sidecar serve` process:
 * slowloris upgrade requests, floods of idle connections, oversized headers, invalid UTF-8 frames,
 * clients that stop reading, vanish without a close frame or stop answering pings (half-open
 * peers). Throughout, a legitimate client must
 * keep being served and the sidecar's memory must stay bounded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { DEFAULT_MAX_CONNECTIONS } from '../sidecar/src/rpc/rpc-server.ts';
import { call, cleanup, closeSockets, dribble, handshake, rawSocket, rpcSocket, rssKiB, startServe, until, type Serve } from './abuse-helpers.ts';

/** The server's headersTimeout (10 s) plus its timeout-check interval and generous slack. */
const HEADERS_CUT_MS = 25_000;
/** `serve` uses the default client cap; connections not yet upgraded are capped at 4× that. */
const CLIENT_CAP = DEFAULT_MAX_CONNECTIONS;
const FLOOD = 4 * CLIENT_CAP + 100;
/** Memory a flood may add to the sidecar (resident set). */
const RSS_BOUND_KIB = 96 * 1024;

let root: string;
let s: Serve;

function upgradeRequest(port: number, token: string): string {
  return `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: pkarr-godot.v1, token.${token}\r\n\r\n`;
}

async function client(options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`], options);
  expect(await handshake(ws)).toBe('open');
  return ws;
}

/** A fresh client completes the handshake and gets a status answer. */
async function served(): Promise<boolean> {
  const ws = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`]);
  if ((await handshake(ws)) !== 'open') return false;
  const r = await call(ws, 'status');
  ws.close();
  return (r.result as { pid?: number } | undefined)?.pid === s.pid;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pkarr-abuse-rpc-'));
  s = await startServe(root);
});

afterEach(async () => {
  closeSockets();
  await new Promise((r) => setTimeout(r, 200)); // let the sidecar see the closes
});

afterAll(async () => {
  cleanup();
  await rm(root, { recursive: true, force: true });
});

describe('RPC service under abuse (real sockets, serve process)', () => {
  it('times out slowloris upgrade requests while serving other clients', async () => {
    const text = upgradeRequest(s.port, s.token).replace('\r\n\r\n', '\r\nX-Slow: ') + 'a'.repeat(10_000);
    const slow = Array.from({ length: 8 }, () => rawSocket(s.port));
    for (const c of slow) dribble(c.socket, text, 100);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      expect(await served()).toBe(true);
    }
    const times = await Promise.all(slow.map((c) => Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), HEADERS_CUT_MS + 5000))])));
    for (const t of times) expect(t).toBeLessThanOrEqual(HEADERS_CUT_MS);
    for (const c of slow) expect(c.received()).not.toContain('101 Switching Protocols');
    expect(await served()).toBe(true);
  }, 60_000);

  it(`keeps serving through a flood of ${FLOOD} idle connections, with bounded memory, and drops them`, async () => {
    const before = rssKiB(s.pid);
    const idle = Array.from({ length: FLOOD }, () => rawSocket(s.port));
    await until(() => idle.every((c) => c.socket.readyState === 'open' || c.socket.destroyed), 5000);
    expect(await served()).toBe(true);
    const during = rssKiB(s.pid);
    if (before !== null && during !== null) expect(during - before).toBeLessThan(RSS_BOUND_KIB);
    const cut = await until(() => idle.every((c) => c.socket.destroyed), HEADERS_CUT_MS + 5000);
    expect(cut).toBe(true);
    expect(await served()).toBe(true);
  }, 60_000);

  it('refuses an upgrade request with oversized headers and keeps serving', async () => {
    const c = rawSocket(s.port);
    c.socket.write(upgradeRequest(s.port, s.token).replace('\r\n\r\n', `\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`));
    await c.closed;
    expect(c.received()).not.toContain('101 Switching Protocols');
    expect(await served()).toBe(true);
  });

  it('closes a text frame of invalid UTF-8 with 1007, answers a binary one with -32700, keeps serving', async () => {
    const text = await client();
    const closed = once(text, 'close');
    text.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect(((await closed) as [number])[0]).toBe(1007);
    const binary = await client();
    const answer = new Promise<string>((r) => binary.once('message', (d) => r(d.toString())));
    binary.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: true });
    expect(JSON.parse(await answer)).toMatchObject({ id: null, error: { code: -32700 } });
    expect((await call(binary, 'status')).result).toMatchObject({ pid: s.pid });
  });

  it('closes a client that stops reading once its send buffer is full, with bounded memory', async () => {
    const before = rssKiB(s.pid);
    const reader = await client();
    const closed = new Promise<number>((r) => reader.once('close', (code: number) => r(code)));
    reader.pause(); // stops reading: responses pile up in the sidecar
    // 256 cheap requests per frame, each answered with ~170 bytes: ~13 MB of responses in all.
    const batch = JSON.stringify(Array.from({ length: 256 }, (_, i) => ({ jsonrpc: '2.0', id: `l${i}`, method: 'x'.repeat(100) })));
    for (let i = 0; i < 300; i++) reader.send(batch);
    // While it is stuck, others are served.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await served()).toBe(true);
    const during = rssKiB(s.pid);
    if (before !== null && during !== null) expect(during - before).toBeLessThan(RSS_BOUND_KIB);
    // Given time, the sidecar gives up on it (1013, then terminates it); read what is left to see the close.
    await new Promise((r) => setTimeout(r, 4000));
    reader.resume();
    expect([1013, 1006]).toContain(await closed);
    expect(s.stderr()).toMatch(/is not reading \(\d+ bytes queued\): closing with 1013/);
    expect(await served()).toBe(true);
  }, 60_000);

  it(`frees the slots of clients that vanish without a close frame; caps silent clients at ${CLIENT_CAP}`, async () => {
    const silent: WebSocket[] = [];
    for (let i = 0; i < CLIENT_CAP; i++) silent.push(await client());
    const extra = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`]);
    expect(await handshake(extra)).toBe(503);
    for (const ws of silent) ws.terminate(); // TCP gone, no close frame
    expect(await until(async () => served(), 10_000)).toBe(true);
    const again: WebSocket[] = [];
    for (let i = 0; i < CLIENT_CAP - 1; i++) again.push(await client());
    expect(await served()).toBe(true); // the last slot
    for (const ws of again) ws.terminate();
  }, 60_000);

  it(`drops authenticated clients that stop answering pings (half-open peers) and frees their ${CLIENT_CAP} slots`, async () => {
    // A sidecar of its own with a 1 s heartbeat (`--heartbeat-interval`), so the test does not wait
    // for the 15 s default; the other tests keep the shared default sidecar.
    const shared = s;
    s = await startServe(join(root, 'heartbeat'), ['--heartbeat-interval', '1']);
    try {
      // autoPong off: the TCP connection stays up but nothing answers, as with a peer gone without FIN/RST.
      const dead: WebSocket[] = [];
      for (let i = 0; i < CLIENT_CAP; i++) dead.push(await client({ autoPong: false }));
      const closes = dead.map((ws) => new Promise<number>((r) => ws.once('close', (code: number) => r(code))));
      const extra = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`]);
      expect(await handshake(extra)).toBe(503);
      // The heartbeat drops them within two intervals (≤ 2 s); bounded with generous slack.
      const bound = 20_000;
      expect(await until(() => dead.every((ws) => ws.readyState === ws.CLOSED), bound)).toBe(true);
      for (const code of await Promise.all(closes)) expect(code).toBe(1006);
      expect(s.stderr()).toMatch(/did not answer a ping within \d+ ms: dropping it/);
      const again: WebSocket[] = [];
      for (let i = 0; i < CLIENT_CAP - 1; i++) again.push(await client());
      expect(await served()).toBe(true); // every slot is free again
      for (const ws of again) ws.terminate();
    } finally {
      process.kill(s.pid, 'SIGTERM');
      s = shared;
    }
  }, 90_000);
});
