/**
 * LAN lobby discovery (sidecar/src/lan/) over real multicast on the loopback interface
 * (224.0.0.251 via 127.0.0.1, a port of this run; nothing leaves the machine), everything in this
 * process: 5 announcing sidecars hosting 10 lobbies each (50 signed lobbies), and for each run a
 * fresh browsing side (empty table) with a LAN-only LobbyBrowser (no DHT, no relay).
 *
 * - baseline: one bare mDNS round trip (a query for one key, its announcer's answer heard);
 * - time to the first LAN lobby: `refresh()` start → first `found` (goal < 1 s);
 * - browsing 50 LAN lobbies: `refresh()` start → the 50th `found`, and the whole refresh (it
 *   listens for its window, 750 ms by default, so it cannot end sooner);
 * - a host opening while a browser watches: `announcer.set` → the watcher's `found`.
 * Runs are 1.1 s apart: an announcer answers a lobby's queries at most once per second.
 */
import { Keypair } from '../sidecar/src/core/keys.ts';
import { LanDiscovery } from '../sidecar/src/lan/lan-discovery.ts';
import { LobbyBrowser } from '../sidecar/src/lobby/lobby-browser.ts';
import { signLobby } from '../sidecar/src/lobby/lobby-record.ts';
import { fmt, quantile } from './measure.ts';

const ANNOUNCERS = 5;
const PER_ANNOUNCER = 10;
const RUNS = 7;
const GAME = 'bench-lan';
const port = 20000 + Math.floor(Math.random() * 20000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function start(): Promise<LanDiscovery> {
  return LanDiscovery.start({ port, interfaces: ['127.0.0.1'], ipv6: false, announceIntervalMs: 15_000 });
}

function lobby(i: number, keypair: Keypair) {
  return signLobby(keypair, { game: GAME, gameVersion: '1', name: `LAN lobby ${i}`, players: i % 8, maxPlayers: 8, open: true, endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 7000 + i }] });
}

function row(label: string, samples: number[], baseline: number): string {
  const median = quantile(samples, 0.5);
  return `${label.padEnd(44)} median ${fmt(median, 1).padStart(7)} ms  p90 ${fmt(quantile(samples, 0.9), 1).padStart(7)} ms  ${fmt(median / baseline, 1).padStart(6)}x baseline`;
}

export async function run(): Promise<void> {
  const announcers: LanDiscovery[] = [];
  try {
    const keys: Keypair[] = [];
    for (let a = 0; a < ANNOUNCERS; a++) {
      const d = await start();
      if (!d.active) throw new Error('no loopback multicast socket');
      announcers.push(d);
      for (let j = 0; j < PER_ANNOUNCER; j++) {
        const keypair = Keypair.generate();
        keys.push(keypair);
        d.announcer.set(lobby(keys.length - 1, keypair));
      }
    }
    await sleep(1500);

    const roundTrips: number[] = [];
    const firsts: number[] = [];
    const alls: number[] = [];
    const refreshes: number[] = [];
    const opens: number[] = [];
    let listed = 0;
    let heard = 0;
    for (let r = 0; r < RUNS; r++) {
      // baseline: one query for one key, answered by its announcer
      const probe = await start();
      let t = performance.now();
      const found = await probe.browser.find(keys[r % keys.length]!.publicKey, 2000);
      if (found === null) throw new Error('baseline: no answer');
      roundTrips.push(performance.now() - t);
      await probe.close();
      await sleep(1100);

      const side = await start();
      const browser = new LobbyBrowser({ game: GAME, gameVersion: '1', dht: null, client: null, lan: side.browser });
      let first = 0;
      let last = 0;
      let count = 0;
      t = performance.now();
      browser.on('found', () => {
        const at = performance.now() - t;
        if (count === 0) first = at;
        if (++count === keys.length) last = at;
      });
      const result = await browser.refresh();
      refreshes.push(performance.now() - t);
      firsts.push(first);
      if (last > 0) alls.push(last);
      listed = result.lobbies.length;
      heard = result.stats.lan.heard;

      // a host opens while this browser listens
      const newcomer = Keypair.generate();
      const seen = new Promise<void>((resolve) => browser.on('found', (l) => { if (l.publicKey.z32 === newcomer.publicKey.z32) resolve(); }));
      t = performance.now();
      announcers[0]!.announcer.set(lobby(1000 + r, newcomer));
      await seen;
      opens.push(performance.now() - t);
      announcers[0]!.announcer.goodbye(signLobby(newcomer, { game: GAME, gameVersion: '1', name: 'gone', players: 0, maxPlayers: 8, open: false, endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 7999 }] }));
      await browser.close();
      await side.close();
      await sleep(1100);
    }
    const baseline = quantile(roundTrips, 0.5);
    console.log(`${ANNOUNCERS} announcers x ${PER_ANNOUNCER} lobbies = ${keys.length} signed LAN lobbies on loopback multicast, ${RUNS} runs, each with a fresh browser`);
    console.log(row('baseline: mDNS query -> answer (one key)', roundTrips, baseline));
    console.log(row('first LAN lobby found (goal < 1 s)', firsts, baseline));
    console.log(row(`all ${keys.length} LAN lobbies found`, alls, baseline));
    console.log(row('whole refresh (750 ms listening window)', refreshes, baseline));
    console.log(row('host opens -> watcher finds it', opens, baseline));
    console.log(`last run: ${listed} lobbies listed, ${heard} heard; all ${keys.length} found in ${alls.length}/${RUNS} runs`);
  } finally {
    for (const d of announcers) await d.close();
  }
}
