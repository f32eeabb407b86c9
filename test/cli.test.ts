import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { FakeRelay } from './client-helpers.ts';

const MAIN = join(import.meta.dirname, '..', 'sidecar', 'src', 'cli', 'main.ts');
/** Lookups here wait out dead nodes (earlier CLI processes that joined and left): keep it short. */
const TIMEOUT = ['--timeout', '500'];

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

const children = new Set<ChildProcess>();

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function collect(child: ChildProcess, limitMs = 45_000): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function cli(...args: string[]): Promise<Run> {
  return collect(start(args));
}

/** A usage/runtime error: the given exit code and exactly one line on stderr, no stack trace. */
function expectOneLineError(run: Run, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^pkarr-sidecar/);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

let dir: string;
let testnet: Testnet;
let bootstrap: string[];
let relay: FakeRelay;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pkarr-cli-'));
  testnet = await Testnet.create(20);
  bootstrap = testnet.bootstrap.slice(0, 2).flatMap((b) => ['--bootstrap', b]);
  relay = await FakeRelay.start('v7');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await relay?.close();
  await testnet?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('pkarr-sidecar basics', () => {
  it('--version, --help, no arguments, unknown command', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(await cli('--version')).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const command of ['keygen', 'publish', 'resolve', 'testnet', 'relay', 'serve']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect((await cli()).code).toBe(2);
    expectOneLineError(await cli('frobnicate'), 2, /unknown command "frobnicate"/);
    expectOneLineError(await cli('--frob'), 2, /unknown option "--frob"/);
    const resolveHelp = await cli('resolve', '--help');
    expect(resolveHelp.code).toBe(0);
    expect(resolveHelp.stdout).toMatch(/--policy P/);
    expect((await cli('help', 'publish')).stdout).toMatch(/--key FILE/);
  });
});

describe('keygen', () => {
  it('writes a 0600 file with 64 hex characters and prints the public key', async () => {
    const file = join(dir, 'alice.key');
    const run = await cli('keygen', '--out', file);
    expect(run.code, run.stderr).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(run.stdout).toBe(`${Keypair.fromSecretKeyHex(text).publicKey.z32}\n`);

    expectOneLineError(await cli('keygen', '--out', file), 1, /already exists \(use --force/);
    expect(await readFile(file, 'utf8')).toBe(text);
    const forced = await cli('keygen', '--out', file, '--force');
    expect(forced.code).toBe(0);
    const replaced = await readFile(file, 'utf8');
    expect(replaced).not.toBe(text);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(forced.stdout).toBe(`${Keypair.fromSecretKeyHex(replaced).publicKey.z32}\n`);
  });

  it('without --out prints the seed on stdout and the key on stderr', async () => {
    const run = await cli('keygen');
    expect(run.code).toBe(0);
    const seed = run.stdout.trim();
    expect(seed).toMatch(/^[0-9a-f]{64}$/);
    expect(run.stderr).toBe(`public key: ${Keypair.fromSecretKeyHex(seed).publicKey.z32}\n`);
  });

  it('usage errors', async () => {
    expectOneLineError(await cli('keygen', '--out'), 2, /argument missing/);
    expectOneLineError(await cli('keygen', '--force'), 2, /--force only makes sense with --out/);
    expectOneLineError(await cli('keygen', 'extra'), 2, /unexpected argument "extra"/);
    expectOneLineError(await cli('keygen', '--out', join(dir, 'missing-dir', 'k')), 1, /ENOENT/);
    // relay checks its flags as serve and the client commands do: exit 2 before binding anything
    // (the servers print their usage after the error line).
    const expectServerUsageError = (run: Run, command: string, pattern: RegExp): void => {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.split('\n')[0]).toMatch(new RegExp(`^pkarr-sidecar ${command}: ${pattern.source}`));
    };
    expectServerUsageError(await cli('relay', '--bootstrap', 'router.example'), 'relay', /--bootstrap must be HOST:PORT, got "router.example"/);
    expectServerUsageError(await cli('relay', '--testnet', '3', '--bootstrap', '127.0.0.1:1'), 'relay', /--testnet and --bootstrap cannot be combined/);
    expectServerUsageError(await cli('relay', '--doh-upstream', 'ftp://x'), 'relay', /--doh-upstream must be an http\(s\) URL/);
    expectServerUsageError(await cli('serve', '--relay', 'not a url'), 'serve', /--relay: invalid relay URL "not a url"/);
    expectOneLineError(await cli('resolve', '--relay', 'not a url', Keypair.generate().publicKey.z32), 2, /^pkarr-sidecar resolve: --relay: invalid relay URL "not a url"/);
  });
});

describe('publish and resolve across processes', () => {
  it('over the DHT: publish in one process, resolve from another', async () => {
    const file = join(dir, 'dht.key');
    await writeFile(file, `${Keypair.generate().toSecretKeyHex()}\n`, { mode: 0o600 });
    const z32 = Keypair.fromSecretKeyHex(await readFile(file, 'utf8')).publicKey.z32;
    const published = await cli('publish', '--key', file, ...bootstrap, '--no-relay', ...TIMEOUT,
      'A @ 1.2.3.4 300', 'TXT _lobby "v=1 game=demo" 60', 'SVCB _enet 1 . port=7777 300');
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(new RegExp(`^published pk:${z32} at timestamp \\d+ \\(3 records`));
    expect(published.stdout).toMatch(/dht: stored on \d+ nodes/);

    const resolved = await cli('resolve', z32, ...bootstrap, '--no-relay', ...TIMEOUT);
    expect(resolved.code, resolved.stderr).toBe(0);
    const lines = resolved.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`; pk:${z32}`);
    expect(lines[1]).toMatch(/^; timestamp \d+ \(.*\), age \d+ s, last seen \d+ s ago, from dht$/);
    expect(lines.slice(2)).toEqual(['A @ 1.2.3.4 300', 'TXT _lobby "v=1 game=demo" 60', 'SVCB _enet 1 . port=7777 300']);

    const json = await cli('resolve', `pk:${z32}`, '--json', '--policy', 'NetworkOnly', ...bootstrap, '--no-relay', ...TIMEOUT);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { publicKey: string; timestamp: unknown; source: string; records: { text: string }[] };
    expect(parsed.publicKey).toBe(z32);
    expect(typeof parsed.timestamp).toBe('string');
    expect(parsed.source).toBe('dht');
    expect(parsed.records.map((r) => r.text)).toEqual(lines.slice(2));

    // A second publish gets a newer timestamp and replaces the records.
    const again = await cli('publish', '--key', file, ...bootstrap, '--no-relay', ...TIMEOUT, 'A @ 5.6.7.8 300', '--json');
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as { timestamp: string; storedOn: number };
    expect(BigInt(second.timestamp)).toBeGreaterThan(BigInt(JSON.parse(json.stdout).timestamp as string));
    expect(second.storedOn).toBeGreaterThan(0);
    const after = await cli('resolve', z32, '--policy', 'NetworkOnly', ...bootstrap, '--no-relay', ...TIMEOUT);
    expect(after.stdout.trimEnd().split('\n').slice(2)).toEqual(['A @ 5.6.7.8 300']);
  }, 120_000);

  it('over a relay only (--no-dht --relay)', async () => {
    const file = join(dir, 'relay.key');
    await writeFile(file, Keypair.generate().toSecretKeyHex(), { mode: 0o600 });
    const z32 = Keypair.fromSecretKeyHex(await readFile(file, 'utf8')).publicKey.z32;
    const published = await cli('publish', '--key', file, '--no-dht', '--relay', relay.url, 'AAAA www ::1 120');
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(new RegExp(`relay ${relay.url}: stored on 5 nodes`));
    const resolved = await cli('resolve', z32, '--no-dht', '--relay', relay.url, '--json');
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(JSON.parse(resolved.stdout)).toMatchObject({ source: 'relay', relay: relay.url, records: [{ text: 'AAAA www ::1 120' }] });
  });

  it('an unknown key is not found (exit 1)', async () => {
    const run = await cli('resolve', Keypair.generate().publicKey.z32, ...bootstrap, '--no-relay', ...TIMEOUT);
    expectOneLineError(run, 1, /no packet found .*\[NOT_FOUND\]/);
    expect(run.stdout).toBe('');
  }, 60_000);

  it('--testnet N publishes on an in-process testnet', async () => {
    const file = join(dir, 'self.key');
    await writeFile(file, Keypair.generate().toSecretKeyHex(), { mode: 0o600 });
    const run = await cli('publish', '--key', file, '--testnet', '8', 'A @ 1.2.3.4 300');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/dht: stored on \d+ nodes/);
    expect(run.stderr).toMatch(/testnet of 8 nodes; bootstrap 127\.0\.0\.1:\d+/);
  }, 60_000);
});

describe('bad input: one-line errors and exit codes', () => {
  let keyFile: string;
  beforeAll(async () => {
    keyFile = join(dir, 'bad-input.key');
    await writeFile(keyFile, Keypair.generate().toSecretKeyHex(), { mode: 0o600 });
  });

  it.each([
    [['publish', '--key'], /argument missing/],
    [['publish', '--bogus'], /Unknown option '--bogus'/],
    [['publish', 'A @ 1.2.3.4 300'], /--key FILE is required/],
    [['publish', '--key', 'KEYFILE'], /at least one RECORD/],
    [['publish', '--key', 'KEYFILE', 'A @ 1.2.3.4'], /record 1 .*needs at least/],
    [['publish', '--key', 'KEYFILE', 'A @ 1.2.3.4 300', 'MX @ 10 x 300'], /record 2/],
    [['publish', '--key', 'KEYFILE', `TXT @ "${'x'.repeat(1200)}" 300`], /over the 1000-byte limit/],
    [['publish', '--key', 'KEYFILE', '--relay', 'ftp://x', 'A @ 1.2.3.4 300'], /http or https/],
    [['publish', '--key', 'KEYFILE', '--testnet', '5', '--bootstrap', '127.0.0.1:1', 'A @ 1.2.3.4 300'], /cannot be combined/],
    [['publish', '--key', 'KEYFILE', '--no-dht', '--no-relay', 'A @ 1.2.3.4 300'], /nothing to talk to/],
    [['publish', '--key', 'KEYFILE', '--bootstrap', 'nohostport', 'A @ 1.2.3.4 300'], /HOST:PORT/],
    [['publish', '--key', 'KEYFILE', '--timeout', 'soon', 'A @ 1.2.3.4 300'], /--timeout must be an integer/],
    [['resolve'], /KEY is required/],
    [['resolve', 'not-a-key'], /invalid KEY "not-a-key"/],
    [['resolve', 'a', 'b'], /expected one KEY/],
    [['resolve', Keypair.generate().publicKey.z32, '--policy', 'cachefirst'], /invalid resolve policy "cachefirst"/],
    [['testnet', 'many'], /N must be an integer/],
  ])('%j → exit 2', async (args, pattern) => {
    const run = await cli(...args.map((a) => (a === 'KEYFILE' ? keyFile : a)));
    expectOneLineError(run, 2, pattern);
  });

  it('a key file without a key is a usage error and its content is never echoed', async () => {
    const bad = join(dir, 'bad.key');
    await writeFile(bad, 'secret-but-not-hex\n');
    const run = await cli('publish', '--key', bad, 'A @ 1.2.3.4 300');
    expectOneLineError(run, 2, /does not hold a secret key/);
    expect(run.stderr).not.toMatch(/secret-but-not-hex/);
  });

  it('a missing key file and an unreachable relay are runtime failures (exit 1)', async () => {
    expectOneLineError(await cli('publish', '--key', join(dir, 'nope.key'), 'A @ 1.2.3.4 300'), 1, /cannot read key file .*ENOENT \[IO_ERROR\]/);
    const closed = await FakeRelay.start('v7');
    const url = closed.url;
    await closed.close();
    expectOneLineError(await cli('publish', '--key', keyFile, '--no-dht', '--relay', url, 'A @ 1.2.3.4 300'), 1, /publish failed on every backend.*\[RELAY_ERROR\]/);
  });
});

describe('testnet command', () => {
  it('prints its bootstrap flags, serves other invocations, stops on SIGTERM', async () => {
    const child = start(['testnet', '8']);
    const ready = new Promise<string>((resolve, reject) => {
      let buffer = '';
      const onData = (chunk: Buffer | string): void => {
        buffer += String(chunk);
        const end = buffer.indexOf('\n');
        if (end >= 0) {
          child.stdout?.off('data', onData);
          resolve(buffer.slice(0, end + 1));
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', () => reject(new Error('testnet exited before printing its bootstrap')));
    });
    const done = collect(child, 60_000);
    const line = await ready;
    expect(line).toMatch(/^(--bootstrap 127\.0\.0\.1:\d+ ?)+\n$/);
    const flags = line.trim().split(' ');
    const file = join(dir, 'testnet-cmd.key');
    await writeFile(file, Keypair.generate().toSecretKeyHex(), { mode: 0o600 });
    const published = await cli('publish', '--key', file, ...flags, '--no-relay', ...TIMEOUT, 'A @ 9.9.9.9 300');
    expect(published.code, published.stderr).toBe(0);
    const z32 = Keypair.fromSecretKeyHex(await readFile(file, 'utf8')).publicKey.z32;
    const resolved = await cli('resolve', z32, ...flags, '--no-relay', ...TIMEOUT);
    expect(resolved.stdout).toMatch(/^A @ 9\.9\.9\.9 300$/m);
    child.kill('SIGTERM');
    const run = await done;
    expect(run.code).toBe(0);
  }, 120_000);
});
