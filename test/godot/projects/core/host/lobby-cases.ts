/**
 * Lobby, directory, short-code and public-seed cases for the GDScript core, made with the
 * sidecar's own lobby code (signLobby, parseLobby, lobbyToJson, readSlot, solvePow, ...).
 */
import { createHash } from 'node:crypto';
import { PublicKey } from '../../../../../sidecar/src/core/keys.ts';
import type { DnsRecord } from '../../../../../sidecar/src/core/records.ts';
import { SignedPacket } from '../../../../../sidecar/src/core/signed-packet.ts';
import { z32Encode } from '../../../../../sidecar/src/core/z32.ts';
import { encodeSlot, entryText, readSlot, type DirectoryEntry } from '../../../../../sidecar/src/lobby/directory-record.ts';
import { powPrefix, solvePow, checkPow } from '../../../../../sidecar/src/lobby/directory-pow.ts';
import { directoryId, directoryWindow, homeSlot, slotKeypair, slotSeedText, windowBounds } from '../../../../../sidecar/src/lobby/directory-slots.ts';
import { lobbyErrorReason } from '../../../../../sidecar/src/lobby/lobby-errors.ts';
import { checkFoundLobby } from '../../../../../sidecar/src/lobby/lobby-lookup.ts';
import { parseLobby, signLobby, type LobbyInfo } from '../../../../../sidecar/src/lobby/lobby-record.ts';
import { publicKeypairOf } from '../../../../../sidecar/src/lobby/public-keypair.ts';
import { encodeShortCode, hostOfSlot, parseShortCode, shortCodeOf, shortCodeSlotKeypair, slotCandidates, SHORT_CODE_SLOT_PREFIX } from '../../../../../sidecar/src/lobby/short-code.ts';
import { lobbyTopic } from '../../../../../sidecar/src/lobby/topic.ts';
import { lobbyToJson } from '../../../../../sidecar/src/rpc/lobby-methods.ts';
import { recordsFromJson } from '../../../../../sidecar/src/rpc/record-json.ts';
import { errorCode, hex, keypairOf, type Json } from './case-support.ts';

const TS = 1_765_000_000_000_000n;
/** 32 bytes that are not a curve point, in canonical z32 (pkarr's `invalid_key` test key). */
const NOT_A_POINT = z32Encode(new Uint8Array(Buffer.from('6482a31e25b0007a31038ae9a2d3835afa10df86366fb3c4bacaf70a1e9f5867', 'hex')));
const NOW = TS + 5_000_000n;

const BASE: LobbyInfo = { game: 'demo', gameVersion: '1.0', name: "Alice's room", players: 2, maxPlayers: 8, open: true, endpoints: [{ transport: 'enet', host: '203.0.113.7', port: 7777 }] };
const INFOS: Record<string, LobbyInfo> = {
  minimal: BASE,
  rich: {
    ...BASE, name: 'Zoë 🎮 ctf', custom: { mode: 'ctf', map: 'de_dust=2', __proto__x: 'no' } as Record<string, string>, beaconPort: 41000, reach: 'cone', ttl: 120,
    endpoints: [
      { transport: 'enet', host: '203.0.113.7', port: 7777 }, { transport: 'ws', host: 'game.example.com', port: 443, alpn: ['h2'] },
      { transport: 'enet', host: '2001:db8::7', port: 7778 }, { transport: 'webrtc', host: '198.51.100.2', port: 9000 },
    ],
  },
  closed_full: { ...BASE, players: 8, open: false, reach: 'symmetric', endpoints: [] },
  admission: { ...BASE, admission: true, reach: 'public' } as LobbyInfo,
};

/** Hand-made lobby records (publish JSON), most of them invalid. */
const RECORDS: Record<string, unknown[]> = {
  no_lobby: [{ type: 'A', name: '@', ttl: 60, address: '1.2.3.4' }],
  no_version: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['game=demo'] }],
  schema_2: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=2', 'game=demo'] }],
  missing: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo', 'gv=1'] }],
  bad_number: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo', 'gv=1', 'name=x', 'players=02', 'max=8', 'open=1'] }],
  bad_open: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo', 'gv=1', 'name=x', 'players=x', 'max=8', 'open=yes'] }],
  too_many_players: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo', 'gv=1', 'name=x', 'players=9', 'max=8', 'open=1'] }],
  blank_name: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo', 'gv=1', 'name=\u00a0 ', 'players=1', 'max=8', 'open=1'] }],
  control_name: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo', 'gv=1', 'name=a\u202eb', 'players=1', 'max=8', 'open=1'] }],
  bad_game: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=de mo', 'gv=1', 'name=x', 'players=1', 'max=8', 'open=1'] }],
  bad_beacon: [{ type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo', 'gv=1', 'name=x', 'players=1', 'max=8', 'open=1', 'beacon=0'] }],
  odd_but_valid: [
    { type: 'TXT', name: '_lobby', ttl: 90, strings: ['V=1', 'GAME=demo', 'game=other', 'gv=1.2+b', 'name=a=b c', 'players=0', 'max=65535', 'open=0', 'flag', '=skip', 'reach=weird', 'admit=2', 'x-UP=no', 'x-ok=yes', 'x-__proto__=p'] },
    { type: 'TXT', name: '_lobby', ttl: 30, strings: ['x-more=1'] },
    { type: 'TXT', name: '_lobby.sub', ttl: 10, strings: ['x-ignored=1'] },
    { type: 'A', name: '@', ttl: 60, address: '192.0.2.1' }, { type: 'AAAA', name: '@', ttl: 60, address: '2001:db8:0:0:0:0:0:1' },
    { type: 'SVCB', name: '_enet', ttl: 60, priority: 2, target: '.', params: { port: 2000 } },
    { type: 'SVCB', name: '_enet', ttl: 60, priority: 1, target: '.', params: { port: 1000, ipv4hint: ['192.0.2.9'] } },
    { type: 'SVCB', name: '_enet', ttl: 60, priority: 1, target: '.', params: { port: 1000, ipv4hint: ['192.0.2.9'] } },
    { type: 'SVCB', name: '_ws', ttl: 60, priority: 0, target: 'alias.example.com' },
    { type: 'SVCB', name: '_Bad', ttl: 60, priority: 1, target: '.', params: { port: 1 } },
    { type: 'SVCB', name: '_noport', ttl: 60, priority: 1, target: '.', params: { ipv4hint: ['192.0.2.3'] } },
    { type: 'HTTPS', name: '_https', ttl: 60, priority: 1, target: '.', params: { port: 443 } },
    { type: 'SVCB', name: '_quic', ttl: 60, priority: 1, target: 'h.example.org', params: { port: 4433, alpn: ['q1', 'q2'] } },
  ],
};

function lobbyCase(name: string, packet: SignedPacket, check?: { game?: string; gameVersion?: string; allowClosed?: boolean; now?: bigint }): Json {
  const z32 = packet.publicKey.z32;
  const base = { name, z32, body: hex(packet.toRelayPayload()), now: NOW.toString(), source: 'relay' };
  try {
    const lobby = parseLobby(packet);
    const json = JSON.parse(JSON.stringify(lobbyToJson(lobby, 'relay', NOW))) as Json;
    if (check === undefined) return { ...base, ok: true, lobby: json };
    const at = check.now ?? NOW;
    try {
      checkFoundLobby(lobby, { ...check, now: () => at });
      return { ...base, ok: true, lobby: json, check: { ...check, now: at.toString(), ok: true } };
    } catch (err) {
      return { ...base, ok: true, lobby: json, check: { ...check, now: at.toString(), ok: false, reason: lobbyErrorReason(err), code: errorCode(err) } };
    }
  } catch (err) {
    return { ...base, ok: false, reason: lobbyErrorReason(err), code: errorCode(err) };
  }
}

/** Lobby records with one attribute of a valid lobby changed, dropped, repeated or added. */
function mutatedLobbies(random: () => number): Json[] {
  const values = ['', '0', '01', '1', '8', '99999', '100000', 'x', ' ', 'é', 'a\u202eb', '1.5', '-1', 'yes', 'demo', '1.0', 'cone', 'unknown', 'd e', 'x'.repeat(70)];
  const keys = ['v', 'game', 'gv', 'name', 'players', 'max', 'open', 'beacon', 'reach', 'admit', 'x-mode', 'x-Bad', 'X-up', 'GAME', 'Players', ''];
  const out: Json[] = [];
  for (let i = 0; i < 120; i++) {
    const base = signLobby(keypairOf('mutant-base'), INFOS[i % 2 === 0 ? 'minimal' : 'rich']!, { timestamp: TS });
    const records = base.records.map((r) => ({ ...r })) as DnsRecord[];
    const txt = records[0] as DnsRecord & { strings: string[] };
    const strings = [...txt.strings];
    const at = Math.floor(random() * strings.length);
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
    const what = random();
    if (what < 0.2) strings.splice(at, 1);
    else if (what < 0.6) strings[at] = `${strings[at]!.split('=')[0]}=${pick(values)}`;
    else if (what < 0.8) strings.splice(at, 0, `${pick(keys)}=${pick(values)}`);
    else strings.push(`${pick(keys)}=${pick(values)}`);
    txt.strings = strings;
    const kp = keypairOf(`mutant-${i}`);
    const relative = records.map((r) => ({ ...r, name: r.name.replace(`.${base.publicKey.z32}`, '').replace(base.publicKey.z32, '@') })) as DnsRecord[];
    out.push(lobbyCase(`mutant-${i}`, SignedPacket.sign(kp, relative, { timestamp: TS })));
  }
  return out;
}

function lobbies(random: () => number): Json[] {
  const out: Json[] = [...mutatedLobbies(random)];
  for (const [name, info] of Object.entries(INFOS)) out.push(lobbyCase(name, signLobby(keypairOf(`lobby-${name}`), info, { timestamp: TS })));
  for (const [name, records] of Object.entries(RECORDS)) {
    const kp = keypairOf(`records-${name}`);
    out.push(lobbyCase(name, SignedPacket.sign(kp, recordsFromJson(records, kp.publicKey.z32), { timestamp: TS })));
  }
  const packet = signLobby(keypairOf('lobby-checks'), INFOS['closed_full']!, { timestamp: TS });
  const checks = [{}, { allowClosed: true }, { game: 'other' }, { game: 'demo', gameVersion: '2.0' }, { allowClosed: true, now: TS + 61_000_000n }, { allowClosed: true, now: TS + 60_000_000n }];
  checks.forEach((check, i) => out.push(lobbyCase(`check-${i}`, packet, check)));
  return out;
}

async function directory(): Promise<Json> {
  const dir = directoryId('demo', '1.0');
  const window = directoryWindow(TS);
  const { start } = windowBounds(window);
  const prefix = powPrefix(dir, window);
  const hosts = [0, 1, 2].map((i) => keypairOf(`host-${i}`).publicKey);
  const entry = async (key: string, time: number): Promise<string> => `${key}:${time}:${(await solvePow(prefix, `${key}:${time}:`)).nonce}`;
  const good = await Promise.all(hosts.map((h, i) => entry(h.z32, start + 10 * i)));
  const older = await entry(hosts[0]!.z32, start + 1);
  const same = await entry(hosts[2]!.z32, start + 20); // same time as host 2's: kept once
  const [, time, nonce] = good[1]!.split(':');
  let badNonce = Number(nonce) + 1;
  while (checkPow(prefix, `${hosts[1]!.z32}:${time}:${badNonce}`)) badNonce++;
  const z = hosts[0]!.z32;
  const nonCanonical = `${z.slice(0, 51)}${'ybndrfg8ejkmcpqxot1uwisza345h769'[('ybndrfg8ejkmcpqxot1uwisza345h769'.indexOf(z[51]!) ^ 1)]}`;
  // Good entries in records of their own, the refused ones together (the slot must fit 1000 bytes).
  const records: DnsRecord[] = [good[0]!, older, good[1]!, same].map((s) => ({ type: 'TXT', name: '_lobbies', ttl: 60, strings: [s] }));
  records.push(
    { type: 'TXT', name: '_lobbies', ttl: 60, strings: [`${hosts[1]!.z32}:${time}:${badNonce}`, `${z}:${start - 1}:5`, 'junk', await entry(NOT_A_POINT, start + 40), await entry(nonCanonical, start + 30), `${z.slice(0, 20)}:1:1`] },
    { type: 'TXT', name: '_lobbies', ttl: 60, strings: [good[2]!, good[2]!] },
    { type: 'TXT', name: '_other', ttl: 60, strings: ['x'] },
  );
  const slot = slotKeypair(dir, window, 3);
  const packet = SignedPacket.sign(slot, records, { timestamp: TS });
  const read = readSlot(packet, dir, window);
  const seeds = Array.from({ length: dir.slots }, (_, s) => {
    const text = slotSeedText(dir, window, s);
    return { slot: s, text, seed: hex(createHash('sha256').update(text).digest()), z32: slotKeypair(dir, window, s).publicKey.z32 };
  });
  // Writing: the smallest nonces, and the newest entries that fit a slot.
  const pow = await Promise.all(hosts.slice(0, 2).map(async (h, i) => {
    const stem = `${h.z32}:${start + 100 + i}:`;
    return { prefix, stem, nonce: (await solvePow(prefix, stem)).nonce };
  }));
  const many: DirectoryEntry[] = Array.from({ length: 16 }, (_, i) => ({ hostKey: keypairOf(`writer-host-${i % 14}`).publicKey, time: start + (i * 37) % 300, nonce: 1000 + i }));
  const written = encodeSlot(slot, many, TS);
  const asJson = (e: DirectoryEntry): Json => ({ hostKey: e.hostKey.z32, time: e.time, nonce: e.nonce });
  return {
    pow, write: { entries: many.map(asJson), dns: hex(written.packet.dns), kept: written.kept.map(asJson), dropped: written.dropped.map(asJson) },
    game: dir.game, gameVersion: dir.gameVersion, window, now: TS.toString(), slotZ32: slot.publicKey.z32, body: hex(packet.toRelayPayload()),
    expect: { entries: read.entries.map((e) => ({ hostKey: e.hostKey.z32, time: e.time, nonce: e.nonce })), total: read.total, rejected: read.rejected },
    seeds, homeSlots: hosts.map((h) => ({ host: h.z32, slots: [1, 8, 64].map((n) => homeSlot(h, window, n)) })),
    entryText: entryText({ hostKey: hosts[0]!, time: start, nonce: 7 }),
  };
}

async function shortCodes(random: () => number): Promise<Json> {
  const inputs = ['K7M4Q-X9PT2', 'k7m4q x9pt2', ' K7M4QX9PT2 ', 'OILOO-ILOIL', 'K7M4Q-X9PTU', 'K7M4Q-X9PT', 'K7M4Q-X9PT23', '', 'K7M4Q--X9PT2', 'K7M4Q_X9PT2', `${'-'.repeat(35)}K7M4QX9PT2`];
  const parsed = inputs.map((input) => ({ input, canonical: parseShortCode(input) ?? '' }));
  const encoded = Array.from({ length: 20 }, () => {
    const bytes = Uint8Array.from({ length: 7 }, () => Math.floor(random() * 256));
    return { hex: hex(bytes), code: encodeShortCode(bytes) };
  });
  const keys = [0, 1, 2, 3, 4].map((i) => keypairOf(`short-${i}`).publicKey.z32);
  const slot = shortCodeSlotKeypair('K7M4QX9PT2');
  const records: DnsRecord[] = [
    { type: 'TXT', name: '_lobby-host', ttl: 300, strings: [keys[0]!, NOT_A_POINT, keys[0]!, 'junk', keys[1]!.toUpperCase(), `pk:${keys[1]!}`] },
    { type: 'TXT', name: '_other', ttl: 300, strings: [keys[4]!] },
    { type: 'TXT', name: '_lobby-host', ttl: 300, strings: [keys[1]!, keys[2]!, keys[3]!, keys[4]!] },
  ];
  const packet = SignedPacket.sign(slot, records, { timestamp: TS });
  const codes = await Promise.all(keys.slice(0, 3).map(async (k) => ({ key: k, code: await shortCodeOf(PublicKey.parse(k)) })));
  const unlisted = await shortCodeOf(keypairOf('short-unlisted').publicKey);
  const host = await hostOfSlot(packet, codes[2]!.code);
  return {
    codes, unlisted, hostOfSlot: host?.z32 ?? '',
    parsed, encoded, slotZ32: slot.publicKey.z32, body: hex(packet.toRelayPayload()),
    candidates: slotCandidates(packet).map((k) => k.z32),
    slotSeed: { canonical: 'K7M4QX9PT2', seed: hex(createHash('sha256').update(SHORT_CODE_SLOT_PREFIX + 'K7M4QX9PT2').digest()), z32: publicKeypairOf(SHORT_CODE_SLOT_PREFIX + 'K7M4QX9PT2').publicKey.z32 },
  };
}

/** Lobbies to write (valid and not), each varying one field of a valid one. */
function writerInfos(): Record<string, unknown> {
  const rich = INFOS['rich']!;
  const over = (patch: Record<string, unknown>): unknown => ({ ...BASE, ...patch });
  return {
    ...INFOS,
    domain_case: over({ endpoints: [{ transport: 'ws', host: 'Game.Example.COM', port: 80 }, { transport: 'enet', host: '2001:DB8:0::7', port: 1 }] }),
    custom_order: over({ custom: { b: '1', 10: 'x', 2: 'y', a: 'z' } }),
    bad_game: over({ game: 'de mo' }), bad_version: over({ gameVersion: '' }), blank_name: over({ name: ' \u00a0' }),
    long_name: over({ name: 'n'.repeat(65) }), control_name: over({ name: 'a\u0007' }), no_name: over({ name: 5 }),
    max_0: over({ maxPlayers: 0 }), too_many: over({ players: 9 }), negative: over({ players: -1 }), fraction: over({ players: 1.5 }),
    open_text: over({ open: 'yes' }), beacon_0: over({ beaconPort: 0 }), admission_text: over({ admission: 'x' }),
    reach_weird: over({ reach: 'weird' }), custom_upper: over({ custom: { UP: 'x' } }), custom_number: over({ custom: { k: 5 } }),
    ttl_5: over({ ttl: 5 }), ttl_4000: over({ ttl: 4000 }), endpoints_object: over({ endpoints: {} }),
    endpoints_17: over({ endpoints: Array.from({ length: 17 }, (_, i) => ({ transport: 'enet', host: `10.0.0.${i}`, port: 1 })) }),
    transport_lobby: over({ endpoints: [{ transport: 'lobby', host: '1.2.3.4', port: 1 }] }),
    transport_upper: over({ endpoints: [{ transport: 'Enet', host: '1.2.3.4', port: 1 }] }),
    host_space: over({ endpoints: [{ transport: 'enet', host: 'bad host', port: 1 }] }),
    host_dots: over({ endpoints: [{ transport: 'enet', host: 'a..b', port: 1 }] }),
    port_0: over({ endpoints: [{ transport: 'enet', host: '1.2.3.4', port: 0 }] }),
    alpn_empty: over({ endpoints: [{ transport: 'enet', host: '1.2.3.4', port: 1, alpn: [] }] }),
    alpn_space: over({ endpoints: [{ transport: 'enet', host: '1.2.3.4', port: 1, alpn: ['a b'] }] }),
    attribute_too_long: over({ custom: { big: 'v'.repeat(300) } }),
    too_large: { ...rich, custom: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, 'w'.repeat(200)])) },
  };
}

function writerCases(): Json[] {
  return Object.entries(writerInfos()).map(([name, info]) => {
    const kp = keypairOf(`writer-${name}`);
    try {
      const packet = signLobby(kp, info as LobbyInfo, { timestamp: TS });
      return { name, info, z32: kp.publicKey.z32, ok: true, dns: hex(packet.dns) };
    } catch (err) {
      return { name, info, z32: kp.publicKey.z32, ok: false, code: errorCode(err), reason: lobbyErrorReason(err) };
    }
  });
}

/** Every lobby-side case. */
export async function lobbyCases(random: () => number): Promise<Json> {
  const topics = [['demo', '1.0'], ['com.example.tanks', '2.3.1+b7']].map(([game, version]) => ({ game, version, hex: hex(lobbyTopic(game!, version!)) }));
  return { writer: writerCases(), lobbies: lobbies(random), directory: await directory(), shortCodes: await shortCodes(random), topics };
}
