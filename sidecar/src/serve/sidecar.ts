/**
 * One running sidecar: key store + (lazy) DHT node + pkarr client + republisher behind the
 * JSON-RPC WebSocket server. `Sidecar.start` returns as soon as the server listens (the DHT keeps
 * bootstrapping and announces itself with the `dht.ready` notification); `stop` tears everything
 * down in order: clients (close 1001), the local relay, port mappings, lobbies, republisher, client, DHT, local testnet.
 */
import { isPkarrError } from '../core/errors.ts';
import { isLoopbackHostPort } from '../core/loopback-guard.ts';
import { nowMicros } from '../core/timestamp.ts';
import { Client } from '../client/client.ts';
import { Republisher } from '../client/republisher.ts';
import { DhtClient } from '../dht/dht-client.ts';
import { Testnet } from '../dht/testnet.ts';
import { KeyStore } from '../keystore/key-store.ts';
import { LobbyService, topicDhtOf } from '../lobby/lobby-service.ts';
import { LanDiscovery } from '../lan/lan-discovery.ts';
import { NatService, type NatEvent } from '../nat/nat-service.ts';
import { PortMapperService } from '../nat/port-mapper-service.ts';
import { LazyDht } from './lazy-dht.ts';
import { keepOwnPacket, startLocalRelay, type LocalRelayState } from './local-relay.ts';
import type { Logger } from '../util/log.ts';
import { createMethodDispatcher, type RpcContext, type RpcServices } from '../rpc/methods.ts';
import { registerLobbyMethods } from '../rpc/lobby-methods.ts';
import { lobbyNatHooks, registerJoinMethods } from '../rpc/lobby-nat.ts';
import { mappingToJson, registerNatMethods } from '../rpc/nat-methods.ts';
import { RpcServer, type RpcConnection } from '../rpc/rpc-server.ts';
import type { ServeOptions } from './serve-options.ts';

export interface SidecarDeps {
  token: string;
  version: string;
  log: Logger;
  /** Called when a client asked for `shutdown`. */
  onShutdownRequested: () => void;
}

export class Sidecar {
  readonly server: RpcServer<RpcContext>;
  readonly services: RpcServices;
  readonly #log: Logger;
  readonly #testnet: Testnet | null;
  readonly #dht: LazyDht<DhtClient> | null;
  readonly #client: Client | null;
  readonly #republisher: Republisher | null;
  readonly #lobbies: LobbyService;
  readonly #nat: PortMapperService;
  readonly #traversal: NatService | null;
  readonly #lan: LanDiscovery | null;
  readonly #localRelay: LocalRelayState;
  #stopping: Promise<void> | null = null;

  private constructor(parts: {
    server: RpcServer<RpcContext>; services: RpcServices; log: Logger; testnet: Testnet | null;
    dht: LazyDht<DhtClient> | null; client: Client | null; republisher: Republisher | null; lobbies: LobbyService;
    nat: PortMapperService; traversal: NatService | null; lan: LanDiscovery | null; localRelay: LocalRelayState;
  }) {
    this.server = parts.server;
    this.services = parts.services;
    this.#log = parts.log;
    this.#testnet = parts.testnet;
    this.#dht = parts.dht;
    this.#client = parts.client;
    this.#republisher = parts.republisher;
    this.#lobbies = parts.lobbies;
    this.#nat = parts.nat;
    this.#traversal = parts.traversal;
    this.#lan = parts.lan;
    this.#localRelay = parts.localRelay;
  }

  /** Opens the key store, starts the network parts and listens. */
  static async start(options: ServeOptions, deps: SidecarDeps): Promise<Sidecar> {
    const { log } = deps;
    const keys = await KeyStore.open(options.dataDir);
    const testnet = options.testnet !== null ? await Testnet.create(options.testnet) : null;
    let dht: LazyDht<DhtClient> | null = null;
    let client: Client | null = null;
    let republisher: Republisher | null = null;
    let server: RpcServer<RpcContext> | null = null;
    let traversal: NatService | null = null;
    let lan: LanDiscovery | null = null;
    let localRelay: LocalRelayState = { url: null, reason: 'off (--no-local-relay)' };
    let local = false;
    try {
      if (!options.noDht) {
        const bootstrap = testnet ? testnet.bootstrap : options.bootstrap.length > 0 ? options.bootstrap : undefined;
        local = bootstrap !== undefined && bootstrap.every(isLoopbackHostPort);
        dht = new LazyDht(DhtClient.start({
          ...(bootstrap ? { bootstrap } : {}),
          host: local ? '127.0.0.1' : '0.0.0.0',
          ...(options.timeoutMs === null ? {} : { timeoutMs: options.timeoutMs }),
        }));
      }
      const relays = options.relays;
      const lastRepublished = new Map<string, bigint>();
      const broadcast = (method: string, params: unknown): void => server?.broadcast(method, params);
      if (dht !== null || relays.length > 0) {
        client = new Client({
          dht, relays, ...(options.timeoutMs === null ? {} : { requestTimeoutMs: options.timeoutMs }),
          // Our own packets reach the local relay (started below) at once, not after its cache expires.
          onPublished: (packet) => keepOwnPacket(localRelay, packet, (line) => log.warn(line)),
        });
        republisher = new Republisher({
          client,
          ...(options.republishIntervalSeconds === null ? {} : { intervalMs: options.republishIntervalSeconds * 1000 }),
          onRepublished: (key, outcome) => {
            lastRepublished.set(key, nowMicros());
            broadcast('record.republished', { publicKey: key, timestamp: outcome.timestamp ?? null, storedOn: outcome.result?.storedOn ?? 0 });
          },
          onError: (key, error) => {
            log.warn(`republish of ${key} failed: ${error.message}`);
            broadcast('record.republish_failed', { publicKey: key, error: error.message, code: error.code });
          },
        });
        republisher.start();
      }
      // Router port mappings (docs/rpc.md "Port mapping"): renewed by the sidecar, removed when it stops.
      const nat = new PortMapperService({
        onEvent: (event) => {
          if (event.type === 'renew-failed') log.warn(`renewing the ${event.mapping.protocol} ${event.mapping.internalPort} port mapping failed: ${event.error.message}`);
          broadcast(`nat.mapping_${event.type === 'renew-failed' ? 'renew_failed' : event.type}`, {
            mapping: mappingToJson(event.mapping), ...(event.type === 'renew-failed' ? { error: event.error.message, code: event.error.code } : {}),
          });
        },
      });

      // NAT traversal (docs/nat.md): the punch socket, its reachability, mapping and punching for lobbies.
      if (dht !== null && !options.noNat) {
        const lazy = dht;
        traversal = await NatService.start({
          dht: () => lazy.current,
          mapper: nat,
          bindHost: local ? '127.0.0.1' : '0.0.0.0',
          punchPort: options.punchPort,
          onEvent: (event) => natEvent(event, log, broadcast),
        });
      }
      // LAN lobby discovery (docs/lobby.md §8): also with no DHT and no relay (a LAN party offline).
      if (!options.noLan) {
        lan = await LanDiscovery.start(options.lanIntervalSeconds === null ? {} : { announceIntervalMs: options.lanIntervalSeconds * 1000 });
        const st = lan.status();
        if (lan.active) log.info(`LAN lobby discovery on ${st.sockets.v4.join(', ')}${st.sockets.v6.length > 0 ? ` and IPv6 link-local on ${st.sockets.v6.join(', ')}` : ` (no IPv6: ${st.sockets.ipv6Error ?? 'off'})`}`);
        else log.info(`LAN lobby discovery off: ${st.reason ?? 'no socket'}`);
      }
      // The local pkarr relay web apps try first (serve/local-relay.ts): over this sidecar's DHT.
      if (options.localRelayPort !== null) {
        if (dht === null) localRelay = { url: null, reason: 'off (no DHT)' };
        else {
          localRelay = await startLocalRelay({ port: options.localRelayPort, dht, log: (line) => log.warn(line) });
          if (localRelay.url !== null) log.info(`local pkarr relay on ${localRelay.url}`);
          else log.info(`no local pkarr relay: ${localRelay.reason}`);
        }
      }
      // Lobby watches notify the connection that created them and end with it (docs/rpc.md "Lobbies").
      const lobbies = new LobbyService({
        keys, client, dht: dht === null ? null : topicDhtOf(dht), maxWatches: 32, lan,
        onError: (key, what, err) => log.warn(`lobby ${key}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`),
      });
      const services: RpcServices = {
        version: deps.version,
        pid: process.pid,
        dataDir: options.dataDir,
        startedAt: Date.now(),
        keys,
        client,
        dht: () => ({
          enabled: dht !== null,
          ready: dht?.ready ?? false,
          nodes: dht?.nodeCount ?? 0,
          ...(testnet ? { testnet: testnet.bootstrap } : {}),
        }),
        relays,
        republisher,
        lastRepublished,
        ...(traversal === null ? {} : { nat: () => traversal!.status() }),
        lan: () => (lan === null ? { enabled: false, reason: 'off (--no-lan)' } : lan.status()),
        localRelay: () => (localRelay.url !== null ? { url: localRelay.url } : { url: null, reason: localRelay.reason }),
        shutdown: deps.onShutdownRequested,
      };
      const dispatcher = createMethodDispatcher<RpcContext>({
        onInternalError: (method, err) => log.error(`${method}: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
      });
      const natHooks = traversal === null ? null : lobbyNatHooks(traversal, (name) => keys.get(name));
      registerLobbyMethods(dispatcher, (ctx) => ({ lobbies, connection: ctx.connection, broadcast, nat: natHooks }));
      registerNatMethods(dispatcher, () => ({ nat }));
      registerJoinMethods(dispatcher, () => ({ lobbies, nat: traversal }));
      const onConnect = (connection: RpcConnection): void => {
        if (dht?.ready) connection.notify('dht.ready', { nodes: dht.nodeCount });
      };
      server = await RpcServer.start({
        port: options.port,
        token: deps.token,
        allowOrigins: options.allowOrigins,
        ...(options.heartbeatIntervalSeconds === null ? {} : { heartbeatIntervalMs: options.heartbeatIntervalSeconds === 0 ? null : options.heartbeatIntervalSeconds * 1000 }),
        dispatcher,
        contextFor: (connection) => ({ ...services, connection }),
        log,
        onConnect,
        onDisconnect: (connection) => {
          lobbies.dropConnection(connection.id).catch((err: unknown) => log.warn(`ending the lobby watches of client #${connection.id}: ${String(err)}`));
        },
      });
      const sidecar = new Sidecar({ server, services, log, testnet, dht, client, republisher, lobbies, nat, traversal, lan, localRelay });
      dht?.started().then(
        (node) => {
          if (sidecar.#stopping) return;
          if (node.nodeCount === 0) log.warn('DHT bootstrap finished with no nodes: publishing and resolving over the DHT will fail');
          else log.info(`DHT ready with ${node.nodeCount} nodes`);
          // The punch socket's reachability can be learnt now (status().nat, lobby.host).
          if (node.nodeCount > 0) traversal?.reachability.refresh().catch(() => undefined);
          broadcast('dht.ready', { nodes: node.nodeCount });
        },
        (err: unknown) => log.error(`DHT failed to start: ${err instanceof Error ? err.message : String(err)}`),
      );
      return sidecar;
    } catch (err) {
      await server?.close().catch(() => undefined);
      await traversal?.close().catch(() => undefined);
      await lan?.close().catch(() => undefined);
      if (localRelay.url !== null) await localRelay.relay.close().catch(() => undefined);
      await republisher?.stop().catch(() => undefined);
      await client?.close().catch(() => undefined);
      await dht?.destroy().catch(() => undefined);
      await testnet?.destroy().catch(() => undefined);
      throw err;
    }
  }

  /** The bound RPC port. */
  get port(): number {
    return this.server.port;
  }

  /** Stops everything (idempotent; concurrent calls share one stop). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const step = async (what: string, work: () => Promise<void> | undefined): Promise<void> => {
      try {
        await work();
      } catch (err) {
        this.#log.warn(`stopping ${what}: ${isPkarrError(err) || err instanceof Error ? err.message : String(err)}`);
      }
    };
    await step('rpc server', () => this.server.close());
    const relay = this.#localRelay;
    await step('local relay', () => (relay.url !== null ? relay.relay.close() : undefined));
    // Mappings first: a few LAN round trips, done well within the stop deadline (serve-command.ts).
    await step('nat traversal', () => this.#traversal?.close());
    await step('port mappings', async () => {
      for (const error of await this.#nat.close()) this.#log.warn(`removing a port mapping: ${error}`);
    });
    await step('lobbies', () => this.#lobbies.shutdown());
    await step('lan discovery', () => this.#lan?.close()); // after the lobbies' goodbyes
    await step('republisher', () => this.#republisher?.stop());
    await step('client', () => this.#client?.close());
    await step('dht', () => this.#dht?.destroy());
    await step('testnet', () => this.#testnet?.destroy());
  }
}

/** Logs a NAT traversal event and tells the clients (docs/rpc.md "Reaching hosts behind NAT"). */
function natEvent(event: NatEvent, log: Logger, broadcast: (method: string, params: unknown) => void): void {
  switch (event.type) {
    case 'mapping-failed':
      log.info(`no router mapping for UDP ${event.port}: ${event.error}`);
      return;
    case 'joiner-seen':
      if (log.enabled('debug')) log.debug(`lobby ${event.key} (${event.publicKey}): joiner ${event.remote} in the rendezvous${event.probing ? ', probing' : ' (probing or connected already)'}; punch ${JSON.stringify(event.stats)}; rendezvous ${JSON.stringify(event.watcher)}`);
      return;
    case 'rendezvous-lookup':
      log.debug(`lobby ${event.key} (${event.publicKey}): rendezvous lookup of window ${event.window}: ${event.peers} peers in ${event.ms} ms${event.error === undefined ? '' : ` (failed: ${event.error})`}`);
      return;
    case 'punch-started':
      log.debug(`joining lobby ${event.key}: punching to ${event.hostAddress} (${event.hostNatType}); our NAT ${event.natType}, announcing port ${event.publicPort}`);
      return;
    case 'punch-announced':
      log.debug(`joining lobby ${event.key}: rendezvous announce ${event.error === undefined ? `stored on ${event.stored} nodes` : `failed (${event.error})`} in ${event.ms} ms`);
      return;
    case 'punch-ended':
      if (log.enabled('debug')) log.debug(`joining lobby ${event.key}: ${event.outcome}${event.details == null ? '' : ` ${JSON.stringify(event.details)}`}`);
      return;
    case 'player-joined':
      log.info(`lobby ${event.key}: a player joined through a punched path from ${event.remote} (local port ${event.localPort})`);
      broadcast('lobby.player_joined', { key: event.key, remote: event.remote, localPort: event.localPort });
      return;
    case 'player-left':
      log.info(`lobby ${event.key}: the punched path from ${event.remote} ended (${event.reason})`);
      broadcast('lobby.player_left', { key: event.key, remote: event.remote, reason: event.reason });
      return;
    case 'path-lost':
      log.info(`punched path ${event.tunnelId} ended (${event.reason})`);
      broadcast('lobby.path_lost', { tunnelId: event.tunnelId, reason: event.reason });
  }
}
