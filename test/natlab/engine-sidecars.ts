/**
 * Runs GDScript suites of the addon's engine test project in the real Godot web engine against
 * `serve` processes inside NAT-lab namespaces. The sidecars must allow the page's origin, so they
 * start once the page is up; their RPC ports are bridged to the root namespace's loopback
 * (tcp-bridge.ts, the same port on both sides) and their URLs and tokens handed to the page as
 * `window.__pkarrTest` (read by PkarrTestHost.live_config). Used by nat-engine-lab.test.ts and
 * lan-engine-lab.test.ts.
 */
import { join } from 'node:path';
import type { GodotInstance } from '../godot/harness/run-engine.ts';
import { runGodotTests, type GodotTestResult } from '../godot/harness/run-tests.ts';
import { ADDON_DIR, ADDON_PROJECT } from '../godot/projects/addon/host/serve-child.ts';
import type { LabHost, NatLab } from './lab.ts';
import { TCP_BRIDGE, listenTcp } from './tcp-bridge.ts';

const SIDECAR = './test/natlab/scenarios/sidecar.ts';

/** One sidecar: its label in the page's config, the lab machine it runs on, and its `serve` arguments. */
export interface LabSidecarSpec {
  label: string;
  host: LabHost;
  bootstrap: string[];
  args?: string[];
}

export interface EngineLabRun {
  result: GodotTestResult;
  /** Failures of the Node side (starting, bridging), empty when all went well. */
  errors: string[];
}

/** Runs `suites` with the sidecars of `specs` started once the page is up; `extra` joins their config. */
export async function runSuitesWithLabSidecars(lab: NatLab, name: string, suites: string[], specs: LabSidecarSpec[], extra: Record<string, unknown> = {}): Promise<EngineLabRun> {
  const bridges: { close: () => Promise<void> }[] = [];
  const errors: string[] = [];
  let setup: Promise<void> | null = null;

  const start = async (game: GodotInstance): Promise<void> => {
    await game.page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\//);
    const origin = new URL(game.page.url()).origin;
    const sidecars: Record<string, { url: string; token: string }> = {};
    await Promise.all(specs.map(async (spec) => {
      const socketPath = join(lab.dir, `rpc-${name}-${spec.label}.sock`);
      const bridge = await listenTcp(socketPath);
      bridges.push(bridge);
      const agent = await lab.agent(spec.host);
      const started = await agent.callWithin<{ port: number; token: string }>(60_000, SIDECAR, 'start', spec.label, spec.bootstrap,
        [...(spec.args ?? []), '--port', String(bridge.port), '--allow-origin', origin]);
      await agent.call(TCP_BRIDGE, 'listenUnix', socketPath, started.port);
      sidecars[spec.label] = { url: `ws://127.0.0.1:${bridge.port}/`, token: started.token };
    }));
    await game.page.evaluate((c) => {
      (globalThis as unknown as { __pkarrTest: unknown }).__pkarrTest = c;
    }, { sidecars, ...extra });
  };

  try {
    const result = await runGodotTests({
      name,
      project: ADDON_PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      suites,
      testTimeoutSec: 120,
      timeoutMs: 300_000,
      onLine: (_line, game) => {
        setup ??= start(game).catch((err: unknown) => { errors.push(err instanceof Error ? err.stack ?? err.message : String(err)); });
      },
    });
    await setup;
    return { result, errors };
  } finally {
    await Promise.all(bridges.map((b) => b.close()));
  }
}
