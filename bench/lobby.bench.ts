/**
 * Browsing 100 public lobbies on a local DHT testnet (everything on 127.0.0.1): 100 hosts, each with
 * its own key, signed record and beacon, announced on one game topic. Measures a full browse
 * (BEP5 lookup + 100 beacon fetches + signature checks + parsing) against the bare BEP5 lookup of the
 * same topic as the baseline, plus the time until the first and the last lobby was reported.
 * Goal: a browse of 100 lobbies in < 2 s.
 */
import { Client } from '../sidecar/src/client/client.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { LobbyBrowser } from '../sidecar/src/lobby/lobby-browser.ts';
import { LobbyHost } from '../sidecar/src/lobby/lobby-host.ts';
import { lobbyTopic } from '../sidecar/src/lobby/topic.ts';
import { fmt, quantile } from './measure.ts';

const TESTNET_NODES = 50;
const HOST_NODES = 5;
const LOBBIES = 100;
const RUNS = 7;
const GAME = 'bench-game';

export async function run(): Promise<void> {
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
    for (let batch = 0; batch < LOBBIES; batch += 10) {
      await Promise.all(Array.from({ length: Math.min(10, LOBBIES - batch) }, async (_, j) => {
        const i = batch + j;
        const node = i % HOST_NODES;
        const host = new LobbyHost({ client: clients[node]!, dht: dhts[node]!, keypair: Keypair.generate(), beaconHost: '127.0.0.1' });
        hosts.push(host);
        const opened = await host.open({ game: GAME, gameVersion: '1', name: `Lobby ${i}`, players: i % 8, maxPlayers: 8, port: 7000 + i, address: '127.0.0.1', custom: { mode: i % 2 === 0 ? 'ctf' : 'dm' } });
        if (opened.announcedTo === null || opened.announcedTo === 0) throw new Error(`lobby ${i} was not announced: ${opened.announceError ?? 'no node'}`);
      }));
    }
    console.log(`setup: ${TESTNET_NODES}-node testnet, ${LOBBIES} hosts opened (sign + publish + beacon + announce) in ${fmt(performance.now() - setupStart)} ms`);

    const browserDht = dhts[HOST_NODES]!;
    const topic = lobbyTopic(GAME, '1');
    const lookups: number[] = [];
    const browses: number[] = [];
    const firsts: number[] = [];
    const lasts: number[] = [];
    let peers = 0;
    let listed = 0;
    for (let r = 0; r < RUNS; r++) {
      let start = performance.now();
      peers = await browserDht.lookup(topic, () => undefined);
      lookups.push(performance.now() - start);

      const browser = new LobbyBrowser({ game: GAME, gameVersion: '1', dht: browserDht, client: null });
      let first = 0;
      let last = 0;
      let found = 0;
      browser.on('found', () => {
        const t = performance.now() - start;
        if (found++ === 0) first = t;
        last = t;
      });
      start = performance.now();
      const result = await browser.refresh();
      browses.push(performance.now() - start);
      firsts.push(first);
      lasts.push(last);
      listed = result.lobbies.length;
      await browser.close();
      if (listed !== LOBBIES) throw new Error(`browse listed ${listed} of ${LOBBIES} lobbies: ${JSON.stringify(result.stats)}`);
    }
    const lookup = quantile(lookups, 0.5);
    const browse = quantile(browses, 0.5);
    console.log(`bare BEP5 lookup of the topic (baseline): median ${fmt(lookup, 1)} ms, ${peers} peers`);
    console.log(`browse ${listed} lobbies (lookup + beacons + verify): median ${fmt(browse, 1)} ms, p90 ${fmt(quantile(browses, 0.9), 1)} ms ` +
      `(${fmt(browse / lookup, 1)}× the bare lookup; goal < 2000 ms: ${browse < 2000 ? 'met' : 'NOT met'})`);
    console.log(`  first lobby reported after median ${fmt(quantile(firsts, 0.5), 1)} ms, last after ${fmt(quantile(lasts, 0.5), 1)} ms (${RUNS} runs)`);
  } finally {
    await Promise.all(hosts.map((h) => h.dispose()));
    for (const c of clients) await c.close();
    for (const d of dhts) await d.destroy();
    await testnet.destroy();
  }
}
