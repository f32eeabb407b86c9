/**
 * JSON-RPC over the loopback WebSocket: the `serve` sidecar (separate process, as the addon runs
 * it) answering `status`, next to a raw ws echo server (separate process, same ws options) as the
 * baseline. Sequential round-trip time p50/p99, then requests/s with 1, 16 and 256 in flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { fmt, quantile } from './measure.ts';

const SEQUENTIAL = 3000;
const WARMUP = 500;
const THROUGHPUT_REQUESTS = 6000;
const IN_FLIGHT = [1, 16, 256];
/** Echo and sidecar are measured alternately this many times; the best round of each is kept (noise only slows). */
const ROUNDS = 3;

const ECHO_SERVER = `
  import { WebSocketServer } from 'ws';
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 65536 });
  wss.on('connection', (ws) => { ws.on('error', () => {}); ws.on('message', (d) => ws.send(d.toString())); });
  wss.on('listening', () => process.stdout.write(JSON.stringify({ port: wss.address().port, token: '' }) + '\\n'));
  process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;

function serveScript(dataDir: string): string {
  const command = resolve('sidecar/src/cli/serve-command.ts');
  return `const { run } = await import(${JSON.stringify(command)});
    process.exitCode = await run(['--data-dir', ${JSON.stringify(dataDir)}, '--no-dht', '--no-relays', '--log-level', 'error']);`;
}

interface Server { child: ChildProcess; port: number; token: string }

async function startServer(script: string): Promise<Server> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout! }).once('line', ok);
    child.once('exit', (code) => fail(new Error(`server exited with ${code}`)));
  });
  const { port, token } = JSON.parse(line) as { port: number; token: string };
  return { child, port, token };
}

async function open(server: Server): Promise<WebSocket> {
  const protocols = server.token ? ['pkarr-godot.v1', `token.${server.token}`] : [];
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, protocols, { perMessageDeflate: false });
  ws.on('error', () => undefined);
  await new Promise((ok, fail) => { ws.once('open', ok); ws.once('error', fail); });
  return ws;
}

/** A minimal client: string ids, one pending map; each reply settles its request. */
function client(ws: WebSocket): (method: string) => Promise<void> {
  const pending = new Map<string, () => void>();
  let next = 0;
  ws.on('message', (data) => {
    const id = (JSON.parse(data.toString()) as { id: string }).id;
    pending.get(id)?.();
    pending.delete(id);
  });
  return (method) => new Promise<void>((ok) => {
    const id = `g${++next}`;
    pending.set(id, ok);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method }));
  });
}

async function sequentialRtt(call: (m: string) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await call('status');
  const samples: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = process.hrtime.bigint();
    await call('status');
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return samples;
}

async function throughput(call: (m: string) => Promise<void>, inFlight: number): Promise<number> {
  let sent = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (sent < THROUGHPUT_REQUESTS) {
      sent++;
      await call('status');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (THROUGHPUT_REQUESTS * 1000) / (performance.now() - start);
}

interface Measured { rtt: number[]; rps: number[] }

/** The round with the lowest p50 for RTT, and the highest rate per in-flight level. */
function best(rounds: Measured[]): Measured {
  const rtt = rounds.reduce((a, b) => (quantile(b.rtt, 0.5) < quantile(a.rtt, 0.5) ? b : a)).rtt;
  return { rtt, rps: IN_FLIGHT.map((_, i) => Math.max(...rounds.map((r) => r.rps[i]!))) };
}

async function measure(server: Server): Promise<Measured> {
  const ws = await open(server);
  const call = client(ws);
  const rtt = await sequentialRtt(call);
  const rps: number[] = [];
  for (const k of IN_FLIGHT) rps.push(await throughput(call, k));
  ws.close();
  return { rtt, rps };
}

export async function run(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pkarr-rpc-bench-'));
  const echo = await startServer(ECHO_SERVER);
  const sidecar = await startServer(serveScript(dataDir));
  try {
    const bases: Measured[] = [];
    const ourss: Measured[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bases.push(await measure(echo));
      ourss.push(await measure(sidecar));
    }
    const base = best(bases);
    const ours = best(ourss);
    console.log(`(best of ${ROUNDS} alternating rounds; load average ${loadavg().map((l) => fmt(l, 1)).join(' ')})`);
    console.log(`sequential RTT, ${SEQUENTIAL} calls (µs)       p50        p99`);
    console.log(`  raw ws echo (baseline)          ${fmt(quantile(base.rtt, 0.5)).padStart(9)} ${fmt(quantile(base.rtt, 0.99)).padStart(10)}`);
    console.log(`  sidecar status                  ${fmt(quantile(ours.rtt, 0.5)).padStart(9)} ${fmt(quantile(ours.rtt, 0.99)).padStart(10)}` +
      `   (p50 ×${fmt(quantile(ours.rtt, 0.5) / quantile(base.rtt, 0.5), 2)} of echo)`);
    console.log(`requests/s, ${THROUGHPUT_REQUESTS} calls        echo      sidecar   ratio`);
    IN_FLIGHT.forEach((k, i) => {
      const b = base.rps[i]!;
      const o = ours.rps[i]!;
      console.log(`  ${String(k).padStart(3)} in flight              ${fmt(b).padStart(9)} ${fmt(o).padStart(10)}   ${fmt(o / b, 2)}`);
    });
  } finally {
    for (const s of [echo, sidecar]) {
      const exited = new Promise((ok) => s.child.once('exit', ok));
      s.child.stdin!.end();
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}
