/**
 * DHT adapter on a local 50-node testnet (loopback, one process, so every node shares the 2 cores):
 * publish and cold-resolve latency, then resolve with 20% of the nodes dead next to bittorrent-dht's
 * own `get` (cache:false) on the same network as the baseline. Goals (issue): publish < 100 ms p50,
 * resolve < 50 ms p50.
 */
import type DHT from 'bittorrent-dht';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { destroyDhtNode, startDhtNode } from '../sidecar/src/dht/dht-node.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { fmt, quantile } from './measure.ts';

const NODES = 50;
const SAMPLES = 30;
const DEAD_SAMPLES = 12;
/** KRPC timeout for every client here; dead nodes cost about 1.0–1.25× this per lookup round. */
const TIMEOUT_MS = 1000;

function line(label: string, samples: number[], goal?: number): string {
  const p50 = quantile(samples, 0.5);
  const verdict = goal === undefined ? '' : p50 < goal ? `  (goal < ${goal} ms: met)` : `  (goal < ${goal} ms: MISSED)`;
  return `${label.padEnd(46)} p50 ${fmt(p50, 1).padStart(7)} ms  p95 ${fmt(quantile(samples, 0.95), 1).padStart(7)} ms  n=${samples.length}${verdict}`;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

function rawGet(node: DHT, target: Buffer): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    node.get(target, { cache: false }, (err, value) => (err ? reject(err) : resolve(value?.v ?? null)));
  });
}

export async function run(): Promise<void> {
  const [bootMs, testnet] = await timed(() => Testnet.create(NODES));
  console.log(`testnet: ${NODES} nodes ready in ${fmt(bootMs)} ms; client KRPC timeout ${TIMEOUT_MS} ms`);
  const clients: DhtClient[] = [];
  const start = async (): Promise<DhtClient> => {
    const client = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: TIMEOUT_MS });
    clients.push(client);
    return client;
  };
  let baseline: DHT | null = null;
  try {
    const publisher = await start();
    const keys = Array.from({ length: SAMPLES }, () => Keypair.generate());
    const packets = keys.map((k) => SignedPacket.sign(k, [{ type: 'A', name: '@', ttl: 300, address: '10.1.2.3' }]));

    const publish: number[] = [];
    const stored: number[] = [];
    for (const packet of packets) {
      const [ms, result] = await timed(() => publisher.put(packet));
      publish.push(ms);
      stored.push(result.storedOn);
    }
    console.log(line('publish (cold: lookup + put)', publish, 100) + `  stored on ${Math.min(...stored)}–${Math.max(...stored)}`);

    const republish: number[] = [];
    for (const packet of packets.slice(0, 15)) republish.push((await timed(() => publisher.put(packet)))[0]);
    console.log(line('republish same packet (cached tokens, 302s)', republish));

    const resolver = await start();
    const resolve: number[] = [];
    let found = 0;
    for (const key of keys) {
      const [ms, result] = await timed(() => resolver.get(key.publicKey));
      resolve.push(ms);
      if (result.packet !== null) found++;
    }
    console.log(line('resolve (distinct keys, early exit)', resolve, 50) + `  found ${found}/${keys.length}`);

    const full: number[] = [];
    for (const key of keys.slice(0, 15)) full.push((await timed(() => resolver.get(key.publicKey, { mostRecent: true })))[0]);
    console.log(line('resolve mostRecent (full lookup)', full));

    const missing: number[] = [];
    for (let i = 0; i < 15; i++) missing.push((await timed(() => resolver.get(Keypair.generate().publicKey)))[0]);
    console.log(line('resolve missing key', missing));

    // 20% of the nodes die; fresh resolvers (ours and the baseline) join the damaged network.
    const killed = await testnet.kill(NODES / 5);
    console.log(`killed ${killed.length} of ${NODES} nodes`);
    const deadResolver = await start();
    baseline = await startDhtNode({ bootstrap: testnet.bootstrap, host: '127.0.0.1', port: 0, timeoutMs: TIMEOUT_MS });
    const ours: number[] = [];
    const theirs: number[] = [];
    let oursFound = 0;
    let theirsFound = 0;
    const deadKeys = keys.slice(0, DEAD_SAMPLES);
    for (const key of deadKeys) {
      const [msOurs, result] = await timed(() => deadResolver.get(key.publicKey));
      ours.push(msOurs);
      if (result.packet !== null) oursFound++;
      const [msTheirs, value] = await timed(() => rawGet(baseline!, Buffer.from(key.publicKey.dhtTarget())));
      theirs.push(msTheirs);
      if (value !== null) theirsFound++;
    }
    console.log(line('resolve, 20% dead: DhtClient.get (early exit)', ours, 50) + `  found ${oursFound}/${deadKeys.length}`);
    console.log(line('resolve, 20% dead: bittorrent-dht get (baseline)', theirs) + `  found ${theirsFound}/${deadKeys.length}`);
    console.log(`  → DhtClient is ${fmt(quantile(theirs, 0.5) / quantile(ours, 0.5), 1)}× faster at p50, ${fmt(quantile(theirs, 0.95) / quantile(ours, 0.95), 1)}× at p95`);

    const deadPublish: number[] = [];
    for (let i = 0; i < 10; i++) {
      const packet = SignedPacket.sign(Keypair.generate(), [{ type: 'A', name: '@', ttl: 300, address: '10.1.2.4' }]);
      deadPublish.push((await timed(() => deadResolver.put(packet)))[0]);
    }
    console.log(line('publish, 20% dead (returns at the quorum)', deadPublish));
  } finally {
    await Promise.all(clients.map((c) => c.destroy()));
    if (baseline !== null) await destroyDhtNode(baseline);
    await testnet.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
