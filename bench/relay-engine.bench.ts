/**
 * Resolve through the local relay, end to end, in the real Godot 4.6 web engine (the relay backend
 * of addons/pkarr, no sidecar): `npm run bench -- relay-engine`. Our relay (in-memory DHT, rate
 * limits off) runs here on loopback, like `serve`'s local relay on 6881; the page calls it
 * cross-origin. Baseline measured in the same run: a bare HTTPRequest GET of the same URL from
 * GDScript (an HTTPRequest node: what a plain Godot request costs, frame pacing included), and the
 * relay client's two web transports without verification (HTTPClient polled per frame; fetch()).
 * Goal (issue 15): resolve < 50 ms p50. Suite: test/godot/projects/relay/bench/relay_bench.gd.
 */
import { join } from 'node:path';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { parseRecordText } from '../sidecar/src/core/record-text.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { startRelay } from '../sidecar/src/relay/relay-server.ts';
import { FakeDht, rawRequest } from '../test/relay-server-helpers.ts';
import { ensureGodotWeb, REPO_ROOT } from '../test/godot/harness/engine-cache.ts';
import { closeBrowser } from '../test/godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from '../test/godot/harness/run-tests.ts';
import { ADDON_DIR, WITHOUT_ADDON_BIN } from '../test/godot/projects/addon/host/serve-child.ts';
import { fmt } from './measure.ts';

const ROUNDS = 30;
const GOAL_MS = 50;

interface Figures { case: string; frames: number; fps: number; rounds: number; failures: number; p50: number; p90: number; min: number }

export async function run(): Promise<void> {
  await ensureGodotWeb();
  const relay = await startRelay({ port: 0, dht: new FakeDht(), rateLimit: null, dhtRateLimit: null, log: () => {} });
  try {
    const keypair = Keypair.generate();
    const packet = SignedPacket.sign(keypair, ['A @ 10.1.2.3 300', 'TXT _game "bench" 300', 'TXT _lobby "v=1 game=bench" 300'].map((r) => parseRecordText(r)));
    const put = await rawRequest(`${relay.url}/${keypair.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload() });
    if (put.status !== 204) throw new Error(`PUT answered ${put.status}`);
    const result = await runGodotTests({
      project: join(REPO_ROOT, 'test', 'godot', 'projects', 'relay'),
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      include: WITHOUT_ADDON_BIN,
      suites: ['res://bench/relay_bench.gd'],
      config: { local: relay.url, key: keypair.publicKey.z32, rounds: ROUNDS },
      testTimeoutSec: 240,
      timeoutMs: 300_000,
    });
    if (!result.ok) throw new Error(formatGodotTestReport(result));
    const figures = result.lines
      .map((l) => /^RELAY_BENCH (.+)$/.exec(l.text)?.[1])
      .filter((t): t is string => t !== undefined)
      .map((t) => JSON.parse(t) as Figures);
    const base = figures.find((f) => f.case === 'httprequest');
    if (base === undefined) throw new Error('no baseline figure');
    console.log(`${ROUNDS} rounds each, ms (p50 / p90 / min), ratio = p50 / bare HTTPRequest p50; goal resolve p50 < ${GOAL_MS} ms`);
    for (const f of figures) {
      const goal = f.case.startsWith('resolve') ? (f.p50 < GOAL_MS ? '  goal met' : '  GOAL MISSED') : '';
      console.log(`  ${f.case.padEnd(18)} ${String(f.frames).padStart(3)} frames ${fmt(f.p50, 1).padStart(7)} / ${fmt(f.p90, 1).padStart(7)} / ${fmt(f.min, 1).padStart(7)}  ×${fmt(f.p50 / base.p50, 2)}${f.failures > 0 ? `  (${f.failures} failed)` : ''}${goal}`);
    }
  } finally {
    await relay.close();
    await closeBrowser();
  }
}
