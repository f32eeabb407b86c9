/**
 * Issue 15 end to end, as a player would have it on one machine: a desktop game's sidecar
 * (`pkarr-sidecar serve`, a child process as the addon spawns it, `--testnet 8 --no-relays`, its
 * local pkarr relay on a free port) hosts a lobby and publishes records over JSON-RPC; a web export
 * of a game (test/godot/projects/relay-local: the real addon, `pkarr/backend = auto`, NO sidecar of
 * its own, NO remote relay, `pkarr/relay/local_relay_url` = serve's local relay) runs in the real
 * Godot 4.6 web engine in Chromium and finds them through that local relay alone, cross-origin
 * (page http://127.0.0.1:<page port>, relay http://127.0.0.1:<relay port>): `Pkarr.resolve`,
 * `Pkarr.get_lobby`, then a `lobby.update` made afterwards over RPC, seen by a later `get_lobby`.
 * The page counts as a PUBLIC page (Chromium `--ip-address-space-overrides`, as a game on itch.io):
 * Chromium's Local Network Access then blocks its calls to loopback unless the player allowed them
 * (a permission prompt; granted here, and shown blocked without the grant).
 * Node checks that the page's requests really went to the local relay (the browser's own view of
 * them, with their CORS answers, and the relay's counters on its status page), and that the same
 * relay answers a Private Network Access preflight. Every process started here is ended by pid.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGodotWeb, REPO_ROOT } from './godot/harness/engine-cache.ts';
import { closeBrowser, getBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import { getEngineServer } from './godot/harness/web-server.ts';
import { ADDON_DIR, killChild, RpcSocket, SERVE_MAIN, spawnServe, WITHOUT_ADDON_BIN, type ServeChild } from './godot/projects/addon/host/serve-child.ts';

const PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'relay-local');
/** test_* functions in tests/relay_local_test.gd. */
const SUITE_TESTS = 3;
/** The lobby's TTL (the smallest lobby.host accepts): the web export asks the network again after it. */
const LOBBY_TTL = 10;

let serve: ServeChild | null = null;
let rpc: RpcSocket | null = null;
let dataDir = '';

afterAll(async () => {
  rpc?.close();
  if (serve !== null) await killChild(serve); // SIGKILL by its pid (ChildProcess.kill), then waits
  if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  await closeBrowser();
}, 30_000);

/** One JSON-RPC call that must succeed. */
// any: the sidecar's JSON answer; fields are checked where used.
async function ok(method: string, params: Record<string, unknown> = {}): Promise<any> {
  const answer = await rpc!.call(method, params);
  if (answer.error !== undefined) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  return answer.result;
}

/** The local relay's request counters, read from its status page (`GET /`). */
async function relayCounters(url: string): Promise<{ gets: number; puts: number; cacheHits: number; dhtLookups: number; byStatus: string }> {
  const html = await (await fetch(`${url}/`)).text();
  const row = (name: string): string => {
    const match = new RegExp(`<tr><th>${name}</th><td>([^<]*)</td></tr>`).exec(html);
    if (match?.[1] === undefined) throw new Error(`no "${name}" row on the local relay's status page:\n${html}`);
    return match[1];
  };
  const [gets, puts] = row('GET / PUT / DoH').split(' / ').map(Number);
  const dhtLookups = Number(row('DHT lookups / puts / republished').split(' / ')[0]);
  return { gets: gets ?? NaN, puts: puts ?? NaN, cacheHits: Number(row('Cache hits')), dhtLookups, byStatus: row('Responses by status') };
}

interface SeenResponse {
  url: string;
  method: string;
  status: number;
  origin: string | undefined;
  allowOrigin: string | undefined;
}

describe('a web export finds a desktop sidecar\'s lobby through serve\'s local relay', () => {
  it('resolve, get_lobby and a lobby update, with no remote relay', async () => {
    // The page server first: its address is made "public" for the browser this file launches
    // (this process only; the harness reads PKARR_CHROMIUM_ARGS when it launches Chromium).
    const pageServer = await getEngineServer((await ensureGodotWeb()).dir);
    const pageOrigin = new URL(pageServer.url).origin;
    process.env.PKARR_CHROMIUM_ARGS = `${process.env.PKARR_CHROMIUM_ARGS ?? ''} --ip-address-space-overrides=${new URL(pageServer.url).host}=public`.trim();
    const browser = await getBrowser();
    dataDir = await mkdtemp(join(tmpdir(), 'pkarr-relay-local-e2e-'));
    serve = await spawnServe(process.execPath, [
      SERVE_MAIN, 'serve',
      '--data-dir', dataDir,
      '--parent-pid', String(process.pid),
      '--testnet', '8',
      '--no-relays', // no remote relay anywhere
      '--local-relay-port', '0', // keeps the test off 6881
      '--no-lan', '--no-nat', // loopback only: no mDNS, no UPnP discovery
      '--republish-interval', '3600',
    ]);
    rpc = await RpcSocket.open(serve.url, serve.ready.token);

    const status = await ok('status');
    const localRelay: unknown = status.localRelay?.url;
    expect(localRelay, JSON.stringify(status.localRelay)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const relayUrl = localRelay as string;
    expect(status.relays, 'no remote relay').toEqual([]);

    // The desktop game: a key, plain records, and an invite-only lobby at an explicit address.
    await ok('keys.generate', { name: 'records' });
    const published = await ok('publish', {
      key: 'records',
      records: [
        { type: 'TXT', name: '_game', ttl: 300, text: 'hello from the desktop sidecar' },
        { type: 'A', name: '@', ttl: 300, address: '127.0.0.1' },
        { type: 'AAAA', name: 'v6', ttl: 120, address: '::1' },
      ],
    });
    const key = published.publicKey as string;
    const ownView = await ok('resolve', { publicKey: key });
    expect(ownView.found).toBe(true);

    const lobbyParams = {
      key: 'host', createKey: true, game: 'relay-local-e2e', gameVersion: '1.0', name: 'Desktop room',
      maxPlayers: 6, players: 1, port: 24567, transport: 'ws', address: '127.0.0.1',
      public: false, nat: false, ttl: LOBBY_TTL,
    };
    const hosted = await ok('lobby.host', lobbyParams);
    expect(hosted.lobby.endpoints).toEqual([{ transport: 'ws', host: '127.0.0.1', port: 24567 }]);
    const updatedPlayers = 4;

    // The page's requests as the browser saw them (listener attached at the engine's first line,
    // before any suite runs).
    const seenLater: Promise<SeenResponse>[] = [];
    let listening = false;
    let update: Promise<unknown> | null = null;
    let granted: Promise<void> | null = null;
    const before = await relayCounters(relayUrl);
    const result = await runGodotTests({
      project: PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      include: WITHOUT_ADDON_BIN,
      files: {
        // The web export's settings, as a game would ship them (the port is only known now).
        'res://project.godot': `${await readFile(join(PROJECT, 'project.godot'), 'utf8')}
[pkarr]

backend="auto"
network/relays=PackedStringArray()
relay/local_relay_url="${relayUrl}"
sidecar/data_dir="user://pkarr-relay-local"
`,
      },
      config: {
        localRelay: relayUrl,
        key,
        records: ownView.records,
        timestamp: published.timestamp,
        lobby: {
          inviteCode: hosted.inviteCode, game: lobbyParams.game, gameVersion: lobbyParams.gameVersion,
          name: lobbyParams.name, players: lobbyParams.players, maxPlayers: lobbyParams.maxPlayers,
          transport: 'ws', host: '127.0.0.1', port: 24567, ttl: LOBBY_TTL,
        },
        updatedPlayers,
      },
      testTimeoutSec: 60,
      timeoutMs: 240_000,
      onLine: (line, instance) => {
        if (!listening) {
          listening = true;
          // The player allows local network access; the suite waits for this flag (no race).
          granted = instance.page.context().grantPermissions(['local-network-access'], { origin: pageOrigin })
            .then(() => instance.page.evaluate(() => { (globalThis as unknown as { __pkarrLocalNetworkAllowed: boolean }).__pkarrLocalNetworkAllowed = true; }));
          instance.page.on('response', (response) => {
            const request = response.request();
            if (!request.url().startsWith(relayUrl)) return;
            // allHeaders(): headers() leaves out security-related ones such as Origin.
            seenLater.push(Promise.all([request.allHeaders(), response.allHeaders()]).then(([sent, got]) => ({
              url: request.url(), method: request.method(), status: response.status(),
              origin: sent.origin, allowOrigin: got['access-control-allow-origin'],
            })));
          });
        }
        if (line.text === 'E2E_UPDATE_LOBBY' && update === null) {
          update = ok('lobby.update', { key: 'host', players: updatedPlayers });
        }
      },
    });
    expect(result.ok, formatGodotTestReport(result)).toBe(true);
    expect(result.failed, formatGodotTestReport(result)).toBe(0);
    expect(result.passed, formatGodotTestReport(result)).toBe(SUITE_TESTS);
    await granted;
    expect(update, 'the suite asked for the lobby update').not.toBeNull();
    const updated = await update!;
    expect((updated as { lobby: { players: number } }).lobby.players).toBe(updatedPlayers);

    const seen = await Promise.all(seenLater);
    // The browser's view: every request of the page went to the local relay, cross-origin, and
    // each answer carried the CORS header that lets the page read it.
    expect(pageOrigin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(pageOrigin).not.toBe(relayUrl);
    const gets = seen.filter((s) => s.method === 'GET');
    const records = gets.filter((s) => s.url === `${relayUrl}/${key}`);
    const lobby = gets.filter((s) => s.url === `${relayUrl}/${hosted.publicKey}`);
    expect(records.length, JSON.stringify(seen)).toBe(1);
    expect(lobby.length, JSON.stringify(seen)).toBeGreaterThanOrEqual(2);
    for (const s of seen) {
      expect(s.allowOrigin, JSON.stringify(s)).toBe(pageOrigin);
      expect(s.origin, JSON.stringify(s)).toBe(pageOrigin);
    }
    expect(records[0]?.status).toBe(200);
    expect(lobby.at(-1)?.status, JSON.stringify(lobby)).toBe(200);

    // The relay's view: it served those GETs (the status page read itself is not a GET of a key).
    const after = await relayCounters(relayUrl);
    expect(after.gets - before.gets, after.byStatus).toBe(gets.length);
    expect(after.puts - before.puts).toBe(0);

    // The answer a public page (itch.io) needs before it may call loopback, from this same relay.
    const preflight = await fetch(`${relayUrl}/${key}`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://game.itch.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Private-Network': 'true' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-private-network')).toBe('true');
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://game.itch.example');

    // Without the player's permission the same public page cannot reach the local relay at all.
    const probeContext = await browser.newContext();
    try {
      const probe = await probeContext.newPage();
      await probe.goto(`${pageOrigin}/index.js`); // any document of the page origin (the engine script, shown as text)
      const denied = await probe.evaluate(async (url) => {
        try {
          return `answered ${(await fetch(url, { cache: 'no-store' })).status}`;
        } catch (err) {
          return `blocked: ${String(err)}`;
        }
      }, `${relayUrl}/${key}`);
      expect(denied).toMatch(/^blocked: TypeError/);
      console.log(`relay-local e2e: the public page without the permission: ${denied}`);
    } finally {
      await probeContext.close();
    }

    const figures = result.lines.map((l) => l.text).filter((t) => t.startsWith('E2E_') && t !== 'E2E_UPDATE_LOBBY');
    console.log(`relay-local e2e: ${figures.join(' | ')} | page GETs ${gets.length} (${gets.map((g) => g.status).join(',')}), relay cache hits ${after.cacheHits - before.cacheHits}, DHT lookups ${after.dhtLookups - before.dhtLookups}`);
  }, 300_000);
});
