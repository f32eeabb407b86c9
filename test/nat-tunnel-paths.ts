/**
 * PunchPath pairs for the game-tunnel tests and benchmark, standing in for the puncher
 * (sidecar/src/nat/puncher.ts) with the same contract (sidecar/src/nat/punch-path.ts):
 * - `memoryPathPair()`: in memory; each datagram is copied and delivered on a later macrotask, in order.
 * - `udpPathPair()`: two UDP sockets on 127.0.0.1, one datagram per game datagram behind a 1-byte
 *   frame type (DATA / END), like a punched socket pair with the puncher's framing.
 * - `punchLinkPair()`: the real thing from the puncher, PunchLink over two PunchSockets on
 *   127.0.0.1 (punch frames, keepalives, BYE), without the rendezvous and handshake.
 * The first two can `lose()` the path (each side ends with 'timeout', as when keepalives stop).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { decodeFrame } from '../sidecar/src/nat/punch-frames.ts';
import { PunchLink, type PunchLinkTiming } from '../sidecar/src/nat/punch-link.ts';
import { PunchSocket } from '../sidecar/src/nat/punch-socket.ts';
import { closeSocket, loopbackSocket } from './nat-tunnel-sockets.ts';
import type { PathEndReason, PunchPath } from '../sidecar/src/nat/punch-path.ts';
import type { UdpAddress } from '../sidecar/src/nat/udp-channel.ts';

/** One side of a test path, with what the test needs to look at. */
export interface TestPath extends PunchPath {
  /** Datagrams this side was asked to send (count, bytes). */
  readonly sent: { packets: number; bytes: number };
  /** How this side ended, if it did. */
  readonly endedWith: PathEndReason | null;
  /** Number of close() calls. */
  readonly closeCalls: number;
  /** Copies of the first 16 datagrams this side sent. */
  readonly firstSent: Buffer[];
  /** Hands `payload` to this side's data handlers now, as if it had just arrived. */
  inject(payload: Buffer): void;
}

export interface TestPathPair {
  a: TestPath;
  b: TestPath;
  /** Both sides end with 'timeout' (keepalives lost). */
  lose(): void;
  /** Frees resources (sockets). */
  dispose(): Promise<void>;
}

/** Shared bookkeeping of one side: handlers, counters, end-once. */
class PathSide implements TestPath {
  readonly remote: UdpAddress;
  readonly sent = { packets: 0, bytes: 0 };
  endedWith: PathEndReason | null = null;
  closeCalls = 0;
  readonly firstSent: Buffer[] = [];
  readonly #data = new Set<(payload: Buffer) => void>();
  readonly #end = new Set<(reason: PathEndReason) => void>();
  readonly #transmit: (payload: Uint8Array) => void;
  readonly #closeRemote: () => void;

  constructor(remote: UdpAddress, transmit: (payload: Uint8Array) => void, closeRemote: () => void) {
    this.remote = remote;
    this.#transmit = transmit;
    this.#closeRemote = closeRemote;
  }

  send(payload: Uint8Array): void {
    if (this.endedWith !== null) throw new Error('path ended');
    this.sent.packets++;
    this.sent.bytes += payload.length;
    if (this.firstSent.length < 16) this.firstSent.push(Buffer.from(payload));
    this.#transmit(payload);
  }

  onData(handler: (payload: Buffer) => void): () => void {
    this.#data.add(handler);
    return () => this.#data.delete(handler);
  }

  onEnd(handler: (reason: PathEndReason) => void): () => void {
    this.#end.add(handler);
    return () => this.#end.delete(handler);
  }

  close(): void {
    this.closeCalls++;
    if (this.endedWith !== null) return;
    this.#closeRemote();
    this.finish('closed');
  }

  inject(payload: Buffer): void {
    this.deliver(payload);
  }

  deliver(payload: Buffer): void {
    if (this.endedWith !== null) return;
    for (const h of this.#data) h(payload);
  }

  finish(reason: PathEndReason): void {
    if (this.endedWith !== null) return;
    this.endedWith = reason;
    for (const h of [...this.#end]) h(reason);
    this.#data.clear();
    this.#end.clear();
  }
}

/** An in-memory pair; `remote` addresses are made-up public addresses (nothing is sent to them). */
export function memoryPathPair(): TestPathPair {
  const aAddr = { host: '198.51.100.7', port: 40001 };
  const bAddr = { host: '203.0.113.9', port: 50002 };
  let a: PathSide | null = null;
  const b: PathSide = new PathSide(aAddr, (p) => {
    const copy = Buffer.from(p);
    setImmediate(() => a?.deliver(copy));
  }, () => setImmediate(() => a?.finish('remote-closed')));
  const sideA = new PathSide(bAddr, (p) => {
    const copy = Buffer.from(p);
    setImmediate(() => b.deliver(copy));
  }, () => setImmediate(() => b.finish('remote-closed')));
  a = sideA;
  return {
    a: sideA, b,
    lose: () => { sideA.finish('timeout'); b.finish('timeout'); },
    dispose: async () => undefined,
  };
}

const FRAME_DATA = 0x01;
const FRAME_END = 0x02;

/** A pair over two loopback UDP sockets (one real UDP hop per datagram, framed). */
export async function udpPathPair(): Promise<TestPathPair> {
  const sa = await loopbackSocket();
  const sb = await loopbackSocket();
  const aAddr = { host: '127.0.0.1', port: sa.address().port };
  const bAddr = { host: '127.0.0.1', port: sb.address().port };
  const framed = (type: number, payload: Uint8Array): Buffer => {
    const out = Buffer.allocUnsafe(payload.length + 1);
    out[0] = type;
    out.set(payload, 1);
    return out;
  };
  const endFrame = Buffer.from([FRAME_END]);
  const a = new PathSide(bAddr, (p) => sa.send(framed(FRAME_DATA, p), bAddr.port, bAddr.host),
    () => sa.send(endFrame, bAddr.port, bAddr.host));
  const b = new PathSide(aAddr, (p) => sb.send(framed(FRAME_DATA, p), aAddr.port, aAddr.host),
    () => sb.send(endFrame, aAddr.port, aAddr.host));
  const wire = (s: Socket, side: PathSide, peer: UdpAddress): void => {
    s.on('message', (msg, from) => {
      if (from.port !== peer.port || from.address !== peer.host) return;
      if (msg[0] === FRAME_DATA) side.deliver(msg.subarray(1));
      else if (msg[0] === FRAME_END) side.finish('remote-closed');
    });
  };
  wire(sa, a, bAddr);
  wire(sb, b, aAddr);
  return {
    a, b,
    lose: () => { a.finish('timeout'); b.finish('timeout'); },
    dispose: async () => {
      await Promise.all([sa, sb].map(closeSocket));
    },
  };
}

/** Two real punch paths (PunchLink, punch-link.ts) on two PunchSockets bound to 127.0.0.1. */
export interface PunchLinkPair {
  a: PunchLink;
  b: PunchLink;
  sockets: [PunchSocket, PunchSocket];
  dispose(): Promise<void>;
}

/**
 * The puncher's path without the handshake: both sides already share a session (as after
 * HELLO/WELCOME); each socket's punch frames from the other side with that session go to its
 * link, as PunchHost / punchToHost route them.
 */
export async function punchLinkPair(timing: PunchLinkTiming = {}): Promise<PunchLinkPair> {
  const sa = await PunchSocket.bind({ host: '127.0.0.1' });
  const sb = await PunchSocket.bind({ host: '127.0.0.1' });
  const session = randomBytes(8);
  const a = new PunchLink({ ...timing, channel: sa.punch, remote: sb.address(), session });
  const b = new PunchLink({ ...timing, channel: sb.punch, remote: sa.address(), session });
  const route = (s: PunchSocket, link: PunchLink): void => {
    s.punch.onMessage((bytes, from) => {
      if (from.host !== link.remote.host || from.port !== link.remote.port) return;
      const decoded = decodeFrame(bytes);
      if (decoded.ok && decoded.frame.session.equals(session)) link.receive(decoded.frame);
    });
  };
  route(sa, a);
  route(sb, b);
  return {
    a, b, sockets: [sa, sb],
    dispose: async () => {
      a.close();
      b.close();
      await Promise.all([sa.close(), sb.close()]);
    },
  };
}
