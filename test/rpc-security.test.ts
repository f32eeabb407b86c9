/**
 * Security of the sidecar's JSON-RPC service, against the real `pkarr-sidecar serve` process:
 * the token (missing, wrong, constant-time comparison), browsers on other origins (real headless
 * Chromium through playwright-core), the frame size cap, and secrets that must never show up in
 * logs, errors, status or any response but keys.export. Key-file atomicity under kill -9 is
 * covered by test/key-store.test.ts; this file checks the mode of keys created over RPC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { tokensEqual } from '../sidecar/src/rpc/handshake.ts';
import { call, cleanup, handshake, rpcSocket, startServe, type Serve } from './abuse-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
/** A known secret to import (never produced by anything else). */
const SEED_HEX = '5eed5eed00112233445566778899aabbccddeeff0123456789abcdef5eed5eed';

let root: string;
let dirs = 0;
const servers: Server[] = [];
let browser: Browser | null = null;

async function dataDir(): Promise<string> {
  return mkdtemp(join(root, `s${++dirs}-`));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pkarr-rpc-security-'));
});

afterAll(async () => {
  cleanup();
  await browser?.close();
  for (const s of servers) s.close();
  await rm(root, { recursive: true, force: true });
});

describe('token', () => {
  let s: Serve;
  beforeAll(async () => {
    s = await startServe(await dataDir());
  });

  it('refuses a missing token, any wrong token and a wrong bearer with 401, before any method runs', async () => {
    const wrongSameLength = s.token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    const refused = [
      [['pkarr-godot.v1']],
      [['pkarr-godot.v1', `token.${wrongSameLength}`]],
      [['pkarr-godot.v1', `token.${s.token.slice(0, -1)}`]],
      [['pkarr-godot.v1', `token.${s.token}0`]],
      [['pkarr-godot.v1', 'token.']],
      [[], { headers: { Authorization: `Bearer ${wrongSameLength}` } }],
    ] as const;
    for (const [protocols, options] of refused) {
      expect(await handshake(rpcSocket(s.port, [...protocols], options ?? {}))).toBe(401);
    }
    // The sidecar logs each refusal on its stderr, which reaches us asynchronously: wait (bounded) for the lines.
    const refusals = (): number => s.stderr().match(/refused connection from [^:]+: (missing|wrong) token/g)?.length ?? 0;
    for (let i = 0; i < 100 && refusals() < refused.length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(refusals()).toBe(refused.length);
    expect(s.stderr()).not.toMatch(/client #\d+ connected/); // no refused attempt ever became a client
    const ok = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`]);
    expect(await handshake(ok)).toBe('open');
    expect((await call(ok, 'status')).result).toMatchObject({ pid: s.pid });
  });

  it('compares tokens with timingSafeEqual on SHA-256 digests (equal lengths, no length leak)', async () => {
    const source = await readFile('sidecar/src/rpc/handshake.ts', 'utf8');
    expect(source).toMatch(/timingSafeEqual\(digest\(provided\), digest\(expected\)\)/);
    expect(source).toMatch(/createHash\('sha256'\)/);
    // Raw timingSafeEqual throws on unequal lengths; the digests make every comparison 32 bytes.
    expect(tokensEqual('a', 'a'.repeat(64))).toBe(false);
    expect(tokensEqual('', s.token)).toBe(false);
    expect(tokensEqual(s.token, s.token)).toBe(true);
  });
});

describe('browsers on another origin (headless Chromium)', () => {
  let pageOrigin: string;

  beforeAll(async () => {
    const page = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>attacker</title>'));
    servers.push(page);
    page.listen(0, '127.0.0.1');
    await once(page, 'listening');
    const address = page.address();
    pageOrigin = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 60_000);

  /** Runs `new WebSocket(ws://127.0.0.1:<port>/, [pkarr-godot.v1, token.<token>])` in a page of pageOrigin. */
  async function tryFromPage(port: number, token: string): Promise<{ opened: boolean; reply?: string; code?: number }> {
    const page = await browser!.newPage();
    try {
      await page.goto(`${pageOrigin}/`);
      return await page.evaluate(([url, t]) => new Promise<{ opened: boolean; reply?: string; code?: number }>((resolve) => {
        const ws = new WebSocket(url, ['pkarr-godot.v1', `token.${t}`]);
        let opened = false;
        const timer = setTimeout(() => resolve({ opened, code: -1 }), 10_000);
        ws.onopen = () => {
          opened = true;
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'page', method: 'status' }));
        };
        ws.onmessage = (e) => {
          const reply = String(e.data);
          if (!reply.includes('"id":"page"')) return;
          clearTimeout(timer);
          ws.close();
          resolve({ opened, reply });
        };
        ws.onclose = (e) => {
          clearTimeout(timer);
          resolve({ opened, code: e.code });
        };
      }), [`ws://127.0.0.1:${port}/`, token] as const);
    } finally {
      await page.close();
    }
  }

  it('cannot connect even with the right token when its origin is not allowed', async () => {
    const s = await startServe(await dataDir());
    const outcome = await tryFromPage(s.port, s.token);
    expect(outcome.opened).toBe(false);
    expect(outcome.reply).toBeUndefined();
    expect(s.stderr()).toContain('origin not allowed');
  }, 60_000);

  it('connects and calls methods when the sidecar runs with --allow-origin <that origin>', async () => {
    const s = await startServe(await dataDir(), ['--allow-origin', pageOrigin]);
    const outcome = await tryFromPage(s.port, s.token);
    expect(outcome.opened).toBe(true);
    expect(JSON.parse(outcome.reply ?? '{}')).toMatchObject({ id: 'page', result: { pid: s.pid } });
    // …but the allowed origin still needs the right token.
    const wrong = await tryFromPage(s.port, 'f'.repeat(s.token.length));
    expect(wrong.opened).toBe(false);
  }, 60_000);
});

describe('frame size cap', () => {
  it('answers a 64 KiB frame and closes a 64 KiB + 1 frame with 1009, serving other clients', async () => {
    const s = await startServe(await dataDir());
    const ws = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`]);
    expect(await handshake(ws)).toBe('open');
    const frame = (size: number): string => {
      const head = '{"jsonrpc":"2.0","id":"big","method":"status","params":{"pad":"';
      return `${head}${'x'.repeat(size - head.length - 3)}"}}`;
    };
    expect(Buffer.byteLength(frame(64 * 1024))).toBe(64 * 1024);
    const answered = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
    ws.send(frame(64 * 1024));
    expect(JSON.parse(await answered)).toMatchObject({ id: 'big', error: { code: -32602, data: { field: 'pad' } } });
    const closed = once(ws, 'close');
    ws.send(frame(64 * 1024 + 1));
    expect(((await closed) as [number])[0]).toBe(1009);
    const other = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`]);
    expect(await handshake(other)).toBe('open');
    expect((await call(other, 'status')).result).toMatchObject({ pid: s.pid });
  }, 60_000);
});

describe('secrets', () => {
  it('never appear in stderr, stdout, errors, status or any response but keys.export', async () => {
    const dir = await dataDir();
    const s = await startServe(dir);
    const ws = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`]);
    expect(await handshake(ws)).toBe('open');
    /** Every exchange but the keys.export results: the request text and the response. */
    const exchanges: { method: string; request: string; response: string }[] = [];
    const rpc = async (method: string, params?: unknown): Promise<Awaited<ReturnType<typeof call>>> => {
      const r = await call(ws, method, params);
      if (method !== 'keys.export' || r.error) exchanges.push({ method, request: JSON.stringify(params ?? null), response: r.raw });
      return r;
    };
    const raw = (method: string, text: string): Promise<string> => new Promise((r) => {
      ws.once('message', (d) => { exchanges.push({ method, request: text, response: d.toString() }); r(d.toString()); });
      ws.send(text);
    });

    expect((await rpc('keys.import', { name: 'imported', secretKey: SEED_HEX })).result).toBeDefined();
    expect((await rpc('keys.generate', { name: 'generated' })).result).toBeDefined();
    const exported = await call(ws, 'keys.export', { name: 'generated' });
    const generatedHex = (exported.result as { secretKey: string }).secretKey;
    expect(generatedHex).toMatch(/^[0-9a-f]{64}$/);
    expect(((await call(ws, 'keys.export', { name: 'imported' })).result as { secretKey: string }).secretKey).toBe(SEED_HEX);
    // A corrupt key file holding a secret: reading it must not echo the content.
    await writeFile(join(dir, 'keys', 'broken.key'), `${SEED_HEX}zz\n`, { mode: 0o600 });

    const z32 = ((await rpc('keys.list')).result as { name: string; publicKey: string }[]).find((k) => k.name === 'imported')!.publicKey;
    const game = { game: 'com.example.tanks', gameVersion: '1.0' };
    const attempts: [string, unknown][] = [
      ['status', undefined], ['status', { secretKey: SEED_HEX }],
      ['keys.generate', { name: 'imported' }], ['keys.import', { name: 'imported', secretKey: generatedHex }],
      ['keys.import', { name: 'x', secretKey: SEED_HEX.slice(1) }], ['keys.import', { name: 'x', secretKey: `${SEED_HEX}0` }],
      ['keys.import', { name: 'x', secretKey: SEED_HEX.toUpperCase(), overwrite: 'yes' }], ['keys.import', { name: 'bad/name', secretKey: SEED_HEX }],
      ['keys.export', { name: 'broken' }], ['keys.export', { name: 'missing' }], ['keys.delete', { name: 'missing' }],
      ['publish', { key: 'imported', records: [{ type: 'A', name: '@', ttl: 60, address: '1.2.3.4' }] }],
      ['publish', { key: 'imported', records: [{ type: 'TXT', name: '@', ttl: 60, text: SEED_HEX, secretKey: SEED_HEX }] }],
      ['publish', { key: 'broken', records: [] }], ['resolve', { publicKey: z32 }], ['resolve', { publicKey: SEED_HEX }],
      ['republish.add', { key: 'imported' }], ['republish.add', { publicKey: z32 }], ['republish.remove', { publicKey: z32 }], ['republish.list', undefined],
      ['lobby.host', { key: 'imported', ...game, name: 'Room', maxPlayers: 4, port: 7777, address: '203.0.113.9' }],
      ['lobby.host', { key: 'broken', ...game, name: 'Room', maxPlayers: 4, port: 7777 }],
      ['lobby.update', { key: 'imported', players: 2 }], ['lobby.close', { key: 'imported' }], ['lobby.hosted', undefined],
      ['lobby.get', { code: z32 }], ['lobby.get', { code: SEED_HEX }], ['lobby.browse', { ...game, knownKeys: [z32], topic: false }],
      ['lobby.watch', { ...game, knownKeys: [z32], topic: false }], ['lobby.refresh', { watchId: SEED_HEX }], ['lobby.unwatch', { watchId: 'w1' }],
      ['no.such.method', { secretKey: SEED_HEX }],
    ];
    for (const [method, params] of attempts) await rpc(method, params);
    await raw('keys.import', `{"jsonrpc":"2.0","id":"trunc","method":"keys.import","params":{"name":"t","secretKey":"${SEED_HEX}"`);
    await raw('batch', `[{"jsonrpc":"2.0","id":"b1","method":"keys.list"},{"jsonrpc":"2.0","id":"b2","method":"keys.export","params":{"name":"missing"}}]`);
    expect((await rpc('status')).result).toMatchObject({ keys: expect.any(Number) });
    await rpc('shutdown');
    expect(await s.exited).toMatchObject({ code: 0 });

    expect(exchanges.length).toBe(attempts.length + 7);
    for (const where of ['stderr', 'stdout'] as const) {
      const text = (where === 'stderr' ? s.stderr() : s.stdoutRest()).toLowerCase();
      expect(text, where).not.toContain(SEED_HEX);
      expect(text, where).not.toContain(generatedHex);
    }
    for (const { method, request, response } of exchanges) {
      const text = response.toLowerCase();
      // The generated key's secret was only ever sent back in (refused) keys.import: nothing echoes it.
      expect(text, `${method} ${request}`).not.toContain(generatedHex);
      // A stored secret never comes out; a request may see its own params quoted in an error, except
      // keys.* which must not echo a secretKey even when refusing it.
      if (!request.toLowerCase().includes(SEED_HEX) || method.startsWith('keys.')) expect(text, `${method} ${request}`).not.toContain(SEED_HEX);
    }
    expect(s.stderr()).toContain('client #'); // debug logging was on, so the check had text to search
  }, 90_000);

  it('creates key files over RPC with mode 0600 in a 0700 directory and leaves no temp files', async () => {
    const dir = await dataDir();
    const s = await startServe(dir);
    const ws = rpcSocket(s.port, ['pkarr-godot.v1', `token.${s.token}`]);
    expect(await handshake(ws)).toBe('open');
    for (let i = 0; i < 5; i++) expect((await call(ws, 'keys.generate', { name: `k${i}` })).result).toBeDefined();
    expect((await call(ws, 'keys.import', { name: 'k0', secretKey: SEED_HEX, overwrite: true })).result).toBeDefined();
    const files = (await readdir(join(dir, 'keys'))).sort();
    expect(files).toEqual(['k0.key', 'k1.key', 'k2.key', 'k3.key', 'k4.key']);
    for (const f of files) expect((await stat(join(dir, 'keys', f))).mode & 0o777, f).toBe(0o600);
    expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
    expect((await readFile(join(dir, 'keys', 'k0.key'), 'utf8')).trim()).toBe(SEED_HEX);
  }, 60_000);
});
