/**
 * Opening a lobby and joining one from the Godot 4.6 web engine against a real `pkarr-sidecar
 * serve` on a local DHT testnet: PkarrLobbyHost.open costs one sidecar call (counted by the
 * suite; before the one-call lobby.host it was keys.generate + lobby.host, plus lobby.update for
 * a locked lobby), and Pkarr.join to a host whose server admits players ends in LOBBY_FULL when
 * refused and in a peer the game's SceneMultiplayer really uses when admitted. The game servers
 * are the Node stand-ins of host/websocket-standin.ts (the web engine cannot host).
 * Suite: test/godot/projects/lobby/tests/lobby_open_test.gd.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { ensureGodotWeb, REPO_ROOT } from './godot/harness/engine-cache.ts';
import { closeBrowser, getBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import { getEngineServer } from './godot/harness/web-server.ts';
import { GodotWebSocketStandIn } from './godot/projects/lobby/host/websocket-standin.ts';
import { ADDON_DIR, SERVE_MAIN, WITHOUT_ADDON_BIN, killChild, spawnServe, type ServeChild } from './godot/projects/addon/host/serve-child.ts';

const LOBBY_PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'lobby');
const TESTS = [
  'lobby_open: test_opening_a_lobby_is_one_call',
  'lobby_open: test_opening_a_locked_lobby_is_one_call',
  'lobby_open: test_a_player_refused_by_a_full_host_ends_in_lobby_full',
  'lobby_open: test_an_admitted_player_joins_and_plays',
];

let testnet: Testnet;
let standin: GodotWebSocketStandIn;
let root: string;
let sidecar: ServeChild | undefined;

beforeAll(async () => {
  await Promise.all([ensureGodotWeb(), getBrowser()]);
  root = await mkdtemp(join(tmpdir(), 'pkarr-lobby-open-'));
  testnet = await Testnet.create(10);
  standin = await GodotWebSocketStandIn.start();
}, 300_000);

afterAll(async () => {
  if (sidecar) await killChild(sidecar);
  await standin?.close();
  await testnet?.destroy();
  if (root) await rm(root, { recursive: true, force: true });
  await closeBrowser();
});

describe('opening and joining a lobby from the Godot 4.6 web engine', () => {
  it('opens in one sidecar call; a refused player ends in LOBBY_FULL, an admitted one plays', async () => {
    // The page origin is the harness's loopback server (one per process): the sidecar must allow it.
    const origin = new URL((await getEngineServer((await ensureGodotWeb()).dir)).url).origin;
    const token = randomBytes(32).toString('hex');
    await writeFile(join(root, 'token'), `${token}\n`, { mode: 0o600 });
    sidecar = await spawnServe(process.execPath, [
      SERVE_MAIN, 'serve',
      '--data-dir', join(root, 'data'),
      '--token-file', join(root, 'token'),
      '--parent-pid', String(process.pid),
      '--allow-origin', origin,
      '--no-relays',
      ...testnet.bootstrap.flatMap((b) => ['--bootstrap', b]),
    ]);
    const project = `${await readFile(join(LOBBY_PROJECT, 'project.godot'), 'utf8')}
sidecar/web_url="${sidecar.url}"
sidecar/web_token="${token}"
`;
    const result = await runGodotTests({
      name: 'lobby-open',
      project: LOBBY_PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      include: WITHOUT_ADDON_BIN,
      files: { 'res://project.godot': project },
      suites: ['res://tests/lobby_open_test.gd'],
      config: { standin: standin.config },
      testTimeoutSec: 60,
      timeoutMs: 240_000,
    });
    const counts = result.lines.map((l) => /^PKARR_COUNT (\S+) (\d+)$/.exec(l.text)).filter((m) => m !== null).map((m) => `${m[1]}=${m[2]}`);
    console.log(`sidecar calls to open a lobby: ${counts.join(', ')}`);
    expect(result.ok, `${formatGodotTestReport(result)}\n--- sidecar stderr tail:\n${sidecar.stderr().slice(-3000)}`).toBe(true);
    expect(result.tests.map((t) => t.name)).toEqual(TESTS);
    expect([result.passed, result.failed, result.skipped]).toEqual([TESTS.length, 0, 0]);
    expect(counts).toEqual(['open-new-key=1', 'open-existing-key=1', 'open-locked=1']);
    expect([standin.acks, standin.refusedFull, standin.unexpected]).toEqual([1, 1, []]);
  }, 300_000);
});
