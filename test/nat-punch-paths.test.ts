/**
 * Hole punching on loopback (no NAT), host and joiner: they meet through the rendezvous on a local
 * DHT testnet, the WELCOME signature is checked, nothing is sent to addresses that did not come
 * through the rendezvous, keepalives, timeouts, BYE, DATA, and the failures told apart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isPkarrError, PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import type { TopicDht } from '../sidecar/src/lobby/topic.ts';
import {
  decodeFrame, encodeData, encodeHello, encodeKeepalive, encodeProbe, encodeWelcome, FrameType, MAX_DATA_BYTES,
  PUNCH_MAGIC, welcomeMessage,
} from '../sidecar/src/nat/punch-frames.ts';
import type { PunchLink } from '../sidecar/src/nat/punch-link.ts';
import type { PathEndReason } from '../sidecar/src/nat/punch-path.ts';
import { PunchHost } from '../sidecar/src/nat/puncher-host.ts';
import { punchToHost, type PunchJoinStats } from '../sidecar/src/nat/puncher-joiner.ts';
import { cleanup, connectPair, LO, punchNet, punchSocket, rawSocket, runCleanup, sendRaw, until } from './nat-punch-helpers.ts';

afterEach(runCleanup);

describe('host and joiner through the rendezvous (loopback testnet)', () => {
  it('open an authenticated path that carries DATA both ways; oversized datagrams are dropped and counted', async () => {
    const { host, hostPath, joinPath, hostSocket, joinSocket, stats, announced } = await connectPair();
    expect(joinPath.remote).toEqual(hostSocket.address());
    // Every announce that ended was told (one may still run when the path opened).
    expect(announced.length).toBeGreaterThanOrEqual(stats.announces - 1);
    expect(announced.every((a) => a.error === undefined && a.stored > 0 && a.ms >= 0)).toBe(true);
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
    const seen: string[] = [];
    const host = new PunchHost({
      channel: hostSocket.punch, keypair: Keypair.generate(), onPath: () => undefined, probeCount: 5, probeIntervalMs: 20,
      onCandidate: (a, probing) => seen.push(`${a.port === joiner.address.port ? 'joiner' : a.port} ${probing ? 'probing' : 'not probing'}`),
    });
    cleanup.push(() => host.close());
    host.addCandidate(joiner.address);
    host.addCandidate(joiner.address); // while probing: no second round
    expect(seen).toEqual(['joiner probing', 'joiner not probing']);
    await until(() => joiner.received.length === 5, 5000, 'five probes');
    await new Promise((r) => setTimeout(r, 100));
    expect(joiner.received).toHaveLength(5);
    host.addCandidate(joiner.address);
    await until(() => joiner.received.length === 10, 5000, 'five more probes');
    await new Promise((r) => setTimeout(r, 100));
    expect(joiner.received).toHaveLength(10);
    expect(host.stats.probesSent).toBe(10);
    expect(seen).toEqual(['joiner probing', 'joiner not probing', 'joiner probing']);
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
