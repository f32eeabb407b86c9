import { describe, expect, it } from 'vitest';
import { assertAllowedHost, isLoopbackHost, isLoopbackHostPort } from '../sidecar/src/core/loopback-guard.ts';
import { normalizeRelayUrl } from '../sidecar/src/client/relay-client.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';

describe('loopback-only guard for tests', () => {
  it('is on for this test run', () => {
    expect(process.env['PKARR_LOOPBACK_ONLY']).toBe('1');
  });

  it('refuses public relays and bootstrap nodes, allows loopback', async () => {
    expect(() => normalizeRelayUrl('https://pkarr.pubky.app')).toThrow(/PKARR_LOOPBACK_ONLY/);
    expect(normalizeRelayUrl('http://127.0.0.1:6881/')).toBe('http://127.0.0.1:6881');
    expect(() => assertAllowedHost('10.0.0.1', 'x')).toThrow();
    expect(() => assertAllowedHost('[::1]', 'x')).not.toThrow();
    await expect(DhtClient.start({ host: '127.0.0.1', timeoutMs: 200 })).rejects.toThrow(/DHT bootstrap node/);
  });

  it('knows loopback hosts and HOST:PORT addresses (one definition for the guard, serve and the CLI)', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', 'LocalHost', '::1', '[::1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['10.0.0.1', '128.0.0.1', '127.0.0', 'localhost.example', '::2', '']) expect(isLoopbackHost(host), host).toBe(false);
    for (const address of ['127.0.0.1:6881', 'localhost:1', '[::1]:53', '::1:53']) expect(isLoopbackHostPort(address), address).toBe(true);
    for (const address of ['127.0.0.1', '127.0.0.1:', '127.0.0.1:x', '10.0.0.1:6881', 'router.example:6881', ':6881']) {
      expect(isLoopbackHostPort(address), address).toBe(false);
    }
  });
});
