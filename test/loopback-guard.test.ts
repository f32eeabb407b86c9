import { describe, expect, it } from 'vitest';
import { assertAllowedHost } from '../sidecar/src/core/loopback-guard.ts';
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
});
