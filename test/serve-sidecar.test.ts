/**
 * The assembled sidecar in-process (key store + lazy DHT + client + republisher + ws server):
 * server → client notifications and the republisher wiring.
 */
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Sidecar } from '../sidecar/src/serve/sidecar.ts';
import { startInProcessSidecar } from './serve-in-process.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';

const TOKEN = '5a'.repeat(32);
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Client { ws: WebSocket; messages: any[]; call(method: string, params?: unknown): Promise<any>; waitFor(pred: (m: any) => boolean, ms?: number): Promise<any> }

async function connect(port: number): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['pkarr-godot.v1', `token.${TOKEN}`]);
  ws.on('error', () => undefined);
  const messages: any[] = [];
  const waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  ws.on('message', (d) => {
    const msg = JSON.parse(d.toString());
    messages.push(msg);
    for (const w of [...waiters]) if (w.pred(msg)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(msg); }
  });
  await new Promise((ok, fail) => { ws.once('open', ok); ws.once('unexpected-response', () => fail(new Error('refused'))); });
  cleanups.push(async () => { ws.terminate(); });
  let n = 0;
  const waitFor = (pred: (m: any) => boolean, ms = 20_000): Promise<any> => {
    const seen = messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message in ${ms} ms; got ${JSON.stringify(messages).slice(0, 500)}`)), ms);
      waiters.push({ pred, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  };
  const call = (method: string, params?: unknown): Promise<any> => {
    const id = `s${++n}`;
    const reply = waitFor((m) => m.id === id);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
    return reply;
  };
  return { ws, messages, call, waitFor };
}

function start(args: string[]): Promise<Sidecar> {
  return startInProcessSidecar(args, TOKEN, cleanups);
}

describe('assembled sidecar', () => {
  it('announces dht.ready, republishes tracked packets and reports republish failures', async () => {
    // 3 nodes: fewer than the 8 holders that would let the republisher skip the put.
    const sidecar = await start(['--testnet', '3', '--republish-interval', '1']);
    const client = await connect(sidecar.port);
    const ready = await client.waitFor((m) => m.method === 'dht.ready');
    expect(ready).toEqual({ jsonrpc: '2.0', method: 'dht.ready', params: { nodes: expect.any(Number) } });
    expect(ready.params.nodes).toBeGreaterThan(0);
    const status = (await client.call('status')).result;
    expect(status.dht).toMatchObject({ enabled: true, ready: true, testnet: expect.arrayContaining([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]) });

    const { publicKey } = (await client.call('keys.generate', { name: 'host' })).result;
    const published = (await client.call('publish', { key: 'host', records: [{ type: 'A', name: '@', ttl: 60, address: '10.0.0.1' }] })).result;
    const republished = await client.waitFor((m) => m.method === 'record.republished' && m.params.publicKey === publicKey);
    expect(republished.params).toEqual({ publicKey, timestamp: published.timestamp, storedOn: expect.any(Number) });

    const ghost = Keypair.generate().publicKey.z32;
    await client.call('republish.add', { publicKey: ghost });
    const failed = await client.waitFor((m) => m.method === 'record.republish_failed' && m.params.publicKey === ghost);
    expect(failed.params).toEqual({ publicKey: ghost, error: expect.stringContaining(ghost), code: 'NOT_FOUND' });

    const list = (await client.call('republish.list')).result;
    const own = list.find((e: any) => e.publicKey === publicKey);
    expect(own).toMatchObject({ timestamp: published.timestamp, lastRepublished: expect.stringMatching(/^\d{16}$/) });
    expect(list.find((e: any) => e.publicKey === ghost)).toMatchObject({ lastError: expect.any(String) });

    // A client connecting after bootstrapping gets dht.ready right away.
    const late = await connect(sidecar.port);
    expect((await late.waitFor((m) => m.method === 'dht.ready')).params.nodes).toBeGreaterThan(0);
  }, 60_000);

  it('routes lobby watch notifications to the watching connection and ends its watches when it closes', async () => {
    const sidecar = await start(['--testnet', '3']);
    const watcher = await connect(sidecar.port);
    const other = await connect(sidecar.port);
    const { watchId } = (await watcher.call('lobby.watch', { game: 'rpc-sidecar-test', gameVersion: '1', intervalSeconds: 5 })).result;
    expect(watchId).toEqual(expect.any(String));
    const refreshed = await watcher.waitFor((m) => m.method === 'lobby.refreshed' && m.params.watchId === watchId);
    expect(refreshed.params).toMatchObject({ watchId, count: 0 });
    expect((await other.call('lobby.refresh', { watchId })).result).toMatchObject({ count: 0 }); // the watch is shared by id…
    expect(other.messages.filter((m) => typeof m.method === 'string' && m.method.startsWith('lobby.'))).toEqual([]); // …its events are not
    const closed = new Promise((r) => watcher.ws.once('close', r));
    watcher.ws.close();
    await closed;
    let error: any;
    for (let i = 0; i < 100 && error === undefined; i++) {
      error = (await other.call('lobby.refresh', { watchId })).error;
      if (error === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(error).toMatchObject({ code: -32602, data: { field: 'watchId' } });
  }, 60_000);

  it('serves keys without any network and stops idempotently', async () => {
    const sidecar = await start(['--no-dht', '--no-relays']);
    const client = await connect(sidecar.port);
    expect((await client.call('status')).result).toMatchObject({ dht: { enabled: false, ready: false, nodes: 0 }, relays: [], republishing: 0 });
    expect((await client.call('keys.generate', { name: 'k' })).result.name).toBe('k');
    expect((await client.call('publish', { key: 'k', records: [] })).error).toMatchObject({ code: -32000, data: { code: 'INVALID_ARGUMENT' } });
    const closed = new Promise<number>((r) => client.ws.once('close', (code) => r(code)));
    await Promise.all([sidecar.stop(), sidecar.stop()]);
    expect(await closed).toBe(1001);
  });
});
