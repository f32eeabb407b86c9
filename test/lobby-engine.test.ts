/**
 * The lobby nodes of addons/pkarr in the real Godot 4.6 web engine: two
 * engine instances side by side, each with its own `pkarr-sidecar serve` on one local DHT
 * testnet. Instance A hosts a lobby with PkarrLobbyHost; instance B finds it with
 * PkarrLobbyBrowser (by the game's topic) and with Pkarr.get_lobby (by code), sees its player
 * count change and loses it when A closes it. The GDScript suites live in
 * test/godot/projects/lobby/tests.
 *
 * The instances cannot talk to each other directly: each prints `PKARR_LOBBY_POST <key> <json>`
 * and this test copies the value into `window.__pkarrBus` of both pages (see
 * lib/pkarr_lobby_test_link.gd). Sidecars start once the page origin is known (they must allow
 * it) and reach each game through `window.__pkarrLobby`. On `PKARR_LOBBY_ACT <id> restart a`
 * sidecar a is killed and started again on the same port (A's host node must open the lobby
 * again by itself); the acknowledgement goes to `window.__pkarrBus["ack:<id>"]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { ensureGodotWeb, REPO_ROOT } from './godot/harness/engine-cache.ts';
import { closeBrowser, getBrowser, startGodot, type GodotInstance } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests, type GodotTestResult } from './godot/harness/run-tests.ts';
import { findErrors } from './godot/harness/tap.ts';
import { getEngineServer } from './godot/harness/web-server.ts';
import { GodotWebSocketStandIn } from './godot/projects/lobby/host/websocket-standin.ts';
import { ADDON_DIR, RpcSocket, SERVE_MAIN, WITHOUT_ADDON_BIN, killChild, spawnServe, waitForExit, type ServeChild } from './godot/projects/addon/host/serve-child.ts';

const LOBBY_PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'lobby');
const DEMO_PROJECT = join(REPO_ROOT, 'demo_project');
/** The GDScript block of the "Lobbies" section of addons/pkarr/README.md, as a script to compile. */
async function readmeLobbyExample(): Promise<string> {
  const readme = await readFile(join(ADDON_DIR, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Lobbies'));
  const block = /```gdscript\n([\s\S]*?)```/.exec(section)?.[1];
  if (!readme.includes('## Lobbies') || block === undefined) throw new Error('addons/pkarr/README.md has no Lobbies example');
  // The Quickstart of the repository's README shows the same block: one test covers both.
  const root = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const quick = /```gdscript\n([\s\S]*?)```/.exec(root.slice(root.indexOf('4. Host a lobby')))?.[1];
  if (quick !== block) throw new Error('README.md Quickstart (step 4) and the Lobbies example of addons/pkarr/README.md differ');
  return `extends Node\n\n\n${block}`;
}

const CONFIG_TESTS = [
  'lobby_config: test_project_settings_are_the_default_game_id_and_version',
  'lobby_config: test_host_configuration_warnings',
  'lobby_config: test_browser_configuration_warnings',
  'lobby_config: test_browser_autostart_waits_for_a_game_id',
  'lobby_config: test_failed_signals_carry_a_result_with_its_code',
  'lobby_config: test_a_browser_cannot_create_the_game_server',
  'lobby_config: test_capacity_counts_the_host_when_it_plays',
  'lobby_config: test_counts_joins_and_leaves_and_refuses_beyond_max_players',
  'lobby_config: test_the_autoload_turns_notifications_into_signals',
  'lobby_config: test_join_refuses_bad_options_before_calling_the_sidecar',
];
const HOST_TESTS = [
  ...CONFIG_TESTS,
  'lobby_values: test_lobby_reads_the_sidecar_json',
  'lobby_values: test_lobby_defaults_from_sparse_or_odd_json',
  'lobby_values: test_same_content_ignores_signing_time_and_source',
  'lobby_values: test_results_carry_the_lobby_reason_as_error_code',
  'lobby_values: test_host_refuses_bad_settings_without_a_sidecar',
  'lobby_values: test_browser_asks_for_the_configured_lobbies',
  'lobby_values: test_browser_applies_watch_events_at_the_sidecars_positions',
  'lobby_values: test_browser_sets_a_new_whole_list_against_the_one_it_holds',
  'lobby_values: test_browser_after_a_reconnection_reports_only_what_changed',
  'lobby_values: test_upnp_is_not_attempted_on_the_web',
  'lobby_values: test_the_readme_example_compiles',
  'lobby_host: test_a_lobby_the_sidecar_refuses_fails_with_its_reason',
  'lobby_host: test_opens_a_lobby_with_an_invite_code',
  'lobby_host: test_opens_the_lobby_again_after_a_sidecar_restart',
  'lobby_host: test_publishes_a_new_player_count',
  'lobby_host: test_publishes_counted_players_once_per_interval',
  'lobby_host: test_a_host_can_stay_open_out_of_the_tree',
  'lobby_host: test_closes_the_lobby',
];
const BROWSER_TESTS = [
  'lobby_browser: test_finds_the_lobby_by_topic',
  'lobby_browser: test_gets_the_lobby_by_code',
  'lobby_browser: test_sees_the_new_player_count',
  'lobby_browser: test_loses_the_closed_lobby',
  'lobby_join: test_joins_a_websocket_server_by_short_code',
  'lobby_join: test_a_refusing_server_is_join_refused',
  'lobby_join: test_join_failures_have_distinct_codes',
  'lobby_join: test_the_readme_example_hosts_and_joins',
];

let testnet: Testnet;
let root: string;
let standin: GodotWebSocketStandIn;

beforeAll(async () => {
  await Promise.all([ensureGodotWeb(), getBrowser()]);
  root = await mkdtemp(join(tmpdir(), 'pkarr-lobby-engine-'));
  testnet = await Testnet.create(10);
  standin = await GodotWebSocketStandIn.start();
}, 300_000);

afterAll(async () => {
  await standin?.close();
  await testnet?.destroy();
  if (root) await rm(root, { recursive: true, force: true });
  await closeBrowser();
});

/** Starts one sidecar per instance on the testnet and relays posts between the pages. */
class Link {
  readonly sidecars = new Map<string, ServeChild>();
  readonly bus: Record<string, unknown> = {};
  readonly posts: string[] = [];
  readonly actions: string[] = [];
  readonly errors: string[] = [];
  readonly #pages = new Map<string, GodotInstance>();
  readonly #killed: ServeChild[] = [];
  #origin = '';
  #setup: Promise<void> | null = null;
  #work: Promise<void>[] = [];

  /** Maps an instance name to its sidecar label. */
  readonly labels: Record<string, string>;

  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }

  onLine(text: string, game: GodotInstance): void {
    if (!this.#pages.has(game.name)) {
      this.#pages.set(game.name, game);
      this.#track(this.#register(game));
    }
    const post = /^PKARR_LOBBY_POST (\S+) (.*)$/.exec(text);
    if (post?.[1] !== undefined && post[2] !== undefined) {
      const [key, json] = [post[1], post[2]];
      this.posts.push(`${game.name}:${key}`);
      this.bus[key] = JSON.parse(json) as unknown;
      for (const page of this.#pages.values()) this.#track(this.#deliver(page, { [key]: this.bus[key] }));
    }
    const act = /^PKARR_LOBBY_ACT (\S+) (.+)$/.exec(text);
    if (act?.[1] !== undefined && act[2] !== undefined) this.#track(this.#act(game, act[1], act[2]));
  }

  async finish(): Promise<void> {
    await this.#setup?.catch(() => undefined);
    await Promise.allSettled(this.#work);
    await Promise.all([...this.sidecars.values(), ...this.#killed].map((s) => killChild(s)));
  }

  #track(work: Promise<void>): void {
    this.#work.push(work.catch((err: unknown) => {
      this.errors.push(err instanceof Error ? err.stack ?? err.message : String(err));
    }));
  }

  async #register(game: GodotInstance): Promise<void> {
    await game.page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\//);
    const origin = new URL(game.page.url()).origin;
    this.#setup ??= this.#startSidecars(origin);
    await this.#setup;
    const label = this.labels[game.name];
    const sidecar = label === undefined ? undefined : this.sidecars.get(label);
    if (sidecar === undefined) throw new Error(`no sidecar for ${game.name}`);
    await game.page.evaluate((config) => {
      const w = globalThis as unknown as { __pkarrLobby: unknown };
      w.__pkarrLobby = config;
    }, { sidecar: { url: sidecar.url, token: sidecar.ready.token }, role: label, standin: standin.config });
    await this.#deliver(game, this.bus);
  }

  async #startSidecars(origin: string): Promise<void> {
    this.#origin = origin;
    for (const label of new Set(Object.values(this.labels))) {
      const tokenFile = join(root, `token-${label}`);
      await writeFile(tokenFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      this.sidecars.set(label, await this.#spawn(label, 0));
    }
  }

  /** Starts (or restarts, on the same port with the same token and data) sidecar `label`. */
  #spawn(label: string, port: number): Promise<ServeChild> {
    return spawnServe(process.execPath, [
      SERVE_MAIN, 'serve',
      '--port', String(port),
      '--data-dir', join(root, `data-${label}`),
      '--token-file', join(root, `token-${label}`),
      '--parent-pid', String(process.pid),
      '--allow-origin', this.#origin,
      '--log-level', 'debug',
      '--no-relays', // tests never contact public relays
      ...testnet.bootstrap.flatMap((b) => ['--bootstrap', b]),
    ]);
  }

  /** `restart <label>`: kills the sidecar (SIGKILL) and starts it again on the same port. */
  async #act(game: GodotInstance, id: string, action: string): Promise<void> {
    await this.#setup;
    this.actions.push(action);
    let ack: Record<string, unknown>;
    try {
      const [verb, label] = action.split(' ');
      const old = label === undefined ? undefined : this.sidecars.get(label);
      if (verb !== 'restart' || label === undefined || old === undefined) throw new Error(`unknown action ${action}`);
      old.child.kill('SIGKILL');
      if ((await waitForExit(old, 10_000)) === null) throw new Error(`sidecar ${label} survived SIGKILL`);
      const fresh = await this.#spawn(label, old.ready.port);
      this.sidecars.set(label, fresh);
      this.#killed.push(old);
      ack = { ok: fresh.ready.port === old.ready.port, port: fresh.ready.port };
    } catch (err) {
      ack = { ok: false, error: err instanceof Error ? err.message : String(err) };
      this.errors.push(`${action}: ${String(ack.error)}`);
    }
    await this.#deliver(game, { [`ack:${id}`]: ack });
  }

  async #deliver(game: GodotInstance, values: Record<string, unknown>): Promise<void> {
    if (game.page.isClosed()) return;
    await game.page.evaluate((entries) => {
      const w = globalThis as unknown as { __pkarrBus?: Record<string, unknown> };
      Object.assign((w.__pkarrBus ??= {}), entries);
    }, values).catch((err: unknown) => {
      // A page that finished its suites is closed: nothing left to deliver to.
      if (!game.page.isClosed()) throw err;
    });
  }
}

function report(name: string, result: GodotTestResult, link: Link): string {
  const stderr = [...link.sidecars].map(([label, s]) => `--- sidecar ${label} stderr tail:\n${s.stderr().slice(-3000)}`);
  return `${name}: ${formatGodotTestReport(result)}\n${link.errors.join('\n')}\n${stderr.join('\n')}`;
}

describe('lobby nodes in the Godot 4.6 web engine', () => {
  it('A hosts, B finds it by topic and by code, sees 3 players, then loses it when A closes', async () => {
    const link = new Link({ 'lobby-a': 'a', 'lobby-b': 'b' });
    const common = {
      project: LOBBY_PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      include: WITHOUT_ADDON_BIN,
      testTimeoutSec: 90,
      timeoutMs: 420_000,
      onLine: (line: { text: string }, game: GodotInstance) => link.onLine(line.text, game),
    };
    let a: GodotTestResult;
    let b: GodotTestResult;
    try {
      [a, b] = await Promise.all([
        runGodotTests({
          ...common,
          name: 'lobby-a',
          suites: ['res://tests/lobby_config_test.gd', 'res://tests/lobby_values_test.gd', 'res://tests/lobby_host_test.gd'],
          files: { 'res://generated/readme_lobbies.gd': await readmeLobbyExample() },
        }),
        runGodotTests({
          ...common,
          name: 'lobby-b',
          suites: ['res://tests/lobby_browser_test.gd', 'res://tests/lobby_join_test.gd'],
          files: { 'res://generated/readme_lobbies.gd': await readmeLobbyExample() },
        }),
      ]);
    } finally {
      await link.finish();
    }
    if (process.env['PKARR_ENGINE_LOG']) {
      const lines = [...a.lines.map((l) => `[a ${l.ms} ${l.stream}] ${l.text}`), ...b.lines.map((l) => `[b ${l.ms} ${l.stream}] ${l.text}`)];
      await writeFile(process.env['PKARR_ENGINE_LOG'], lines.join('\n'));
    }
    expect(a.ok, report('instance A', a, link)).toBe(true);
    expect(b.ok, report('instance B', b, link)).toBe(true);
    expect(link.errors).toEqual([]);
    expect(link.actions).toEqual(['restart a']);
    // The web build's WebSocket client really reached the stand-in servers.
    expect([standin.accepted >= 1, standin.refused >= 1]).toEqual([true, true]);
    expect(a.tests.map((t) => t.name)).toEqual(HOST_TESTS);
    expect(b.tests.map((t) => t.name)).toEqual(BROWSER_TESTS);
    expect([a.passed + b.passed, a.failed + b.failed, a.skipped + b.skipped]).toEqual([HOST_TESTS.length + BROWSER_TESTS.length, 0, 0]);
    // The hand-over really went through both pages, in order.
    expect(link.posts).toEqual(['lobby-a:opened', 'lobby-b:found', 'lobby-a:players', 'lobby-b:updated', 'lobby-a:closed', 'lobby-b:lost']);
  }, 480_000);

  it('the demo project: every screen loads, and the browse screen lists a lobby a real sidecar hosts', async () => {
    // The page origin is the harness's loopback server (one per process): the sidecar must allow it.
    const origin = new URL((await getEngineServer((await ensureGodotWeb()).dir)).url).origin;
    const serve = (label: string, extra: string[]): Promise<ServeChild> => spawnServe(process.execPath, [
      SERVE_MAIN, 'serve',
      '--data-dir', join(root, `demo-${label}`),
      '--parent-pid', String(process.pid),
      '--no-relays',
      ...testnet.bootstrap.flatMap((b) => ['--bootstrap', b]),
      ...extra,
    ]);
    const children: ServeChild[] = [];
    let rpc: RpcSocket | undefined;
    try {
      const host = await serve('host', []);
      children.push(host);
      rpc = await RpcSocket.open(host.url, host.ready.token);
      expect((await rpc.call('keys.generate', { name: 'room' })).error).toBeUndefined();
      const hosted = await rpc.call('lobby.host', {
        key: 'room', game: 'pkarr-demo', gameVersion: '1', name: 'Test room', players: 2, maxPlayers: 4, port: 7777, address: '127.0.0.1',
        directory: false, // browsable by its beacon only: the first row already shows the measured round trip
      });
      expect(hosted.error).toBeUndefined();
      const token = randomBytes(32).toString('hex');
      await writeFile(join(root, 'demo-token'), `${token}\n`, { mode: 0o600 });
      const sidecar = await serve('browser', ['--allow-origin', origin, '--token-file', join(root, 'demo-token')]);
      children.push(sidecar);
      const project = `${await readFile(join(DEMO_PROJECT, 'project.godot'), 'utf8')}
[pkarr]

sidecar/web_url="${sidecar.url}"
sidecar/web_token="${token}"
network/relays=PackedStringArray()
`;
      const screens = ['menu', 'host', 'join', 'arena', 'browse'];
      const game = await startGodot({
        name: 'demo',
        project: DEMO_PROJECT,
        mounts: { 'res://addons/pkarr': ADDON_DIR },
        include: WITHOUT_ADDON_BIN,
        files: { 'res://project.godot': project },
        args: ['--', `--demo-screen=${screens.join(',')}`, '--demo-dwell=0.3'],
        // WebGL2 through SwiftShader: the screens really render (and the screenshot shows it).
        headless: false,
        doneMarker: '[demo] browse: 1 lobbies',
        screenshots: [{ after: '[demo] browse: 1 lobbies', delayMs: 500 }],
        timeoutMs: 240_000,
      });
      const run = await game.result;
      const output = run.lines.map((l) => `[${l.stream}] ${l.text}`).join('\n');
      expect(run.completed, output).toBe(true);
      expect(findErrors(run.lines), output).toEqual([]);
      expect(run.pageErrors, output).toEqual([]);
      expect(run.stdout.filter((l) => l.startsWith('[demo] screen ')), output).toEqual(screens.map((s) => `[demo] screen ${s}`));
      expect(run.stdout, output).toContain('[demo] sidecar: Pkarr sidecar connected');
      // The browse screen's row: the round trip its browser measured to the host's beacon, and
      // the network (found over the DHT, not the LAN; the host gave its address: no reach).
      const row = run.stdout.filter((l) => l.startsWith('[demo] browse row: Test room')).at(-1);
      expect(row, output).toMatch(/^\[demo\] browse row: Test room \| (<1|\d+) ms \| Internet$/);
      console.log(row);
      // A rendered screen: a blank or black canvas compresses to a few KB.
      expect(run.screenshots[0]?.length ?? 0).toBeGreaterThan(15_000);
    } finally {
      rpc?.close();
      await Promise.all(children.map((c) => killChild(c)));
    }
  }, 300_000);
});
