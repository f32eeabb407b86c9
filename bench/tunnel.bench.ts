/**
 * The game tunnel (sidecar/src/nat/game-tunnel.ts) on loopback, against a direct UDP socket pair
 * measured in the same run.
 * - direct: a "game client" socket ↔ an echo "game server" socket (one UDP hop each way: the
 *   internet hop of a direct connection).
 * - tunnel: game client → JoinTunnel → PunchPath over two loopback UDP sockets with a 1-byte frame
 *   (test/nat-tunnel-paths.ts, standing in for the punched hop) → HostTunnel → echo server, and back.
 *   The difference is what the tunnel adds: two loopback hops and two relays per direction.
 * - tunnel over PunchLink: the same with the puncher's own path (PunchLink over two PunchSockets:
 *   punch frames, keepalives), i.e. the whole sidecar data path.
 * Everything runs in this one process (one packet in flight for latency, so the shared event loop
 * does not queue anything). Sequential round-trip time p50/p99, then echoed 200-byte datagrams per
 * second with 64 in flight for 1 s. Best of 2 alternating rounds, per figure (noise only slows;
 * on a loaded machine p99 is mostly preemption: compare it with the load average printed).
 */
import type { Socket } from 'node:dgram';
import { loadavg } from 'node:os';
import { HostTunnel, JoinTunnel } from '../sidecar/src/nat/game-tunnel.ts';
import type { PunchPath } from '../sidecar/src/nat/punch-path.ts';
import { punchLinkPair, udpPathPair } from '../test/nat-tunnel-paths.ts';
import { closeSocket as close, loopbackSocket } from '../test/nat-tunnel-sockets.ts';
import { fmt, quantile } from './measure.ts';

const PINGS = 4000;
const WARMUP = 500;
const SIZE = 200;
const IN_FLIGHT = 64;
const BURST_MS = 1000;
const ROUNDS = 2;

interface Setup {
  client: Socket;
  /** Where the client sends: the echo server (direct) or the joiner tunnel's port. */
  target: number;
  dispose(): Promise<void>;
}

async function echoServer(): Promise<Socket> {
  const server = await loopbackSocket();
  server.on('message', (msg, from) => server.send(msg, from.port, from.address));
  return server;
}

async function direct(): Promise<Setup> {
  const server = await echoServer();
  const client = await loopbackSocket();
  return { client, target: server.address().port, dispose: async () => { await close(client); await close(server); } };
}

interface BenchPair { a: PunchPath; b: PunchPath; dispose(): Promise<void> }

function tunnelOver(makePair: () => Promise<BenchPair>): () => Promise<Setup> {
  return async () => {
    const server = await echoServer();
    const client = await loopbackSocket();
    const pair = await makePair();
    const host = new HostTunnel({ gamePort: server.address().port });
    await host.addPlayer(pair.b);
    const join = await JoinTunnel.open(pair.a);
    return {
      client, target: join.localPort,
      dispose: async () => { join.close(); host.close(); await pair.dispose(); await close(client); await close(server); },
    };
  };
}

const tunnel = tunnelOver(udpPathPair);
const tunnelPunch = tunnelOver(() => punchLinkPair());

/** Sequential round trips (µs). */
async function roundTrips(s: Setup): Promise<number[]> {
  const payload = Buffer.alloc(SIZE, 7);
  const samples: number[] = [];
  let start = 0n;
  let left = WARMUP + PINGS;
  await new Promise<void>((done) => {
    const onMessage = (): void => {
      if (left <= PINGS) samples.push(Number(process.hrtime.bigint() - start) / 1000);
      if (--left === 0) { s.client.off('message', onMessage); done(); return; }
      start = process.hrtime.bigint();
      s.client.send(payload, s.target, '127.0.0.1');
    };
    s.client.on('message', onMessage);
    start = process.hrtime.bigint();
    s.client.send(payload, s.target, '127.0.0.1');
  });
  return samples;
}

/** Echoed datagrams per second with IN_FLIGHT outstanding; also how many went missing. */
async function burst(s: Setup): Promise<{ rate: number; lost: number }> {
  const payload = Buffer.alloc(SIZE, 9);
  let sent = 0;
  let received = 0;
  let stopping = false;
  const send = (): void => { sent++; s.client.send(payload, s.target, '127.0.0.1'); };
  const onMessage = (): void => {
    received++;
    if (!stopping) send();
  };
  s.client.on('message', onMessage);
  const start = performance.now();
  for (let i = 0; i < IN_FLIGHT; i++) send();
  await new Promise((r) => setTimeout(r, BURST_MS));
  stopping = true;
  const elapsed = performance.now() - start;
  const counted = received;
  await new Promise((r) => setTimeout(r, 100)); // stragglers
  s.client.off('message', onMessage);
  return { rate: (counted * 1000) / elapsed, lost: sent - received };
}

interface Measured { rtt: number[]; rate: number; lost: number }
interface Best { p50: number; p99: number; rate: number; lost: number }

/** The best value of each figure over the rounds (noise only slows), and the datagrams lost in all. */
function best(rounds: Measured[]): Best {
  return {
    p50: Math.min(...rounds.map((r) => quantile(r.rtt, 0.5))),
    p99: Math.min(...rounds.map((r) => quantile(r.rtt, 0.99))),
    rate: Math.max(...rounds.map((r) => r.rate)),
    lost: rounds.reduce((n, r) => n + r.lost, 0),
  };
}

async function measure(make: () => Promise<Setup>): Promise<Measured> {
  const s = await make();
  try {
    const rtt = await roundTrips(s);
    const { rate, lost } = await burst(s);
    return { rtt, rate, lost };
  } finally {
    await s.dispose();
  }
}

export async function run(): Promise<void> {
  const setups = [direct, tunnel, tunnelPunch];
  const rounds: Measured[][] = setups.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, make] of setups.entries()) rounds[i]!.push(await measure(make));
  }
  const [d, t, p] = rounds.map(best) as [Best, Best, Best];
  const ms = (us: number): string => fmt(us / 1000, 3).padStart(7);
  const rtt = (label: string, x: Best): string =>
    `  ${label.padEnd(46)}${ms(x.p50)}  ${ms(x.p99)}   added ${ms(x.p50 - d.p50)}  ${ms(x.p99 - d.p99)}   (p50 ×${fmt(x.p50 / d.p50, 2)}, p99 ×${fmt(x.p99 / d.p99, 2)})`;
  const rate = (label: string, x: Best): string =>
    `  ${label.padEnd(46)}${fmt(x.rate).padStart(7)}  ${String(x.lost).padStart(6)}   (×${fmt(x.rate / d.rate, 2)} of direct)`;
  console.log(`(best of ${ROUNDS} alternating rounds per figure; load average ${loadavg().map((l) => fmt(l, 1)).join(' ')})`);
  console.log(`round trip, ${PINGS} sequential ${SIZE}-byte datagrams (ms)   p50      p99     added p50    p99   (goal: p99 added < 0.300)`);
  console.log(`  ${'direct UDP pair (baseline)'.padEnd(46)}${ms(d.p50)}  ${ms(d.p99)}`);
  console.log(rtt('JoinTunnel + framed UDP path + HostTunnel', t));
  console.log(rtt('JoinTunnel + PunchLink + HostTunnel', p));
  console.log(`echoed ${SIZE}-byte datagrams/s, ${IN_FLIGHT} in flight, ${BURST_MS} ms       rate    lost`);
  console.log(rate('direct UDP pair (baseline)', d).replace(/ {3}\(×1\.00 of direct\)$/, ''));
  console.log(rate('JoinTunnel + framed UDP path + HostTunnel', t));
  console.log(rate('JoinTunnel + PunchLink + HostTunnel', p));
}
