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
import { EventEmitter } from 'node:events';
import { PkarrError } from '../core/errors.ts';
import type { PunchPath } from './punch-path.ts';
import { GameLink, LOOPBACK, type TunnelEndReason, type TunnelLink, type TunnelStats } from './tunnel-link.ts';
import type { UdpAddress } from './udp-channel.ts';

export { MAX_GAME_DATAGRAM, type TunnelEndReason, type TunnelLink, type TunnelStats } from './tunnel-link.ts';

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
