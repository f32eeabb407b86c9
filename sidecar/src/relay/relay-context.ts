/** What the relay's route handlers share: store, resolver, DHT, limits and counters. */
import type { IncomingMessage } from 'node:http';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { Dht, DhtPutResult } from '../dht/types.ts';
import { clientAddress } from './client-ip.ts';
import type { PacketResolver } from './packet-resolver.ts';
import type { PacketStore } from './packet-store.ts';
import type { PopularRepublisher } from './popular-republisher.ts';
import type { RateLimiter } from '../util/rate-limiter.ts';
import type { RelayStats } from './relay-stats.ts';

/** A DHT put in flight for one key; identical PUTs await it, different ones get 409. */
export interface PendingPut {
  packet: SignedPacket;
  result: Promise<DhtPutResult>;
}

export interface RelayContext {
  readonly store: PacketStore;
  readonly resolver: PacketResolver;
  readonly dht: Dht | null;
  readonly stats: RelayStats;
  readonly minTtl: number;
  readonly maxTtl: number;
  /** Per-IP quota of all requests; null = unlimited. */
  readonly limiter: RateLimiter | null;
  /** Per-IP quota of requests that reach the DHT; null = unlimited. */
  readonly dhtLimiter: RateLimiter | null;
  readonly behindProxy: boolean;
  readonly republisher: PopularRepublisher | null;
  /** RFC 8484 endpoint that ordinary (non-pkarr) DoH queries are forwarded to; null = REFUSED. */
  readonly dohUpstream: string | null;
  /** DHT puts in flight by key z32. */
  readonly pendingPuts: Map<string, PendingPut>;
  /** Aborted when the relay closes (DHT puts, upstream DoH requests). */
  readonly closing: AbortSignal;
  readonly log: (line: string) => void;
}

/**
 * Spends one DHT-quota token for `req`'s client: 0 when allowed, otherwise the seconds to wait.
 * Counts the refusal.
 */
export function chargeDht(ctx: RelayContext, req: IncomingMessage): number {
  if (ctx.dhtLimiter === null) return 0;
  const wait = ctx.dhtLimiter.take(clientAddress(req, ctx.behindProxy));
  if (wait > 0) ctx.stats.rateLimited += 1;
  return wait;
}
