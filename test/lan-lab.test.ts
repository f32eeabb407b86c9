/**
 * A LAN party with no internet at all (natlab site with `wan: false`: four hosts on one bridge, no
 * WAN link, no DHT node, no relay): real `pkarr-sidecar serve --no-dht --no-relays` processes in
 * the namespaces, driven over JSON-RPC as the addon drives them (natlab/scenarios/sidecar.ts).
 * A host opens a lobby; two other machines find it by browsing and by invite code over mDNS;
 * join by code answers the host's LAN address and a game datagram echoes; forged announcements
 * are dropped and counted; a closed lobby is lost at once (its signed closed record) and a crashed
 * host's lobby within its mDNS TTL (3 announce intervals of 2 s). Needs root and namespaces: fails
 * without them, never skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatLab } from './natlab/lab.ts';
import type { AgentClient } from './natlab/agent-client.ts';

const SIDECAR = './test/natlab/scenarios/sidecar.ts';
const AGENT = './test/lan-lab-agent.ts';
const GAME = { game: 'lanparty', gameVersion: '1.0' };
const GAME_PORT = 7777;
const LAN_ARGS = ['--no-dht', '--lan-interval', '2'];

// any: the sidecar's JSON answers, checked field by field.
type Answer = { result?: any; error?: any };

let lab: NatLab | null = null;
let host: AgentClient;
let browserB: AgentClient;
let browserC: AgentClient;
let crasher: AgentClient;
/** Sidecars with the DHT on but unreachable (the default set-up of a game at a LAN party with no internet). */
let offlineHost: AgentClient;
let offlinePlayer: AgentClient;
let invite = '';

async function rpc(agent: AgentClient, label: string, method: string, params: Record<string, unknown> = {}): Promise<Answer> {
  return agent.callWithin<Answer>(45_000, SIDECAR, 'call', label, method, params, 40_000);
}

async function ok(agent: AgentClient, label: string, method: string, params: Record<string, unknown> = {}): Promise<any> {
  const answer = await rpc(agent, label, method, params);
  if (answer.error !== undefined) throw new Error(`${method} at ${label}: ${JSON.stringify(answer.error)}\n${await agent.call<string>(SIDECAR, 'log', label)}`);
  return answer.result;
}

beforeAll(async () => {
  lab = await NatLab.create({ sites: [{ nat: 'port-restricted', wan: false, hosts: 6 }] });
  const site = lab.sites[0]!;
  [host, browserB, browserC, crasher, offlineHost, offlinePlayer] = await Promise.all(site.hosts.map((h) => lab!.agent(h))) as AgentClient[] as [AgentClient, AgentClient, AgentClient, AgentClient, AgentClient, AgentClient];
  const unreachable = ['11.77.0.10:6881', '11.77.0.11:6881']; // lab DHT addresses: no route from this LAN
  await Promise.all([
    offlineHost.call(SIDECAR, 'start', 'oh', unreachable, ['--lan-interval', '2']),
    offlinePlayer.call(SIDECAR, 'start', 'op', unreachable, ['--lan-interval', '2']),
    host.call(SIDECAR, 'start', 'host', [], LAN_ARGS),
    browserB.call(SIDECAR, 'start', 'b', [], LAN_ARGS),
    browserC.call(SIDECAR, 'start', 'c', [], LAN_ARGS),
    crasher.call(SIDECAR, 'start', 'x', [], LAN_ARGS),
  ]);
  await host.call(SIDECAR, 'gameServer', GAME_PORT);
  await offlineHost.call(SIDECAR, 'gameServer', GAME_PORT);
}, 120_000);

afterAll(async () => {
  await lab?.close();
}, 60_000);

describe('LAN party: one bridge, no WAN, no DHT, no relay', () => {
  it('the LAN has no internet, and every sidecar runs LAN discovery on its LAN interface', async () => {
    const site = lab!.sites[0]!;
    expect(site.wan).toBe(false);
    expect(site.wanAddress).toBe('');
    for (const [agent, label, address] of [[host, 'host', site.hosts[0]!.address], [browserB, 'b', site.hosts[1]!.address]] as const) {
      const status = await ok(agent, label, 'status');
      console.log(`[${label}] status.lan: ${JSON.stringify({ sockets: status.lan.sockets, enabled: status.lan.enabled })}`);
      expect(status.dht.enabled).toBe(false);
      expect(status.relays).toEqual([]);
      expect(status.lan.enabled).toBe(true);
      expect(status.lan.sockets.v4).toEqual([address]);
    }
  });

  it('a host opens a lobby with no network: signed, announced on the LAN, its LAN address advertised, stored nowhere', async () => {
    await ok(host, 'host', 'keys.generate', { name: 'party' });
    const opened = await ok(host, 'host', 'lobby.host', { key: 'party', ...GAME, name: 'LAN room', maxPlayers: 4, port: GAME_PORT });
    expect(opened.storedOn).toBe(0);
    expect(opened.directory).toBeNull();
    expect(opened.lobby.endpoints).toEqual([{ transport: 'enet', host: lab!.sites[0]!.hosts[0]!.address, port: GAME_PORT }]);
    invite = opened.inviteCode;
  });

  it('two other machines find it by browsing (source lan) and by invite code', async () => {
    const hostAddress = lab!.sites[0]!.hosts[0]!.address;
    for (const [agent, label] of [[browserB, 'b'], [browserC, 'c']] as const) {
      const t0 = performance.now();
      const browsed = await ok(agent, label, 'lobby.browse', GAME);
      const browseMs = Math.round(performance.now() - t0);
      expect(browsed.lobbies.map((l: any) => [l.name, l.source, l.lanAddress])).toEqual([['LAN room', 'lan', hostAddress]]);
      expect(browsed.stats.lan.heard).toBe(1);
      const t1 = performance.now();
      const got = await ok(agent, label, 'lobby.get', { code: invite });
      console.log(`[${label}] lobby.browse ${browseMs} ms, lobby.get ${Math.round(performance.now() - t1)} ms`);
      expect(got).toMatchObject({ name: 'LAN room', source: 'lan', lanAddress: hostAddress, open: true });
    }
  });

  it('join by code answers the host\'s LAN address and game datagrams echo', async () => {
    const hostAddress = lab!.sites[0]!.hosts[0]!.address;
    const joined = await ok(browserC, 'c', 'lobby.join', { code: invite, ...GAME });
    expect(joined).toMatchObject({ via: 'lan', host: hostAddress, port: GAME_PORT });
    const echo = await browserC.call<{ echoes: number }>(SIDECAR, 'gameClient', joined.host, joined.port, 5, 5_000);
    expect(echo.echoes).toBeGreaterThanOrEqual(3);
  });

  it('forged announcements are not listed and are counted', async () => {
    const site = lab!.sites[0]!;
    const before = await ok(browserB, 'b', 'status');
    const keys = await crasher.call<string[]>(AGENT, 'sendForged', site.hosts[3]!.address, GAME.game, GAME.gameVersion);
    await expect.poll(async () => (await ok(browserB, 'b', 'status')).lan.browser.rejected, { timeout: 5_000 })
      .toMatchObject({ badSignature: before.lan.browser.rejected.badSignature + 1, keyMismatch: before.lan.browser.rejected.keyMismatch + 1, oversized: before.lan.browser.rejected.oversized + 1 });
    const browsed = await ok(browserB, 'b', 'lobby.browse', GAME);
    expect(browsed.lobbies.map((l: any) => l.name)).toEqual(['LAN room']);
    for (const key of keys) {
      const got = await rpc(browserB, 'b', 'lobby.get', { code: key });
      expect(got.error?.data?.lobbyError).toBe('NO_LOBBY');
    }
  });

  it('a closed lobby is lost at once (closed); a crashed host\'s lobby is lost within its TTL (gone)', async () => {
    // a second host that will crash, with a lobby of its own
    await ok(crasher, 'x', 'keys.generate', { name: 'doomed' });
    await ok(crasher, 'x', 'lobby.host', { key: 'doomed', ...GAME, name: 'Doomed room', maxPlayers: 4, port: GAME_PORT });
    const found = (name: string) => browserB.waitEvent<any>('b:lobby.found', 10_000, (p) => p.lobby.name === name);
    const both = Promise.all([found('LAN room'), found('Doomed room')]);
    await ok(browserB, 'b', 'lobby.watch', { ...GAME, intervalSeconds: 5 });
    const [lanRoom, doomedRoom] = await both; // lobby.lost names the key only

    const closed = browserB.waitEvent<any>('b:lobby.lost', 10_000, (p) => p.publicKey === lanRoom.lobby.publicKey);
    const t0 = performance.now();
    await ok(host, 'host', 'lobby.close', { key: 'party' });
    expect((await closed).reason).toBe('closed');
    console.log(`closed lobby lost after ${Math.round(performance.now() - t0)} ms`);

    const gone = browserB.waitEvent<any>('b:lobby.lost', 15_000, (p) => p.publicKey === doomedRoom.lobby.publicKey);
    const t1 = performance.now();
    await crasher.call(AGENT, 'crash', 'x');
    expect((await gone).reason).toBe('gone');
    const lostMs = Math.round(performance.now() - t1);
    console.log(`crashed host's lobby lost after ${lostMs} ms (mDNS TTL 6 s)`);
    const after = await ok(browserB, 'b', 'lobby.browse', GAME);
    expect(after.lobbies).toEqual([]);
    const code = await rpc(browserC, 'c', 'lobby.get', { code: invite });
    expect(code.error?.data?.lobbyError).toMatch(/^(LOBBY_CLOSED|NO_LOBBY)$/);
  }, 60_000);

  it('with the DHT on but unreachable (no internet), hosting, browsing and join by code still work over the LAN', async () => {
    const site = lab!.sites[0]!;
    await ok(offlineHost, 'oh', 'keys.generate', { name: 'offline' });
    const t0 = performance.now();
    const opened = await ok(offlineHost, 'oh', 'lobby.host', { key: 'offline', ...GAME, name: 'Offline room', maxPlayers: 4, port: GAME_PORT });
    console.log(`[oh] lobby.host with an unreachable DHT: ${Math.round(performance.now() - t0)} ms, publishError ${JSON.stringify(opened.publishError)}, endpoints ${JSON.stringify(opened.lobby.endpoints)}`);
    expect(opened.storedOn).toBe(0);
    expect(typeof opened.publishError).toBe('string');
    expect(opened.lobby.endpoints.some((e: any) => e.host === site.hosts[4]!.address)).toBe(true);
    const t1 = performance.now();
    const joined = await ok(offlinePlayer, 'op', 'lobby.join', { code: opened.inviteCode, ...GAME });
    console.log(`[op] lobby.join with an unreachable DHT: ${Math.round(performance.now() - t1)} ms -> ${JSON.stringify({ via: joined.via, host: joined.host, port: joined.port })}`);
    expect(joined).toMatchObject({ via: 'lan', host: site.hosts[4]!.address, port: GAME_PORT });
    const echo = await offlinePlayer.call<{ echoes: number }>(SIDECAR, 'gameClient', joined.host, joined.port, 5, 5_000);
    expect(echo.echoes).toBeGreaterThanOrEqual(3);
    const seen = offlinePlayer.waitEvent<any>('op:lobby.found', 10_000, (p) => p.lobby.name === 'Offline room');
    await ok(offlinePlayer, 'op', 'lobby.watch', { ...GAME, intervalSeconds: 30 });
    expect((await seen).lobby).toMatchObject({ source: 'lan', lanAddress: site.hosts[4]!.address });
  }, 90_000);
});
