/**
 * STUN over the Mainline DHT (docs/nat.md §1): KRPC `ping`s sent from the punch socket to several
 * DHT nodes; BEP42 responders (libtorrent, Rust mainline) put the address they saw us at in the
 * `ip` field of their answer. That is the public address of the very socket that carries game
 * traffic, with no STUN server.
 *
 * Every datagram that arrives is untrusted: an answer counts only when it decodes as a KRPC
 * response, carries the transaction id of a ping still waiting, and comes from the address that
 * ping went to; each ping is answered at most once. Anything else is ignored and counted. Pings
 * carry BEP43 `ro` (read-only): the punch socket answers no queries, so nodes must not add it to
 * their routing tables.
 */
import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PkarrError } from '../core/errors.ts';
import { assertAllowedHost } from '../core/loopback-guard.ts';
import { BencodeError, bdecode, bencode, type BencodeDict } from '../dht/bencode.ts';
import { decodeCompactIPv4 } from '../dht/address-votes.ts';
import { splitHostPort } from '../util/peer-address.ts';
import type { UdpAddress, UdpChannel } from './udp-channel.ts';

/** Nodes pinged by default. */
export const DEFAULT_STUN_NODES = 8;
/** Longest wait for an answer, ms (default). */
export const DEFAULT_STUN_TIMEOUT_MS = 2000;
/** Most nodes one run may ping. */
export const MAX_STUN_NODES = 32;
/** Longest KRPC datagram read (a ping answer is under 100 bytes). */
const MAX_ANSWER_BYTES = 1500;

/** Why an observation has no mapped address, or `ok`. */
export type StunOutcome = 'ok' | 'no-ip' | 'krpc-error' | 'timeout' | 'send-failed';

/** What one DHT node told us. */
export interface StunObservation {
  /** The node pinged, `host:port`. */
  node: string;
  /** Our address as that node saw it (BEP42 `ip`), or null. */
  mapped: UdpAddress | null;
  /** Time from send to answer, ms; null when it did not answer. */
  rttMs: number | null;
  outcome: StunOutcome;
}

export interface StunResult {
  /** One per node pinged, in the order pinged. */
  observations: StunObservation[];
  /** Datagrams that were not a well-formed KRPC message (or an answer without a 20-byte id). */
  malformed: number;
  /** Well-formed messages that answered no ping of ours (unknown transaction id, wrong sender, repeat, query). */
  unexpected: number;
}

export interface DhtStunOptions {
  /** The punch socket's KRPC channel. */
  channel: UdpChannel;
  /** DHT node addresses, `a.b.c.d:port` (e.g. DhtClient.routingTable()). */
  nodes: readonly string[];
  /** How many nodes to ping (default 8, at most 32); distinct hosts are preferred. */
  count?: number;
  /** Wait per ping, ms (default 2000, 10..60000); all pings run in parallel. */
  timeoutMs?: number;
  /** Our node id (20 bytes) for the `id` argument; random when absent. */
  nodeId?: Uint8Array;
  signal?: AbortSignal;
}

interface Pending {
  index: number;
  to: UdpAddress;
  sentAt: number;
}

/** Parses `a.b.c.d:port`; throws INVALID_ARGUMENT otherwise. */
export function parseIPv4Node(text: string): UdpAddress {
  const address = splitHostPort(text);
  if (address === null || !isIPv4(address.host)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid DHT node address ${JSON.stringify(text)}: expected a.b.c.d:port`);
  }
  return address;
}

/**
 * Up to `count` distinct nodes in random order, one per host first (distinct hosts are independent
 * witnesses), then further ports of hosts already chosen.
 */
export function pickStunNodes(nodes: readonly UdpAddress[], count: number): UdpAddress[] {
  const unique = new Map<string, UdpAddress>();
  for (const node of nodes) unique.set(`${node.host}:${node.port}`, node);
  const shuffled = [...unique.values()];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32BE(0) % (i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const hosts = new Set<string>();
  const first: UdpAddress[] = [];
  const rest: UdpAddress[] = [];
  for (const node of shuffled) {
    if (hosts.has(node.host)) rest.push(node);
    else { hosts.add(node.host); first.push(node); }
  }
  return [...first, ...rest].slice(0, count);
}

function checkOptions(options: DhtStunOptions): { count: number; timeoutMs: number; nodeId: Buffer; targets: UdpAddress[] } {
  const count = options.count ?? DEFAULT_STUN_NODES;
  if (!Number.isInteger(count) || count < 1 || count > MAX_STUN_NODES) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid STUN node count ${String(count)} (1..${MAX_STUN_NODES})`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_STUN_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs >= 10 && timeoutMs <= 60_000)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid STUN timeout ${String(timeoutMs)} ms (10..60000)`);
  }
  if (options.nodeId !== undefined && (!(options.nodeId instanceof Uint8Array) || options.nodeId.length !== 20)) {
    throw new PkarrError('INVALID_ARGUMENT', 'the DHT node id must be 20 bytes');
  }
  const nodeId = options.nodeId === undefined ? randomBytes(20) : Buffer.from(options.nodeId);
  if (!Array.isArray(options.nodes)) throw new PkarrError('INVALID_ARGUMENT', 'nodes must be a list of a.b.c.d:port');
  const parsed = options.nodes.map(parseIPv4Node);
  for (const node of parsed) assertAllowedHost(node.host, 'DHT-STUN node');
  return { count, timeoutMs, nodeId, targets: pickStunNodes(parsed, count) };
}

/** The `ping` query with transaction id `t` (BEP5 + BEP43 `ro`). */
export function pingQuery(t: Uint8Array, nodeId: Uint8Array): Buffer {
  return bencode({ t, y: 'q', q: 'ping', a: { id: nodeId }, ro: 1 });
}

/** A decoded datagram: a KRPC response or error with its transaction id, or null when malformed. */
function parseKrpc(payload: Buffer): { t: Buffer; y: 'r' | 'e' | 'q'; ip: unknown } | null {
  let message;
  try {
    message = bdecode(payload, MAX_ANSWER_BYTES);
  } catch (err) {
    if (err instanceof BencodeError) return null;
    throw err;
  }
  if (typeof message !== 'object' || Buffer.isBuffer(message) || Array.isArray(message)) return null;
  const dict: BencodeDict = message;
  const t = dict['t'];
  const y = dict['y'];
  if (!Buffer.isBuffer(t) || t.length === 0 || !Buffer.isBuffer(y) || y.length !== 1) return null;
  const kind = y.toString('latin1');
  if (kind === 'r') {
    const r = dict['r'];
    if (typeof r !== 'object' || Buffer.isBuffer(r) || Array.isArray(r)) return null;
    const id = r['id'];
    if (!Buffer.isBuffer(id) || id.length !== 20) return null;
    return { t, y: 'r', ip: dict['ip'] };
  }
  if (kind === 'e') return Array.isArray(dict['e']) ? { t, y: 'e', ip: undefined } : null;
  if (kind === 'q') return { t, y: 'q', ip: undefined };
  return null;
}

/**
 * Pings up to `count` of `nodes` from `channel` in parallel and resolves, once every ping was
 * answered or timed out, with what each node reported. Throws INVALID_ARGUMENT on bad options and
 * TIMEOUT when `signal` aborts.
 */
export function dhtStun(options: DhtStunOptions): Promise<StunResult> {
  const { timeoutMs, nodeId, targets } = checkOptions(options);
  const { channel, signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const observations: StunObservation[] = targets.map((to) => ({ node: `${to.host}:${to.port}`, mapped: null, rttMs: null, outcome: 'timeout' }));
  const result: StunResult = { observations, malformed: 0, unexpected: 0 };
  if (targets.length === 0) return Promise.resolve(result);

  return new Promise<StunResult>((resolve, reject) => {
    const pending = new Map<string, Pending>(); // transaction id (hex) → ping
    let settled = false;
    const finish = (err?: PkarrError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      removeListener();
      signal?.removeEventListener('abort', onAbort);
      pending.clear();
      if (err) reject(err);
      else resolve(result);
    };
    const settleOne = (key: string, outcome: StunOutcome, mapped: UdpAddress | null, at: number | null): void => {
      const ping = pending.get(key);
      if (ping === undefined) return;
      pending.delete(key);
      const observation = observations[ping.index]!;
      observation.outcome = outcome;
      observation.mapped = mapped;
      observation.rttMs = at === null ? null : Math.max(0, at - ping.sentAt);
      if (pending.size === 0) finish();
    };
    const onAbort = (): void => finish(abortError(signal!));
    const removeListener = channel.onMessage((payload, from) => {
      if (settled) return;
      const at = performance.now();
      const message = parseKrpc(payload);
      if (message === null) { result.malformed++; return; }
      const key = message.t.toString('hex');
      const ping = pending.get(key);
      const fromHost = from.host.startsWith('::ffff:') ? from.host.slice(7) : from.host; // a dual-stack socket
      if (message.y === 'q' || ping === undefined || ping.to.host !== fromHost || ping.to.port !== from.port) {
        result.unexpected++;
        return;
      }
      if (message.y === 'e') { settleOne(key, 'krpc-error', null, at); return; }
      const mapped = decodeCompactIPv4(message.ip);
      settleOne(key, mapped === null ? 'no-ip' : 'ok', mapped, at);
    });
    const timer = setTimeout(() => finish(), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    // Every ping is registered before the first is sent, so that a send failing at once cannot end the run early.
    const sends: [string, Buffer, UdpAddress][] = [];
    targets.forEach((to, index) => {
      let t: Buffer;
      do t = randomBytes(4); while (pending.has(t.toString('hex')));
      const key = t.toString('hex');
      pending.set(key, { index, to, sentAt: performance.now() });
      sends.push([key, pingQuery(t, nodeId), to]);
    });
    for (const [key, query, to] of sends) {
      if (settled) break;
      const ping = pending.get(key);
      if (ping !== undefined) ping.sentAt = performance.now();
      try {
        channel.send(query, to).catch(() => settleOne(key, 'send-failed', null, null));
      } catch {
        settleOne(key, 'send-failed', null, null);
      }
    }
  });
}

function abortError(signal: AbortSignal): PkarrError {
  const reason: unknown = signal.reason;
  const text = reason instanceof Error ? reason.message : String(reason ?? 'aborted');
  return new PkarrError('TIMEOUT', `DHT-STUN aborted: ${text}`, undefined, { cause: reason });
}
