/**
 * Load on the JSON-RPC service of a real `pkarr-sidecar serve` process (no network: `keys.*` and
 * `status` only): 1,000 requests in flight on one connection, then 50 clients at once with 100
 * requests each. Every request must be answered once, with its own id and the right kind of answer;
 * the sidecar's resident memory must stay bounded. No timing assertions (CPU is shared).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { call, cleanup, handshake, rpcSocket, rssKiB, spawnCli, type Child } from './abuse-helpers.ts';
import { DEFAULT_MAX_CONNECTIONS } from '../sidecar/src/rpc/rpc-server.ts';

/** A generous bound on the sidecar's resident set after the load (it starts around 60-80 MB). */
const RSS_BOUND_KIB = 300 * 1024;
const KEY_NAMES = ['load-a', 'load-b', 'load-c'];

interface Reply { id: unknown; result?: unknown; error?: { code: number; data?: { code?: string } } }

/** What a request is and how its answer must look. */
interface Planned { id: string; frame: string; kind: 'status' | 'keys.list' | 'unknown-method' | 'bad-params' | 'bad-request' }

let root: string;
let serve: Child & { port: number; token: string; pid: number };

function plan(prefix: string, count: number): Planned[] {
  const kinds: Planned['kind'][] = ['status', 'keys.list', 'unknown-method', 'bad-params', 'bad-request'];
  return Array.from({ length: count }, (_, i) => {
    const id = `${prefix}-${i}`;
    const kind = kinds[i % kinds.length]!;
    const body: Record<string, unknown> =
      kind === 'status' ? { jsonrpc: '2.0', id, method: 'status' }
      : kind === 'keys.list' ? { jsonrpc: '2.0', id, method: 'keys.list' }
      : kind === 'unknown-method' ? { jsonrpc: '2.0', id, method: 'no.such.method' }
      : kind === 'bad-params' ? { jsonrpc: '2.0', id, method: 'keys.export', params: { name: 42 } }
      : { jsonrpc: '1.0', id, method: 'status' };
    return { id, frame: JSON.stringify(body), kind };
  });
}

/** Sends every planned frame at once and collects the replies by id (≤ 60 s). */
async function pipeline(ws: WebSocket, requests: Planned[]): Promise<Map<string, Reply[]>> {
  const replies = new Map<string, Reply[]>();
  let answered = 0;
  const done = new Promise<void>((resolveAll, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${answered} of ${requests.length} answered in 60 s`)), 60_000);
    ws.on('message', (data: WebSocket.RawData) => {
      const reply = JSON.parse(data.toString()) as Reply;
      if (reply.id === undefined) return; // notifications
      const key = String(reply.id);
      const list = replies.get(key) ?? [];
      list.push(reply);
      replies.set(key, list);
      if (++answered === requests.length) { clearTimeout(timer); resolveAll(); }
    });
    ws.once('close', () => { clearTimeout(timer); reject(new Error(`socket closed after ${answered} replies`)); });
  });
  for (const r of requests) ws.send(r.frame);
  await done;
  return replies;
}

/** Checks that every planned request got exactly one reply of the right kind. */
function check(requests: Planned[], replies: Map<string, Reply[]>): void {
  expect(replies.size).toBe(requests.length);
  for (const r of requests) {
    const got = replies.get(r.id);
    expect(got, r.id).toHaveLength(1);
    const reply = got![0]!;
    switch (r.kind) {
      case 'status': expect((reply.result as { pid?: number }).pid).toBe(serve.pid); break;
      case 'keys.list': expect((reply.result as { name: string }[]).map((k) => k.name).sort()).toEqual(KEY_NAMES); break;
      case 'unknown-method': expect(reply.error?.code).toBe(-32601); break;
      case 'bad-params': expect(reply.error?.code).toBe(-32602); break;
      case 'bad-request': expect(reply.error?.code).toBe(-32600); break;
    }
  }
}

async function openClient(): Promise<WebSocket> {
  const ws = rpcSocket(serve.port, ['pkarr-godot.v1', `token.${serve.token}`]);
  expect(await handshake(ws)).toBe('open');
  return ws;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pkarr-rpc-load-'));
  const c = await spawnCli(['serve', '--data-dir', root, '--parent-pid', String(process.pid), '--no-dht', '--no-relays', '--log-level', 'warn']);
  const ready = JSON.parse(c.firstLine) as { port: number; token: string; pid: number };
  serve = { ...c, port: ready.port, token: ready.token, pid: ready.pid };
  const ws = await openClient();
  for (const name of KEY_NAMES) expect((await call(ws, 'keys.generate', { name })).error).toBeUndefined();
  ws.close();
}, 60_000);

afterAll(async () => {
  cleanup();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('RPC service under load (serve process)', () => {
  it('answers 1,000 requests in flight on one connection, each once with its own id', async () => {
    const before = rssKiB(serve.pid);
    const ws = await openClient();
    const requests = plan('one', 1000);
    check(requests, await pipeline(ws, requests));
    const after = rssKiB(serve.pid);
    console.log(`rpc-load: 1000 in flight on one connection; sidecar VmRSS ${before} → ${after} KiB`);
    if (after !== null) expect(after).toBeLessThan(RSS_BOUND_KIB);
    ws.close();
  }, 120_000);

  it('serves 50 clients at once, 100 requests each', async () => {
    expect(DEFAULT_MAX_CONNECTIONS).toBeGreaterThanOrEqual(50);
    const before = rssKiB(serve.pid);
    const sockets = await Promise.all(Array.from({ length: 50 }, () => openClient()));
    const plans = sockets.map((_, c) => plan(`c${c}`, 100));
    const results = await Promise.all(sockets.map((ws, c) => pipeline(ws, plans[c]!)));
    results.forEach((replies, c) => check(plans[c]!, replies));
    const after = rssKiB(serve.pid);
    console.log(`rpc-load: 50 clients × 100 requests; sidecar VmRSS ${before} → ${after} KiB`);
    if (after !== null) expect(after).toBeLessThan(RSS_BOUND_KIB);
    for (const ws of sockets) ws.close();
    // The sidecar is still healthy afterwards.
    const probe = await openClient();
    expect(((await call(probe, 'status')).result as { pid?: number }).pid).toBe(serve.pid);
    probe.close();
  }, 120_000);
});
