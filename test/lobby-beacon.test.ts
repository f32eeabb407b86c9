/** The lobby beacon server and client on 127.0.0.1, and the verdicts on what beacons serve. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { BEACON_CONTENT_TYPE, BeaconServer, type BeaconServerOptions } from '../sidecar/src/lobby/beacon-server.ts';
import { fetchBeacon } from '../sidecar/src/lobby/beacon-client.ts';
import { judgeBeaconAnswer } from '../sidecar/src/lobby/beacon-scan.ts';
import { signLobby, type LobbyInfo } from '../sidecar/src/lobby/lobby-record.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function beacon(options: BeaconServerOptions = {}): Promise<BeaconServer> {
  const server = await BeaconServer.start({ host: '127.0.0.1', ...options });
  cleanup.push(() => server.close());
  return server;
}

async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return (server.address() as AddressInfo).port;
}

const keypair = Keypair.generate();
function lobbyInfo(beaconPort: number, extra: Partial<LobbyInfo> = {}): LobbyInfo {
  return { game: 'tanks', gameVersion: '1', name: 'Room', players: 1, maxPlayers: 4, open: true, beaconPort, endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 7777 }], ...extra };
}

describe('beacon server', () => {
  it('serves the current packet at GET /pkarr-lobby and nothing else', async () => {
    const server = await beacon();
    const url = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${url}/pkarr-lobby`)).status).toBe(503); // nothing set yet
    const packet = signLobby(keypair, lobbyInfo(server.port));
    server.setPacket(packet);
    const res = await fetch(`${url}/pkarr-lobby`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(BEACON_CONTENT_TYPE);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(packet.toBytes()))).toBe(true);
    expect((await fetch(`${url}/`)).status).toBe(404);
    expect((await fetch(`${url}/pkarr-lobby/x`)).status).toBe(404);
    expect((await fetch(`${url}/pkarr-lobby`, { method: 'PUT', body: 'x' })).status).toBe(405);
    expect(server.stats).toMatchObject({ served: 1, rejected: 3 });
  });

  it('rate-limits each client', async () => {
    const server = await beacon({ rateLimit: { requests: 1, periodMs: 60_000, burst: 3 } });
    server.setPacket(signLobby(keypair, lobbyInfo(server.port)));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`http://127.0.0.1:${server.port}/pkarr-lobby`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(server.stats.limited).toBe(2);
  });

  it('refuses to bind a taken port with IO_ERROR', async () => {
    const server = await beacon();
    await expect(BeaconServer.start({ host: '127.0.0.1', port: server.port })).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});

describe('beacon client', () => {
  it('fetches the packet bytes', async () => {
    const server = await beacon();
    const packet = signLobby(keypair, lobbyInfo(server.port));
    server.setPacket(packet);
    const answer = await fetchBeacon('127.0.0.1', server.port);
    expect(answer.ok).toBe(true);
    if (answer.ok) expect(SignedPacket.fromBytes(answer.bytes).isSameAs(packet)).toBe(true);
  });

  it('reports refused, hanging, non-200 and oversized beacons without throwing', async () => {
    const refusedPort = await rawServer(() => undefined).then(async (port) => {
      await cleanup.pop()!(); // close it again: nothing listens there any more
      return port;
    });
    expect(await fetchBeacon('127.0.0.1', refusedPort)).toMatchObject({ ok: false, failure: 'unreachable' });
    const hanging = await rawServer(() => undefined); // accepts, never answers
    const started = Date.now();
    expect(await fetchBeacon('127.0.0.1', hanging, { timeoutMs: 200 })).toMatchObject({ ok: false, failure: 'unreachable', detail: 'timeout after 200 ms' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const teapot = await rawServer((_req, res) => res.writeHead(418).end('no'));
    expect(await fetchBeacon('127.0.0.1', teapot)).toMatchObject({ ok: false, failure: 'unreachable', detail: 'HTTP 418' });
    const big = await rawServer((_req, res) => res.writeHead(200).end(Buffer.alloc(5000)));
    expect(await fetchBeacon('127.0.0.1', big)).toMatchObject({ ok: false, failure: 'oversized' });
    const chunked = await rawServer((_req, res) => { res.writeHead(200); res.write(Buffer.alloc(1000)); res.end(Buffer.alloc(1000)); });
    expect(await fetchBeacon('127.0.0.1', chunked)).toMatchObject({ ok: false, failure: 'oversized', detail: 'body over 1104 bytes' });
  });
});

describe('beacon verdicts', () => {
  const at = { host: '127.0.0.1', port: 41000 };
  const good = signLobby(keypair, lobbyInfo(41000));

  it('accepts a lobby of our game that names this beacon', () => {
    const verdict = judgeBeaconAnswer(good.toBytes(), at, 'tanks', '1');
    expect(verdict.ok).toBe(true);
  });

  it('sorts out forged, foreign and replayed answers', () => {
    const forged = good.toBytes().slice();
    forged[40] = (forged[40] ?? 0) ^ 1; // a signature byte
    expect(judgeBeaconAnswer(forged, at, 'tanks', '1')).toMatchObject({ ok: false, reason: 'badSignature' });
    expect(judgeBeaconAnswer(new Uint8Array(50), at, 'tanks', '1')).toMatchObject({ ok: false, reason: 'badSignature' });
    expect(judgeBeaconAnswer(good.toBytes(), at, 'tanks', '2')).toMatchObject({ ok: false, reason: 'otherGame' });
    expect(judgeBeaconAnswer(good.toBytes(), at, 'chess', '1')).toMatchObject({ ok: false, reason: 'otherGame' });
    const plain = SignedPacket.sign(keypair, [{ type: 'A', name: '@', ttl: 60, address: '127.0.0.1' }]);
    expect(judgeBeaconAnswer(plain.toBytes(), at, 'tanks', '1')).toMatchObject({ ok: false, reason: 'notLobby' });
    // Someone else's valid lobby, served from another beacon: refused.
    expect(judgeBeaconAnswer(good.toBytes(), { host: '127.0.0.1', port: 41001 }, 'tanks', '1')).toMatchObject({ ok: false, reason: 'wrongBeacon' });
    expect(judgeBeaconAnswer(good.toBytes(), { host: '127.0.0.2', port: 41000 }, 'tanks', '1')).toMatchObject({ ok: false, reason: 'wrongBeacon' });
    expect(judgeBeaconAnswer(good.toBytes(), { host: '127.0.0.2', port: 41000 }, 'tanks', '1', false).ok).toBe(true);
    const noBeacon = signLobby(keypair, { ...lobbyInfo(41000), beaconPort: undefined });
    expect(judgeBeaconAnswer(noBeacon.toBytes(), at, 'tanks', '1')).toMatchObject({ ok: false, reason: 'wrongBeacon' });
  });
});
