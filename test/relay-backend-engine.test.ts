/**
 * The relay backend of addons/pkarr (addons/pkarr/relay) in the real Godot 4.6 web engine, with NO
 * sidecar: the `Pkarr` autoload answers through pkarr HTTP relays in GDScript. The page (origin
 * http://127.0.0.1:<page port>) calls, cross-origin:
 * - two of our relays (sidecar/src/relay/relay-server.ts on an in-memory DHT, port 0): `local`
 *   (what `pkarr/relay/local_relay_url` points at, in place of 127.0.0.1:6881) and `remote`;
 * - a fake relay (below) that serves tampered packets, packets signed by another key, and 429s;
 * - a `dead` URL where nothing listens.
 * The GDScript suite (test/godot/projects/relay/tests) runs three times: verification through
 * WebCrypto and through the pure-GDScript Ed25519 (forced), requests through the browser's fetch()
 * (the web default), and once more through HTTPClient (the transport of Android/iOS/desktop). Lobby records are signed by the sidecar's TS
 * lobby code (signLobby) and read back by `Pkarr.get_lobby`.
 * `RELAY_FILTER=<substring>` runs only the matching GDScript tests (debugging).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keypair, PublicKey } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { encodeSlot, type DirectoryEntry } from '../sidecar/src/lobby/directory-record.ts';
import { powPrefix, solvePow } from '../sidecar/src/lobby/directory-pow.ts';
import { directoryId, directoryWindow, homeSlot, slotKeypair } from '../sidecar/src/lobby/directory-slots.ts';
import { parseLobby, signLobby } from '../sidecar/src/lobby/lobby-record.ts';
import { formatShortCode, shortCodeOf, shortCodeRecords, shortCodeSlotKeypair } from '../sidecar/src/lobby/short-code.ts';
import { applyCors, sendPreflight } from '../sidecar/src/relay/http-util.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { ensureGodotWeb, REPO_ROOT } from './godot/harness/engine-cache.ts';
import { closeBrowser, getBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import { FakeDht, makePacket, rawRequest } from './relay-server-helpers.ts';
import { GodotWebSocketStandIn, STANDIN_PEER_ID } from './godot/projects/lobby/host/websocket-standin.ts';
import { ADDON_DIR, WITHOUT_ADDON_BIN } from './godot/projects/addon/host/serve-child.ts';

const PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'relay');
/** Seconds the fake relay's 429 asks the client to wait. */
const RETRY_AFTER = 30;

/** A relay that misbehaves on purpose, per key; every request is counted. */
class FakeRelay {
  readonly hits = new Map<string, number>();
  readonly serve = new Map<string, Uint8Array>();
  readonly limited = new Set<string>();
  /** Keys answered like a pkarr v3-v6 relay (empty 200 to If-Modified-Since). */
  readonly legacy = new Set<string>();
  #server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.#server = createHttpServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    applyCors(req, res);
    if (req.method === 'OPTIONS') return sendPreflight(req, res);
    const segments = (req.url ?? '/').split('?')[0]?.split('/').filter((s) => s !== '') ?? [];
    const key = segments.at(-1) ?? '';
    this.hits.set(key, (this.hits.get(key) ?? 0) + 1);
    // A base URL `<fake>/status-NNN` answers NNN to everything (429 with Retry-After).
    const forced = /^status-(\d{3})$/.exec(segments[0] ?? '');
    if (forced?.[1] !== undefined && segments.length === 2) {
      const status = Number(forced[1]);
      res.writeHead(status, status === 429 ? { 'Retry-After': String(RETRY_AFTER) } : { 'Content-Type': 'text/plain' });
      res.end(`forced ${status}\n`);
      return;
    }
    if (this.limited.has(key)) {
      res.writeHead(429, { 'Retry-After': String(RETRY_AFTER), 'Content-Type': 'text/plain' });
      res.end(`Too Many Requests! Wait for ${RETRY_AFTER}s\n`);
      return;
    }
    const body = this.serve.get(key);
    if (req.method === 'GET' && body !== undefined && this.legacy.has(key) && req.headers['if-modified-since'] !== undefined) {
      // pkarr v3-v6 relays: a conditional GET of a newer packet is an empty 200.
      res.writeHead(200, { 'Content-Type': 'application/pkarr.org/relays#payload' });
      res.end();
      return;
    }
    if (req.method === 'GET' && body !== undefined) {
      res.writeHead(200, { 'Content-Type': 'application/pkarr.org/relays#payload' });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found\n');
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/** A loopback URL where nothing listens (a port bound and released). */
async function deadUrl(): Promise<string> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function put(relay: RunningRelay, packet: SignedPacket): Promise<void> {
  const response = await rawRequest(`${relay.url}/${packet.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload() });
  if (response.status !== 204) throw new Error(`PUT to ${relay.url} answered ${response.status}: ${response.body.toString()}`);
}

let local: RunningRelay;
let remote: RunningRelay;
const fake = new FakeRelay();
/** A WebSocket game server stand-in that Pkarr.join connects to. */
let standin: GodotWebSocketStandIn;
const config: Record<string, unknown> = {};
const keys: Record<'known' | 'tampered' | 'wrong' | 'limited' | 'lobby' | 'legacy' | 'join', string> = { known: '', tampered: '', wrong: '', limited: '', lobby: '', legacy: '', join: '' };
/** test_* functions in tests/relay_backend_test.gd. */
const SUITE_TESTS = 22;

beforeAll(async () => {
  await Promise.all([ensureGodotWeb(), getBrowser()]);
  const options = { port: 0, rateLimit: null, dhtRateLimit: null, log: (): void => {} };
  local = await startRelay({ ...options, dht: new FakeDht() });
  remote = await startRelay({ ...options, dht: new FakeDht() });
  await fake.start();
  standin = await GodotWebSocketStandIn.start();

  const known = Keypair.generate();
  const knownPacket = makePacket(known, ['A @ 10.1.2.3 300', 'TXT _game "hello relays" 300']);
  await put(local, knownPacket);
  await put(remote, knownPacket);

  // Only the remote relay has the valid packet of these; the fake relay serves bad bytes for them.
  const tampered = Keypair.generate();
  const tamperedPacket = makePacket(tampered, ['TXT _game "the real one" 300']);
  await put(remote, tamperedPacket);
  const badBytes = new Uint8Array(tamperedPacket.toRelayPayload());
  badBytes[badBytes.length - 2] = (badBytes[badBytes.length - 2] ?? 0) ^ 0x01;
  fake.serve.set(tampered.publicKey.z32, badBytes);

  const wrong = Keypair.generate();
  await put(remote, makePacket(wrong, ['TXT _game "signed by the right key" 300']));
  fake.serve.set(wrong.publicKey.z32, makePacket(Keypair.generate(), ['TXT _game "signed by another key" 300']).toRelayPayload());

  const limited = Keypair.generate();
  await put(remote, makePacket(limited, ['TXT _game "behind a rate limit" 300']));
  fake.limited.add(limited.publicKey.z32);

  const legacy = Keypair.generate();
  fake.serve.set(legacy.publicKey.z32, makePacket(legacy, ['TXT _game "from a legacy relay" 300']).toRelayPayload());
  fake.legacy.add(legacy.publicKey.z32);

  const host = Keypair.generate();
  const lobby = {
    game: 'relay-test', gameVersion: '1.0', name: 'Relay room', players: 2, maxPlayers: 6, open: true,
    endpoints: [{ transport: 'ws', host: '127.0.0.1', port: 9999 }], custom: { mode: 'ctf' },
  };
  await put(local, signLobby(host, lobby as Parameters<typeof signLobby>[1]));
  // A lobby whose ws endpoint is the stand-in game server (Pkarr.join connects to it).
  const joinHost = Keypair.generate();
  await put(remote, signLobby(joinHost, { ...lobby, name: 'Stand-in room', endpoints: [{ transport: 'ws', host: '127.0.0.1', port: standin.config.port }] } as Parameters<typeof signLobby>[1]));
  // The lobby directory of relay-test 1.0 lists the host above and a lobby of another game.
  const otherGame = Keypair.generate();
  await put(remote, signLobby(otherGame, { ...lobby, game: 'other-game', name: 'Elsewhere' } as Parameters<typeof signLobby>[1]));
  const dir = directoryId(lobby.game, lobby.gameVersion);
  const now = nowMicros();
  const window = directoryWindow(now);
  const time = Number(now / 1_000_000n);
  const entries: DirectoryEntry[] = [];
  for (const listed of [host, otherGame]) {
    const { nonce } = await solvePow(powPrefix(dir, window), `${listed.publicKey.z32}:${time}:`);
    entries.push({ hostKey: listed.publicKey, time, nonce });
  }
  const slot = slotKeypair(dir, window, homeSlot(host.publicKey, window, dir.slots));
  await put(remote, encodeSlot(slot, entries, now).packet);
  // The host's short code (its slot names the host), and a code whose slot names another key.
  const shortCode = await shortCodeOf(host.publicKey);
  await put(remote, SignedPacket.sign(shortCodeSlotKeypair(shortCode), shortCodeRecords(host.publicKey)));
  const squatted = await shortCodeOf(otherGame.publicKey);
  await put(remote, SignedPacket.sign(shortCodeSlotKeypair(squatted), shortCodeRecords(known.publicKey)));

  Object.assign(config, {
    local: local.url, remote: remote.url, fake: fake.url, dead: await deadUrl(), dead2: await deadUrl(),
    keys: Object.assign(keys, {
      known: known.publicKey.z32, tampered: tampered.publicKey.z32, wrong: wrong.publicKey.z32,
      limited: limited.publicKey.z32, lobby: host.publicKey.z32, legacy: legacy.publicKey.z32,
      join: joinHost.publicKey.z32,
    }),
    knownTimestamp: knownPacket.timestamp.toString(),
    lobby: { game: lobby.game, gameVersion: lobby.gameVersion, name: lobby.name },
    otherGameKey: otherGame.publicKey.z32,
    shortCode: formatShortCode(shortCode), squattedCode: formatShortCode(squatted),
    retryAfter: RETRY_AFTER,
    standinPeerId: STANDIN_PEER_ID,
  });
}, 300_000);

afterAll(async () => {
  await local?.close();
  await remote?.close();
  await fake.close();
  await standin?.close();
  await closeBrowser();
});

describe('relay backend in the web engine, no sidecar', () => {
  const runs = [['webcrypto', 'fetch'], ['gdscript', 'fetch'], ['webcrypto', 'httpclient']] as const;
  for (const [path, transport] of runs) {
    it(`resolves, publishes, rejects bad packets and backs off (verification: ${path}, transport: ${transport})`, async () => {
      const filter = process.env.RELAY_FILTER;
      const hitsBefore = fake.hits.get(keys.limited) ?? 0;
      const legacyBefore = fake.hits.get(keys.legacy) ?? 0;
      const acceptedBefore = standin.accepted;
      const result = await runGodotTests({
        project: PROJECT,
        mounts: { 'res://addons/pkarr': ADDON_DIR },
        include: WITHOUT_ADDON_BIN,
        config: { ...config, verification: path, transport },
        testTimeoutSec: 60,
        ...(filter ? { filter } : {}),
        timeoutMs: 240_000,
      });
      expect(result.ok, formatGodotTestReport(result)).toBe(true);
      expect(result.failed, formatGodotTestReport(result)).toBe(0);
      if (filter) return;
      expect(result.passed, formatGodotTestReport(result)).toBe(SUITE_TESTS);
      // The lobby GDScript hosted (then closed) reads back with the sidecar's TS lobby code.
      const hostedKey = result.lines.map((l) => /^RELAY_HOSTED (\S+)$/.exec(l.text)?.[1]).find((k) => k !== undefined);
      expect(hostedKey, 'the hosting test printed its key').toBeDefined();
      const stored = await rawRequest(`${remote.url}/${hostedKey}`);
      expect(stored.status).toBe(200);
      const hostedLobby = parseLobby(SignedPacket.fromRelayPayload(PublicKey.parse(hostedKey ?? ''), new Uint8Array(stored.body)));
      expect([hostedLobby.name, hostedLobby.players, hostedLobby.open, hostedLobby.custom]).toEqual(['Phone room', 3, false, { mode: 'coop' }]);
      expect(hostedLobby.endpoints).toEqual([{ transport: 'ws', host: '203.0.113.9', port: 7777 }]);
      // Pkarr.join reached the stand-in game server through the relay backend's lobby.join.
      expect(standin.accepted - acceptedBefore).toBe(1);
      // The 429 relay was asked once by the back-off test, then left alone.
      expect((fake.hits.get(keys.limited) ?? 0) - hitsBefore).toBe(1);
      // The legacy relay: a plain GET, then the conditional one (empty 200) and its retry.
      expect((fake.hits.get(keys.legacy) ?? 0) - legacyBefore).toBe(3);
    }, 300_000);
  }
});
