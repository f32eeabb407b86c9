/**
 * A Node stand-in for what Godot's ENet (ENetMultiplayerPeer over ENet 1.3.x, Godot's
 * thirdparty/enet) puts on the wire, at the UDP level the game tunnel sees.
 *
 * What is replayed, and why it is faithful for the tunnel:
 * - Datagram layouts from ENet's protocol.h (all fields big-endian): a protocol header
 *   (peerID u16 with flag bits 0x8000 SENT_TIME / 0x4000 COMPRESSED and session bits 0x3000,
 *   then sentTime u16 when SENT_TIME is set) followed by commands. The CONNECT datagram that
 *   `create_client()` makes ENet send first is 52 bytes: header 4 (peerID 0x8FFF: SENT_TIME |
 *   ENET_PROTOCOL_MAXIMUM_PEER_ID, the peer has no id yet) + CONNECT 48 (command 0x82 =
 *   CONNECT | ACKNOWLEDGE, channel 0xFF, reliable sequence 1, outgoing peer id, session ids 0xFF,
 *   mtu 1400, window 65536, channel count (255 for Godot's default channel_count 0), bandwidths 0,
 *   throttle 5000/2/2, a random connect id, and `data` = the client's Godot peer id). No checksum
 *   (Godot never sets one) and no compression (Godot's default COMPRESS_NONE). The server answers
 *   ACK + VERIFY_CONNECT (56 bytes); game packets are SEND_RELIABLE / SEND_UNRELIABLE commands
 *   whose data starts with Godot's 8-byte source/target peer ids. test/nat-tunnel.test.ts checks
 *   this CONNECT layout against the first datagram a real libenet client sends.
 * - ENet's behaviour that matters to a relay: the client speaks first; the server keys each peer
 *   by the source address of its CONNECT and drops any later datagram for that peer id from
 *   another address (protocol.c compares the received address with the peer's), so each remote
 *   player must reach the server from one stable, distinct local port; datagrams are at most
 *   the MTU (1400 bytes of UDP payload) because ENet fragments larger packets itself.
 * Not replayed: retransmission timers, throttling, fragment reassembly, pings (timing only).
 */
import type { Socket } from 'node:dgram';
import { closeSocket, loopbackSocket } from './nat-tunnel-sockets.ts';

export const ENET_MTU = 1400;
export const CMD_ACKNOWLEDGE = 1;
export const CMD_CONNECT = 2;
export const CMD_VERIFY_CONNECT = 3;
export const CMD_DISCONNECT = 4;
export const CMD_PING = 5;
export const CMD_SEND_RELIABLE = 6;
export const CMD_SEND_UNRELIABLE = 7;
const FLAG_ACK = 0x80;
const HEADER_SENT_TIME = 0x8000;
const MAX_PEER_ID = 0xfff;
/** Bytes of each command before its data (ENet's commandSizes). */
const COMMAND_SIZE = [0, 8, 48, 44, 8, 4, 6, 8, 24, 8, 12, 16, 24];

export interface ConnectFields {
  sentTime: number;
  outgoingPeerId: number;
  channelCount: number;
  connectId: number;
  data: number;
}

/** The 52-byte first datagram of an ENet client (see the file comment). */
export function connectDatagram(f: ConnectFields): Buffer {
  const b = Buffer.alloc(52);
  b.writeUInt16BE(HEADER_SENT_TIME | MAX_PEER_ID, 0);
  b.writeUInt16BE(f.sentTime & 0xffff, 2);
  b.writeUInt8(CMD_CONNECT | FLAG_ACK, 4);
  b.writeUInt8(0xff, 5);
  b.writeUInt16BE(1, 6);
  b.writeUInt16BE(f.outgoingPeerId, 8);
  b.writeUInt8(0xff, 10);
  b.writeUInt8(0xff, 11);
  const words = [ENET_MTU, 65536, f.channelCount, 0, 0, 5000, 2, 2, f.connectId >>> 0, f.data >>> 0];
  words.forEach((w, i) => b.writeUInt32BE(w, 12 + 4 * i));
  return b;
}

/** The server's answer to CONNECT: ACK of it plus VERIFY_CONNECT (56 bytes). */
export function verifyConnectDatagram(toPeerId: number, sentTime: number, ackedSentTime: number, serverPeerId: number, channelCount: number, connectId: number): Buffer {
  const b = Buffer.alloc(4 + 8 + 44);
  b.writeUInt16BE(HEADER_SENT_TIME | toPeerId, 0);
  b.writeUInt16BE(sentTime & 0xffff, 2);
  b.writeUInt8(CMD_ACKNOWLEDGE, 4);
  b.writeUInt8(0xff, 5);
  b.writeUInt16BE(1, 6);
  b.writeUInt16BE(1, 8);
  b.writeUInt16BE(ackedSentTime & 0xffff, 10);
  b.writeUInt8(CMD_VERIFY_CONNECT | FLAG_ACK, 12);
  b.writeUInt8(0xff, 13);
  b.writeUInt16BE(1, 14);
  b.writeUInt16BE(serverPeerId, 16);
  b.writeUInt8(0, 18);
  b.writeUInt8(0, 19);
  const words = [ENET_MTU, 65536, channelCount, 0, 0, 5000, 2, 2, connectId >>> 0];
  words.forEach((w, i) => b.writeUInt32BE(w, 20 + 4 * i));
  return b;
}

/**
 * One SEND_UNRELIABLE (or SEND_RELIABLE) datagram carrying Godot's 8-byte peer ids + `body`. Only a
 * reliable command asks for an acknowledgement, so only it gets the 4-byte header with sentTime.
 */
export function sendDatagram(toPeerId: number, reliable: boolean, channel: number, seq: number, from: number, target: number, body: Uint8Array): Buffer {
  const header = reliable ? 4 : 2;
  const cmdSize = reliable ? 6 : 8;
  const b = Buffer.alloc(header + cmdSize + 8 + body.length);
  b.writeUInt16BE((reliable ? HEADER_SENT_TIME : 0) | toPeerId, 0);
  if (reliable) b.writeUInt16BE(seq & 0xffff, 2);
  let o = header;
  b.writeUInt8(reliable ? CMD_SEND_RELIABLE | FLAG_ACK : CMD_SEND_UNRELIABLE, o);
  b.writeUInt8(channel, o + 1);
  b.writeUInt16BE(reliable ? seq & 0xffff : 0, o + 2);
  o += 4;
  if (!reliable) { b.writeUInt16BE(seq & 0xffff, o); o += 2; }
  b.writeUInt16BE(8 + body.length, o); o += 2;
  b.writeUInt32LE(from >>> 0, o);
  b.writeInt32LE(target, o + 4);
  b.set(body, o + 8);
  return b;
}

/** Largest Godot body in one unreliable datagram: MTU - header 2 - SEND_UNRELIABLE 8 - Godot ids 8. */
export const MAX_UNRELIABLE_BODY = ENET_MTU - 2 - 8 - 8;

export interface ParsedCommand { command: number; channel: number; offset: number; dataLength: number }
export interface ParsedDatagram { peerId: number; sentTime: number | null; commands: ParsedCommand[] }

/** Parses an (uncompressed, checksum-less) ENet datagram; throws on a malformed one. */
export function parseEnet(b: Buffer): ParsedDatagram {
  if (b.length < 2) throw new Error('short ENet datagram');
  const raw = b.readUInt16BE(0);
  const hasTime = (raw & HEADER_SENT_TIME) !== 0;
  let o = hasTime ? 4 : 2;
  const commands: ParsedCommand[] = [];
  while (o < b.length) {
    const command = b.readUInt8(o) & 0x0f;
    const size = COMMAND_SIZE[command];
    if (size === undefined || size === 0 || o + size > b.length) throw new Error(`bad ENet command ${command} at ${o}`);
    let dataLength = 0;
    if (command === CMD_SEND_RELIABLE) dataLength = b.readUInt16BE(o + 4);
    else if (command === CMD_SEND_UNRELIABLE) dataLength = b.readUInt16BE(o + 6);
    commands.push({ command, channel: b.readUInt8(o + 1), offset: o, dataLength });
    o += size + dataLength;
  }
  if (o !== b.length) throw new Error('ENet datagram length mismatch');
  return { peerId: raw & MAX_PEER_ID, sentTime: hasTime ? b.readUInt16BE(2) : null, commands };
}

interface StandInPeer { id: number; clientPeerId: number; address: string; port: number; connectId: number; godotId: number; received: Buffer[] }

/**
 * The host's "ENet server": keys peers by the CONNECT's source address, answers VERIFY_CONNECT,
 * drops datagrams for a peer id from another address (as ENet does), and echoes every SEND_*
 * datagram back to its peer as SEND_UNRELIABLE with the same Godot payload.
 */
export class EnetServerStandIn {
  readonly peers: StandInPeer[] = [];
  addressMismatches = 0;
  #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (msg, from) => this.#onMessage(msg, from.address, from.port));
  }

  static async start(): Promise<EnetServerStandIn> {
    return new EnetServerStandIn(await loopbackSocket());
  }

  get port(): number {
    return this.#socket.address().port;
  }

  #onMessage(msg: Buffer, address: string, port: number): void {
    const d = parseEnet(msg);
    const first = d.commands[0];
    if (first === undefined) return;
    if (d.peerId === MAX_PEER_ID) {
      if (first.command !== CMD_CONNECT) return;
      const connectId = msg.readUInt32BE(first.offset + 40);
      if (this.peers.some((p) => p.address === address && p.port === port && p.connectId === connectId)) return; // retransmission
      const peer: StandInPeer = {
        id: this.peers.length, clientPeerId: msg.readUInt16BE(first.offset + 4), address, port, connectId,
        godotId: msg.readUInt32BE(first.offset + 44), received: [],
      };
      this.peers.push(peer);
      const reply = verifyConnectDatagram(peer.clientPeerId, 1, d.sentTime ?? 0, peer.id, msg.readUInt32BE(first.offset + 16), connectId);
      this.#socket.send(reply, port, address);
      return;
    }
    const peer = this.peers[d.peerId];
    if (peer === undefined) return;
    if (peer.address !== address || peer.port !== port) {
      this.addressMismatches++;
      return;
    }
    peer.received.push(msg);
    for (const c of d.commands) {
      if (c.command !== CMD_SEND_RELIABLE && c.command !== CMD_SEND_UNRELIABLE) continue;
      const dataStart = c.offset + COMMAND_SIZE[c.command]!;
      const godot = msg.subarray(dataStart, dataStart + c.dataLength);
      const body = godot.subarray(8);
      this.#socket.send(sendDatagram(peer.clientPeerId, false, c.channel, d.sentTime ?? 0, 1, peer.godotId, body), port, address);
    }
  }

  async stop(): Promise<void> {
    await closeSocket(this.#socket);
  }
}

/** A joiner's "ENet client": CONNECT, wait for VERIFY_CONNECT, then game datagrams; collects what comes back. */
export class EnetClientStandIn {
  readonly received: Buffer[] = [];
  readonly godotId: number;
  serverPeerId: number | null = null;
  #socket: Socket;
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket, godotId: number) {
    this.#socket = socket;
    this.godotId = godotId;
    socket.on('message', (msg) => {
      const d = parseEnet(msg);
      const verify = d.commands.find((c) => c.command === CMD_VERIFY_CONNECT);
      if (verify !== undefined) this.serverPeerId = msg.readUInt16BE(verify.offset + 4);
      else this.received.push(msg);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async start(godotId: number): Promise<EnetClientStandIn> {
    return new EnetClientStandIn(await loopbackSocket(), godotId);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Sends any datagram to the tunnel's local port. */
  raw(datagram: Uint8Array, tunnelPort: number): void {
    this.#socket.send(datagram, tunnelPort, '127.0.0.1');
  }

  /** ENet's connect handshake through the tunnel at `tunnelPort`; resolves once VERIFY_CONNECT came back. */
  async connect(tunnelPort: number, timeoutMs = 5000): Promise<void> {
    const connect = connectDatagram({ sentTime: 1234, outgoingPeerId: 0, channelCount: 255, connectId: 0x5eed0000 + this.godotId, data: this.godotId });
    this.raw(connect, tunnelPort);
    await this.until(() => this.serverPeerId !== null, timeoutMs, 'VERIFY_CONNECT');
  }

  /** A game packet (Godot payload `body`) as ENet would frame it. */
  packet(body: Uint8Array, seq: number, reliable = false): Buffer {
    if (this.serverPeerId === null) throw new Error('not connected');
    return sendDatagram(this.serverPeerId, reliable, reliable ? 0 : 1, seq, this.godotId, 1, body);
  }

  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, Math.min(left, 50));
        this.#waiters.push(() => { clearTimeout(t); ok(); });
      });
    }
  }

  async stop(): Promise<void> {
    await closeSocket(this.#socket);
  }
}

/** The Godot payload (after the 8-byte peer ids) of a SEND_* datagram. */
export function godotBody(datagram: Buffer): Buffer {
  const d = parseEnet(datagram);
  const c = d.commands.find((x) => x.command === CMD_SEND_RELIABLE || x.command === CMD_SEND_UNRELIABLE);
  if (c === undefined) throw new Error('no SEND command');
  const start = c.offset + COMMAND_SIZE[c.command]! + 8;
  return datagram.subarray(start, c.offset + COMMAND_SIZE[c.command]! + c.dataLength);
}
