/**
 * A scripted stand-in for k-rpc (the parts IterativeLookup, ItemLookup and QuorumPut use) and fake
 * timers, so that lookups and puts can be driven step by step: nothing is sent on a network, every
 * query waits in `pending` until the test answers, fails or times it out.
 */
import { EventEmitter } from 'node:events';
import type { Krpc, KrpcCallback, KrpcMessage, KrpcNode, KrpcQuery } from 'bittorrent-dht';
import type { LookupTimers } from '../sidecar/src/dht/iterative-lookup.ts';

export class FakeTimers implements LookupTimers {
  #now = 0;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves the clock forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | null = null;
      for (const entry of this.#timers) if (entry[1].at <= end && (due === null || entry[1].at < due[1].at)) due = entry;
      if (due === null) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = end;
  }
}

export interface SentQuery {
  peer: KrpcNode;
  message: KrpcQuery;
  cb: KrpcCallback;
  done: boolean;
}

/** A 20-byte id whose XOR distance to `target` (default all zero) has `rank` as its first byte. */
export function idAt(rank: number, target: Uint8Array = new Uint8Array(20)): Buffer {
  const id = Buffer.alloc(20);
  id[0] = rank;
  id[19] = 1;
  return Buffer.from(id.map((b, i) => b ^ (target[i] ?? 0)));
}

/** Compact node info of `nodes` (id + 127.0.0.1 + port). */
export function compact(nodes: { id: Buffer; port: number }[]): Buffer {
  return Buffer.concat(nodes.map((n) => {
    const b = Buffer.alloc(26);
    n.id.copy(b, 0);
    b.set([127, 0, 0, 1], 20);
    b.writeUInt16BE(n.port, 24);
    return b;
  }));
}

export class FakeKrpc {
  readonly id = Buffer.alloc(20, 0xff);
  readonly bootstrap: { host: string; port: number }[] = [];
  destroyed = false;
  readonly sent: SentQuery[] = [];
  readonly table: KrpcNode[];
  readonly removed: Buffer[] = [];
  readonly rpc: Krpc;
  /** The fake socket: queries of other users of the socket can be added with `socket.inflight`. */
  readonly socket: EventEmitter & { inflight: number };

  constructor(table: KrpcNode[]) {
    this.table = table;
    const self = this;
    const nodes = {
      count: () => self.table.length,
      toArray: () => self.table,
      closest: (target: Uint8Array, n = 20) => [...self.table]
        .sort((a, b) => Buffer.compare(xor(a.id!, target), xor(b.id!, target))).slice(0, n),
      get: (id: Uint8Array) => self.table.find((node) => node.id!.equals(id)) ?? null,
      remove: (id: Uint8Array) => { self.removed.push(Buffer.from(id)); },
    };
    // As k-rpc-socket: `inflight` counts open queries; `update` follows each answer's callback.
    const socket = Object.assign(new EventEmitter(), {
      inflight: 0,
      query: (peer: KrpcNode, message: KrpcQuery, cb: KrpcCallback): number => {
        self.sent.push({ peer, message, cb, done: false });
        socket.inflight++;
        return self.sent.length;
      },
    });
    this.socket = socket;
    // Only the members the code under test touches; the rest of Krpc is never called.
    this.rpc = { id: this.id, bootstrap: this.bootstrap, nodes, socket, get destroyed() { return self.destroyed; } } as unknown as Krpc;
  }

  /** Queries sent to `port` (oldest first). */
  to(port: number): SentQuery[] {
    return this.sent.filter((q) => q.peer.port === port);
  }

  /** Answers the oldest open query to `port` with `r` (id = the queried node's id unless given). */
  reply(port: number, r: Record<string, unknown> = {}): void {
    const q = this.#open(port);
    q.done = true;
    this.socket.inflight--;
    const message: KrpcMessage = { y: 'r', r: { id: q.peer.id, ...r } };
    q.cb(null, message, { address: '127.0.0.1', port });
    this.socket.emit('update');
  }

  /** Fails the oldest open query to `port` (a KRPC error code, or 'ETIMEDOUT' for the hard timeout). */
  fail(port: number, code: number | string, text = 'error'): void {
    const q = this.#open(port);
    q.done = true;
    this.socket.inflight--;
    const err = Object.assign(new Error(text), { code });
    q.cb(err, null, { address: '127.0.0.1', port });
    this.socket.emit('update');
  }

  #open(port: number): SentQuery {
    const q = this.sent.find((s) => s.peer.port === port && !s.done);
    if (q === undefined) throw new Error(`no open query to port ${port}`);
    return q;
  }
}

function xor(id: Buffer, target: Uint8Array): Buffer {
  return Buffer.from(id.map((b, i) => b ^ (target[i] ?? 0)));
}
