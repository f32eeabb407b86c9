/** The Client on a real local DHT (DhtClient + Testnet) together with fake relays. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { parseRecordText } from '../sidecar/src/core/record-text.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { FakeRelay, makePacket } from './client-helpers.ts';

const TIMEOUT_MS = 400;

describe('Client on a 30-node testnet with a v7 and a legacy relay', () => {
  let testnet: Testnet;
  let v7: FakeRelay;
  let legacy: FakeRelay;
  const dhts: DhtClient[] = [];
  const clients: Client[] = [];
  const newClient = async (relays: string[] = [v7.url, legacy.url]): Promise<Client> => {
    const dht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    dhts.push(dht);
    const client = new Client({ dht, relays, requestTimeoutMs: 2000 });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    testnet = await Testnet.create(30);
    v7 = await FakeRelay.start('v7');
    legacy = await FakeRelay.start('legacy');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(dhts.map((d) => d.destroy()));
    await v7?.close();
    await legacy?.close();
    await testnet?.destroy();
  });

  it('publish reaches the DHT and both relays; another client resolves it', async () => {
    const alice = await newClient();
    const bob = await newClient();
    const keypair = Keypair.generate();
    const { packet, result } = await alice.publishRecords(keypair, [parseRecordText('A @ 10.0.0.1 300')]);
    expect(result.dht?.ok).toBe(true);
    expect(result.dht?.storedOn).toBeGreaterThanOrEqual(8);
    expect(result.relays.map((r) => r.ok)).toEqual([true, true]);
    expect(result.storedOn).toBe(Math.max(result.dht?.storedOn ?? 0, v7.storedNodes, 1));

    const found = await bob.resolve(keypair.publicKey);
    expect(found?.packet.isSameAs(packet)).toBe(true);
    expect(['dht', 'relay']).toContain(found?.source);
    expect((await bob.resolve(keypair.publicKey))?.source).toBe('cache');
  });

  it('an update: CacheFirst keeps the fresh cached copy, NetworkOnly finds the new one', async () => {
    const alice = await newClient();
    const bob = await newClient();
    const keypair = Keypair.generate();
    const first = await alice.publishRecords(keypair, [parseRecordText('A @ 10.0.0.1 300')]);
    expect((await bob.resolve(keypair.publicKey))?.packet.isSameAs(first.packet)).toBe(true);
    const second = await alice.publishRecords(keypair, [parseRecordText('A @ 10.0.0.2 300')]);
    expect(second.packet.timestamp).toBeGreaterThan(first.packet.timestamp);
    expect((await bob.resolve(keypair.publicKey))?.packet.isSameAs(first.packet)).toBe(true);
    const fresh = await bob.resolve(keypair.publicKey, 'NetworkOnly');
    expect(fresh?.packet.isSameAs(second.packet)).toBe(true);
    expect((await bob.resolve(keypair.publicKey))?.packet.isSameAs(second.packet)).toBe(true);
    // Publishing the old packet again is refused from the cache, before the network.
    await expect(bob.publish(first.packet)).rejects.toMatchObject({ code: 'NOT_MOST_RECENT' });
  });

  it('NetworkOnly takes the most recent packet across the DHT and the relays', async () => {
    const client = await newClient();
    const keypair = Keypair.generate();
    const onDht = makePacket(keypair, ['A @ 10.0.0.1 300']);
    await client.publish(onDht);
    const relayOnly = makePacket(keypair, ['A @ 10.0.0.9 300']);
    legacy.store.set(keypair.publicKey.z32, relayOnly);
    const reader = await newClient();
    const found = await reader.resolve(keypair.publicKey, 'NetworkOnly');
    expect(found?.packet.isSameAs(relayOnly)).toBe(true);
    expect(found).toMatchObject({ source: 'relay', relay: legacy.url });
    // The next timestamp for this key is above what the relay holds.
    expect(await reader.nextTimestamp(keypair.publicKey)).toBeGreaterThan(relayOnly.timestamp);
  });

  it('a DHT-only client resolves a missing key to null and a published one to its packet', async () => {
    const client = await newClient([]);
    expect(await client.resolve(Keypair.generate().publicKey)).toBeNull();
    const keypair = Keypair.generate();
    const packet = makePacket(keypair);
    const result = await client.publish(packet);
    expect(result.relays).toEqual([]);
    const other = await newClient([]);
    expect((await other.resolve(keypair.publicKey, 'NetworkOnly'))?.packet.isSameAs(packet)).toBe(true);
  });
});
