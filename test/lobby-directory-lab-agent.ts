/**
 * Runs inside a NAT-lab namespace through the lab's agent (test/natlab/agent.ts), for
 * lobby-directory-lab.test.ts: a lobby host (production DhtClient, Client, LobbyHost with its
 * beacon on 0.0.0.0, announced on the topic and listed in the directory) or a browser (LobbyBrowser
 * reading the topic and the directory), both against the lab's libtorrent DHT nodes.
 */
import type { AgentContext } from './natlab/agent.ts';
import { Client } from '../sidecar/src/client/client.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import type { BrowseStats } from '../sidecar/src/lobby/lobby-browser.ts';
import { LobbyBrowser } from '../sidecar/src/lobby/lobby-browser.ts';
import type { DirectoryListing } from '../sidecar/src/lobby/directory-publisher.ts';
import { LobbyHost } from '../sidecar/src/lobby/lobby-host.ts';

export interface LabHostArgs { bootstrap: string[]; game: string; name: string; address: string }
export interface LabHosted {
  publicKey: string;
  beaconPort: number | null;
  announcedTo: number | null;
  lobbyStoredOn: number;
  directory: Omit<DirectoryListing, 'publish'> | null;
  directoryStoredOn: number | null;
  directoryError: string | null;
}
export interface LabBrowsed { lobbies: { name: string; source: string; publicKey: string }[]; stats: BrowseStats }

async function peer(ctx: AgentContext, bootstrap: string[]): Promise<{ dht: DhtClient; client: Client }> {
  const dht = await DhtClient.start({ bootstrap, host: '0.0.0.0', timeoutMs: 1000 });
  const client = new Client({ dht, relays: [] });
  ctx.onClose(async () => { await client.close(); await dht.destroy(); });
  return { dht, client };
}

/** Opens a public lobby (beacon on 0.0.0.0, announce, directory) advertising `address`. */
export async function host(ctx: AgentContext, args: LabHostArgs): Promise<LabHosted> {
  const { dht, client } = await peer(ctx, args.bootstrap);
  const lobby = new LobbyHost({ client, dht, keypair: Keypair.generate(), beaconHost: '0.0.0.0' });
  ctx.onClose(() => lobby.dispose());
  const opened = await lobby.open({ game: args.game, gameVersion: '1', name: args.name, maxPlayers: 4, port: 7777, address: args.address });
  const directory = opened.directory === null ? null : (({ publish: _publish, ...rest }) => rest)(opened.directory);
  return {
    publicKey: lobby.publicKey.z32,
    beaconPort: opened.beaconPort,
    announcedTo: opened.announcedTo,
    lobbyStoredOn: opened.publish.storedOn,
    directory,
    directoryStoredOn: opened.directory?.publish?.storedOn ?? null,
    directoryError: opened.directoryError ?? null,
  };
}

/** One browse of the topic and the directory. */
export async function browse(ctx: AgentContext, args: { bootstrap: string[]; game: string }): Promise<LabBrowsed> {
  const { dht, client } = await peer(ctx, args.bootstrap);
  const browser = new LobbyBrowser({ game: args.game, gameVersion: '1', dht, client, scan: { beaconTimeoutMs: 1500, lookupTimeoutMs: 8000 } });
  try {
    const result = await browser.refresh();
    return { lobbies: result.lobbies.map((l) => ({ name: l.name, source: l.source, publicKey: l.publicKey.z32 })), stats: result.stats };
  } finally {
    await browser.close();
  }
}
