/**
 * SSDP discovery of a UPnP Internet Gateway Device: an M-SEARCH for IGD v1 and v2 goes to
 * 239.255.255.250:1900 from one ephemeral socket per IPv4 interface; the first answer whose
 * LOCATION is a plain-HTTP URL on the answering host wins (a LOCATION naming another host is
 * ignored, so a forged answer cannot point our requests anywhere else).
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { isLabAddress, isLoopbackOnly } from '../core/loopback-guard.ts';

const SSDP_GROUP = '239.255.255.250';
const SSDP_PORT = 1900;
export const IGD_SEARCH_TARGETS = [
  'urn:schemas-upnp-org:device:InternetGatewayDevice:2',
  'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
] as const;

export interface SsdpAnswer {
  location: URL;
  searchTarget: string;
  /** The address that answered. */
  from: string;
  /** Our interface address the answer came in on. */
  localAddress: string;
}

/** The M-SEARCH datagram for one search target. */
export function mSearch(searchTarget: string, mx = 2): Buffer {
  return Buffer.from(`M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_GROUP}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: ${mx}\r\nST: ${searchTarget}\r\n\r\n`);
}

/**
 * Reads an SSDP search answer (HTTP/1.1 200 over UDP): its LOCATION and ST, or null when the
 * datagram is not an IGD answer whose LOCATION is a plain-HTTP URL on host `from`.
 */
export function parseSsdpAnswer(datagram: Buffer, from: string): { location: URL; searchTarget: string } | null {
  if (datagram.length > 4096) return null;
  const lines = datagram.toString('latin1').split(/\r?\n/);
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0] ?? '')) return null;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const st = headers.get('st') ?? '';
  if (!st.startsWith('urn:schemas-upnp-org:device:InternetGatewayDevice:')) return null;
  let location: URL;
  try {
    location = new URL(headers.get('location') ?? '');
  } catch {
    return null;
  }
  if (location.protocol !== 'http:' || location.hostname !== from) return null;
  return { location, searchTarget: st };
}

/** Our IPv4 interface addresses to search from (in loopback-only test mode: lab addresses only). */
export function searchInterfaces(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const iface of list ?? []) {
      if (iface.family !== 'IPv4' || iface.internal || iface.address.startsWith('169.254.')) continue;
      if (isLoopbackOnly() && !isLabAddress(iface.address)) continue;
      out.push(iface.address);
    }
  }
  return out;
}

/**
 * Searches until the first IGD answers (resolves with it) or `timeoutMs` passes (resolves null);
 * throws when there is no interface to search on.
 * The search is sent twice (at 0 and at a third of the time) in case a datagram is lost.
 */
export async function discoverIgd(timeoutMs: number, signal: AbortSignal, interfaces = searchInterfaces()): Promise<SsdpAnswer | null> {
  if (interfaces.length === 0) {
    throw new Error(isLoopbackOnly() ? 'no lab interface to search on (PKARR_LOOPBACK_ONLY=1 allows only PKARR_LAB_NETS)' : 'no IPv4 network interface to search on');
  }
  const sockets: Socket[] = [];
  try {
    return await new Promise<SsdpAnswer | null>((resolve) => {
      let resend: NodeJS.Timeout | null = null;
      let done = false;
      const finish = (answer: SsdpAnswer | null): void => {
        done = true;
        clearTimeout(deadline);
        if (resend !== null) clearTimeout(resend);
        signal.removeEventListener('abort', onAbort);
        resolve(answer);
      };
      const deadline = setTimeout(() => finish(null), timeoutMs);
      const onAbort = (): void => finish(null);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) {
        finish(null);
        return;
      }
      const ready: Socket[] = [];
      const send = (socket: Socket): void => {
        if (done) return; // the sockets are closed once the search ended
        for (const st of IGD_SEARCH_TARGETS) socket.send(mSearch(st), SSDP_PORT, SSDP_GROUP, () => undefined);
      };
      resend = setTimeout(() => ready.forEach(send), Math.floor(timeoutMs / 3));
      for (const address of interfaces) {
        const socket = createSocket({ type: 'udp4', reuseAddr: false });
        sockets.push(socket);
        socket.on('error', () => undefined); // a failing interface just yields no answer
        socket.on('message', (msg, rinfo) => {
          const answer = parseSsdpAnswer(msg, rinfo.address);
          if (answer !== null) finish({ ...answer, from: rinfo.address, localAddress: address });
        });
        socket.bind(0, address, () => {
          if (done) return;
          try {
            socket.setMulticastInterface(address);
            socket.setMulticastTTL(2);
          } catch {
            // keep the defaults
          }
          ready.push(socket);
          send(socket);
        });
      }
    });
  } finally {
    for (const socket of sockets) {
      try {
        socket.close();
      } catch {
        // never bound
      }
    }
  }
}
