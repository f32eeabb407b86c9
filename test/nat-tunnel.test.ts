/**
 * The game tunnel (sidecar/src/nat/game-tunnel.ts) on loopback: a real libenet server and clients
 * (the protocol of Godot's ENetMultiplayerPeer) through HostTunnel + JoinTunnel, then a Node
 * stand-in that replays ENet's datagrams (test/nat-tunnel-enet.ts) for the exact counts: both
 * directions, burst order, oversize and foreign datagrams, path ends.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { HostTunnel, JoinTunnel, MAX_GAME_DATAGRAM, type TunnelEndReason, type TunnelLink } from '../sidecar/src/nat/game-tunnel.ts';
import {
  EnetClientStandIn, EnetServerStandIn, MAX_UNRELIABLE_BODY, connectDatagram, godotBody, parseEnet, CMD_CONNECT,
} from './nat-tunnel-enet.ts';
import { buildNativeEnet, EnetProcess, type NativeEnet } from './nat-tunnel-native.ts';
import { memoryPathPair, punchLinkPair, udpPathPair, type TestPathPair } from './nat-tunnel-paths.ts';
import { closeSocket, loopbackSocket, portIsFree, until } from './nat-tunnel-sockets.ts';

/** Lets queued datagrams (loopback sends, setImmediate deliveries) land. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 60));

describe('game tunnel with a real ENet server and clients (libenet)', () => {
  let native: NativeEnet;
  beforeAll(async () => {
    native = await buildNativeEnet();
  });
  afterAll(async () => {
    await native?.dispose();
  });

  it('two joiners reach one ENet server as two local peers; every packet echoes back; path loss closes the sockets', async () => {
    const server = new EnetProcess(native.binary, ['server']);
    const host = new HostTunnel({ gamePort: Number((await server.waitFor((l) => l.startsWith('listening '), 5000, 'listening')).split(' ')[1]) });
    const pairs: TestPathPair[] = [memoryPathPair(), memoryPathPair()];
    const joins: JoinTunnel[] = [];
    const clients: EnetProcess[] = [];
    const ended: [TunnelLink, TunnelEndReason][] = [];
    host.on('player-ended', (link, reason) => ended.push([link, reason]));
    const PACKETS = 24;
    try {
      const players = [await host.addPlayer(pairs[0]!.b), await host.addPlayer(pairs[1]!.b)];
      for (const pair of pairs) joins.push(await JoinTunnel.open(pair.a));
      const ids = [1001, 2002];
      joins.forEach((j, i) => clients.push(new EnetProcess(native.binary, ['client', String(j.localPort), String(ids[i]), String(PACKETS)])));
      for (const c of clients) await c.waitFor((l) => l === 'done' || l === 'timeout', 15_000, 'the client to finish');

      for (const [i, c] of clients.entries()) {
        expect(c.lines).toContain('done');
        const echoes = c.lines.filter((l) => l.startsWith('echo ')).map((l) => Number(l.split(' ')[1]));
        expect(echoes).toEqual(Array.from({ length: PACKETS }, (_, k) => k));
        // The server saw this joiner as its own local peer 127.0.0.1:<host link's port>, with its Godot id.
        const port = players[i]!.localPort;
        expect(server.lines).toContain(`connect ${port} ${ids[i]}`);
        expect(server.lines.filter((l) => l.startsWith(`recv ${port} `))).toHaveLength(PACKETS);
      }
      expect(new Set(players.map((p) => p.localPort)).size).toBe(2);
      expect(players.map((p) => p.localPort)).not.toContain(joins[0]!.localPort);

      // The first datagram a real ENet client sends is the 52-byte CONNECT the stand-in replays.
      for (const [i, pair] of pairs.entries()) {
        const first = pair.a.firstSent[0]!;
        expect(first.length).toBe(52);
        expect(parseEnet(first).commands[0]!.command).toBe(CMD_CONNECT);
        const replay = connectDatagram({ sentTime: first.readUInt16BE(2), outgoingPeerId: 0, channelCount: 255, connectId: first.readUInt32BE(44), data: ids[i]! });
        expect(first.equals(replay)).toBe(true);
      }
      // ENet fragmented the 3000-byte packets itself: nothing over the MTU reached the tunnel.
      for (const link of [...players, ...joins]) {
        expect(link.stats.oversizeFromGame).toBe(0);
        expect(link.stats.oversizeFromPath).toBe(0);
        expect(link.stats.foreign).toBe(0);
      }
      const sizes = pairs.flatMap((p) => [...p.a.firstSent, ...p.b.firstSent].map((b) => b.length));
      expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_GAME_DATAGRAM);
      // Counters agree with what the paths carried.
      for (const [i, pair] of pairs.entries()) {
        expect(joins[i]!.stats.toPathPackets).toBe(pair.a.sent.packets);
        expect(joins[i]!.stats.toPathBytes).toBe(pair.a.sent.bytes);
        expect(players[i]!.stats.toPathPackets).toBe(pair.b.sent.packets);
        expect(players[i]!.stats.toGamePackets).toBe(pair.a.sent.packets);
        expect(joins[i]!.stats.toGamePackets).toBe(pair.b.sent.packets);
      }
      // The clients disconnected cleanly through the tunnel.
      for (const p of players) await server.waitFor((l) => l === `disconnect ${p.localPort}`, 5000, 'disconnect');

      // Keepalives lost: both ends report it and free their sockets.
      const lost: TunnelEndReason[] = [];
      joins[0]!.on('lost', (r) => lost.push(r));
      pairs[0]!.lose();
      expect(lost).toEqual(['timeout']);
      expect(ended.map(([l, r]) => [l.localPort, r])).toEqual([[players[0]!.localPort, 'timeout']]);
      expect(host.players).toHaveLength(1);
      expect(await portIsFree(players[0]!.localPort)).toBe(true);
      expect(await portIsFree(joins[0]!.localPort)).toBe(true);
    } finally {
      host.close();
      for (const j of joins) j.close();
      for (const c of clients) await c.stop();
      await server.stop();
    }
  });

  it("carries a real ENet session over the puncher's PunchLink; a vanished joiner ends the player with timeout", async () => {
    const server = new EnetProcess(native.binary, ['server']);
    const host = new HostTunnel({ gamePort: Number((await server.waitFor((l) => l.startsWith('listening '), 5000, 'listening')).split(' ')[1]) });
    const pair = await punchLinkPair({ keepaliveMs: 100, idleTimeoutMs: 600 });
    const ended: TunnelEndReason[] = [];
    host.on('player-ended', (_l, r) => ended.push(r));
    let client: EnetProcess | null = null;
    let join: JoinTunnel | null = null;
    try {
      const player = await host.addPlayer(pair.b);
      join = await JoinTunnel.open(pair.a);
      client = new EnetProcess(native.binary, ['client', String(join.localPort), '4242', '16']);
      await client.waitFor((l) => l === 'done' || l === 'timeout', 15_000, 'the client to finish');
      expect(client.lines).toContain('done');
      expect(server.lines).toContain(`connect ${player.localPort} 4242`);
      expect(client.lines.filter((l) => l.startsWith('echo '))).toHaveLength(16);
      expect(pair.a.stats.oversized + pair.b.stats.oversized).toBe(0);
      expect(pair.a.stats.dataOut).toBe(join.stats.toPathPackets);
      expect(pair.b.stats.dataIn).toBe(player.stats.toGamePackets);

      // The joiner's machine vanishes (its punch socket closes, no BYE): both links time out.
      const lost: TunnelEndReason[] = [];
      join.on('lost', (r) => lost.push(r));
      await pair.sockets[0].close();
      await until(() => ended.length === 1 && lost.length === 1, 'idle timeouts');
      expect(ended).toEqual(['timeout']);
      expect(lost).toEqual(['timeout']);
      expect(await portIsFree(player.localPort)).toBe(true);
      expect(await portIsFree(join.localPort)).toBe(true);
    } finally {
      host.close();
      join?.close();
      await client?.stop();
      await server.stop();
      await pair.dispose();
    }
  });
});

describe('game tunnel with the Node ENet stand-in', () => {
  it('two joiners over UDP paths: distinct local peers, both directions, byte-identical, burst order kept', async () => {
    const server = await EnetServerStandIn.start();
    const host = new HostTunnel({ gamePort: server.port });
    const pairs = [await udpPathPair(), await udpPathPair()];
    const clients = [await EnetClientStandIn.start(11), await EnetClientStandIn.start(22)];
    const joins: JoinTunnel[] = [];
    try {
      const players = [];
      for (const pair of pairs) {
        players.push(await host.addPlayer(pair.b));
        joins.push(await JoinTunnel.open(pair.a));
      }
      for (const [i, c] of clients.entries()) await c.connect(joins[i]!.localPort);
      expect(server.peers.map((p) => [p.port, p.godotId])).toEqual([[players[0]!.localPort, 11], [players[1]!.localPort, 22]]);
      expect(joins.map((j) => j.gameClient)).toEqual(clients.map((c) => ({ host: '127.0.0.1', port: c.port })));

      // A burst per window from both clients at once; sizes cycle up to a full 1400-byte datagram.
      const TOTAL = 400;
      const WINDOW = 50;
      const sent: Buffer[][] = [[], []];
      for (let start = 0; start < TOTAL; start += WINDOW) {
        for (const [i, c] of clients.entries()) {
          for (let seq = start; seq < start + WINDOW; seq++) {
            const body = Buffer.alloc(seq % 7 === 0 ? MAX_UNRELIABLE_BODY : 16 + ((seq * 131) % 900), seq & 0xff);
            body.writeUInt32BE(seq, 0);
            const d = c.packet(body, seq);
            sent[i]!.push(d);
            c.raw(d, joins[i]!.localPort);
          }
        }
        for (const c of clients) await c.until(() => c.received.length >= start + WINDOW, 5000, 'echoes');
      }
      for (const [i, c] of clients.entries()) {
        const peer = server.peers[i]!;
        // Server side: exactly the datagrams the client sent, byte for byte, in order.
        expect(peer.received.length).toBe(TOTAL);
        expect(peer.received.every((d, k) => d.equals(sent[i]![k]!))).toBe(true);
        // Client side: every echo, in order.
        expect(c.received.map((d) => godotBody(d).readUInt32BE(0))).toEqual(Array.from({ length: TOTAL }, (_, k) => k));
        expect(Math.max(...sent[i]!.map((d) => d.length))).toBe(MAX_GAME_DATAGRAM);
        expect(joins[i]!.stats).toMatchObject({ toPathPackets: TOTAL + 1, toGamePackets: TOTAL + 1, oversizeFromGame: 0, foreign: 0, undeliverable: 0 });
        expect(players[i]!.stats).toMatchObject({ toPathPackets: TOTAL + 1, toGamePackets: TOTAL + 1, oversizeFromGame: 0, foreign: 0 });
      }
      expect(server.addressMismatches).toBe(0);
    } finally {
      host.close();
      for (const j of joins) j.close();
      for (const c of clients) await c.stop();
      await server.stop();
      for (const p of pairs) await p.dispose();
    }
  });

  it('drops and counts datagrams over 1400 bytes in every direction (and empty ones), never fragmenting', async () => {
    const game = await loopbackSocket(); // the host's ENet server port
    const host = new HostTunnel({ gamePort: game.address().port });
    const pair = memoryPathPair();
    const client = await loopbackSocket();
    const player = await host.addPlayer(pair.b);
    const join = await JoinTunnel.open(pair.a);
    const atServer: Buffer[] = [];
    const atClient: Buffer[] = [];
    game.on('message', (m) => atServer.push(m));
    client.on('message', (m) => atClient.push(m));
    try {
      const connect = connectDatagram({ sentTime: 7, outgoingPeerId: 0, channelCount: 255, connectId: 1, data: 7 });
      client.send(connect, join.localPort, '127.0.0.1');
      await until(() => atServer.length === 1, 'CONNECT at the server');
      expect(atServer[0]!.equals(connect)).toBe(true);

      // Joiner's game → path.
      client.send(Buffer.alloc(MAX_GAME_DATAGRAM + 1, 1), join.localPort, '127.0.0.1');
      client.send(Buffer.alloc(9000, 2), join.localPort, '127.0.0.1');
      client.send(Buffer.alloc(0), join.localPort, '127.0.0.1');
      client.send(Buffer.alloc(MAX_GAME_DATAGRAM, 3), join.localPort, '127.0.0.1');
      await until(() => join.stats.oversizeFromGame === 2 && atServer.length === 2, 'joiner oversize');
      expect(join.stats.emptyFromGame).toBe(1);
      expect(atServer[1]!.equals(Buffer.alloc(MAX_GAME_DATAGRAM, 3))).toBe(true);

      // Host's game (the ENet server's port) → path.
      game.send(Buffer.alloc(MAX_GAME_DATAGRAM + 1, 4), player.localPort, '127.0.0.1');
      game.send(Buffer.alloc(MAX_GAME_DATAGRAM, 5), player.localPort, '127.0.0.1');
      await until(() => player.stats.oversizeFromGame === 1 && atClient.length === 1, 'host oversize');
      expect(atClient[0]!.equals(Buffer.alloc(MAX_GAME_DATAGRAM, 5))).toBe(true);

      // A remote sending too much into the path: dropped at both tunnels.
      pair.a.inject(Buffer.alloc(MAX_GAME_DATAGRAM + 1));
      pair.b.inject(Buffer.alloc(MAX_GAME_DATAGRAM + 50));
      expect(join.stats.oversizeFromPath).toBe(1);
      expect(player.stats.oversizeFromPath).toBe(1);
      await settle();
      expect(atServer).toHaveLength(2);
      expect(atClient).toHaveLength(1);
      expect([...pair.a.firstSent, ...pair.b.firstSent].every((d) => d.length <= MAX_GAME_DATAGRAM)).toBe(true);
      expect(join.stats).toMatchObject({ toPathPackets: 2, toGamePackets: 1 });
      expect(player.stats).toMatchObject({ toPathPackets: 1, toGamePackets: 2 });
    } finally {
      host.close();
      join.close();
      for (const s of [game, client]) await closeSocket(s);
    }
  });

  it("works with Godot's dual-stack sockets (IPv6 sockets reaching 127.0.0.1 as ::ffff:127.0.0.1) on both ends", async () => {
    // Godot's ENet opens its sockets as IP::TYPE_ANY (thirdparty/enet/godot.cpp): IPv6 with
    // IPV6_V6ONLY off, so 127.0.0.1 is ::ffff:127.0.0.1 on its side. Bound to that mapped address
    // here (not a wildcard).
    const dualStack = async (): Promise<Socket> => {
      const s = createSocket({ type: 'udp6', ipv6Only: false });
      await new Promise<void>((ok, fail) => {
        s.once('error', fail);
        s.bind({ port: 0, address: '::ffff:127.0.0.1' }, () => { s.off('error', fail); ok(); });
      });
      return s;
    };
    const game = await dualStack();
    game.on('message', (m, from) => game.send(m, from.port, from.address));
    const client = await dualStack();
    const echoes: Buffer[] = [];
    client.on('message', (m) => echoes.push(m));
    const host = new HostTunnel({ gamePort: game.address().port });
    const pair = memoryPathPair();
    const player = await host.addPlayer(pair.b);
    const join = await JoinTunnel.open(pair.a);
    try {
      const connect = connectDatagram({ sentTime: 3, outgoingPeerId: 0, channelCount: 255, connectId: 3, data: 3 });
      client.send(connect, join.localPort, '::ffff:127.0.0.1');
      await until(() => echoes.length === 1, 'echo through dual-stack sockets');
      expect(echoes[0]!.equals(connect)).toBe(true);
      expect(join.gameClient).toEqual({ host: '127.0.0.1', port: client.address().port });
      expect(player.stats.foreign).toBe(0);
      expect(join.stats.foreign).toBe(0);
    } finally {
      host.close();
      join.close();
      for (const s of [game, client]) await closeSocket(s);
    }
  });

  it('drops and counts datagrams from local senders other than the game', async () => {
    const server = await EnetServerStandIn.start();
    const host = new HostTunnel({ gamePort: server.port });
    const pair = memoryPathPair();
    const client = await EnetClientStandIn.start(9);
    const rogue = await loopbackSocket();
    const player = await host.addPlayer(pair.b);
    const join = await JoinTunnel.open(pair.a);
    try {
      await client.connect(join.localPort);
      const joinSent = pair.a.sent.packets;
      const hostSent = pair.b.sent.packets;
      rogue.send(client.packet(Buffer.from('not the game'), 1), join.localPort, '127.0.0.1');
      rogue.send(Buffer.from('spoofed server reply'), player.localPort, '127.0.0.1');
      await until(() => join.stats.foreign === 1 && player.stats.foreign === 1, 'foreign counts');
      await settle();
      expect(pair.a.sent.packets).toBe(joinSent);
      expect(pair.b.sent.packets).toBe(hostSent);
      // The real client still gets through.
      client.raw(client.packet(Buffer.from('still me'), 2), join.localPort);
      await client.until(() => client.received.length === 1, 5000, 'echo');
      expect(godotBody(client.received[0]!).toString()).toBe('still me');
    } finally {
      host.close();
      join.close();
      await client.stop();
      await server.stop();
      await closeSocket(rogue);
    }
  });

  it('reports path ends, closes sockets, and closes paths when the tunnel closes', async () => {
    const server = await EnetServerStandIn.start();
    const host = new HostTunnel({ gamePort: server.port });
    const ended: TunnelEndReason[] = [];
    host.on('player-ended', (_l, r) => ended.push(r));
    const [p1, p2, p3] = [memoryPathPair(), memoryPathPair(), memoryPathPair()];
    try {
      const players = [await host.addPlayer(p1.b), await host.addPlayer(p2.b), await host.addPlayer(p3.b)];
      const joins = [await JoinTunnel.open(p1.a), await JoinTunnel.open(p2.a)];
      const lost: TunnelEndReason[][] = [[], []];
      joins.forEach((j, i) => j.on('lost', (r) => lost[i]!.push(r)));

      // The host ends player 1's path: its joiner hears 'remote-closed'.
      players[0]!.close();
      expect(p1.b.closeCalls).toBe(1);
      await until(() => lost[0]!.length === 1, 'lost');
      expect(lost[0]).toEqual(['remote-closed']);
      expect(joins[0]!.ended).toBe('remote-closed');

      // The joiner closes: its path is closed, the host reports the player gone.
      joins[1]!.close();
      expect(lost[1]).toEqual(['closed']);
      expect(p2.a.closeCalls).toBe(1);
      await until(() => ended.length === 2, 'player-ended');
      expect(ended).toEqual(['closed', 'remote-closed']);

      // Closing the host tunnel closes the remaining path.
      host.close();
      expect(p3.b.closeCalls).toBe(1);
      expect(ended).toEqual(['closed', 'remote-closed', 'closed']);
      for (const link of [...players, ...joins]) expect(await portIsFree(link.localPort)).toBe(true);
      expect(host.players).toHaveLength(0);
      await expect(host.addPlayer(memoryPathPair().b)).rejects.toSatisfy((e: unknown) => isPkarrError(e, 'INVALID_ARGUMENT'));
    } finally {
      host.close();
      await server.stop();
    }
  });

  it('queues path data while a player socket opens and holds joiner data until the ENet client speaks', async () => {
    const server = await EnetServerStandIn.start();
    const host = new HostTunnel({ gamePort: server.port });
    const pair = memoryPathPair();
    try {
      const adding = host.addPlayer(pair.b);
      // ENet's CONNECT arriving before the socket is open is delivered once it is.
      pair.b.inject(connectDatagram({ sentTime: 1, outgoingPeerId: 0, channelCount: 255, connectId: 99, data: 5 }));
      const player = await adding;
      await until(() => server.peers.length === 1, 'CONNECT delivered');
      expect(server.peers[0]!.port).toBe(player.localPort);

      const join = await JoinTunnel.open(pair.a);
      // Nothing to deliver to before the ENet client's first datagram: dropped and counted.
      pair.a.inject(Buffer.from('early'));
      expect(join.stats.undeliverable).toBe(1);
      expect(join.gameClient).toBeNull();
      join.close();
    } finally {
      host.close();
      await server.stop();
    }
  });

  it('refuses bad input with PkarrError', async () => {
    for (const gamePort of [0, 65536, 1.5, Number.NaN, '7777' as unknown as number]) {
      expect(() => new HostTunnel({ gamePort })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    const host = new HostTunnel({ gamePort: 7 });
    const pair = memoryPathPair();
    try {
      await host.addPlayer(pair.b);
      await expect(host.addPlayer(pair.b)).rejects.toSatisfy((e: unknown) => isPkarrError(e, 'INVALID_ARGUMENT'));
    } finally {
      host.close();
    }
  });
});
