/** Where `pkarr-sidecar dns` gets packets (dns/client-source.ts): cache, dedupe, quotas, global bounds. */
import { describe, expect, it } from 'vitest';
import type { Client } from '../sidecar/src/client/client.ts';
import { PacketCache } from '../sidecar/src/client/packet-cache.ts';
import { Keypair, type PublicKey } from '../sidecar/src/core/keys.ts';
import type { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { ClientPacketSource } from '../sidecar/src/dns/client-source.ts';
import { makePacket } from './relay-server-helpers.ts';

/** A Client double: a real PacketCache, and resolve() answering from `network` after `release()`. */
function fakeClient(network: Map<string, SignedPacket>) {
  const cache = new PacketCache();
  const waiting: (() => void)[] = [];
  let resolves = 0;
  const client = {
    cache,
    async resolve(key: PublicKey) {
      resolves += 1;
      await new Promise<void>((resolve) => waiting.push(resolve));
      const packet = network.get(key.z32);
      if (packet === undefined) return null;
      cache.put(packet);
      return { packet, source: 'dht' };
    },
  };
  return { client: client as unknown as Client, release: () => { for (const w of waiting.splice(0)) w(); }, resolves: () => resolves };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('ClientPacketSource', () => {
  it('shares one charged lookup between concurrent questions, then answers from the cache for free', async () => {
    const kp = Keypair.generate();
    const network = new Map([[kp.publicKey.z32, makePacket(kp)]]);
    const fake = fakeClient(network);
    const source = new ClientPacketSource(fake.client);
    let charged = 0;
    const charge = (): number => { charged += 1; return 0; };
    const both = [source.lookup(kp.publicKey, charge), source.lookup(kp.publicKey, charge)];
    await settle();
    fake.release();
    expect((await Promise.all(both)).map((r) => r.kind)).toEqual(['found', 'found']);
    expect([charged, fake.resolves()]).toEqual([1, 1]);
    expect((await source.lookup(kp.publicKey, charge)).kind).toBe('found');
    expect(charged).toBe(1);
  });

  it('a spent DHT quota is rate-limited; a key found nowhere is remembered for the negative TTL', async () => {
    const fake = fakeClient(new Map());
    let now = 1000;
    const source = new ClientPacketSource(fake.client, { negativeTtlMs: 30_000, now: () => now });
    const key = Keypair.generate().publicKey;
    expect(await source.lookup(key, () => 7)).toEqual({ kind: 'rate-limited', retryAfter: 7 });
    const first = source.lookup(key, () => 0);
    await settle();
    fake.release();
    expect((await first).kind).toBe('unresolved');
    expect((await source.lookup(key, () => 0)).kind).toBe('unresolved');
    expect(fake.resolves()).toBe(1); // remembered: no second lookup
    now += 30_001;
    const again = source.lookup(key, () => 0);
    await settle();
    fake.release();
    await again;
    expect(fake.resolves()).toBe(2);
  });

  it('runs at most maxLookups lookups at once, whoever asks', async () => {
    const fake = fakeClient(new Map());
    const source = new ClientPacketSource(fake.client, { maxLookups: 3 });
    const keys = Array.from({ length: 5 }, () => Keypair.generate().publicKey);
    const lookups = keys.map((k) => source.lookup(k, () => 0));
    await settle();
    expect(fake.resolves()).toBe(3);
    fake.release();
    const results = await Promise.all(lookups);
    expect(results.filter((r) => r.kind === 'unresolved' && r.reason === 'too many lookups running')).toHaveLength(2);
  });
});
