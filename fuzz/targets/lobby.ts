/**
 * Target `lobby`: parseLobby on signed packets carrying damaged lobby records. Two families:
 * - attribute level: the `_lobby` TXT strings edited (values, keys, duplicates, case, removals,
 *   records split, custom `x-` keys such as `x-__proto__`), endpoints SVCB/A records changed; the
 *   records are signed with SignedPacket.sign (inputs the encoder refuses are regenerated);
 * - byte level: the DNS of a signed lobby mutated, re-signed and parsed with fromParts (inputs
 *   the DNS decoder refuses are regenerated).
 * Oracle for accepted lobbies: the schema's promises hold (players ≤ max, name ≤ 64 characters,
 * game id pattern, custom key pattern) and lobbyToJson serialises.
 */
import { isPkarrError } from '../../sidecar/src/core/errors.ts';
import type { DnsRecord, SVCBRecord, TXTRecord } from '../../sidecar/src/core/records.ts';
import { SignedPacket, signable } from '../../sidecar/src/core/signed-packet.ts';
import { CUSTOM_KEY_PATTERN, GAME_ID_PATTERN, MAX_LOBBY_NAME_CHARS, parseLobby } from '../../sidecar/src/lobby/lobby-record.ts';
import { lobbyToJson } from '../../sidecar/src/rpc/lobby-methods.ts';
import { BASE_TIMESTAMP, KEYS, LOBBY_RECORDS } from '../corpus.ts';
import { mapDnsFields } from '../dns-fields.ts';
import { ACCEPTED, FindingError, preview, type FuzzTarget, type Generated } from '../harness.ts';
import { mutateBytes, mutateText, randomText, type ByteSeed } from '../mutators.ts';
import type { Rng } from '../prng.ts';
import { recordKey } from './record-text.ts';

const EDGE_VALUES = ['', '0', '00', '01', '1', '-1', '8', '65535', '65536', '99999', '100000', '1e3', ' 1', 'x', 'é', '\u0000', '\u202e', 'a'.repeat(64), 'a'.repeat(65), '😀'.repeat(64), '😀'.repeat(65)];
const KEYS_SEEN = ['v', 'game', 'gv', 'name', 'players', 'max', 'open', 'beacon', 'x-mode', 'x-__proto__', 'x-constructor', 'x-', 'X-MODE', 'GAME', 'V', '=', 'x-' + 'k'.repeat(31)];

function editStrings(rng: Rng, strings: string[]): { strings: string[]; what: string } {
  const out = [...strings];
  const i = rng.int(out.length);
  const what = rng.weighted<string>([['value', 4], ['text', 3], ['delete', 2], ['duplicate', 2], ['add', 2], ['key-case', 1], ['swap', 1]]);
  const [key, ...rest] = (out[i] ?? '').split('=');
  switch (what) {
    case 'value': out[i] = `${key}=${rng.pick(EDGE_VALUES)}`; break;
    case 'text': out[i] = mutateText(rng, out[i] ?? '', out.length > 0 ? out : [''], 255).value; break;
    case 'delete': out.splice(i, 1); break;
    case 'duplicate': out.splice(rng.int(out.length + 1), 0, `${key}=${rng.chance(0.5) ? rest.join('=') : rng.pick(EDGE_VALUES)}`); break;
    case 'add': out.push(`${rng.pick(KEYS_SEEN)}${rng.chance(0.8) ? `=${rng.chance(0.5) ? rng.pick(EDGE_VALUES) : randomText(rng, 60)}` : ''}`); break;
    case 'key-case': out[i] = (out[i] ?? '').toUpperCase(); break;
    default: { const j = rng.int(out.length); [out[i], out[j]] = [out[j] ?? '', out[i] ?? '']; }
  }
  return { strings: out.map((s) => (Buffer.byteLength(s) > 255 ? s.slice(0, 100) : s)), what };
}

function editRecords(rng: Rng, records: DnsRecord[]): { records: DnsRecord[]; what: string } {
  const out = records.map((r) => ({ ...r })) as DnsRecord[];
  const txtAt = out.findIndex((r) => r.type === 'TXT');
  if (txtAt < 0) {
    out.push({ type: 'TXT', name: '_lobby', ttl: 60, strings: [...(LOBBY_RECORDS[0] as TXTRecord).strings] });
    return { records: out, what: 'restore-txt' };
  }
  const txt = out[txtAt] as TXTRecord;
  const what = rng.weighted<string>([['strings', 8], ['split', 1], ['ttl', 1], ['svcb', 2], ['drop', 1], ['extra-txt', 1]]);
  switch (what) {
    case 'strings': {
      const e = editStrings(rng, txt.strings);
      out[txtAt] = { ...txt, strings: e.strings };
      return { records: out, what: `strings:${e.what}` };
    }
    case 'split': {
      const cut = rng.int(txt.strings.length + 1);
      out[txtAt] = { ...txt, strings: txt.strings.slice(0, cut) };
      out.push({ ...txt, ttl: rng.pick([0, 1, 59, 61, 4294967295]), strings: txt.strings.slice(cut) });
      break;
    }
    case 'ttl': out[txtAt] = { ...txt, ttl: rng.pick([0, 1, 9, 3601, 4294967295]) }; break;
    case 'svcb': {
      const at = out.findIndex((r) => r.type === 'SVCB');
      if (at >= 0) {
        const s = out[at] as SVCBRecord;
        out[at] = rng.weighted<SVCBRecord>([
          [{ ...s, priority: 0 }, 1], [{ ...s, params: s.params.filter((p) => p.key !== 'port') }, 1],
          [{ ...s, params: s.params.map((p) => (p.key === 'port' ? { key: 'port', port: rng.pick([0, 1, 65535]) } : p)) }, 1],
          [{ ...s, name: rng.pick(['_', '_x', '_enet._udp', '@', `_${'e'.repeat(40)}`]) }, 1],
          [{ ...s, target: rng.pick(['.', 'host.example', '1.2.3.4', 'é.example']) }, 1],
          [{ ...s, params: [...s.params.filter((p) => p.key !== 'alpn'), { key: 'alpn', protocols: ['', 'h3', 'x'.repeat(200)] }] }, 1],
        ]);
      }
      break;
    }
    case 'drop': out.splice(rng.int(out.length), 1); break;
    default: out.push({ type: 'TXT', name: rng.pick(['_lobby', '_LOBBY', '_lobby.x', '*']), ttl: 60, strings: [rng.pick(['v=1', 'v=2', 'v=', 'game=other', ''])] });
  }
  return { records: out, what };
}

function show(packet: SignedPacket): string {
  return preview(`${packet.publicKey.z32} ${packet.records.map(recordKey).join(' ')}`);
}

export function lobbyTarget(): FuzzTarget<SignedPacket> {
  const seeds = KEYS.map((keypair, i) => ({ keypair, packet: SignedPacket.sign(keypair, LOBBY_RECORDS, { timestamp: BASE_TIMESTAMP + BigInt(i) }) }));
  const dns: ByteSeed[] = seeds.map(({ packet }) => ({ bytes: packet.dns, fields: mapDnsFields(packet.dns) }));
  return {
    name: 'lobby',
    about: 'parseLobby(packet) on signed lobby packets with edited _lobby attributes / endpoint records, or with mutated DNS re-signed',
    allowedCodes: new Set(['INVALID_RECORD', 'NOT_FOUND']), // lobby-errors.ts: NOT_A_LOBBY/INVALID_LOBBY/UNSUPPORTED_SCHEMA/...
    generate(rng): Generated<SignedPacket> {
      for (let attempt = 0; attempt < 8; attempt++) {
        const k = rng.int(seeds.length);
        const { keypair, packet } = seeds[k]!;
        try {
          if (rng.chance(0.6)) {
            let records: DnsRecord[] = [...LOBBY_RECORDS];
            const whats: string[] = [];
            for (let n = rng.weighted([[1, 6], [2, 3], [3, 1]]); n > 0; n--) {
              const e = editRecords(rng, records);
              records = e.records;
              whats.push(e.what);
            }
            return { value: SignedPacket.sign(keypair, records, { timestamp: packet.timestamp }), mutation: `records:${whats.join('+')}` };
          }
          const m = mutateBytes(rng, dns[k]!, dns, 1000);
          const signature = keypair.sign(signable(packet.timestamp, m.value));
          return { value: SignedPacket.fromParts(keypair.publicKey.bytes, signature, packet.timestamp, m.value), mutation: `dns:${m.mutation}` };
        } catch (err) {
          if (!isPkarrError(err)) throw err; // the encoder/decoder refused the damage: draw again
        }
      }
      return { value: seeds[0]!.packet, mutation: 'seed' };
    },
    execute(packet) {
      const lobby = parseLobby(packet);
      if (lobby.players > lobby.maxPlayers) throw new FindingError(`accepted lobby with ${lobby.players} players > max ${lobby.maxPlayers}`);
      if ([...lobby.name].length > MAX_LOBBY_NAME_CHARS || lobby.name.trim() === '') throw new FindingError(`accepted lobby name ${JSON.stringify(lobby.name)}`);
      if (!GAME_ID_PATTERN.test(lobby.game)) throw new FindingError(`accepted game id ${JSON.stringify(lobby.game)}`);
      for (const key of Object.keys(lobby.custom)) if (!CUSTOM_KEY_PATTERN.test(key)) throw new FindingError(`accepted custom key ${JSON.stringify(key)}`);
      JSON.stringify(lobbyToJson(lobby, 'fuzz'));
      return ACCEPTED;
    },
    show,
  };
}
