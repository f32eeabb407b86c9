/**
 * Small node:http helpers shared by the relay routes: bounded body reading, plain-text replies and
 * the CORS policy.
 *
 * CORS mirrors the v7 reference (tower-http `very_permissive` plus exposed headers, pubky/pkarr
 * relay/src/lib.rs `cors_layer`): the request's `Origin` is echoed with credentials allowed,
 * preflights (`OPTIONS`) get 204 with `GET, PUT, OPTIONS` (plus `POST` for DoH) and the requested
 * headers mirrored, and the pkarr and caching headers are exposed to scripts.
 *
 * A public page calling a relay on loopback or a private address (a game on itch.io trying the
 * local relay on 127.0.0.1:6881) makes Chromium send Private Network Access preflights carrying
 * `Access-Control-Request-Private-Network: true` (later renamed Local Network Access, which asks
 * with `Access-Control-Request-Local-Network: true`); the preflight answer opts in with the
 * matching `Access-Control-Allow-…: true`. Relay data is public and every packet is signed, so
 * opting in exposes nothing a public relay would not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const EXPOSED_HEADERS = 'Pkarr-Dht-Stored-Nodes, Pkarr-Invalid-Signed-Packet-Seq, Last-Modified, Memento-Datetime, Cache-Control, Retry-After';
export const ALLOWED_METHODS = 'GET, PUT, POST, OPTIONS';

/** The request body, or 'too-large' once more than `limit` bytes arrived (reading stops at once). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.pause();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (value: Buffer | 'too-large' | 'aborted'): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > limit) {
        req.pause();
        finish('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(Buffer.concat(chunks, length));
    const onError = (): void => finish('aborted');
    const onClose = (): void => finish(req.complete ? Buffer.concat(chunks, length) : 'aborted');
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Sends `status` with a one-line text body (nothing for 204/304/HEAD). */
export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string | number> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const noBody = status === 204 || status === 304;
  res.writeHead(status, noBody ? headers : { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(noBody ? undefined : `${text}\n`);
}

/** 413 and close the connection: the rest of the body is never read. */
export function sendTooLarge(res: ServerResponse, limit: number): void {
  sendText(res, 413, `Payload Too Large: the body must be at most ${limit} bytes`, { Connection: 'close' });
}

/** Adds the CORS response headers when the request carries an `Origin`. */
export function applyCors(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  res.setHeader('Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
}

/** Answers a CORS preflight (or any OPTIONS request) with 204. */
export function sendPreflight(req: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string> = { 'Access-Control-Allow-Methods': ALLOWED_METHODS, 'Access-Control-Max-Age': '86400' };
  const requested = req.headers['access-control-request-headers'];
  if (requested !== undefined && requested !== '') headers['Access-Control-Allow-Headers'] = requested;
  if (req.headers.origin === undefined) headers['Access-Control-Allow-Origin'] = '*';
  if (req.headers['access-control-request-private-network'] === 'true') headers['Access-Control-Allow-Private-Network'] = 'true';
  if (req.headers['access-control-request-local-network'] === 'true') headers['Access-Control-Allow-Local-Network'] = 'true';
  res.writeHead(204, headers);
  res.end();
}

/** 405 with the `Allow` header. */
export function sendMethodNotAllowed(res: ServerResponse, allow: string): void {
  sendText(res, 405, 'Method Not Allowed', { Allow: allow });
}
