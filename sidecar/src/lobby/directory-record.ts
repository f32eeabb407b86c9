/**
 * The slot record of a lobby directory (docs/nat.md §4): one TXT record per listed host at
 * `_lobbies`, one character-string each:
 *
 * ```
 * _lobbies  60  TXT  "<hostZ32>:<time>:<nonce>"
 * ```
 * `time` = unix seconds when the host listed itself (inside the slot's window), `nonce` = the proof
 * of work (directory-pow.ts; the string is exactly the hashed suffix). Entries are written newest
 * first and as many as fit the 1000-byte DNS limit (11 with 5-digit nonces); a writer drops the
 * oldest. Reading never throws: malformed, out-of-window and bad-proof entries are dropped and counted.
 */
import { isPkarrError } from '../core/errors.ts';
import { PublicKey, type Keypair } from '../core/keys.ts';
import type { DnsRecord, TXTRecord } from '../core/records.ts';
import { encodeDnsPacket } from '../core/dns-encode.ts';
import { MAX_DNS_BYTES, SignedPacket } from '../core/signed-packet.ts';
import { checkPow, DIRECTORY_POW_BITS, powPrefix } from './directory-pow.ts';
import { windowBounds, type DirectoryId } from './directory-slots.ts';

export const DIRECTORY_RECORD_NAME = '_lobbies';
export const DIRECTORY_RECORD_TTL = 60;
/** Entries a slot may list at most (the 1000-byte limit allows ~11; bounds the reader's work). */
export const MAX_SLOT_ENTRIES = 32;

/** One listed host. */
export interface DirectoryEntry {
  hostKey: PublicKey;
  /** Unix seconds when the host listed itself. */
  time: number;
  nonce: number;
}

/** Why entries read from a slot were dropped. */
export interface EntryRejects {
  /** Not `<z32>:<time>:<nonce>`, or the key is not a valid Ed25519 point. */
  malformed: number;
  /** The time lies outside the slot's window. */
  wrongWindow: number;
  /** The proof of work does not hash to enough zero bits. */
  badPow: number;
}

const ENTRY_PATTERN = /^([ybndrfg8ejkmcpqxot1uwisza345h769]{52}):(0|[1-9][0-9]{0,11}):(0|[1-9][0-9]{0,15})$/;

/** The entry's text (also the proof-of-work suffix). */
export function entryText(entry: Pick<DirectoryEntry, 'hostKey' | 'time' | 'nonce'>): string {
  return `${entry.hostKey.z32}:${entry.time}:${entry.nonce}`;
}

/** Newest first; ties by key (a total order, so every writer keeps the same entries). */
function newestFirst(a: DirectoryEntry, b: DirectoryEntry): number {
  return b.time - a.time || (a.hostKey.z32 < b.hostKey.z32 ? -1 : a.hostKey.z32 > b.hostKey.z32 ? 1 : 0);
}

/** One entry per host (its newest), newest first. */
export function mergeEntries(...lists: readonly (readonly DirectoryEntry[])[]): DirectoryEntry[] {
  const byKey = new Map<string, DirectoryEntry>();
  for (const entry of lists.flat()) {
    const known = byKey.get(entry.hostKey.z32);
    if (known === undefined || entry.time > known.time) byKey.set(entry.hostKey.z32, entry);
  }
  return [...byKey.values()].sort(newestFirst);
}

function recordsOf(entries: readonly DirectoryEntry[]): TXTRecord[] {
  return entries.map((e) => ({ type: 'TXT', name: DIRECTORY_RECORD_NAME, ttl: DIRECTORY_RECORD_TTL, strings: [entryText(e)] }));
}

/** How many of `entries` (in order) fit the DNS limit under `origin` (the slot key). */
export function entriesThatFit(entries: readonly DirectoryEntry[], origin: string, limit: number = MAX_DNS_BYTES): number {
  const records: DnsRecord[] = recordsOf(entries.slice(0, MAX_SLOT_ENTRIES));
  let lo = 0;
  let hi = records.length;
  while (lo < hi) { // largest n with size(n) ≤ limit; size grows with n
    const mid = (lo + hi + 1) >> 1;
    if (encodeDnsPacket(records.slice(0, mid), origin).length <= limit) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface EncodedSlot {
  packet: SignedPacket;
  /** The entries written (newest first). */
  kept: DirectoryEntry[];
  /** The oldest entries that did not fit. */
  dropped: DirectoryEntry[];
}

/** Signs a slot listing the newest of `entries` (one per host) that fit. */
export function encodeSlot(slot: Keypair, entries: readonly DirectoryEntry[], timestamp: bigint): EncodedSlot {
  const merged = mergeEntries(entries);
  const fit = entriesThatFit(merged, slot.publicKey.z32);
  const kept = merged.slice(0, fit);
  return { packet: SignedPacket.sign(slot, recordsOf(kept), { timestamp }), kept, dropped: merged.slice(fit) };
}

export interface ReadSlot {
  /** Valid entries, one per host (newest), newest first. */
  entries: DirectoryEntry[];
  /** Entry strings found (before any check). */
  total: number;
  rejected: EntryRejects;
}

export function emptyEntryRejects(): EntryRejects {
  return { malformed: 0, wrongWindow: 0, badPow: 0 };
}

/**
 * The valid entries of a (signature-verified) slot packet of `window`. Checks in order of cost: the
 * text, the window, the proof (one hash), then the key's curve point.
 */
export function readSlot(packet: SignedPacket, dir: DirectoryId, window: number, bits: number = DIRECTORY_POW_BITS): ReadSlot {
  const rejected = emptyEntryRejects();
  const { start, end } = windowBounds(window);
  const prefix = powPrefix(dir, window);
  const valid: DirectoryEntry[] = [];
  let total = 0;
  for (const record of packet.resourceRecords(DIRECTORY_RECORD_NAME)) {
    if (record.type !== 'TXT') continue;
    for (const text of record.strings) {
      total++;
      if (total > MAX_SLOT_ENTRIES) { rejected.malformed++; continue; }
      const match = ENTRY_PATTERN.exec(text);
      if (match === null) { rejected.malformed++; continue; }
      const time = Number(match[2]);
      const nonce = Number(match[3]);
      if (!Number.isSafeInteger(nonce)) { rejected.malformed++; continue; }
      if (time < start || time > end) { rejected.wrongWindow++; continue; }
      if (!checkPow(prefix, text, bits)) { rejected.badPow++; continue; }
      let hostKey: PublicKey;
      try {
        hostKey = PublicKey.parse(match[1]!);
      } catch (err) {
        if (!isPkarrError(err)) throw err;
        rejected.malformed++;
        continue;
      }
      if (hostKey.z32 !== match[1]) { rejected.malformed++; continue; } // non-canonical pad bits
      valid.push({ hostKey, time, nonce });
    }
  }
  return { entries: mergeEntries(valid), total, rejected };
}
