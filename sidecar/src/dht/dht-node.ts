/**
 * Starting a bittorrent-dht node the way that works: `listen` in the same tick as the
 * constructor (otherwise bootstrapping binds the socket first and `listen` throws), then wait for
 * `listening` and `ready`. `ready` also fires when bootstrapping failed, so callers check the node count.
 */
import DHT from 'bittorrent-dht';
import type { Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import { verifySignature } from '../core/ed25519.ts';
import { splitHostPort } from '../util/peer-address.ts';
import { KRPC_CONCURRENCY } from './iterative-lookup.ts';

/** A DHT node address. */
export interface NodeAddress {
  host: string;
  port: number;
}

/**
 * Parses `host:port` (IPv4 or a hostname; bittorrent-dht is IPv4-only). Throws INVALID_ARGUMENT.
 */
export function parseNodeAddress(text: string): NodeAddress {
  const address = splitHostPort(text);
  if (address === null || address.host.includes(':')) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid DHT node address ${JSON.stringify(text)}: expected host:port (IPv4 or hostname, port 1-65535)`);
  }
  const { host, port } = address;
  if (!isIPv4(host) && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid DHT node host ${JSON.stringify(host)}: expected IPv4 or a hostname`);
  }
  return { host, port };
}

/** The `verify` hook bittorrent-dht needs to store and to accept mutable (BEP44) items. */
export function verifyItemSignature(sig: Buffer, message: Buffer, publicKey: Buffer): boolean {
  return verifySignature(publicKey, message, sig);
}

export interface StartNodeOptions {
  /** `host:port` list; empty = no bootstrap (a first node, or isolated). */
  bootstrap: string[];
  /** Bind address. */
  host: string;
  /** 0 = random. */
  port: number;
  /** KRPC query timeout in ms (k-rpc-socket expires a query after 1.0–1.25× this). */
  timeoutMs: number;
  /**
   * k-rpc's gate: bittorrent-dht's own queries are sent only while fewer than this are in flight on
   * the socket (default KRPC_CONCURRENCY, 80; keep it above MAX_QUERIES_IN_FLIGHT, iterative-lookup.ts).
   */
  concurrency?: number;
  /** An unbound udp4 socket to use instead of a new one (benchmarks wrap `send` to add link delay and loss). */
  socket?: Socket;
  /**
   * Called with the round trip of every query answered while bootstrapping (`host:port` of an IPv4
   * node, ms): the RTT estimator's first samples, so that the first lookup does not start at the
   * 1 s initial RTO. Hostname routers are left out (their time includes a DNS lookup).
   */
  onRoundTrip?: (node: string, ms: number) => void;
}

/**
 * Starts a bittorrent-dht node that verifies BEP44 signatures, bound to `host:port`, and resolves
 * once it has bootstrapped (or given up). Throws IO_ERROR when the socket cannot bind.
 */
export async function startDhtNode(options: StartNodeOptions): Promise<DHT> {
  const bootstrap = options.bootstrap.map(parseNodeAddress);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid DHT port ${options.port}: expected 0-65535`);
  }
  if (!isIPv4(options.host)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid DHT bind host ${JSON.stringify(options.host)}: bittorrent-dht is IPv4-only`);
  }
  if (!(options.timeoutMs > 0)) throw new PkarrError('INVALID_ARGUMENT', `invalid DHT timeout ${options.timeoutMs}`);
  const dht = new DHT({
    bootstrap: bootstrap.length === 0 ? false : bootstrap,
    verify: verifyItemSignature,
    timeout: options.timeoutMs,
    concurrency: options.concurrency ?? KRPC_CONCURRENCY,
    ...(options.socket !== undefined ? { socket: options.socket } : {}),
  });
  // Same tick as the constructor (bootstrapping starts on process.nextTick).
  dht.listen(options.port, options.host);
  keepReadOnlyNodesOut(dht);
  const untime = options.onRoundTrip === undefined ? () => {} : timeQueries(dht, options.onRoundTrip);

  await new Promise<void>((resolve, reject) => {
    let listening = false;
    let ready = false;
    const cleanup = (): void => {
      dht.off('listening', onListening);
      dht.off('ready', onReady);
      dht.off('error', onError);
    };
    const check = (): void => {
      if (listening && ready) {
        cleanup();
        untime();
        resolve();
      }
    };
    const onListening = (): void => { listening = true; check(); };
    const onReady = (): void => { ready = true; check(); };
    const onError = (err: Error): void => {
      cleanup();
      untime();
      dht.destroy();
      reject(new PkarrError('IO_ERROR', `DHT node cannot listen on ${options.host}:${options.port}: ${err.message}`, undefined, { cause: err }));
    };
    dht.on('listening', onListening);
    dht.on('ready', onReady);
    dht.on('error', onError);
  });
  // bittorrent-dht re-emits socket errors as 'error' (bind errors only, others are 'warning'); without
  // a listener a late one would crash the process. Nothing to do with it once bound.
  dht.on('error', () => {});
  dht.on('warning', () => {});
  return dht;
}

/**
 * BEP43: a node that queries with `ro: 1` (top level) answers no queries, so it must not enter the
 * routing table; bittorrent-dht (k-rpc) adds every querier. Our own read-only sender is the punch
 * socket (its DHT-STUN pings, docs/nat.md §1): were it in another sidecar's table, that sidecar's
 * DHT-STUN would ping it from its own punch socket, and the router in front of it would keep that
 * unanswered flow, so its next probe to that peer would leave on another port and a
 * port-restricted peer would drop it (the NAT join matrix timed out so). Answering is unchanged.
 */
function keepReadOnlyNodesOut(dht: DHT): void {
  const rpc = dht._rpc;
  const addNode = rpc._addNode;
  let readOnlyQuery = false;
  // k-rpc adds the querier in its own 'query' listener: ours runs just before it and just after it.
  rpc.socket.prependListener('query', (query: { ro?: unknown }) => { readOnlyQuery = query?.ro === 1; });
  rpc.socket.on('query', () => { readOnlyQuery = false; });
  rpc._addNode = function addUnlessReadOnly(node) {
    if (!readOnlyQuery) addNode.call(this, node);
  };
}

/** Reports the round trip of every answered query of `dht`'s socket until the returned function is called. */
function timeQueries(dht: DHT, report: (node: string, ms: number) => void): () => void {
  const socket = dht._rpc.socket;
  const query = socket.query;
  socket.query = (peer, message, cb) => {
    const sentAt = performance.now();
    return query.call(socket, peer, message, (err, reply, from) => {
      if (err === null && isIPv4(peer.host)) report(`${peer.host}:${peer.port}`, performance.now() - sentAt);
      cb(err, reply, from);
    });
  };
  return () => { socket.query = query; };
}

/** Destroys a node and waits for its socket to close. Safe to call twice. */
export function destroyDhtNode(dht: DHT): Promise<void> {
  if (dht.destroyed) return Promise.resolve();
  return new Promise((resolve) => dht.destroy(() => resolve()));
}
