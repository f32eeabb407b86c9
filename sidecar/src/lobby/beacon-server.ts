/**
 * The lobby beacon: a tiny HTTP server run by a hosting sidecar so that browsers who found its
 * address on the DHT topic can fetch the lobby. It serves exactly one thing, `GET /pkarr-lobby` →
 * the host's current signed packet in canonical form (`pk ‖ sig ‖ ts ‖ dns`, ≤ 1104 bytes), and is
 * rate-limited per client IP. Nothing it serves needs trust: browsers verify the signature.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import { RateLimiter, type RateLimit } from '../util/rate-limiter.ts';

export const BEACON_PATH = '/pkarr-lobby';
/** Like the relay's `application/pkarr.org/relays#payload`, but the body starts with the key. */
export const BEACON_CONTENT_TYPE = 'application/pkarr.org/signed-packet';
/** Default per-IP quota: 5 requests per second, bursts of 20. */
export const DEFAULT_BEACON_RATE: RateLimit = { requests: 5, periodMs: 1000, burst: 20 };

export interface BeaconServerOptions {
  /** Bind address (default 0.0.0.0; tests use 127.0.0.1). */
  host?: string;
  /** TCP port (default 0 = ephemeral). */
  port?: number;
  /** Per-IP quota (default DEFAULT_BEACON_RATE); null disables it. */
  rateLimit?: RateLimit | null;
  /** Most simultaneous TCP connections (default 256). */
  maxConnections?: number;
}

/** Counters, for logs and tests. */
export interface BeaconStats {
  served: number;
  limited: number;
  rejected: number;
}

function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body?: Uint8Array | string): void {
  const payload = body === undefined ? '' : body;
  res.writeHead(status, {
    'Cache-Control': 'no-store',
    Connection: 'close',
    'Content-Length': typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length,
    ...headers,
  });
  res.end(payload);
}

export class BeaconServer {
  readonly #server: Server;
  readonly #limiter: RateLimiter | null;
  readonly #sweeper: NodeJS.Timeout | null;
  #body: Uint8Array | null = null;
  #closing: Promise<void> | null = null;
  readonly stats: BeaconStats = { served: 0, limited: 0, rejected: 0 };

  private constructor(options: BeaconServerOptions) {
    const rate = options.rateLimit === undefined ? DEFAULT_BEACON_RATE : options.rateLimit;
    this.#limiter = rate === null ? null : new RateLimiter(rate, { maxBuckets: 10_000 });
    this.#sweeper = this.#limiter === null ? null : setInterval(() => this.#limiter?.sweep(), 60_000);
    this.#sweeper?.unref();
    this.#server = createServer({ maxHeaderSize: 4096, requestTimeout: 3000, headersTimeout: 2000, keepAliveTimeout: 1000 }, (req, res) => this.#handle(req, res));
    this.#server.maxConnections = options.maxConnections ?? 256;
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Starts listening; throws IO_ERROR when the port cannot be bound. */
  static async start(options: BeaconServerOptions = {}): Promise<BeaconServer> {
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PkarrError('INVALID_ARGUMENT', `invalid beacon port ${String(port)}`);
    const host = options.host ?? '0.0.0.0';
    const beacon = new BeaconServer(options);
    try {
      await new Promise<void>((resolve, reject) => {
        beacon.#server.once('error', reject);
        beacon.#server.listen({ host, port }, () => {
          beacon.#server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      if (beacon.#sweeper !== null) clearInterval(beacon.#sweeper);
      throw new PkarrError('IO_ERROR', `lobby beacon cannot listen on ${host}:${port}: ${(err as Error).message}`, { host, port }, { cause: err });
    }
    beacon.#server.on('error', () => {});
    return beacon;
  }

  /** The bound TCP port. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The bound address. */
  get host(): string {
    return (this.#server.address() as AddressInfo).address;
  }

  /** The packet to serve from now on (null: answer 503 until one is set). */
  setPacket(packet: SignedPacket | null): void {
    this.#body = packet === null ? null : packet.toBytes();
  }

  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === null) {
      if (this.#sweeper !== null) clearInterval(this.#sweeper);
      this.#closing = new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
    }
    return this.#closing;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const path = (req.url ?? '').split('?')[0];
    if (path !== BEACON_PATH) {
      this.stats.rejected++;
      send(res, 404, { 'Content-Type': 'text/plain' }, 'not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.stats.rejected++;
      send(res, 405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }, 'method not allowed\n');
      return;
    }
    const wait = this.#limiter?.take(req.socket.remoteAddress ?? 'unknown') ?? 0;
    if (wait > 0) {
      this.stats.limited++;
      send(res, 429, { 'Retry-After': wait, 'Content-Type': 'text/plain' }, 'too many requests\n');
      return;
    }
    const body = this.#body;
    if (body === null) {
      send(res, 503, { 'Retry-After': 5, 'Content-Type': 'text/plain' }, 'no lobby yet\n');
      return;
    }
    this.stats.served++;
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Type': BEACON_CONTENT_TYPE, 'Content-Length': body.length, 'Cache-Control': 'no-store', Connection: 'close' });
      res.end();
      return;
    }
    send(res, 200, { 'Content-Type': BEACON_CONTENT_TYPE }, body);
  }
}
