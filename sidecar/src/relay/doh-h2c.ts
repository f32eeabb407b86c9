/**
 * HTTP/2 over cleartext (h2c, prior knowledge, RFC 9113 §3.3) on the relay's HTTP/1.1 port, for
 * DNS-over-HTTPS clients that speak HTTP/2 only (`dig +http-plain`, a TLS-terminating proxy
 * forwarding h2). Every request is handled by the relay's own request listener, so routes, rate
 * limits and answers are the same as over HTTP/1.1 (minus `Connection: close`, which HTTP/2 does
 * not have: those headers are dropped).
 *
 * Each new connection is sniffed: its first bytes are compared with the HTTP/2 connection preface
 * (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`). On a match the connection goes to a node:http2 server; on the
 * first byte that differs, or when nothing arrives within {@link SNIFF_MS}, it goes to the HTTP/1.1
 * server untouched (its header and request timeouts then apply as before), with the bytes read so
 * far put back. HTTP/2 sessions idle for {@link H2_IDLE_MS} are closed, a stream is cancelled after
 * {@link REQUEST_MS}, at most 32 streams run at once per session; the relay's
 * closeIdleConnections/closeAllConnections also close/destroy the sessions.
 */
import type { Server } from 'node:http';
import { constants, createServer as createH2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** How long a silent new connection waits before it is handed to HTTP/1.1. */
export const SNIFF_MS = 1000;
export const H2_IDLE_MS = 10_000;
/** Longest an HTTP/2 request may take (the relay's HTTP/1.1 requestTimeout). */
export const REQUEST_MS = 30_000;
/** Concurrent streams per HTTP/2 session (each is a request for the rate limiter). */
const MAX_STREAMS = 32;

type ConnectionListener = (socket: Socket) => void;

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2); node:http2 throws on them, the routes set `Connection: close`. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** Makes `res` drop connection-specific headers instead of throwing on them. */
function withoutConnectionHeaders(res: Http2ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: Record<string, string | number | string[]>) => Http2ServerResponse;
  const setHeader = res.setHeader.bind(res);
  const clean = (headers: unknown): Record<string, string | number | string[]> | undefined => {
    if (headers === undefined || headers === null || typeof headers !== 'object') return undefined;
    return Object.fromEntries(Object.entries(headers).filter(([name]) => !CONNECTION_HEADERS.has(name.toLowerCase()))) as Record<string, string | number | string[]>;
  };
  res.writeHead = ((status: number, a?: unknown, b?: unknown) => writeHead(status, clean(typeof a === 'string' ? b : a))) as typeof res.writeHead;
  res.setHeader = ((name: string, value: string | number | readonly string[]) => (CONNECTION_HEADERS.has(name.toLowerCase()) ? res : setHeader(name, value))) as typeof res.setHeader;
}

/** Makes `server` (the relay's node:http server, before it listens) accept h2c too. */
export function acceptH2c(server: Server): void {
  const http1 = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const h2 = createH2Server({ settings: { maxConcurrentStreams: MAX_STREAMS }, maxSessionMemory: 10 });
  for (const listener of server.listeners('request') as ((req: Http2ServerRequest, res: Http2ServerResponse) => void)[]) {
    h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      withoutConnectionHeaders(res);
      // Where HTTP/1.1 closes the connection on an unread body (413, 415), end the stream instead
      // (RST_STREAM NO_ERROR after a complete response, RFC 9113 §8.1).
      res.once('finish', () => {
        if (!req.complete) req.stream.close(constants.NGHTTP2_NO_ERROR);
      });
      listener.call(server, req, res);
    });
  }
  // As the HTTP/1.1 server's requestTimeout: no stream lives longer than REQUEST_MS.
  h2.on('stream', (stream: ServerHttp2Stream) => {
    const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), REQUEST_MS);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  });
  const sessions = new Set<Http2Session>();
  /** The sockets under the sessions: destroying a session does not always close its socket. */
  const h2Sockets = new Set<Socket>();
  h2.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.setTimeout(H2_IDLE_MS, () => session.close());
    session.once('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
  });

  server.on('connection', (socket: Socket) => {
    let seen: Buffer = Buffer.alloc(0);
    const onError = (): void => { socket.destroy(); };
    const finish = (h2c: boolean): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (seen.length > 0) socket.unshift(seen);
      socket.off('error', onError);
      if (h2c) {
        h2Sockets.add(socket);
        socket.once('close', () => h2Sockets.delete(socket));
        h2.emit('connection', socket);
        return;
      }
      for (const listener of http1) listener.call(server, socket);
      socket.resume();
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      if (!seen.subarray(0, n).equals(PREFACE.subarray(0, n))) finish(false);
      else if (seen.length >= PREFACE.length) finish(true);
    };
    const onClose = (): void => clearTimeout(timer);
    const timer = setTimeout(() => finish(false), SNIFF_MS);
    socket.on('error', onError);
    socket.on('data', onData);
    socket.once('close', onClose);
  });

  const closeIdle = server.closeIdleConnections.bind(server);
  const closeAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = (): void => {
    for (const session of sessions) session.close();
    closeIdle();
  };
  server.closeAllConnections = (): void => {
    for (const session of sessions) session.destroy();
    for (const socket of h2Sockets) socket.destroy();
    closeAll();
  };
}
