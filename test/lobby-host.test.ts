/** LobbyHost's lifecycle against an in-memory client and DHT (beacons on 127.0.0.1). */
import { afterEach, describe, expect, it } from 'vitest';
import type { PkarrClient, PublishResult } from '../sidecar/src/client/types.ts';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { fetchBeacon } from '../sidecar/src/lobby/beacon-client.ts';
import { LobbyHost, type LobbyHostOptions, type LobbyOpenOptions } from '../sidecar/src/lobby/lobby-host.ts';
import { parseLobby } from '../sidecar/src/lobby/lobby-record.ts';
import { lobbyTopic } from '../sidecar/src/lobby/topic.ts';

const OK: PublishResult = { storedOn: 20, dht: { ok: true, storedOn: 20 }, relays: [] };

class FakeClient implements PkarrClient {
  readonly published: SignedPacket[] = [];
  failNext: PkarrError | null = null;
  async resolve(): Promise<null> {
    return null;
  }
  async publish(packet: SignedPacket): Promise<PublishResult> {
    if (this.failNext !== null) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    this.published.push(packet);
    return OK;
  }
}

class FakeDht {
  readonly announces: { topic: string; port: number }[] = [];
  announceError: Error | null = null;
  external: { host: string; port: number; votes: number } | null = null;
  async announce(infoHash: Uint8Array, port: number): Promise<number> {
    if (this.announceError !== null) throw this.announceError;
    this.announces.push({ topic: Buffer.from(infoHash).toString('hex'), port });
    return 8;
  }
  async lookup(): Promise<number> {
    return 0;
  }
  externalAddress(): { host: string; port: number; votes: number } | null {
    return this.external;
  }
}

const hosts: LobbyHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.dispose();
});

function makeHost(extra: Partial<LobbyHostOptions> = {}): { host: LobbyHost; client: FakeClient; dht: FakeDht } {
  const client = new FakeClient();
  const dht = new FakeDht();
  const host = new LobbyHost({ client, dht, keypair: Keypair.generate(), beaconHost: '127.0.0.1', ...extra });
  hosts.push(host);
  return { host, client, dht };
}

// Not listed in the lobby directory: these tests count the lobby's own publishes (the directory has test/lobby-directory.test.ts).
const OPEN: LobbyOpenOptions = { game: 'tanks', gameVersion: '1', name: 'Room', maxPlayers: 4, port: 7777, address: '127.0.0.1', directory: false };

async function served(port: number): Promise<SignedPacket | null> {
  const answer = await fetchBeacon('127.0.0.1', port, { timeoutMs: 3000 });
  return answer.ok ? SignedPacket.fromBytes(answer.bytes) : null;
}

describe('LobbyHost', () => {
  it('opens: publishes, serves the same record on its beacon and announces that port', async () => {
    const { host, client, dht } = makeHost();
    const opened = await host.open({ ...OPEN, custom: { mode: 'ctf' } });
    expect(client.published).toHaveLength(1);
    const lobby = parseLobby(client.published[0]!);
    expect(lobby).toMatchObject({ name: 'Room', players: 0, open: true, beaconPort: opened.beaconPort, custom: { mode: 'ctf' } });
    expect(lobby.endpoints).toEqual([{ transport: 'enet', host: '127.0.0.1', port: 7777 }]);
    expect(dht.announces).toEqual([{ topic: Buffer.from(lobbyTopic('tanks', '1')).toString('hex'), port: opened.beaconPort }]);
    expect(opened).toMatchObject({ announcedTo: 8, addressSource: 'configured' });
    expect((await served(opened.beaconPort!))?.isSameAs(client.published[0]!)).toBe(true);
    await expect(host.open(OPEN)).rejects.toThrow(/already open/);
  });

  it('leaves nothing running when the publish fails, and can open again', async () => {
    const { host, client } = makeHost();
    client.failNext = new PkarrError('NO_DHT_NODES', 'no DHT node answered');
    await expect(host.open(OPEN)).rejects.toMatchObject({ code: 'NO_DHT_NODES' });
    expect(host.beaconPort).toBeNull();
    expect(host.isOpen).toBe(false);
    const opened = await host.open(OPEN);
    expect(host.isOpen).toBe(true);
    expect(opened.beaconPort).toBe(host.beaconPort);
  });

  it('reports a failed announce without failing open', async () => {
    const errors: string[] = [];
    const { host, dht } = makeHost({ onError: (what) => errors.push(what) });
    dht.announceError = new PkarrError('NO_DHT_NODES', 'DHT announce: no DHT node answered');
    const opened = await host.open(OPEN);
    expect(opened).toMatchObject({ announcedTo: null, announceError: 'DHT announce: no DHT node answered' });
    expect(errors).toEqual(['announce']);
    expect(host.isOpen).toBe(true);
  });

  it('re-signs and re-publishes while open', async () => {
    const { host, client } = makeHost({ republishIntervalMs: 100 });
    const opened = await host.open(OPEN);
    const deadline = Date.now() + 15_000;
    while (client.published.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(client.published.length).toBeGreaterThanOrEqual(3);
    const [a, b] = [client.published[0]!, client.published.at(-1)!];
    expect(b.timestamp > a.timestamp).toBe(true);
    expect(parseLobby(b).name).toBe('Room');
    expect((await served(opened.beaconPort!))!.timestamp >= b.timestamp).toBe(true);
  });

  it('updates in call order and refuses invalid updates without publishing', async () => {
    const { host, client } = makeHost();
    await host.open(OPEN);
    await Promise.all([host.update({ players: 1 }), host.update({ players: 2 }), host.update({ name: 'Renamed' })]);
    const lobbies = client.published.map(parseLobby);
    expect(lobbies.map((l) => [l.players, l.name])).toEqual([[0, 'Room'], [1, 'Room'], [2, 'Room'], [2, 'Renamed']]);
    await expect(host.update({ players: 5 })).rejects.toThrow(/player count 5/);
    await expect(host.update({ game: 'other' } as never)).rejects.toThrow(/cannot update lobby field "game"/);
    expect(client.published).toHaveLength(4);
  });

  it('closes: publishes open=0, stops the beacon, refuses further updates', async () => {
    const { host, client } = makeHost();
    const opened = await host.open(OPEN);
    const closed = await host.close({ lingerMs: 0 });
    expect(parseLobby(closed.packet).open).toBe(false);
    expect(client.published.at(-1)!.isSameAs(closed.packet)).toBe(true);
    expect(await served(opened.beaconPort!)).toBeNull();
    await expect(host.update({ players: 1 })).rejects.toThrow(/not open/);
  });

  it('hosts invite-only lobbies without beacon or announce', async () => {
    const { host, client, dht } = makeHost();
    const opened = await host.open({ ...OPEN, public: false });
    expect(opened.beaconPort).toBeNull();
    expect(dht.announces).toEqual([]);
    expect(parseLobby(client.published[0]!).beaconPort).toBeNull();
  });

  it('advertises the DHT-reported public address, and refuses to guess', async () => {
    const { host, dht, client } = makeHost();
    const { address: _none, ...noAddress } = OPEN;
    await expect(host.open(noAddress)).rejects.toThrow(/public address of this host is unknown/);
    dht.external = { host: '198.51.100.20', port: 6881, votes: 3 }; // documentation range: not public
    await expect(host.open(noAddress)).rejects.toThrow(/not a public address/);
    dht.external = { host: '8.8.8.8', port: 6881, votes: 3 };
    const opened = await host.open(noAddress);
    expect(opened.addressSource).toBe('dht');
    expect(parseLobby(client.published[0]!).endpoints).toEqual([{ transport: 'enet', host: '8.8.8.8', port: 7777 }]);
  });
});
