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
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/** The peer id the stand-in assigns (any id ≥ 2 works; a fixed one lets the game check it). */
export const STANDIN_PEER_ID = 424242;

export class GodotWebSocketStandIn {
  /** Clients that completed the handshake and got their id. */
  accepted = 0;
  /** Connections the refusing server dropped after the handshake. */
  refused = 0;
  readonly #ws: WebSocketServer;
  readonly #refusing: WebSocketServer;

  private constructor(ws: WebSocketServer, refusing: WebSocketServer) {
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
      socket.terminate();
    });
  }

  static async start(): Promise<GodotWebSocketStandIn> {
    const listen = async (): Promise<WebSocketServer> => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      return server;
    };
    return new GodotWebSocketStandIn(await listen(), await listen());
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
    for (const server of [this.#ws, this.#refusing]) {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
