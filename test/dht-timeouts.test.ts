/**
 * Adaptive per-node timeouts (dht/rtt-estimator.ts) and the lookup that uses them as soft timeouts
 * (dht/iterative-lookup.ts), driven step by step with a scripted k-rpc and fake timers: which node
 * is asked when, never how long anything took.
 */
import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { IterativeLookup, KRPC_CONCURRENCY, MAX_QUERIES_IN_FLIGHT, parseCompactNodes } from '../sidecar/src/dht/iterative-lookup.ts';
import { RttEstimator } from '../sidecar/src/dht/rtt-estimator.ts';
import { destroyDhtNode, startDhtNode } from '../sidecar/src/dht/dht-node.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { compact, FakeKrpc, FakeTimers, idAt } from './dht-fake-krpc.ts';

describe('RttEstimator', () => {
  it('starts at the initial RTO, then follows the network until a node has its own estimate', () => {
    const rtt = new RttEstimator({ minMs: 50, maxMs: 2000 });
    expect(rtt.rto('a:1')).toBe(1000);
    expect(rtt.networkRtt).toBeNull();
    rtt.record('a:1', 100); // srtt 100, rttvar 50
    expect(rtt.rto('a:1')).toBe(300); // its own: SRTT + 4·RTTVAR
    expect(rtt.rto('never-timed:2')).toBe(200); // the network's: SRTT + 2·RTTVAR
    for (let i = 0; i < 40; i++) rtt.record('a:1', 100);
    expect(rtt.rto('a:1')).toBeLessThan(110); // steady RTT: the variation decays
    expect(rtt.rto('a:1')).toBeGreaterThanOrEqual(100);
    rtt.record('b:1', 400);
    expect(rtt.rto('b:1')).toBe(1200); // its own first sample
    expect(rtt.rto('a:1')).toBeLessThan(110); // unchanged by another node
  });

  it('stays within its bounds', () => {
    const rtt = new RttEstimator({ minMs: 80, maxMs: 500 });
    expect(rtt.rto('x:1')).toBe(500); // initial 1000 capped by maxMs
    rtt.record('fast:1', 1);
    expect(rtt.rto('fast:1')).toBe(80);
    rtt.record('slow:1', 5000);
    expect(rtt.rto('slow:1')).toBe(500);
  });

  it('ignores nonsense samples and refuses bad bounds', () => {
    const rtt = new RttEstimator();
    rtt.record('a:1', Number.NaN);
    rtt.record('a:1', -5);
    expect(rtt.networkRtt).toBeNull();
    for (const bounds of [{ minMs: 0 }, { minMs: 500, maxMs: 100 }, { initialMs: 5000, maxMs: 2000 }, { capacity: 0 }]) {
      let caught: unknown;
      try {
        new RttEstimator(bounds);
      } catch (err) {
        caught = err;
      }
      expect(isPkarrError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('forgets the least recently timed node beyond its capacity', () => {
    const rtt = new RttEstimator({ capacity: 2, minMs: 10 });
    rtt.record('a:1', 100);
    rtt.record('b:1', 20);
    rtt.record('c:1', 20);
    expect(rtt.size).toBe(2);
    // a:1 is gone: it gets the network's RTO, no longer its own 300.
    expect(rtt.rto('a:1')).not.toBe(300);
  });
});

/** Node ranks (distance to the all-zero target) → ports. */
const port = (rank: number): number => 10_000 + rank;
const node = (rank: number): { id: Buffer; host: string; port: number } => ({ id: idAt(rank), host: '127.0.0.1', port: port(rank) });

function lookup(fake: FakeKrpc, timers: FakeTimers, rtt: RttEstimator, k: number, extra: { onProgress?: () => void } = {}): { lookup: IterativeLookup; replies: number[]; completed: () => boolean } {
  const replies: number[] = [];
  let completed = false;
  const l = new IterativeLookup({
    rpc: fake.rpc, target: Buffer.alloc(20), query: { q: 'get', a: {} }, rtt, k, timers,
    onReply: (_m, peer) => replies.push(peer.port),
    onComplete: () => { completed = true; },
    ...extra,
  });
  return { lookup: l, replies, completed: () => completed };
}

describe('IterativeLookup soft timeouts', () => {
  it('gives up on a silent node after its RTO (not the KRPC timeout) and asks the next one', () => {
    const fake = new FakeKrpc([node(1), node(2), node(3)]);
    const timers = new FakeTimers();
    const rtt = new RttEstimator({ minMs: 50, maxMs: 2000 });
    rtt.record('elsewhere:1', 100); // the network so far: RTO 200 for nodes never timed
    const { lookup: l, completed } = lookup(fake, timers, rtt, 2);
    l.start();
    expect(fake.sent.map((q) => q.peer.port)).toEqual([port(1), port(2)]); // the window: the 2 closest
    fake.reply(port(2));
    expect(completed()).toBe(false); // node 1 is still within its RTO
    expect(l.settledBefore(idAt(2))).toBe(false);
    timers.advance(199);
    expect(fake.to(port(3))).toHaveLength(0);
    timers.advance(1); // 200 ms: node 1 goes slow, node 3 enters the window
    expect(fake.to(port(3))).toHaveLength(1);
    expect(l.settledBefore(idAt(2))).toBe(true);
    fake.reply(port(3));
    expect(completed()).toBe(true); // without node 1's answer or its hard timeout
    expect(l.inFlight).toBe(1); // node 1's query is still open on the socket
    expect(l.candidates().find((c) => c.port === port(1))?.state).toBe('slow');
  });

  it('uses a node\'s own estimate: a node known to be fast is given up on sooner', () => {
    const fake = new FakeKrpc([node(1), node(2)]);
    const timers = new FakeTimers();
    const rtt = new RttEstimator({ minMs: 50, maxMs: 2000 });
    for (let i = 0; i < 20; i++) rtt.record(`127.0.0.1:${port(1)}`, 60);
    rtt.record('elsewhere:1', 400);
    const { lookup: l } = lookup(fake, timers, rtt, 1);
    l.start();
    expect(fake.sent.map((q) => q.peer.port)).toEqual([port(1)]);
    timers.advance(rtt.rto(`127.0.0.1:${port(1)}`) - 1);
    expect(fake.to(port(2))).toHaveLength(0);
    timers.advance(1);
    expect(fake.to(port(2))).toHaveLength(1);
    expect(rtt.rto(`127.0.0.1:${port(1)}`)).toBeLessThan(rtt.rto('never-timed:1'));
  });

  it('still uses a slow node\'s late reply (its closer nodes are asked) until the hard timeout', () => {
    const fake = new FakeKrpc([node(5), node(6)]);
    const timers = new FakeTimers();
    const rtt = new RttEstimator({ minMs: 50, maxMs: 2000, initialMs: 200 });
    const { lookup: l, replies, completed } = lookup(fake, timers, rtt, 1);
    l.start();
    timers.advance(200); // node 5 goes slow; node 6 is asked
    expect(fake.to(port(6))).toHaveLength(1);
    fake.reply(port(5), { nodes: compact([node(1)]) }); // late, but it names a closer node
    expect(replies).toEqual([port(5)]);
    expect(fake.to(port(1))).toHaveLength(1);
    expect(completed()).toBe(false);
    fake.reply(port(1));
    expect(completed()).toBe(true); // window (k=1) = node 1, answered
    expect(replies).toEqual([port(5), port(1)]);
  });

  it('drops a node that hits the hard timeout from the routing table, as k-rpc does', () => {
    const fake = new FakeKrpc([node(1), node(2)]);
    const timers = new FakeTimers();
    const { lookup: l, completed } = lookup(fake, timers, new RttEstimator({ minMs: 50, initialMs: 100 }), 2);
    l.start();
    fake.fail(port(1), 'ETIMEDOUT', 'Query timed out');
    fake.reply(port(2));
    expect(completed()).toBe(true);
    expect(fake.removed.map((id) => id.toString('hex'))).toEqual([idAt(1).toString('hex')]);
  });

  it('tops the window up from the routing table, then the bootstrap routers, when every seed is dead', () => {
    const table = Array.from({ length: 3 }, (_, i) => node(i + 1));
    const fake = new FakeKrpc(table);
    fake.bootstrap.push({ host: '127.0.0.1', port: 9999 });
    const timers = new FakeTimers();
    const { lookup: l, completed } = lookup(fake, timers, new RttEstimator({ minMs: 50, initialMs: 100 }), 2);
    l.start();
    expect(fake.sent.map((q) => q.peer.port)).toEqual([port(1), port(2)]);
    expect(fake.to(9999)).toHaveLength(0); // the table had enough nodes
    timers.advance(100); // both slow: node 3 comes from the table, which then has no more; nobody answered: the router is asked
    expect(fake.to(port(3))).toHaveLength(1);
    expect(fake.to(9999)).toHaveLength(1);
    expect(completed()).toBe(false);
    const routerId = idAt(9);
    const q = fake.to(9999)[0]!;
    q.done = true;
    q.cb(null, { y: 'r', r: { id: routerId, nodes: compact([node(4)]) } }, { address: '127.0.0.1', port: 9999 });
    expect(fake.to(port(4))).toHaveLength(1);
    fake.reply(port(4));
    expect(completed()).toBe(false); // node 3, closer than node 4, is still within its RTO
    timers.advance(100);
    expect(completed()).toBe(true);
  });

  it('parses compact node infos and skips port 0, addresses no node can have, and truncated entries', () => {
    const nodes = parseCompactNodes(Buffer.concat([compact([node(1), { id: idAt(2), port: 0 }]), Buffer.alloc(10)]));
    expect(nodes).toEqual([{ id: idAt(1), host: '127.0.0.1', port: port(1) }]);
    expect(parseCompactNodes('not a buffer')).toEqual([]);
    const at = (a: number, b: number, c: number, d: number): Buffer => {
      const entry = compact([node(3)]);
      entry.set([a, b, c, d], 20);
      return entry;
    };
    const parsed = parseCompactNodes(Buffer.concat([at(0, 0, 0, 0), at(255, 255, 255, 255), at(239, 1, 2, 3), at(224, 0, 0, 1), at(203, 0, 113, 7)]));
    expect(parsed.map((n) => n.host)).toEqual(['203.0.113.7']);
  });
});

describe('IterativeLookup: late answers and the socket budget', () => {
  it('a lookup nobody answered yet waits for its slow queries: late replies on a loaded machine are not lost', () => {
    const fake = new FakeKrpc([node(1), node(2)]);
    const timers = new FakeTimers();
    const { lookup: l, replies, completed } = lookup(fake, timers, new RttEstimator({ minMs: 50, initialMs: 100 }), 2);
    l.start();
    timers.advance(100); // both slow, nothing left to ask: without the rule the lookup ended with no answer
    expect(completed()).toBe(false);
    fake.reply(port(1)); // late, but before the hard timeout
    expect(replies).toEqual([port(1)]);
    expect(completed()).toBe(true); // someone answered: node 2 is given up on, as designed
    expect(l.inFlight).toBe(1);
  });

  it('once a node answered, a short window does not wait for slow queries (unreachable entries cost one RTO)', () => {
    const fake = new FakeKrpc([node(1), node(2), node(3)]);
    const timers = new FakeTimers();
    const { lookup: l, completed } = lookup(fake, timers, new RttEstimator({ minMs: 50, initialMs: 100 }), 3);
    l.start();
    fake.reply(port(3));
    timers.advance(100); // nodes 1 and 2 slow (a NATed player's stale entry, say); the window has 1 answer of 3
    expect(completed()).toBe(true);
    expect(l.inFlight).toBe(2);
  });

  it(`keeps at most ${MAX_QUERIES_IN_FLIGHT} queries of one socket waiting across lookups, and every lookup completes`, () => {
    const fake = new FakeKrpc(Array.from({ length: 40 }, (_, i) => node(i + 1)));
    const timers = new FakeTimers();
    const rtt = new RttEstimator({ minMs: 50, initialMs: 1000 });
    const lookups = [lookup(fake, timers, rtt, 30), lookup(fake, timers, rtt, 30), lookup(fake, timers, rtt, 30)];
    for (const { lookup: l } of lookups) l.start();
    const open = (): number => fake.sent.filter((q) => !q.done).length;
    expect(open()).toBe(MAX_QUERIES_IN_FLIGHT); // 30 + 30 + 4: the third lookup waits for places
    let most = open();
    for (let step = 0; step < 1000; step++) {
      const q = fake.sent.find((s) => !s.done);
      if (q === undefined) break;
      fake.reply(q.peer.port); // each answer frees a place, which a waiting lookup takes
      most = Math.max(most, open());
    }
    expect(most).toBe(MAX_QUERIES_IN_FLIGHT);
    expect(lookups.map(({ completed }) => completed())).toEqual([true, true, true]);
    expect(fake.sent).toHaveLength(90); // each lookup asked its 30 closest, none twice
  });
});

describe('one socket, two users: our lookups and bittorrent-dht (k-rpc)', () => {
  it(`counts every query of the socket: with ${MAX_QUERIES_IN_FLIGHT - 4} of k-rpc's in flight a lookup sends 4, and goes on as places free`, () => {
    const fake = new FakeKrpc(Array.from({ length: 20 }, (_, i) => node(i + 1)));
    const timers = new FakeTimers();
    fake.socket.inflight = MAX_QUERIES_IN_FLIGHT - 4; // bittorrent-dht's own queries (an announce, rendezvous polls)
    const { lookup: l, completed } = lookup(fake, timers, new RttEstimator({ minMs: 50, initialMs: 1000 }), 20);
    l.start();
    expect(fake.sent).toHaveLength(4);
    fake.socket.inflight -= 2; // two of k-rpc's queries end
    fake.socket.emit('update');
    expect(fake.sent).toHaveLength(6);
    fake.socket.inflight -= MAX_QUERIES_IN_FLIGHT - 6; // the rest end
    fake.socket.emit('update');
    expect(fake.sent).toHaveLength(20);
    for (let i = 1; i <= 20; i++) fake.reply(port(i));
    expect(completed()).toBe(true);
  });

  it(`leaves bittorrent-dht ${KRPC_CONCURRENCY - MAX_QUERIES_IN_FLIGHT} places: with our lookups' ${MAX_QUERIES_IN_FLIGHT} queries to silent nodes in flight, a k-rpc query is sent at once, not queued`, async () => {
    const dht = await startDhtNode({ bootstrap: [], host: '127.0.0.1', port: 0, timeoutMs: 2000 });
    const silent = await Promise.all(Array.from({ length: 100 }, () => bindSilent()));
    try {
      expect(dht._rpc.concurrency).toBe(KRPC_CONCURRENCY);
      const rpc = dht._rpc;
      const nodes = silent.map((s, i) => ({ id: idAt(i + 1), host: '127.0.0.1', port: (s.address() as { port: number }).port }));
      const table = { ...rpc.nodes, closest: (_t: Uint8Array, n = 20) => nodes.slice(0, n), count: () => nodes.length, get: () => null, remove: () => {} };
      const view = Object.assign(Object.create(rpc) as typeof rpc, { nodes: table }); // the socket, with a table of silent nodes
      const lookups = Array.from({ length: 4 }, (_, i) => new IterativeLookup({
        rpc: view, target: idAt(i + 1), query: { q: 'get', a: {} },
        rtt: new RttEstimator({ minMs: 50 }), k: 20, onReply: () => {}, onComplete: () => {},
      }).start());
      expect(rpc.socket.inflight).toBe(MAX_QUERIES_IN_FLIGHT); // 4 × 20 wanted, the budget stops ours at 64
      let answered = false;
      rpc.query({ host: '127.0.0.1', port: (silent[99]!.address() as { port: number }).port }, { q: 'ping', a: {} }, () => { answered = true; });
      expect(rpc.pending).toHaveLength(0); // with k-rpc's default concurrency (16) it would wait in this queue
      expect(rpc.socket.inflight).toBe(MAX_QUERIES_IN_FLIGHT + 1);
      for (const l of lookups) l.end();
      expect(answered).toBe(false);
    } finally {
      await destroyDhtNode(dht);
      for (const s of silent) s.close();
    }
  });
});

/** A UDP socket on loopback that never answers (a dead DHT node). */
function bindSilent(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

describe('bootstrap round trips', () => {
  it('reports the answered queries of the bootstrap (the RTT estimator\'s first samples), then stops timing', async () => {
    const testnet = await Testnet.create(6);
    const samples: [string, number][] = [];
    const node = await startDhtNode({ bootstrap: testnet.bootstrap, host: '127.0.0.1', port: 0, timeoutMs: 1000, onRoundTrip: (n, ms) => samples.push([n, ms]) });
    try {
      const nodes = new Set(testnet.addresses());
      expect(samples.length).toBeGreaterThan(0);
      for (const [n, ms] of samples) {
        expect(nodes.has(n)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(0);
      }
      const rtt = new RttEstimator({ minMs: 1 });
      for (const [n, ms] of samples) rtt.record(n, ms);
      expect(rtt.rto('never-timed:1')).not.toBe(rtt.initialMs); // a first lookup starts from the network's estimate
      const before = samples.length;
      await new Promise<void>((resolve) => node._rpc.socket.query({ host: '127.0.0.1', port: Number(testnet.addresses()[0]!.split(':')[1]) }, { q: 'ping', a: { id: node._rpc.id } }, () => resolve()));
      expect(samples.length).toBe(before); // after the bootstrap the lookups time their own queries
    } finally {
      await destroyDhtNode(node);
      await testnet.destroy();
    }
  }, 30_000);
});
