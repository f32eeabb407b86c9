/**
 * The whole product path through real NATs (test/natlab/): in every site a host machine runs
 * `pkarr-sidecar serve` and a game server (UDP echo, what ENet binds), and opens a lobby with
 * `lobby.host` WITHOUT an address, exactly as PkarrLobbyHost sends it. Every kind of site exists
 * twice: a player machine behind the twin router joins each lobby with `lobby.join`, exactly as
 * Pkarr.join() sends it, and a second machine behind the host's own router joins that host; the
 * game client then sends datagrams to the address the sidecar answered and waits for the echoes. The matrix host × joiner over {public, full cone, port-restricted, symmetric} × {router
 * mapping on, off}, plus two machines behind one router (hairpin off): every pair a cone NAT
 * permits must connect and carry game packets both ways; the others must fail with
 * UNREACHABLE_NAT. Prints the table (docs/nat.md). Needs root: without namespaces it fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from './natlab/agent-client.ts';
import { NatLab, type SiteOptions } from './natlab/lab.ts';
import { mapLimited } from '../sidecar/src/util/map-limited.ts';

const SIDECAR = './test/natlab/scenarios/sidecar.ts';
const GAME_PORT = 7777;
const JOIN_TIMEOUT_MS = 30_000;

interface Kind { label: string; site: SiteOptions }
const KINDS: Kind[] = [
  { label: 'public', site: { nat: 'none' } },
  { label: 'full-cone', site: { nat: 'full-cone' } },
  { label: 'full-cone+map', site: { nat: 'full-cone', upnp: true } },
  { label: 'port-restr', site: { nat: 'port-restricted' } },
  { label: 'port-restr+map', site: { nat: 'port-restricted', upnp: true } },
  { label: 'symmetric', site: { nat: 'symmetric' } },
  { label: 'symmetric+map', site: { nat: 'symmetric', upnp: true } },
];

/** What NATs permit: the host reachable directly (public or mapped), or a punchable pair. */
function expectedToConnect(host: SiteOptions, joiner: SiteOptions): boolean {
  if (host.nat === 'none' || host.upnp === true) return true;
  const joinerOpen = joiner.nat === 'none' || joiner.upnp === true || joiner.nat === 'full-cone';
  if (host.nat === 'full-cone') return true;
  if (host.nat === 'port-restricted') return joiner.nat !== 'symmetric' || joiner.upnp === true;
  return joinerOpen; // symmetric host: only a joiner that accepts the host's probes from any port
}

let lab: NatLab | null = null;
const hosts: AgentClient[] = [];
/** A machine behind the host's own router (hairpin off), per kind. */
const neighbours: AgentClient[] = [];
/** A machine behind the twin router of the same kind, per kind. */
const joiners: AgentClient[] = [];
const codes: string[] = [];

beforeAll(async () => {
  // Sites 0..6: host + neighbour behind one router; sites 7..13: the twin routers, one player each.
  lab = await NatLab.create({ sites: [...KINDS.map((k) => ({ ...k.site, hosts: 2, hairpin: false })), ...KINDS.map((k) => ({ ...k.site, hosts: 1 }))], dhtNodes: 16 });
  const bootstrap = lab.bootstrap;
  const n = KINDS.length;
  await Promise.all(KINDS.map(async (_, i) => {
    const home = lab!.sites[i]!;
    const [host, neighbour, joiner] = await Promise.all([lab!.agent(home.hosts[0]!), lab!.agent(home.hosts[1]!), lab!.agent(lab!.sites[n + i]!.hosts[0]!)]);
    hosts[i] = host;
    neighbours[i] = neighbour;
    joiners[i] = joiner;
    await Promise.all([host.call(SIDECAR, 'start', 'host', bootstrap), neighbour.call(SIDECAR, 'start', 'joiner', bootstrap), joiner.call(SIDECAR, 'start', 'joiner', bootstrap)]);
    await host.call(SIDECAR, 'gameServer', GAME_PORT);
  }));
  // Each host opens its lobby with no address: the sidecar maps, learns its reach and publishes.
  await Promise.all(hosts.map(async (host, i) => {
    const generated = await host.call<{ result?: unknown; error?: { message: string } }>(SIDECAR, 'call', 'host', 'keys.generate', { name: 'lobby' });
    if (generated.error) throw new Error(`keys.generate at ${KINDS[i]!.label}: ${generated.error.message}`);
    const opened = await host.callWithin<{ result?: { inviteCode: string; lobby: { reach: string } }; error?: { message: string } }>(60_000, SIDECAR, 'call', 'host', 'lobby.host', {
      key: 'lobby', game: 'labgame', gameVersion: '1', name: `host ${KINDS[i]!.label}`, maxPlayers: 16, port: GAME_PORT,
    }, 50_000);
    if (opened.error || !opened.result) throw new Error(`lobby.host at ${KINDS[i]!.label}: ${opened.error?.message}\n${await host.call<string>(SIDECAR, 'log', 'host')}`);
    codes[i] = opened.result.inviteCode;
  }));
}, 240_000);

afterAll(async () => {
  await lab?.close();
});

interface Outcome { host: string; joiner: string; expected: boolean; via: string; error: string; echoes: number; joinMs: number }

async function join(hostIndex: number, joinerIndex: number, sameRouter = false): Promise<Outcome> {
  const agent = sameRouter ? neighbours[hostIndex]! : joiners[joinerIndex]!;
  const started = performance.now();
  const answer = await agent.callWithin<{ result?: { via: string; host: string; port: number }; error?: { message: string; data?: { code?: string } } }>(
    JOIN_TIMEOUT_MS + 30_000, SIDECAR, 'call', 'joiner', 'lobby.join', { code: codes[hostIndex], game: 'labgame', gameVersion: '1', timeoutMs: JOIN_TIMEOUT_MS }, JOIN_TIMEOUT_MS + 25_000,
  );
  const joinMs = Math.round(performance.now() - started);
  const base = {
    host: KINDS[hostIndex]!.label,
    joiner: sameRouter ? `${KINDS[hostIndex]!.label} (same router)` : KINDS[joinerIndex]!.label,
    expected: sameRouter || expectedToConnect(KINDS[hostIndex]!.site, KINDS[joinerIndex]!.site),
    joinMs,
  };
  if (answer.error || !answer.result) {
    if (process.env['PKARR_LAB_VERBOSE']) console.log(`${base.host} <- ${base.joiner}: ${answer.error?.message} ${JSON.stringify(answer.error?.data)}`);
    return { ...base, via: '-', error: answer.error?.data?.code ?? answer.error?.message ?? 'no answer', echoes: 0 };
  }
  const { echoes } = await agent.call<{ echoes: number }>(SIDECAR, 'gameClient', answer.result.host, answer.result.port, 5, 5_000);
  if (echoes === 0 && process.env['PKARR_LAB_VERBOSE']) {
    const status = await agent.call<{ result?: { nat?: unknown } }>(SIDECAR, 'call', 'joiner', 'status', {});
    console.log(`${base.host} <- ${base.joiner}: no echo via ${JSON.stringify(answer.result)} own ${JSON.stringify(status.result?.nat)}`);
  }
  return { ...base, via: `${answer.result.via} ${answer.result.host}:${answer.result.port}`, error: '', echoes };
}

describe('joining lobbies through real NATs (serve + lobby.host/lobby.join, as the addon)', () => {
  it('connects every pair a cone NAT permits and fails the rest with UNREACHABLE_NAT', async () => {
    const outcomes: Outcome[] = [];
    // One joiner machine per site joins every lobby; the sites join in parallel.
    // Two player machines join at a time (each its lobbies one after the other): with all seven at
    // once, 21 sidecars and 16 DHT nodes on two cores, a port-restricted pair now and then timed
    // out (about 1 run in 6; cause not found, see docs/nat.md §5). The pairs are what this proves.
    await mapLimited(KINDS, 2, async (_, j) => {
      for (let h = 0; h < KINDS.length; h++) outcomes.push(await join(h, j));
    });
    await Promise.all(KINDS.map(async (_, h) => outcomes.push(await join(h, -1, true))));
    const rows = outcomes.map((o) => `| ${o.host} | ${o.joiner} | ${o.echoes > 0 ? `yes (${o.via}, ${o.echoes}/5 echoes)` : `no (${o.error || `${o.via}: no echo`})`} | ${o.joinMs} ms |`);
    console.log(['# figure: join matrix (host | joiner | game packets both ways | lobby.join time)', '| host | joiner | connected | join |', '|---|---|---|---|', ...rows].join('\n'));
    for (const o of outcomes) {
      if (o.expected) {
        expect(o.echoes, `${o.host} <- ${o.joiner}: ${o.error || o.via}`).toBeGreaterThanOrEqual(3);
      } else {
        expect(o.error, `${o.host} <- ${o.joiner} should fail with UNREACHABLE_NAT`).toBe('UNREACHABLE_NAT');
      }
    }
  }, 900_000);
});
