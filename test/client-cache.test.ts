import { describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { PacketCache, resolveTtlBounds } from '../sidecar/src/client/packet-cache.ts';
import { SECOND, makePacket } from './client-helpers.ts';

describe('PacketCache', () => {
  it('evicts the least recently used key', () => {
    const cache = new PacketCache({ capacity: 2 });
    const [a, b, c] = [Keypair.generate(), Keypair.generate(), Keypair.generate()];
    cache.put(makePacket(a));
    cache.put(makePacket(b));
    expect(cache.get(a.publicKey.z32)).toBeDefined(); // a is now the most recent
    cache.put(makePacket(c));
    expect(cache.keys()).toEqual([a.publicKey.z32, c.publicKey.z32]);
    expect(cache.peek(b.publicKey.z32)).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('update rule: empty, more recent, or same bytes with a newer lastSeen', () => {
    const cache = new PacketCache();
    const kp = Keypair.generate();
    const old = makePacket(kp, ['A @ 1.1.1.1 300']);
    const newer = makePacket(kp, ['A @ 2.2.2.2 300']);
    expect(cache.put(newer)).toBe(true);
    expect(cache.put(old)).toBe(false);
    expect(cache.peek(kp.publicKey.z32)).toBe(newer);
    expect(cache.put(newer.withLastSeen(newer.lastSeen - SECOND))).toBe(false);
    const refreshed = newer.withLastSeen(newer.lastSeen + SECOND);
    expect(cache.put(refreshed)).toBe(true);
    expect(cache.peek(kp.publicKey.z32)).toBe(refreshed);
    // Equal timestamps: the greater DNS bytes win.
    const ts = nowMicros();
    const x = makePacket(kp, ['A @ 1.1.1.1 300'], ts + 10n * SECOND);
    const y = makePacket(kp, ['A @ 9.9.9.9 300'], ts + 10n * SECOND);
    const [low, high] = x.moreRecentThan(y) ? [y, x] : [x, y];
    expect(cache.put(high)).toBe(true);
    expect(cache.put(low)).toBe(false);
  });

  it('capacity 0 stores nothing and breaks nothing', () => {
    const cache = new PacketCache({ capacity: 0 });
    const kp = Keypair.generate();
    expect(cache.put(makePacket(kp))).toBe(false);
    expect(cache.get(kp.publicKey.z32)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('freshness uses the clamped TTL; staleness allows one second of HTTP-date rounding', () => {
    const cache = new PacketCache();
    const kp = Keypair.generate();
    const now = nowMicros();
    const packet = makePacket(kp, ['A @ 1.2.3.4 30']); // ttl 30 → clamped to 300
    expect(cache.isFresh(packet.withLastSeen(now - 299n * SECOND), now)).toBe(true);
    expect(cache.isFresh(packet.withLastSeen(now - 300n * SECOND), now)).toBe(false);
    expect(cache.isStale(packet.withLastSeen(now - 301n * SECOND), now)).toBe(false);
    expect(cache.isStale(packet.withLastSeen(now - 302n * SECOND), now)).toBe(true);
    const zero = new PacketCache({ maxTtl: 0 });
    expect(zero.isFresh(packet.withLastSeen(now), now)).toBe(false);
    expect(zero.isStale(packet.withLastSeen(now), now)).toBe(false);
  });

  it('TTL bounds follow the reference builder', () => {
    expect(resolveTtlBounds()).toEqual({ minTtl: 300, maxTtl: 86400 });
    expect(resolveTtlBounds(undefined, 0)).toEqual({ minTtl: 0, maxTtl: 0 });
    expect(resolveTtlBounds(100000)).toEqual({ minTtl: 100000, maxTtl: 100000 });
    expect(resolveTtlBounds(10, 20)).toEqual({ minTtl: 10, maxTtl: 20 });
    expect(() => resolveTtlBounds(20, 10)).toThrowError(/must not exceed/);
    expect(() => new PacketCache({ capacity: -1 })).toThrowError(/non-negative integer/);
    expect(() => new PacketCache({ capacity: 1.5 })).toThrowError(/non-negative integer/);
  });
});
