/**
 * `npm run bench -- dht-real`: the DHT under internet-like conditions, on loopback.
 *
 * Lab: 300 bittorrent-dht nodes (one process) + 40 libtorrent nodes (Debian's python3-libtorrent,
 * test/natlab/lt-dht-nodes.py); every node has a one-way access delay drawn uniformly from 0–50 ms and
 * our clients 25 ms, so client↔node round trips are 50–150 ms (mean 100); 2 % of datagrams are lost
 * in each direction (bench/dht-link.ts: user space, this kernel has no netem). Then 20 % of all
 * nodes die after the routing tables filled, so their entries stay in every table.
 *
 * Measured, for the product (DhtClient: adaptive soft timeouts, publish quorum, KRPC timeout 2 s as
 * the reference) and, in the same run on the same network, the previous paths (bench/dht-baseline.ts,
 * KRPC timeout 1 s as in bench/dht.bench.ts): publish (cold: lookup + put) until the call returns,
 * and resolve of keys never looked up by that resolver: first valid answer and most-recent
 * (the whole lookup). Figures in ms and in round trips (the client's mean RTT to the live nodes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type DHT from 'bittorrent-dht';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { destroyDhtNode, startDhtNode } from '../sidecar/src/dht/dht-node.ts';
import { putArguments } from '../sidecar/src/dht/bep44.ts';
import { ItemLookup } from '../sidecar/src/dht/item-lookup.ts';
import { lookupAndPut, PUBLISH_QUORUM } from '../sidecar/src/dht/publish-query.ts';
import { RttEstimator } from '../sidecar/src/dht/rtt-estimator.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { baselineLookup, baselinePublish } from './dht-baseline.ts';
import { LinkModel } from './dht-link.ts';
import { QueryTrace, type TraceSummary } from './dht-trace.ts';
import { fmt, quantile } from './measure.ts';

const BT_NODES = Number(process.env.DHT_REAL_NODES ?? 300);
const LT_NODES = Number(process.env.DHT_REAL_LT_NODES ?? 40);
const DEAD = 0.2;
const LOSS = 0.02;
const SAMPLES = Number(process.env.DHT_REAL_SAMPLES ?? 15);
/** `narrow`: only the product's narrow-client rows (a quick look at one change; no baseline, no warm rows). */
const FOCUS = process.env.DHT_REAL_FOCUS === 'narrow';
/** Prints where the round trips of each narrow publish go (bench/dht-trace.ts). */
const TRACE = process.env.DHT_REAL_TRACE === '1';
/** Fresh clients whose first publish is measured (with and without the bootstrap's RTT samples). */
const FIRST = Number(process.env.DHT_REAL_FIRST ?? 5);
/** Extra narrow-publish rows with these eager slacks (publish-query.ts `eagerSlack`), e.g. `0,8`. */
const SLACKS = (process.env.DHT_REAL_SLACKS ?? '').split(',').filter((x) => x !== '').map(Number);
const CLIENT_ONE_WAY_MS = 25;
const NODE_ONE_WAY_MS = 50;
const BASELINE_TIMEOUT_MS = 1000;
const PRODUCT_TIMEOUT_MS = 2000;
const PYTHON = '/usr/bin/python3';
const LT_SCRIPT = fileURLToPath(new URL('../test/natlab/lt-dht-nodes.py', import.meta.url));

function waitForLine(child: ChildProcess, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { cleanup(); reject(new Error(`libtorrent group: no ${re} within ${ms} ms: ${out.slice(-300)}`)); }, ms);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = out.match(re);
      if (m) { cleanup(); resolve(m); }
    };
    const onExit = (): void => { cleanup(); reject(new Error(`libtorrent group exited: ${out.slice(-300)}`)); };
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

interface Row { label: string; samples: number[]; note?: string }

export async function run(): Promise<void> {
  const model = new LinkModel(LOSS);
  const nodeDelay = (): number => NODE_ONE_WAY_MS * model.random();
  const started = performance.now();
  const testnet = await Testnet.create(BT_NODES, { timeoutMs: 1000, createSocket: () => model.socket(nodeDelay) });
  let lt: ChildProcess | null = null;
  const clients: DhtClient[] = [];
  const raws: DHT[] = [];
  try {
    // libtorrent nodes join: they know a few bittorrent-dht nodes, and every bittorrent-dht node pings 3 of them.
    lt = spawn(PYTHON, [LT_SCRIPT, JSON.stringify({ count: LT_NODES, host: '127.0.0.1', bootstrap: testnet.addresses().slice(0, 20), min_table: 8, ready_seconds: 20 })], { stdio: ['pipe', 'pipe', 'inherit'] });
    const ports = JSON.parse((await waitForLine(lt, /\{"ports": (\[[^\]]*\])\}/, 20_000))[1]!) as number[];
    for (const port of ports) model.setDelay(port, nodeDelay(), true);
    await waitForLine(lt, /\{"ready": \[[^\]]*\]\}/, 30_000);
    for (const i of testnet.liveIndices()) {
      for (let j = 0; j < 3; j++) testnet.node(i)!.addNode({ host: '127.0.0.1', port: ports[Math.floor(model.random() * ports.length)]! });
    }
    await new Promise((r) => setTimeout(r, 1000));

    // 20 % of all nodes die (bittorrent-dht ones; the first 8, the clients' bootstrap, are spared),
    // then more, a few at a time, until 20 % of the live nodes' routing entries are dead.
    const allPorts = new Set<number>();
    for (const i of testnet.liveIndices()) allPorts.add(testnet.node(i)!.address().port);
    const ltSet = new Set(ports);
    let entries = 0;
    let dead = 0;
    let ltEntries = 0;
    const census = (): void => {
      const live = new Set(testnet.liveIndices().map((i) => testnet.node(i)!.address().port));
      entries = dead = ltEntries = 0;
      for (const i of testnet.liveIndices()) {
        for (const n of testnet.node(i)!.nodes.toArray()) {
          entries++;
          if (allPorts.has(n.port) && !live.has(n.port)) dead++;
          if (ltSet.has(n.port)) ltEntries++;
        }
      }
    };
    let killCount = Math.round(DEAD * (BT_NODES + LT_NODES));
    await testnet.kill(killCount, { spare: 8 });
    census();
    while (dead < DEAD * entries) {
      await testnet.kill(5, { spare: 8 });
      killCount += 5;
      census();
    }
    const liveDelays = [...testnet.liveIndices().map((i) => model.delayOf(testnet.node(i)!.address().port)), ...ports.map((p) => model.delayOf(p))];
    const rtt = liveDelays.reduce((sum, d) => sum + 2 * (CLIENT_ONE_WAY_MS + d), 0) / liveDelays.length;
    console.log(`lab: ${BT_NODES} bittorrent-dht + ${ports.length} libtorrent nodes ready in ${fmt((performance.now() - started) / 1000, 1)} s; ${killCount} killed; ` +
      `routing tables of the live nodes: ${entries} entries, ${fmt((100 * dead) / entries, 1)} % dead, ${fmt((100 * ltEntries) / entries, 1)} % libtorrent`);
    console.log(`links: client RTT 50–150 ms (mean to live nodes ${fmt(rtt, 1)} ms = 1 RTT below), loss ${LOSS * 100} % per datagram and direction`);

    model.enabled = true;
    const clientSocket = (): ReturnType<LinkModel['socket']> => model.socket(() => CLIENT_ONE_WAY_MS);
    const product = async (): Promise<DhtClient> => {
      const c = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: PRODUCT_TIMEOUT_MS, socket: clientSocket() });
      clients.push(c);
      return c;
    };
    const baseline = async (): Promise<DHT> => {
      const node = await startDhtNode({ bootstrap: testnet.bootstrap, host: '127.0.0.1', port: 0, timeoutMs: BASELINE_TIMEOUT_MS, socket: clientSocket() });
      raws.push(node);
      return node;
    };
    const publisher = await product();
    const basePublisher = await baseline();

    const pub: number[] = [];
    const pubBase: number[] = [];
    const storedAtReturn: number[] = [];
    const storedFinal: Promise<number>[] = [];
    const storedBase: number[] = [];
    const packets: SignedPacket[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const packet = SignedPacket.sign(Keypair.generate(), [{ type: 'A', name: '@', ttl: 300, address: '10.9.8.7' }]);
      const other = SignedPacket.sign(Keypair.generate(), [{ type: 'A', name: '@', ttl: 300, address: '10.9.8.6' }]);
      let t = performance.now();
      const result = await publisher.put(packet);
      pub.push(performance.now() - t);
      storedAtReturn.push(result.storedOn);
      storedFinal.push(result.settled ?? Promise.resolve(result.storedOn));
      packets.push(packet);
      if (FOCUS) continue;
      t = performance.now();
      storedBase.push(await baselinePublish(basePublisher._rpc, other, 5 * BASELINE_TIMEOUT_MS));
      pubBase.push(performance.now() - t);
    }
    const finals = await Promise.all(storedFinal);

    const resolver = await product();
    const baseResolver = await baseline();
    const first: number[] = [];
    const recent: number[] = [];
    const firstBase: number[] = [];
    const recentBase: number[] = [];
    let found = 0;
    let foundBase = 0;
    for (const packet of FOCUS ? [] : packets) {
      let t = performance.now();
      let firstAt: number | null = null;
      const got = await resolver.get(packet.publicKey, { mostRecent: true, onPacket: () => { firstAt ??= performance.now() - t; } });
      recent.push(performance.now() - t);
      if (firstAt !== null) first.push(firstAt);
      if (got.packet?.isSameAs(packet)) found++;
      t = performance.now();
      const base = await baselineLookup(baseResolver._rpc, packet.publicKey, 5 * BASELINE_TIMEOUT_MS);
      recentBase.push(base.totalMs);
      if (base.firstMs !== null) firstBase.push(base.firstMs);
      if (base.best?.isSameAs(packet)) foundBase++;
    }

    const rows: Row[] = [
      { label: `publish, product (returns at quorum ${PUBLISH_QUORUM})`, samples: pub, note: `stored at return ${Math.min(...storedAtReturn)}–${Math.max(...storedAtReturn)}, finally ${Math.min(...finals)}–${Math.max(...finals)}` },
      { label: 'publish, baseline (whole lookup, waits for all)', samples: pubBase, note: `stored ${Math.min(...storedBase)}–${Math.max(...storedBase)}` },
      { label: 'resolve first answer, product', samples: first, note: `found ${found}/${packets.length}` },
      { label: 'resolve first answer, baseline', samples: firstBase, note: `found ${foundBase}/${packets.length}` },
      { label: 'resolve most recent, product', samples: recent },
      { label: 'resolve most recent, baseline', samples: recentBase },
    ];
    const table = (list: Row[]): void => {
      console.log(`| ${'operation'.padEnd(50)} | p50 ms | p95 ms | p50 RTT | p95 RTT | notes |`);
      console.log(`|${'-'.repeat(52)}|-------:|-------:|--------:|--------:|-------|`);
      for (const row of list) {
        const p50 = quantile(row.samples, 0.5);
        const p95 = quantile(row.samples, 0.95);
        console.log(`| ${row.label.padEnd(50)} | ${fmt(p50).padStart(6)} | ${fmt(p95).padStart(6)} | ${fmt(p50 / rtt, 1).padStart(7)} | ${fmt(p95 / rtt, 1).padStart(7)} | n=${row.samples.length}${row.note ? `, ${row.note}` : ''} |`);
      }
    };
    if (!FOCUS) {
      console.log('\nwarm client (bootstrapped, its routing table filled by its own lookups):');
      table(rows);
    }
    const ratio = (a: number[], b: number[]): string => `${fmt(quantile(b, 0.5) / quantile(a, 0.5), 1)}× at p50, ${fmt(quantile(b, 0.95) / quantile(a, 0.95), 1)}× at p95`;
    const goal = (label: string, value: number, limit: number): string => `${label} p50 ${fmt(value / rtt, 1)} RTT (goal ≤ ${limit}: ${value / rtt <= limit ? 'met' : 'MISSED'})`;
    console.log(`client routing tables: publisher ${publisher.nodeCount}, resolver ${resolver.nodeCount} entries (of ${testnet.size + ports.length} live nodes)`);

    // The same from a client that knows only 8 random nodes (a fresh node each time, so each lookup
    // walks several hops as on the real DHT, where a table holds a tiny part of the network). The
    // product's lookups (what DhtClient.get/put run) share one RTT estimator, as one sidecar would.
    const narrow = async (timeoutMs: number): Promise<DHT> => {
      const node = await startDhtNode({ bootstrap: [], host: '127.0.0.1', port: 0, timeoutMs, socket: clientSocket() });
      raws.push(node);
      const live = testnet.liveIndices();
      for (let j = 0; j < 8; j++) node.addNode({ host: '127.0.0.1', port: testnet.node(live[Math.floor(model.random() * live.length)]!)!.address().port });
      await new Promise((r) => setTimeout(r, 600));
      return node;
    };
    const sharedRtt = new RttEstimator({ maxMs: PRODUCT_TIMEOUT_MS });
    const nPub: number[] = [];
    const nPubBase: number[] = [];
    const nFirst: number[] = [];
    const nRecent: number[] = [];
    const nFirstBase: number[] = [];
    const nRecentBase: number[] = [];
    const tables: number[] = [];
    const traces: TraceSummary[] = [];
    const knownIds = new Map<number, Buffer>();
    for (const i of testnet.liveIndices()) knownIds.set(testnet.node(i)!.address().port, testnet.node(i)!.nodeId);
    const livePorts = new Set([...knownIds.keys(), ...ports]);
    /** One publish from a fresh narrow client (lookup + put until the quorum), ms; traced with DHT_REAL_TRACE. */
    const narrowPublish = async (owner: Keypair, eagerSlack: number | undefined, traceList: TraceSummary[]): Promise<number> => {
      const fresh = SignedPacket.sign(owner, [{ type: 'A', name: '@', ttl: 300, address: '10.9.8.5' }]);
      const node = await narrow(PRODUCT_TIMEOUT_MS);
      const seeds = new Set(node.nodes.toArray().map((n) => n.port));
      const trace = TRACE ? new QueryTrace(node._rpc) : null;
      const t = performance.now();
      const { put } = lookupAndPut({
        rpc: node._rpc, key: fresh.publicKey, args: putArguments(fresh), rtt: sharedRtt, deadlineMs: 5 * PRODUCT_TIMEOUT_MS,
        ...(eagerSlack === undefined ? {} : { eagerSlack }),
      });
      await put.early;
      const ms = performance.now() - t;
      const quorumAt = trace?.now() ?? 0;
      await put.settled;
      if (trace !== null) {
        trace.restore();
        const s = trace.summary(Buffer.from(fresh.publicKey.dhtTarget()), livePorts, knownIds, seeds, quorumAt);
        traceList.push(s);
        console.log(`trace${eagerSlack === undefined ? '' : ` (slack ${eagerSlack})`}: quorum ${fmt(s.quorum)} ms, depth ${s.depth}, 10 closest known ${fmt(s.known10)} answered ${fmt(s.answered10)}, ` +
          `dead closer asked ${s.deadAsked} (last at ${fmt(s.lastDeadAskedAt)}), 10th put ack ${fmt(s.put10)}, ${s.found10} of the true 10 closest found, gets ${s.gets}, puts ${s.puts}, token→put ${fmt(s.putLag)} ms`);
      }
      await destroyDhtNode(node);
      return ms;
    };
    const variantPub = new Map(SLACKS.map((slack) => [slack, [] as number[]]));
    const variantTraces = new Map(SLACKS.map((slack) => [slack, [] as TraceSummary[]]));
    for (const packet of packets) {
      let node = await narrow(PRODUCT_TIMEOUT_MS);
      tables.push(node.nodes.count());
      let t = performance.now();
      let firstAt: number | null = null;
      const lookup = new ItemLookup({ rpc: node._rpc, key: packet.publicKey, rtt: sharedRtt, deadlineMs: 5 * PRODUCT_TIMEOUT_MS, onPacket: () => { firstAt ??= performance.now() - t; } });
      await lookup.start().finished;
      nRecent.push(performance.now() - t);
      if (firstAt !== null) nFirst.push(firstAt);
      await destroyDhtNode(node);

      if (!FOCUS) {
        node = await narrow(BASELINE_TIMEOUT_MS);
        const base = await baselineLookup(node._rpc, packet.publicKey, 5 * BASELINE_TIMEOUT_MS);
        nRecentBase.push(base.totalMs);
        if (base.firstMs !== null) nFirstBase.push(base.firstMs);
        await destroyDhtNode(node);
      }

      // Variants publish to the same key (newer packets), so that they meet the same neighbourhood.
      const owner = Keypair.generate();
      nPub.push(await narrowPublish(owner, undefined, traces));
      for (const slack of SLACKS) variantPub.get(slack)!.push(await narrowPublish(owner, slack, variantTraces.get(slack)!));

      if (FOCUS) continue;
      node = await narrow(BASELINE_TIMEOUT_MS);
      const other = SignedPacket.sign(Keypair.generate(), [{ type: 'A', name: '@', ttl: 300, address: '10.9.8.4' }]);
      t = performance.now();
      await baselinePublish(node._rpc, other, 5 * BASELINE_TIMEOUT_MS);
      nPubBase.push(performance.now() - t);
      await destroyDhtNode(node);
    }
    // DHT_REAL_FOCUS=narrow measures no baseline: its rows and ratios are left out, not printed empty.
    const narrowRows: Row[] = [
      { label: 'publish, product', samples: nPub },
      ...SLACKS.map((slack) => ({ label: `publish, product, eager slack ${slack}`, samples: variantPub.get(slack)! })),
      { label: 'publish, baseline', samples: nPubBase },
      { label: 'resolve first answer, product', samples: nFirst },
      { label: 'resolve first answer, baseline', samples: nFirstBase },
      { label: 'resolve most recent, product', samples: nRecent },
      { label: 'resolve most recent, baseline', samples: nRecentBase },
    ].filter((row) => row.samples.length > 0);
    const traceMeans = (label: string, list: TraceSummary[]): void => {
      if (list.length === 0) return;
      const mean = (f: (s: TraceSummary) => number): string => fmt(list.reduce((sum, s) => sum + f(s), 0) / list.length / rtt, 2);
      console.log(`trace means (${label}), in RTT: quorum ${mean((s) => s.quorum)}, 10 closest known ${mean((s) => s.known10)}, answered ${mean((s) => s.answered10)}, ` +
        `last dead closer asked ${mean((s) => s.lastDeadAskedAt)}, 10th put ack ${mean((s) => s.put10)}, token→put ${mean((s) => s.putLag)}; depth ${fmt(list.reduce((sum, s) => sum + s.depth, 0) / list.length, 2)} hops, ` +
        `${fmt(list.reduce((sum, s) => sum + s.deadAsked, 0) / list.length, 2)} dead closer asked, ${fmt(list.reduce((sum, s) => sum + s.puts, 0) / list.length, 1)} puts`);
    };
    traceMeans('product', traces);
    for (const [slack, list] of variantTraces) traceMeans(`eager slack ${slack}`, list);
    console.log(`\nfrom a client that knows ${Math.min(...tables)}–${Math.max(...tables)} nodes:`);
    table(narrowRows);
    if (!FOCUS) console.log(`product vs baseline: publish ${ratio(nPub, nPubBase)}; first answer ${ratio(nFirst, nFirstBase)}; most recent ${ratio(nRecent, nRecentBase)}`);
    console.log(`goals (8-node table): ${goal('cold resolve (first answer)', quantile(nFirst, 0.5), 3)}; ${goal('publish', quantile(nPub, 0.5), 4)}`);

    if (!FOCUS) {
      console.log(`\nproduct vs baseline (warm client): publish ${ratio(pub, pubBase)}; first answer ${ratio(first, firstBase)}; most recent ${ratio(recent, recentBase)}`);
      console.log(`goals (warm client): ${goal('cold resolve (first answer)', quantile(first, 0.5), 3)}; ${goal('publish', quantile(pub, 0.5), 4)}`);
    }
    // The first publish of a client that just bootstrapped: DhtClient takes the bootstrap's round
    // trips as its first RTT samples; the same lookup and put with an estimator that has no sample
    // yet waits the 1 s initial RTO on each dead node it meets. Same key for both, each time.
    const firstSeeded: number[] = [];
    const firstEmpty: number[] = [];
    for (let i = 0; i < FIRST; i++) {
      const owner = Keypair.generate();
      const client = await product();
      let packet = SignedPacket.sign(owner, [{ type: 'A', name: '@', ttl: 300, address: '10.9.8.3' }]);
      let t = performance.now();
      const result = await client.put(packet);
      firstSeeded.push(performance.now() - t);
      await result.settled;
      await client.destroy();
      const node = await startDhtNode({ bootstrap: testnet.bootstrap, host: '127.0.0.1', port: 0, timeoutMs: PRODUCT_TIMEOUT_MS, socket: clientSocket() });
      raws.push(node);
      packet = SignedPacket.sign(owner, [{ type: 'A', name: '@', ttl: 300, address: '10.9.8.3' }]);
      t = performance.now();
      const { put } = lookupAndPut({ rpc: node._rpc, key: owner.publicKey, args: putArguments(packet), rtt: new RttEstimator({ maxMs: PRODUCT_TIMEOUT_MS }), deadlineMs: 5 * PRODUCT_TIMEOUT_MS });
      await put.early;
      firstEmpty.push(performance.now() - t);
      await put.settled;
      await destroyDhtNode(node);
    }
    if (FIRST > 0) {
      console.log(`\nfirst publish of a freshly bootstrapped client (n=${FIRST}): p50 ${fmt(quantile(firstSeeded, 0.5))} ms / max ${fmt(Math.max(...firstSeeded))} ms with the bootstrap's RTT samples, ` +
        `p50 ${fmt(quantile(firstEmpty, 0.5))} ms / max ${fmt(Math.max(...firstEmpty))} ms from the 1 s initial RTO`);
    }
    console.log(`datagrams: ${model.sent} sent through the link model, ${model.dropped} dropped; run took ${fmt((performance.now() - started) / 1000, 1)} s`);
  } finally {
    await Promise.all(clients.map((c) => c.destroy()));
    await Promise.all(raws.map(destroyDhtNode));
    await testnet.destroy();
    if (lt !== null && lt.exitCode === null) {
      lt.stdin?.end();
      lt.kill('SIGTERM');
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
