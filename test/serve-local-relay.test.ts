/**
 * `serve`'s local pkarr relay (serve/local-relay.ts): the relay web apps try first. A packet the
 * game publishes over RPC is served by the local relay as any pkarr relay serves it, with the CORS
 * and Private/Local Network Access answers a public page needs; a taken port leaves the sidecar
 * running without it; `--no-local-relay` turns it off. Port 0 (any free port) keeps tests off 6881.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Keypair, PublicKey } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { parseServeOptions } from '../sidecar/src/serve/serve-options.ts';
import type { Sidecar } from '../sidecar/src/serve/sidecar.ts';
import { RpcSocket } from './godot/projects/addon/host/serve-child.ts';
import { startInProcessSidecar } from './serve-in-process.ts';

const TOKEN = '6b'.repeat(32);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function start(args: string[]): Promise<Sidecar> {
  return startInProcessSidecar(args, TOKEN, cleanups);
}

/** One JSON-RPC call on a fresh authenticated socket; the whole response. */
// any: the JSON the sidecar sent; the tests check its shape field by field.
async function call(port: number, method: string, params: Record<string, unknown> = {}): Promise<any> {
  const rpc = await RpcSocket.open(`ws://127.0.0.1:${port}/`, TOKEN);
  try {
    return await rpc.call(method, params);
  } finally {
    rpc.close();
  }
}

async function localRelayOf(sidecar: Sidecar): Promise<{ url: string | null; reason?: string }> {
  const status = await call(sidecar.port, 'status');
  return status.result.localRelay;
}

describe('serve: the local pkarr relay', () => {
  it('serves what the game published, to a page of another origin, after a Private Network Access preflight', async () => {
    const sidecar = await start(['--testnet', '8', '--local-relay-port', '0']);
    const local = await localRelayOf(sidecar);
    expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const relay = local.url!;

    expect((await call(sidecar.port, 'keys.generate', { name: 'game' })).error).toBeUndefined();
    const published = await call(sidecar.port, 'publish', { key: 'game', records: [{ type: 'TXT', name: '_lobby', ttl: 300, text: 'v=1' }] });
    expect(published.error).toBeUndefined();
    const z32 = published.result.publicKey as string;

    const origin = 'https://game.itch.example';
    const preflight = await fetch(`${relay}/${z32}`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Private-Network': 'true' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-private-network')).toBe('true');
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);

    const got = await fetch(`${relay}/${z32}`, { headers: { Origin: origin } });
    expect(got.status).toBe(200);
    expect(got.headers.get('access-control-allow-origin')).toBe(origin);
    const body = new Uint8Array(await got.arrayBuffer());
    const packet = SignedPacket.fromRelayPayload(PublicKey.parse(z32), body); // verifies the signature
    expect(packet.timestamp.toString()).toBe(published.result.timestamp);

    // A packet signed elsewhere is published through the local relay like through any relay.
    const other = SignedPacket.sign(Keypair.generate(), [{ type: 'A', name: '@', ttl: 60, address: '192.0.2.7' }] as never);
    const put = await fetch(`${relay}/${other.publicKey.z32}`, { method: 'PUT', body: other.toRelayPayload(), headers: { Origin: origin } });
    expect(put.status).toBe(204);
    const resolved = await call(sidecar.port, 'resolve', { publicKey: other.publicKey.z32, policy: 'NetworkOnly' });
    expect(resolved.result.found).toBe(true);

    // Tampered bytes are refused, as a relay must.
    const tampered = other.toRelayPayload().slice();
    tampered[tampered.length - 1]! ^= 1;
    expect((await fetch(`${relay}/${other.publicKey.z32}`, { method: 'PUT', body: tampered })).status).toBe(400);
  });

  it('serves what the game publishes next at once, not the copy it cached (a lobby update reaches the web export)', async () => {
    const sidecar = await start(['--testnet', '8', '--local-relay-port', '0']);
    const relay = (await localRelayOf(sidecar)).url!;
    expect((await call(sidecar.port, 'keys.generate', { name: 'host' })).error).toBeUndefined();
    const timestamps: string[] = [];
    for (const players of ['1', '4']) {
      const published = await call(sidecar.port, 'publish', { key: 'host', records: [{ type: 'TXT', name: '_players', ttl: 60, text: players }] });
      expect(published.error).toBeUndefined();
      const z32 = published.result.publicKey as string;
      // The relay has the packet cached after the first GET (300 s minimum TTL); the second publish
      // must replace it there.
      const got = await fetch(`${relay}/${z32}`);
      expect(got.status).toBe(200);
      const packet = SignedPacket.fromRelayPayload(PublicKey.parse(z32), new Uint8Array(await got.arrayBuffer()));
      expect(packet.timestamp.toString()).toBe(published.result.timestamp);
      timestamps.push(packet.timestamp.toString());
    }
    expect(timestamps[0]).not.toBe(timestamps[1]);
  });

  it('runs on without it when the port is taken, and --no-local-relay turns it off', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((ok) => squatter.listen(0, '127.0.0.1', ok));
    cleanups.push(() => new Promise<void>((ok) => squatter.close(() => ok())));
    const taken = (squatter.address() as { port: number }).port;

    const busy = await start(['--testnet', '3', '--local-relay-port', String(taken)]);
    const state = await localRelayOf(busy);
    expect(state.url).toBeNull();
    expect(state.reason).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}.*EADDRINUSE`));
    expect((await call(busy.port, 'keys.generate', { name: 'still-works' })).result).toBeDefined();

    const off = await start(['--testnet', '3', '--no-local-relay']);
    expect(await localRelayOf(off)).toEqual({ url: null, reason: 'off (--no-local-relay)' });
    const noDht = await start(['--no-dht', '--no-relays', '--local-relay-port', '0']);
    expect(await localRelayOf(noDht)).toEqual({ url: null, reason: 'off (no DHT)' });

    expect(() => parseServeOptions(['--no-local-relay', '--local-relay-port', '1'])).toThrow(/cannot be combined/);
    expect(() => parseServeOptions(['--local-relay-port', '70000'])).toThrow(/--local-relay-port/);
    expect(parseServeOptions([]).localRelayPort).toBe(6881);
  });
});
