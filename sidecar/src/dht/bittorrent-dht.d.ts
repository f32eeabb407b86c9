/**
 * Types for the parts of bittorrent-dht@11.0.12 (ESM, untyped) and its k-rpc / k-rpc-socket internals
 * that the DHT adapter uses. Written from node_modules/bittorrent-dht/client.js, k-rpc/index.js and
 * k-rpc-socket/index.js; internals (underscore names) are pinned to that exact version.
 */
declare module 'bittorrent-dht' {
  import type { EventEmitter } from 'node:events';

  /** A DHT contact as k-rpc keeps it. */
  export interface KrpcNode {
    id?: Buffer;
    host: string;
    port: number;
    token?: Buffer | null;
    distance?: number;
    seen?: number;
  }

  /** The peer address k-rpc-socket reports (a dgram rinfo, or the queried node). */
  export interface KrpcPeer {
    address?: string;
    host?: string;
    port: number;
    id?: Buffer;
  }

  /** A decoded KRPC message (bencode@2: byte strings are Buffers, integers are numbers). */
  export interface KrpcMessage {
    t?: Buffer;
    y?: Buffer | string;
    q?: Buffer | string;
    a?: Record<string, unknown>;
    r?: KrpcResponseBody;
    e?: unknown[];
    /** BEP42: our address as the responder sees it (compact 6 bytes for IPv4). */
    ip?: Buffer;
  }

  export interface KrpcResponseBody {
    id?: Buffer;
    token?: Buffer;
    nodes?: Buffer;
    values?: Buffer[];
    v?: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    [key: string]: unknown;
  }

  /** A query as passed to k-rpc (`q` plus arguments `a`). */
  export interface KrpcQuery {
    q: string;
    a: Record<string, unknown>;
  }

  /** Errors from k-rpc-socket: `code` is a KRPC error code (number) or 'ETIMEDOUT' / 'EUNEXPECTEDNODE'. */
  export interface KrpcError extends Error {
    code?: number | string;
  }

  export type KrpcCallback = (err: KrpcError | null, message: KrpcMessage | null, peer: KrpcPeer) => void;

  export interface KrpcSocket extends EventEmitter {
    inflight: number;
    timeout: number;
    destroyed: boolean;
    /**
     * One query, sent at once (no queue, unlike Krpc.query); `peer.id` set = a reply with another id
     * fails with EUNEXPECTEDNODE. Fails with ETIMEDOUT after the socket's timeout. Returns the transaction id.
     */
    query(peer: KrpcNode, message: KrpcQuery, cb: KrpcCallback): number;
  }

  export interface KBucketLike {
    count(): number;
    toArray(): KrpcNode[];
    closest(id: Uint8Array, n?: number): KrpcNode[];
    get(id: Uint8Array): KrpcNode | null;
    remove(id: Uint8Array): void;
  }

  /** k-rpc's RPC object (`dht._rpc`). */
  export interface Krpc extends EventEmitter {
    id: Buffer;
    k: number;
    concurrency: number;
    socket: KrpcSocket;
    nodes: KBucketLike;
    bootstrap: { host: string; port: number }[];
    destroyed: boolean;
    /** Adds a node that answered or queried us to the routing table (emits `node` when new). */
    _addNode(node: KrpcNode & { distance?: number; seen?: number }): void;
    /** Queries waiting in `query`'s queue for the socket to have fewer than `concurrency` in flight. */
    pending: unknown[];
    /** One query, queued when `concurrency` queries are in flight. Sets `a.token` from `node.token`. */
    query(node: KrpcNode, message: KrpcQuery, cb: KrpcCallback): void;
    /**
     * Iterative lookup toward `target`. `visit` sees every response with an `r`; returning false stops
     * new queries. `cb` fires once nothing is pending (never after destroy).
     */
    closest(
      target: Buffer,
      message: KrpcQuery,
      visit: ((message: KrpcMessage, peer: KrpcPeer) => boolean | void) | null,
      cb: (err: Error | null, respondedCount: number) => void,
    ): void;
  }

  /** What a storing node keeps per target in `_values`. */
  export interface StoredItem {
    v: Buffer;
    id: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
  }

  export interface DHTOptions {
    /** false: no bootstrap; otherwise "host:port" strings or {host, port}. */
    bootstrap?: false | (string | { host: string; port: number })[];
    /** Synchronous Ed25519 check, needed to store and to accept mutable items. */
    verify?: (sig: Buffer, message: Buffer, publicKey: Buffer) => boolean;
    timeout?: number;
    concurrency?: number;
    k?: number;
    maxTables?: number;
    maxValues?: number;
    maxPeers?: number;
    nodeId?: Buffer;
    /** Our announced host (adds ourselves as a peer on announce). Not the bind address. */
    host?: string;
    /** The udp4 socket k-rpc-socket uses (default: a new one). */
    socket?: import('node:dgram').Socket;
  }

  export interface PutOptions {
    v: Buffer;
    k?: Buffer;
    seq?: number;
    sig?: Buffer;
    sign?: (message: Buffer) => Buffer;
    salt?: Buffer;
    cas?: number;
  }

  export interface GetValue extends KrpcResponseBody {}

  export default class DHT extends EventEmitter {
    constructor(options?: DHTOptions);
    readonly nodeId: Buffer;
    readonly nodes: KBucketLike;
    listening: boolean;
    destroyed: boolean;
    ready?: boolean;
    _rpc: Krpc;
    _values: {
      get(keyHex: string): StoredItem | undefined;
      set(keyHex: string, value: StoredItem): void;
      remove(keyHex: string): void;
      readonly length: number;
    };
    /** Per-target tables of the nodes that answered the last lookup with a token (LRU, 5 min). */
    _tables: { get(targetHex: string): KBucketLike | undefined };
    listen(port?: number, address?: string, cb?: () => void): void;
    address(): { address: string; family: string; port: number };
    addNode(node: { host: string; port: number; id?: Buffer }): void;
    removeNode(id: Buffer): void;
    put(options: PutOptions, cb?: (err: KrpcError | null, target: Buffer, stored: number) => void): Buffer;
    get(
      target: Buffer,
      options: { cache?: boolean; salt?: Buffer } | null,
      cb: (err: Error | null, value: GetValue | null) => void,
    ): void;
    announce(infoHash: Buffer, port: number, cb?: (err: KrpcError | null, stored?: number) => void): void;
    lookup(infoHash: Buffer, cb?: (err: Error | null, visited?: number) => void): () => void;
    toJSON(): { nodes: { host: string; port: number }[] };
    destroy(cb?: () => void): void;
  }
}
