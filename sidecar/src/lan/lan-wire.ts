/**
 * The LAN lobby wire format: DNS-SD over multicast DNS (RFC 6762/6763), service
 * `_pkarr-lobby._udp.local`. An announcement is one mDNS response per lobby:
 *
 *   _pkarr-lobby._udp.local               PTR  <z32>._pkarr-lobby._udp.local
 *   _g<hex16>._sub._pkarr-lobby._udp.local PTR  <z32>._pkarr-lobby._udp.local   (game subtype)
 *   <z32>._pkarr-lobby._udp.local         TXT  "v=1" "s0=<bytes>" "s1=<bytes>" …
 *
 * The TXT carries the host's whole signed pkarr packet (pk ‖ sig ‖ ts ‖ dns, ≤ 1104 bytes) in
 * binary chunks of ≤ 250 bytes, so a LAN lobby is checked exactly like a DHT one: the chunks are
 * joined, `SignedPacket.fromBytes` verifies length, key and signature, the instance name must be
 * the packet's own key, then `parseLobby`. TTL 0 is a goodbye (RFC 6762 §10.1). The subtype
 * `_g<hex16>` is the first 8 bytes of the lobby's BEP5 topic (topic.ts) in hex, so a query for one
 * game version is answered only by its hosts. Pure functions: no sockets here.
 */
import type { Answer, Packet, Question } from 'dns-packet';
import { isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import { MAX_BYTES, SignedPacket } from '../core/signed-packet.ts';
import { lobbyTopic } from '../lobby/topic.ts';

export const LAN_SERVICE = '_pkarr-lobby._udp.local';
export const MDNS_PORT = 5353;
export const MDNS_GROUP_V4 = '224.0.0.251';
export const MDNS_GROUP_V6 = 'ff02::fb';
/** Largest mDNS message read (RFC 6762 §17: 9000 bytes); larger datagrams are dropped and counted. */
export const MAX_MESSAGE_BYTES = 9000;
/** Binary bytes per TXT chunk (`sN=` + value ≤ 255). */
const CHUNK_BYTES = 250;
const MAX_CHUNKS = Math.ceil(MAX_BYTES / CHUNK_BYTES);

/** Why a received announcement was dropped. */
export type LanRejection = 'malformed' | 'oversized' | 'unsupported' | 'badSignature' | 'keyMismatch';

export interface LanAnnouncement {
  packet: SignedPacket;
  /** mDNS TTL, seconds (0 = goodbye). */
  ttl: number;
}

export function lanInstanceName(key: PublicKey): string {
  return `${key.z32}.${LAN_SERVICE}`;
}

/** `_g<hex16>._sub._pkarr-lobby._udp.local` for one game version. */
export function lanGameSubtype(game: string, gameVersion: string): string {
  return `_g${Buffer.from(lobbyTopic(game, gameVersion).subarray(0, 8)).toString('hex')}._sub.${LAN_SERVICE}`;
}

/** The response announcing one lobby (its current signed packet) for `ttl` seconds (0 = goodbye). */
export function encodeAnnouncement(packet: SignedPacket, game: string, gameVersion: string, ttl: number): Packet {
  const instance = lanInstanceName(packet.publicKey);
  const bytes = Buffer.from(packet.toBytes());
  const txt: Buffer[] = [Buffer.from('v=1')];
  for (let i = 0, n = 0; i < bytes.length; i += CHUNK_BYTES, n++) {
    txt.push(Buffer.concat([Buffer.from(`s${n}=`), bytes.subarray(i, i + CHUNK_BYTES)]));
  }
  const answers: Answer[] = [
    { type: 'PTR', name: LAN_SERVICE, ttl, data: instance },
    { type: 'PTR', name: lanGameSubtype(game, gameVersion), ttl, data: instance },
    { type: 'TXT', name: instance, ttl, data: txt, flush: true },
  ];
  return { type: 'response', answers };
}

/** A query: every lobby of one game version, or one lobby by key (its TXT). */
export function encodeQuery(target: { game: string; gameVersion: string } | { key: PublicKey }): Packet {
  const questions: Question[] = 'key' in target
    ? [{ type: 'TXT', name: lanInstanceName(target.key) }]
    : [{ type: 'PTR', name: lanGameSubtype(target.game, target.gameVersion) }];
  return { type: 'query', questions };
}

/** What a query asks about: lobbies of a subtype, all lobbies, or one instance; null = not ours. */
export function queryTargets(message: Packet): { all: boolean; subtypes: Set<string>; instances: Set<string> } | null {
  const out = { all: false, subtypes: new Set<string>(), instances: new Set<string>() };
  for (const q of message.questions ?? []) {
    const name = q.name.toLowerCase();
    if (name === LAN_SERVICE && (q.type === 'PTR' || (q.type as string) === 'ANY')) out.all = true;
    else if (name.endsWith(`._sub.${LAN_SERVICE}`) && (q.type === 'PTR' || (q.type as string) === 'ANY')) out.subtypes.add(name);
    else if (name.endsWith(`.${LAN_SERVICE}`) && (q.type === 'TXT' || (q.type as string) === 'ANY')) out.instances.add(name);
  }
  return out.all || out.subtypes.size > 0 || out.instances.size > 0 ? out : null;
}

type Verdict = { ok: true; announcement: LanAnnouncement } | { ok: false; reason: LanRejection };

function chunksOf(data: unknown): Buffer[] | null {
  if (!Array.isArray(data)) return null;
  const out: Buffer[] = [];
  for (const item of data) {
    if (Buffer.isBuffer(item)) out.push(item);
    else if (typeof item === 'string') out.push(Buffer.from(item));
    else return null;
  }
  return out;
}

/** The signed packet bytes a TXT record of our service carries (chunks joined), not yet verified. */
export function txtPacketBytes(answer: Answer): { ok: true; bytes: Buffer } | { ok: false; reason: LanRejection } {
  if (answer.type !== 'TXT') return { ok: false, reason: 'malformed' };
  const strings = chunksOf(answer.data);
  if (strings === null) return { ok: false, reason: 'malformed' };
  let version: string | null = null;
  const parts: (Buffer | undefined)[] = [];
  let total = 0;
  for (const s of strings) {
    const eq = s.indexOf(0x3d);
    if (eq < 1) continue;
    const key = s.subarray(0, eq).toString('latin1').toLowerCase();
    const value = s.subarray(eq + 1);
    if (key === 'v') { version ??= value.toString('latin1'); continue; }
    const m = /^s([0-9]{1,2})$/.exec(key);
    if (m === null) continue; // unknown keys are ignored (RFC 6763 §6.4 style)
    const index = Number(m[1]);
    if (index >= MAX_CHUNKS || value.length > CHUNK_BYTES) return { ok: false, reason: 'oversized' };
    if (parts[index] !== undefined) continue; // duplicate: the first wins
    parts[index] = value;
    total += value.length;
  }
  if (version !== '1') return { ok: false, reason: version === null ? 'malformed' : 'unsupported' };
  if (total > MAX_BYTES) return { ok: false, reason: 'oversized' };
  if (parts.length === 0) return { ok: false, reason: 'malformed' };
  for (let i = 0; i < parts.length; i++) if (parts[i] === undefined) return { ok: false, reason: 'malformed' }; // a gap
  return { ok: true, bytes: Buffer.concat(parts as Buffer[]) };
}

/** Verifies joined packet bytes (signature) and that the TXT's instance name is the packet's key. */
export function verifyLobbyBytes(name: string, bytes: Uint8Array, ttl: number): Verdict {
  let packet: SignedPacket;
  try {
    packet = SignedPacket.fromBytes(bytes);
  } catch (err) {
    if (isPkarrError(err, 'INVALID_SIGNATURE')) return { ok: false, reason: 'badSignature' };
    if (isPkarrError(err, 'PACKET_TOO_LARGE')) return { ok: false, reason: 'oversized' };
    return { ok: false, reason: 'malformed' };
  }
  if (name.toLowerCase() !== lanInstanceName(packet.publicKey)) return { ok: false, reason: 'keyMismatch' };
  return { ok: true, announcement: { packet, ttl } };
}

/** A record's TTL, seconds (0 when absent). */
export function ttlOf(answer: Answer): number {
  return 'ttl' in answer ? answer.ttl ?? 0 : 0;
}

/** Checks one TXT record of our service: chunks, size, signature, instance = key. */
export function decodeLobbyTxt(answer: Answer): Verdict {
  const joined = txtPacketBytes(answer);
  return joined.ok ? verifyLobbyBytes(answer.name, joined.bytes, ttlOf(answer)) : joined;
}

/** Our TXT records in a response (answers and additionals). */
export function lobbyTxtRecords(message: Packet): Answer[] {
  return [...(message.answers ?? []), ...(message.additionals ?? [])]
    .filter((a) => a.type === 'TXT' && a.name.toLowerCase().endsWith(`.${LAN_SERVICE}`));
}

/** Every lobby TXT in a response (answers and additionals), verified; rejections listed. */
export function decodeAnnouncements(message: Packet): { announcements: LanAnnouncement[]; rejected: LanRejection[] } {
  const announcements: LanAnnouncement[] = [];
  const rejected: LanRejection[] = [];
  for (const answer of lobbyTxtRecords(message)) {
    const verdict = decodeLobbyTxt(answer);
    if (verdict.ok) announcements.push(verdict.announcement);
    else rejected.push(verdict.reason);
  }
  return { announcements, rejected };
}
