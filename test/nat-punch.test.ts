/**
 * Hole punching on loopback (no NAT): the punch frames, the punch socket's demultiplexing and
 * per-datagram TTL, and a host and a joiner that meet through the rendezvous on a local DHT testnet.
 * The NAT behaviour itself is proven in nat-punch-lab.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { isPkarrError, PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import type { TopicDht } from '../sidecar/src/lobby/topic.ts';
import {
  decodeFrame, encodeBye, encodeData, encodeHello, encodeKeepalive, encodeProbe, encodeWelcome, FrameType, MAX_DATA_BYTES,
  PUNCH_MAGIC, welcomeMessage,
} from '../sidecar/src/nat/punch-frames.ts';
import type { PunchLink } from '../sidecar/src/nat/punch-link.ts';
import type { PathEndReason, PunchPath } from '../sidecar/src/nat/punch-path.ts';
import { PunchSocket } from '../sidecar/src/nat/punch-socket.ts';
import { PunchHost } from '../sidecar/src/nat/puncher-host.ts';
import { punchToHost, type PunchJoinStats } from '../sidecar/src/nat/puncher-joiner.ts';
import { rendezvousHash, rendezvousWindow, RendezvousWatcher } from '../sidecar/src/nat/rendezvous.ts';
import type { UdpAddress } from '../sidecar/src/nat/udp-channel.ts';

const LO = '127.0.0.1';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Resolves when `check` holds, polling every 10 ms; fails after `ms`. */
async function until(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function punchSocket(): Promise<PunchSocket> {
  const socket = await PunchSocket.bind({ host: LO });
  cleanup.push(() => socket.close());
  return socket;
}

/** A raw UDP socket that records what it receives. */
async function rawSocket(): Promise<{ socket: Socket; received: { payload: Buffer; from: UdpAddress }[]; address: UdpAddress }> {
  const socket = createSocket('udp4');
  const received: { payload: Buffer; from: UdpAddress }[] = [];
  socket.on('message', (payload, rinfo) => received.push({ payload, from: { host: rinfo.address, port: rinfo.port } }));
  await new Promise<void>((r) => socket.bind(0, LO, () => r()));
  cleanup.push(() => new Promise<void>((r) => socket.close(() => r())));
  return { socket, received, address: { host: LO, port: socket.address().port } };
}

function sendRaw(socket: Socket, payload: Uint8Array, to: UdpAddress): Promise<void> {
  return new Promise((resolve, reject) => socket.send(payload, to.port, to.host, (err) => (err ? reject(err) : resolve())));
}

describe('punch frames', () => {
  const session = Buffer.from('0102030405060708', 'hex');
  it('round-trips every frame type', () => {
    const key = Keypair.generate().publicKey.bytes;
    const nonce = Buffer.alloc(16, 7);
    const observed = { host: '203.0.113.9', port: 40_001 };
    const sig = Buffer.alloc(64, 9);
    const cases = [
      encodeProbe(key), encodeHello(session, nonce), encodeWelcome(session, observed, sig), encodeData(session, Buffer.from('game')),
      encodeData(session, Buffer.alloc(MAX_DATA_BYTES, 1)), encodeKeepalive(session), encodeBye(session),
    ];
    const decoded = cases.map((bytes) => decodeFrame(bytes));
    for (const result of decoded) expect(result.ok).toBe(true);
    const frames = decoded.map((r) => (r.ok ? r.frame : null));
    expect(frames.map((f) => f?.type)).toEqual([1, 2, 3, 4, 4, 5, 6]);
    const [probe, hello, welcome, data] = frames;
    expect(probe?.type === FrameType.PROBE && Buffer.from(key).equals(probe.hostKey)).toBe(true);
    expect(hello?.type === FrameType.HELLO && hello.nonce.equals(nonce) && hello.session.equals(session)).toBe(true);
    expect(welcome?.type === FrameType.WELCOME && welcome.signature.equals(sig)).toBe(true);
    expect(welcome?.type === FrameType.WELCOME ? welcome.observed : null).toEqual(observed);
    expect(data?.type === FrameType.DATA ? data.payload.toString() : null).toBe('game');
    // Sizes of docs/nat.md §3: PROBE 43, HELLO = WELCOME = 81 (no amplification), DATA ≤ 1411.
    expect(cases.map((c) => c.length)).toEqual([43, 81, 81, 15, 1411, 11, 11]);
    expect(cases[0]![0]).toBe(PUNCH_MAGIC);
    expect(PUNCH_MAGIC).not.toBe(0x64);
  });

  it('rejects malformed, oversized and foreign input with a reason, never throwing', () => {
    const good = encodeHello(session, Buffer.alloc(16, 1));
    const withByte = (bytes: Buffer, at: number, value: number): Buffer => { const copy = Buffer.from(bytes); copy[at] = value; return copy; };
    const reasons = [
      decodeFrame(Buffer.alloc(0)), decodeFrame(good.subarray(0, 10)), decodeFrame(withByte(good, 0, 0x64)),
      decodeFrame(withByte(good, 1, 2)), decodeFrame(withByte(good, 2, 9)), decodeFrame(good.subarray(0, 80)),
      decodeFrame(withByte(good, 60, 1)), decodeFrame(Buffer.concat([encodeData(session, Buffer.alloc(MAX_DATA_BYTES)), Buffer.of(0)])),
      decodeFrame(Buffer.concat([encodeKeepalive(session), Buffer.of(0)])), decodeFrame(withByte(encodeProbe(Buffer.alloc(32)), 5, 1)),
      decodeFrame(encodeKeepalive(session).subarray(0, 11).fill(0xd0, 0, 1).fill(4, 2, 3)),
    ].map((r) => (r.ok ? 'ok' : r.reason));
    expect(reasons).toEqual(['short', 'short', 'magic', 'version', 'type', 'length', 'padding', 'oversized', 'length', 'length', 'length']);
    for (let i = 0; i < 2000; i++) {
      const random = Buffer.from(Array.from({ length: Math.floor(Math.random() * 120) }, () => Math.floor(Math.random() * 256)));
      if (i % 2 === 0 && random.length > 2) { random[0] = PUNCH_MAGIC; random[1] = 1; }
      expect(() => decodeFrame(random)).not.toThrow();
    }
    expect(() => encodeData(session, Buffer.alloc(MAX_DATA_BYTES + 1))).toThrow(PkarrError);
    expect(() => encodeData(session, Buffer.alloc(0))).toThrow(PkarrError);
    expect(() => encodeHello(Buffer.alloc(7), Buffer.alloc(16))).toThrow(/session id/);
  });
});

describe('punch socket', () => {
  it('demultiplexes KRPC and punch frames by the first byte and counts the rest', async () => {
    const socket = await punchSocket();
    const peer = await rawSocket();
    const krpc: string[] = [];
    const punch: number[] = [];
    socket.krpc.onMessage((payload) => krpc.push(payload.toString('latin1')));
    socket.punch.onMessage((payload) => punch.push(payload.length));
    const to = socket.address();
    await sendRaw(peer.socket, Buffer.from('d1:y1:qe', 'latin1'), to);
    await sendRaw(peer.socket, encodeKeepalive(Buffer.alloc(8)), to);
    await sendRaw(peer.socket, Buffer.from('hello'), to);
    await sendRaw(peer.socket, Buffer.of(0x00, 0x01), to);
    await until(() => krpc.length + punch.length + socket.stats.dropped >= 4, 5000, 'four datagrams');
    expect(krpc).toEqual(['d1:y1:qe']);
    expect(punch).toEqual([11]);
    expect(socket.stats.dropped).toBe(2);
    // Both channels send from the same socket (the one whose public address DHT-STUN measures).
    await socket.krpc.send(Buffer.from('d1:y1:re'), peer.address);
    await socket.punch.send(encodeBye(Buffer.alloc(8)), peer.address, 2);
    await until(() => peer.received.length === 2, 5000, 'two replies');
    expect(peer.received.every((r) => r.from.port === to.port)).toBe(true);
    expect(socket.punch.localAddress()).toEqual(to);
  });

  it('serialises TTL sends among normal ones: every datagram arrives, in order', async () => {
    const socket = await punchSocket();
    const peer = await rawSocket();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) sends.push(socket.punch.send(encodeData(Buffer.alloc(8), Buffer.of(i)), peer.address, i % 7 === 3 ? 2 : undefined));
    await Promise.all(sends);
    await until(() => peer.received.length === 60, 5000, '60 datagrams');
    expect(peer.received.map((r) => r.payload[11])).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(socket.stats.sentWithTtl).toBe(9);
    expect(socket.stats.sent).toBe(60);
  });

  it('refuses bad sends and options with clear errors, and closes cleanly', async () => {
    const socket = await punchSocket();
    const to = { host: LO, port: 9 };
    await expect(socket.punch.send(Buffer.alloc(1), to, 0)).rejects.toThrow(/TTL/);
    await expect(socket.punch.send(Buffer.alloc(1), to, 256)).rejects.toThrow(/TTL/);
    await expect(socket.punch.send(Buffer.alloc(0), to)).rejects.toThrow(/datagram/);
    await expect(socket.punch.send(Buffer.alloc(1), { host: 'example.org', port: 9 })).rejects.toThrow(/destination/);
    await expect(socket.punch.send(Buffer.alloc(1), { host: '8.8.8.8', port: 53 })).rejects.toThrow(/PKARR_LOOPBACK_ONLY/);
    await expect(PunchSocket.bind({ host: '::1' })).rejects.toThrow(/IPv4/);
    await expect(PunchSocket.bind({ host: LO, port: 70_000 })).rejects.toThrow(/port/);
    const taken = socket.address().port;
    const err = await PunchSocket.bind({ host: LO, port: taken }).catch((e: unknown) => e);
    expect(isPkarrError(err, 'IO_ERROR')).toBe(true);
    await socket.close();
    await socket.close();
    await expect(socket.punch.send(Buffer.alloc(1), to)).rejects.toThrow(/closed/);
  });
});

describe('rendezvous', () => {
  it('hashes host key and window as docs/nat.md says, and the watcher reports each address once, bounded', async () => {
    const key = Keypair.generate().publicKey;
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha1').update(`pkarr-godot-rendezvous:v1:${key.z32}:29000000`).digest();
    expect(Buffer.from(rendezvousHash(key, 29_000_000)).equals(expected)).toBe(true);
    expect(rendezvousWindow(29_000_000 * 60_000 + 59_999)).toBe(29_000_000);
    expect(() => rendezvousHash(key, -1)).toThrow(/window/);
    let now = 29_000_000 * 60_000 + 1000;
    const current = Buffer.from(rendezvousHash(key, 29_000_000)).toString('hex');
    const previous = Buffer.from(rendezvousHash(key, 29_000_000 - 1)).toString('hex');
    const peers = new Map<string, [string, number][]>([
      [current, [[LO, 1000], [LO, 1001], ['not-an-ip', 5], [LO, 1002], [LO, 1003]]],
      [previous, [[LO, 1000], ['127.0.0.2', 2000]]],
    ]);
    const looked: string[] = [];
    const dht: TopicDht = {
      announce: () => Promise.resolve(0),
      lookup: (hash, onPeer) => {
        const hex = Buffer.from(hash).toString('hex');
        looked.push(hex);
        for (const [h, p] of peers.get(hex) ?? []) onPeer(h, p);
        return Promise.resolve(0);
      },
    };
    const reported: string[] = [];
    const watcher = new RendezvousWatcher({ dht, hostKey: key, onAddress: (a) => reported.push(`${a.host}:${a.port}`), maxNewPerMinute: 3, repeatAfterMs: 600_000, now: () => now });
    await watcher.poll();
    await watcher.poll();
    expect(new Set(looked)).toEqual(new Set([current, previous]));
    expect(reported).toEqual([`${LO}:1000`, `${LO}:1001`, `${LO}:1002`]);
    expect(watcher.stats.rateLimited).toBe(4); // 1003 and 127.0.0.2, in each of the two polls
    expect(watcher.stats.invalid).toBe(2);
    // A minute later the bound frees up; the window moved on: the old current one is now the previous.
    now += 61_000;
    await watcher.poll();
    expect(reported).toEqual([`${LO}:1000`, `${LO}:1001`, `${LO}:1002`, `${LO}:1003`]);
    await watcher.close();
    // An address still announced is reported again after repeatAfterMs (a joiner retrying from the same socket).
    const again: string[] = [];
    const repeating = new RendezvousWatcher({ dht, hostKey: key, onAddress: (a) => again.push(`${a.host}:${a.port}`), repeatAfterMs: 15_000, now: () => now });
    peers.clear();
    peers.set(Buffer.from(rendezvousHash(key, rendezvousWindow(now))).toString('hex'), [[LO, 1000]]);
    await repeating.poll();
    now += 10_000;
    await repeating.poll();
    expect(again).toEqual([`${LO}:1000`]);
    now += 6_000;
    await repeating.poll();
    expect(again).toEqual([`${LO}:1000`, `${LO}:1000`]);
    await repeating.close();
    expect(() => new RendezvousWatcher({ dht, hostKey: key, onAddress: () => undefined, repeatAfterMs: 10 })).toThrow(/repeatAfterMs/);
  });
});

describe('rendezvous on a DHT testnet', () => {
  it('after one full lookup the watcher polls only the closest nodes, and still finds a later announce', async () => {
    const { hostDht, joinDht } = await punchNet();
    const key = Keypair.generate().publicKey;
    const reported: string[] = [];
    const watcher = new RendezvousWatcher({ dht: hostDht, hostKey: key, onAddress: (a) => reported.push(`${a.host}:${a.port}`), pollIntervalMs: 50 });
    cleanup.push(() => watcher.close());
    await watcher.poll(); // nothing announced yet: full lookups of both windows
    expect(watcher.stats.fullLookups).toBe(2);
    expect(reported).toEqual([]);
    const window = rendezvousWindow(Date.now());
    expect(await joinDht.announce(rendezvousHash(key, window), 4321)).toBeGreaterThan(0);
    watcher.start();
    await until(() => reported.length === 1, 10_000, 'the announced address');
    expect(reported).toEqual([`${LO}:4321`]);
    expect(watcher.stats.targetedPolls).toBeGreaterThanOrEqual(1);
    const polls = watcher.stats.polls;
    await until(() => watcher.stats.polls >= polls + 3, 10_000, 'three more polls');
    expect(reported).toHaveLength(1); // once per window
    // Later polls stay targeted (no full lookup within fullLookupEveryMs while nodes answer).
    expect(watcher.stats.fullLookups).toBeLessThanOrEqual(2 + (rendezvousWindow(Date.now()) !== window ? 2 : 0));
  });
});

/** A DHT testnet with a host and a joiner client, each with its own punch socket. */
async function punchNet(): Promise<{ testnet: Testnet; hostDht: DhtClient; joinDht: DhtClient }> {
  const testnet = await Testnet.create(12);
  cleanup.push(() => testnet.destroy());
  const hostDht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: LO, timeoutMs: 300, maxLookupMs: 1500 });
  cleanup.push(() => hostDht.destroy());
  const joinDht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: LO, timeoutMs: 300, maxLookupMs: 1500 });
  cleanup.push(() => joinDht.destroy());
  return { testnet, hostDht, joinDht };
}

interface Pair {
  host: PunchHost;
  hostPath: PunchPath;
  joinPath: PunchLink;
  hostSocket: PunchSocket;
  joinSocket: PunchSocket;
  stats: PunchJoinStats;
}

async function connectPair(timing: { keepaliveMs?: number; idleTimeoutMs?: number } = {}): Promise<Pair> {
  const { hostDht, joinDht } = await punchNet();
  const keypair = Keypair.generate();
  const hostSocket = await punchSocket();
  const joinSocket = await punchSocket();
  const hostPaths: PunchPath[] = [];
  const host = new PunchHost({ channel: hostSocket.punch, keypair, dht: hostDht, pollIntervalMs: 200, onPath: (p) => hostPaths.push(p), ...timing });
  cleanup.push(() => host.close());
  const stats: PunchJoinStats = { announces: 0, announceFailures: 0, openersSent: 0, hellosSent: 0, probesReceived: 0, badWelcomes: 0, malformed: 0, unmatched: 0 };
  const joinPath = await punchToHost({
    channel: joinSocket.punch,
    hostKey: keypair.publicKey,
    hostPunchAddress: hostSocket.address(),
    announce: { dht: joinDht, publicPort: joinSocket.address().port },
    natType: 'cone',
    hostNatType: 'cone',
    timeoutMs: 15_000,
    stats,
    ...timing,
  });
  cleanup.push(() => joinPath.close());
  await until(() => hostPaths.length === 1, 5000, 'the host path');
  return { host, hostPath: hostPaths[0]!, joinPath, hostSocket, joinSocket, stats };
}

describe('host and joiner through the rendezvous (loopback testnet)', () => {
  it('open an authenticated path that carries DATA both ways; oversized datagrams are dropped and counted', async () => {
    const { host, hostPath, joinPath, hostSocket, joinSocket, stats } = await connectPair();
    expect(joinPath.remote).toEqual(hostSocket.address());
    expect(hostPath.remote).toEqual(joinSocket.address());
    expect(stats.announces).toBeGreaterThanOrEqual(1);
    expect(stats.probesReceived).toBeGreaterThanOrEqual(1);
    expect(stats.openersSent).toBeGreaterThanOrEqual(1);
    expect(host.stats.probesSent).toBeGreaterThanOrEqual(1);
    expect(host.stats.probesSent).toBeLessThanOrEqual(10);
    expect(host.stats.welcomesSent).toBeGreaterThanOrEqual(1);
    expect(hostSocket.stats.sentWithTtl).toBe(0); // the host never lowers its TTL
    expect(joinSocket.stats.sentWithTtl).toBe(stats.openersSent);
    const atHost: string[] = [];
    const atJoiner: string[] = [];
    hostPath.onData((p) => atHost.push(p.toString()));
    joinPath.onData((p) => atJoiner.push(p.toString()));
    for (let i = 0; i < 20; i++) joinPath.send(Buffer.from(`j${i}`));
    for (let i = 0; i < 20; i++) hostPath.send(Buffer.from(`h${i}`));
    joinPath.send(Buffer.alloc(MAX_DATA_BYTES, 0x41));
    joinPath.send(Buffer.alloc(MAX_DATA_BYTES + 1));
    hostPath.send(Buffer.alloc(0));
    await until(() => atHost.length === 21 && atJoiner.length === 20, 5000, 'DATA both ways');
    expect(atHost.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `j${i}`));
    expect(atHost[20]).toHaveLength(MAX_DATA_BYTES);
    expect(atJoiner).toEqual(Array.from({ length: 20 }, (_, i) => `h${i}`));
    expect(joinPath.stats.oversized).toBe(1);
    expect((hostPath as PunchLink).stats.oversized).toBe(1);
  });

  it('BYE ends the path on both sides', async () => {
    const { hostPath, joinPath } = await connectPair();
    const ends: string[] = [];
    hostPath.onEnd((r) => ends.push(`host:${r}`));
    joinPath.onEnd((r) => ends.push(`joiner:${r}`));
    joinPath.close();
    await until(() => ends.length === 2, 5000, 'both ends');
    expect(ends.sort()).toEqual(['host:remote-closed', 'joiner:closed']);
    joinPath.close(); // idempotent, no second end
    const late: PathEndReason[] = [];
    hostPath.onEnd((r) => late.push(r));
    await until(() => late.length === 1, 1000, 'late onEnd');
    expect(late).toEqual(['remote-closed']);
  });

  it('keepalives hold an idle path; silence ends it with timeout', async () => {
    const { host, hostPath, joinPath, joinSocket } = await connectPair({ keepaliveMs: 50, idleTimeoutMs: 1000 });
    const ends: PathEndReason[] = [];
    hostPath.onEnd((r) => ends.push(r));
    await until(() => joinPath.stats.keepalivesIn >= 30 && (hostPath as PunchLink).stats.keepalivesIn >= 30, 15_000, 'keepalives');
    expect(ends).toEqual([]); // no DATA for 30 keepalive intervals (1.5 s) with a 1 s timeout: held by keepalives
    await joinSocket.close(); // the joiner vanishes without BYE
    await until(() => ends.length === 1, 5000, 'the timeout');
    expect(ends).toEqual(['timeout']);
    expect(host.paths()).toHaveLength(0);
  });
});

describe('host rules for open paths', () => {
  it('a HELLO with another session from an open path\'s address is refused; a repeated HELLO gets its WELCOME again', async () => {
    const { host, hostPath, hostSocket, joinSocket } = await connectPair();
    const session = (hostPath as PunchLink).session;
    const welcomes = host.stats.welcomesSent;
    const welcomesSeen: Buffer[] = [];
    joinSocket.punch.onMessage((payload) => {
      const d = decodeFrame(payload);
      if (d.ok && d.frame.type === FrameType.WELCOME) welcomesSeen.push(d.frame.session);
    });
    await joinSocket.punch.send(encodeHello(Buffer.alloc(8, 0xee), Buffer.alloc(16, 1)), hostSocket.address());
    await until(() => host.stats.sessionConflicts === 1, 5000, 'the conflict');
    await joinSocket.punch.send(encodeHello(session, Buffer.alloc(16, 2)), hostSocket.address());
    await until(() => welcomesSeen.length === 1, 5000, 'the repeated WELCOME');
    expect(welcomesSeen[0]!.equals(session)).toBe(true);
    expect(host.stats.welcomesSent).toBe(welcomes + 1);
    expect(host.paths()).toEqual([hostPath]);
  });
});

describe('probing', () => {
  it('a rendezvous address gets probeCount probes; reported again (a retry), it gets one more round', async () => {
    const hostSocket = await punchSocket();
    const joiner = await rawSocket();
    const host = new PunchHost({ channel: hostSocket.punch, keypair: Keypair.generate(), onPath: () => undefined, probeCount: 5, probeIntervalMs: 20 });
    cleanup.push(() => host.close());
    host.addCandidate(joiner.address);
    host.addCandidate(joiner.address); // while probing: no second round
    await until(() => joiner.received.length === 5, 5000, 'five probes');
    await new Promise((r) => setTimeout(r, 100));
    expect(joiner.received).toHaveLength(5);
    host.addCandidate(joiner.address);
    await until(() => joiner.received.length === 10, 5000, 'five more probes');
    await new Promise((r) => setTimeout(r, 100));
    expect(joiner.received).toHaveLength(10);
    expect(host.stats.probesSent).toBe(10);
  });
});

describe('a HELLO alone (spoofed, say) makes no traffic source', () => {
  it('the host answers one WELCOME and at most one KEEPALIVE, then the path times out', async () => {
    const hostSocket = await punchSocket();
    const joiner = await rawSocket();
    const ends: PathEndReason[] = [];
    const host = new PunchHost({
      channel: hostSocket.punch, keypair: Keypair.generate(), probeCount: 1, keepaliveMs: 50, idleTimeoutMs: 600,
      onPath: (path) => path.onEnd((r) => ends.push(r)),
    });
    cleanup.push(() => host.close());
    host.addCandidate(joiner.address);
    await until(() => joiner.received.length === 1, 5000, 'the probe');
    await sendRaw(joiner.socket, encodeHello(Buffer.alloc(8, 5), Buffer.alloc(16, 5)), hostSocket.address());
    await until(() => ends.length === 1, 5000, 'the timeout');
    expect(ends).toEqual(['timeout']);
    const types = joiner.received.slice(1).map((r) => { const d = decodeFrame(r.payload); return d.ok ? d.frame.type : -1; });
    expect(types[0]).toBe(FrameType.WELCOME);
    expect(types.filter((t) => t === FrameType.KEEPALIVE).length).toBeLessThanOrEqual(1);
    expect(types.length).toBeLessThanOrEqual(2);
  });
});

describe('no amplification, no impostor', () => {
  it('addresses that did not come through the rendezvous get nothing', async () => {
    const { hostDht } = await punchNet();
    const keypair = Keypair.generate();
    const hostSocket = await punchSocket();
    const host = new PunchHost({ channel: hostSocket.punch, keypair, dht: hostDht, pollIntervalMs: 100, onPath: () => undefined });
    cleanup.push(() => host.close());
    const attacker = await rawSocket();
    const to = hostSocket.address();
    const session = Buffer.alloc(8, 3);
    for (let i = 0; i < 30; i++) {
      await sendRaw(attacker.socket, encodeHello(session, Buffer.alloc(16, i)), to);
      await sendRaw(attacker.socket, encodeKeepalive(session), to);
      await sendRaw(attacker.socket, encodeData(session, Buffer.alloc(100)), to);
      await sendRaw(attacker.socket, encodeProbe(keypair.publicKey.bytes), to);
      await sendRaw(attacker.socket, Buffer.of(PUNCH_MAGIC, 1, 99), to);
    }
    await until(() => host.stats.unsolicited === 30 && host.stats.unmatched === 90, 5000, 'the attacker frames');
    await until(() => (host.watcherStats?.polls ?? 0) >= 3, 10_000, 'three rendezvous polls');
    expect(attacker.received).toHaveLength(0);
    expect(host.stats.malformed.short).toBe(30);
    expect(host.stats.probesSent).toBe(0);
    expect(hostSocket.stats.sent).toBe(0);
    // Once an address comes through the rendezvous it gets at most probeCount small probes.
    host.addCandidate(attacker.address);
    await until(() => host.stats.probesSent === 10, 10_000, 'ten probes');
    await new Promise((r) => setTimeout(r, 700));
    expect(attacker.received).toHaveLength(10);
    expect(attacker.received.every((r) => r.payload.length === 43)).toBe(true);
    // ... and its HELLOs are answered at most at the rate limit (a burst of 4, then 2/s).
    const started = Date.now();
    for (let i = 0; i < 20; i++) await sendRaw(attacker.socket, encodeHello(session, Buffer.alloc(16, i)), to);
    await until(() => host.stats.rateLimited + host.stats.welcomesSent >= 20, 5000, 'the HELLOs');
    const bound = 4 + Math.ceil((2 * (Date.now() - started)) / 1000);
    expect(host.stats.welcomesSent).toBeLessThanOrEqual(bound);
    expect(host.stats.rateLimited).toBeGreaterThanOrEqual(20 - bound);
  });

  it('a host that signs with another key is rejected (INVALID_SIGNATURE), and so are corrupt WELCOMEs', async () => {
    const { joinDht } = await punchNet();
    const realKey = Keypair.generate();
    const impostorKey = Keypair.generate();
    const impostor = await rawSocket();
    let nonces = 0;
    impostor.socket.on('message', (payload, rinfo) => {
      const decoded = decodeFrame(payload);
      if (!decoded.ok || decoded.frame.type !== FrameType.HELLO) return;
      nonces++;
      const from = { host: rinfo.address, port: rinfo.port };
      const { session, nonce } = decoded.frame;
      const wrongKey = impostorKey.sign(welcomeMessage(nonce, session, from, realKey.publicKey.bytes));
      const good = realKey.sign(welcomeMessage(nonce, session, from, realKey.publicKey.bytes));
      const wrongSession = Buffer.from(session); wrongSession[0]! ^= 1;
      const tampered = Buffer.from(good); tampered[10]! ^= 1;
      for (const frame of [
        encodeWelcome(session, from, wrongKey), // signed by another key
        encodeWelcome(session, from, tampered), // the real key's signature, altered
        encodeWelcome(wrongSession, from, good), // another session
        encodeWelcome(session, { host: from.host, port: from.port + 1 }, good), // signature over another address
      ]) impostor.socket.send(frame, rinfo.port, rinfo.address);
    });
    // It claims to be the real host in its probes.
    const joinSocket = await punchSocket();
    const probe = setInterval(() => impostor.socket.send(encodeProbe(realKey.publicKey.bytes), joinSocket.address().port, LO), 100);
    cleanup.push(() => clearInterval(probe));
    const stats: PunchJoinStats = { announces: 0, announceFailures: 0, openersSent: 0, hellosSent: 0, probesReceived: 0, badWelcomes: 0, malformed: 0, unmatched: 0 };
    const err = await punchToHost({
      channel: joinSocket.punch, hostKey: realKey.publicKey, hostPunchAddress: impostor.address,
      announce: { dht: joinDht, publicPort: joinSocket.address().port }, timeoutMs: 2000, stats,
    }).then(() => null, (e: unknown) => e);
    expect(isPkarrError(err, 'INVALID_SIGNATURE')).toBe(true);
    expect(nonces).toBeGreaterThan(0);
    expect(stats.badWelcomes).toBeGreaterThanOrEqual(4); // every kind of bad WELCOME was rejected, none accepted
    expect(stats.badWelcomes).toBeLessThanOrEqual(nonces * 4);
    expect(stats.probesReceived).toBeGreaterThan(0);
  });
});

describe('failures are told apart', () => {
  it('two symmetric NATs fail at once with UNREACHABLE_NAT and send nothing', async () => {
    const socket = await punchSocket();
    let announced = 0;
    const dht: TopicDht = { announce: () => { announced++; return Promise.resolve(1); }, lookup: () => Promise.resolve(0) };
    const err = await punchToHost({
      channel: socket.punch, hostKey: Keypair.generate().publicKey, hostPunchAddress: { host: LO, port: 9 },
      announce: { dht, publicPort: 4000 }, natType: 'symmetric', hostNatType: 'symmetric',
    }).then(() => null, (e: unknown) => e);
    expect(isPkarrError(err, 'UNREACHABLE_NAT')).toBe(true);
    expect((err as Error).message).toMatch(/symmetric.*UPnP.*other side host/);
    expect(socket.stats.sent).toBe(0);
    expect(announced).toBe(0);
  });

  it('no answer is UNREACHABLE_NAT naming both NAT types; a failing DHT is TIMEOUT', async () => {
    const socket = await punchSocket();
    const silent = await rawSocket();
    const ok: TopicDht = { announce: () => Promise.resolve(3), lookup: () => Promise.resolve(0) };
    const base = { channel: socket.punch, hostKey: Keypair.generate().publicKey, hostPunchAddress: silent.address, timeoutMs: 600 };
    const unreachable = await punchToHost({ ...base, announce: { dht: ok, publicPort: 4000 }, natType: 'cone', hostNatType: 'symmetric' }).then(() => null, (e: unknown) => e);
    expect(isPkarrError(unreachable, 'UNREACHABLE_NAT')).toBe(true);
    expect((unreachable as Error).message).toMatch(/your NAT is cone, the host's is symmetric/);
    expect(silent.received.length).toBeGreaterThan(0); // openers went out (TTL 2, but loopback has no hops)
    const broken: TopicDht = { announce: () => Promise.reject(new PkarrError('NO_DHT_NODES', 'DHT announce: no DHT node answered')), lookup: () => Promise.resolve(0) };
    const timeout = await punchToHost({ ...base, announce: { dht: broken, publicPort: 4000 } }).then(() => null, (e: unknown) => e);
    expect(isPkarrError(timeout, 'TIMEOUT')).toBe(true);
    expect((timeout as Error).message).toMatch(/rendezvous could not be announced/);
    const controller = new AbortController();
    const aborted = punchToHost({ ...base, timeoutMs: 10_000, announce: { dht: ok, publicPort: 4000 }, signal: controller.signal });
    controller.abort(new Error('player cancelled'));
    await expect(aborted).rejects.toThrow(/player cancelled/);
    await expect(punchToHost({ ...base, openerTtl: 0, announce: { dht: ok, publicPort: 4000 } })).rejects.toThrow(/opener TTL/);
    await expect(punchToHost({ ...base, announce: { dht: ok, publicPort: 0 } })).rejects.toThrow(/public punch port/);
    await expect(punchToHost({ ...base, hostPunchAddress: { host: 'host.example', port: 7777 }, announce: { dht: ok, publicPort: 4000 } })).rejects.toThrow(/host punch address/);
    await expect(punchToHost({ ...base, announce: { dht: ok } })).rejects.toThrow(/publicPort is required unless/);
    // A symmetric joiner may leave the port out: its local port is announced (only the IP matters).
    const announcedPorts: number[] = [];
    const recording: TopicDht = { announce: (_h, port) => { announcedPorts.push(port); return Promise.resolve(1); }, lookup: () => Promise.resolve(0) };
    const sym = await punchToHost({ ...base, natType: 'symmetric', hostNatType: 'cone', timeoutMs: 300, announce: { dht: recording } }).then(() => null, (e: unknown) => e);
    expect(isPkarrError(sym, 'UNREACHABLE_NAT')).toBe(true);
    expect(announcedPorts).toEqual([socket.address().port]);
  });
});
