/**
 * The sidecar's NAT traversal, composed (docs/nat.md): one punch socket (punch-socket.ts) whose
 * public address DHT-STUN keeps current (reachability.ts), the router's port mappings
 * (port-mapper-service.ts), and per hosted lobby a punch host (puncher-host.ts) feeding a host
 * tunnel (game-tunnel.ts); per join a punched path (puncher-joiner.ts) and a join tunnel.
 *
 * ```ts
 * const nat = await NatService.start({ dht, mapper });
 * const prepared = await nat.host('alice', keypair, { gamePort: 7777 });   // reach + endpoints to publish
 * const route = await nat.join(lobby, { transport: 'enet' });                // where the game's ENet connects
 * ```
 */
import { PkarrError } from '../core/errors.ts';
import type { Keypair } from '../core/keys.ts';
import type { Lobby } from '../lobby/lobby-record.ts';
import type { LobbyEndpoint } from '../lobby/lobby-endpoints.ts';
import { isPublicAddress } from '../lobby/host-address.ts';
import { HostTunnel, JoinTunnel } from './game-tunnel.ts';
import { localAddressTowards } from './local-address.ts';
import type { PortMapperService } from './port-mapper-service.ts';
import type { PortMapping } from './port-mapper.ts';
import { PunchHost, type PunchHostStats } from './puncher-host.ts';
import { punchToHost } from './puncher-joiner.ts';
import { PunchSocket } from './punch-socket.ts';
import { Reachability, natStatusJson, type NatStatusJson } from './reachability.ts';
import type { NatReport, NatType } from './nat-type.ts';
import type { RendezvousDht, RendezvousWatcherStats } from './rendezvous.ts';
import type { UdpAddress } from './udp-channel.ts';
import { splitHostPort } from '../util/peer-address.ts';
import { planJoin, type JoinPlan } from './join-plan.ts';

/** The DHT as the NAT service uses it (DhtClient, through the sidecar's LazyDht). */
export interface NatDht extends RendezvousDht {
  routingTable(): string[];
}

export interface NatServiceOptions {
  /** The DHT once started (null: no DHT, then nothing can be learnt or signalled). */
  dht: () => NatDht | null;
  mapper: PortMapperService | null;
  /** Punch socket bind address (default 0.0.0.0) and port (default 0: any). */
  bindHost?: string;
  punchPort?: number;
  /** Longest wait for a first reachability answer when hosting or joining (default 10 s). */
  reachabilityWaitMs?: number;
  /** Reachability re-probe interval, ms (default 5 min). */
  probeIntervalMs?: number;
  /** Background problems (a mapping that failed, a path that ended); never fatal. */
  onEvent?: (event: NatEvent) => void;
}

export type NatEvent =
  | { type: 'mapping-failed'; port: number; error: string }
  | { type: 'joiner-seen'; key: string; publicKey: string; remote: string; probing: boolean; stats: PunchHostStats; watcher: RendezvousWatcherStats | null }
  | { type: 'rendezvous-lookup'; key: string; publicKey: string; window: number; peers: number; ms: number; error?: string }
  | { type: 'punch-started'; key: string; hostAddress: string; publicPort: number; natType: NatType; hostNatType: NatType }
  | { type: 'punch-announced'; key: string; stored: number; ms: number; error?: string }
  | { type: 'punch-ended'; key: string; outcome: string; details: unknown }
  | { type: 'player-joined'; key: string; remote: string; localPort: number }
  | { type: 'player-left'; key: string; remote: string; reason: string }
  | { type: 'path-lost'; tunnelId: string; reason: string };

/** What a hosted lobby publishes about reaching it. */
export interface HostPreparation {
  reach: NatType;
  /** The address to advertise for the game's own endpoint (null: none is directly reachable). */
  address: string | null;
  /** The game port as seen from outside (a mapping may change it). */
  publicGamePort: number;
  /** Extra endpoints: `punch` (the punch socket's public address), `lan` (this machine on its LAN). */
  endpoints: LobbyEndpoint[];
}

/** Where the game connects to join. */
export interface JoinRoute {
  via: JoinPlan['via'];
  host: string;
  port: number;
  /** Set for a punched path: `lobby.leave` closes it. */
  tunnelId?: string;
}

interface HostedNat {
  punch: PunchHost | null;
  tunnel: HostTunnel | null;
  /** The game port's router mapping, removed on release. */
  gameMapping: PortMapping | null;
}

const DEFAULT_REACHABILITY_WAIT_MS = 10_000;
const MAPPING_SECONDS = 3600;

export class NatService {
  readonly socket: PunchSocket;
  readonly reachability: Reachability;
  readonly #options: NatServiceOptions;
  readonly #hosted = new Map<string, HostedNat>();
  readonly #joins = new Map<string, JoinTunnel>();
  #punchMapping: PortMapping | null = null;
  #nextTunnel = 1;
  #closed = false;

  private constructor(options: NatServiceOptions, socket: PunchSocket) {
    this.#options = options;
    this.socket = socket;
    this.reachability = new Reachability({
      channel: socket.krpc,
      nodes: () => options.dht()?.routingTable() ?? [],
      portMapping: () => {
        const m = this.#punchMapping;
        return m === null ? null : { externalHost: m.externalHost, externalPort: m.externalPort, via: m.via };
      },
      ...(options.probeIntervalMs === undefined ? {} : { intervalMs: options.probeIntervalMs }),
      // While unknown (the DHT still bootstrapping), ask again soon: 8 small pings.
      retryUnknownMs: 5_000,
    });
  }

  /** Binds the punch socket and starts watching reachability. */
  static async start(options: NatServiceOptions): Promise<NatService> {
    const socket = await PunchSocket.bind({ host: options.bindHost ?? '0.0.0.0', port: options.punchPort ?? 0 });
    const service = new NatService(options, socket);
    service.reachability.start();
    return service;
  }

  /** The `nat` part of the RPC status. */
  status(): NatStatusJson {
    return natStatusJson(this.reachability.snapshot());
  }

  /** The latest report, probing first (bounded) when there is none yet or it says unknown. */
  async report(waitMs = this.#options.reachabilityWaitMs ?? DEFAULT_REACHABILITY_WAIT_MS): Promise<NatReport> {
    const latest = this.reachability.latest();
    if (latest !== null && latest.type !== 'unknown') return latest;
    const deadline = Date.now() + waitMs;
    let report = latest;
    while (Date.now() < deadline && !this.#closed) {
      if (this.#options.dht() !== null) {
        try {
          report = await this.reachability.refresh();
          if (report.type !== 'unknown') return report;
        } catch {
          // a probe that failed is as good as unknown: wait and retry within the bound
        }
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, Math.max(0, deadline - Date.now()))));
    }
    if (report !== null) return report;
    throw new PkarrError('ADDRESS_UNKNOWN', `the public address of this host is unknown: no DHT node reported it within ${Math.round(waitMs / 1000)} s (is the DHT reachable?)`);
  }

  /**
   * Makes a lobby of `name` reachable: maps the game port and the punch socket on the router
   * (when `map`), learns how the host is reached, and (when `punch` and useful) starts taking
   * punched joiners into the game port. Throws ADDRESS_UNKNOWN when nothing is known in time.
   */
  async host(name: string, keypair: Keypair, options: { gamePort: number; map?: boolean; punch?: boolean }): Promise<HostPreparation> {
    this.#assertOpen();
    if (this.#hosted.has(name)) throw new PkarrError('INVALID_ARGUMENT', `key ${name} already hosts a lobby: close it first`);
    let gameMapping: PortMapping | null = null;
    if ((options.map ?? true) && this.#options.mapper !== null) {
      // In parallel: without a gateway both wait for the same discovery bound.
      [gameMapping] = await Promise.all([this.#map(options.gamePort, 'pkarr-godot game'), this.#mapPunchSocket()]);
    }
    let report: NatReport | null = null;
    try {
      report = await this.report();
    } catch (err) {
      if (gameMapping === null) throw err;
    }
    const prepared = describeHost(report, gameMapping, options.gamePort, this.socket.address().port);
    const lan = await this.#lanEndpoint(options.gamePort, [gameMapping?.externalHost, report?.publicHost].filter((h): h is string => typeof h === 'string'));
    if (lan !== null) prepared.endpoints.push(lan);
    const hosted: HostedNat = { punch: null, tunnel: null, gameMapping };
    if ((options.punch ?? true) && prepared.reach !== 'public' && prepared.reach !== 'mapped' && this.#options.dht() !== null) {
      const tunnel = new HostTunnel({ gamePort: options.gamePort });
      tunnel.on('player-ended', (link, reason) => this.#options.onEvent?.({ type: 'player-left', key: name, remote: `${link.remote.host}:${link.remote.port}`, reason }));
      hosted.tunnel = tunnel;
      const punch = new PunchHost({
        channel: this.socket.punch,
        keypair,
        dht: this.#options.dht() as NatDht,
        onFullLookup: (outcome) => this.#options.onEvent?.({ type: 'rendezvous-lookup', key: name, publicKey: keypair.publicKey.z32, ...outcome }),
        onCandidate: (address, probing) => this.#options.onEvent?.({
          type: 'joiner-seen', key: name, publicKey: keypair.publicKey.z32, remote: `${address.host}:${address.port}`, probing, stats: { ...punch.stats }, watcher: punch.watcherStats,
        }),
        onPath: (path) => {
          tunnel.addPlayer(path).then(
            (link) => this.#options.onEvent?.({ type: 'player-joined', key: name, remote: `${path.remote.host}:${path.remote.port}`, localPort: link.localPort }),
            () => path.close(),
          );
        },
      });
      hosted.punch = punch;
    }
    this.#hosted.set(name, hosted);
    return prepared;
  }

  /** Stops taking joiners for `name` and removes its game-port mapping. */
  async release(name: string): Promise<void> {
    const hosted = this.#hosted.get(name);
    if (hosted === undefined) return;
    this.#hosted.delete(name);
    hosted.tunnel?.close();
    await hosted.punch?.close();
    const m = hosted.gameMapping;
    if (m !== null) await this.#options.mapper?.unmap(m.protocol, m.internalPort).catch(() => false);
  }

  /** Opens the path to a lobby's host for `transport` and says where the game connects. */
  async join(lobby: Lobby, options: { transport?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<JoinRoute> {
    this.#assertOpen();
    const transport = options.transport ?? 'enet';
    const needsReport = lobby.reach === 'cone' || lobby.reach === 'symmetric' || lobby.endpoints.some((e) => e.transport === 'lan');
    const own = needsReport ? await this.report().catch(() => null) : this.reachability.latest();
    const plan = planJoin(lobby, transport, own);
    if (plan.via !== 'punched') return { via: plan.via, host: plan.host, port: plan.port };
    const dht = this.#options.dht();
    if (dht === null) throw new PkarrError('UNREACHABLE_NAT', 'the host is behind a NAT and joining it needs the DHT, which is off');
    // A router mapping of the punch socket is needed when this side cannot be punched (symmetric,
    // or not known yet) or the host cannot open towards a filtering NAT (a symmetric host): only
    // then is the discovery bound (up to 3 s without a gateway) worth waiting for.
    if (own === null || own.type === 'symmetric' || own.type === 'unknown' || lobby.reach === 'symmetric') await this.#mapPunchSocket();
    const me = this.reachability.latest() ?? own;
    // A symmetric NAT has no one public port: announce the local one (the host's probes then go
    // nowhere, but this side's direct HELLOs reach a host that accepts them).
    const reachable = me?.publicAddress ?? me?.observedAddress
      ?? (me?.type === 'symmetric' && me.publicHost !== null ? { host: me.publicHost, port: this.socket.address().port } : null);
    if (me === null || reachable === null) {
      throw new PkarrError('ADDRESS_UNKNOWN', 'cannot punch to the host: the public address of this machine is unknown (no DHT node reported it)');
    }
    const publicPort = reachable.port;
    const key = lobby.publicKey.z32;
    this.#options.onEvent?.({ type: 'punch-started', key, hostAddress: `${plan.host}:${plan.port}`, publicPort, natType: me.type, hostNatType: lobby.reach });
    const link = await punchToHost({
      channel: this.socket.punch,
      hostKey: lobby.publicKey,
      hostPunchAddress: { host: plan.host, port: plan.port },
      announce: { dht, publicPort },
      natType: me.type,
      hostNatType: lobby.reach,
      onAnnounced: (outcome) => this.#options.onEvent?.({ type: 'punch-announced', key, ...outcome }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }).catch((err: unknown) => {
      const outcome = err instanceof PkarrError ? `${err.code}: ${err.message}` : String(err);
      this.#options.onEvent?.({ type: 'punch-ended', key, outcome, details: err instanceof PkarrError ? err.details : null });
      throw err;
    });
    this.#options.onEvent?.({ type: 'punch-ended', key, outcome: `path to ${link.remote.host}:${link.remote.port}`, details: null });
    const tunnel = await JoinTunnel.open(link);
    const tunnelId = `t${this.#nextTunnel++}`;
    this.#joins.set(tunnelId, tunnel);
    tunnel.on('lost', (reason) => {
      this.#joins.delete(tunnelId);
      this.#options.onEvent?.({ type: 'path-lost', tunnelId, reason });
    });
    return { via: 'punched', host: '127.0.0.1', port: tunnel.localPort, tunnelId };
  }

  /** Closes a punched path opened by `join`; false when there is none with that id. */
  leave(tunnelId: string): boolean {
    const tunnel = this.#joins.get(tunnelId);
    if (tunnel === undefined) return false;
    this.#joins.delete(tunnelId);
    tunnel.close();
    return true;
  }

  /** Closes every path, punch host and mapping, then the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of [...this.#hosted.keys()]) await this.release(name);
    for (const id of [...this.#joins.keys()]) this.leave(id);
    this.reachability.close();
    if (this.#punchMapping !== null) await this.#options.mapper?.unmap('UDP', this.#punchMapping.internalPort).catch(() => false);
    await this.socket.close();
  }

  /** Maps the punch socket once (a mapped punch socket makes this side reachable for punching). */
  async #mapPunchSocket(): Promise<void> {
    if (this.#punchMapping !== null || this.#options.mapper === null) return;
    this.#punchMapping = await this.#map(this.socket.address().port, 'pkarr-godot punch');
    if (this.#punchMapping !== null) this.reachability.reclassify();
  }

  async #map(port: number, description: string): Promise<PortMapping | null> {
    try {
      return await this.#options.mapper!.map({ protocol: 'UDP', internalPort: port, externalPort: port, description, ttlSeconds: MAPPING_SECONDS });
    } catch (err) {
      this.#options.onEvent?.({ type: 'mapping-failed', port, error: err instanceof Error ? err.message : String(err) });
      return null;
    }
  }

  /** This machine's private address on the way out (towards the router's WAN side or a DHT node), as a `lan` endpoint. */
  async #lanEndpoint(gamePort: number, towards: readonly string[]): Promise<LobbyEndpoint | null> {
    const targets = [...towards, ...(this.#options.dht()?.routingTable().slice(0, 3) ?? [])];
    for (const target of targets) {
      const address = await localAddressTowards(splitHostPort(target) ?? { host: target, port: 9 });
      // Only a private address is worth publishing: a public one is the host's own endpoint already.
      if (address !== null) return isPublicAddress(address) ? null : { transport: 'lan', host: address, port: gamePort };
    }
    return null;
  }

  #assertOpen(): void {
    if (this.#closed) throw new PkarrError('INVALID_ARGUMENT', 'the NAT service is closed');
  }
}

/** How a host is reached, from its reachability report and the game port's router mapping. */
export function describeHost(report: NatReport | null, gameMapping: PortMapping | null, gamePort: number, punchPort: number): HostPreparation {
  // A symmetric NAT gives every destination another port: the IP is what joiners need (they
  // answer the host's probes wherever they come from); the local port is published as a hint.
  const punchAddress: UdpAddress | null = report?.publicAddress ?? report?.observedAddress
    ?? (report?.type === 'symmetric' && report.publicHost !== null ? { host: report.publicHost, port: punchPort } : null);
  const endpoints: LobbyEndpoint[] = [];
  if (gameMapping !== null && isPublicAddress(gameMapping.externalHost)) {
    return { reach: 'mapped', address: gameMapping.externalHost, publicGamePort: gameMapping.externalPort, endpoints };
  }
  if (report === null) throw new PkarrError('ADDRESS_UNKNOWN', 'the public address of this host is unknown');
  switch (report.type) {
    case 'public':
      return { reach: 'public', address: report.publicHost, publicGamePort: gamePort, endpoints };
    case 'mapped':
    case 'cone':
    case 'symmetric': {
      // `mapped` here is the punch socket's mapping only: the game port itself is not reachable.
      const reach: NatType = report.type === 'symmetric' ? 'symmetric' : 'cone';
      const host = report.publicHost ?? punchAddress?.host ?? null;
      if (host === null || punchAddress === null) throw new PkarrError('ADDRESS_UNKNOWN', 'the public address of this host is unknown: DHT nodes disagree');
      endpoints.push({ transport: 'punch', host, port: punchAddress.port });
      return { reach, address: null, publicGamePort: gamePort, endpoints };
    }
    case 'unknown':
      throw new PkarrError('ADDRESS_UNKNOWN', `the public address of this host is unknown: ${report.summary}`);
  }
}
