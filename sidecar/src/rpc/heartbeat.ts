/**
 * WebSocket heartbeat (the standard `ws` ping/pong pattern): every interval each client that has
 * shown no sign of life since the previous tick is reported dead, the others are marked "unheard"
 * and pinged. A pong or any received message counts as a sign of life. Godot's WebSocketPeer
 * (while it is polled) and browsers answer pings by themselves, so idle but live clients stay;
 * a client whose peer vanished without FIN/RST (half-open TCP) is found within two intervals.
 */
import { WebSocket } from 'ws';
import { PkarrError } from '../core/errors.ts';

/** Milliseconds between pings by default: a dead client is dropped 15-30 s after it went silent. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
/** Shortest interval accepted (tests use a few hundred ms). */
export const MIN_HEARTBEAT_INTERVAL_MS = 10;
/** Longest interval accepted (about 24.8 days, the largest delay a Node timer takes). */
export const MAX_HEARTBEAT_INTERVAL_MS = 2 ** 31 - 1;

/** Throws INVALID_ARGUMENT unless `ms` is null (off) or an integer in the accepted range. */
export function checkHeartbeatInterval(ms: number | null): number | null {
  if (ms === null) return null;
  if (!Number.isInteger(ms) || ms < MIN_HEARTBEAT_INTERVAL_MS || ms > MAX_HEARTBEAT_INTERVAL_MS) {
    throw new PkarrError('INVALID_ARGUMENT', `heartbeat interval must be an integer number of ms in ${MIN_HEARTBEAT_INTERVAL_MS}..${MAX_HEARTBEAT_INTERVAL_MS} or null, got ${String(ms)}`);
  }
  return ms;
}

/** Pings tracked sockets and reports those that stopped answering. */
export class Heartbeat {
  /** Tracked sockets → heard from since the last tick. */
  readonly #heard = new Map<WebSocket, boolean>();
  readonly #onDead: (ws: WebSocket) => void;
  #timer: NodeJS.Timeout | null;

  /**
   * @param intervalMs milliseconds between ticks (checked by {@link checkHeartbeatInterval})
   * @param onDead called once for a socket that did not answer the previous tick's ping; it should
   *   terminate the socket (the socket is no longer tracked either way)
   */
  constructor(intervalMs: number, onDead: (ws: WebSocket) => void) {
    checkHeartbeatInterval(intervalMs);
    this.#onDead = onDead;
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    this.#timer.unref(); // never keeps the process alive
  }

  /** Tracks `ws` until it closes; it counts as heard from now. */
  add(ws: WebSocket): void {
    if (this.#timer === null || ws.readyState === WebSocket.CLOSED) return;
    this.#heard.set(ws, true);
    const alive = (): void => {
      if (this.#heard.has(ws)) this.#heard.set(ws, true);
    };
    ws.on('pong', alive);
    ws.on('message', alive);
    ws.once('close', () => {
      this.#heard.delete(ws);
      ws.off('pong', alive);
      ws.off('message', alive);
    });
  }

  /** Tracked sockets. */
  get size(): number {
    return this.#heard.size;
  }

  /** Stops the timer and forgets every socket (idempotent). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#heard.clear();
  }

  #tick(): void {
    for (const [ws, heard] of [...this.#heard]) {
      if (!heard) {
        this.#heard.delete(ws);
        this.#onDead(ws);
        continue;
      }
      this.#heard.set(ws, false);
      // A closing socket is not pinged: unless its close handshake ends (or it sends something)
      // within one interval it is reported dead too, sooner than ws's own 30 s close timer.
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }
  }
}
