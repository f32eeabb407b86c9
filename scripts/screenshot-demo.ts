/**
 * Screenshots of the demo project (demo_project/) taken from the real Godot 4.6 web engine in
 * headless Chromium, through the engine test harness (test/godot/harness):
 *
 * - `docs/images/demo-menu.png`: the main menu, connected to a sidecar;
 * - `docs/images/demo-browse.png`: the browse screen listing three lobbies that real
 *   `pkarr-sidecar serve` processes host on a local DHT testnet (loopback only), found by the
 *   demo's PkarrLobbyBrowser through its own sidecar.
 *
 * The demo picks its screen from the user argument `--demo-screen=<name>`; the web build reaches
 * its sidecar through `pkarr/sidecar/web_url` and `web_token`, appended to project.godot here
 * (a page's WebSocket carries an Origin, so that sidecar allows the harness page's origin).
 * The run fails (exit 1) on any engine error line, page error or missing screenshot.
 *
 * Usage: `npm run demo:screenshot [-- --out <dir>]` (default docs/images).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { ensureGodotWeb, REPO_ROOT } from '../test/godot/harness/engine-cache.ts';
import { closeBrowser, startGodot, type GodotRunResult } from '../test/godot/harness/run-engine.ts';
import { findErrors } from '../test/godot/harness/tap.ts';
import { getEngineServer } from '../test/godot/harness/web-server.ts';
import { ADDON_DIR, RpcSocket, SERVE_MAIN, killChild, spawnServe, type ServeChild } from '../test/godot/projects/addon/host/serve-child.ts';

const DEMO_DIR = join(REPO_ROOT, 'demo_project');
/** The demo's game id and version (demo_project/scripts/session.gd). */
const GAME = { game: 'pkarr-demo', gameVersion: '1' };
/** The lobbies shown on the browse screen. */
const LOBBIES = [
  { name: "Alice's room", players: 3, maxPlayers: 4, port: 7777, transport: 'enet' },
  { name: 'Friday night squares', players: 5, maxPlayers: 8, port: 7780, transport: 'ws' },
  { name: 'Newcomers welcome', players: 1, maxPlayers: 6, port: 7790, transport: 'enet' },
];
/** Smallest plausible size of a rendered screen: a black or empty canvas compresses far below. */
const MIN_PNG_BYTES = 15_000;

function check(name: string, run: GodotRunResult): void {
  const errors = findErrors(run.lines).map((e) => [e.text, ...e.context].join('\n    '));
  const problems = [
    ...errors,
    ...run.pageErrors.map((e) => `page: ${e}`),
    ...(run.completed ? [] : [`no completion line (timed out: ${run.timedOut})`]),
  ];
  const png = run.screenshots[0];
  if (png === undefined) problems.push('the screenshot was not taken');
  else if (png.length < MIN_PNG_BYTES) problems.push(`the screenshot is only ${png.length} bytes: blank canvas?`);
  if (problems.length > 0) {
    const tail = run.lines.slice(-25).map((l) => `  [${l.stream}] ${l.text}`).join('\n');
    throw new Error(`${name}:\n  ${problems.join('\n  ')}\nlast output:\n${tail}`);
  }
}

/** Runs the demo on `screen` and takes a PNG once a line matches `ready`. */
async function shoot(project: string, screen: string, ready: string, path: string): Promise<void> {
  const game = await startGodot({
    name: `demo-${screen}`,
    project: DEMO_DIR,
    mounts: { 'res://addons/pkarr': ADDON_DIR },
    files: { 'res://project.godot': project },
    include: (res) => !res.startsWith('res://addons/pkarr/bin/'), // sidecar executables
    args: ['--', `--demo-screen=${screen}`],
    headless: false, // render through WebGL2 (SwiftShader)
    doneMarker: ready,
    exitGraceMs: 1500,
    timeoutMs: 180_000,
    screenshots: [{ after: ready, delayMs: 700, path }],
  });
  check(screen, await game.result);
  console.log(`wrote ${path}`);
}

/** A sidecar the demo connects to, and a second one hosting {@link LOBBIES}, on one testnet. */
async function withSidecars(root: string, origin: string, work: (url: string, token: string) => Promise<void>): Promise<void> {
  const testnet = await Testnet.create(8);
  const children: ServeChild[] = [];
  let rpc: RpcSocket | undefined;
  const serve = async (label: string, extra: string[]): Promise<ServeChild> => {
    const child = await spawnServe(process.execPath, [
      SERVE_MAIN, 'serve',
      '--data-dir', join(root, label),
      '--parent-pid', String(process.pid),
      '--no-relays',
      ...testnet.bootstrap.flatMap((b) => ['--bootstrap', b]),
      ...extra,
    ]);
    children.push(child);
    return child;
  };
  try {
    const hosts = await serve('hosts', []);
    rpc = await RpcSocket.open(hosts.url, hosts.ready.token);
    for (const [i, lobby] of LOBBIES.entries()) {
      for (const [method, params] of [
        ['keys.generate', { name: `host${i}` }],
        ['lobby.host', { key: `host${i}`, ...GAME, ...lobby, address: '127.0.0.1' }],
      ] as const) {
        const answer = await rpc.call(method, params);
        if (answer.error !== undefined) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
      }
    }
    const token = randomBytes(32).toString('hex');
    const tokenFile = join(root, 'token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const demo = await serve('demo', ['--allow-origin', origin, '--token-file', tokenFile]);
    await work(demo.url, token);
  } finally {
    rpc?.close();
    await Promise.all(children.map((c) => killChild(c)));
    await testnet.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(REPO_ROOT, 'docs', 'images') } } });
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  const root = await mkdtemp(join(tmpdir(), 'pkarr-demo-shots-'));
  try {
    // The page origin is the harness's loopback server (one per process): the sidecar must allow it.
    const origin = new URL((await getEngineServer((await ensureGodotWeb()).dir)).url).origin;
    await withSidecars(root, origin, async (url, token) => {
      const project = (await readFile(join(DEMO_DIR, 'project.godot'), 'utf8')) + [
        '', '[pkarr]', '',
        `sidecar/web_url="${url}"`,
        `sidecar/web_token="${token}"`,
        'network/relays=PackedStringArray()', '',
      ].join('\n');
      await shoot(project, 'menu', '[demo] sidecar: Pkarr sidecar connected', join(out, 'demo-menu.png'));
      await shoot(project, 'browse', `[demo] browse: ${LOBBIES.length} lobbies`, join(out, 'demo-browse.png'));
    });
  } finally {
    await closeBrowser();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
