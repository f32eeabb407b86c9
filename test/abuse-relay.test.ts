/**
 * Abuse of the HTTP relay over real sockets, against the real `pkarr-sidecar relay` process (on a
 * local testnet, rate limits off so the abuse itself is what is measured): slowloris headers and
 * bodies, oversized headers and bodies, invalid UTF-8 in paths, many idle connections. Throughout,
 * other clients must keep being served and the relay's memory must stay bounded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { cleanup, closeSockets, dribble, rawSocket, rssKiB, spawnCli, until, type Child } from './abuse-helpers.ts';

/** headersTimeout (10 s) + the server's timeout-check interval + generous slack. */
const HEADERS_CUT_MS = 25_000;
/** requestTimeout (30 s) + check interval + slack. */
const REQUEST_CUT_MS = 45_000;
const RSS_BOUND_KIB = 96 * 1024;

let root: string;
let relay: Child;
let port = 0;
let url = '';
const key = Keypair.fromSeed(new Uint8Array(32).fill(9));

/** GET / answers 200 (the status page). */
async function served(): Promise<boolean> {
  const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status === 200;
}

/** The status line of a raw exchange (waits for the relay to answer and/or close). */
async function exchange(request: string | Buffer): Promise<string> {
  const c = rawSocket(port);
  c.socket.write(request);
  await until(() => c.received().includes('\r\n\r\n') || c.socket.destroyed, 10_000);
  return c.received().split('\r\n')[0] ?? '';
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pkarr-abuse-relay-'));
  relay = await spawnCli(['relay', '--host', '127.0.0.1', '--port', '0', '--testnet', '3', '--rate', 'off', '--dht-rate', 'off', '--data-dir', root]);
  const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(relay.firstLine);
  if (m === null) throw new Error(`unexpected ready line ${relay.firstLine}`);
  url = m[1]!;
  port = Number(m[2]);
}, 60_000);

afterEach(() => closeSockets());

afterAll(async () => {
  cleanup();
  await rm(root, { recursive: true, force: true });
});

describe('relay under abuse (real sockets, relay process)', () => {
  it('times out slowloris headers and bodies while serving other clients', async () => {
    const headers = Array.from({ length: 8 }, () => rawSocket(port));
    for (const c of headers) dribble(c.socket, `GET /${key.publicKey.z32} HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(10_000)}`, 100);
    const bodies = Array.from({ length: 2 }, () => rawSocket(port));
    for (const c of bodies) {
      c.socket.write(`PUT /${key.publicKey.z32} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`);
      dribble(c.socket, 'b'.repeat(1000), 200);
    }
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      expect(await served()).toBe(true);
    }
    const cap = (p: Promise<number>, ms: number): Promise<number> => Promise.race([p, new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), ms + 5000))]);
    for (const t of await Promise.all(headers.map((c) => cap(c.closed, HEADERS_CUT_MS)))) expect(t).toBeLessThanOrEqual(HEADERS_CUT_MS);
    for (const t of await Promise.all(bodies.map((c) => cap(c.closed, REQUEST_CUT_MS)))) expect(t).toBeLessThanOrEqual(REQUEST_CUT_MS);
    // Each is told why before the close: 408 (the answer is followed by a FIN, so it can be read).
    for (const c of [...headers, ...bodies]) expect(c.received().split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(await served()).toBe(true);
  }, 90_000);

  it('refuses oversized headers with 431, a malformed request with 400, and keeps serving', async () => {
    const status = await exchange(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`);
    expect(status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(await exchange('GET / HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await served()).toBe(true);
  });

  it('answers oversized bodies with 413 without reading them, declared or streamed, with bounded memory', async () => {
    const before = rssKiB(relay.child.pid!);
    // Declared: refused before a byte of the body is sent.
    expect(await exchange(`PUT /${key.publicKey.z32} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n`)).toBe('HTTP/1.1 413 Payload Too Large');
    // Streamed (chunked, no length): refused once past 1104 bytes; the relay closes the connection.
    const c = rawSocket(port);
    c.socket.write(`PUT /${key.publicKey.z32} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = `${(64 * 1024).toString(16)}\r\n${'c'.repeat(64 * 1024)}\r\n`;
    let sent = 0;
    while (!c.socket.destroyed && sent < 160 && !c.received().includes('\r\n\r\n')) {
      c.socket.write(chunk);
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    // The relay answers 413 and closes without reading the rest; the close can reset the connection
    // before the client read the 413 (unread request bytes make the kernel send RST), so either is fine.
    expect(await until(() => c.socket.destroyed, 10_000)).toBe(true);
    if (c.received() !== '') expect(c.received().split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    // A packet of the maximum size is still fine.
    const packet = SignedPacket.sign(key, [{ type: 'TXT', name: '_big', ttl: 60, strings: Array.from({ length: 3 }, () => 'x'.repeat(250)) }]);
    const ok = await fetch(`${url}/${key.publicKey.z32}`, { method: 'PUT', body: Buffer.from(packet.toRelayPayload()) });
    expect([204, 503]).toContain(ok.status); // 503 only if the testnet answered nothing
    const after = rssKiB(relay.child.pid!);
    if (before !== null && after !== null) expect(after - before).toBeLessThan(RSS_BOUND_KIB);
    expect(await served()).toBe(true);
  }, 60_000);

  it('answers invalid UTF-8 in paths (raw or percent-encoded) with 400 and keeps serving', async () => {
    const raw = [
      Buffer.concat([Buffer.from('GET /'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]),
      Buffer.concat([Buffer.from('PUT /pk:'), Buffer.from([0xc3, 0x28]), Buffer.from(' HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')]),
    ];
    for (const request of raw) expect(await exchange(request)).toMatch(/^HTTP\/1\.1 400 /);
    for (const path of ['/%ff%fe', '/pk:%E0%A4%A', '/%c3%28', `/${key.publicKey.z32.slice(0, 51)}%ff`]) {
      for (const method of ['GET', 'HEAD', 'PUT']) {
        const status = await exchange(`${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
        expect(status, `${method} ${path}`).toMatch(/^HTTP\/1\.1 400 /);
      }
    }
    expect(await exchange('GET /dns-query?dns=%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await served()).toBe(true);
    expect(relay.stderr()).not.toMatch(/failed: /); // no request ended in the 500 path
  }, 60_000);

  it('keeps serving with 500 idle connections open, with bounded memory, and drops them', async () => {
    const before = rssKiB(relay.child.pid!);
    const idle = Array.from({ length: 500 }, () => rawSocket(port));
    await until(() => idle.every((c) => c.socket.readyState === 'open' || c.socket.destroyed), 10_000);
    for (let i = 0; i < 5; i++) expect(await served()).toBe(true);
    const during = rssKiB(relay.child.pid!);
    if (before !== null && during !== null) expect(during - before).toBeLessThan(RSS_BOUND_KIB);
    expect(await until(() => idle.every((c) => c.socket.destroyed), HEADERS_CUT_MS + 5000)).toBe(true);
    expect(await served()).toBe(true);
  }, 60_000);
});
