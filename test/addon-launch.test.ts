/**
 * The addon's desktop launch path, replayed from Node: the sidecar is spawned with exactly the
 * argument list PkarrSidecarLocator.build_command produces (the shared fixture
 * test/godot/projects/addon/fixtures/build_command.json, which the engine suite locator_test.gd
 * checks against the real GDScript), with stdin/stdout/stderr pipes as OS.execute_with_pipe
 * gives them, and stopped the way PkarrConnection stops it.
 *
 * Generic lifetime behaviour of `serve` (exit bounds, SIGTERM, token files, …) is covered by
 * test/serve-process.test.ts; this file covers what depends on the addon's command line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import {
  ADDON_PROJECT,
  REPO_SERVE_MAIN_RELATIVE,
  RpcSocket,
  SERVE_MAIN,
  killChild,
  spawnServe,
  waitForExit,
  type ServeChild,
} from './godot/projects/addon/host/serve-child.ts';

interface FixtureCase {
  name: string;
  exe: string;
  prefix: string[];
  parent_pid: string;
  settings: Record<string, unknown>;
  expected_args: string[];
}

/** What PkarrConnection gives a stopping sidecar before it kills it (SHUTDOWN_GRACE_MSEC). */
const ADDON_SHUTDOWN_GRACE_MS = 1500;
/** Generous bound for exits in this file (timings are asserted in serve-process.test.ts). */
const EXIT_WAIT_MS = 15_000;

let testnet: Testnet;
let root: string;
let cases: FixtureCase[];
const running: ServeChild[] = [];
const helpers: ChildProcess[] = [];
let dirs = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pkarr-addon-launch-'));
  testnet = await Testnet.create(6);
  const fixture = JSON.parse(await readFile(join(ADDON_PROJECT, 'fixtures', 'build_command.json'), 'utf8')) as {
    cases: FixtureCase[];
  };
  cases = fixture.cases;
});

afterAll(async () => {
  await Promise.all(running.map((s) => killChild(s)));
  for (const h of helpers) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
  await testnet?.destroy();
  if (root) await rm(root, { recursive: true, force: true });
});

function fixtureCase(name: string): FixtureCase {
  const found = cases.find((c) => c.name === name);
  if (!found) throw new Error(`fixture case ${name} missing`);
  return found;
}

/** Replaces the fixture's {placeholders}, as locator_test.gd does with its sample values. */
function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\{[a-z_]+\}/g, (p) => {
    const value = values[p];
    if (value === undefined) throw new Error(`no value for ${p}`);
    return value;
  });
}

/** The exact command of a fixture case with real values. */
function command(name: string, values: Record<string, string>): { path: string; args: string[] } {
  const c = fixtureCase(name);
  return { path: substitute(c.exe, values), args: c.expected_args.map((a) => substitute(a, values)) };
}

async function launch(name: string, values: Record<string, string>): Promise<ServeChild> {
  const { path, args } = command(name, values);
  const s = await spawnServe(path, args);
  running.push(s);
  return s;
}

async function dataDir(): Promise<string> {
  return mkdtemp(join(root, `d${++dirs}-`));
}

/** A process standing in for the game: its pid goes to --parent-pid; SIGKILL it like the editor's Stop. */
function fakeGame(): ChildProcess {
  const game = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  helpers.push(game);
  return game;
}

function launchValues(dir: string, pid: number): Record<string, string> {
  return {
    '{exe}': process.execPath,
    '{entry}': SERVE_MAIN,
    '{data_dir}': dir,
    '{pid}': String(pid),
    '{bootstrap}': testnet.bootstrap[0] ?? '',
  };
}

describe('the addon launch command (PkarrSidecarLocator.build_command)', () => {
  it('runs the checkout entry point the locator looks for', () => {
    expect(SERVE_MAIN.endsWith(REPO_SERVE_MAIN_RELATIVE)).toBe(true);
    expect(existsSync(SERVE_MAIN)).toBe(true);
    const args = command('launch', launchValues('/d', 1)).args;
    expect(args.slice(0, 2)).toEqual([SERVE_MAIN, 'serve']);
    expect(args).toContain('--no-relays');
  });

  it('prints one ready line and runs with the settings the addon passed', async () => {
    const dir = await dataDir();
    const s = await launch('launch', launchValues(dir, process.pid));
    expect(Object.keys(s.ready).sort()).toEqual(['event', 'pid', 'port', 'token', 'version']);
    expect(s.ready.event).toBe('ready');
    expect(s.ready.pid).toBe(s.child.pid);
    expect(s.ready.token).toMatch(/^[0-9a-f]{64}$/);
    expect(s.ready.port).toBeGreaterThan(0);
    const rpc = await RpcSocket.open(s.url, s.ready.token);
    try {
      const { result } = await rpc.call('status');
      expect(result.dataDir).toBe(dir);
      expect(result.relays).toEqual([]); // an empty relay setting became --no-relays
      expect(result.dht.enabled).toBe(true);
      expect(result.pid).toBe(s.ready.pid);
    } finally {
      rpc.close();
    }
    expect(s.stdoutAfterReady()).toBe('');
  });

  it('runs relays-only when the DHT is off (bootstrap left out, as --no-dht requires)', async () => {
    const s = await launch('relays only', launchValues(await dataDir(), process.pid));
    const rpc = await RpcSocket.open(s.url, s.ready.token);
    try {
      const { result } = await rpc.call('status');
      expect(result.dht.enabled).toBe(false);
      expect(result.relays).toEqual(['http://127.0.0.1:8080']);
    } finally {
      rpc.close();
    }
  });

  it('stops as the addon stops it: shutdown request, then it exits by itself with code 0', async () => {
    const s = await launch('launch', launchValues(await dataDir(), process.pid));
    const rpc = await RpcSocket.open(s.url, s.ready.token);
    rpc.send('shutdown');
    const started = Date.now();
    const exit = await waitForExit(s, EXIT_WAIT_MS);
    rpc.close();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.stderr()).toContain('stopping: shutdown');
    console.log(`addon stop: exited ${Date.now() - started} ms after shutdown (addon grace ${ADDON_SHUTDOWN_GRACE_MS} ms)`);
  });

  it('exits when the game dies (SIGKILL of the --parent-pid process, stdin still open)', async () => {
    const game = fakeGame();
    const s = await launch('launch', launchValues(await dataDir(), game.pid ?? 0));
    expect(s.child.stdin?.writable).toBe(true);
    game.kill('SIGKILL');
    const exit = await waitForExit(s, EXIT_WAIT_MS);
    expect(exit).not.toBeNull();
    expect(s.stderr()).toContain('stopping: parent-exited');
  });

  it('exits when its stdin pipe closes (what the OS does when the game dies)', async () => {
    const s = await launch('launch', launchValues(await dataDir(), process.pid));
    s.child.stdin?.end();
    const exit = await waitForExit(s, EXIT_WAIT_MS);
    expect(exit?.code).toBe(0);
    expect(s.stderr()).toContain('stopping: stdin-eof');
  });

  it('restarts with the same command: the keys survive, the port and token are new', async () => {
    const dir = await dataDir();
    const values = launchValues(dir, process.pid);
    const first = await launch('launch', values);
    const rpc = await RpcSocket.open(first.url, first.ready.token);
    const generated = await rpc.call('keys.generate', { name: 'host' });
    rpc.close();
    expect(generated.result.publicKey).toMatch(/^[a-z0-9]{52}$/);
    first.child.kill('SIGKILL'); // a crash, as PkarrConnection's restart path sees it
    expect(await waitForExit(first, EXIT_WAIT_MS)).not.toBeNull();

    const second = await launch('launch', values);
    expect(second.ready.token).not.toBe(first.ready.token);
    const again = await RpcSocket.open(second.url, second.ready.token);
    try {
      const { result } = await again.call('keys.list');
      expect(result).toEqual([{ name: 'host', publicKey: generated.result.publicKey }]);
    } finally {
      again.close();
    }
  });

  it('refuses the old token after a restart', async () => {
    const values = launchValues(await dataDir(), process.pid);
    const first = await launch('launch', values);
    await killChild(first);
    const second = await launch('launch', values);
    await expect(RpcSocket.open(second.url, first.ready.token)).rejects.toThrow(/HTTP 401/);
  });
});
