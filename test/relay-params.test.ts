/**
 * The relay backend's field lists (addons/pkarr/relay/pkarr_relay_params.gd) against the sidecar's:
 * every method is called on an assembled sidecar with one unknown field, and the fields its -32602
 * lists must be the GDScript list, in order. The engine suite (relay_backend_test.gd) checks that
 * the relay backend refuses such calls.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcSocket } from './godot/projects/addon/host/serve-child.ts';
import { startInProcessSidecar } from './serve-in-process.ts';

const TOKEN = '7c'.repeat(32);
const PARAMS_GD = new URL('../addons/pkarr/relay/pkarr_relay_params.gd', import.meta.url);
const cleanups: (() => Promise<void>)[] = [];
let rpc: RpcSocket;
let source: string;

/** The GDScript constant `name`: a dictionary or array literal written as JSON. */
function constant(name: string): unknown {
  const start = source.indexOf(`const ${name}`);
  expect(start, `const ${name} in pkarr_relay_params.gd`).toBeGreaterThanOrEqual(0);
  const equals = source.indexOf('=', start);
  const open = source.slice(equals).search(/[[{]/) + equals;
  const close = source.indexOf(source[open] === '{' ? '\n}' : ']', open);
  return JSON.parse(source.slice(open, close + (source[open] === '{' ? 2 : 1)));
}

beforeAll(async () => {
  source = await readFile(PARAMS_GD, 'utf8');
  const sidecar = await startInProcessSidecar(['--no-dht', '--no-relays', '--no-nat', '--no-lan', '--no-local-relay'], TOKEN, cleanups);
  rpc = await RpcSocket.open(`ws://127.0.0.1:${sidecar.port}/`, TOKEN);
  cleanups.push(async () => rpc.close());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('relay backend params', () => {
  it('take exactly the fields the sidecar takes, method by method', async () => {
    const fields = constant('FIELDS') as Record<string, string[]>;
    expect(Object.keys(fields).length).toBeGreaterThanOrEqual(22);
    for (const [method, gdFields] of Object.entries(fields)) {
      const answer = await rpc.call(method, { zzUnknownField: true });
      expect(answer.error?.code, `${method}: ${JSON.stringify(answer)}`).toBe(-32602);
      expect(answer.error.data.field, method).toBe('zzUnknownField');
      const message = String(answer.error.message);
      const listed = /takes no params/.test(message) ? [] : /unknown field \(expected ([^)]*)\)/.exec(message)?.[1]?.split(', ');
      expect(listed, `${method}: ${message}`).toEqual(gdFields);
    }
  });

  it('type only fields some method takes', () => {
    const taken = new Set(Object.values(constant('FIELDS') as Record<string, string[]>).flat());
    for (const table of ['STRINGS', 'BOOLS', 'INTEGERS']) {
      for (const field of constant(table) as string[]) expect(taken.has(field), `${table}: ${field}`).toBe(true);
    }
  });
});
