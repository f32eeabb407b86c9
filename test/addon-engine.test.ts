/**
 * addons/pkarr in the real Godot 4.6 web engine against real `pkarr-sidecar serve` processes on
 * a local DHT testnet. The GDScript suites live in test/godot/projects/addon/tests.
 *
 * A page's WebSocket carries an Origin, which the sidecar must allow, and the page's port is only
 * known once the harness serves it. So the sidecars start when the engine prints its first line
 * (with `--allow-origin` = the page's origin), and their URLs and tokens reach the game through
 * `window.__pkarrTest` (read with JavaScriptBridge, see lib/pkarr_test_host.gd). The game asks
 * this host to kill, restart or cut things by printing `PKARR_HOST <id> <action>`; each request
 * is acknowledged in `window.__pkarrAcks[id]`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { ensureGodotWeb } from './godot/harness/engine-cache.ts';
import { closeBrowser, getBrowser, type GodotInstance } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import {
  ADDON_DIR,
  ADDON_PROJECT,
  SERVE_MAIN,
  killChild,
  spawnServe,
  waitForExit,
  type ServeChild,
} from './godot/projects/addon/host/serve-child.ts';

const SUITES = ['locator', 'values', 'rpc', 'reconnect', 'dock', 'readme'].map((s) => `res://tests/${s}_test.gd`);
const EXPECTED_TESTS = [
  'locator: test_platform_dir_maps_os_and_arch',
  'locator: test_platform_dir_is_empty_where_no_sidecar_exists',
  'locator: test_binary_name',
  'locator: test_path_directories_and_program_paths',
  'locator: test_checkout_roots_walk_up_from_the_project',
  'locator: test_candidates_in_the_editor',
  'locator: test_candidates_in_exports',
  'locator: test_a_configured_path_is_the_only_candidate',
  'locator: test_build_command_matches_every_fixture_case',
  'locator: test_build_command_globalizes_user_paths',
  'locator: test_build_command_reads_project_settings',
  'values: test_record_constructors_produce_the_wire_shape',
  'values: test_record_to_dict_serialises_integers_as_integers',
  'values: test_record_from_resolved_json_keeps_both_names_and_coerces_numbers',
  'values: test_record_round_trips_through_the_wire_shape',
  'values: test_resolved_reads_the_sidecar_result',
  'values: test_other_results_read_their_fields',
  'values: test_reachability_from_status',
  'values: test_result_helpers',
  'values: test_completion_completes_once_and_can_be_awaited_after_the_fact',
  'values: test_json_helpers_never_compare_parsed_numbers_strictly',
  'values: test_settings_defaults_and_coercion',
  'values: test_the_autoload_stays_idle_on_the_web_without_a_url',
  'rpc: test_connects_with_the_token',
  'rpc: test_generates_lists_and_exports_keys',
  'rpc: test_publishes_and_resolves_from_a_second_sidecar',
  'rpc: test_reports_sidecar_errors_with_their_codes',
  'rpc: test_an_unpublished_key_is_not_found',
  'rpc: test_imports_and_deletes_keys',
  'rpc: test_a_wrong_token_is_refused_without_hanging',
  'rpc: test_a_request_without_answer_times_out',
  'rpc: test_pending_requests_fail_when_the_connection_closes',
  'rpc: test_gives_up_after_the_retry_limit',
  'reconnect: test_reconnects_after_the_sidecar_is_killed_and_republishes',
  'dock: test_starts_idle_and_explains_why_it_cannot_spawn_here',
  'dock: test_lists_creates_and_resolves_keys_through_its_own_service',
  'readme: test_the_readme_example_publishes_a_lobby_others_resolve',
];

/** The GDScript block of addons/pkarr/README.md, as a script the readme suite loads. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(ADDON_DIR, 'README.md'), 'utf8');
  const block = /```gdscript\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('addons/pkarr/README.md has no gdscript block');
  return `extends Node\n\n\n${block}`;
}

/** One sidecar the game talks to, restartable on the same port with the same token and data. */
interface HostedSidecar {
  label: string;
  dataDir: string;
  tokenFile: string;
  token: string;
  port: number;
  process: ServeChild;
}

let testnet: Testnet;
let root: string;
let blackhole: WebSocketServer;
let blackholeToken: string;
let closedUrl: string;

beforeAll(async () => {
  await Promise.all([ensureGodotWeb(), getBrowser()]);
  root = await mkdtemp(join(tmpdir(), 'pkarr-addon-engine-'));
  testnet = await Testnet.create(10);
  blackholeToken = randomBytes(32).toString('hex');
  // Accepts the addon's handshake (checking the token like the sidecar) and never answers.
  blackhole = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols: Set<string>) => (protocols.has('pkarr-godot.v1') ? 'pkarr-godot.v1' : false),
    verifyClient: (info: { req: IncomingMessage }) =>
      String(info.req.headers['sec-websocket-protocol'] ?? '')
        .split(/,\s*/)
        .includes(`token.${blackholeToken}`),
  });
  await new Promise<void>((resolve) => blackhole.once('listening', () => resolve()));
  // A port nobody listens on: bind one, then close it.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  closedUrl = `ws://127.0.0.1:${(probe.address() as AddressInfo).port}/`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}, 300_000);

afterAll(async () => {
  for (const client of blackhole?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (blackhole ? blackhole.close(() => resolve()) : resolve()));
  await testnet?.destroy();
  if (root) await rm(root, { recursive: true, force: true });
  await closeBrowser();
});

/** Runs the game side and the host side of one engine run. */
class Host {
  readonly sidecars = new Map<string, HostedSidecar>();
  readonly actions: string[] = [];
  readonly errors: string[] = [];
  #setup: Promise<void> | null = null;
  #pending: Promise<void>[] = [];

  onLine(text: string, game: GodotInstance): void {
    this.#setup ??= this.#track(this.#start(game));
    const request = /^PKARR_HOST (\S+) (.+)$/.exec(text);
    if (request?.[1] !== undefined && request[2] !== undefined) {
      const [id, action] = [request[1], request[2]];
      this.#pending.push(this.#track(this.#perform(game, id, action)));
    }
  }

  /** Waits for everything started from `onLine`, then stops every sidecar. */
  async finish(): Promise<void> {
    await this.#setup;
    await Promise.allSettled(this.#pending);
    await Promise.all([...this.sidecars.values()].map((s) => killChild(s.process)));
  }

  #track(work: Promise<void>): Promise<void> {
    return work.catch((err: unknown) => {
      this.errors.push(err instanceof Error ? err.stack ?? err.message : String(err));
    });
  }

  async #start(game: GodotInstance): Promise<void> {
    await game.page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\//);
    const origin = new URL(game.page.url()).origin;
    for (const label of ['a', 'b']) {
      const dataDir = join(root, `data-${label}`);
      const token = randomBytes(32).toString('hex');
      const tokenFile = join(root, `token-${label}`);
      await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
      const hosted: HostedSidecar = { label, dataDir, tokenFile, token, port: 0, process: undefined as unknown as ServeChild };
      hosted.process = await this.#spawn(hosted, origin);
      hosted.port = hosted.process.ready.port;
      this.sidecars.set(label, hosted);
    }
    const config = {
      sidecars: Object.fromEntries(
        [...this.sidecars.values()].map((s) => [s.label, { url: s.process.url, token: s.token }]),
      ),
      blackhole: { url: `ws://127.0.0.1:${(blackhole.address() as AddressInfo).port}/`, token: blackholeToken },
      closed_url: closedUrl,
      origin,
    };
    await game.page.evaluate((c) => {
      (globalThis as unknown as { __pkarrTest: unknown }).__pkarrTest = c;
    }, config);
  }

  #spawn(s: HostedSidecar, origin: string): Promise<ServeChild> {
    return spawnServe(process.execPath, [
      SERVE_MAIN, 'serve',
      '--port', String(s.port),
      '--data-dir', s.dataDir,
      '--parent-pid', String(process.pid),
      '--allow-origin', origin,
      '--token-file', s.tokenFile,
      '--republish-interval', '3600',
      '--log-level', 'debug',
      '--no-relays', // tests never contact public relays
      ...testnet.bootstrap.flatMap((b) => ['--bootstrap', b]),
    ]);
  }

  async #perform(game: GodotInstance, id: string, action: string): Promise<void> {
    await this.#setup;
    this.actions.push(action);
    let ack: Record<string, unknown>;
    try {
      ack = { ok: true, ...(await this.#act(game, action)) };
    } catch (err) {
      ack = { ok: false, error: err instanceof Error ? err.message : String(err) };
      this.errors.push(`${action}: ${String(ack.error)}`);
    }
    await game.page.evaluate(([key, value]) => {
      const w = globalThis as unknown as { __pkarrAcks?: Record<string, unknown> };
      (w.__pkarrAcks ??= {})[key as string] = value;
    }, [id, ack] as const);
  }

  async #act(game: GodotInstance, action: string): Promise<Record<string, unknown>> {
    const sidecar = (label: string | undefined): HostedSidecar => {
      const s = label === undefined ? undefined : this.sidecars.get(label);
      if (s === undefined) throw new Error(`unknown sidecar ${label}`);
      return s;
    };
    const [verb, target] = action.split(' ');
    switch (verb) {
      case 'kill': {
        const s = sidecar(target);
        s.process.child.kill('SIGKILL');
        if ((await waitForExit(s.process, 10_000)) === null) throw new Error(`sidecar ${s.label} survived SIGKILL`);
        return { pid: s.process.ready.pid };
      }
      case 'restart': {
        const s = sidecar(target);
        const origin = new URL(game.page.url()).origin;
        s.process = await this.#spawn(s, origin);
        if (s.process.ready.port !== s.port) throw new Error(`restarted on ${s.process.ready.port}, not ${s.port}`);
        return { pid: s.process.ready.pid, port: s.port };
      }
      case 'close': {
        if (target !== 'blackhole') throw new Error(`cannot close ${target}`);
        const clients = [...blackhole.clients];
        for (const client of clients) client.close(1011, 'closed by the test host');
        return { closed: clients.length };
      }
      default:
        throw new Error(`unknown action ${action}`);
    }
  }
}

describe('addons/pkarr in the Godot 4.6 web engine', () => {
  it('runs the addon suites against real sidecars on a DHT testnet', async () => {
    const host = new Host();
    let result;
    try {
      result = await runGodotTests({
        name: 'addon',
        project: ADDON_PROJECT,
        mounts: { 'res://addons/pkarr': ADDON_DIR },
        suites: SUITES,
        files: { 'res://generated/readme_example.gd': await readmeExample() },
        testTimeoutSec: 30,
        timeoutMs: 300_000,
        onLine: (line, game) => host.onLine(line.text, game),
      });
    } finally {
      await host.finish();
    }
    if (process.env['PKARR_ENGINE_LOG']) {
      await writeFile(process.env['PKARR_ENGINE_LOG'], result.lines.map((l) => `[${l.stream}] ${l.text}`).join('\n'));
    }
    for (const line of result.lines) if (line.text.startsWith('# figure:')) console.log(line.text);
    const stderrOf = [...host.sidecars.values()].map((s) => `--- sidecar ${s.label} stderr tail:\n${s.process.stderr().slice(-3000)}`);
    expect(result.ok, `${formatGodotTestReport(result)}\n${host.errors.join('\n')}\n${stderrOf.join('\n')}`).toBe(true);
    expect(host.errors).toEqual([]);
    expect(result.tests.map((t) => t.name)).toEqual(EXPECTED_TESTS);
    expect([result.passed, result.failed, result.skipped]).toEqual([EXPECTED_TESTS.length, 0, 0]);
    expect(host.actions).toEqual(['close blackhole', 'kill a', 'restart a']);
    // The engine really talked to the sidecars through the page's origin.
    expect(result.lines.some((l) => l.text.startsWith('PKARR_HOST'))).toBe(true);
  }, 360_000);
});
