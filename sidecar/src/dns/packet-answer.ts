/**
 * Answers a DNS question from a signed packet's records (for DNS-over-HTTPS and plain DNS, through
 * dns/answer.ts).
 *
 * Semantics (DNS, not pkarr's lookup API):
 * - names compare case-insensitively (resolvers may randomise case, "0x20"); answers carry the
 *   owner name as the question spelled it;
 * - QTYPE filtering; ANY (255) returns every record at the name, or with `minimalAny` only the first
 *   RRset there (RFC 8482 §4.2: what plain DNS over UDP answers, so ANY cannot amplify);
 * - a question under `<key>.<tld>` (e.g. `_lobby.<z32>.key`) is looked up without the TLD
 *   (`suffix`), and its answers keep the question's spelling, TLD included;
 * - a CNAME at the name answers any other type, and is chased within the packet (up to 8 hops);
 *   a target outside the key is left for the client to resolve;
 * - NOERROR with no answers when the name has records of other types or is an empty
 *   non-terminal (e.g. the bare key when only `_lobby.<key>` exists: answering NXDOMAIN there would
 *   make RFC 8020 resolvers drop the whole subtree);
 * - wildcard owners (`*.foo.<key>`) synthesise answers for names below `foo.<key>` that do not
 *   exist, stopping at the closest existing ancestor (RFC 4592, simplified);
 * - NXDOMAIN otherwise. TTLs are the records' own.
 *
 * Records come from decoding the packet's DNS bytes with dns-packet (cached per packet), so every
 * type, including HTTPS/SVCB as opaque rdata, is answered byte-exactly.
 */
import dnsPacket, { type Answer } from 'dns-packet';
import dnsTypes from 'dns-packet/types.js';
import type { SignedPacket } from '../core/signed-packet.ts';

export const QTYPE_ANY = 255;
const TYPE_CNAME = 5;
const MAX_CNAME_HOPS = 8;

interface PacketRecord {
  /** Lower-case owner name, no trailing dot. */
  name: string;
  typeCode: number;
  answer: Answer;
}

/** The answer section and response code for one question. */
export interface PacketAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
}

const decoded = new WeakMap<SignedPacket, PacketRecord[]>();

/** The packet's answer records, decoded once. Throws if dns-packet cannot decode them. */
function recordsOf(packet: SignedPacket): PacketRecord[] {
  let records = decoded.get(packet);
  if (records === undefined) {
    const message = dnsPacket.decode(Buffer.from(packet.dns));
    records = (message.answers ?? []).filter((a) => a.type !== 'OPT').map((answer) => ({
      name: answer.name.toLowerCase().replace(/\.$/, ''),
      typeCode: dnsTypes.toType(answer.type),
      answer,
    }));
    decoded.set(packet, records);
  }
  return records;
}

function withOwner(answer: Answer, name: string): Answer {
  return { ...answer, name } as Answer;
}

class Lookup {
  readonly #records: PacketRecord[];
  readonly #origin: string;

  constructor(records: PacketRecord[], origin: string) {
    this.#records = records;
    this.#origin = origin;
  }

  at(name: string): PacketRecord[] {
    return this.#records.filter((r) => r.name === name);
  }

  /** The name owns records or has descendants that do (an empty non-terminal). */
  exists(name: string): boolean {
    const suffix = `.${name}`;
    return this.#records.some((r) => r.name === name || r.name.endsWith(suffix));
  }

  /** Records at `name`, or synthesised from a wildcard; null when the name does not exist. */
  find(name: string): PacketRecord[] | null {
    const exact = this.at(name);
    if (exact.length > 0) return exact;
    if (this.exists(name)) return [];
    let ancestor = name;
    while (ancestor !== this.#origin && ancestor.includes('.')) {
      ancestor = ancestor.slice(ancestor.indexOf('.') + 1);
      const wildcard = this.at(`*.${ancestor}`);
      if (wildcard.length > 0) return wildcard;
      if (this.exists(ancestor)) return null;
    }
    return null;
  }

  inOrigin(name: string): boolean {
    return name === this.#origin || name.endsWith(`.${this.#origin}`);
  }
}

/** How {@link answerFromPacket} reads the question. */
export interface PacketQuestionOptions {
  /** Length of the TLD suffix after the key in `qname` (e.g. 4 for `.key`); 0 by default. */
  suffixLength?: number;
  /** ANY returns only the first RRset at the name (RFC 8482). */
  minimalAny?: boolean;
}

function matchingRecords(found: PacketRecord[], qtype: number, minimalAny: boolean): PacketRecord[] {
  if (qtype !== QTYPE_ANY) return found.filter((r) => r.typeCode === qtype);
  if (!minimalAny || found.length === 0) return found;
  const first = found[0]?.typeCode;
  return found.filter((r) => r.typeCode === first);
}

/**
 * Answers `qname`/`qtype` (numeric) from `packet`. `qname` is the question name as sent (its
 * spelling is kept in the answers); it must lie under the packet's key (plus the TLD suffix).
 */
export function answerFromPacket(packet: SignedPacket, qname: string, qtype: number, options: PacketQuestionOptions = {}): PacketAnswer {
  const lookup = new Lookup(recordsOf(packet), packet.publicKey.z32);
  const answers: Answer[] = [];
  let owner = qname.replace(/\.$/, '');
  let suffix = options.suffixLength ?? 0;
  const visited = new Set<string>();
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop += 1) {
    const name = owner.slice(0, owner.length - suffix).toLowerCase();
    suffix = 0;
    visited.add(name);
    const found = lookup.find(name);
    if (found === null) return { rcode: 'NXDOMAIN', answers };
    const matching = matchingRecords(found, qtype, options.minimalAny === true);
    if (matching.length > 0 || qtype === TYPE_CNAME) {
      for (const r of matching) answers.push(withOwner(r.answer, owner));
      return { rcode: 'NOERROR', answers };
    }
    const cname = found.find((r) => r.typeCode === TYPE_CNAME);
    if (cname === undefined) return { rcode: 'NOERROR', answers };
    answers.push(withOwner(cname.answer, owner));
    const target = String((cname.answer as { data?: unknown }).data ?? '').replace(/\.$/, '');
    if (!lookup.inOrigin(target.toLowerCase()) || visited.has(target.toLowerCase())) return { rcode: 'NOERROR', answers };
    owner = target;
  }
  return { rcode: 'NOERROR', answers };
}
