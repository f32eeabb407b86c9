/**
 * Hole punching on loopback, the parts: the punch frames, the punch socket's demultiplexing and
 * per-datagram TTL, the rendezvous hash and watcher. Host and joiner: nat-punch-paths.test.ts; the
 * NAT behaviour itself: nat-punch-lab.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isPkarrError, PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import type { TopicDht } from '../sidecar/src/lobby/topic.ts';
import {
  decodeFrame, encodeBye, encodeData, encodeHello, encodeKeepalive, encodeProbe, encodeWelcome, FrameType, MAX_DATA_BYTES,
  PUNCH_MAGIC,
} from '../sidecar/src/nat/punch-frames.ts';
import { PunchSocket } from '../sidecar/src/nat/punch-socket.ts';
import { rendezvousHash, rendezvousWindow, RendezvousWatcher } from '../sidecar/src/nat/rendezvous.ts';
import { cleanup, LO, punchNet, punchSocket, rawSocket, runCleanup, sendRaw, until } from './nat-punch-helpers.ts';

afterEach(runCleanup);

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

describe('rendezvous watcher logs', () => {
  it('tells each full lookup: its window, the peers it saw (reported or not) and a failure', async () => {
    const key = Keypair.generate().publicKey;
    const now = 29_000_000 * 60_000 + 1000;
    const current = Buffer.from(rendezvousHash(key, 29_000_000)).toString('hex');
    let fail = false;
    const dht: TopicDht = {
      announce: () => Promise.resolve(0),
      lookup: (hash, onPeer) => {
        if (fail) return Promise.reject(new Error('DHT down'));
        if (Buffer.from(hash).toString('hex') !== current) return Promise.resolve(0);
        onPeer(LO, 1000);
        onPeer(LO, 1001);
        return Promise.resolve(2); // as TopicDht says: the distinct peers it reported
      },
    };
    const lookups: { window: number; peers: number; error?: string }[] = [];
    const watcher = new RendezvousWatcher({ dht, hostKey: key, onAddress: () => undefined, now: () => now, onFullLookup: ({ window, peers, error }) => lookups.push({ window, peers, ...(error === undefined ? {} : { error }) }) });
    await watcher.poll();
    await watcher.poll(); // the same peers again: seen, not reported again
    expect(lookups).toEqual([{ window: 29_000_000, peers: 2 }, { window: 28_999_999, peers: 0 }, { window: 29_000_000, peers: 2 }, { window: 28_999_999, peers: 0 }]);
    expect(watcher.stats.reported).toBe(2);
    fail = true;
    lookups.length = 0;
    await watcher.poll();
    expect(lookups).toEqual([{ window: 29_000_000, peers: 0, error: 'DHT down' }, { window: 28_999_999, peers: 0, error: 'DHT down' }]);
    expect(watcher.stats.failedLookups).toBe(2);
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

