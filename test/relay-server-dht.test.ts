/**
 * Relays on a real local DHT testnet (bittorrent-dht nodes on 127.0.0.1): PUT through relay A, GET
 * through relay B (its own store and DHT node), the relay client round trip, restart persistence,
 * popular-record republishing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { RelayClient } from '../sidecar/src/client/relay-client.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { makePacket } from './relay-server-helpers.ts';

const TIMEOUT_MS = 500;

let testnet: Testnet;
let dhtA: DhtClient;
let dhtB: DhtClient;
let relayA: RunningRelay;
let relayB: RunningRelay;
let dirA: string;

beforeAll(async () => {
  testnet = await Testnet.create(20);
  dhtA = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
  dhtB = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
  dirA = mkdtempSync(join(tmpdir(), 'relay-dht-'));
  relayA = await startRelay({ port: 0, dht: dhtA, dataDir: dirA, rateLimit: null, dhtRateLimit: null, log: () => {} });
  relayB = await startRelay({ port: 0, dht: dhtB, rateLimit: null, dhtRateLimit: null, log: () => {} });
});

afterAll(async () => {
  await relayA?.close();
  await relayB?.close();
  await dhtA?.destroy();
  await dhtB?.destroy();
  await testnet?.destroy();
  rmSync(dirA, { recursive: true, force: true });
});

describe('relays on a local DHT', () => {
  it('PUT through relay A is found on the DHT by relay B', async () => {
    const packet = makePacket(Keypair.generate(), ['A @ 10.0.0.1 300', 'TXT _lobby "hello" 60']);
    const put = await fetch(`${relayA.url}/${packet.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload() });
    expect(put.status).toBe(204);
    expect(Number(put.headers.get('pkarr-dht-stored-nodes'))).toBeGreaterThan(0);
    expect(relayB.store.peek(packet.publicKey)).toBeNull();
    const got = await fetch(`${relayB.url}/${packet.publicKey.z32}`);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(packet.toRelayPayload()))).toBe(true);
    expect(relayB.store.peek(packet.publicKey)?.packet.isSameAs(packet)).toBe(true);
  });

  it('NetworkOnly on relay B sees an update published through relay A', async () => {
    const kp = Keypair.generate();
    const first = makePacket(kp, ['A @ 10.0.0.1 300']);
    expect((await fetch(`${relayA.url}/${kp.publicKey.z32}`, { method: 'PUT', body: first.toRelayPayload() })).status).toBe(204);
    expect((await fetch(`${relayB.url}/${kp.publicKey.z32}`)).status).toBe(200);
    const second = makePacket(kp, ['A @ 10.0.0.2 300']);
    expect((await fetch(`${relayA.url}/${kp.publicKey.z32}`, { method: 'PUT', body: second.toRelayPayload() })).status).toBe(204);
    // B's cached copy is still fresh: CacheFirst answers from the cache, NetworkOnly asks the DHT.
    const cached = Buffer.from(await (await fetch(`${relayB.url}/${kp.publicKey.z32}`)).arrayBuffer());
    expect(cached.equals(Buffer.from(first.toRelayPayload()))).toBe(true);
    const network = await fetch(`${relayB.url}/${kp.publicKey.z32}?policy=NetworkOnly`);
    expect(network.status).toBe(200);
    expect(Buffer.from(await network.arrayBuffer()).equals(Buffer.from(second.toRelayPayload()))).toBe(true);
  });

  it('an older packet is refused with 409 by the DHT even when the relay never saw the newer one', async () => {
    const kp = Keypair.generate();
    const newer = makePacket(kp, ['A @ 10.0.0.2 300'], nowMicros());
    const older = makePacket(kp, ['A @ 10.0.0.1 300'], newer.timestamp - 10_000_000n);
    expect((await fetch(`${relayA.url}/${kp.publicKey.z32}`, { method: 'PUT', body: newer.toRelayPayload() })).status).toBe(204);
    const res = await fetch(`${relayB.url}/${kp.publicKey.z32}`, { method: 'PUT', body: older.toRelayPayload() });
    expect(res.status).toBe(409);
  });

  it('round-trips with the relay client', async () => {
    const client = new RelayClient(relayA.url, { timeoutMs: 10_000 });
    const packet = makePacket(Keypair.generate(), ['AAAA @ ::1 300']);
    const put = await client.put(packet);
    expect(put.status).toBe(204);
    expect(put.storedOn).toBeGreaterThan(0);
    const got = await new RelayClient(relayB.url, { timeoutMs: 10_000 }).get(packet.publicKey);
    expect(got.status).toBe(200);
    expect(got.packet?.isSameAs(packet)).toBe(true);
    const notModified = await client.get(packet.publicKey, { floor: packet.timestamp });
    expect(notModified.packet).toBeNull();
  });

  it('keeps acknowledged packets across a restart (served with CacheOnly and no DHT)', async () => {
    const packet = makePacket(Keypair.generate());
    expect((await fetch(`${relayA.url}/${packet.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload() })).status).toBe(204);
    await relayA.close();
    const restarted = await startRelay({ port: 0, dht: null, dataDir: dirA, rateLimit: null, dhtRateLimit: null, log: () => {} });
    try {
      const res = await fetch(`${restarted.url}/${packet.publicKey.z32}?policy=CacheOnly`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(packet.toRelayPayload()))).toBe(true);
      expect((await fetch(`${restarted.url}/${packet.publicKey.z32}`)).status).toBe(200);
    } finally {
      await restarted.close();
    }
    relayA = await startRelay({ port: 0, dht: dhtA, dataDir: dirA, rateLimit: null, dhtRateLimit: null, log: () => {} });
  });

  it('republishes a popular, stale record and adopts newer DHT packets', async () => {
    const relay = await startRelay({
      port: 0, dht: dhtB, rateLimit: null, dhtRateLimit: null, log: () => {},
      republishPopular: { intervalMs: 3_600_000, minHits: 2, staleAfterMs: 60_000, minHolders: 1000 },
    });
    try {
      const kp = Keypair.generate();
      const packet = makePacket(kp, ['A @ 10.9.9.9 300']);
      // Known to the relay, last seen 2 minutes ago, not on the DHT at all.
      relay.store.put(packet.withLastSeen(nowMicros() - 120_000_000n));
      for (let i = 0; i < 2; i += 1) expect((await fetch(`${relay.url}/${kp.publicKey.z32}?policy=CacheOnly`)).status).toBe(200);
      const got = await dhtA.get(kp.publicKey, { mostRecent: true });
      expect(got.packet).toBeNull();
      const ticked = await tickRepublisher(relay);
      expect(ticked).toBe(1);
      expect(relay.stats.republished).toBe(1);
      const after = await dhtA.get(kp.publicKey, { mostRecent: true });
      expect(after.packet?.isSameAs(packet)).toBe(true);
      expect(relay.store.peek(kp.publicKey)!.packet.lastSeen).toBeGreaterThan(nowMicros() - 60_000_000n);

      // A newer packet on the DHT is adopted instead of re-putting the stale one.
      const kp2 = Keypair.generate();
      const stale = makePacket(kp2, ['A @ 10.1.1.1 300'], nowMicros() - 5_000_000n);
      const newer = makePacket(kp2, ['A @ 10.2.2.2 300']);
      relay.store.put(stale.withLastSeen(nowMicros() - 120_000_000n));
      await dhtA.put(newer);
      for (let i = 0; i < 2; i += 1) expect((await fetch(`${relay.url}/${kp2.publicKey.z32}?policy=CacheOnly`)).status).toBe(200);
      expect(await tickRepublisher(relay)).toBe(0);
      expect(relay.store.peek(kp2.publicKey)!.packet.isSameAs(newer)).toBe(true);
    } finally {
      await relay.close();
    }
  });
});

/** Runs one republisher round through the relay's test hook. */
async function tickRepublisher(relay: RunningRelay): Promise<number> {
  if (relay.republishNow === undefined) throw new Error('relay has no republisher');
  return relay.republishNow();
}
