/**
 * Relay cached-GET throughput with autocannon (10 connections), all measured in this run:
 *   (a) a bare node:http server answering the same payload bytes and headers (goal: relay ≥ 0.7×),
 *   (b) our relay serving the packet from its cache (rate limits off),
 *   (c) the pkarr@1.3.0 JS relay, which walks the DHT on every GET (goal: relay ≥ 50×).
 * Every server runs in its own child process (this file re-run with PKARR_RELAY_BENCH_ROLE set);
 * the DHT is a 20-node testnet in another child, autocannon runs here. The pkarr relay starts after
 * the packet was published, so its own DHT node does not hold the item and it really walks the DHT
 * (its per-request console.log is silenced). Two cores are shared by everything: figures are lower
 * bounds; the ratios are what matters.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { parseRecordText } from '../sidecar/src/core/record-text.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { httpDate } from '../sidecar/src/core/timestamp.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { startRelay } from '../sidecar/src/relay/relay-server.ts';
import { fmt } from './measure.ts';

const ROLE_ENV = 'PKARR_RELAY_BENCH_ROLE';
const CONNECTIONS = 10;
const WARMUP_S = 1;
const DURATION_S = 4;
/** Bare and relay are measured alternately this many times; the median counts (load is bursty here). */
const ROUNDS = 3;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;

/** Prints the ready line (one line of JSON) for the parent. */
function ready(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Child roles: each starts one server and runs until killed. */
async function runRole(role: string): Promise<void> {
  const bootstrap = (process.env.BENCH_BOOTSTRAP ?? '').split(',').filter((b) => b !== '');
  switch (role) {
    case 'testnet': {
      const testnet = await Testnet.create(20);
      ready({ bootstrap: testnet.bootstrap });
      return;
    }
    case 'relay': {
      const dht = await DhtClient.start({ bootstrap, host: '127.0.0.1', timeoutMs: 500 });
      const relay = await startRelay({ port: 0, dht, rateLimit: null, dhtRateLimit: null, log: () => {} });
      ready({ url: relay.url });
      return;
    }
    case 'bare': {
      const payload = Buffer.from(process.env.BENCH_PAYLOAD ?? '', 'hex');
      const headers = {
        'Content-Type': 'application/pkarr.org/relays#payload',
        'Cache-Control': 'public, max-age=300',
        'Last-Modified': httpDate(BigInt(Date.now()) * 1000n),
      };
      const server = createServer((_req, res) => {
        res.writeHead(200, headers);
        res.end(payload);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      ready({ url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` });
      return;
    }
    case 'pkarr': {
      // pkarr@1.3.0 is plain JS without types: load it through string specifiers.
      const { default: PkarrDht } = (await import('pkarr/lib/dht.js' as string)) as { default: new (o: object) => object };
      const { default: PkarrRelay } = (await import('pkarr/lib/relay.js' as string)) as { default: { start(o: object): Promise<{ port: number }> } };
      const dht = new PkarrDht({
        bootstrap: bootstrap.map((b) => ({ host: b.split(':')[0], port: Number(b.split(':')[1]) })),
        storage: { loadRoutingTable() {}, saveRoutingTable() {} },
      });
      const relay = await PkarrRelay.start({ dht, port: 0 });
      ready({ url: `http://127.0.0.1:${relay.port}` });
      console.log = () => {};
      return;
    }
    default:
      throw new Error(`unknown ${ROLE_ENV} ${role}`);
  }
}

const role = process.env[ROLE_ENV];
if (role !== undefined) {
  // Die with the parent: it holds our stdin open.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  await runRole(role);
}

const children: ChildProcess[] = [];

/** Starts a role in a child process and returns its ready line. */
async function child<T>(roleName: string, env: Record<string, string> = {}): Promise<T> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env, [ROLE_ENV]: roleName },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(proc);
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${roleName} did not start within 30 s`)), 30_000);
    createInterface({ input: proc.stdout! }).once('line', (l) => { clearTimeout(timer); resolve(l); });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${roleName} exited with ${code}`)); });
  });
  proc.stdout!.resume();
  return JSON.parse(line) as T;
}

async function waitFor200(url: string, attempts = 40): Promise<void> {
  for (let i = 0; i < attempts; i += 1) {
    const res = await fetch(url).catch(() => null);
    if (res !== null) {
      await res.arrayBuffer();
      if (res.status === 200) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} never answered 200`);
}

async function measure(autocannon: Autocannon, url: string): Promise<AutocannonResult> {
  return autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
}

function median(results: AutocannonResult[]): AutocannonResult {
  const sorted = [...results].sort((a, b) => a.requests.average - b.requests.average);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function report(label: string, runs: AutocannonResult[]): AutocannonResult {
  const m = median(runs);
  const all = runs.map((r) => fmt(r.requests.average)).join(' / ');
  const failures = runs.reduce((n, r) => n + r.non2xx + r.errors, 0);
  console.log(`${label.padEnd(42)} ${fmt(m.requests.average).padStart(7)} req/s  p50 ${fmt(m.latency.p50, 1).padStart(5)} ms  p99 ${fmt(m.latency.p99, 1).padStart(6)} ms  non-2xx/errors ${failures}  (runs: ${all})`);
  return m;
}

export async function run(): Promise<void> {
  const autocannon = ((await import('autocannon' as string)) as { default: Autocannon }).default;
  try {
    const { bootstrap } = await child<{ bootstrap: string[] }>('testnet');
    const env = { BENCH_BOOTSTRAP: bootstrap.join(',') };
    const { url: relayUrl } = await child<{ url: string }>('relay', env);
    const kp = Keypair.generate();
    const packet = SignedPacket.sign(kp, ['A @ 10.0.0.1 300', 'TXT _lobby "v=1;game=demo;players=3/8" 300', 'SVCB _enet 1 . port=7777 3600'].map(parseRecordText));
    const put = await fetch(`${relayUrl}/${kp.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload() });
    if (put.status !== 204) throw new Error(`PUT to our relay answered ${put.status}`);
    const path = `/${kp.publicKey.z32}`;
    await waitFor200(relayUrl + path);
    const { url: bareUrl } = await child<{ url: string }>('bare', { BENCH_PAYLOAD: Buffer.from(packet.toRelayPayload()).toString('hex') });
    const { url: pkarrUrl } = await child<{ url: string }>('pkarr', env);
    await waitFor200(pkarrUrl + path);

    console.log(`cached GET of a ${packet.toRelayPayload().length}-byte payload, ${CONNECTIONS} connections, ${DURATION_S} s per run, median of ${ROUNDS} alternating runs`);
    for (const url of [bareUrl, relayUrl, pkarrUrl]) await autocannon({ url: url + path, connections: CONNECTIONS, duration: WARMUP_S });
    const bareRuns: AutocannonResult[] = [];
    const ourRuns: AutocannonResult[] = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      bareRuns.push(await measure(autocannon, bareUrl + path));
      ourRuns.push(await measure(autocannon, relayUrl + path));
    }
    const pkarrRuns = [await measure(autocannon, pkarrUrl + path)];
    const bare = report('(a) bare node:http, same bytes', bareRuns);
    const ours = report('(b) pkarr-sidecar relay (cache hit)', ourRuns);
    const pkarr = report('(c) pkarr@1.3.0 relay (DHT walk per GET)', pkarrRuns);
    const vsBare = ours.requests.average / bare.requests.average;
    const vsPkarr = ours.requests.average / Math.max(1e-9, pkarr.requests.average);
    console.log(`relay / bare node:http  = ${fmt(vsBare, 2)}×  (goal ≥ 0.7×: ${vsBare >= 0.7 ? 'met' : 'MISSED'})`);
    console.log(`relay / pkarr@1.3.0     = ${fmt(vsPkarr, 1)}×  (goal ≥ 50×: ${vsPkarr >= 50 ? 'met' : 'MISSED'})`);
  } finally {
    for (const proc of children.splice(0)) proc.kill('SIGKILL');
  }
}
