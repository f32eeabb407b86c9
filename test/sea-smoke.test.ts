/**
 * The linux-x64 single executable (addons/pkarr/bin/linux-x64/pkarr-sidecar) as the addon runs
 * it: built in beforeAll when missing or out of date, then `--version`, `serve` with its ready
 * line, an authenticated RPC round trip, stdin EOF, and signing inside the executable (where
 * sodium-native cannot load and node:crypto signs) against a relay run by the same executable.
 * Prints the figures of docs/packaging.md (size, cold start, idle RSS); nothing is asserted on
 * timings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import type WebSocket from 'ws';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { cpuMs, ensureHostSidecar, median, openRpc, rpc, rssMb, spawnUntilLine, stop, type ReadyLine, type Spawned } from './sea-support.ts';

const MAIN = resolve('sidecar/src/cli/main.ts');
/** Cold starts measured for the figures (the slower source baseline gets half as many). */
const RUNS = 10;

let binary: string;
let bytes: number;
let version: string;
let root: string;
const running: Spawned[] = [];
const sockets: WebSocket[] = [];

async function dataDir(): Promise<string> {
  return mkdtemp(join(root, 'd-'));
}

/** `serve` without network (no DHT, no relay): nothing leaves the machine. */
async function serve(command: string, prefix: string[], extra: string[] = []): Promise<{ s: Spawned; ready: ReadyLine }> {
  const s = await spawnUntilLine(command, [...prefix, 'serve', '--no-dht', '--data-dir', await dataDir(), ...(extra.length ? extra : ['--no-relays'])]);
  running.push(s);
  return { s, ready: JSON.parse(s.firstLine) as ReadyLine };
}

async function connect(ready: ReadyLine, token?: string): Promise<WebSocket> {
  const ws = await openRpc(ready, token);
  sockets.push(ws);
  return ws;
}

beforeAll(async () => {
  const built = await ensureHostSidecar();
  binary = built.path;
  bytes = built.bytes;
  version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
  root = await mkdtemp(join(tmpdir(), 'pkarr-sea-'));
}, 300_000);

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(running.map((s) => stop(s, 2000)));
  if (root) await rm(root, { recursive: true, force: true });
});

describe('linux-x64 single executable', () => {
  it('prints the package version with --version (no package.json next to it)', () => {
    const result = spawnSync(binary, ['--version'], { encoding: 'utf8', cwd: root, timeout: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });

  it('rejects an unknown command with exit code 2 like the CLI', () => {
    const result = spawnSync(binary, ['no-such-command'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown command "no-such-command"');
  });

  it('serves: the ready line, an authenticated status round trip, 401 for a wrong token', async () => {
    const { s, ready } = await serve(binary, []);
    expect(Object.keys(ready)).toEqual(['event', 'port', 'token', 'version', 'pid']);
    expect(ready).toMatchObject({ event: 'ready', version, pid: s.child.pid });
    expect(ready.token).toMatch(/^[0-9a-f]{64}$/);
    const ws = await connect(ready);
    expect(ws.protocol).toBe('pkarr-godot.v1');
    const status = await rpc(ws, 'status');
    expect(status.result).toMatchObject({ version, pid: ready.pid, dht: { enabled: false }, relays: [], keys: 0 });
    await expect(connect(ready, 'f'.repeat(64))).rejects.toThrow('HTTP 401');
  });

  it('exits with code 0 when its stdin reaches EOF', async () => {
    const { s } = await serve(binary, []);
    s.child.stdin!.end();
    const bound = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
    const exit = await s.exited;
    clearTimeout(bound);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.stderr()).toContain('stopping: stdin-eof');
  });

  it('signs and verifies inside the executable (node:crypto): publish to and resolve from its own relay', async () => {
    const relay = await spawnUntilLine(binary, ['relay', '--port', '0', '--testnet', '3', '--data-dir', await dataDir()]);
    running.push(relay);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(relay.firstLine)?.[1];
    expect(url, relay.firstLine).toBeDefined();
    const { ready } = await serve(binary, [], ['--relay', url!]);
    const ws = await connect(ready);
    const key = await rpc(ws, 'keys.generate', { name: 'host' });
    expect(key.error).toBeUndefined();
    // The key derived by node:crypto in the executable equals the one the source derives.
    const exported = await rpc(ws, 'keys.export', { name: 'host' });
    expect(Keypair.fromSecretKeyHex(exported.result.secretKey).publicKey.z32).toBe(key.result.publicKey);
    const records = [{ type: 'TXT', name: '_lobby', ttl: 60, text: 'v=1 game=sea' }];
    const published = await rpc(ws, 'publish', { key: 'host', records, republish: false });
    expect(published.error).toBeUndefined();
    expect(published.result.relays).toEqual([expect.objectContaining({ url, ok: true })]);
    const resolved = await rpc(ws, 'resolve', { publicKey: key.result.publicKey, policy: 'NetworkOnly' });
    expect(resolved.result).toMatchObject({
      found: true, source: 'relay', timestamp: published.result.timestamp,
      records: [{ type: 'TXT', relative: '_lobby', text: 'v=1 game=sea' }],
    });
  });

  it(`figures: size, cold start to the ready line (median of ${RUNS}), idle RSS — executable vs source`, async () => {
    const measure = async (command: string, prefix: string[], runs: number): Promise<{ startMs: number; cpu: number; rss: number }> => {
      const starts: number[] = [];
      const cpu: number[] = [];
      const rss: number[] = [];
      for (let i = 0; i < runs; i++) {
        const { s } = await serve(command, prefix);
        starts.push(s.firstLineMs);
        cpu.push(await cpuMs(s.child.pid!));
        await new Promise((r) => setTimeout(r, 300)); // let start-up work settle: "idle"
        rss.push(await rssMb(s.child.pid!));
        await stop(s);
      }
      return { startMs: median(starts), cpu: median(cpu), rss: median(rss) };
    };
    const sea = await measure(binary, [], RUNS);
    const source = await measure(process.execPath, [MAIN], RUNS / 2);
    expect(sea.startMs).toBeGreaterThan(0);
    expect(sea.rss).toBeGreaterThan(0);
    console.log([
      `single executable ${binary}`,
      `  size                               ${(bytes / 1e6).toFixed(1)} MB`,
      `  cold start to ready line (median)  ${sea.startMs.toFixed(0)} ms   (source, median of ${RUNS / 2}: node main.ts ${source.startMs.toFixed(0)} ms)`,
      `  CPU time until ready (median)      ${sea.cpu.toFixed(0)} ms   (source: ${source.cpu.toFixed(0)} ms; all threads)`,
      `  idle RSS after ready (median)      ${sea.rss.toFixed(1)} MB   (source: ${source.rss.toFixed(1)} MB)`,
      `  goals: < 150 ms, < 80 MB; load average now ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
    ].join('\n'));
  }, 120_000);
});
