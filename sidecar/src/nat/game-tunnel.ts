/**
 * The game tunnel (docs/nat.md §3): carries Godot's ENet datagrams through a punched path.
 *
 * Godot's ENet only ever talks to 127.0.0.1. Each side of a punched path gets one local UDP socket
 * on 127.0.0.1:<ephemeral> that relays datagrams, unchanged and one for one, between the local
 * game and the path:
 * - host (`HostTunnel`): one socket per joined player; path data goes to the host's ENet server at
 *   127.0.0.1:gamePort, so the server sees every remote player as its own local peer
 *   127.0.0.1:<that socket's port>; what the server sends back to that socket goes into the path.
 * - joiner (`JoinTunnel`): one socket whose port the game connects to
 *   (`ENetMultiplayerPeer.create_client("127.0.0.1", localPort)`); the first local sender is the
 *   ENet client, everything from the path goes to it.
 *
 * Nothing is fragmented or merged: a datagram over MAX_GAME_DATAGRAM is dropped and counted, and so
 * is every datagram from a local sender other than the game. The tunnel only ever sends to
 * loopback addresses it was given or learned, never anywhere a datagram names.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { PkarrError } from '../core/errors.ts';
import { MAX_DATA_BYTES } from './punch-frames.ts';
import type { PathEndReason, PunchPath } from './punch-path.ts';
import type { UdpAddress } from './udp-channel.ts';

/**
 * Largest game datagram carried: ENet's default MTU (ENET_HOST_DEFAULT_MTU, 1400 bytes of UDP
 * payload), the same bound as a DATA frame's payload.
 */
export const MAX_GAME_DATAGRAM = MAX_DATA_BYTES;

/** Path datagrams held while a player's local socket is still opening (more are dropped and counted). */
const OPENING_QUEUE = 32;

/** Socket buffer sizes, as ENet's own (ENET_HOST_RECEIVE/SEND_BUFFER_SIZE); the kernel may cap them. */
const SOCKET_BUFFER = 256 * 1024;

const LOOPBACK = '127.0.0.1';

/** Why a tunnel link ended: its path ended (PathEndReason), or its local socket failed. */
export type TunnelEndReason = PathEndReason | 'local-error';

/** Counters of one link (one local socket ↔ one path). */
export interface TunnelStats {
  /** Datagrams (and their bytes) read from the local game and sent into the path. */
  toPathPackets: number;
  toPathBytes: number;
  /** Datagrams (and their bytes) from the path delivered to the local game. */
  toGamePackets: number;
  toGameBytes: number;
  /** Local game datagrams over MAX_GAME_DATAGRAM, dropped. */
  oversizeFromGame: number;
  /** Empty local datagrams (ENet never sends one; a DATA frame cannot carry one), dropped. */
  emptyFromGame: number;
  /** Path datagrams over MAX_GAME_DATAGRAM, dropped. */
  oversizeFromPath: number;
  /** Datagrams on the local socket from anyone but the game, dropped. */
  foreign: number;
  /** Path datagrams with nowhere to go: before the joiner's ENet client spoke, or over the opening queue. */
  undeliverable: number;
  /** Datagrams the path refused (its send threw). */
  pathErrors: number;
}

function zeroStats(): TunnelStats {
  return {
    toPathPackets: 0, toPathBytes: 0, toGamePackets: 0, toGameBytes: 0,
    oversizeFromGame: 0, emptyFromGame: 0, oversizeFromPath: 0, foreign: 0, undeliverable: 0, pathErrors: 0,
  };
}

/** One local socket relaying to one path, as seen from outside. */
export interface TunnelLink {
  /** The path's remote side (its public address). */
  readonly remote: UdpAddress;
  /** The local socket's port on 127.0.0.1. */
  readonly localPort: number;
  /** Where path data goes locally: the game (host: its ENet server; joiner: its ENet client once it spoke). */
  readonly game: UdpAddress | null;
  /** Live counters. */
  readonly stats: Readonly<TunnelStats>;
  /** Why the link ended, or null while it runs. */
  readonly ended: TunnelEndReason | null;
  /** Ends the link: closes the path (telling the remote side) and the local socket. */
  close(): void;
}

/**
 * dgram's name lookup, replaced: the tunnel only ever binds and sends to 127.0.0.1 literals, so it
 * answers at once (no DNS, no extra tick per datagram) and refuses anything else.
 */
function loopbackLookup(hostname: string, _options: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  if (hostname === LOOPBACK) callback(null, LOOPBACK, 4);
  else callback(new PkarrError('INVALID_ARGUMENT', `game tunnel: ${JSON.stringify(hostname)} is not ${LOOPBACK}`), '', 4);
}

/** Opens a UDP socket on 127.0.0.1:<ephemeral>; IO_ERROR when that fails. */
async function openLoopbackSocket(): Promise<Socket> {
  // The lookup's parameter types differ between @types/node overloads; the function above matches dgram's calls.
  const socket = createSocket({ type: 'udp4', lookup: loopbackLookup as never });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.off('listening', onListening);
      socket.close();
      reject(new PkarrError('IO_ERROR', `game tunnel: cannot open a UDP socket on ${LOOPBACK}: ${err.message}`, undefined, { cause: err }));
    };
    const onListening = (): void => {
      socket.off('error', onError);
      resolve();
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port: 0, address: LOOPBACK, exclusive: true });
  });
  try {
    socket.setRecvBufferSize(SOCKET_BUFFER);
    socket.setSendBufferSize(SOCKET_BUFFER);
  } catch {
    // The kernel's limits stay in force; the link works with its default buffers.
  }
  return socket;
}

/**
 * One local socket ↔ one path. `game` fixed (host: the ENet server) or null (joiner: learned from
 * the first local sender). Created through `GameLink.open`.
 */
class GameLink implements TunnelLink {
  readonly remote: UdpAddress;
  readonly stats: TunnelStats = zeroStats();
  #localPort = 0;
  #game: UdpAddress | null;
  #socket: Socket | null = null;
  /** Path data that arrived while the socket was opening (null once open). */
  #opening: Buffer[] | null = [];
  #ended: TunnelEndReason | null = null;
  readonly #path: PunchPath;
  readonly #onEnded: (link: GameLink, reason: TunnelEndReason) => void;
  readonly #offData: () => void;
  readonly #offEnd: () => void;

  private constructor(path: PunchPath, game: UdpAddress | null, onEnded: (link: GameLink, reason: TunnelEndReason) => void) {
    this.#path = path;
    this.remote = { host: path.remote.host, port: path.remote.port };
    this.#game = game;
    this.#onEnded = onEnded;
    // Listen at once: the first datagram (ENet's CONNECT) may come while the socket opens.
    this.#offData = path.onData((payload) => this.#fromPath(payload));
    this.#offEnd = path.onEnd((reason) => this.#end(reason, false));
  }

  /** Opens the local socket for `path`; on failure the path is left as it was (handlers removed). */
  static async open(path: PunchPath, game: UdpAddress | null, onEnded: (link: GameLink, reason: TunnelEndReason) => void): Promise<GameLink> {
    const link = new GameLink(path, game, onEnded);
    let socket: Socket;
    try {
      socket = await openLoopbackSocket();
    } catch (err) {
      link.#offData();
      link.#offEnd();
      throw err;
    }
    if (link.#ended !== null) {
      // The path ended while the socket opened.
      socket.close();
      return link;
    }
    link.#socket = socket;
    link.#localPort = socket.address().port;
    socket.on('message', (msg: Buffer, from: RemoteInfo) => link.#fromGame(msg, from));
    socket.on('error', () => link.#end('local-error', true));
    const queued = link.#opening ?? [];
    link.#opening = null;
    for (const payload of queued) link.#fromPath(payload);
    return link;
  }

  get localPort(): number {
    return this.#localPort;
  }

  get game(): UdpAddress | null {
    return this.#game;
  }

  get ended(): TunnelEndReason | null {
    return this.#ended;
  }

  close(): void {
    this.#end('closed', true);
  }

  #fromGame(msg: Buffer, from: RemoteInfo): void {
    const stats = this.stats;
    let game = this.#game;
    if (game === null) {
      // Joiner: the first local sender is the ENet client (the socket is bound to loopback only).
      game = { host: from.address, port: from.port };
      this.#game = game;
    } else if (from.port !== game.port || from.address !== game.host) {
      stats.foreign++;
      return;
    }
    if (msg.length > MAX_GAME_DATAGRAM) {
      stats.oversizeFromGame++;
      return;
    }
    if (msg.length === 0) {
      stats.emptyFromGame++;
      return;
    }
    try {
      this.#path.send(msg);
    } catch {
      stats.pathErrors++;
      return;
    }
    stats.toPathPackets++;
    stats.toPathBytes += msg.length;
  }

  #fromPath(payload: Buffer): void {
    if (this.#ended !== null) return;
    const stats = this.stats;
    if (payload.length > MAX_GAME_DATAGRAM) {
      stats.oversizeFromPath++;
      return;
    }
    const opening = this.#opening;
    if (opening !== null) {
      if (opening.length < OPENING_QUEUE) opening.push(payload);
      else stats.undeliverable++;
      return;
    }
    const game = this.#game;
    if (game === null || this.#socket === null) {
      stats.undeliverable++;
      return;
    }
    // No callback: no per-datagram request object; a failed local send is a lost datagram, as UDP allows.
    this.#socket.send(payload, game.port, game.host);
    stats.toGamePackets++;
    stats.toGameBytes += payload.length;
  }

  #end(reason: TunnelEndReason, closePath: boolean): void {
    if (this.#ended !== null) return;
    this.#ended = reason;
    this.#opening = null;
    this.#offData();
    this.#offEnd();
    if (closePath) {
      try {
        this.#path.close();
      } catch {
        // Ending anyway: the local side is gone.
      }
    }
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      socket.removeAllListeners('message');
      socket.on('error', () => undefined);
      socket.close();
    }
    this.#onEnded(this, reason);
  }
}

export interface HostTunnelOptions {
  /** The host's ENet server port on 127.0.0.1 (`ENetMultiplayerPeer.create_server(gamePort)`). */
  gamePort: number;
}

type HostTunnelEvents = {
  /** A player's link ended (its path ended, its socket failed, or it was closed); final counters in `player.stats`. */
  'player-ended': [player: TunnelLink, reason: TunnelEndReason];
};

/** Host side: one local socket per joined player, relaying to the ENet server at 127.0.0.1:gamePort. */
export class HostTunnel extends EventEmitter<HostTunnelEvents> {
  readonly gamePort: number;
  readonly #links = new Set<GameLink>();
  readonly #paths = new Set<PunchPath>();
  #closed = false;

  constructor(options: HostTunnelOptions) {
    super();
    const port = options?.gamePort;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new PkarrError('INVALID_ARGUMENT', `game tunnel: gamePort must be an integer 1..65535 (got ${JSON.stringify(port)})`);
    }
    this.gamePort = port;
  }

  /**
   * Starts carrying `path` (one joined player): opens its local socket and returns its link, whose
   * `localPort` is the port the ENet server sees this player come from.
   */
  async addPlayer(path: PunchPath): Promise<TunnelLink> {
    if (this.#closed) throw new PkarrError('INVALID_ARGUMENT', 'game tunnel: the host tunnel is closed');
    if (this.#paths.has(path)) throw new PkarrError('INVALID_ARGUMENT', 'game tunnel: this path is already carried');
    this.#paths.add(path);
    let link: GameLink;
    try {
      link = await GameLink.open(path, { host: LOOPBACK, port: this.gamePort }, (l, reason) => {
        this.#links.delete(l);
        this.#paths.delete(path);
        this.emit('player-ended', l, reason);
      });
    } catch (err) {
      this.#paths.delete(path);
      throw err;
    }
    if (link.ended === null) {
      this.#links.add(link);
      if (this.#closed) link.close();
    }
    return link;
  }

  /** The players being carried. */
  get players(): TunnelLink[] {
    return [...this.#links];
  }

  /** Ends every player's link (closing their paths) and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const link of [...this.#links]) link.close();
  }
}

type JoinTunnelEvents = {
  /** The link ended: the path ended (reason from the path), the local socket failed, or close() was called ('closed'). */
  lost: [reason: TunnelEndReason];
};

/** Joiner side: one local socket the game's ENet client connects to, relaying to the host through the path. */
export class JoinTunnel extends EventEmitter<JoinTunnelEvents> {
  readonly #link: GameLink;

  private constructor(link: GameLink) {
    super();
    this.#link = link;
  }

  /** Opens the local socket for `path`; the game then calls `create_client("127.0.0.1", tunnel.localPort)`. */
  static async open(path: PunchPath): Promise<JoinTunnel> {
    let tunnel: JoinTunnel | null = null;
    const link = await GameLink.open(path, null, (_l, reason) => {
      tunnel?.emit('lost', reason);
    });
    const opened = new JoinTunnel(link);
    tunnel = opened;
    const early = link.ended;
    if (early !== null) {
      // The path ended while the socket opened: reported on the next tick, so that a listener
      // attached right after open() hears it.
      process.nextTick(() => opened.emit('lost', early));
    }
    return opened;
  }

  /** The port on 127.0.0.1 the game's ENet client connects to. */
  get localPort(): number {
    return this.#link.localPort;
  }

  /** The host's public address (the path's remote side). */
  get remote(): UdpAddress {
    return this.#link.remote;
  }

  /** The ENet client's local address once it sent its first datagram. */
  get gameClient(): UdpAddress | null {
    return this.#link.game;
  }

  get stats(): Readonly<TunnelStats> {
    return this.#link.stats;
  }

  get ended(): TunnelEndReason | null {
    return this.#link.ended;
  }

  /** Ends the link: closes the path and the local socket; `lost` is emitted with 'closed'. */
  close(): void {
    this.#link.close();
  }
}
