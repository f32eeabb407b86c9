/** The relay's persistent packet store (SQLite + hot LRU): update rule, persistence, LRU, corruption. */
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { PacketStore } from '../sidecar/src/relay/packet-store.ts';
import { LruMap } from '../sidecar/src/util/lru-map.ts';
import { makePacket } from './relay-server-helpers.ts';

let dir: string;
let file: string;
const open: PacketStore[] = [];

function openStore(capacity = 100, extra: Partial<Parameters<typeof PacketStore.open>[0]> = {}): PacketStore {
  const store = PacketStore.open({ path: file, capacity, ...extra });
  open.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'relay-store-'));
  file = join(dir, 'sub', 'packets.sqlite');
});

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('PacketStore', () => {
  it('applies the reference update rule', () => {
    const store = openStore();
    const kp = Keypair.generate();
    const a = makePacket(kp, ['A @ 1.1.1.1 300'], 1000n);
    const b = makePacket(kp, ['A @ 2.2.2.2 300'], 2000n);
    expect(store.put(a)).toBe('inserted');
    expect(store.put(b)).toBe('replaced');
    expect(store.put(a)).toBe('unchanged');
    expect(store.put(b.withLastSeen(b.lastSeen - 1n))).toBe('unchanged');
    expect(store.put(b.withLastSeen(b.lastSeen + 5n))).toBe('refreshed');
    expect(store.get(kp.publicKey)?.packet.lastSeen).toBe(b.lastSeen + 5n);
    expect(store.size).toBe(1);
  });

  it('survives a restart, including lastSeen', () => {
    const store = openStore();
    const packets = Array.from({ length: 5 }, () => makePacket(Keypair.generate()));
    for (const p of packets) store.put(p);
    store.close();
    const again = openStore();
    expect(again.size).toBe(5);
    for (const p of packets) {
      const got = again.get(p.publicKey);
      expect(got?.packet.isSameAs(p)).toBe(true);
      expect(got?.packet.lastSeen).toBe(p.lastSeen);
      expect(Buffer.from(got!.payload).equals(Buffer.from(p.toRelayPayload()))).toBe(true);
    }
  });

  it('evicts the least recently accessed packets in batches, keeping at most capacity', () => {
    const store = openStore(5, { hotCapacity: 2 });
    const packets = Array.from({ length: 5 }, () => makePacket(Keypair.generate()));
    for (const p of packets) store.put(p);
    // Touch the first one so that the second is the least recently used.
    expect(store.get(packets[0]!.publicKey)).not.toBeNull();
    store.flushAccessTimes();
    const extra = makePacket(Keypair.generate());
    store.put(extra);
    expect(store.size).toBeLessThanOrEqual(5);
    expect(store.get(extra.publicKey)).not.toBeNull();
    expect(store.get(packets[0]!.publicKey)).not.toBeNull();
    expect(store.peek(packets[1]!.publicKey)).toBeNull();
    store.close();
    expect(openStore(5).size).toBe(store.size);
  });

  it('evicts in one statement per batch for large capacities', () => {
    const store = openStore(200);
    for (let i = 0; i < 250; i += 1) store.put(makePacket(Keypair.generate()));
    // capacity 200 → batch of 2: the size stays within [capacity − batch, capacity].
    expect(store.size).toBeLessThanOrEqual(200);
    expect(store.size).toBeGreaterThanOrEqual(198);
    const db = new DatabaseSync(file);
    const row = db.prepare('SELECT count(*) AS n FROM packets').get() as { n: number };
    db.close();
    expect(row.n).toBe(store.size);
  });

  it('shrinks a store opened with a smaller capacity', () => {
    const store = openStore(10);
    for (let i = 0; i < 10; i += 1) store.put(makePacket(Keypair.generate()));
    store.close();
    expect(openStore(3).size).toBe(3);
  });

  it('deletes a corrupt row with a log line instead of crashing', () => {
    const lines: string[] = [];
    const store = openStore(100, { log: (l) => lines.push(l) });
    const good = makePacket(Keypair.generate());
    const bad = makePacket(Keypair.generate());
    store.put(good);
    store.put(bad);
    store.close();
    const db = new DatabaseSync(file);
    const bytes = Buffer.from(bad.toBytes());
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    db.prepare('UPDATE packets SET bytes = ? WHERE key = ?').run(bytes, bad.publicKey.bytes);
    db.close();
    const again = openStore(100, { log: (l) => lines.push(l) });
    expect(again.get(bad.publicKey)).toBeNull();
    expect(lines.some((l) => l.includes('corrupt row') && l.includes(bad.publicKey.z32))).toBe(true);
    expect(again.size).toBe(1);
    expect(again.get(good.publicKey)?.packet.isSameAs(good)).toBe(true);
  });

  it('moves a file that is not a database aside and starts empty', () => {
    const lines: string[] = [];
    openStore().close();
    open.length = 0;
    writeFileSync(file, Buffer.alloc(8192, 0x41));
    const store = openStore(100, { log: (l) => lines.push(l) });
    expect(store.size).toBe(0);
    store.put(makePacket(Keypair.generate()));
    expect(lines.join('\n')).toMatch(/moved to/);
    expect(readdirSync(join(dir, 'sub')).some((f) => f.includes('.corrupt-'))).toBe(true);
  });

  it('resets a lastSeen more than 60 s in the future to 0', () => {
    const store = openStore();
    const p = makePacket(Keypair.generate());
    store.put(p.withLastSeen(nowMicros() + 3_600_000_000n));
    store.close();
    expect(openStore().get(p.publicKey)?.packet.lastSeen).toBe(0n);
  });

  it('with capacity 0 stores nothing', () => {
    const store = openStore(0);
    const p = makePacket(Keypair.generate());
    expect(store.put(p)).toBe('unchanged');
    expect(store.get(p.publicKey)).toBeNull();
    expect(store.getHot(p.publicKey.z32)).toBeUndefined();
  });

  it('keeps an in-memory store without a path', () => {
    const store = PacketStore.open({ path: null, capacity: 10 });
    open.push(store);
    const p = makePacket(Keypair.generate());
    store.put(p);
    expect(store.getHot(p.publicKey.z32)?.packet.isSameAs(p)).toBe(true);
  });
});

describe('LruMap', () => {
  it('evicts the least recently used entry', () => {
    const lru = new LruMap<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    expect([...lru.entries()].map(([k]) => k)).toEqual(['a', 'c']);
    expect(lru.peek('b')).toBeUndefined();
  });
});
