/**
 * Lobby directories (docs/nat.md §4), on this machine and a local DHT testnet (127.0.0.1 only):
 * 1. the proof of work a host pays per window (DIRECTORY_POW_BITS) against the one hash a browser
 *    pays to check it (the baseline);
 * 2. browsing 50 lobbies through the directory (16 slot lookups + 50 key lookups) against browsing
 *    the same 50 lobbies through their beacons (one BEP5 lookup + 50 beacon fetches), same run.
 */
import { Client } from '../sidecar/src/client/client.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { checkPow, DIRECTORY_POW_BITS, powPrefix, solvePow } from '../sidecar/src/lobby/directory-pow.ts';
import { encodeSlot, type DirectoryEntry } from '../sidecar/src/lobby/directory-record.ts';
import { directoryId, slotKeypair, windowBounds } from '../sidecar/src/lobby/directory-slots.ts';
import { LobbyBrowser } from '../sidecar/src/lobby/lobby-browser.ts';
import { LobbyHost } from '../sidecar/src/lobby/lobby-host.ts';
import { fmt, quantile } from './measure.ts';

const POW_SAMPLES = 100;
const TESTNET_NODES = 50;
const HOST_NODES = 5;
const LOBBIES = 50;
const RUNS = 5;
const GAME = 'bench-directory';

async function powFigures(): Promise<void> {
  const dir = directoryId(GAME, '1');
  const window = 2_000_000;
  const prefix = powPrefix(dir, window);
  const times: number[] = [];
  const tries: number[] = [];
  const entries: DirectoryEntry[] = [];
  for (let i = 0; i < POW_SAMPLES; i++) {
    const key = Keypair.generate().publicKey;
    const time = windowBounds(window).start + i;
    const start = performance.now();
    const solved = await solvePow(prefix, `${key.z32}:${time}:`);
    times.push(performance.now() - start);
    tries.push(solved.tries);
    entries.push({ hostKey: key, time, nonce: solved.nonce });
  }
  const texts = entries.map((e) => `${e.hostKey.z32}:${e.time}:${e.nonce}`);
  const verifyRounds = 20;
  const vStart = performance.now();
  for (let r = 0; r < verifyRounds; r++) for (const text of texts) if (!checkPow(prefix, text)) throw new Error('a solved proof did not verify');
  const verifyMs = (performance.now() - vStart) / (verifyRounds * texts.length);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const meanTries = tries.reduce((a, b) => a + b, 0) / tries.length;
  console.log(`proof of work, ${DIRECTORY_POW_BITS} bits, ${POW_SAMPLES} entries: mean ${fmt(mean, 1)} ms, median ${fmt(quantile(times, 0.5), 1)} ms, p90 ${fmt(quantile(times, 0.9), 1)} ms, max ${fmt(Math.max(...times), 1)} ms ` +
    `(mean ${fmt(meanTries)} hashes, expected ${2 ** DIRECTORY_POW_BITS}; ${fmt(meanTries / mean)}k hashes/s)`);
  console.log(`  verifying one entry (baseline): ${fmt(verifyMs * 1000, 2)} µs — a host pays ${fmt(mean / verifyMs)}× what a browser pays to reject or accept it`);
  const slot = slotKeypair(dir, window, 0);
  const encoded = encodeSlot(slot, entries, 1n);
  console.log(`  slot capacity: ${encoded.kept.length} entries in ${encoded.packet.dns.length} of 1000 DNS bytes (${dir.slots} slots → ${encoded.kept.length * dir.slots} hosts per window)`);
}

export async function run(): Promise<void> {
  await powFigures();
  const testnet = await Testnet.create(TESTNET_NODES);
  const dhts: DhtClient[] = [];
  const clients: Client[] = [];
  const hosts: LobbyHost[] = [];
  try {
    for (let i = 0; i < HOST_NODES + 1; i++) {
      const dht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1' });
      dhts.push(dht);
      clients.push(new Client({ dht, relays: [] }));
    }
    const setupStart = performance.now();
    let directoryErrors = 0;
    for (let batch = 0; batch < LOBBIES; batch += 10) {
      await Promise.all(Array.from({ length: Math.min(10, LOBBIES - batch) }, async (_, j) => {
        const i = batch + j;
        const node = i % HOST_NODES;
        const host = new LobbyHost({ client: clients[node]!, dht: dhts[node]!, keypair: Keypair.generate(), beaconHost: '127.0.0.1' });
        hosts.push(host);
        const opened = await host.open({ game: GAME, gameVersion: '1', name: `Lobby ${i}`, players: i % 8, maxPlayers: 8, port: 7000 + i, address: '127.0.0.1' });
        if (opened.directoryError !== undefined) directoryErrors++;
      }));
    }
    const setupMs = performance.now() - setupStart;
    // Writers racing in 8 slots lose some writes: one refresh each repairs them (as the host timers would).
    const repairStart = performance.now();
    let rewritten = 0;
    for (const host of hosts) if ((await host.refreshDirectory()).action === 'written') rewritten++;
    console.log(`setup: ${LOBBIES} hosts opened 10 at a time (sign + publish + beacon + announce + proof + slot write) in ${fmt(setupMs)} ms; ` +
      `${directoryErrors} slot writes failed at open, ${rewritten} hosts re-listed by one refresh each (${fmt(performance.now() - repairStart)} ms)`);

    const browserPeer = { dht: dhts[HOST_NODES]!, client: clients[HOST_NODES]! };
    const beacon: number[] = [];
    const directory: number[] = [];
    let slotsFound = 0;
    for (let r = 0; r < RUNS; r++) {
      for (const mode of ['beacon', 'directory'] as const) {
        const browser = new LobbyBrowser({ game: GAME, gameVersion: '1', dht: mode === 'beacon' ? browserPeer.dht : null, client: mode === 'beacon' ? null : browserPeer.client, topic: mode === 'beacon', directory: mode === 'directory' });
        const start = performance.now();
        const result = await browser.refresh();
        (mode === 'beacon' ? beacon : directory).push(performance.now() - start);
        await browser.close();
        if (result.lobbies.length !== LOBBIES) throw new Error(`${mode} browse listed ${result.lobbies.length} of ${LOBBIES}: ${JSON.stringify(result.stats)}`);
        if (mode === 'directory') slotsFound = result.stats.directory.slotsFound;
      }
    }
    const b = quantile(beacon, 0.5);
    const d = quantile(directory, 0.5);
    console.log(`browse ${LOBBIES} lobbies through beacons (baseline): median ${fmt(b, 1)} ms, p90 ${fmt(quantile(beacon, 0.9), 1)} ms`);
    console.log(`browse ${LOBBIES} lobbies through the directory (16 slot lookups, ${slotsFound} non-empty, + ${LOBBIES} key lookups): median ${fmt(d, 1)} ms, p90 ${fmt(quantile(directory, 0.9), 1)} ms ` +
      `(${fmt(d / b, 1)}× the beacon browse; ${RUNS} runs each, interleaved)`);
  } finally {
    await Promise.all(hosts.map((h) => h.dispose()));
    for (const c of clients) await c.close();
    for (const d of dhts) await d.destroy();
    await testnet.destroy();
  }
}
