import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { Republisher, type RepublishOutcome } from '../sidecar/src/client/republisher.ts';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { FakeDht, FakeRelay, makePacket, sleep } from './client-helpers.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function setup(dht: FakeDht, options: Partial<ConstructorParameters<typeof Republisher>[0]> = {}): { client: Client; republisher: Republisher; errors: [string, PkarrError][] } {
  const client = new Client({ dht, relays: [] });
  const errors: [string, PkarrError][] = [];
  const republisher = new Republisher({ client, onError: (key, err) => errors.push([key, err]), ...options });
  cleanup.push(async () => { await republisher.stop(); await client.close(); });
  return { client, republisher, errors };
}

describe('Republisher (fake DHT)', () => {
  it('puts a packet again when fewer than 8 nodes hold it, skips when enough do', async () => {
    const dht = new FakeDht();
    const republished: RepublishOutcome[] = [];
    const { republisher } = setup(dht, { onRepublished: (_k, o) => republished.push(o) });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    dht.store.set(kp.publicKey.z32, packet);
    republisher.add(packet);
    dht.holdersCount = 3;
    const [first] = await republisher.runOnce();
    expect(first).toMatchObject({ key: kp.publicKey.z32, action: 'republished', holders: 3, adopted: false, timestamp: packet.timestamp.toString() });
    expect(dht.puts).toHaveLength(1);
    expect(republished).toHaveLength(1);
    dht.holdersCount = 8;
    const [second] = await republisher.runOnce();
    expect(second?.action).toBe('skipped');
    expect(dht.puts).toHaveLength(1);
    expect(republisher.list()[0]?.lastOutcome?.action).toBe('skipped');
  });

  it('puts our packet when the network has none or an older one', async () => {
    const dht = new FakeDht();
    const { republisher } = setup(dht);
    const kp = Keypair.generate();
    const older = makePacket(kp, ['A @ 1.1.1.1 300']);
    const ours = makePacket(kp, ['A @ 2.2.2.2 300']);
    dht.store.set(kp.publicKey.z32, older);
    dht.holdersCount = 20; // 20 nodes hold the *older* packet: not a reason to skip ours
    republisher.add(ours);
    const [outcome] = await republisher.runOnce();
    expect(outcome?.action).toBe('republished');
    expect(dht.store.get(kp.publicKey.z32)?.isSameAs(ours)).toBe(true);
  });

  it('adopts a newer packet found on the network and never puts the older one over it', async () => {
    const dht = new FakeDht();
    const { republisher } = setup(dht);
    const kp = Keypair.generate();
    const ours = makePacket(kp, ['A @ 1.1.1.1 300']);
    const newer = makePacket(kp, ['A @ 2.2.2.2 300']);
    republisher.add(ours);
    dht.store.set(kp.publicKey.z32, newer);
    dht.holdersCount = 2;
    const [outcome] = await republisher.runOnce();
    expect(outcome).toMatchObject({ action: 'republished', adopted: true, timestamp: newer.timestamp.toString() });
    expect(dht.puts.every((p) => p.isSameAs(newer))).toBe(true);
    expect(republisher.list()[0]?.packet?.isSameAs(newer)).toBe(true);
    republisher.add(ours); // adding an older packet again keeps the newer one
    expect(republisher.list()[0]?.packet?.isSameAs(newer)).toBe(true);
  });

  it('addKey keeps someone else\'s key alive; reports a key with nothing found', async () => {
    const dht = new FakeDht();
    const { republisher, errors } = setup(dht);
    const theirs = Keypair.generate();
    const missing = Keypair.generate();
    const packet = makePacket(theirs);
    dht.store.set(theirs.publicKey.z32, packet);
    dht.holdersCount = 1;
    republisher.addKey(theirs.publicKey.z32);
    republisher.addKey(missing.publicKey);
    const outcomes = await republisher.runOnce();
    expect(outcomes.find((o) => o.key === theirs.publicKey.z32)?.action).toBe('republished');
    expect(outcomes.find((o) => o.key === missing.publicKey.z32)?.action).toBe('missing');
    expect(errors.map(([k, e]) => [k, e.code])).toEqual([[missing.publicKey.z32, 'NOT_FOUND']]);
    expect(republisher.list().map((e) => e.kind)).toEqual(['key', 'key']);
    expect(republisher.remove(missing.publicKey)).toBe(true);
    expect(republisher.remove(missing.publicKey)).toBe(false);
    expect(republisher.list()).toHaveLength(1);
  });

  it('reports publish failures through onError and keeps going', async () => {
    const dht = new FakeDht();
    const { republisher, errors } = setup(dht);
    dht.holdersCount = 0;
    dht.putError = new PkarrError('NO_DHT_NODES', 'no nodes');
    const a = makePacket(Keypair.generate());
    const b = makePacket(Keypair.generate());
    republisher.add(a);
    republisher.add(b);
    const outcomes = await republisher.runOnce();
    expect(outcomes).toHaveLength(0);
    expect(errors.map(([, e]) => e.code)).toEqual(['NO_DHT_NODES', 'NO_DHT_NODES']);
    expect(republisher.list().every((e) => e.lastError === 'publish failed on every backend: dht: no nodes')).toBe(true);
  });

  it('runs cycles on its interval with bounded concurrency; stop() waits for the cycle in flight', async () => {
    const dht = new FakeDht();
    dht.holdersCount = 0;
    dht.putDelayMs = 30;
    let inFlight = 0;
    let maxInFlight = 0;
    const holders = dht.holders.bind(dht);
    dht.holders = async (key) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(20);
      inFlight -= 1;
      return holders(key);
    };
    const cycles: RepublishOutcome[][] = [];
    const { republisher } = setup(dht, { intervalMs: 50, concurrency: 2, onCycle: (o) => cycles.push(o) });
    for (let i = 0; i < 6; i++) republisher.add(makePacket(Keypair.generate()));
    republisher.start();
    republisher.start(); // idempotent
    for (let i = 0; i < 400 && cycles.length < 2; i++) await sleep(25);
    expect(cycles.length).toBeGreaterThanOrEqual(2);
    expect(cycles[0]).toHaveLength(6);
    expect(maxInFlight).toBe(2);
    await republisher.stop();
    const puts = dht.puts.length;
    await sleep(150);
    expect(dht.puts.length).toBe(puts);
    expect(republisher.running).toBe(false);
  });

  it('refuses bad options', () => {
    const client = new Client({ dht: new FakeDht(), relays: [] });
    expect(() => new Republisher({ client, intervalMs: 0 })).toThrowError(/intervalMs/);
    expect(() => new Republisher({ client, concurrency: 1.5 })).toThrowError(/concurrency/);
  });

  it('relay-only: resolves through the relays and always re-PUTs', async () => {
    const relay = await FakeRelay.start('v7');
    cleanup.push(() => relay.close());
    const client = new Client({ dht: null, relays: [relay.url] });
    const republisher = new Republisher({ client });
    cleanup.push(async () => { await republisher.stop(); await client.close(); });
    const packet = makePacket(Keypair.generate());
    republisher.add(packet);
    const [outcome] = await republisher.runOnce();
    expect(outcome?.action).toBe('republished');
    expect(relay.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });
});

/** Indices of live testnet nodes storing the packet of `target`. */
function holderIndices(testnet: Testnet, targetHex: string): number[] {
  return testnet.liveIndices().filter((i) => testnet.node(i)?._values.get(targetHex) !== undefined);
}

describe('Republisher under churn (40-node testnet)', () => {
  const TIMEOUT_MS = 400;
  let testnet: Testnet;
  const dhts: DhtClient[] = [];
  const startDht = async (): Promise<DhtClient> => {
    const dht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    dhts.push(dht);
    return dht;
  };
  beforeAll(async () => {
    testnet = await Testnet.create(40);
  });
  afterAll(async () => {
    await Promise.all(dhts.map((d) => d.destroy()));
    await testnet?.destroy();
  });

  it('right after a publish, enough nodes hold it: the cycle skips the put', async () => {
    const dht = await startDht();
    const client = new Client({ dht, relays: [] });
    const republisher = new Republisher({ client });
    cleanup.push(async () => { await republisher.stop(); await client.close(); });
    const packet = makePacket(Keypair.generate());
    const published = await client.publish(packet);
    expect(published.storedOn).toBeGreaterThanOrEqual(8);
    republisher.add(packet);
    const [outcome] = await republisher.runOnce();
    expect(outcome?.action).toBe('skipped');
    expect(outcome?.holders).toBeGreaterThanOrEqual(8);
  });

  it('a packet whose holders all died is gone, and is back after one republish cycle', async () => {
    // Only testnet nodes and this test's clients may store the packet: earlier clients leave.
    await Promise.all(dhts.splice(0).map((d) => d.destroy()));
    const publisherDht = await startDht();
    const client = new Client({ dht: publisherDht, relays: [] });
    const outcomes: RepublishOutcome[] = [];
    const republisher = new Republisher({ client, intervalMs: 200, onRepublished: (_k, o) => outcomes.push(o) });
    cleanup.push(async () => { await republisher.stop(); await client.close(); });
    const keypair = Keypair.generate();
    const packet = makePacket(keypair);
    const targetHex = Buffer.from(keypair.publicKey.dhtTarget()).toString('hex');
    await client.publish(packet);
    await client.settled(); // the DHT puts that went on after the publish returned (its quorum) are done
    republisher.add(packet);

    // Churn: every testnet node that stored the packet leaves; fresh nodes join.
    const holders = holderIndices(testnet, targetHex);
    expect(holders.length).toBeGreaterThanOrEqual(8);
    for (const index of holders) await testnet.killAt(index);
    await testnet.addNodes(holders.length);
    expect(holderIndices(testnet, targetHex)).toEqual([]);

    // Without a republish, a fresh client cannot find it.
    const before = new Client({ dht: await startDht(), relays: [] });
    cleanup.push(() => before.close());
    expect(await before.resolve(keypair.publicKey, 'NetworkOnly')).toBeNull();

    // One cycle of the running republisher (short interval) puts it back.
    republisher.start();
    for (let i = 0; i < 600 && outcomes.length === 0; i++) await sleep(25);
    await republisher.stop();
    expect(outcomes[0]).toMatchObject({ key: keypair.publicKey.z32, action: 'republished', holders: 0 });
    expect(outcomes[0]?.result?.storedOn).toBeGreaterThanOrEqual(8);
    expect(holderIndices(testnet, targetHex).length).toBeGreaterThanOrEqual(8);

    const after = new Client({ dht: await startDht(), relays: [] });
    cleanup.push(() => after.close());
    const found = await after.resolve(keypair.publicKey, 'NetworkOnly');
    expect(found?.packet.isSameAs(packet)).toBe(true);
    expect(found?.source).toBe('dht');
  });
});
