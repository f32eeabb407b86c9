/**
 * SVCB/HTTPS rdata codec (RFC 9460 §2.2): `priority u16 ‖ TargetName (uncompressed) ‖ SvcParams`,
 * each SvcParam being `key u16 ‖ length u16 ‖ value`, keys strictly ascending on the wire.
 *
 * Encoding validates the params (PkarrError 'INVALID_RECORD') and writes them sorted by key, as
 * simple-dns does (it keeps them in a BTreeMap). Decoding is strict (PkarrError 'DNS_ERROR'): value
 * lengths must match their key's format exactly, keys must be strictly ascending (so no duplicates),
 * key 65535 ("Invalid key") is refused. The `ech` value is the ECHConfigList as on the wire, i.e.
 * it starts with its own u16 length which must equal the remaining bytes (simple-dns checks that too).
 * Param values that are not ASCII (alpn ids) are decoded as lossy UTF-8.
 */
import { PkarrError } from './errors.ts';
import { DnsWriter, throwNameError } from './dns-writer.ts';
import {
  formatIPv4, formatIPv6, isWellFormed, normalizeTarget, parseIPv4, parseIPv4Into, parseIPv6, parseIPv6Into,
  utf8Bytes, utf8Text,
} from './names.ts';
import type { SvcParamValue } from './records.ts';

/** Codes of the SvcParamKeys with a dedicated variant in the record model. */
export const SVC_PARAM_KEYS = {
  mandatory: 0, alpn: 1, 'no-default-alpn': 2, port: 3, ipv4hint: 4, ech: 5, ipv6hint: 6,
} as const;
type NamedKey = keyof typeof SVC_PARAM_KEYS;
/** Reserved "Invalid key" (RFC 9460 §14.3.2); refused in both directions. */
export const SVC_INVALID_KEY = 65535;

const NAMES = Object.keys(SVC_PARAM_KEYS) as NamedKey[];

/** The numeric SvcParamKey of a param. */
export function svcParamKeyCode(param: SvcParamValue): number {
  return param.key === 'unknown' ? param.code : SVC_PARAM_KEYS[param.key];
}

/** Presentation name of a key code: `alpn`, `port`, … or `keyNNNNN` for the others. */
export function svcKeyName(code: number): string {
  return NAMES[code] ?? `key${code}`;
}

/** Key code of a presentation name (`alpn`, `key667`), or null when it is not a valid key name. */
export function svcKeyCode(name: string): number | null {
  if (Object.hasOwn(SVC_PARAM_KEYS, name)) return SVC_PARAM_KEYS[name as NamedKey];
  const m = /^key(0|[1-9][0-9]{0,4})$/.exec(name);
  if (m === null) return null;
  const code = Number(m[1]);
  return code < SVC_INVALID_KEY ? code : null;
}

const isU16 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff;
const bad = (what: string, msg: string): PkarrError => new PkarrError('INVALID_RECORD', `${what}: ${msg}`);

/**
 * Validates SvcParams for encoding (throws PkarrError 'INVALID_RECORD' naming `what`): known shapes,
 * no duplicate keys, non-empty lists, ports/keys u16, addresses parse, alpn ids 1–255 bytes,
 * `mandatory` lists only other keys that are present, `no-default-alpn` only together with `alpn`.
 */
export function validateSvcParams(params: unknown, what: string): void {
  if (!Array.isArray(params)) throw bad(what, 'params must be an array');
  const seen = new Set<number>();
  for (const p of params as unknown[]) {
    if (typeof p !== 'object' || p === null) throw bad(what, 'each SvcParam must be an object');
    const param = p as SvcParamValue;
    let code: number;
    switch (param.key) {
      case 'mandatory':
        if (!Array.isArray(param.keys) || param.keys.length === 0) throw bad(what, 'mandatory needs a non-empty key list');
        for (const k of param.keys) {
          if (!isU16(k) || k === 0 || k === SVC_INVALID_KEY) throw bad(what, `mandatory key ${String(k)} is not allowed`);
        }
        if (new Set(param.keys).size !== param.keys.length) throw bad(what, 'mandatory lists a key twice');
        break;
      case 'alpn':
        if (!Array.isArray(param.protocols) || param.protocols.length === 0) throw bad(what, 'alpn needs at least one protocol');
        for (const id of param.protocols) {
          if (typeof id !== 'string' || !isWellFormed(id)) throw bad(what, `alpn id ${JSON.stringify(id)} is not a string`);
          const n = utf8Bytes(id).length;
          if (n < 1 || n > 255) throw bad(what, `alpn id ${JSON.stringify(id)} must be 1-255 bytes`);
        }
        break;
      case 'no-default-alpn':
        break;
      case 'port':
        if (!isU16(param.port)) throw bad(what, `port ${String(param.port)} is not in 0-65535`);
        break;
      case 'ipv4hint':
      case 'ipv6hint': {
        const parse = param.key === 'ipv4hint' ? parseIPv4 : parseIPv6;
        if (!Array.isArray(param.addresses) || param.addresses.length === 0) throw bad(what, `${param.key} needs at least one address`);
        for (const a of param.addresses) if (parse(a) === null) throw bad(what, `${param.key} address ${JSON.stringify(a)} is invalid`);
        break;
      }
      case 'ech':
        if (!(param.data instanceof Uint8Array) || param.data.length > 0xffff) throw bad(what, 'ech data must be at most 65535 bytes');
        if (param.data.length < 2 || ((param.data[0] ?? 0) << 8 | (param.data[1] ?? 0)) !== param.data.length - 2) {
          throw bad(what, 'ech must be an ECHConfigList (u16 length prefix equal to the remaining bytes)');
        }
        break;
      case 'unknown':
        if (!isU16(param.code) || param.code <= 6 || param.code === SVC_INVALID_KEY) {
          throw bad(what, `unknown SvcParam code ${String(param.code)} must be 7-65534 (use the named variant for 0-6)`);
        }
        if (!(param.data instanceof Uint8Array) || param.data.length > 0xffff) {
          throw bad(what, `key${param.code} data must be at most 65535 bytes`);
        }
        break;
      default:
        throw bad(what, `unknown SvcParam key ${JSON.stringify((param as { key: unknown }).key)}`);
    }
    code = svcParamKeyCode(param);
    if (seen.has(code)) throw bad(what, `SvcParam ${svcKeyName(code)} appears twice`);
    seen.add(code);
  }
  for (const p of params as SvcParamValue[]) {
    if (p.key === 'mandatory') {
      for (const k of p.keys) if (!seen.has(k)) throw bad(what, `mandatory lists ${svcKeyName(k)} which is not present`);
    }
  }
  if (seen.has(SVC_PARAM_KEYS['no-default-alpn']) && !seen.has(SVC_PARAM_KEYS.alpn)) {
    throw bad(what, 'no-default-alpn requires alpn');
  }
}

/**
 * Canonical copy of (already valid) params as the decoder returns them: sorted by key code,
 * `mandatory` keys ascending, IPv6 hints in RFC 5952 form.
 */
export function normalizeSvcParams(params: readonly SvcParamValue[]): SvcParamValue[] {
  const out = params.map((p): SvcParamValue => {
    switch (p.key) {
      case 'mandatory': return { key: 'mandatory', keys: [...p.keys].sort((a, b) => a - b) };
      case 'alpn': return { key: 'alpn', protocols: [...p.protocols] };
      case 'no-default-alpn': return { key: 'no-default-alpn' };
      case 'port': return { key: 'port', port: p.port };
      case 'ipv4hint': return { key: 'ipv4hint', addresses: [...p.addresses] };
      case 'ipv6hint': return { key: 'ipv6hint', addresses: p.addresses.map((a) => formatIPv6(parseIPv6(a) ?? new Uint8Array(16))) };
      case 'ech': return { key: 'ech', data: Uint8Array.from(p.data) };
      case 'unknown': return { key: 'unknown', code: p.code, data: Uint8Array.from(p.data) };
    }
  });
  return out.sort((a, b) => svcParamKeyCode(a) - svcParamKeyCode(b));
}

/** Appends the wire value of one (valid) param. */
function writeParamValue(w: DnsWriter, p: SvcParamValue): void {
  switch (p.key) {
    case 'mandatory': for (const k of p.keys) w.u16(k); break;
    case 'alpn':
      for (const id of p.protocols) {
        const at = w.length;
        w.u8(0);
        const n = w.utf8(id, 0, id.length); // may grow (replace) w.buf: index it afterwards
        w.buf[at] = n;
      }
      break;
    case 'no-default-alpn': break;
    case 'port': w.u16(p.port); break;
    case 'ipv4hint':
      for (const a of p.addresses) { w.ensure(4); parseIPv4Into(a, 0, a.length, w.buf, w.length); w.length += 4; }
      break;
    case 'ipv6hint':
      for (const a of p.addresses) { w.ensure(16); parseIPv6Into(a, w.buf, w.length); w.length += 16; }
      break;
    case 'ech': case 'unknown': w.bytes(p.data); break;
  }
}

/**
 * Validates and appends SVCB/HTTPS rdata to `w`: priority (u16), target (INVALID_NAME naming
 * `what: target`) and params (INVALID_RECORD), checked in that order; the TargetName is written
 * uncompressed (RFC 9460 §2.2), params sorted by key.
 */
export function writeSvcbRdata(w: DnsWriter, priority: number, target: string, params: readonly SvcParamValue[], what: string): void {
  if (!isU16(priority)) throw bad(what, `priority ${String(priority)} is not in 0-65535`);
  if (typeof target !== 'string') throw new PkarrError('INVALID_NAME', `${what}: target must be a string`);
  const start = w.length;
  w.u16(priority);
  const name = normalizeTarget(target);
  if (!w.name(name, false)) throwNameError(name, `${what}: target`);
  validateSvcParams(params, what);
  for (const p of normalizeSvcParams(params)) {
    w.u16(svcParamKeyCode(p));
    const at = w.length;
    w.u16(0);
    writeParamValue(w, p);
    const length = w.length - at - 2;
    if (length > 0xffff) throw bad(what, `SvcParam ${p.key} value is longer than 65535 bytes`);
    w.setU16(at, length);
  }
  if (w.length - start > 0xffff) throw bad(what, 'rdata is longer than 65535 bytes');
}

/**
 * Encodes SVCB/HTTPS rdata. Validates priority (u16), target (INVALID_NAME) and params
 * (INVALID_RECORD); the TargetName is written uncompressed (RFC 9460 §2.2), params sorted by key.
 */
export function encodeSvcbRdata(priority: number, target: string, params: readonly SvcParamValue[], what: string): Uint8Array {
  const w = new DnsWriter();
  writeSvcbRdata(w, priority, target, params, what);
  return w.buf.slice(0, w.length);
}

/** Reads a (possibly compressed) name at `offset`; direct labels must end before `limit`. */
export type NameReader = (offset: number, limit: number) => { name: string; end: number };

/** Decoded SVCB/HTTPS rdata. */
export interface SvcbRdata { priority: number; target: string; params: SvcParamValue[] }

const fail = (msg: string): PkarrError => new PkarrError('DNS_ERROR', `SVCB rdata: ${msg}`);

/**
 * Decodes SVCB/HTTPS rdata occupying `msg[start, end)`, strictly (PkarrError 'DNS_ERROR').
 * The TargetName is read with `readName` (pointers are tolerated like simple-dns does); the root
 * target is returned as `.`.
 */
export function decodeSvcbRdata(msg: Uint8Array, start: number, end: number, readName: NameReader): SvcbRdata {
  if (end - start < 3) throw fail('too short');
  const u16 = (at: number): number => ((msg[at] ?? 0) << 8) | (msg[at + 1] ?? 0);
  const priority = u16(start);
  const name = readName(start + 2, end);
  const target = name.name === '' ? '.' : name.name;
  const params: SvcParamValue[] = [];
  let pos = name.end;
  let previous = -1;
  while (pos < end) {
    if (end - pos < 4) throw fail('truncated SvcParam header');
    const key = u16(pos);
    const len = u16(pos + 2);
    const v = pos + 4;
    const vEnd = v + len;
    if (vEnd > end) throw fail(`SvcParam ${svcKeyName(key)} overruns the rdata`);
    if (key <= previous) throw fail(`SvcParam keys not strictly ascending (${svcKeyName(key)} after ${svcKeyName(previous)})`);
    if (key === SVC_INVALID_KEY) throw fail('SvcParam key 65535 is reserved');
    previous = key;
    const data = msg.subarray(v, vEnd);
    const need = (ok: boolean, what: string): void => { if (!ok) throw fail(`bad ${svcKeyName(key)} value: ${what}`); };
    switch (key) {
      case 0: {
        need(len > 0 && len % 2 === 0, 'length must be a non-zero multiple of 2');
        const keys: number[] = [];
        for (let i = v; i < vEnd; i += 2) {
          const k = u16(i);
          need(k !== 0 && k !== SVC_INVALID_KEY, `key ${k} not allowed`);
          need(keys.length === 0 || k > (keys[keys.length - 1] ?? -1), 'keys must be strictly ascending');
          keys.push(k);
        }
        params.push({ key: 'mandatory', keys });
        break;
      }
      case 1: {
        need(len > 0, 'empty');
        const protocols: string[] = [];
        for (let i = 0; i < data.length;) {
          const n = data[i] ?? 0;
          need(n > 0 && i + 1 + n <= data.length, 'bad alpn-id length');
          protocols.push(utf8Text(data.subarray(i + 1, i + 1 + n)));
          i += 1 + n;
        }
        params.push({ key: 'alpn', protocols });
        break;
      }
      case 2: need(len === 0, 'must be empty'); params.push({ key: 'no-default-alpn' }); break;
      case 3: need(len === 2, 'length must be 2'); params.push({ key: 'port', port: u16(v) }); break;
      case 4:
      case 6: {
        const size = key === 4 ? 4 : 16;
        need(len > 0 && len % size === 0, `length must be a non-zero multiple of ${size}`);
        const addresses: string[] = [];
        for (let i = 0; i < len; i += size) {
          const b = data.subarray(i, i + size);
          addresses.push(key === 4 ? formatIPv4(b) : formatIPv6(b));
        }
        params.push(key === 4 ? { key: 'ipv4hint', addresses } : { key: 'ipv6hint', addresses });
        break;
      }
      case 5:
        need(len >= 2 && u16(v) === len - 2, 'ECHConfigList length prefix mismatch');
        params.push({ key: 'ech', data: Uint8Array.from(data) });
        break;
      default:
        params.push({ key: 'unknown', code: key, data: Uint8Array.from(data) });
    }
    pos = vEnd;
  }
  return { priority, target, params };
}
