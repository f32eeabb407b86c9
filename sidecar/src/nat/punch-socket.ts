/**
 * The punch socket (docs/nat.md §3): the one UDP (IPv4) socket per sidecar that carries game
 * traffic. Its public address is what DHT-STUN measures and what the joiner announces, so every
 * part that needs that address shares this socket through two UdpChannels, demultiplexed by the
 * first byte of each datagram:
 * - `krpc`: KRPC messages (bencoded dictionaries, first byte `d`), for DHT-STUN;
 * - `punch`: punch frames (first byte PUNCH_MAGIC), for the puncher and the game tunnel.
 * Anything else is dropped and counted.
 *
 * Per-datagram TTL: Node's dgram sets the TTL per socket, so a send with a TTL waits until no other
 * send is in flight, sets the TTL, sends, and restores the default in the send callback; sends made
 * meanwhile wait their turn, so no other datagram ever leaves with the low TTL.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import { assertAllowedHost } from '../core/loopback-guard.ts';
import { PUNCH_MAGIC } from './punch-frames.ts';
import type { UdpAddress, UdpChannel } from './udp-channel.ts';

/** First byte of a KRPC message (a bencoded dictionary). */
export const KRPC_FIRST_BYTE = 0x64;
/** The TTL restored after a per-datagram TTL (Linux's default for IPv4). */
export const DEFAULT_TTL = 64;
/** Largest datagram the socket sends. */
const MAX_SEND_BYTES = 65_507;

export interface PunchSocketOptions {
  /** Bind address, default 0.0.0.0. */
  host?: string;
  /** UDP port, default 0 (random). */
  port?: number;
  /** The TTL every datagram without its own gets (default 64). */
  defaultTtl?: number;
}

/** Counters of the socket (for diagnostics and tests). */
export interface PunchSocketStats {
  /** Datagrams received per channel. */
  krpcIn: number;
  punchIn: number;
  /** Datagrams dropped: empty, or an unknown first byte. */
  dropped: number;
  /** Datagrams sent, and those with a non-default TTL among them. */
  sent: number;
  sentWithTtl: number;
  /** Socket errors reported by the system (e.g. ICMP-triggered), which never close the socket. */
  errors: number;
}

type Handler = (payload: Buffer, from: UdpAddress) => void;

interface QueuedSend {
  payload: Uint8Array;
  to: UdpAddress;
  ttl: number | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function assertTtl(ttl: number, what: string): void {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new PkarrError('INVALID_ARGUMENT', `invalid ${what} ${String(ttl)} (1..255)`);
}

export class PunchSocket {
  readonly krpc: UdpChannel;
  readonly punch: UdpChannel;
  readonly stats: PunchSocketStats = { krpcIn: 0, punchIn: 0, dropped: 0, sent: 0, sentWithTtl: 0, errors: 0 };
  readonly #socket: Socket;
  readonly #defaultTtl: number;
  readonly #handlers = { krpc: new Set<Handler>(), punch: new Set<Handler>() };
  /** Sends waiting for a TTL send (or waiting to make one). */
  readonly #queue: QueuedSend[] = [];
  #inFlight = 0;
  /** True while a datagram with its own TTL is in flight (the socket's TTL is not the default). */
  #ttlActive = false;
  #closed: Promise<void> | null = null;

  private constructor(socket: Socket, defaultTtl: number) {
    this.#socket = socket;
    this.#defaultTtl = defaultTtl;
    this.krpc = this.#channel('krpc');
    this.punch = this.#channel('punch');
    socket.on('message', (message, rinfo) => this.#receive(message, rinfo.address, rinfo.port));
    socket.on('error', () => { this.stats.errors++; });
  }

  /** Binds a new punch socket. Throws INVALID_ARGUMENT for bad options, IO_ERROR when it cannot bind. */
  static async bind(options: PunchSocketOptions = {}): Promise<PunchSocket> {
    const host = options.host ?? '0.0.0.0';
    const port = options.port ?? 0;
    const defaultTtl = options.defaultTtl ?? DEFAULT_TTL;
    if (!isIPv4(host)) throw new PkarrError('INVALID_ARGUMENT', `invalid punch socket bind address ${JSON.stringify(host)} (IPv4 expected)`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PkarrError('INVALID_ARGUMENT', `invalid punch socket port ${String(port)}`);
    assertTtl(defaultTtl, 'default TTL');
    const socket = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(new PkarrError('IO_ERROR', `cannot bind the punch socket to ${host}:${port}: ${err.message}`, undefined, { cause: err }));
      };
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.setTTL(defaultTtl);
    return new PunchSocket(socket, defaultTtl);
  }

  /** The bound local address. */
  address(): UdpAddress {
    const { address, port } = this.#socket.address();
    return { host: address, port };
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  /** Closes the socket; pending sends reject with IO_ERROR. Idempotent. */
  close(): Promise<void> {
    if (this.#closed === null) {
      for (const queued of this.#queue.splice(0)) queued.reject(new PkarrError('IO_ERROR', 'punch socket closed'));
      this.#handlers.krpc.clear();
      this.#handlers.punch.clear();
      this.#closed = new Promise((resolve) => this.#socket.close(() => resolve()));
    }
    return this.#closed;
  }

  #channel(kind: 'krpc' | 'punch'): UdpChannel {
    const handlers = this.#handlers[kind];
    return {
      send: (payload, to, ttl) => this.#send(payload, to, ttl),
      onMessage: (handler) => {
        handlers.add(handler);
        return () => { handlers.delete(handler); };
      },
      localAddress: () => this.address(),
    };
  }

  #receive(message: Buffer, host: string, port: number): void {
    const first = message.length > 0 ? message[0] : -1;
    let handlers: Set<Handler>;
    if (first === KRPC_FIRST_BYTE) {
      this.stats.krpcIn++;
      handlers = this.#handlers.krpc;
    } else if (first === PUNCH_MAGIC) {
      this.stats.punchIn++;
      handlers = this.#handlers.punch;
    } else {
      this.stats.dropped++;
      return;
    }
    const from = { host, port };
    for (const handler of [...handlers]) {
      try {
        handler(message, from);
      } catch {
        // A throwing receiver must not break the socket or the other receivers.
      }
    }
  }

  #send(payload: Uint8Array, to: UdpAddress, ttl: number | undefined): Promise<void> {
    try {
      if (this.#closed !== null) throw new PkarrError('IO_ERROR', 'punch socket closed');
      if (!(payload instanceof Uint8Array) || payload.length === 0 || payload.length > MAX_SEND_BYTES) {
        throw new PkarrError('INVALID_ARGUMENT', `invalid datagram of ${payload?.length ?? 0} bytes`);
      }
      if (!isIPv4(to?.host ?? '') || !Number.isInteger(to.port) || to.port < 1 || to.port > 65535) {
        throw new PkarrError('INVALID_ARGUMENT', `invalid destination ${String(to?.host)}:${String(to?.port)} (IPv4 and port 1-65535)`);
      }
      assertAllowedHost(to.host, 'punch socket destination');
      if (ttl !== undefined) assertTtl(ttl, 'datagram TTL');
    } catch (err) {
      return Promise.reject(err);
    }
    const wanted = ttl === undefined || ttl === this.#defaultTtl ? undefined : ttl;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ payload, to, ttl: wanted, resolve, reject });
      this.#pump();
    });
  }

  /**
   * Starts queued sends in order: default-TTL sends go out at once unless a TTL send is active;
   * a TTL send waits until nothing is in flight and then goes out alone.
   */
  #pump(): void {
    while (this.#queue.length > 0 && !this.#ttlActive && this.#closed === null) {
      const next = this.#queue[0]!;
      if (next.ttl !== undefined) {
        if (this.#inFlight > 0) return; // the last in-flight callback pumps again
        this.#queue.shift();
        this.#ttlActive = true;
        try {
          this.#socket.setTTL(next.ttl);
        } catch (err) {
          this.#ttlActive = false;
          next.reject(new PkarrError('IO_ERROR', `cannot set the datagram TTL: ${(err as Error).message}`, undefined, { cause: err }));
          continue;
        }
        this.#transmit(next);
        return;
      }
      this.#queue.shift();
      this.#transmit(next);
    }
  }

  #transmit(item: QueuedSend): void {
    this.#inFlight++;
    const withTtl = item.ttl !== undefined;
    const done = (err: Error | null): void => {
      this.#inFlight--;
      if (withTtl) {
        if (this.#closed === null) {
          try {
            this.#socket.setTTL(this.#defaultTtl);
          } catch {
            this.stats.errors++;
          }
        }
        this.#ttlActive = false;
      }
      if (err) {
        item.reject(new PkarrError('IO_ERROR', `send to ${item.to.host}:${item.to.port} failed: ${err.message}`, undefined, { cause: err }));
      } else {
        this.stats.sent++;
        if (withTtl) this.stats.sentWithTtl++;
        item.resolve();
      }
      this.#pump();
    };
    try {
      this.#socket.send(item.payload, item.to.port, item.to.host, done);
    } catch (err) {
      done(err as Error);
    }
  }
}
