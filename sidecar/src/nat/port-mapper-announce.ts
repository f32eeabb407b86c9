/**
 * Gateway restart announcements: a NAT-PMP/PCP router that restarts (or gets a new external
 * address) multicasts to 224.0.0.1:5350 from its port 5351 (RFC 6886 §3.2.1, RFC 6887 §14.1.3:
 * a NAT-PMP external-address answer or a PCP ANNOUNCE answer). Its mappings are gone then, so the
 * port mapper re-creates them at once instead of at the next renewal. Only datagrams from port
 * 5351 that decode as one of those answers count; each gateway is reported at most once a second.
 * In loopback-only test mode the listener runs only where there is a lab interface.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isLoopbackOnly } from '../core/loopback-guard.ts';
import { searchInterfaces } from './port-mapper-ssdp.ts';
import { decodePcpAnnounceAnswer, decodePmpAddressAnswer, GATEWAY_PORT } from './port-mapper-wire.ts';

const ALL_HOSTS = '224.0.0.1';
const CLIENT_PORT = 5350;
const MIN_INTERVAL_MS = 1000;

/** True when `msg` from `port` is a restart announcement (pure). */
export function isAnnouncement(msg: Buffer, port: number): boolean {
  if (port !== GATEWAY_PORT || msg.length > 1100) return false;
  return decodePmpAddressAnswer(msg).ok || decodePcpAnnounceAnswer(msg).ok;
}

export interface AnnouncementListener {
  close(): void;
}

/**
 * Listens for announcements and calls `onAnnounce(gatewayAddress)`. Never throws: when the port
 * cannot be bound or the group not joined, there is simply no listener (renewals still run).
 */
export function listenForAnnouncements(onAnnounce: (gateway: string) => void): AnnouncementListener {
  const interfaces = searchInterfaces();
  if (isLoopbackOnly() && interfaces.length === 0) return { close: () => undefined };
  const last = new Map<string, number>();
  let socket: Socket | null = createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('error', () => {
    try {
      socket?.close();
    } catch {
      // already closed
    }
    socket = null;
  });
  socket.on('message', (msg, rinfo) => {
    if (!isAnnouncement(msg, rinfo.port)) return;
    const now = Date.now();
    if (now - (last.get(rinfo.address) ?? 0) < MIN_INTERVAL_MS) return;
    if (last.size > 64) last.clear();
    last.set(rinfo.address, now);
    onAnnounce(rinfo.address);
  });
  socket.bind(CLIENT_PORT, () => {
    for (const address of interfaces) {
      try {
        socket?.addMembership(ALL_HOSTS, address);
      } catch {
        // this interface cannot join: the others may
      }
    }
  });
  socket.unref();
  return {
    close: () => {
      try {
        socket?.close();
      } catch {
        // already closed
      }
      socket = null;
    },
  };
}
