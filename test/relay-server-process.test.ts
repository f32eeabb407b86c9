/**
 * The relay as a process: SIGKILL in the middle of a PUT flood loses no acknowledged packet, and
 * the `relay` command prints its ready line, serves, and stops cleanly on SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { PacketStore } from '../sidecar/src/relay/packet-store.ts';
import { STORE_FILE } from '../sidecar/src/relay/relay-server.ts';
import { makePacket, rawRequest } from './relay-server-helpers.ts';

const children: ChildProcessWithoutNullStreams[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'relay-proc-'));
  dirs.push(dir);
  return dir;
}

function spawnNode(script: string, args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [join(import.meta.dirname, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** The first stdout line, or rejects when the process exits first / after `ms`. */
function firstLine(child: ChildProcessWithoutNullStreams, ms = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => reject(new Error(`no ready line within ${ms} ms; stderr: ${stderr}`)), ms);
    lines.once('line', (line) => { clearTimeout(timer); resolve(line); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before the ready line; stderr: ${stderr}`)); });
  });
}

function exitCode(child: ChildProcessWithoutNullStreams, ms = 20_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('crash safety', () => {
  it('every 204-acknowledged packet survives SIGKILL in the middle of a flood', async () => {
    const dir = tempDir();
    const child = spawnNode('relay-server-child.ts', [dir]);
    const url = await firstLine(child);
    const packets = Array.from({ length: 600 }, (_, i) => makePacket(Keypair.generate(), [`A @ 10.0.${i >> 8}.${i & 255} 300`]));
    const acked: typeof packets = [];
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (next < packets.length && !killed) {
        const packet = packets[next++]!;
        try {
          const res = await rawRequest(`${url}/${packet.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload() });
          if (res.status === 204) acked.push(packet);
        } catch {
          return; // the relay is gone
        }
        if (acked.length >= 150 && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(killed).toBe(true);
    await exitCode(child);
    expect(child.signalCode).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(150);

    const db = new DatabaseSync(join(dir, STORE_FILE));
    expect((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok');
    db.close();
    const store = PacketStore.open({ path: join(dir, STORE_FILE), capacity: 1000 });
    try {
      const missing = acked.filter((p) => store.get(p.publicKey)?.packet.isSameAs(p) !== true);
      expect(missing.map((p) => p.publicKey.z32)).toEqual([]);
    } finally {
      store.close();
    }
  });
});

describe('pkarr-sidecar relay', () => {
  it('prints one ready line, serves PUT/GET on a testnet, and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const child = spawnNode('../sidecar/src/cli/main.ts', ['relay', '--testnet', '8', '--port', '0', '--data-dir', dir, '--rate', 'off', '--dht-rate', 'off']);
    const line = await firstLine(child);
    const match = /^pkarr relay listening on (http:\/\/127\.0\.0\.1:\d+)( testnet=.+)?$/.exec(line);
    expect(match, line).not.toBeNull();
    const url = match![1]!;
    const packet = makePacket(Keypair.generate());
    const put = await rawRequest(`${url}/${packet.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload() });
    expect(put.status).toBe(204);
    expect(Number(put.headers['pkarr-dht-stored-nodes'])).toBeGreaterThan(0);
    const got = await rawRequest(`${url}/${packet.publicKey.z32}`);
    expect(got.status).toBe(200);
    expect(got.body.equals(Buffer.from(packet.toRelayPayload()))).toBe(true);
    const page = await rawRequest(`${url}/`);
    expect(page.body.toString()).toMatch(/DHT nodes<\/th><td>[1-9]/);
    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
    const store = PacketStore.open({ path: join(dir, STORE_FILE), capacity: 10 });
    try {
      expect(store.get(packet.publicKey)?.packet.isSameAs(packet)).toBe(true);
    } finally {
      store.close();
    }
  });

  it('rejects bad arguments with exit code 2 and a one-line error', async () => {
    const cases = [['--rate', '2 per second'], ['--port', '70000'], ['--bogus'], ['--testnet', '3', '--bootstrap', '127.0.0.1:1']];
    await Promise.all(cases.map(async (args) => {
      const child = spawnNode('../sidecar/src/cli/main.ts', ['relay', ...args]);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      expect(await exitCode(child), args.join(' ')).toBe(2);
      expect(stderr.split('\n')[0]).toMatch(/^pkarr-sidecar relay: \S.*/);
      expect(stderr).toContain('usage: pkarr-sidecar relay');
    }));
  });

  it('reports a port in use as one line with exit code 1', async () => {
    const dir = tempDir();
    const first = spawnNode('../sidecar/src/cli/main.ts', ['relay', '--testnet', '2', '--port', '0', '--data-dir', join(dir, 'a'), '--rate', 'off']);
    const url = /(http:\/\/\S+)/.exec(await firstLine(first))![1]!;
    const port = new URL(url).port;
    const second = spawnNode('../sidecar/src/cli/main.ts', ['relay', '--testnet', '2', '--port', port, '--data-dir', join(dir, 'b')]);
    let stderr = '';
    second.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    expect(await exitCode(second)).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    first.kill('SIGTERM');
    expect(await exitCode(first)).toBe(0);
  });
});
