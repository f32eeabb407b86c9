/** Shared by the loopback hole-punching tests (nat-punch.test.ts, nat-punch-paths.test.ts). */
import { createSocket, type Socket } from 'node:dgram';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import type { PunchLink } from '../sidecar/src/nat/punch-link.ts';
import type { PunchPath } from '../sidecar/src/nat/punch-path.ts';
import { PunchSocket } from '../sidecar/src/nat/punch-socket.ts';
import { PunchHost } from '../sidecar/src/nat/puncher-host.ts';
import { punchToHost, type PunchJoinStats } from '../sidecar/src/nat/puncher-joiner.ts';
import type { UdpAddress } from '../sidecar/src/nat/udp-channel.ts';

export const LO = '127.0.0.1';
/** Cleanups of the running test, run in reverse by `runCleanup` (each test file's afterEach). */
export const cleanup: (() => Promise<void> | void)[] = [];

export async function runCleanup(): Promise<void> {
  for (const fn of cleanup.splice(0).reverse()) await fn();
}

/** Resolves when `check` holds, polling every 10 ms; fails after `ms`. */
export async function until(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function punchSocket(): Promise<PunchSocket> {
  const socket = await PunchSocket.bind({ host: LO });
  cleanup.push(() => socket.close());
  return socket;
}

/** A raw UDP socket that records what it receives. */
export async function rawSocket(): Promise<{ socket: Socket; received: { payload: Buffer; from: UdpAddress }[]; address: UdpAddress }> {
  const socket = createSocket('udp4');
  const received: { payload: Buffer; from: UdpAddress }[] = [];
  socket.on('message', (payload, rinfo) => received.push({ payload, from: { host: rinfo.address, port: rinfo.port } }));
  await new Promise<void>((r) => socket.bind(0, LO, () => r()));
  cleanup.push(() => new Promise<void>((r) => socket.close(() => r())));
  return { socket, received, address: { host: LO, port: socket.address().port } };
}

export function sendRaw(socket: Socket, payload: Uint8Array, to: UdpAddress): Promise<void> {
  return new Promise((resolve, reject) => socket.send(payload, to.port, to.host, (err) => (err ? reject(err) : resolve())));
}

/** A DHT testnet with a host and a joiner client, each with its own punch socket. */
export async function punchNet(): Promise<{ testnet: Testnet; hostDht: DhtClient; joinDht: DhtClient }> {
  const testnet = await Testnet.create(12);
  cleanup.push(() => testnet.destroy());
  const hostDht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: LO, timeoutMs: 300, maxLookupMs: 1500 });
  cleanup.push(() => hostDht.destroy());
  const joinDht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: LO, timeoutMs: 300, maxLookupMs: 1500 });
  cleanup.push(() => joinDht.destroy());
  return { testnet, hostDht, joinDht };
}

export interface Pair {
  host: PunchHost;
  hostPath: PunchPath;
  joinPath: PunchLink;
  hostSocket: PunchSocket;
  joinSocket: PunchSocket;
  stats: PunchJoinStats;
  /** The joiner's rendezvous announces as `onAnnounced` told them. */
  announced: { stored: number; ms: number; error?: string }[];
}

export async function connectPair(timing: { keepaliveMs?: number; idleTimeoutMs?: number } = {}): Promise<Pair> {
  const { hostDht, joinDht } = await punchNet();
  const keypair = Keypair.generate();
  const hostSocket = await punchSocket();
  const joinSocket = await punchSocket();
  const hostPaths: PunchPath[] = [];
  const host = new PunchHost({ channel: hostSocket.punch, keypair, dht: hostDht, pollIntervalMs: 200, onPath: (p) => hostPaths.push(p), ...timing });
  cleanup.push(() => host.close());
  const stats: PunchJoinStats = { announces: 0, announceFailures: 0, openersSent: 0, hellosSent: 0, probesReceived: 0, badWelcomes: 0, malformed: 0, unmatched: 0 };
  const announced: Pair['announced'] = [];
  const joinPath = await punchToHost({
    channel: joinSocket.punch,
    hostKey: keypair.publicKey,
    hostPunchAddress: hostSocket.address(),
    announce: { dht: joinDht, publicPort: joinSocket.address().port },
    natType: 'cone',
    hostNatType: 'cone',
    timeoutMs: 15_000,
    stats,
    onAnnounced: (outcome) => announced.push(outcome),
    ...timing,
  });
  cleanup.push(() => joinPath.close());
  await until(() => hostPaths.length === 1, 5000, 'the host path');
  return { host, hostPath: hostPaths[0]!, joinPath, hostSocket, joinSocket, stats, announced };
}

