/**
 * Fetching a lobby beacon (beacon-server.ts): one bounded HTTP GET with an overall deadline and a
 * body cap. It never throws: failures come back as `unreachable` (refused, reset, timeout, non-200)
 * or `oversized` (a body larger than a signed packet can be). Verification is the caller's job.
 */
import { request } from 'node:http';
import { MAX_BYTES } from '../core/signed-packet.ts';
import { BEACON_CONTENT_TYPE, BEACON_PATH } from './beacon-server.ts';

export const DEFAULT_BEACON_TIMEOUT_MS = 1500;

export type BeaconFetch =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; failure: 'unreachable' | 'oversized'; detail: string };

export interface BeaconFetchOptions {
  /** Deadline for the whole exchange, connect to last byte (default 1500 ms). */
  timeoutMs?: number;
  /** Body cap (default 1104, the largest canonical signed packet). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** GETs `http://host:port/pkarr-lobby`. */
export function fetchBeacon(host: string, port: number, options: BeaconFetchOptions = {}): Promise<BeaconFetch> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_BEACON_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? MAX_BYTES;
  const signal = options.signal;
  return new Promise<BeaconFetch>((resolve) => {
    if (signal?.aborted) {
      resolve({ ok: false, failure: 'unreachable', detail: 'aborted' });
      return;
    }
    let settled = false;
    const finish = (result: BeaconFetch): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(result);
    };
    const unreachable = (detail: string): void => finish({ ok: false, failure: 'unreachable', detail });
    const oversized = (detail: string): void => finish({ ok: false, failure: 'oversized', detail });
    const onAbort = (): void => unreachable('aborted');
    const req = request({
      host,
      port,
      path: BEACON_PATH,
      method: 'GET',
      agent: false,
      maxHeaderSize: 4096,
      headers: { Accept: BEACON_CONTENT_TYPE, Connection: 'close' },
    }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        unreachable(`HTTP ${String(res.statusCode)}`);
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        oversized(`Content-Length ${declared} > ${maxBytes}`);
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) oversized(`body over ${maxBytes} bytes`);
        else chunks.push(chunk);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        finish({ ok: true, bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) });
      });
      res.on('error', (err) => unreachable(err.message));
      res.on('aborted', () => unreachable('response aborted'));
    });
    req.on('error', (err) => unreachable(err.message));
    const timer = setTimeout(() => unreachable(`timeout after ${timeoutMs} ms`), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}
