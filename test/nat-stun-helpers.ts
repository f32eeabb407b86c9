/**
 * Test doubles for DHT-STUN on loopback: a UdpChannel over a plain dgram socket (the production
 * punch socket with its first-byte demux is nat/punch-socket.ts) and a KRPC responder that answers
 * pings with a BEP42 `ip` field, which bittorrent-dht nodes never send. The responder's answers are
 * built byte by byte here, independently of the codec under test (dht/bencode.ts).
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { UdpAddress, UdpChannel } from '../sidecar/src/nat/udp-channel.ts';

/** A UdpChannel on its own udp4 socket: every datagram that starts with `d` is KRPC. */
export class DgramChannel implements UdpChannel {
  readonly socket: Socket;
  readonly #handlers = new Set<(payload: Buffer, from: UdpAddress) => void>();
  sent = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (payload, rinfo) => {
      if (payload[0] !== 0x64) return;
      for (const handler of [...this.#handlers]) handler(payload, { host: rinfo.address, port: rinfo.port });
    });
  }

  static async open(host = '127.0.0.1', port = 0): Promise<DgramChannel> {
    const socket = createSocket('udp4');
    socket.bind(port, host);
    await once(socket, 'listening');
    return new DgramChannel(socket);
  }

  send(payload: Uint8Array, to: UdpAddress, ttl?: number): Promise<void> {
    this.sent++;
    if (ttl !== undefined) this.socket.setTTL(ttl);
    return new Promise((resolve, reject) => {
      this.socket.send(payload, to.port, to.host, (err) => (err ? reject(err) : resolve()));
    });
  }

  onMessage(handler: (payload: Buffer, from: UdpAddress) => void): () => void {
    this.#handlers.add(handler);
    return () => { this.#handlers.delete(handler); };
  }

  get listeners(): number {
    return this.#handlers.size;
  }

  localAddress(): UdpAddress {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A bencoded byte string. */
function str(bytes: Buffer | string): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  return Buffer.concat([Buffer.from(`${b.length}:`, 'latin1'), b]);
}

/** `ip` field bytes for an IPv4 address. */
export function compactIPv4(address: UdpAddress): Buffer {
  const out = Buffer.alloc(6);
  address.host.split('.').forEach((part, i) => { out[i] = Number(part); });
  out.writeUInt16BE(address.port, 4);
  return out;
}

/** A KRPC response `d [ip] r{id} t y=r e`, keys in order; `ip` raw bytes or none. */
export function pingAnswer(t: Buffer, id: Buffer, ip: Buffer | null): Buffer {
  return Buffer.concat([
    Buffer.from('d', 'latin1'),
    ...(ip === null ? [] : [str('ip'), str(ip)]),
    str('r'), Buffer.from('d', 'latin1'), str('id'), str(id), Buffer.from('e', 'latin1'),
    str('t'), str(t), str('y'), str('r'), Buffer.from('e', 'latin1'),
  ]);
}

/** A KRPC error `d e[201 "..."] t y=e e`. */
export function errorAnswer(t: Buffer): Buffer {
  return Buffer.concat([Buffer.from('d1:eli201e7:Generice1:t', 'latin1'), str(t), str('y'), str('e'), Buffer.from('e', 'latin1')]);
}

/** Pulls `t` out of a ping query without the codec under test (`...1:t<n>:<t>...`). */
export function queryTransactionId(query: Buffer): Buffer | null {
  const at = query.indexOf('1:t', 0, 'latin1');
  if (at < 0) return null;
  const colon = query.indexOf(':', at + 3, 'latin1');
  const length = Number(query.subarray(at + 3, colon).toString('latin1'));
  if (!Number.isInteger(length) || length < 1 || length > 64) return null;
  return query.subarray(colon + 1, colon + 1 + length);
}

/** How a test responder answers a ping. */
export type ResponderMode =
  | { kind: 'report'; as?: (from: UdpAddress) => UdpAddress } // answers with `ip` (default: the address it saw)
  | { kind: 'no-ip' }
  | { kind: 'raw-ip'; ip: Buffer } // a bencoded `ip` key and value, as given, first in the dictionary
  | { kind: 'error' }
  | { kind: 'silent' }
  | { kind: 'forged-t' } // answers with another transaction id
  | { kind: 'malformed'; payload: Buffer } // answers with these bytes (must start with `d` to reach the channel)
  | { kind: 'from-other-port' } // the right answer, from another socket
  | { kind: 'twice'; second: UdpAddress }; // a right answer, then a second one claiming another address

/** A DHT node on 127.0.0.x that answers pings as `mode` says. */
export class StunResponder {
  readonly socket: Socket;
  readonly id = Buffer.alloc(20, 7);
  mode: ResponderMode;
  queries: Buffer[] = [];
  #other: Socket | null = null;

  private constructor(socket: Socket, mode: ResponderMode) {
    this.socket = socket;
    this.mode = mode;
    socket.on('message', (query, rinfo) => { void this.#answer(query, { host: rinfo.address, port: rinfo.port }); });
  }

  static async start(host: string, mode: ResponderMode = { kind: 'report' }): Promise<StunResponder> {
    const socket = createSocket('udp4');
    socket.bind(0, host);
    await once(socket, 'listening');
    return new StunResponder(socket, mode);
  }

  get node(): string {
    const a = this.socket.address();
    return `${a.address}:${a.port}`;
  }

  async #answer(query: Buffer, from: UdpAddress): Promise<void> {
    this.queries.push(query);
    const t = queryTransactionId(query);
    if (t === null) return;
    const m = this.mode;
    const reply = (bytes: Buffer, socket = this.socket): void => { socket.send(bytes, from.port, from.host); };
    switch (m.kind) {
      case 'report': reply(pingAnswer(t, this.id, compactIPv4(m.as ? m.as(from) : from))); break;
      case 'no-ip': reply(pingAnswer(t, this.id, null)); break;
      case 'raw-ip': reply(Buffer.concat([Buffer.from('d', 'latin1'), m.ip, pingAnswer(t, this.id, null).subarray(1)])); break;
      case 'error': reply(errorAnswer(t)); break;
      case 'silent': break;
      case 'forged-t': reply(pingAnswer(Buffer.from([t[0]! ^ 0xff, ...t.subarray(1)]), this.id, compactIPv4({ host: '6.6.6.6', port: 666 }))); break;
      case 'malformed': reply(m.payload); break;
      case 'from-other-port': {
        if (this.#other === null) {
          this.#other = createSocket('udp4');
          this.#other.bind(0, this.socket.address().address);
          await once(this.#other, 'listening');
        }
        reply(pingAnswer(t, this.id, compactIPv4({ host: '6.6.6.6', port: 666 })), this.#other);
        break;
      }
      case 'twice':
        reply(pingAnswer(t, this.id, compactIPv4(from)));
        reply(pingAnswer(t, this.id, compactIPv4(m.second)));
        break;
    }
  }

  close(): Promise<void> {
    this.#other?.close();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
