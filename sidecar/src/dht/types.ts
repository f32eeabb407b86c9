/**
 * The contract between the pkarr client/relay and the Mainline DHT adapter (dht-client.ts).
 * Everything crossing it is a verified SignedPacket: the adapter checks `k`, the signature and the
 * DNS of every item it receives before anyone above sees it.
 */
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';

export interface DhtGetOptions {
  /**
   * false (default): resolve with the first valid packet newer than `floor` (early exit); the lookup
   * keeps running in the background and reports later packets through `onPacket`.
   * true: wait for the whole iterative lookup and resolve with the most recent packet.
   */
  mostRecent?: boolean;
  /** Only packets with a timestamp strictly greater than this count as answers. */
  floor?: bigint;
  /** Called for every valid packet received, including after the promise resolved. */
  onPacket?: (packet: SignedPacket) => void;
  signal?: AbortSignal;
}

export interface DhtGetResult {
  packet: SignedPacket | null;
  /** Nodes that answered the lookup so far. */
  responded: number;
  /** Highest seq of an item that verified as BEP44 but is not a valid pkarr packet (e.g. bad DNS). */
  invalidSeq?: bigint;
}

export interface DhtPutResult {
  /**
   * Number of nodes that acknowledged storing the item (`Pkarr-Dht-Stored-Nodes`) when the put
   * returned: at least the publish quorum, or all there were (dht/publish-query.ts).
   */
  storedOn: number;
  /** Puts still in flight when the put returned; they go on in the background. */
  pending?: number;
  /** The final stored count, once every background put answered. Never rejects. */
  settled?: Promise<number>;
}

export interface DhtLookupStats {
  /** Nodes holding the packet's timestamp or newer, from a full lookup. */
  holders: number;
  packet: SignedPacket | null;
}

export interface Dht {
  /** Nodes in the routing table. */
  readonly nodeCount: number;
  /**
   * BEP44 put (target sha1(k), no salt, seq = timestamp, `target` in the arguments).
   * Throws PkarrError NO_DHT_NODES, NOT_MOST_RECENT (majority 302) or DHT_ERROR.
   */
  put(packet: SignedPacket, signal?: AbortSignal): Promise<DhtPutResult>;
  get(key: PublicKey, options?: DhtGetOptions): Promise<DhtGetResult>;
  /** Full lookup counting how many nodes hold `packet` (or newer), for the republisher. */
  holders(key: PublicKey, signal?: AbortSignal): Promise<DhtLookupStats>;
  destroy(): Promise<void>;
}
