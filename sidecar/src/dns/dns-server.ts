/**
 * The plain DNS server of `pkarr-sidecar dns`: UDP and TCP on the same address and port, one
 * QueryHandler (query-handler.ts) behind both, the per-client-IP quotas (util/rate-limiter.ts,
 * swept every minute) and the forwarder (owned: closed with the server).
 */
import { PkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import { parseRateLimit, RateLimiter, type RateLimit } from '../util/rate-limiter.ts';
import type { KeyLookup } from './answer.ts';
import type { Forwarder } from './forwarder.ts';
import { DEFAULT_PKARR_TLDS } from './pkarr-name.ts';
import { DnsStats, QueryHandler } from './query-handler.ts';
import { startTcpServer, type TcpServer } from './server-tcp.ts';
import { startUdpServer, type UdpServer } from './server-udp.ts';

export const DEFAULT_DNS_PORT = 53;
/** Per-IP query quota: generous for an OS resolver on the same machine or LAN. */
export const DEFAULT_DNS_RATE_LIMIT = '200r/s,burst=1000';
/** Per-IP quota of questions that need a network lookup (cached answers are free). */
export const DEFAULT_DNS_DHT_RATE_LIMIT = '5r/s,burst=20';

export interface DnsServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 53; 0 picks a free port (the same for UDP and TCP). */
  port?: number;
  lookup(key: PublicKey, chargeDht: () => number): Promise<KeyLookup>;
  /** Null: ordinary names are REFUSED. Closed by `close`. */
  forwarder: Forwarder | null;
  rateLimit?: RateLimit | string | null;
  dhtRateLimit?: RateLimit | string | null;
  /** Pseudo-TLDs accepted after a key (default `key`). */
  tlds?: readonly string[];
  minTtl?: number;
  maxTtl?: number;
  tcpIdleMs?: number;
  log?: (line: string) => void;
}

export interface RunningDnsServer {
  readonly host: string;
  readonly port: number;
  readonly stats: DnsStats;
  close(): Promise<void>;
}

function toLimit(value: RateLimit | string | null | undefined, fallback: string): RateLimit | null {
  if (value === undefined) return parseRateLimit(fallback);
  return typeof value === 'string' ? parseRateLimit(value) : value;
}

async function bindBoth(host: string, port: number, handler: QueryHandler, log: (line: string) => void, idleMs?: number): Promise<[UdpServer, TcpServer]> {
  // With port 0 the UDP port may be taken on TCP: try a few free UDP ports.
  for (let attempt = 0; ; attempt += 1) {
    const udp = await startUdpServer(host, port, handler, log);
    try {
      return [udp, await startTcpServer(host, udp.port, handler, log, idleMs)];
    } catch (err) {
      await udp.close();
      if (port !== 0 || attempt >= 4) throw err;
    }
  }
}

/** Starts the server; rejects with PkarrError('IO_ERROR') when it cannot listen. */
export async function startDnsServer(options: DnsServerOptions): Promise<RunningDnsServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_DNS_PORT;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stats = new DnsStats();
  const rate = toLimit(options.rateLimit, DEFAULT_DNS_RATE_LIMIT);
  const dhtRate = toLimit(options.dhtRateLimit, DEFAULT_DNS_DHT_RATE_LIMIT);
  const limiter = rate === null ? null : new RateLimiter(rate);
  const dhtLimiter = dhtRate === null ? null : new RateLimiter(dhtRate);
  const handler = new QueryHandler({
    lookup: options.lookup,
    forwarder: options.forwarder,
    limiter,
    dhtLimiter,
    tlds: new Set((options.tlds ?? DEFAULT_PKARR_TLDS).map((t) => t.toLowerCase())),
    minTtl: options.minTtl ?? 300,
    maxTtl: options.maxTtl ?? 86_400,
    stats,
    log,
  });
  let servers: [UdpServer, TcpServer];
  try {
    servers = await bindBoth(host, port, handler, log, options.tcpIdleMs);
  } catch (err) {
    options.forwarder?.close();
    throw new PkarrError('IO_ERROR', `cannot listen on ${host}:${port} (UDP and TCP): ${(err as Error).message}`, undefined, { cause: err });
  }
  const [udp, tcp] = servers;
  const sweeper = setInterval(() => {
    limiter?.sweep();
    dhtLimiter?.sweep();
  }, 60_000);
  sweeper.unref();
  let closed: Promise<void> | null = null;
  return {
    host,
    port: udp.port,
    stats,
    close: () => (closed ??= (async () => {
      clearInterval(sweeper);
      await Promise.all([udp.close(), tcp.close()]);
      options.forwarder?.close();
    })()),
  };
}
