/**
 * Oracles shared by the targets: what must hold for every record or packet a parser accepted,
 * and what the code paths that consume network data (resolve's JSON, the CLI's text form, the
 * lobby reader) must do with it: succeed, or fail with a documented PkarrError.
 */
import { isPkarrError } from '../../sidecar/src/core/errors.ts';
import { formatRecordText } from '../../sidecar/src/core/record-text.ts';
import type { DnsRecord } from '../../sidecar/src/core/records.ts';
import type { SignedPacket } from '../../sidecar/src/core/signed-packet.ts';
import { parseLobby } from '../../sidecar/src/lobby/lobby-record.ts';
import { lobbyToJson } from '../../sidecar/src/rpc/lobby-methods.ts';
import { recordToJson } from '../../sidecar/src/rpc/record-json.ts';
import { FindingError } from '../harness.ts';

const TYPES = new Set(['A', 'AAAA', 'CNAME', 'NS', 'TXT', 'SRV', 'SVCB', 'HTTPS', 'UNKNOWN']);

/** Shape checks on decoded records (types, u32 TTL, u16 fields). */
export function checkRecords(records: readonly DnsRecord[]): void {
  for (const r of records) {
    if (!TYPES.has(r.type)) throw new FindingError(`decoded record has unknown type ${String(r.type)}`);
    if (typeof r.name !== 'string') throw new FindingError('decoded record name is not a string');
    if (!Number.isInteger(r.ttl) || r.ttl < 0 || r.ttl > 0xffffffff) throw new FindingError(`decoded TTL ${r.ttl} is not a u32`);
    if ((r.type === 'SRV' || r.type === 'SVCB' || r.type === 'HTTPS') && !(Number.isInteger(r.priority) && r.priority >= 0 && r.priority <= 0xffff)) {
      throw new FindingError(`decoded ${r.type} priority ${r.priority} is not a u16`);
    }
    if (r.type === 'UNKNOWN' && !(Number.isInteger(r.typeCode) && r.typeCode >= 0 && r.typeCode <= 0xffff)) {
      throw new FindingError(`decoded type code ${r.typeCode} is not a u16`);
    }
  }
}

/** `fn()` may succeed or throw a PkarrError with one of `codes`; anything else is a finding. */
function tolerate(what: string, codes: readonly string[], fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (isPkarrError(err) && codes.includes(err.code)) return;
    throw new FindingError(`${what} threw ${err instanceof Error ? `${err.name}${isPkarrError(err) ? `(${err.code})` : ''}: ${err.message.slice(0, 200)}` : String(err)}`);
  }
}

/**
 * What the sidecar does with a verified packet from the network: resolve's record JSON, the CLI's
 * text form, TTL and name lookups, the lobby reader. None may throw anything undocumented.
 */
export function checkAcceptedPacket(packet: SignedPacket): void {
  checkRecords(packet.records);
  const z32 = packet.publicKey.z32;
  tolerate('recordToJson', [], () => JSON.stringify(packet.records.map((r) => recordToJson(r, z32))));
  // formatRecordText documents INVALID_RECORD for values the text form cannot write (alpn with `,`).
  for (const r of packet.records) tolerate('formatRecordText', ['INVALID_RECORD'], () => formatRecordText(r, z32));
  tolerate('ttl/resourceRecords', [], () => {
    packet.ttl();
    packet.resourceRecords('@');
    packet.resourceRecords('_lobby');
    packet.freshResourceRecords('*.x');
  });
  tolerate('parseLobby', ['INVALID_RECORD', 'NOT_FOUND'], () => JSON.stringify(lobbyToJson(parseLobby(packet), 'fuzz')));
}

/** Byte equality for round-trip oracles. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
