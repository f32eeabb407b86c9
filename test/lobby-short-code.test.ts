/**
 * Short invite codes (sidecar/src/lobby/short-code*.ts, docs/lobby.md "Short invite codes"): the
 * pure derivation and parsing, then a host and a joiner on a loopback DHT testnet and through a
 * relay alone (no DHT on either side): the code resolves to the host's lobby, a squatter's
 * overwrite of the slot is refused (the fingerprint does not match) until the host republishes,
 * and a mistyped code finds nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair, PublicKey } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { lobbyErrorReason } from '../sidecar/src/lobby/lobby-errors.ts';
import { LobbyService } from '../sidecar/src/lobby/lobby-service.ts';
import {
  encodeShortCode, formatShortCode, MAX_SHORT_CODE_CANDIDATES, parseShortCode, shortCodeOf, shortCodeRecords, shortCodeSlotKeypair, slotCandidates, SHORT_CODE_ALPHABET,
} from '../sidecar/src/lobby/short-code.ts';
import { resolveShortCode } from '../sidecar/src/lobby/short-code-slot.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { FakeDht } from './relay-server-helpers.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('short codes: derivation and parsing', () => {
  it('encodes the first 50 bits in Crockford base32 and reads forgiving spellings back', () => {
    expect(SHORT_CODE_ALPHABET).toHaveLength(32);
    expect(SHORT_CODE_ALPHABET).not.toMatch(/[ILOU]/);
    expect(encodeShortCode(new Uint8Array(7))).toBe('0000000000');
    expect(encodeShortCode(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe('ZZZZZZZZZZ');
    // values 1..10, 5 bits each: 00001 00010 00011 ... 01010 = 0x08 0x86 0x42 0x98 0xe8 0x4a 0x80
    expect(encodeShortCode(new Uint8Array([0x08, 0x86, 0x42, 0x98, 0xe8, 0x4a, 0x80]))).toBe('123456789A');
    expect(formatShortCode('123456789A')).toBe('12345-6789A');
    expect(parseShortCode('12345-6789A')).toBe('123456789A');
    expect(parseShortCode(' l2345 6789a\n')).toBe('123456789A');
    expect(parseShortCode('o1IL1-oOoOo')).toBe('0111100000');
    for (const bad of ['12345-6789', '12345-6789AB', '12345-6789U', 'pk:12345', '', 42, null, 'x'.repeat(100)]) {
      expect(parseShortCode(bad), String(bad)).toBeNull();
    }
  });

  it('derives one code per key, and the slot key from the code alone', async () => {
    const key = Keypair.generate().publicKey;
    const code = await shortCodeOf(key);
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
    expect(await shortCodeOf(PublicKey.parse(key.z32))).toBe(code);
    expect(await shortCodeOf(Keypair.generate().publicKey)).not.toBe(code);
    expect(shortCodeSlotKeypair(code).publicKey.z32).toBe(shortCodeSlotKeypair(code).publicKey.z32);
    expect(shortCodeSlotKeypair(code).publicKey.z32).not.toBe(key.z32);
    expect(() => shortCodeSlotKeypair('12345-6789A')).toThrow(/canonical/);
  });

  it('reads at most a few candidate keys from a slot (each costs one scrypt)', () => {
    const keys = Array.from({ length: 8 }, () => Keypair.generate().publicKey);
    const slot = shortCodeSlotKeypair('0000000000');
    const packet = SignedPacket.sign(slot, [
      { type: 'TXT', name: '_lobby-host', ttl: 300, strings: ['not a key', keys[0]!.z32] },
      ...keys.slice(1).map((k) => ({ type: 'TXT' as const, name: '_lobby-host', ttl: 300, strings: [k.z32] })),
    ]);
    expect(slotCandidates(packet).map((k) => k.z32)).toEqual(keys.slice(0, MAX_SHORT_CODE_CANDIDATES).map((k) => k.z32));
    expect(shortCodeRecords(keys[0]!)).toEqual([{ type: 'TXT', name: '_lobby-host', ttl: 300, strings: [keys[0]!.z32] }]);
  });
});

/** Hosts a lobby through a LobbyService and joins it by short code through another client. */
async function hostAndJoin(hostClient: Client, joinClient: Client, squatClient: Client): Promise<void> {
  const keypair = Keypair.generate();
  const lobbies = new LobbyService({ keys: { get: async () => keypair }, client: hostClient, dht: null, shortCodeRepublishMs: 1000 });
  cleanup.push(() => lobbies.shutdown());
  const hosted = await lobbies.host('room', { game: 'codes', gameVersion: '1', name: 'Short room', maxPlayers: 4, port: 7777, address: '127.0.0.1', public: false });
  expect(hosted.shortCodeError).toBeUndefined();
  expect(hosted.shortCode).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
  expect(hosted.shortCode).toBe(formatShortCode(await shortCodeOf(keypair.publicKey)));
  expect(lobbies.shortCodeOf(keypair.publicKey.z32)).toBe(hosted.shortCode);

  const joiner = new LobbyService({ keys: { get: async () => Keypair.generate() }, client: joinClient, dht: null });
  cleanup.push(() => joiner.shutdown());
  const typed = hosted.shortCode.toLowerCase().replace('-', ' ');
  const found = await joiner.get(typed, { game: 'codes', gameVersion: '1' });
  expect([found.lobby.publicKey.z32, found.lobby.name]).toEqual([keypair.publicKey.z32, 'Short room']);

  // A squatter overwrites the slot with its own key: the fingerprint does not match.
  const canonical = parseShortCode(hosted.shortCode)!;
  const squatter = Keypair.generate().publicKey;
  // Signed 5 s ahead, so the host's republishes (every second) of the next 5 s are older and lose to
  // it: the check below cannot race one, however loaded the machine is.
  await squatClient.publish(SignedPacket.sign(shortCodeSlotKeypair(canonical), shortCodeRecords(squatter), { timestamp: nowMicros() + 5_000_000n }));
  // (The joiner's own cache still holds the host's slot; the squatter's client holds its own.)
  const squatted = await failure(resolveShortCode(squatClient, hosted.shortCode));
  expect(lobbyErrorReason(squatted)).toBe('NO_LOBBY');
  expect(isPkarrError(squatted) && squatted.details?.['squatted']).toBe(true);
  // The host republishes every second here (5 minutes by default): once its timestamp passes the
  // squatter's, the code works again.
  let back: PublicKey | null = null;
  for (let i = 0; i < 80 && back === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    back = await resolveShortCode(squatClient, hosted.shortCode).catch(() => null);
  }
  expect(back?.z32).toBe(keypair.publicKey.z32);

  // A mistyped code finds nothing.
  const last = canonical.at(-1) === '0' ? '1' : '0';
  const mistyped = await failure(joiner.get(canonical.slice(0, 9) + last));
  expect(lobbyErrorReason(mistyped)).toBe('NO_LOBBY');
  expect(String((mistyped as Error).message)).toMatch(/short code/);
}

describe('short codes on a loopback DHT testnet', () => {
  let testnet: Testnet;
  const nodes: DhtClient[] = [];
  beforeAll(async () => {
    testnet = await Testnet.create(20);
    for (let i = 0; i < 3; i++) nodes.push(await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 500 }));
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) await node.destroy();
    await testnet?.destroy();
  });

  it('a host publishes its code; a joiner resolves it, refuses a squatter, and finds it again after the republish', async () => {
    const [host, joiner, squatter] = nodes.map((dht) => new Client({ dht, relays: [] }));
    for (const c of [host, joiner, squatter]) cleanup.push(() => c!.close());
    await hostAndJoin(host!, joiner!, squatter!);
  }, 60_000);
});

describe('short codes through a pkarr relay only (no DHT on either side)', () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await startRelay({ port: 0, dht: new FakeDht(), rateLimit: null, dhtRateLimit: null, log: () => {} });
  });
  afterAll(async () => {
    await relay?.close();
  });

  it('a relay-only host and a relay-only joiner meet through the code', async () => {
    const [host, joiner, squatter] = [0, 1, 2].map(() => new Client({ dht: null, relays: [relay.url] }));
    for (const c of [host, joiner, squatter]) cleanup.push(() => c!.close());
    await hostAndJoin(host!, joiner!, squatter!);
  }, 60_000);
});
