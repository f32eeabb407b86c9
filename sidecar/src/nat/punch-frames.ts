/**
 * The punch frames (docs/nat.md §3, "Frame layout"): every datagram of the puncher and of the game
 * tunnel on the punch socket is one frame. Pure: encoding and strict decoding, no I/O.
 *
 * Common header (11 bytes):
 *   0      magic 0xD0 (never `d` 0x64, the first byte of every KRPC message)
 *   1      version 1
 *   2      type: 1 PROBE, 2 HELLO, 3 WELCOME, 4 DATA, 5 KEEPALIVE, 6 BYE
 *   3..10  session id (8 bytes; chosen by the joiner, all zero in PROBE)
 * Body by type (exact lengths, anything else is rejected):
 *   PROBE      32 bytes  the host's public key                       (43 bytes in all)
 *   HELLO      16 bytes  nonce, then 54 zero bytes of padding         (81 bytes: never smaller than WELCOME)
 *   WELCOME     6 bytes  the joiner's address as the host saw it (IPv4, port big-endian),
 *              64 bytes  Ed25519 signature by the host key over welcomeMessage()  (81 bytes)
 *   DATA       1..1400   a game datagram                              (≤ 1411 bytes)
 *   KEEPALIVE   0
 *   BYE         0
 * Frames are untrusted input: decodeFrame() never throws on bytes and says why it rejected them.
 */
import { isIPv4 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import type { UdpAddress } from './udp-channel.ts';

/** First byte of every punch frame (the punch socket demultiplexes on it). */
export const PUNCH_MAGIC = 0xd0;
export const PUNCH_VERSION = 1;
export const HEADER_BYTES = 11;
export const SESSION_BYTES = 8;
export const NONCE_BYTES = 16;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** Largest game datagram a DATA frame carries (ENet's default MTU). */
export const MAX_DATA_BYTES = 1400;
/** Largest frame of any type. */
export const MAX_FRAME_BYTES = HEADER_BYTES + MAX_DATA_BYTES;
const ADDRESS_BYTES = 6;
const WELCOME_BODY = ADDRESS_BYTES + SIGNATURE_BYTES;
/** HELLO is padded to WELCOME's length, so answering it amplifies nothing. */
const HELLO_BODY = WELCOME_BODY;
const PROBE_BODY = PUBLIC_KEY_BYTES;
/** Domain separation for the WELCOME signature. */
const WELCOME_CONTEXT = Buffer.from('pkarr-godot-punch:v1:welcome:', 'latin1');

export const FrameType = {
  PROBE: 1,
  HELLO: 2,
  WELCOME: 3,
  DATA: 4,
  KEEPALIVE: 5,
  BYE: 6,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

interface FrameBase {
  /** 8 bytes. */
  session: Buffer;
}
export type Frame =
  | (FrameBase & { type: typeof FrameType.PROBE; hostKey: Buffer })
  | (FrameBase & { type: typeof FrameType.HELLO; nonce: Buffer })
  | (FrameBase & { type: typeof FrameType.WELCOME; observed: UdpAddress; signature: Buffer })
  | (FrameBase & { type: typeof FrameType.DATA; payload: Buffer })
  | (FrameBase & { type: typeof FrameType.KEEPALIVE })
  | (FrameBase & { type: typeof FrameType.BYE });

/** Why a datagram is not a frame. */
export type FrameReject = 'short' | 'magic' | 'version' | 'type' | 'length' | 'padding' | 'oversized';

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; reason: FrameReject };

/** The all-zero session id PROBE frames carry. */
export const NO_SESSION: Buffer = Buffer.alloc(SESSION_BYTES);

function header(type: FrameTypeCode, session: Uint8Array, bodyLength: number): Buffer {
  if (!(session instanceof Uint8Array) || session.length !== SESSION_BYTES) {
    throw new PkarrError('INVALID_ARGUMENT', `punch frame session id must be ${SESSION_BYTES} bytes`);
  }
  const out = Buffer.alloc(HEADER_BYTES + bodyLength);
  out[0] = PUNCH_MAGIC;
  out[1] = PUNCH_VERSION;
  out[2] = type;
  out.set(session, 3);
  return out;
}

function exact(bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new PkarrError('INVALID_ARGUMENT', `${what} must be ${length} bytes`);
  }
  return bytes;
}

function writeAddress(out: Buffer, offset: number, address: UdpAddress): void {
  if (!isIPv4(address.host) || !Number.isInteger(address.port) || address.port < 0 || address.port > 65535) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid IPv4 address ${address.host}:${String(address.port)}`);
  }
  const parts = address.host.split('.').map(Number);
  for (let i = 0; i < 4; i++) out[offset + i] = parts[i]!;
  out.writeUInt16BE(address.port, offset + 4);
}

function readAddress(bytes: Buffer, offset: number): UdpAddress {
  return { host: `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`, port: bytes.readUInt16BE(offset + 4) };
}

export function encodeProbe(hostKey: Uint8Array): Buffer {
  const out = header(FrameType.PROBE, NO_SESSION, PROBE_BODY);
  out.set(exact(hostKey, PUBLIC_KEY_BYTES, 'host key'), HEADER_BYTES);
  return out;
}

export function encodeHello(session: Uint8Array, nonce: Uint8Array): Buffer {
  const out = header(FrameType.HELLO, session, HELLO_BODY);
  out.set(exact(nonce, NONCE_BYTES, 'HELLO nonce'), HEADER_BYTES);
  return out;
}

export function encodeWelcome(session: Uint8Array, observed: UdpAddress, signature: Uint8Array): Buffer {
  const out = header(FrameType.WELCOME, session, WELCOME_BODY);
  writeAddress(out, HEADER_BYTES, observed);
  out.set(exact(signature, SIGNATURE_BYTES, 'WELCOME signature'), HEADER_BYTES + ADDRESS_BYTES);
  return out;
}

/** A DATA frame; throws INVALID_ARGUMENT for an empty payload or one over MAX_DATA_BYTES. */
export function encodeData(session: Uint8Array, payload: Uint8Array): Buffer {
  if (!(payload instanceof Uint8Array) || payload.length === 0 || payload.length > MAX_DATA_BYTES) {
    throw new PkarrError('INVALID_ARGUMENT', `a game datagram must be 1..${MAX_DATA_BYTES} bytes, got ${payload?.length ?? 0}`);
  }
  const out = header(FrameType.DATA, session, payload.length);
  out.set(payload, HEADER_BYTES);
  return out;
}

export function encodeKeepalive(session: Uint8Array): Buffer {
  return header(FrameType.KEEPALIVE, session, 0);
}

export function encodeBye(session: Uint8Array): Buffer {
  return header(FrameType.BYE, session, 0);
}

/**
 * The bytes the host signs in WELCOME: context ‖ nonce (16) ‖ session (8) ‖ the joiner's address
 * as the host saw it (6) ‖ the host's public key (32). The joiner rebuilds them from its HELLO, the
 * WELCOME's `observed` and the key of the lobby it resolved.
 */
export function welcomeMessage(nonce: Uint8Array, session: Uint8Array, observed: UdpAddress, hostKey: Uint8Array): Buffer {
  const out = Buffer.alloc(WELCOME_CONTEXT.length + NONCE_BYTES + SESSION_BYTES + ADDRESS_BYTES + PUBLIC_KEY_BYTES);
  let at = 0;
  out.set(WELCOME_CONTEXT, at); at += WELCOME_CONTEXT.length;
  out.set(exact(nonce, NONCE_BYTES, 'nonce'), at); at += NONCE_BYTES;
  out.set(exact(session, SESSION_BYTES, 'session id'), at); at += SESSION_BYTES;
  writeAddress(out, at, observed); at += ADDRESS_BYTES;
  out.set(exact(hostKey, PUBLIC_KEY_BYTES, 'host key'), at);
  return out;
}

function allZero(bytes: Buffer, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Strictly decodes one datagram. Never throws for any input; views into `bytes` are copied. */
export function decodeFrame(bytes: Buffer): DecodeResult {
  if (bytes.length > MAX_FRAME_BYTES) return { ok: false, reason: 'oversized' };
  if (bytes.length < HEADER_BYTES) return { ok: false, reason: 'short' };
  if (bytes[0] !== PUNCH_MAGIC) return { ok: false, reason: 'magic' };
  if (bytes[1] !== PUNCH_VERSION) return { ok: false, reason: 'version' };
  const session = Buffer.from(bytes.subarray(3, HEADER_BYTES));
  const body = bytes.length - HEADER_BYTES;
  switch (bytes[2]) {
    case FrameType.PROBE:
      if (body !== PROBE_BODY || !session.equals(NO_SESSION)) return { ok: false, reason: 'length' };
      return { ok: true, frame: { type: FrameType.PROBE, session, hostKey: Buffer.from(bytes.subarray(HEADER_BYTES)) } };
    case FrameType.HELLO:
      if (body !== HELLO_BODY) return { ok: false, reason: 'length' };
      if (!allZero(bytes, HEADER_BYTES + NONCE_BYTES)) return { ok: false, reason: 'padding' };
      return { ok: true, frame: { type: FrameType.HELLO, session, nonce: Buffer.from(bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES)) } };
    case FrameType.WELCOME:
      if (body !== WELCOME_BODY) return { ok: false, reason: 'length' };
      return {
        ok: true,
        frame: {
          type: FrameType.WELCOME,
          session,
          observed: readAddress(bytes, HEADER_BYTES),
          signature: Buffer.from(bytes.subarray(HEADER_BYTES + ADDRESS_BYTES)),
        },
      };
    case FrameType.DATA:
      if (body === 0) return { ok: false, reason: 'length' };
      return { ok: true, frame: { type: FrameType.DATA, session, payload: Buffer.from(bytes.subarray(HEADER_BYTES)) } };
    case FrameType.KEEPALIVE:
      if (body !== 0) return { ok: false, reason: 'length' };
      return { ok: true, frame: { type: FrameType.KEEPALIVE, session } };
    case FrameType.BYE:
      if (body !== 0) return { ok: false, reason: 'length' };
      return { ok: true, frame: { type: FrameType.BYE, session } };
    default:
      return { ok: false, reason: 'type' };
  }
}
