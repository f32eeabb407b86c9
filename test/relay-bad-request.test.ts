/**
 * The relay's answers to HTTP protocol errors (sidecar/src/relay/bad-request.ts) on a node:http
 * server with short timeouts, over raw loopback sockets: 408 for a header timeout, 431 for
 * oversized headers, 400 for a malformed request, nothing (just a close) when a response has
 * already started, and no half-closed connection kept for a client that never closes its side.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { CLIENT_ERROR_LINGER_MS, ClientErrorResponder, clientErrorStatus } from '../sidecar/src/relay/bad-request.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];
const hanging: ServerResponse[] = [];

/** A server answering `GET /` with "ok" and `GET /stream` with a response that never ends. */
async function start(): Promise<number> {
  return (await startServer()).port;
}

async function startServer(): Promise<{ server: Server; port: number }> {
  const responder = new ClientErrorResponder();
  const server = createServer({ headersTimeout: 500, requestTimeout: 1000, connectionsCheckingInterval: 100 }, (req, res) => {
    responder.track(req, res);
    if (req.url === '/stream') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial');
      hanging.push(res);
      return;
    }
    res.end('ok');
  });
  server.on('clientError', responder.handle);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** A raw client; `allowHalfOpen` keeps its side open after the server's FIN (a client that never closes). */
function raw(port: number, allowHalfOpen = false): { socket: Socket; closed: Promise<void>; received: () => string } {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen });
  sockets.push(socket);
  let received = '';
  socket.on('data', (d: Buffer) => { received += d.toString('latin1'); });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return { socket, closed, received: () => received };
}

/** Resolves true once `p` settles, false after `ms`. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); }),
  ]).finally(() => clearTimeout(timer));
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const res of hanging.splice(0)) res.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
});

describe('relay clientError answers', () => {
  it('maps error codes as Node does', () => {
    expect(clientErrorStatus('ERR_HTTP_REQUEST_TIMEOUT')).toBe(408);
    expect(clientErrorStatus('HPE_HEADER_OVERFLOW')).toBe(431);
    expect(clientErrorStatus('HPE_CHUNK_EXTENSIONS_OVERFLOW')).toBe(413);
    expect(clientErrorStatus('HPE_INVALID_HEADER_TOKEN')).toBe(400);
    expect(clientErrorStatus(undefined)).toBe(400);
  });

  it('answers a header timeout with 408 and closes', async () => {
    const c = raw(await start());
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a'); // never finished
    expect(await within(c.closed, 10_000)).toBe(true);
    expect(c.received()).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  it('answers oversized headers with 431 and a malformed request with 400', async () => {
    const port = await start();
    const big = raw(port);
    big.socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`);
    const bad = raw(port);
    bad.socket.write('GET / HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n');
    expect(await within(Promise.all([big.closed, bad.closed]), 10_000)).toBe(true);
    expect(big.received().split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(bad.received().split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
  });

  it('answers an error after a complete keep-alive exchange', async () => {
    const c = raw(await start());
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    while (!c.received().endsWith('ok') && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n');
    expect(await within(c.closed, 10_000)).toBe(true);
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok(HTTP\/1\.1 400 Bad Request\r\n[\s\S]*)$/);
  });

  it('only closes when a response has started (no status written into it)', async () => {
    const c = raw(await start());
    c.socket.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    while (!c.received().includes('partial') && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n');
    expect(await within(c.closed, 10_000)).toBe(true);
    expect(c.received()).toContain('partial');
    expect(c.received()).not.toContain('400 Bad Request');
  });

  it(`does not keep the connection of a client that never closes its side (≤ ${CLIENT_ERROR_LINGER_MS} ms)`, async () => {
    const { server, port } = await startServer();
    const c = raw(port, true);
    const ended = new Promise<void>((r) => c.socket.once('end', () => r())); // the server's FIN; never answered
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a'); // headers never finished: 408
    expect(await within(ended, 10_000)).toBe(true);
    expect(c.received().split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(await connections(server)).toBe(1); // half-closed, lingering for the client to read
    const deadline = Date.now() + CLIENT_ERROR_LINGER_MS + 10_000;
    while ((await connections(server)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await connections(server)).toBe(0);
  });
});
