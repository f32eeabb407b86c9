/** Where `pkarr-sidecar dns` gets packets (dns/client-source.ts): cache, dedupe, quotas, global bounds. */
import { describe, expect, it } from 'vitest';
import type { Client } from '../sidecar/src/client/client.ts';
import { PacketCache } from '../sidecar/src/client/packet-cache.ts';
import { Keypair, type PublicKey } from '../sidecar/src/core/keys.ts';
import type { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { answerDnsMessage, STALE_TTL } from '../sidecar/src/dns/answer.ts';
import { ClientPacketSource } from '../sidecar/src/dns/client-source.ts';
import dnsPacket from 'dns-packet';
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

  it('serves an expired cached packet stale (RFC 8767) when the network has nothing, with TTLs of 30 s', async () => {
    const kp = Keypair.generate();
    const fake = fakeClient(new Map());
    const expired = makePacket(kp, ['A @ 10.0.0.1 3600']).withLastSeen(nowMicros() - 100_000_000_000n); // seen 100,000 s ago
    const recent = makePacket(kp, ['A @ 10.0.0.2 60']).withLastSeen(nowMicros() - 400_000_000n); // 400 s ago: expired (TTL 60 → 300)
    fake.client.cache.put(expired);
    const source = new ClientPacketSource(fake.client);
    const old = source.lookup(kp.publicKey, () => 0);
    await settle();
    fake.release();
    expect((await old).kind).toBe('unresolved'); // older than a day: not served
    const other = fakeClient(new Map());
    other.client.cache.put(recent);
    const staleSource = new ClientPacketSource(other.client);
    const pending = staleSource.lookup(kp.publicKey, () => 0);
    await settle();
    other.release();
    const got = await pending;
    expect(got).toMatchObject({ kind: 'found', stale: true });
    expect((await staleSource.lookup(kp.publicKey, () => 0))).toMatchObject({ kind: 'found', stale: true }); // remembered, no lookup
    expect(other.resolves()).toBe(1);
    const env = { lookup: async () => got, forward: null, tlds: new Set(['key']), minTtl: 300, maxTtl: 86_400, log: () => {} };
    const query = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: kp.publicKey.z32 }] });
    const outcome = await answerDnsMessage(query, env, { maxBytes: 512, minimalAny: true });
    expect(outcome.kind).toBe('reply');
    if (outcome.kind !== 'reply') return;
    expect(dnsPacket.decode(outcome.message).answers).toMatchObject([{ data: '10.0.0.2', ttl: STALE_TTL }]);
    expect(outcome.maxAge).toBe(STALE_TTL);
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
