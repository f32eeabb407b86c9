/**
 * Which DNS names belong to a pkarr key: `<z32>` and anything below it (`_lobby.<z32>`), and the
 * same under one of the configured pseudo-TLDs (`<z32>.key`, `_lobby.<z32>.key`). The key label
 * compares case-insensitively (resolvers may randomise case, "0x20"); it must be a valid key.
 */
import { PublicKey } from '../core/keys.ts';

/** The pseudo-TLDs accepted after a key unless configured otherwise. */
export const DEFAULT_PKARR_TLDS: readonly string[] = ['key'];

/** A question name under a pkarr key. */
export interface PkarrName {
  key: PublicKey;
  /** Bytes of the TLD suffix after the key label, dot included (`.key` → 4); 0 without a TLD. */
  suffixLength: number;
  /** The zone apex as the question spelled it (`<z32>` or `<z32>.key`), no trailing dot. */
  zone: string;
}

const Z32_LENGTH = 52;
/** Parsed key labels (parsing checks the curve point: worth a few µs per query), bounded. */
const parsed = new Map<string, PublicKey | null>();
const PARSED_MAX = 4096;

function keyLabel(label: string): PublicKey | null {
  if (label.length !== Z32_LENGTH) return null;
  const lower = label.toLowerCase();
  let key = parsed.get(lower);
  if (key === undefined) {
    key = PublicKey.tryParse(lower);
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(lower, key);
  }
  return key;
}

/** The key `qname` lies under, or null for an ordinary DNS name. `tlds` are lower case. */
export function pkarrNameOf(qname: string, tlds: ReadonlySet<string>): PkarrName | null {
  const name = qname.endsWith('.') ? qname.slice(0, -1) : qname;
  const lastDot = name.lastIndexOf('.');
  const last = name.slice(lastDot + 1);
  const direct = keyLabel(last);
  if (direct !== null) return { key: direct, suffixLength: 0, zone: last };
  if (lastDot < 0 || !tlds.has(last.toLowerCase())) return null;
  const before = name.lastIndexOf('.', lastDot - 1);
  const key = keyLabel(name.slice(before + 1, lastDot));
  if (key === null) return null;
  return { key, suffixLength: name.length - lastDot, zone: name.slice(before + 1) };
}
