/**
 * The addon in the real Godot 4.6 web engine against sidecars on a LAN with no internet: two
 * `pkarr-sidecar serve --no-dht --no-relays` processes in NAT-lab namespaces on one bridge with no
 * WAN (site `wan: false`), their RPC ports bridged to the root namespace's loopback (as
 * nat-engine-lab.test.ts does). The GDScript suite is test/godot/projects/addon/tests/lan_lab_test.gd:
 * the PkarrLobbyBrowser shows the LAN lobby (source "lan") and lobby.join answers its LAN address.
 * Needs root: without namespaces it fails.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGodotWeb } from './godot/harness/engine-cache.ts';
import { getBrowser, type GodotInstance } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import { ADDON_DIR, ADDON_PROJECT } from './godot/projects/addon/host/serve-child.ts';
import type { AgentClient } from './natlab/agent-client.ts';
import { NatLab } from './natlab/lab.ts';
import { TCP_BRIDGE, listenTcp } from './natlab/tcp-bridge.ts';

const SIDECAR = './test/natlab/scenarios/sidecar.ts';
const LABELS = ['host', 'player'] as const;

let lab: NatLab | null = null;
const bridges: { port: number; close: () => Promise<void> }[] = [];

beforeAll(async () => {
  await Promise.all([ensureGodotWeb(), getBrowser()]);
  lab = await NatLab.create({ sites: [{ nat: 'port-restricted', wan: false, hosts: 2 }] });
}, 120_000);

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.close()));
  await lab?.close();
});

/** Starts both LAN sidecars once the page's origin is known, bridges them, and hands their config to the page. */
async function startSidecars(game: GodotInstance): Promise<void> {
  await game.page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\//);
  const origin = new URL(game.page.url()).origin;
  const sidecars: Record<string, { url: string; token: string }> = {};
  await Promise.all(LABELS.map(async (label, i) => {
    const socketPath = join(lab!.dir, `rpc-${label}.sock`);
    const bridge = await listenTcp(socketPath);
    bridges.push(bridge);
    const agent: AgentClient = await lab!.agent(lab!.sites[0]!.hosts[i]!);
    const started = await agent.callWithin<{ port: number; token: string }>(60_000, SIDECAR, 'start', label, [], ['--no-dht', '--lan-interval', '2', '--port', String(bridge.port), '--allow-origin', origin]);
    await agent.call(TCP_BRIDGE, 'listenUnix', socketPath, started.port);
    sidecars[label] = { url: `ws://127.0.0.1:${bridge.port}/`, token: started.token };
  }));
  const config = { sidecars, host_lan: lab!.sites[0]!.hosts[0]!.address };
  await game.page.evaluate((c) => {
    (globalThis as unknown as { __pkarrTest: unknown }).__pkarrTest = c;
  }, config);
}

describe('addons/pkarr in the web engine against sidecars on a LAN with no internet', () => {
  it('the lobby browser shows a LAN lobby and join by code answers its LAN address', async () => {
    let setup: Promise<void> | null = null;
    const errors: string[] = [];
    const result = await runGodotTests({
      name: 'lan-lab',
      project: ADDON_PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      suites: ['res://tests/lan_lab_test.gd'],
      testTimeoutSec: 90,
      timeoutMs: 240_000,
      onLine: (_line, game) => {
        setup ??= startSidecars(game).catch((err: unknown) => { errors.push(err instanceof Error ? err.stack ?? err.message : String(err)); });
      },
    });
    await setup;
    expect(errors).toEqual([]);
    expect(result.ok, formatGodotTestReport(result)).toBe(true);
    expect(result.tests.map((t) => t.name)).toEqual([
      'lan_lab: test_the_browser_shows_a_lan_lobby_and_join_answers_its_lan_address',
    ]);
  }, 300_000);
});
