/** Public shapes of the pkarr client (cache + DHT + relays), used by the CLI, RPC and lobbies. */
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';

/**
 * As the v7 reference (pubky/pkarr pkarr/src/types/resolve_policy.rs). Values are case-sensitive.
 */
export type ResolvePolicy = 'CacheOnly' | 'CacheFirst' | 'NetworkOnly';
export const RESOLVE_POLICIES: readonly ResolvePolicy[] = ['CacheOnly', 'CacheFirst', 'NetworkOnly'];

export type PacketSource = 'cache' | 'dht' | 'relay';

export interface ResolveResult {
  packet: SignedPacket;
  source: PacketSource;
  /** The relay URL when source is 'relay'. */
  relay?: string;
}

export interface PublishResult {
  /** Max nodes that stored it (DHT count or relay header), as the reference merges results. */
  storedOn: number;
  /**
   * The DHT put: `storedOn` when it returned (it returns once a quorum of the closest nodes stored
   * the packet, dht/publish-query.ts), `pending` puts still going on in the background then.
   */
  dht: { ok: boolean; storedOn?: number; pending?: number; error?: string; code?: string } | null;
  relays: { url: string; ok: boolean; storedOn?: number; status?: number; error?: string; code?: string }[];
}

export interface PkarrClient {
  resolve(key: PublicKey | string, policy?: ResolvePolicy): Promise<ResolveResult | null>;
  publish(packet: SignedPacket): Promise<PublishResult>;
}
