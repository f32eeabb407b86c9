/**
 * This machine's address on the network that leads to `towards`: the source address the system
 * picks for it (a UDP socket's connect() only selects a route; nothing is sent). A host behind a
 * NAT publishes it as its `lan` endpoint, so players behind the same router join over the LAN
 * (no hairpin NAT needed).
 */
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { UdpAddress } from './udp-channel.ts';

/** The local IPv4 address the route to `towards` uses, or null when there is none. */
export function localAddressTowards(towards: UdpAddress): Promise<string | null> {
  if (!isIPv4(towards.host) || !Number.isInteger(towards.port) || towards.port < 1 || towards.port > 65535) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (address: string | null): void => {
      socket.close();
      resolve(address);
    };
    socket.on('error', () => done(null));
    socket.connect(towards.port, towards.host, () => {
      try {
        const { address } = socket.address();
        done(address === '0.0.0.0' ? null : address);
      } catch {
        done(null);
      }
    });
  });
}
