/**
 * Plain DNS over UDP (RFC 1035): one datagram in, at most one datagram out, through the shared
 * QueryHandler. Answers still being worked on (DHT lookups, forwarding) are bounded: beyond
 * {@link MAX_UDP_IN_FLIGHT}, new queries are dropped until some finish.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { normalizeAddress } from '../util/peer-address.ts';
import type { QueryHandler } from './query-handler.ts';

export const MAX_UDP_IN_FLIGHT = 2048;

export interface UdpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Binds `host:port` (0 = any free port); rejects when it cannot. */
export async function startUdpServer(host: string, port: number, handler: QueryHandler, log: (line: string) => void): Promise<UdpServer> {
  const socket: Socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  let inFlight = 0;
  socket.on('message', (msg, rinfo) => {
    if (inFlight >= MAX_UDP_IN_FLIGHT) return;
    inFlight += 1;
    const client = normalizeAddress(rinfo.address) ?? rinfo.address;
    handler.handle(msg, client, 'udp').then((reply) => {
      if (reply !== null) socket.send(reply, rinfo.port, rinfo.address, (err) => { if (err) log(`dns: UDP send failed: ${err.message}`); });
    }, (err: unknown) => log(`dns: UDP query failed: ${(err as Error).message}`)).finally(() => { inFlight -= 1; });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => log(`dns: UDP socket error: ${err.message}`));
  let closed: Promise<void> | null = null;
  return {
    port: socket.address().port,
    close: () => (closed ??= new Promise<void>((resolve) => socket.close(() => resolve()))),
  };
}
