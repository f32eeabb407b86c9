import { describe, expect, it } from 'vitest';
import { Dispatcher, RpcError, invalidParams, type RequestGate } from '../sidecar/src/rpc/dispatcher.ts';
import { toJson } from '../sidecar/src/util/json.ts';
import { PkarrError } from '../sidecar/src/core/errors.ts';

function makeDispatcher(onInternalError?: (method: string, err: unknown) => void): Dispatcher<{ calls: string[] }> {
  return new Dispatcher<{ calls: string[] }>({ maxBatch: 8, ...(onInternalError ? { onInternalError } : {}) })
    .register('echo', (params) => params)
    .register('note', (_p, ctx) => { ctx.calls.push('note'); return null; })
    .register('slow', async (params) => { await new Promise((r) => setTimeout(r, Number(params['ms'] ?? 5))); return 'done'; })
    .register('pkarr', () => { throw new PkarrError('PACKET_TOO_LARGE', 'too big', { size: 1200, limit: 1000, nested: { no: 1 } }); })
    .register('rpcerr', () => { throw invalidParams('name', 'is required'); })
    .register('boom', () => { throw new TypeError('secret internals'); })
    .register('big', () => 12345678901234567890n)
    .register('circular', () => { const o: Record<string, unknown> = {}; o['self'] = o; return o; });
}

async function call(text: string, d = makeDispatcher(), ctx = { calls: [] as string[] }): Promise<unknown> {
  const out = await d.handle(text, ctx);
  return out === null ? null : JSON.parse(out);
}

describe('JSON-RPC dispatcher', () => {
  it('answers a request, echoing string and numeric ids', async () => {
    expect(await call('{"jsonrpc":"2.0","id":"g1","method":"echo","params":{"a":1}}')).toEqual({ jsonrpc: '2.0', id: 'g1', result: { a: 1 } });
    expect(await call('{"jsonrpc":"2.0","id":7,"method":"echo"}')).toEqual({ jsonrpc: '2.0', id: 7, result: {} });
    expect(await call('{"jsonrpc":"2.0","id":null,"method":"echo","params":[]}')).toEqual({ jsonrpc: '2.0', id: null, result: {} });
  });

  it('-32700 on malformed JSON', async () => {
    for (const text of ['{', '', 'nope', '{"jsonrpc":"2.0",}', '\u0000']) {
      expect(await call(text)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    }
  });

  it('-32600 on invalid requests, echoing a valid id', async () => {
    expect(await call('{"jsonrpc":"1.0","id":"a","method":"echo"}')).toMatchObject({ id: 'a', error: { code: -32600 } });
    expect(await call('{"id":"a","method":"echo"}')).toMatchObject({ id: 'a', error: { code: -32600 } });
    expect(await call('{"jsonrpc":"2.0","id":"a","method":5}')).toMatchObject({ id: 'a', error: { code: -32600 } });
    expect(await call('{"jsonrpc":"2.0","id":{"x":1},"method":"echo"}')).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await call('{"jsonrpc":"2.0","id":true,"method":"echo"}')).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await call('{"jsonrpc":"2.0","id":"a","method":"echo","params":"x"}')).toMatchObject({ id: 'a', error: { code: -32600 } });
    expect(await call('5')).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await call('null')).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await call('[]')).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('-32601 for unknown methods, including inherited property names', async () => {
    for (const m of ['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(await call(JSON.stringify({ jsonrpc: '2.0', id: 'x', method: m }))).toMatchObject({ id: 'x', error: { code: -32601 } });
    }
  });

  it('-32602 for positional params and for RpcErrors thrown by handlers', async () => {
    expect(await call('{"jsonrpc":"2.0","id":"p","method":"echo","params":[1]}')).toMatchObject({ error: { code: -32602, data: { field: 'params' } } });
    expect(await call('{"jsonrpc":"2.0","id":"p","method":"rpcerr"}')).toEqual({
      jsonrpc: '2.0', id: 'p', error: { code: -32602, message: 'invalid params: name: is required', data: { code: 'INVALID_ARGUMENT', field: 'name' } },
    });
  });

  it('-32000 with data.code for PkarrErrors (primitive details only)', async () => {
    expect(await call('{"jsonrpc":"2.0","id":"e","method":"pkarr"}')).toEqual({
      jsonrpc: '2.0', id: 'e', error: { code: -32000, message: 'too big', data: { code: 'PACKET_TOO_LARGE', size: 1200, limit: 1000 } },
    });
  });

  it('-32603 without internals for unexpected errors, reported to the hook', async () => {
    const seen: string[] = [];
    const d = makeDispatcher((method) => seen.push(method));
    const out = await call('{"jsonrpc":"2.0","id":"b","method":"boom"}', d);
    expect(out).toEqual({ jsonrpc: '2.0', id: 'b', error: { code: -32603, message: 'internal error', data: { code: 'INTERNAL' } } });
    expect(JSON.stringify(out)).not.toContain('secret');
    expect(await call('{"jsonrpc":"2.0","id":"c","method":"circular"}', d)).toMatchObject({ id: 'c', error: { code: -32603 } });
    expect(seen).toEqual(['boom', '(serialize)']);
  });

  it('serialises bigint results as decimal strings', async () => {
    expect(await call('{"jsonrpc":"2.0","id":"n","method":"big"}')).toEqual({ jsonrpc: '2.0', id: 'n', result: '12345678901234567890' });
    expect(toJson({ t: 1n << 63n })).toBe('{"t":"9223372036854775808"}');
  });

  it('never answers notifications, even failing ones', async () => {
    const ctx = { calls: [] as string[] };
    const d = makeDispatcher();
    expect(await d.handle('{"jsonrpc":"2.0","method":"note"}', ctx)).toBeNull();
    expect(await d.handle('{"jsonrpc":"2.0","method":"nope"}', ctx)).toBeNull();
    expect(await d.handle('{"jsonrpc":"2.0","method":"boom"}', ctx)).toBeNull();
    expect(await d.handle('{"jsonrpc":"2.0","method":"echo","params":[1]}', ctx)).toBeNull();
    expect(ctx.calls).toEqual(['note']);
  });

  it('handles batches: mixed entries, order kept, notifications omitted, all-notification batch silent', async () => {
    const out = await call(JSON.stringify([
      { jsonrpc: '2.0', id: '1', method: 'slow', params: { ms: 20 } },
      { jsonrpc: '2.0', method: 'note' },
      { jsonrpc: '2.0', id: '2', method: 'nope' },
      5,
      { jsonrpc: '2.0', id: '3', method: 'echo', params: { x: 'y' } },
    ]));
    expect(out).toEqual([
      { jsonrpc: '2.0', id: '1', result: 'done' },
      { jsonrpc: '2.0', id: '2', error: { code: -32601, message: 'method not found: nope' } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request: expected an object' } },
      { jsonrpc: '2.0', id: '3', result: { x: 'y' } },
    ]);
    expect(await call('[{"jsonrpc":"2.0","method":"note"},{"jsonrpc":"2.0","method":"note"}]')).toBeNull();
    expect(await call(JSON.stringify(Array.from({ length: 9 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'echo' }))))).toMatchObject({ error: { code: -32600 } });
  });

  it('refuses requests over the gate with BUSY and releases slots when done', async () => {
    let inFlight = 0;
    let peak = 0;
    const gate: RequestGate = {
      tryAcquire: () => { if (inFlight >= 2) return false; inFlight++; peak = Math.max(peak, inFlight); return true; },
      release: () => { inFlight--; },
    };
    const d = makeDispatcher();
    const ctx = { calls: [] as string[] };
    const outs = await Promise.all([1, 2, 3].map((i) => d.handle(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'slow', params: { ms: 20 } }), ctx, gate)));
    const parsed = outs.map((o) => JSON.parse(o!));
    expect(parsed.filter((p) => p.result === 'done')).toHaveLength(2);
    expect(parsed.filter((p) => p.error?.data?.code === 'BUSY')).toHaveLength(1);
    expect(peak).toBe(2);
    expect(inFlight).toBe(0);
    // released even when the handler throws
    await d.handle('{"jsonrpc":"2.0","id":1,"method":"boom"}', ctx, gate);
    expect(inFlight).toBe(0);
  });

  it('never throws on random input', async () => {
    const d = makeDispatcher();
    const ctx = { calls: [] as string[] };
    let seed = 42;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const atoms = ['{', '}', '[', ']', '"jsonrpc"', '"2.0"', '"id"', '"method"', '"echo"', '"params"', ':', ',', '1', 'null', 'true', '"x"', '-1e999', '"\\ud800"'];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: 1 + rand(20) }, () => atoms[rand(atoms.length)]).join('');
      const out = await d.handle(text, ctx);
      if (out !== null) expect(() => JSON.parse(out)).not.toThrow();
    }
  });

  it('survives pathological nesting and sizes', async () => {
    const d = makeDispatcher();
    const ctx = { calls: [] as string[] };
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(JSON.parse((await d.handle(deep, ctx))!)).toEqual([{ jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) } }]);
    const deepParams = `{"jsonrpc":"2.0","id":"d","method":"echo","params":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    expect(JSON.parse((await d.handle(deepParams, ctx))!)).toMatchObject({ id: 'd' });
    const proto = '{"jsonrpc":"2.0","id":"p","method":"echo","params":{"__proto__":{"polluted":true}}}';
    await d.handle(proto, ctx);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('RpcError keeps code and data', () => {
    const e = new RpcError(-32000, 'm', { code: 'BUSY' });
    expect([e.code, e.data]).toEqual([-32000, { code: 'BUSY' }]);
  });
});
