/**
 * DhtClient against a local testnet of bittorrent-dht nodes on 127.0.0.1 (no public network).
 * Malicious or stale nodes are simulated by writing items straight into testnet nodes' BEP44 stores.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type DHT from 'bittorrent-dht';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket, signable } from '../sidecar/src/core/signed-packet.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { putArguments } from '../sidecar/src/dht/bep44.ts';
import { putToNodes } from '../sidecar/src/dht/put-query.ts';
import { ItemLookup } from '../sidecar/src/dht/item-lookup.ts';
import { destroyDhtNode, startDhtNode } from '../sidecar/src/dht/dht-node.ts';
import { RttEstimator } from '../sidecar/src/dht/rtt-estimator.ts';
import { PUBLISH_QUORUM } from '../sidecar/src/dht/publish-query.ts';
import type { DhtPutResult } from '../sidecar/src/dht/types.ts';

const TIMEOUT_MS = 400;
let base = 1_795_452_946_131_000n; // a realistic µs timestamp; each test takes its own range
function nextTimestamp(): bigint {
  base += 1_000_000n;
  return base;
}

/** A put's result checked against the quorum rule; resolves with the final count once the background puts answered. */
async function finalCount(result: DhtPutResult): Promise<number> {
  expect(result.storedOn).toBeGreaterThanOrEqual(PUBLISH_QUORUM);
  expect(result.settled).toBeDefined();
  const total = await result.settled!;
  expect(total).toBeGreaterThanOrEqual(result.storedOn);
  return total;
}

function packetAt(keypair: Keypair, timestamp: bigint, address = '10.0.0.1'): SignedPacket {
  return SignedPacket.sign(keypair, [{ type: 'A', name: '@', ttl: 300, address }], { timestamp });
}

/** A packet whose DNS message is exactly `size` bytes (TXT padding; bounded search). */
function packetOfSize(keypair: Keypair, size: number, timestamp: bigint): SignedPacket {
  for (let n = 0; n <= size; n++) {
    const strings = 'a'.repeat(n).match(/.{1,250}/g) ?? [''];
    const packet = SignedPacket.sign(keypair, [{ type: 'TXT', name: '_big', ttl: 300, strings }], { timestamp });
    if (packet.dns.length === size) return packet;
    if (packet.dns.length > size) break;
  }
  throw new Error(`cannot build a ${size}-byte DNS packet`);
}

type RawItem = { k: Buffer; sig: Buffer; seq: number; v: Buffer; id: Buffer };

/** A BEP44 item signed by `keypair` over arbitrary `v` at `seq`. */
function rawItem(keypair: Keypair, seq: number, v: Uint8Array): RawItem {
  const sig = keypair.sign(signable(BigInt(seq), v));
  return { k: Buffer.from(keypair.publicKey.bytes), sig: Buffer.from(sig), seq, v: Buffer.from(v), id: Buffer.alloc(20, 7) };
}

function itemOf(packet: SignedPacket): RawItem {
  return { k: Buffer.from(packet.publicKey.bytes), sig: Buffer.from(packet.signature), seq: Number(packet.timestamp), v: Buffer.from(packet.dns), id: Buffer.alloc(20, 7) };
}

/** Live testnet nodes sorted by XOR distance to `target`, closest first. */
function closestNodes(testnet: Testnet, target: Uint8Array): DHT[] {
  const distance = (id: Buffer): Buffer => Buffer.from(id.map((b, i) => b ^ (target[i] ?? 0)));
  return testnet.liveIndices().map((i) => testnet.node(i)!)
    .sort((a, b) => Buffer.compare(distance(a.nodeId), distance(b.nodeId)));
}

/** Stores `item` under `target` directly in the nodes' BEP44 stores (a malicious or stale node). */
function plant(nodes: DHT[], target: Uint8Array, item: RawItem): void {
  const hex = Buffer.from(target).toString('hex');
  for (const node of nodes) node._values.set(hex, { ...item });
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(isPkarrError(err) ? err.code : err).toBe(code);
}

describe('DhtClient on a 30-node testnet', () => {
  let testnet: Testnet;
  let alice: DhtClient;
  let bob: DhtClient;
  const extra: DhtClient[] = [];
  const start = async (): Promise<DhtClient> => {
    const client = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    extra.push(client);
    return client;
  };

  beforeAll(async () => {
    testnet = await Testnet.create(30);
    alice = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    bob = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
  });
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((c) => c.destroy()));
  });
  afterAll(async () => {
    await alice?.destroy();
    await bob?.destroy();
    await testnet?.destroy();
  });

  it('bootstraps into the testnet on loopback', () => {
    expect(alice.nodeCount).toBeGreaterThanOrEqual(10);
    expect(alice.address().host).toBe('127.0.0.1');
    expect(alice.address().port).toBeGreaterThan(0);
  });

  it('publishes from one client and resolves from another, and from one that joined after the put', async () => {
    const keypair = Keypair.generate();
    const packet = packetAt(keypair, nextTimestamp());
    expect(await finalCount(await alice.put(packet))).toBeGreaterThanOrEqual(15);

    const got = await bob.get(keypair.publicKey);
    expect(got.packet?.isSameAs(packet)).toBe(true);
    expect(got.responded).toBeGreaterThan(0);
    expect(got.invalidSeq).toBeUndefined();

    const late = await start();
    const lateGot = await late.get(keypair.publicKey, { mostRecent: true });
    expect(lateGot.packet?.isSameAs(packet)).toBe(true);
    expect(lateGot.packet?.records).toEqual(packet.records);
  });

  it('round-trips a 1000-byte DNS packet, which bittorrent-dht\'s own put refuses', async () => {
    const keypair = Keypair.fromSeed(new Uint8Array(32));
    const packet = packetOfSize(keypair, 1000, nextTimestamp());
    expect(packet.dns.length).toBe(1000);
    const raw = testnet.node(testnet.liveIndices()[0]!)!;
    expect(() => raw.put({ k: Buffer.from(keypair.publicKey.bytes), seq: 1, v: Buffer.from(packet.dns), sig: Buffer.from(packet.signature) })).toThrow(/1000/);

    expect(await finalCount(await alice.put(packet))).toBeGreaterThanOrEqual(15);
    const got = await bob.get(keypair.publicKey, { mostRecent: true });
    expect(got.packet?.isSameAs(packet)).toBe(true);
  });

  it('mostRecent returns the newest packet even when most nodes hold an older one', async () => {
    const keypair = Keypair.generate();
    const older = packetAt(keypair, nextTimestamp(), '10.0.0.1');
    const newer = packetAt(keypair, nextTimestamp(), '10.0.0.2');
    await alice.put(older);
    const target = keypair.publicKey.dhtTarget();
    const closest = closestNodes(testnet, target);
    plant([closest[2]!, closest[5]!], target, itemOf(newer));

    const seen: bigint[] = [];
    const got = await bob.get(keypair.publicKey, { mostRecent: true, onPacket: (p) => seen.push(p.timestamp) });
    expect(got.packet?.isSameAs(newer)).toBe(true);
    expect(seen).toContain(older.timestamp);
    expect(seen).toContain(newer.timestamp);
    // onPacket reports each distinct packet once.
    expect(new Set(seen).size).toBe(seen.length);

    const stats = await bob.holders(keypair.publicKey);
    expect(stats.packet?.isSameAs(newer)).toBe(true);
    expect(stats.holders).toBe(2);
  });

  it('a later put of a newer packet replaces the older one everywhere', async () => {
    const keypair = Keypair.generate();
    const first = packetAt(keypair, nextTimestamp(), '10.0.0.1');
    const second = packetAt(keypair, nextTimestamp(), '10.0.0.2');
    await alice.put(first);
    await bob.put(second);
    const got = await (await start()).get(keypair.publicKey, { mostRecent: true });
    expect(got.packet?.isSameAs(second)).toBe(true);
    const stats = await alice.holders(keypair.publicKey);
    expect(stats.holders).toBeGreaterThanOrEqual(10);
  });

  it('honours floor: only packets newer than it are answers', async () => {
    const keypair = Keypair.generate();
    const packet = packetAt(keypair, nextTimestamp());
    await alice.put(packet);
    expect((await bob.get(keypair.publicKey, { floor: packet.timestamp })).packet).toBeNull();
    expect((await bob.get(keypair.publicKey, { floor: packet.timestamp - 1n })).packet?.isSameAs(packet)).toBe(true);
  });

  it('rejects an item signed by another key served under this key\'s target (k differs)', async () => {
    const victim = Keypair.generate();
    const attacker = Keypair.generate();
    const forged = packetAt(attacker, nextTimestamp(), '6.6.6.6');
    const target = victim.publicKey.dhtTarget();
    // Every node is malicious: each serves the attacker's valid BEP44 item for the victim's target.
    plant(closestNodes(testnet, target), target, itemOf(forged));

    const got = await bob.get(victim.publicKey, { mostRecent: true });
    expect(got.packet).toBeNull();
    expect(got.responded).toBeGreaterThan(0);

    // With the genuine packet on a few nodes, that one is returned and the forgery is ignored.
    const genuine = packetAt(victim, forged.timestamp - 5n);
    plant(closestNodes(testnet, target).slice(0, 3), target, itemOf(genuine));
    const again = await bob.get(victim.publicKey, { mostRecent: true });
    expect(again.packet?.isSameAs(genuine)).toBe(true);
  });

  it('drops an item whose DNS does not parse and reports its seq as invalidSeq', async () => {
    const keypair = Keypair.generate();
    const target = keypair.publicKey.dhtTarget();
    const seq = Number(nextTimestamp());
    const garbage = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    const nodes = closestNodes(testnet, target);
    plant(nodes, target, rawItem(keypair, seq, garbage));

    const got = await bob.get(keypair.publicKey, { mostRecent: true });
    expect(got.packet).toBeNull();
    expect(got.invalidSeq).toBe(BigInt(seq));

    // A valid older packet on some nodes is still returned, with the invalid seq reported next to it.
    const valid = packetAt(keypair, BigInt(seq) - 10n);
    plant(nodes.slice(0, 4), target, itemOf(valid));
    const mixed = await bob.get(keypair.publicKey, { mostRecent: true });
    expect(mixed.packet?.isSameAs(valid)).toBe(true);
    expect(mixed.invalidSeq).toBe(BigInt(seq));
  });

  it('ignores items with a bad signature', async () => {
    const keypair = Keypair.generate();
    const target = keypair.publicKey.dhtTarget();
    const packet = packetAt(keypair, nextTimestamp());
    const item = itemOf(packet);
    item.sig = Buffer.from(item.sig);
    item.sig[0] = item.sig[0]! ^ 1;
    plant(closestNodes(testnet, target), target, item);
    const got = await bob.get(keypair.publicKey, { mostRecent: true });
    expect(got.packet).toBeNull();
    expect(got.invalidSeq).toBeUndefined();
  });

  it('get of a missing key resolves null after the lookup', async () => {
    const got = await bob.get(Keypair.generate().publicKey);
    expect(got.packet).toBeNull();
    expect(got.responded).toBeGreaterThanOrEqual(10);
  });

  it('re-putting the same packet counts as stored (bittorrent-dht nodes answer 302)', async () => {
    const keypair = Keypair.generate();
    const packet = packetAt(keypair, nextTimestamp());
    const first = await alice.put(packet);
    const second = await bob.put(packet);
    expect(await second.settled).toBeGreaterThanOrEqual(Math.min(await first.settled ?? 0, 15));

    // Underneath: the nodes answer 302 to the equal seq and are confirmed to hold the very same item.
    const raw = await startDhtNode({ bootstrap: testnet.bootstrap, host: '127.0.0.1', port: 0, timeoutMs: TIMEOUT_MS });
    try {
      const lookup = new ItemLookup({ rpc: raw._rpc, key: keypair.publicKey, deadlineMs: 5000, rtt: new RttEstimator({ maxMs: TIMEOUT_MS }) });
      await lookup.start().finished;
      const outcome = await putToNodes(raw._rpc, lookup.tokenNodes(20), putArguments(packet));
      // Nodes this lookup reached that the earlier puts missed (e.g. alice's or bob's own node) may
      // store it freshly; all others refused the equal seq and hold the very same item.
      expect(outcome.alreadyStored).toBeGreaterThanOrEqual(10);
      expect(outcome.stored + outcome.alreadyStored).toBeGreaterThanOrEqual(15);
      expect(outcome.conflicts).toBe(0);
    } finally {
      await destroyDhtNode(raw);
    }
  });

  it('a lower seq after a higher one fails with NOT_MOST_RECENT', async () => {
    const keypair = Keypair.generate();
    const newer = packetAt(keypair, nextTimestamp(), '10.0.0.2');
    const older = packetAt(keypair, newer.timestamp - 1n, '10.0.0.1');
    await alice.put(newer);
    await expectCode(bob.put(older), 'NOT_MOST_RECENT');
    // Same seq, different value: also refused by bittorrent-dht nodes.
    await expectCode(bob.put(packetAt(keypair, newer.timestamp, '10.0.0.3')), 'NOT_MOST_RECENT');
  });

  it('sends seq as the exact integer that was signed (real µs timestamp with low bits set)', async () => {
    const keypair = Keypair.generate();
    const timestamp = 1_795_452_946_131_257n + base % 1000n * 1_000_000n;
    base += 1_000_000n;
    const packet = packetAt(keypair, timestamp);
    expect(Buffer.from(signable(timestamp, packet.dns)).toString('latin1')).toMatch(new RegExp(`^3:seqi${timestamp}e1:v${packet.dns.length}:`));
    // Capture the put queries as the testnet nodes decode them off the wire.
    const seen: Record<string, unknown>[] = [];
    const nodes = testnet.liveIndices().map((i) => testnet.node(i)!);
    // Only this key's puts: earlier tests' puts may still be reaching the testnet in the background.
    const onQuery = (query: { q?: Buffer | string; a?: Record<string, unknown> }): void => {
      if (String(query.q) !== 'put' || query.a === undefined) return;
      const k = query.a.k;
      if (Buffer.isBuffer(k) && k.equals(Buffer.from(keypair.publicKey.bytes))) seen.push(query.a);
    };
    for (const node of nodes) node._rpc.on('query', onQuery);
    let storedOn: number;
    try {
      storedOn = await finalCount(await alice.put(packet));
    } finally {
      for (const node of nodes) node._rpc.off('query', onQuery);
    }
    expect(storedOn).toBeGreaterThanOrEqual(15);
    // (storedOn may include bob's node, which is not a testnet node and not observed here.)
    expect(seen.length).toBeGreaterThanOrEqual(10);
    for (const a of seen) {
      expect(a.seq).toBe(Number(timestamp));
      expect(Buffer.from(a.target as Buffer)).toEqual(Buffer.from(keypair.publicKey.dhtTarget()));
      expect(Buffer.from(a.k as Buffer)).toEqual(Buffer.from(keypair.publicKey.bytes));
      expect(Buffer.from(a.sig as Buffer)).toEqual(Buffer.from(packet.signature));
      expect(Buffer.from(a.v as Buffer)).toEqual(Buffer.from(packet.dns));
      expect(a.salt).toBeUndefined();
      expect(a.cas).toBeUndefined();
      expect(Buffer.isBuffer(a.token)).toBe(true);
    }
    // The storing nodes verified the signature (bittorrent-dht drops bad ones) and kept the exact seq.
    const hex = Buffer.from(keypair.publicKey.dhtTarget()).toString('hex');
    const stored = testnet.liveIndices().map((i) => testnet.node(i)!._values.get(hex)).filter((v) => v !== undefined);
    expect(stored.length).toBeGreaterThanOrEqual(10);
    for (const item of stored) expect(item.seq).toBe(Number(timestamp));
    expect((await bob.get(keypair.publicKey)).packet?.timestamp).toBe(timestamp);
  });

  it('refuses a timestamp above 2^53 with INVALID_TIMESTAMP', async () => {
    const keypair = Keypair.generate();
    const packet = packetAt(keypair, (1n << 53n) + 1n);
    await expectCode(alice.put(packet), 'INVALID_TIMESTAMP');
  });

  it('announces and looks up peers (BEP5)', async () => {
    const infoHash = new Uint8Array(20).fill(0x42);
    const acked = await alice.announce(infoHash, 4242);
    expect(acked).toBeGreaterThan(0);
    const peers: string[] = [];
    const count = await bob.lookup(infoHash, (host, port) => peers.push(`${host}:${port}`));
    expect(peers).toContain('127.0.0.1:4242');
    expect(count).toBe(peers.length);
    expect(new Set(peers).size).toBe(peers.length);
    await expectCode(alice.announce(new Uint8Array(19), 1), 'INVALID_ARGUMENT');
  });

  it('learns its external address from BEP42 `ip` fields in responses', async () => {
    const client = await start();
    expect(client.externalAddress()).toBeNull();
    // Make three testnet nodes behave like BEP42 responders: add `ip` (our compact address) to replies.
    const port = client.address().port;
    const patched = testnet.liveIndices().map((i) => testnet.node(i)!);
    const originals = patched.map((node) => node._rpc.socket as unknown as { send: (peer: { port: number; host?: string; address?: string }, m: Record<string, unknown>, cb?: () => void) => void });
    const saved = originals.map((s) => s.send);
    originals.forEach((s, i) => {
      const send = saved[i]!.bind(s);
      s.send = (peer, message, cb) => {
        const ip = Buffer.from([127, 0, 0, 1, 0, 0]);
        ip.writeUInt16BE(peer.port, 4);
        send(peer, message.y === 'r' ? { ...message, ip } : message, cb);
      };
    });
    try {
      await client.get(Keypair.generate().publicKey);
      const external = client.externalAddress();
      expect(external).toEqual({ host: '127.0.0.1', port, votes: expect.any(Number) });
      expect(external!.votes).toBeGreaterThan(1);
    } finally {
      originals.forEach((s, i) => { s.send = saved[i]!; });
    }
  });

  it('respects an abort signal and settles pending operations on destroy', async () => {
    const client = await start();
    const key = Keypair.generate().publicKey;
    await expectCode(client.get(key, { signal: AbortSignal.abort() }), 'TIMEOUT');
    const controller = new AbortController();
    const pending = client.get(key, { signal: controller.signal, mostRecent: true });
    controller.abort();
    await expectCode(pending, 'TIMEOUT');

    const inFlight = client.holders(key);
    const destroyed = client.destroy();
    await expectCode(inFlight, 'DHT_ERROR');
    await destroyed;
    await client.destroy(); // idempotent
    expect(client.destroyed).toBe(true);
    await expectCode(client.get(key), 'DHT_ERROR');
    await expectCode(client.put(packetAt(Keypair.generate(), nextTimestamp())), 'DHT_ERROR');
  });
});

describe('DhtClient without peers', () => {
  it('publish with no nodes fails with NO_DHT_NODES', async () => {
    const client = await DhtClient.start({ bootstrap: [], host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    try {
      expect(client.nodeCount).toBe(0);
      await expectCode(client.put(packetAt(Keypair.generate(), nextTimestamp())), 'NO_DHT_NODES');
      expect((await client.get(Keypair.generate().publicKey)).packet).toBeNull();
    } finally {
      await client.destroy();
    }
  });

  it('rejects bad options', async () => {
    await expectCode(DhtClient.start({ bootstrap: ['nope'], host: '127.0.0.1' }), 'INVALID_ARGUMENT');
    await expectCode(DhtClient.start({ bootstrap: [], host: '::1' }), 'INVALID_ARGUMENT');
    await expectCode(DhtClient.start({ bootstrap: [], host: '127.0.0.1', port: 70000 }), 'INVALID_ARGUMENT');
  });
});

describe('DhtClient with 20% of nodes dead', () => {
  let testnet: Testnet;
  const clients: DhtClient[] = [];
  beforeAll(async () => {
    testnet = await Testnet.create(30);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.destroy()));
    await testnet?.destroy();
  });

  it('still resolves (early exit) after 6 of 30 nodes died', async () => {
    const publisher = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    clients.push(publisher);
    const keys = Array.from({ length: 5 }, () => Keypair.generate());
    const packets = keys.map((k) => packetAt(k, nextTimestamp()));
    for (const packet of packets) await publisher.put(packet);

    await testnet.kill(6);
    expect(testnet.size).toBe(24);
    const resolver = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    clients.push(resolver);
    for (const [i, key] of keys.entries()) {
      const got = await resolver.get(key.publicKey);
      expect(got.packet?.isSameAs(packets[i]!)).toBe(true);
    }
  });
});

describe('DhtClient put with stale cached write tokens', () => {
  let testnet: Testnet;
  let client: DhtClient | null = null;
  beforeAll(async () => {
    testnet = await Testnet.create(30);
  });
  afterAll(async () => {
    await client?.destroy();
    await testnet?.destroy();
  });

  it('falls back to a fresh lookup when every cached node is gone', async () => {
    client = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    const keypair = Keypair.generate();
    const first = packetAt(keypair, nextTimestamp(), '10.0.0.1');
    expect(await finalCount(await client.put(first))).toBeGreaterThanOrEqual(15);

    // Kill the 20 nodes closest to the target: exactly the ones whose tokens the client cached.
    const target = keypair.publicKey.dhtTarget();
    const doomed = closestNodes(testnet, target).slice(0, 20);
    const indices = testnet.liveIndices().filter((i) => doomed.includes(testnet.node(i)!));
    await Promise.all(indices.map((i) => testnet.killAt(i)));
    expect(testnet.size).toBe(10);

    const second = packetAt(keypair, nextTimestamp(), '10.0.0.2');
    const result = await client.put(second);
    // Without the fallback every cached node times out and the put fails with DHT_ERROR.
    expect(result.storedOn).toBeGreaterThanOrEqual(1);
    const storedOn = await result.settled!;
    const survivors = testnet.liveIndices().map((i) => testnet.node(i)!._values.get(Buffer.from(target).toString('hex')));
    expect(survivors.filter((item) => item?.seq === Number(second.timestamp)).length).toBe(storedOn);
  });
});
