/**
 * Plain DNS over TCP (RFC 1035 §4.2.2, RFC 7766): messages framed by a 2-byte length, several
 * queries per connection, answered as they complete (possibly out of order, RFC 7766 §6.2.1.1).
 *
 * Bounds: {@link MAX_TCP_CONNECTIONS} connections, {@link MAX_TCP_PER_CLIENT} per client address,
 * {@link MAX_TCP_PIPELINE} queries in progress per connection (the socket stops reading until one
 * finishes), and a connection idle for {@link TCP_IDLE_MS} (nothing received, nothing in progress)
 * is closed. A frame shorter than a DNS header closes the connection.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { normalizeAddress } from '../util/peer-address.ts';
import type { QueryHandler } from './query-handler.ts';

export const MAX_TCP_CONNECTIONS = 512;
export const MAX_TCP_PER_CLIENT = 64;
export const MAX_TCP_PIPELINE = 16;
export const TCP_IDLE_MS = 10_000;

export interface TcpServer {
  readonly port: number;
  close(): Promise<void>;
}

function serveConnection(socket: Socket, client: string, handler: QueryHandler, idleMs: number, log: (line: string) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  let inProgress = 0;
  let ended = false;
  socket.setNoDelay(true);
  socket.setTimeout(idleMs, () => {
    if (inProgress === 0) socket.destroy();
  });
  socket.on('error', () => socket.destroy());
  const maybeEnd = (): void => {
    if (ended && inProgress === 0 && !socket.destroyed) socket.end();
  };
  const take = (): void => {
    while (buffered.length >= 2 && inProgress < MAX_TCP_PIPELINE) {
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) break;
      const message = buffered.subarray(2, 2 + length);
      buffered = buffered.subarray(2 + length);
      if (length < 12) {
        socket.destroy();
        return;
      }
      inProgress += 1;
      handler.handle(Buffer.from(message), client, 'tcp').then((reply) => {
        if (reply === null || socket.destroyed) return;
        const frame = Buffer.allocUnsafe(2 + reply.length);
        frame.writeUInt16BE(reply.length, 0);
        reply.copy(frame, 2);
        socket.write(frame);
      }, (err: unknown) => log(`dns: TCP query failed: ${(err as Error).message}`)).finally(() => {
        inProgress -= 1;
        if (socket.isPaused() && !ended) socket.resume();
        take();
        maybeEnd();
      });
    }
    if (inProgress >= MAX_TCP_PIPELINE) socket.pause();
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    take();
  });
  socket.on('end', () => {
    ended = true;
    maybeEnd();
  });
}

/** Listens on `host:port` (0 = any free port); rejects when it cannot. */
export async function startTcpServer(host: string, port: number, handler: QueryHandler, log: (line: string) => void, idleMs = TCP_IDLE_MS): Promise<TcpServer> {
  const perClient = new Map<string, number>();
  const sockets = new Set<Socket>();
  // Half-open: a client may send its queries and FIN; the answers still go out (then we end).
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const client = normalizeAddress(socket.remoteAddress ?? '') ?? 'unknown';
    const count = perClient.get(client) ?? 0;
    if (count >= MAX_TCP_PER_CLIENT) {
      socket.destroy();
      return;
    }
    perClient.set(client, count + 1);
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
    serveConnection(socket, client, handler, idleMs, log);
  });
  server.maxConnections = MAX_TCP_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(`dns: TCP server error: ${err.message}`));
  const address = server.address();
  let closed: Promise<void> | null = null;
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () => (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    })),
  };
}
