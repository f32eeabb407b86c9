/**
 * The JSON-RPC WebSocket server: loopback only, token-authenticated handshake (handshake.ts),
 * bounded in every direction (frame size, connections, in-flight requests, send buffer).
 *
 * Pitfalls of ws 8 it guards against, each seen in a measurement: every socket has an `error`
 * listener (an oversized frame otherwise crashed the process); a client that stops reading is
 * closed with 1013 once more than `maxBufferedBytes` wait to be sent; a client that stops answering
 * pings (its peer vanished without FIN/RST) is terminated so it does not hold a client slot
 * (heartbeat.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { RPC_SUBPROTOCOL, checkHandshake, normalizeOrigin, type HandshakePolicy } from './handshake.ts';
import { toJson } from '../util/json.ts';
import type { Dispatcher, RequestGate } from './dispatcher.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, Heartbeat, checkHeartbeatInterval } from './heartbeat.ts';
import type { Logger } from '../util/log.ts';

export const DEFAULT_MAX_PAYLOAD = 64 * 1024;
/** Connected clients at once (the next gets HTTP 503): room for 50 local clients (issue 7) with a cap kept. */
export const DEFAULT_MAX_CONNECTIONS = 64;
export const DEFAULT_MAX_IN_FLIGHT = 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Close codes used by the server. */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** One authenticated client. */
export interface RpcConnection {
  readonly id: number;
  /** Sends a server → client notification; dropped if the socket is not open. */
  notify(method: string, params: unknown): void;
  close(code: number, reason: string): void;
}

export interface RpcServerOptions<C> {
  /** Bind address; loopback only (default 127.0.0.1). */
  host?: string;
  port?: number;
  token: string;
  allowOrigins?: readonly string[];
  maxPayload?: number;
  maxConnections?: number;
  maxInFlight?: number;
  maxBufferedBytes?: number;
  /**
   * Milliseconds between pings to each client (default {@link DEFAULT_HEARTBEAT_INTERVAL_MS}); a
   * client that has neither answered the previous ping nor sent anything since is terminated.
   * null turns the heartbeat off.
   */
  heartbeatIntervalMs?: number | null;
  dispatcher: Dispatcher<C>;
  /** The handler context for requests of `connection`. */
  contextFor: (connection: RpcConnection) => C;
  log: Logger;
  /** Called once a client is authenticated and connected. */
  onConnect?: (connection: RpcConnection) => void;
  /** Called once when a connected client is gone (closed, terminated, or the server stopped). */
  onDisconnect?: (connection: RpcConnection) => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function rawToText(data: RawData): string | null {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  try {
    return utf8.decode(buf);
  } catch {
    return null;
  }
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' };

/** Answers a refused upgrade with a plain HTTP status and closes the socket. */
function refuseUpgrade(socket: Duplex, status: number, body: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export class RpcServer<C> {
  readonly #options: RpcServerOptions<C>;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Map<WebSocket, RpcConnection>();
  readonly #pending = new Set<Duplex>();
  readonly #maxConnections: number;
  readonly #maxInFlight: number;
  readonly #maxBuffered: number;
  readonly #heartbeat: Heartbeat | null;
  #policy: HandshakePolicy | null = null;
  #nextId = 1;
  #closing = false;

  private constructor(options: RpcServerOptions<C>) {
    this.#options = options;
    this.#maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    const heartbeatMs = options.heartbeatIntervalMs === undefined ? DEFAULT_HEARTBEAT_INTERVAL_MS : checkHeartbeatInterval(options.heartbeatIntervalMs);
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      handleProtocols: (protocols) => (protocols.has(RPC_SUBPROTOCOL) ? RPC_SUBPROTOCOL : false),
    });
    this.#wss.on('error', (err) => options.log.warn(`websocket server: ${err.message}`));
    // Timeouts checked every second: Node's default check interval (30 s) let a silent connection live 40 s.
    this.#http = createServer({ headersTimeout: 10_000, requestTimeout: 10_000, connectionsCheckingInterval: 1000 }, (_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' }).end('WebSocket only\n');
    });
    // Connections that have not upgraded yet, oldest first. Past the cap the OLDEST is dropped rather
    // than the new one refused: a local process holding idle sockets must not lock the game out.
    const maxPending = this.#maxConnections * 4;
    this.#http.on('connection', (socket: Duplex) => {
      this.#pending.add(socket);
      socket.once('close', () => this.#pending.delete(socket));
      if (this.#pending.size > maxPending) {
        const oldest = this.#pending.values().next().value;
        if (oldest !== undefined) {
          this.#pending.delete(oldest);
          oldest.destroy();
        }
      }
    });
    this.#http.on('clientError', (_err, socket) => socket.destroy());
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    this.#heartbeat = heartbeatMs === null ? null : new Heartbeat(heartbeatMs, (ws) => {
      const id = this.#sockets.get(ws)?.id ?? '?';
      options.log.info(`client #${id} did not answer a ping within ${heartbeatMs} ms: dropping it`);
      ws.terminate();
    });
  }

  /** Starts listening; resolves once the port is bound. */
  static async start<C>(options: RpcServerOptions<C>): Promise<RpcServer<C>> {
    const server = new RpcServer(options);
    try {
      await server.#listen();
    } catch (err) {
      server.#heartbeat?.stop();
      throw err;
    }
    return server;
  }

  async #listen(): Promise<void> {
    const host = this.#options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#http.once('error', onError);
      this.#http.listen(this.#options.port ?? 0, host, () => {
        this.#http.off('error', onError);
        resolve();
      });
    });
    this.#http.on('error', (err) => this.#options.log.error(`rpc listener: ${err.message}`));
    const allowOrigins = new Set((this.#options.allowOrigins ?? []).map(normalizeOrigin));
    this.#policy = { token: this.#options.token, port: this.port, allowOrigins };
  }

  /** The bound TCP port. */
  get port(): number {
    const address = this.#http.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Connected clients. */
  get connectionCount(): number {
    return this.#sockets.size;
  }

  /** Sends a notification to every connected client. */
  broadcast(method: string, params: unknown): void {
    for (const connection of this.#sockets.values()) connection.notify(method, params);
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#pending.delete(socket);
    socket.on('error', () => socket.destroy());
    const log = this.#options.log;
    if (this.#closing || !this.#policy) return refuseUpgrade(socket, 503, 'shutting down\n');
    const verdict = checkHandshake(req, this.#policy);
    if (!verdict.ok) {
      log.info(`refused connection from ${req.socket.remoteAddress ?? '?'}: ${verdict.reason}`);
      return refuseUpgrade(socket, verdict.status, `${verdict.reason}\n`);
    }
    if (this.#sockets.size >= this.#maxConnections) {
      log.warn(`refused connection: ${this.#maxConnections} clients already connected`);
      return refuseUpgrade(socket, 503, 'too many connections\n');
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws));
  }

  #onConnection(ws: WebSocket): void {
    const { dispatcher, log } = this.#options;
    const id = this.#nextId++;
    let inFlight = 0;
    const gate: RequestGate = {
      tryAcquire: () => {
        if (inFlight >= this.#maxInFlight) return false;
        inFlight++;
        return true;
      },
      release: () => {
        inFlight--;
      },
    };
    const send = (text: string): void => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(text);
      if (ws.bufferedAmount > this.#maxBuffered) {
        log.warn(`client #${id} is not reading (${ws.bufferedAmount} bytes queued): closing with 1013`);
        ws.close(CLOSE_TRY_AGAIN_LATER, 'send buffer full');
        setTimeout(() => ws.terminate(), 2000).unref();
      }
    };
    const connection: RpcConnection = {
      id,
      notify: (method, params) => send(toJson({ jsonrpc: '2.0', method, params })),
      close: (code, reason) => ws.close(code, reason),
    };
    this.#sockets.set(ws, connection);
    this.#heartbeat?.add(ws);
    ws.on('error', (err) => log.debug(`client #${id}: ${err.message}`));
    ws.on('close', (code) => {
      this.#sockets.delete(ws);
      log.debug(`client #${id} disconnected (${code})`);
      this.#options.onDisconnect?.(connection);
    });
    const context = this.#options.contextFor(connection);
    ws.on('message', (data: RawData) => {
      const text = rawToText(data);
      const pending = text === null
        ? Promise.resolve(toJson({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error: frame is not valid UTF-8' } }))
        : dispatcher.handle(text, context, gate);
      pending.then((response) => {
        if (response !== null) send(response);
      }, (err: unknown) => log.error(`client #${id}: dispatcher failed: ${String(err)}`));
    });
    log.debug(`client #${id} connected`);
    this.#options.onConnect?.(connection);
  }

  /**
   * Stops accepting, closes every client with 1001 and waits (at most `graceMs`) for them to go,
   * then drops the rest and the listener.
   */
  async close(graceMs = 500): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#heartbeat?.stop();
    const sockets = [...this.#sockets.keys()];
    const closed = sockets.map((ws) => new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    }));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); })]);
    clearTimeout(timer);
    for (const ws of sockets) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }
}
