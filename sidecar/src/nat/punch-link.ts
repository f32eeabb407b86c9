/**
 * One established punch path (the PunchPath contract of punch-path.ts), the same on both sides:
 * DATA frames carry the game's datagrams, KEEPALIVEs hold the NAT bindings (sent only after hearing
 * from the other side since the last one), silence ends the path
 * (`timeout`), BYE ends it on the other side (`remote-closed`). The owner (PunchHost or the joiner)
 * receives the socket's frames and hands this link the ones from its remote address and session.
 */
import { PkarrError } from '../core/errors.ts';
import { encodeBye, encodeData, encodeKeepalive, FrameType, MAX_DATA_BYTES, type Frame } from './punch-frames.ts';
import type { PathEndReason, PunchPath } from './punch-path.ts';
import type { UdpAddress, UdpChannel } from './udp-channel.ts';

/** Default interval of keepalives, ms. */
export const DEFAULT_KEEPALIVE_MS = 5_000;
/** Default silence after which a path ends with `timeout`, ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 15_000;

export interface PunchLinkTiming {
  /** Keepalive interval, ms (default 5000). */
  keepaliveMs?: number;
  /** Silence that ends the path, ms (default 15000; more than the keepalive interval). */
  idleTimeoutMs?: number;
}

export interface PunchLinkOptions extends PunchLinkTiming {
  channel: UdpChannel;
  remote: UdpAddress;
  /** The 8-byte session id of this path. */
  session: Buffer;
  /** Called once when the path ends, before the handlers (the owner forgets the link). */
  onEnded?: (link: PunchLink, reason: PathEndReason) => void;
}

/** Counters of one path. */
export interface PunchLinkStats {
  dataIn: number;
  dataOut: number;
  /** Game datagrams not sent: empty or larger than 1400 bytes. */
  oversized: number;
  /** Frames the socket failed to send. */
  sendErrors: number;
  keepalivesIn: number;
}

/** Checks keepalive and idle timeout; throws INVALID_ARGUMENT. */
export function checkTiming(timing: PunchLinkTiming): Required<PunchLinkTiming> {
  const keepaliveMs = timing.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
  const idleTimeoutMs = timing.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (!Number.isFinite(keepaliveMs) || keepaliveMs < 10) throw new PkarrError('INVALID_ARGUMENT', `invalid keepalive interval ${String(keepaliveMs)} ms (≥ 10)`);
  if (!Number.isFinite(idleTimeoutMs) || idleTimeoutMs <= keepaliveMs) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid idle timeout ${String(idleTimeoutMs)} ms (must exceed the keepalive interval ${keepaliveMs} ms)`);
  }
  return { keepaliveMs, idleTimeoutMs };
}

export class PunchLink implements PunchPath {
  readonly remote: UdpAddress;
  readonly session: Buffer;
  readonly stats: PunchLinkStats = { dataIn: 0, dataOut: 0, oversized: 0, sendErrors: 0, keepalivesIn: 0 };
  readonly #channel: UdpChannel;
  readonly #dataHandlers = new Set<(payload: Buffer) => void>();
  readonly #endHandlers = new Set<(reason: PathEndReason) => void>();
  readonly #onEnded: ((link: PunchLink, reason: PathEndReason) => void) | undefined;
  readonly #keepalive: NodeJS.Timeout;
  readonly #idle: NodeJS.Timeout;
  #endReason: PathEndReason | null = null;
  /** A frame arrived since our last KEEPALIVE (the handshake counts). */
  #heard = true;

  constructor(options: PunchLinkOptions) {
    const { keepaliveMs, idleTimeoutMs } = checkTiming(options);
    this.#channel = options.channel;
    this.remote = { host: options.remote.host, port: options.remote.port };
    this.session = Buffer.from(options.session);
    this.#onEnded = options.onEnded;
    this.#keepalive = setInterval(() => this.#tickKeepalive(), keepaliveMs);
    this.#idle = setTimeout(() => this.#end('timeout', false), idleTimeoutMs);
    this.#keepalive.unref();
    this.#idle.unref();
  }

  /** Why the path ended, or null while it is open. */
  get endReason(): PathEndReason | null {
    return this.#endReason;
  }

  send(payload: Uint8Array): void {
    if (this.#endReason !== null) return;
    if (!(payload instanceof Uint8Array) || payload.length === 0 || payload.length > MAX_DATA_BYTES) {
      this.stats.oversized++;
      return;
    }
    this.stats.dataOut++;
    this.#sendFrame(encodeData(this.session, payload));
  }

  onData(handler: (payload: Buffer) => void): () => void {
    this.#dataHandlers.add(handler);
    return () => { this.#dataHandlers.delete(handler); };
  }

  onEnd(handler: (reason: PathEndReason) => void): () => void {
    const reason = this.#endReason;
    if (reason !== null) {
      // Already ended: still called once, asynchronously like a live end.
      let removed = false;
      queueMicrotask(() => { if (!removed) safeCall(handler, reason); });
      return () => { removed = true; };
    }
    this.#endHandlers.add(handler);
    return () => { this.#endHandlers.delete(handler); };
  }

  close(): void {
    this.#end('closed', true);
  }

  /** A frame from the remote address with this path's session (the owner has matched both). */
  receive(frame: Frame): void {
    if (this.#endReason !== null) return;
    this.#idle.refresh();
    this.#heard = true;
    switch (frame.type) {
      case FrameType.DATA:
        this.stats.dataIn++;
        for (const handler of [...this.#dataHandlers]) safeCall(handler, frame.payload);
        break;
      case FrameType.KEEPALIVE:
        this.stats.keepalivesIn++;
        break;
      case FrameType.BYE:
        this.#end('remote-closed', false);
        break;
      default:
        break; // handshake repeats (HELLO/WELCOME) only prove the remote is alive
    }
  }

  #end(reason: PathEndReason, sayBye: boolean): void {
    if (this.#endReason !== null) return;
    this.#endReason = reason;
    clearInterval(this.#keepalive);
    clearTimeout(this.#idle);
    if (sayBye) this.#sendFrame(encodeBye(this.session));
    this.#dataHandlers.clear();
    if (this.#onEnded) safeCall((r: PathEndReason) => this.#onEnded!(this, r), reason);
    const handlers = [...this.#endHandlers];
    this.#endHandlers.clear();
    for (const handler of handlers) safeCall(handler, reason);
  }

  /**
   * A KEEPALIVE only when the remote side was heard since our last one: a path never sends more
   * keepalives than it receives frames, so a spoofed handshake cannot make it a traffic source.
   */
  #tickKeepalive(): void {
    if (!this.#heard) return;
    this.#heard = false;
    this.#sendFrame(encodeKeepalive(this.session));
  }

  #sendFrame(frame: Buffer): void {
    this.#channel.send(frame, this.remote).catch(() => { this.stats.sendErrors++; });
  }
}

function safeCall<T>(handler: (value: T) => void, value: T): void {
  try {
    handler(value);
  } catch {
    // A throwing handler must not break the path or the socket.
  }
}
