/**
 * `pkarr-sidecar dns` UDP throughput and latency with our own load generator (one UDP socket here,
 * {@link IN_FLIGHT} queries outstanding, a new one sent as each answer arrives), all measured in
 * this run against servers in child processes (this file re-run with PKARR_DNS_BENCH_ROLE set):
 *   (a) baseline: a trivial UDP responder that returns each query with the QR bit set: the ceiling
 *       of this generator and the loopback path on this machine;
 *   (b) cached pkarr answers: `_lobby.<key>` TXT and `<key>` A through the real server (query quota
 *       off), the packet fresh in the pkarr Client's cache; goal ≥ 20,000 q/s;
 *   (c) forwarded names answered from the forward cache;
 *   (d) forwarded names that miss the cache (a new name per query) to a local upstream (a dgram
 *       responder in a third process).
 * Reported: q/s, p50/p99 latency, the ratio to (a), lost queries, the load average, and the
 * server's CPU time per answered query (its process.cpuUsage over the window): q/s depends on how
 * much of the two shared cores the server gets, CPU per query much less so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { Client } from '../sidecar/src/client/client.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { parseRecordText } from '../sidecar/src/core/record-text.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { ClientPacketSource } from '../sidecar/src/dns/client-source.ts';
import { startDnsServer } from '../sidecar/src/dns/dns-server.ts';
import { Forwarder } from '../sidecar/src/dns/forwarder.ts';
import { fmt, quantile } from './measure.ts';

const ROLE_ENV = 'PKARR_DNS_BENCH_ROLE';
const IN_FLIGHT = 64;
const WARMUP_MS = 500;
const DURATION_MS = 3000;
const LOST_AFTER_MS = 1000;
/** Workloads are measured in interleaved rounds; the median round counts (load here is bursty). */
const ROUNDS = 3;
let round = 0;
const KEY = Keypair.fromSeed(new Uint8Array(32).fill(42));

function ready(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
  // Each line on stdin asks for this process's CPU time so far (µs, user + system).
  createInterface({ input: process.stdin }).on('line', () => {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuUs: user + system })}\n`);
  });
}

/** A UDP responder: `echo` flips QR; `upstream` answers every A question with 192.0.2.1 (TTL 300). */
async function responder(kind: 'echo' | 'upstream'): Promise<void> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    let reply: Buffer;
    if (kind === 'echo') {
      reply = Buffer.from(msg);
      reply[2] = (reply[2] ?? 0) | 0x80;
    } else {
      const q = dnsPacket.decode(msg);
      const name = q.questions?.[0]?.name ?? '';
      reply = dnsPacket.encode({ type: 'response', id: q.id ?? 0, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions ?? [], answers: [{ type: 'A', name, ttl: 300, data: '192.0.2.1' }] });
    }
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  ready({ port: socket.address().port });
}

async function dnsServer(upstreamPort: number): Promise<void> {
  const client = new Client({ dht: null, relays: ['http://127.0.0.1:9'] }); // never asked: the packet is cached
  const packet = SignedPacket.sign(KEY, ['A @ 10.0.0.1 300', 'TXT _lobby "v=1;name=bench;players=3/8" 300', 'TXT _lobby "addr=192.0.2.7:7777" 300'].map((r) => parseRecordText(r)));
  client.cache.put(packet);
  const source = new ClientPacketSource(client);
  const server = await startDnsServer({
    port: 0,
    lookup: (key, charge) => source.lookup(key, charge),
    forwarder: new Forwarder({ host: '127.0.0.1', port: upstreamPort }),
    rateLimit: null,
    dhtRateLimit: null,
    log: () => {},
  });
  ready({ port: server.port });
}

const role = process.env[ROLE_ENV];
if (role !== undefined) {
  process.stdin.on('end', () => process.exit(0));
  if (role === 'echo' || role === 'upstream') await responder(role);
  else if (role === 'dns') await dnsServer(Number(process.env.BENCH_UPSTREAM));
  else throw new Error(`unknown ${ROLE_ENV} ${role}`);
}

const children: ChildProcess[] = [];

/** A server in a child process: its port, and its CPU time on request. */
interface Child { port: number; cpuUs(): Promise<number> }

async function child(roleName: string, env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, ...env, [ROLE_ENV]: roleName }, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(proc);
  const lines = createInterface({ input: proc.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const next = (): Promise<string> => new Promise((resolve) => waiting.push(resolve));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${roleName} did not start within 30 s`)), 30_000);
    void next().then((l) => { clearTimeout(timer); resolve(l); });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${roleName} exited with ${code}`)); });
  });
  return {
    port: (JSON.parse(line) as { port: number }).port,
    async cpuUs() {
      const reply = next();
      proc.stdin!.write('cpu\n');
      return (JSON.parse(await reply) as { cpuUs: number }).cpuUs;
    },
  };
}

interface LoadResult { qps: number; p50: number; p99: number; lost: number; answered: number; cpuUsPerQuery: number }

/** Keeps IN_FLIGHT queries outstanding against the server; `make(i)` builds query i (ID set here). */
async function load(server: Child, make: (i: number) => Buffer): Promise<LoadResult> {
  const port = server.port;
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let i = 0;
  let lost = 0;
  let measuring = false;
  let answered = 0;
  let stop = false;
  const send = (): void => {
    if (stop) return;
    let id = i & 0xffff;
    while (sentAt.has(id)) id = (id + 1) & 0xffff;
    const q = make(i++);
    q.writeUInt16BE(id, 0);
    sentAt.set(id, performance.now());
    socket.send(q, port, '127.0.0.1');
  };
  socket.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    const t0 = sentAt.get(id);
    if (t0 === undefined) return;
    sentAt.delete(id);
    if (measuring) {
      latencies.push(performance.now() - t0);
      answered += 1;
    }
    send();
  });
  const reaper = setInterval(() => {
    const now = performance.now();
    for (const [id, t0] of sentAt) {
      if (now - t0 > LOST_AFTER_MS) {
        sentAt.delete(id);
        if (measuring) lost += 1;
        send();
      }
    }
  }, 100);
  for (let k = 0; k < IN_FLIGHT; k++) send();
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  measuring = true;
  const cpu0 = await server.cpuUs();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
  measuring = false;
  const elapsed = performance.now() - start;
  const cpu = (await server.cpuUs()) - cpu0;
  stop = true;
  clearInterval(reaper);
  socket.close();
  return { qps: (answered * 1000) / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), lost, answered, cpuUsPerQuery: cpu / Math.max(1, answered) };
}

function median(results: LoadResult[]): LoadResult {
  return [...results].sort((a, b) => a.qps - b.qps)[Math.floor(results.length / 2)]!;
}

function query(name: string, type: 'A' | 'TXT'): Buffer {
  return dnsPacket.encode({
    type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  });
}

export async function run(): Promise<void> {
  try {
    const echo = await child('echo');
    const upstream = await child('upstream');
    const dns = await child('dns', { BENCH_UPSTREAM: String(upstream.port) });
    const lobby = query(`_lobby.${KEY.publicKey.z32}`, 'TXT');
    const apex = query(`${KEY.publicKey.z32}.key`, 'A');
    const forwarded = query('cached.example', 'A');
    const workloads: [string, Child, (i: number) => Buffer][] = [
      ['(a) baseline: UDP echo responder', echo, (i) => Buffer.from(i % 2 === 0 ? lobby : apex)],
      ['(b) pkarr cached: _lobby TXT / <key>.key A', dns, (i) => Buffer.from(i % 2 === 0 ? lobby : apex)],
      ['(c) forwarded, from the forward cache', dns, () => Buffer.from(forwarded)],
      ['(d) forwarded, cache miss (upstream)', dns, (i) => query(`n${round}.${i}.miss.example`, 'A')],
    ];
    const results: LoadResult[][] = workloads.map(() => []);
    const before = loadavg()[0] ?? 0;
    for (round = 0; round < ROUNDS; round++) {
      for (const [k, [, port, make]] of workloads.entries()) results[k]!.push(await load(port, make));
    }
    const after = loadavg()[0] ?? 0;
    const rows: [string, LoadResult][] = workloads.map(([name], k) => [name, median(results[k]!)]);
    const base = rows[0]![1].qps;
    console.log(`UDP, ${IN_FLIGHT} queries in flight, ${DURATION_MS / 1000} s each after ${WARMUP_MS} ms warm-up, median of ${ROUNDS} interleaved rounds (all rounds' q/s: ${results.map((r) => r.map((x) => fmt(x.qps)).join('/')).join(' · ')}); load average ${before.toFixed(2)} → ${after.toFixed(2)} (2 cores shared)`);
    console.log('| workload | q/s | × baseline | p50 ms | p99 ms | lost | server CPU µs/query | q/s per server CPU-second |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, r] of rows) {
      console.log(`| ${name} | ${fmt(r.qps)} | ${(r.qps / base).toFixed(2)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${r.lost} | ${fmt(r.cpuUsPerQuery, 1)} | ${fmt(1e6 / r.cpuUsPerQuery)} |`);
    }
    const cached = rows[1]![1];
    console.log(`goal: cached pkarr answers ≥ 20,000 q/s → ${fmt(cached.qps)} q/s measured (${cached.qps >= 20_000 ? 'met' : 'NOT met'} under this load); the server spends ${fmt(cached.cpuUsPerQuery, 1)} µs of CPU per answer, i.e. ${fmt(1e6 / cached.cpuUsPerQuery)} q/s per core it gets`);
  } finally {
    for (const c of children) c.kill();
  }
}
