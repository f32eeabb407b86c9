/**
 * The two UDP port-mapping protocols a router may speak on port 5351, as pure codecs:
 *
 * - NAT-PMP (RFC 6886): version 0; opcode 0 asks the external IPv4 address, 1/2 map UDP/TCP.
 * - PCP (RFC 6887): version 2; ANNOUNCE (opcode 0) probes for a server, MAP (opcode 1) creates,
 *   renews (same nonce) or deletes (lifetime 0) a mapping and names the external address.
 *
 * Gateway answers are untrusted: every decoder checks the length, version, opcode and the fields
 * it reads and returns a reason instead of throwing, so a malformed datagram is just ignored.
 */
import { isIPv4 } from 'node:net';

export const GATEWAY_PORT = 5351;

export type MappingProtocol = 'UDP' | 'TCP';

/** Result codes of NAT-PMP (RFC 6886 §3.5). */
const PMP_RESULTS: Record<number, string> = {
  1: 'unsupported version',
  2: 'not authorized/refused (NAT-PMP disabled or the port is not allowed)',
  3: 'network failure (the gateway has no external address)',
  4: 'out of resources (no ports left)',
  5: 'unsupported opcode',
};

/** Result codes of PCP (RFC 6887 §7.4). */
const PCP_RESULTS: Record<number, string> = {
  1: 'UNSUPP_VERSION', 2: 'NOT_AUTHORIZED', 3: 'MALFORMED_REQUEST', 4: 'UNSUPP_OPCODE', 5: 'UNSUPP_OPTION',
  6: 'MALFORMED_OPTION', 7: 'NETWORK_FAILURE', 8: 'NO_RESOURCES', 9: 'UNSUPP_PROTOCOL', 10: 'USER_EX_QUOTA',
  11: 'CANNOT_PROVIDE_EXTERNAL', 12: 'ADDRESS_MISMATCH', 13: 'EXCESSIVE_REMOTE_PEERS',
};

export function pmpResultText(code: number): string {
  return PMP_RESULTS[code] ?? `result code ${code}`;
}

export function pcpResultText(code: number): string {
  return PCP_RESULTS[code] ?? `result code ${code}`;
}

/**
 * A decoder's verdict: the value, or why the datagram is not an acceptable answer. `final` marks
 * an answer to our request that refuses it (a result code): the exchange ends there. Anything
 * else (short, wrong version or opcode, another nonce) is ignored and the exchange goes on.
 */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string; final: boolean };

type Failure = { ok: false; reason: string; final: boolean };
const fail = (reason: string): Failure => ({ ok: false, reason, final: false });
const refused = (reason: string): Failure => ({ ok: false, reason, final: true });

// ---------------------------------------------------------------- NAT-PMP

const PMP_OP_ADDRESS = 0;
const PMP_OP_UDP = 1;
const PMP_OP_TCP = 2;

export function encodePmpAddressRequest(): Buffer {
  return Buffer.from([0, PMP_OP_ADDRESS]);
}

/** A map request; lifetime 0 with external port 0 deletes the mapping of `internalPort`. */
export function encodePmpMapRequest(protocol: MappingProtocol, internalPort: number, externalPort: number, lifetimeSeconds: number): Buffer {
  const buf = Buffer.alloc(12);
  buf[0] = 0;
  buf[1] = protocol === 'UDP' ? PMP_OP_UDP : PMP_OP_TCP;
  buf.writeUInt16BE(internalPort, 4);
  buf.writeUInt16BE(externalPort, 6);
  buf.writeUInt32BE(lifetimeSeconds, 8);
  return buf;
}

export interface PmpAddressAnswer { epoch: number; address: string }
export interface PmpMapAnswer { epoch: number; internalPort: number; externalPort: number; lifetimeSeconds: number }

/** The common header of a NAT-PMP answer to opcode `op`; a non-zero result code is a failure. */
function pmpHeader(msg: Buffer, op: number, length: number): Decoded<{ epoch: number }> {
  if (msg.length < 4) return fail(`NAT-PMP answer of ${msg.length} bytes is too short`);
  if (msg[0] !== 0) return fail(`NAT-PMP answer has version ${msg[0]}, expected 0`);
  if (msg[1] !== 128 + op) return fail(`NAT-PMP answer has opcode ${msg[1]}, expected ${128 + op}`);
  const result = msg.readUInt16BE(2);
  if (result !== 0) return refused(`NAT-PMP: ${pmpResultText(result)}`);
  if (msg.length < length) return fail(`NAT-PMP answer of ${msg.length} bytes is too short (expected ${length})`);
  return { ok: true, value: { epoch: msg.readUInt32BE(4) } };
}

export function decodePmpAddressAnswer(msg: Buffer): Decoded<PmpAddressAnswer> {
  const head = pmpHeader(msg, PMP_OP_ADDRESS, 12);
  if (!head.ok) return head;
  return { ok: true, value: { epoch: head.value.epoch, address: `${msg[8]}.${msg[9]}.${msg[10]}.${msg[11]}` } };
}

export function decodePmpMapAnswer(msg: Buffer, protocol: MappingProtocol, internalPort: number): Decoded<PmpMapAnswer> {
  const head = pmpHeader(msg, protocol === 'UDP' ? PMP_OP_UDP : PMP_OP_TCP, 16);
  if (!head.ok) return head;
  const answeredPort = msg.readUInt16BE(8);
  if (answeredPort !== internalPort) return fail(`NAT-PMP answer is for internal port ${answeredPort}, expected ${internalPort}`);
  return {
    ok: true,
    value: { epoch: head.value.epoch, internalPort: answeredPort, externalPort: msg.readUInt16BE(10), lifetimeSeconds: msg.readUInt32BE(12) },
  };
}

// ---------------------------------------------------------------- PCP

const PCP_VERSION = 2;
const PCP_OP_ANNOUNCE = 0;
const PCP_OP_MAP = 1;
const PCP_HEADER = 24;
const PCP_MAP_BODY = 36;
/** Largest PCP message (RFC 6887 §7). */
export const PCP_MAX_MESSAGE = 1100;

/** An IPv4 address as the 16-byte IPv4-mapped IPv6 form PCP uses. */
function mappedIPv4(address: string): Buffer {
  const out = Buffer.alloc(16);
  out[10] = 0xff;
  out[11] = 0xff;
  if (address !== '0.0.0.0') {
    if (!isIPv4(address)) throw new RangeError(`not an IPv4 address: ${address}`);
    address.split('.').forEach((part, i) => { out[12 + i] = Number(part); });
  }
  return out;
}

/** The IPv4 address of an IPv4-mapped 16-byte field, or null when it is not one. */
function fromMappedIPv4(field: Buffer): string | null {
  for (let i = 0; i < 10; i++) if (field[i] !== 0) return null;
  if (field[10] !== 0xff || field[11] !== 0xff) return null;
  return `${field[12]}.${field[13]}.${field[14]}.${field[15]}`;
}

function pcpRequestHeader(op: number, lifetimeSeconds: number, clientAddress: string, bodyLength: number): Buffer {
  const buf = Buffer.alloc(PCP_HEADER + bodyLength);
  buf[0] = PCP_VERSION;
  buf[1] = op; // R bit 0: request
  buf.writeUInt32BE(lifetimeSeconds, 4);
  mappedIPv4(clientAddress).copy(buf, 8);
  return buf;
}

/** ANNOUNCE: the probe for a PCP server (lifetime 0, no body). */
export function encodePcpAnnounceRequest(clientAddress: string): Buffer {
  return pcpRequestHeader(PCP_OP_ANNOUNCE, 0, clientAddress, 0);
}

export interface PcpMapRequest {
  /** 12 random bytes; the same nonce renews or deletes the mapping. */
  nonce: Buffer;
  protocol: MappingProtocol;
  internalPort: number;
  /** Suggested external port (0: any). */
  externalPort: number;
  /** Suggested external address ('0.0.0.0': any). */
  externalAddress: string;
  /** 0 deletes the mapping. */
  lifetimeSeconds: number;
  /** This host's address on the link to the gateway (the packet's source address). */
  clientAddress: string;
}

export function encodePcpMapRequest(request: PcpMapRequest): Buffer {
  if (request.nonce.length !== 12) throw new RangeError('PCP nonce must be 12 bytes');
  const buf = pcpRequestHeader(PCP_OP_MAP, request.lifetimeSeconds, request.clientAddress, PCP_MAP_BODY);
  request.nonce.copy(buf, PCP_HEADER);
  buf[PCP_HEADER + 12] = request.protocol === 'UDP' ? 17 : 6;
  buf.writeUInt16BE(request.internalPort, PCP_HEADER + 16);
  buf.writeUInt16BE(request.externalPort, PCP_HEADER + 18);
  mappedIPv4(request.externalAddress).copy(buf, PCP_HEADER + 20);
  return buf;
}

export interface PcpAnswerHeader { opcode: number; result: number; lifetimeSeconds: number; epoch: number }
/** `externalAddress` is null when the answer names no IPv4 address (e.g. a deletion answered with `::`). */
export interface PcpMapAnswer { epoch: number; lifetimeSeconds: number; externalPort: number; externalAddress: string | null }

/** A PCP answer's header; `result` is returned (not failed) so the caller can name it. */
export function decodePcpHeader(msg: Buffer): Decoded<PcpAnswerHeader> {
  // A NAT-PMP-only gateway answers a PCP request with a short NAT-PMP "unsupported version" (RFC 6887 §9).
  if (msg.length >= 4 && msg.length < PCP_HEADER && msg[0] === 0) return refused('the gateway speaks NAT-PMP only (answered PCP with version 0)');
  if (msg.length < PCP_HEADER) return fail(`PCP answer of ${msg.length} bytes is too short`);
  if (msg.length > PCP_MAX_MESSAGE || msg.length % 4 !== 0) return fail(`PCP answer of ${msg.length} bytes has an invalid length`);
  if (msg[0] !== PCP_VERSION) return fail(`PCP answer has version ${msg[0]}, expected 2`);
  const op = msg[1]!;
  if ((op & 0x80) === 0) return fail('PCP datagram is a request, not an answer');
  return { ok: true, value: { opcode: op & 0x7f, result: msg[3]!, lifetimeSeconds: msg.readUInt32BE(4), epoch: msg.readUInt32BE(8) } };
}

export function decodePcpAnnounceAnswer(msg: Buffer): Decoded<PcpAnswerHeader> {
  const head = decodePcpHeader(msg);
  if (!head.ok) return head;
  if (head.value.opcode !== PCP_OP_ANNOUNCE) return fail(`PCP answer has opcode ${head.value.opcode}, expected ANNOUNCE`);
  if (head.value.result !== 0) return refused(`PCP: ${pcpResultText(head.value.result)}`);
  return head;
}

/** A MAP answer matching `request` (nonce, protocol and internal port must all match). */
export function decodePcpMapAnswer(msg: Buffer, request: Pick<PcpMapRequest, 'nonce' | 'protocol' | 'internalPort'>): Decoded<PcpMapAnswer> {
  const head = decodePcpHeader(msg);
  if (!head.ok) return head;
  if (head.value.opcode !== PCP_OP_MAP) return fail(`PCP answer has opcode ${head.value.opcode}, expected MAP`);
  if (msg.length < PCP_HEADER + PCP_MAP_BODY) return fail(`PCP MAP answer of ${msg.length} bytes is too short`);
  const body = msg.subarray(PCP_HEADER, PCP_HEADER + PCP_MAP_BODY);
  if (!body.subarray(0, 12).equals(request.nonce)) return fail('PCP MAP answer carries another nonce');
  const proto = body[12];
  if (proto !== (request.protocol === 'UDP' ? 17 : 6)) return fail(`PCP MAP answer is for IP protocol ${proto}`);
  const internalPort = body.readUInt16BE(16);
  if (internalPort !== request.internalPort) return fail(`PCP MAP answer is for internal port ${internalPort}, expected ${request.internalPort}`);
  // The nonce matched: this answer is ours, so a failure result is final.
  if (head.value.result !== 0) return refused(`PCP: ${pcpResultText(head.value.result)}`);
  const externalAddress = fromMappedIPv4(body.subarray(20, 36));
  return {
    ok: true,
    value: { epoch: head.value.epoch, lifetimeSeconds: head.value.lifetimeSeconds, externalPort: body.readUInt16BE(18), externalAddress },
  };
}
