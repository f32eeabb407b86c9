/**
 * The pkarr client layer on loopback (one process, shared 2 cores), each figure next to a baseline
 * measured in the same run:
 * - RelayClient.get (verify + headers) vs a bare fetch of the same bytes from the same server;
 * - Client.resolve CacheFirst (cold) and NetworkOnly vs DhtClient.get / get(mostRecent) on a
 *   30-node testnet, and CacheFirst racing a local relay against the DHT;
 * - publishRecords (NetworkOnly resolve + put, the recommended update flow) vs a bare DhtClient.put;
 * - a cache hit.
 * The local relay shares the event loop with the 30 testnet nodes, so the raced figure is a
 * pessimistic one: its HTTP answer queues behind the DHT traffic of the same lookup.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '../sidecar/src/client/client.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import type { DnsRecord } from '../sidecar/src/core/records.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { RelayClient } from '../sidecar/src/client/relay-client.ts';
import { fmt, opsPerSecond, quantile } from './measure.ts';

const SAMPLES = 25;
const RECORDS: DnsRecord[] = [
  { type: 'A', name: '@', ttl: 300, address: '10.1.2.3' },
  { type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1 game=demo players=3/8'] },
];

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function row(label: string, samples: number[], baseline?: number[]): string {
  const p50 = quantile(samples, 0.5);
  const ratio = baseline === undefined ? '' : `  ×${fmt(p50 / quantile(baseline, 0.5), 2)} of baseline`;
  return `${label.padEnd(52)} p50 ${fmt(p50, 2).padStart(8)} ms  p95 ${fmt(quantile(samples, 0.95), 2).padStart(8)} ms${ratio}`;
}

async function relayFigures(): Promise<void> {
  const keypair = Keypair.generate();
  const payload = Buffer.from(SignedPacket.sign(keypair, RECORDS).toRelayPayload());
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/pkarr.org/relays#payload' }).end(payload); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const relay = new RelayClient(url);
    const bare: number[] = [];
    const client: number[] = [];
    for (let i = 0; i < 20; i++) { await fetch(`${url}/${keypair.publicKey.z32}`).then((r) => r.arrayBuffer()); await relay.get(keypair.publicKey); }
    for (let i = 0; i < 200; i++) {
      bare.push(await timed(() => fetch(`${url}/${keypair.publicKey.z32}`).then((r) => r.arrayBuffer())));
      client.push(await timed(() => relay.get(keypair.publicKey)));
    }
    console.log(row('relay GET: bare fetch (baseline)', bare));
    console.log(row('relay GET: RelayClient.get (verified packet)', client, bare));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function run(): Promise<void> {
  await relayFigures();

  const testnet = await Testnet.create(30);
  const dhts: DhtClient[] = [];
  const start = async (): Promise<DhtClient> => {
    const dht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 1000 });
    dhts.push(dht);
    return dht;
  };
  const payloads = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const body = payloads.get((req.url ?? '').slice(1).split('?')[0] ?? '');
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const publisherDht = await start();
    const publisher = new Client({ dht: publisherDht, relays: [] });
    const keys = Array.from({ length: SAMPLES }, () => Keypair.generate());
    const rawPut: number[] = [];
    const flow: number[] = [];
    const packets: SignedPacket[] = [];
    for (const key of keys) {
      rawPut.push(await timed(() => publisherDht.put(SignedPacket.sign(key, RECORDS))));
      let packet: SignedPacket | null = null;
      flow.push(await timed(async () => { packet = (await publisher.publishRecords(key, RECORDS)).packet; }));
      if (packet !== null) {
        packets.push(packet);
        payloads.set(key.publicKey.z32, Buffer.from((packet as SignedPacket).toRelayPayload()));
      }
    }
    console.log(row('publish: DhtClient.put (baseline)', rawPut));
    console.log(row('publish: Client.publishRecords (resolve + put)', flow, rawPut));

    const readerDht = await start();
    const rawGet: number[] = [];
    const rawFull: number[] = [];
    for (const key of keys) {
      rawGet.push(await timed(() => readerDht.get(key.publicKey)));
      rawFull.push(await timed(() => readerDht.get(key.publicKey, { mostRecent: true })));
    }
    const cold: number[] = [];
    const full: number[] = [];
    for (const key of keys) {
      const dhtOnly = new Client({ dht: readerDht, relays: [], cacheSize: 0 });
      cold.push(await timed(() => dhtOnly.resolve(key.publicKey)));
      full.push(await timed(() => dhtOnly.resolve(key.publicKey, 'NetworkOnly')));
      await dhtOnly.close();
    }
    console.log(row('resolve: DhtClient.get, first answer (baseline)', rawGet));
    console.log(row('resolve: Client CacheFirst, cold, DHT only', cold, rawGet));
    console.log(row('resolve: DhtClient.get mostRecent (baseline)', rawFull));
    console.log(row('resolve: Client NetworkOnly, DHT only', full, rawFull));

    const raced: number[] = [];
    for (const key of keys) {
      const both = new Client({ dht: readerDht, relays: [relayUrl], cacheSize: 0 });
      raced.push(await timed(() => both.resolve(key.publicKey)));
      await both.close();
    }
    console.log(row('resolve: Client CacheFirst, cold, DHT + local relay', raced, rawGet));

    const cached = new Client({ dht: readerDht, relays: [] });
    const first = keys[0];
    if (first !== undefined) {
      await cached.resolve(first.publicKey);
      let pending = 0;
      const hits = opsPerSecond(() => { pending++; void cached.resolve(first.publicKey).then(() => { pending--; }); }, 500);
      while (pending > 0) await new Promise((r) => setTimeout(r, 1));
      console.log(`${'resolve: cache hit (CacheFirst, fresh)'.padEnd(52)} ${fmt(hits)} ops/s`);
    }
    await cached.close();
    await publisher.close();
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all(dhts.map((d) => d.destroy()));
    await testnet.destroy();
  }
}
