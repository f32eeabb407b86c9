/**
 * Just enough bencode and KRPC for the lab's probes: a `ping` query and the BEP42 `ip` field of a
 * response (the querier's address as the responder saw it). Strict: malformed input throws.
 */
import { randomBytes } from 'node:crypto';
import { PkarrError } from '../../sidecar/src/core/errors.ts';

export type Bencoded = number | Buffer | Bencoded[] | { [key: string]: Bencoded };

export function bencode(value: Bencoded | string): Buffer {
  if (typeof value === 'number') return Buffer.from(`i${Math.trunc(value)}e`);
  if (typeof value === 'string') value = Buffer.from(value);
  if (Buffer.isBuffer(value)) return Buffer.concat([Buffer.from(`${value.length}:`), value]);
  if (Array.isArray(value)) return Buffer.concat([Buffer.from('l'), ...value.map((v) => bencode(v)), Buffer.from('e')]);
  const keys = Object.keys(value).sort();
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((k) => [bencode(k), bencode(value[k]!)]), Buffer.from('e')]);
}

export function bdecode(buf: Buffer): Bencoded {
  let pos = 0;
  const fail = (why: string): never => { throw new PkarrError('INVALID_ARGUMENT', `bencode: ${why} at ${pos}`); };
  const next = (): Bencoded => {
    const c = buf[pos];
    if (c === undefined) return fail('truncated');
    if (c === 0x69) { // i
      const end = buf.indexOf(0x65, pos);
      if (end < 0) return fail('unterminated integer');
      const n = Number(buf.subarray(pos + 1, end).toString());
      if (!Number.isSafeInteger(n)) return fail('bad integer');
      pos = end + 1;
      return n;
    }
    if (c === 0x6c || c === 0x64) { // l, d
      pos++;
      const list: Bencoded[] = [];
      while (buf[pos] !== 0x65) {
        if (pos >= buf.length) return fail('unterminated container');
        list.push(next());
      }
      pos++;
      if (c === 0x6c) return list;
      const dict: { [key: string]: Bencoded } = {};
      for (let i = 0; i + 1 < list.length; i += 2) {
        const k = list[i];
        if (!Buffer.isBuffer(k)) return fail('non-string key');
        dict[k.toString('latin1')] = list[i + 1]!;
      }
      if (list.length % 2 !== 0) return fail('odd dictionary');
      return dict;
    }
    const colon = buf.indexOf(0x3a, pos);
    if (colon < 0) return fail('bad string');
    const len = Number(buf.subarray(pos, colon).toString());
    if (!Number.isInteger(len) || len < 0 || colon + 1 + len > buf.length) return fail('bad string length');
    const out = buf.subarray(colon + 1, colon + 1 + len);
    pos = colon + 1 + len;
    return out;
  };
  const value = next();
  if (pos !== buf.length) fail('trailing bytes');
  return value;
}

/** A KRPC `ping` query with a random transaction id and node id; returns the bytes and the transaction id. */
export function pingQuery(): { bytes: Buffer; tid: Buffer } {
  const tid = randomBytes(2);
  const bytes = bencode({ t: tid, y: Buffer.from('q'), q: Buffer.from('ping'), a: { id: randomBytes(20) } });
  return { bytes, tid };
}

export interface KrpcResponse {
  tid: Buffer;
  /** BEP42: the querier's address as the responder saw it, or null when absent. */
  ip: { host: string; port: number } | null;
  /** The responder's node id (hex). */
  id: string;
}

/** Parses a KRPC response; null when `buf` is not one (a query, an error or garbage). */
export function parseResponse(buf: Buffer): KrpcResponse | null {
  let msg: Bencoded;
  try {
    msg = bdecode(buf);
  } catch {
    return null;
  }
  if (msg === null || typeof msg !== 'object' || Buffer.isBuffer(msg) || Array.isArray(msg)) return null;
  const y = msg['y'];
  const t = msg['t'];
  const r = msg['r'];
  if (!Buffer.isBuffer(y) || y.toString() !== 'r' || !Buffer.isBuffer(t) || r === undefined || typeof r !== 'object' || Buffer.isBuffer(r) || Array.isArray(r)) return null;
  const id = r['id'];
  const ipField = msg['ip'];
  let ip: KrpcResponse['ip'] = null;
  if (Buffer.isBuffer(ipField) && ipField.length === 6) {
    ip = { host: [...ipField.subarray(0, 4)].join('.'), port: ipField.readUInt16BE(4) };
  }
  return { tid: t, ip, id: Buffer.isBuffer(id) ? id.toString('hex') : '' };
}
