/**
 * A Node stand-in for a Godot game server, for engine suites that join from the web build (which
 * cannot host). It speaks exactly what Godot 4's WebSocketMultiplayerPeer server sends a client:
 * after the WebSocket handshake, one binary frame of 4 bytes, the client's peer id as a
 * little-endian int32 (≥ 2); the client counts as connected once it has it
 * (modules/websocket/websocket_multiplayer_peer.cpp, `_poll_client`). Later frames would be
 * SceneMultiplayer packets; the stand-in sends none. A second server plays a full one with
 * `refuse_new_connections`: as Godot 4's `_poll_server` does, it completes the WebSocket handshake,
 * then drops the connection without sending an id (the pending peer goes out of scope), so the
 * client never becomes connected.
 *
 * Two more play a PkarrLobbyHost's game server, whose PkarrMultiServerPeer admits each player
 * (addons/pkarr/lobby/pkarr_lobby_admission.gd, docs/lobby.md §4.1): after the id, one binary
 * frame `pkarr-admit/1 ok`; the player answers `pkarr-admit/1 ack`, then the server sends a
 * SceneMultiplayer raw packet (command byte 3, NETWORK_COMMAND_RAW, then `hi`) as a game would.
 * The full one sends `pkarr-admit/1 refuse LOBBY_FULL` instead and closes the connection after
 * 500 ms (within the multiplexer's 2 s refusal grace), as a full lobby does.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** The peer id the stand-in assigns (any id ≥ 2 works; a fixed one lets the game check it). */
export const STANDIN_PEER_ID = 424242;
/** The admission handshake (pkarr_lobby_admission.gd). */
const ADMIT = 'pkarr-admit/1 ok';
const ACK = 'pkarr-admit/1 ack';
const REFUSE_FULL = 'pkarr-admit/1 refuse LOBBY_FULL';
/** The game packet sent after the ack: SceneMultiplayer NETWORK_COMMAND_RAW (3) + "hi". */
export const STANDIN_GAME_PACKET = Buffer.from([3, 0x68, 0x69]);

export class GodotWebSocketStandIn {
  /** Clients that completed the handshake and got their id. */
  accepted = 0;
  /** Connections the refusing server dropped after the handshake. */
  refused = 0;
  /** Players that acknowledged their admission (the admitting server). */
  acks = 0;
  /** Players the full server refused with LOBBY_FULL. */
  refusedFull = 0;
  /** Anything the admitting server received other than the ack, as text. */
  readonly unexpected: string[] = [];
  readonly #ws: WebSocketServer;
  readonly #refusing: WebSocketServer;
  readonly #admitting: WebSocketServer;
  readonly #full: WebSocketServer;

  private constructor(ws: WebSocketServer, refusing: WebSocketServer, admitting: WebSocketServer, full: WebSocketServer) {
    this.#ws = ws;
    this.#refusing = refusing;
    this.#admitting = admitting;
    this.#full = full;
    const sendId = (socket: WebSocket): void => {
      const id = Buffer.alloc(4);
      id.writeInt32LE(STANDIN_PEER_ID, 0);
      socket.send(id, { binary: true });
    };
    admitting.on('connection', (socket) => {
      sendId(socket);
      socket.send(Buffer.from(ADMIT), { binary: true });
      socket.on('message', (data: Buffer) => {
        if (data.toString() === ACK) {
          this.acks++;
          socket.send(STANDIN_GAME_PACKET, { binary: true });
        } else {
          this.unexpected.push(data.toString('hex'));
        }
      });
    });
    full.on('connection', (socket) => {
      this.refusedFull++;
      sendId(socket);
      socket.send(Buffer.from(REFUSE_FULL), { binary: true });
      setTimeout(() => socket.close(), 500).unref();
    });
    ws.on('connection', (socket) => {
      this.accepted++;
      sendId(socket);
    });
    refusing.on('connection', (socket) => {
      this.refused++;
      socket.terminate();
    });
  }

  static async start(): Promise<GodotWebSocketStandIn> {
    const listen = async (): Promise<WebSocketServer> => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      return server;
    };
    return new GodotWebSocketStandIn(await listen(), await listen(), await listen(), await listen());
  }

  /** What the game reads from its live configuration. */
  get config(): { port: number; refusing_port: number; admitting_port: number; full_port: number; peer_id: number } {
    return {
      port: (this.#ws.address() as AddressInfo).port,
      refusing_port: (this.#refusing.address() as AddressInfo).port,
      admitting_port: (this.#admitting.address() as AddressInfo).port,
      full_port: (this.#full.address() as AddressInfo).port,
      peer_id: STANDIN_PEER_ID,
    };
  }

  async close(): Promise<void> {
    for (const server of [this.#ws, this.#refusing, this.#admitting, this.#full]) {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
