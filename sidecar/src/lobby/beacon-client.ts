/**
 * Fetching a lobby beacon (beacon-server.ts): one bounded HTTP GET with an overall deadline and a
 * body cap. It never throws: failures come back as `unreachable` (refused, reset, timeout, non-200)
 * or `oversized` (a body larger than a signed packet can be). Verification is the caller's job.
 *
 * A successful fetch also reports the round-trip time to the host: the duration of the TCP
 * handshake (SYN to SYN-ACK, answered by the host's kernel, so no server work is included), on a
 * fresh connection for every fetch. The beacon runs on the game host, so this is the player's
 * network round trip to it (docs/lobby.md §3.3).
 */
import { request } from 'node:http';
import { MAX_BYTES } from '../core/signed-packet.ts';
import { BEACON_CONTENT_TYPE, BEACON_PATH } from './beacon-server.ts';

export const DEFAULT_BEACON_TIMEOUT_MS = 1500;

export type BeaconFetch =
  | { ok: true; bytes: Uint8Array; rttMs: number }
  | { ok: false; failure: 'unreachable' | 'oversized'; detail: string };

export interface BeaconFetchOptions {
  /** Deadline for the whole exchange, connect to last byte (default 1500 ms). */
  timeoutMs?: number;
  /** Body cap (default 1104, the largest canonical signed packet). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** A measured duration in ms, to 0.01 ms (never 0: a measured round trip is never "unknown"). */
function roundTripMs(ms: number): number {
  return Math.max(0.01, Math.round(ms * 100) / 100);
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
    let rttMs: number | null = null;
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
    let connectStarted = performance.now();
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
        // No connect event seen (not expected with agent: false): the whole exchange, an upper bound.
        const rtt = rttMs ?? roundTripMs(performance.now() - connectStarted);
        finish({ ok: true, bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), rttMs: rtt });
      });
      res.on('error', (err) => unreachable(err.message));
      res.on('aborted', () => unreachable('response aborted'));
    });
    req.on('error', (err) => unreachable(err.message));
    // agent: false gives a fresh socket per request: its handshake is one network round trip.
    // The socket is handed over on the tick right after its connect was issued: timing from here
    // leaves out the request's own set-up (several ms on a cold or busy process).
    req.on('socket', (socket) => {
      if (socket.connecting) connectStarted = performance.now();
      const measure = (): void => { rttMs = roundTripMs(performance.now() - connectStarted); };
      if (socket.connecting) socket.once('connect', measure);
      else measure();
    });
    const timer = setTimeout(() => unreachable(`timeout after ${timeoutMs} ms`), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}
