/**
 * A Node stand-in for a Godot game server, for engine suites that join from the web build (which
 * cannot host). It speaks exactly what Godot 4's WebSocketMultiplayerPeer server sends a client:
 * after the WebSocket handshake, one binary frame of 4 bytes, the client's peer id as a
 * little-endian int32 (≥ 2); the client counts as connected once it has it
 * (modules/websocket/websocket_multiplayer_peer.cpp, `_poll_client`). Later frames would be
 * SceneMultiplayer packets; the stand-in sends none. A second port plays a full server with
 * `refuse_new_connections`: it takes the TCP connection and drops it before the handshake.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/** The peer id the stand-in assigns (any id ≥ 2 works; a fixed one lets the game check it). */
export const STANDIN_PEER_ID = 424242;

export class GodotWebSocketStandIn {
  /** Clients that completed the handshake and got their id. */
  accepted = 0;
  /** Connections the refusing port dropped. */
  refused = 0;
  readonly #ws: WebSocketServer;
  readonly #refusing: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(ws: WebSocketServer, refusing: Server) {
    this.#ws = ws;
    this.#refusing = refusing;
    ws.on('connection', (socket) => {
      this.accepted++;
      const id = Buffer.alloc(4);
      id.writeInt32LE(STANDIN_PEER_ID, 0);
      socket.send(id, { binary: true });
    });
    refusing.on('connection', (socket) => {
      this.refused++;
      socket.destroy();
    });
  }

  static async start(): Promise<GodotWebSocketStandIn> {
    const ws = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => ws.once('listening', () => resolve()));
    const refusing = createServer();
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', () => resolve()));
    return new GodotWebSocketStandIn(ws, refusing);
  }

  /** What the game reads from its live configuration. */
  get config(): { port: number; refusing_port: number; peer_id: number } {
    return {
      port: (this.#ws.address() as AddressInfo).port,
      refusing_port: (this.#refusing.address() as AddressInfo).port,
      peer_id: STANDIN_PEER_ID,
    };
  }

  async close(): Promise<void> {
    for (const client of this.#ws.clients) client.terminate();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#ws.close(() => resolve()));
    await new Promise<void>((resolve) => this.#refusing.close(() => resolve()));
  }
}
