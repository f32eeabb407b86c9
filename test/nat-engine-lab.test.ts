/**
 * The addon in the real Godot 4.6 web engine against sidecars inside the NAT lab: two
 * `pkarr-sidecar serve` processes, each behind its own port-restricted NAT (no router mapping),
 * bootstrapped from libtorrent DHT nodes on the lab's WAN. Their RPC ports are bridged to the root
 * namespace's loopback over Unix sockets (test/natlab/tcp-bridge.ts, the same port number on both
 * sides) so the engine's WebSocket reaches them. The GDScript suite is
 * test/godot/projects/addon/tests/nat_lab_test.gd. Needs root: without namespaces it fails.
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
  lab = await NatLab.create({ sites: [{ nat: 'port-restricted' }, { nat: 'port-restricted' }], dhtNodes: 8 });
}, 120_000);

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.close()));
  await lab?.close();
});

/** Starts both lab sidecars once the page's origin is known, bridges them, and hands their config to the page. */
async function startSidecars(game: GodotInstance): Promise<void> {
  await game.page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\//);
  const origin = new URL(game.page.url()).origin;
  const sidecars: Record<string, { url: string; token: string }> = {};
  await Promise.all(LABELS.map(async (label, i) => {
    const socketPath = join(lab!.dir, `rpc-${label}.sock`);
    const bridge = await listenTcp(socketPath);
    bridges.push(bridge);
    const agent: AgentClient = await lab!.agent(lab!.sites[i]!.hosts[0]!);
    const started = await agent.callWithin<{ port: number; token: string }>(60_000, SIDECAR, 'start', label, lab!.bootstrap, ['--port', String(bridge.port), '--allow-origin', origin]);
    await agent.call(TCP_BRIDGE, 'listenUnix', socketPath, started.port);
    sidecars[label] = { url: `ws://127.0.0.1:${bridge.port}/`, token: started.token };
  }));
  const config = { sidecars, host_wan: lab!.sites[0]!.wanAddress };
  await game.page.evaluate((c) => {
    (globalThis as unknown as { __pkarrTest: unknown }).__pkarrTest = c;
  }, config);
}

describe('addons/pkarr in the web engine against sidecars behind real NATs', () => {
  it('reports the NAT type, hosts behind NAT and gets a punched route for a player behind another NAT', async () => {
    let setup: Promise<void> | null = null;
    const errors: string[] = [];
    const result = await runGodotTests({
      name: 'nat-lab',
      project: ADDON_PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      suites: ['res://tests/nat_lab_test.gd'],
      testTimeoutSec: 120,
      timeoutMs: 300_000,
      onLine: (_line, game) => {
        setup ??= startSidecars(game).catch((err: unknown) => { errors.push(err instanceof Error ? err.stack ?? err.message : String(err)); });
      },
    });
    await setup;
    expect(errors).toEqual([]);
    expect(result.ok, formatGodotTestReport(result)).toBe(true);
    expect(result.tests.map((t) => t.name)).toEqual([
      'nat_lab: test_status_reports_the_nat_type_behind_a_port_restricted_router',
      'nat_lab: test_a_host_behind_nat_opens_and_a_player_behind_another_nat_gets_a_punched_route',
    ]);
  }, 400_000);
});
