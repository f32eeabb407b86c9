/**
 * One link of the game tunnel (game-tunnel.ts): a UDP socket on 127.0.0.1:<ephemeral> relaying
 * datagrams, unchanged and one for one, between the local game and one PunchPath. The local game
 * is either fixed (host: its ENet server at 127.0.0.1:gamePort) or learned from the first local
 * sender (joiner: its ENet client). Datagrams over MAX_GAME_DATAGRAM, empty ones, and those from
 * any other local sender are dropped and counted.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
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

/** The only address the tunnel binds to or sends to. */
export const LOOPBACK = '127.0.0.1';

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
export class GameLink implements TunnelLink {
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
    // No completion callback per datagram; a failed local send is a lost datagram, as UDP allows.
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

