/**
 * The hole-punching side of nat-punch-lab.test.ts, run inside a lab namespace by the lab's agent
 * (`lab.agent(host).call('./test/nat-punch-agent.ts', fn, ...)`): a punch socket, a DhtClient on the
 * lab's libtorrent nodes, DHT-STUN + NAT classification of the punch socket, then a PunchHost or a
 * joiner. Paths' DATA and ends are pushed to the test as events.
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Keypair, PublicKey } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { dhtStun } from '../sidecar/src/nat/dht-stun.ts';
import { classifyNat, type NatReport, type NatType } from '../sidecar/src/nat/nat-type.ts';
import type { PunchPath } from '../sidecar/src/nat/punch-path.ts';
import { PunchSocket } from '../sidecar/src/nat/punch-socket.ts';
import { PunchHost } from '../sidecar/src/nat/puncher-host.ts';
import { punchToHost, type PunchJoinStats } from '../sidecar/src/nat/puncher-joiner.ts';
import type { UdpAddress } from '../sidecar/src/nat/udp-channel.ts';
import type { AgentContext } from './natlab/agent.ts';

interface Side {
  socket: PunchSocket;
  dht: DhtClient;
  report: NatReport;
  paths: PunchPath[];
  host: PunchHost | null;
}

function side(ctx: AgentContext): Side {
  const found = ctx.state.get('punch') as Side | undefined;
  if (found === undefined) throw new Error('call setup first');
  return found;
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

export interface SetupResult {
  local: UdpAddress;
  nat: NatType;
  publicAddress: UdpAddress | null;
  publicHost: string | null;
  /** The port to announce: the public one, or (symmetric) the first one a DHT node saw. */
  announcePort: number;
  stunMs: number;
}

/** Binds the punch socket, starts the DHT client and measures the punch socket's NAT with DHT-STUN. */
export async function setup(ctx: AgentContext, bootstrap: string[]): Promise<SetupResult> {
  const socket = await PunchSocket.bind({ host: '0.0.0.0' });
  ctx.onClose(() => socket.close());
  const dht = await DhtClient.start({ bootstrap, host: '0.0.0.0', timeoutMs: 1000, maxLookupMs: 4000 });
  ctx.onClose(() => dht.destroy());
  const started = performance.now();
  const stun = await dhtStun({ channel: socket.krpc, nodes: bootstrap, count: Math.min(8, bootstrap.length), timeoutMs: 1500 });
  const stunMs = performance.now() - started;
  const report = classifyNat({ observations: stun.observations, localPort: socket.address().port, interfaceAddresses: interfaceAddresses() });
  const firstSeen = stun.observations.find((o) => o.mapped !== null)?.mapped ?? null;
  const state: Side = { socket, dht, report, paths: [], host: null };
  ctx.state.set('punch', state);
  return {
    local: socket.address(),
    nat: report.type,
    publicAddress: report.publicAddress,
    publicHost: report.publicHost,
    announcePort: report.publicAddress?.port ?? firstSeen?.port ?? socket.address().port,
    stunMs: Math.round(stunMs),
  };
}

function adopt(ctx: AgentContext, state: Side, path: PunchPath): void {
  state.paths.push(path);
  const index = state.paths.length - 1;
  path.onData((payload) => ctx.emit('data', { path: index, text: payload.toString('utf8') }));
  path.onEnd((reason) => ctx.emit('end', { path: index, reason }));
}

/** Host side: watches the rendezvous of the lobby key `seedHex` and accepts joiners. */
export function host(ctx: AgentContext, seedHex: string, pollIntervalMs = 500): { hostKey: string } {
  const state = side(ctx);
  const keypair = Keypair.fromSecretKeyHex(seedHex);
  state.host = new PunchHost({
    channel: state.socket.punch,
    keypair,
    dht: state.dht,
    pollIntervalMs,
    onPath: (path) => {
      adopt(ctx, state, path);
      ctx.emit('path', { remote: path.remote });
    },
  });
  ctx.onClose(() => state.host?.close());
  return { hostKey: keypair.publicKey.z32 };
}

export interface JoinArgs {
  hostKey: string;
  hostPunchAddress: UdpAddress;
  natType: NatType;
  hostNatType: NatType;
  announcePort: number;
  timeoutMs: number;
  openerTtl?: number;
}

export type JoinResult =
  | { ok: true; ms: number; remote: UdpAddress; stats: PunchJoinStats }
  | { ok: false; ms: number; code: string; message: string; stats: PunchJoinStats };

/** Joiner side: punches to the host; resolves with the outcome (never throws for a failed punch). */
export async function join(ctx: AgentContext, args: JoinArgs): Promise<JoinResult> {
  const state = side(ctx);
  const stats: PunchJoinStats = { announces: 0, announceFailures: 0, openersSent: 0, hellosSent: 0, probesReceived: 0, badWelcomes: 0, malformed: 0, unmatched: 0 };
  const started = performance.now();
  try {
    const path = await punchToHost({
      channel: state.socket.punch,
      hostKey: PublicKey.parse(args.hostKey),
      hostPunchAddress: args.hostPunchAddress,
      announce: { dht: state.dht, publicPort: args.announcePort },
      natType: args.natType,
      hostNatType: args.hostNatType,
      timeoutMs: args.timeoutMs,
      stats,
      ...(args.openerTtl !== undefined ? { openerTtl: args.openerTtl } : {}),
    });
    adopt(ctx, state, path);
    ctx.onClose(() => path.close());
    return { ok: true, ms: Math.round(performance.now() - started), remote: path.remote, stats };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, ms: Math.round(performance.now() - started), code: e.code ?? 'unknown', message: e.message ?? String(err), stats };
  }
}

/** The DHT part alone (a benchmark's baseline): one announce of `port` under a random info-hash; resolves with its time in ms. */
export async function announceOnly(ctx: AgentContext, port: number): Promise<number> {
  const started = performance.now();
  await side(ctx).dht.announce(randomBytes(20), port);
  return performance.now() - started;
}

/** Sends `count` datagrams `n` (text) from the punch socket at once, odd ones with IP TTL `ttl`, the rest with the default. */
export async function sendMixedTtl(ctx: AgentContext, to: UdpAddress, count: number, ttl: number): Promise<void> {
  const channel = side(ctx).socket.punch;
  await Promise.all(Array.from({ length: count }, (_, n) => channel.send(Buffer.from([0xd0, ...Buffer.from(` ${n}`)]), to, n % 2 === 1 ? ttl : undefined)));
}

/** Sends each text as one DATA datagram on path `index`. */
export function send(ctx: AgentContext, index: number, texts: string[]): number {
  const path = side(ctx).paths[index];
  if (path === undefined) throw new Error(`no path ${index}`);
  for (const text of texts) path.send(Buffer.from(text, 'utf8'));
  return texts.length;
}

/** Counters of the host and the socket. */
export function counters(ctx: AgentContext): { socket: PunchSocket['stats']; host: PunchHost['stats'] | null; watcher: unknown } {
  const state = side(ctx);
  return { socket: { ...state.socket.stats }, host: state.host === null ? null : { ...state.host.stats }, watcher: state.host?.watcherStats ?? null };
}
