/**
 * PkarrMultiServerPeer (addons/pkarr/lobby/pkarr_multi_server_peer.gd) and the admission
 * handshake (pkarr_lobby_admission.gd) in the real Godot 4.6 web engine, with in-memory inner
 * servers written as GDScript MultiplayerPeerExtensions (test/godot/projects/lobby/lib/
 * fake_multiplayer_net.gd): the web engine can run neither an ENet nor a WebSocket server. Id
 * mapping, routing (channels, transfer modes, broadcast, exclusion), admission, refusal with a
 * reason, timeouts, disconnections, and three real SceneMultiplayers over it. Then the player's
 * side of a join (PkarrLobbyJoin.connect_route) against the Node stand-ins of a host's WebSocket
 * game server that speak exactly what Godot's WebSocketMultiplayerPeer server plus the admission
 * handshake send (host/websocket-standin.ts). No sidecar (the sidecar half is
 * test/lobby-host-rpc.test.ts). Suites: test/godot/projects/lobby/tests/multi_server_peer_test.gd,
 * lobby_admission_test.gd.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGodotWeb, REPO_ROOT } from './godot/harness/engine-cache.ts';
import { closeBrowser, getBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import { ADDON_DIR, WITHOUT_ADDON_BIN } from './godot/projects/addon/host/serve-child.ts';
import { GodotWebSocketStandIn } from './godot/projects/lobby/host/websocket-standin.ts';

const LOBBY_PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'lobby');

const TESTS = [
  'multi_server_peer: test_keeps_ids_remaps_collisions_and_routes_by_transport',
  'multi_server_peer: test_broadcasts_reach_admitted_players_of_every_server',
  'multi_server_peer: test_refused_players_get_the_reason_and_never_reach_the_game',
  'multi_server_peer: test_a_player_that_does_not_answer_is_dropped',
  'multi_server_peer: test_disconnections_are_reported_once_and_drop_queued_packets',
  'multi_server_peer: test_refusing_new_connections_reaches_every_server',
  'multi_server_peer: test_add_server_takes_only_running_servers_once',
  'multi_server_peer: test_admission_messages_are_read_strictly',
  'multi_server_peer: test_scene_multiplayer_players_of_both_transports_see_each_other',
  'lobby_admission: test_an_admitted_player_ends_in_a_working_peer',
  'lobby_admission: test_a_full_lobby_refuses_with_lobby_full',
  'lobby_admission: test_a_host_that_never_admits_times_out',
  'lobby_admission: test_without_admission_the_connection_is_the_join',
];

let standin: GodotWebSocketStandIn;

beforeAll(async () => {
  await Promise.all([ensureGodotWeb(), getBrowser()]);
  standin = await GodotWebSocketStandIn.start();
}, 300_000);

afterAll(async () => {
  await standin?.close();
  await closeBrowser();
});

describe('PkarrMultiServerPeer in the Godot 4.6 web engine', () => {
  it('routes, maps ids, admits and refuses over two inner servers; a joiner waits for its admission', async () => {
    const result = await runGodotTests({
      name: 'multiplexer',
      project: LOBBY_PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      include: WITHOUT_ADDON_BIN,
      suites: ['res://tests/multi_server_peer_test.gd', 'res://tests/lobby_admission_test.gd'],
      config: { standin: standin.config },
      testTimeoutSec: 20,
      timeoutMs: 180_000,
    });
    expect(result.ok, formatGodotTestReport(result)).toBe(true);
    expect(result.tests.map((t) => t.name)).toEqual(TESTS);
    expect([result.passed, result.failed, result.skipped]).toEqual([TESTS.length, 0, 0]);
    // The web build's WebSocket client really spoke the handshake with the stand-ins.
    expect([standin.acks, standin.refusedFull, standin.unexpected]).toEqual([1, 1, []]);
  }, 240_000);
});
