/**
 * DNS records ⇄ the JSON shapes of docs/rpc.md ("Records on the wire").
 *
 * Input (publish): `{type, name, ttl, ...rdata}`; `type` case-insensitive; TXT takes `text` (split
 * into ≤254-byte strings like simple-dns) or explicit `strings`; SVCB/HTTPS `params` is an object
 * `{mandatory: [names], alpn: [ids], "no-default-alpn": true, port, ipv4hint: [..], ipv6hint: [..],
 * ech: "<base64>", keyNNNNN: "<hex>"}`; other types `{type: "UNKNOWN", typeCode, data: "<hex>"}`.
 * The output of `recordToJson` is accepted back (its `relative`, and TXT `text` next to `strings`,
 * are ignored), so resolved records can be republished as they are. Every problem is an RPC
 * -32602 naming the field (`records[2].address`); the core validator (dns-encode.ts) has the last word.
 */
import { Buffer } from 'node:buffer';
import { isPkarrError } from '../core/errors.ts';
import { txtStrings, txtText, validateRecord } from '../core/dns-encode.ts';
import type { DnsRecord, SvcParamValue } from '../core/records.ts';
import { svcKeyCode, svcKeyName } from '../core/svcb.ts';
import { invalidParams, type RpcError } from './dispatcher.ts';

export type RecordJson = Record<string, unknown>;

const COMMON = ['type', 'name', 'ttl', 'relative'];
const FIELDS: Record<string, readonly string[]> = {
  A: ['address'], AAAA: ['address'], CNAME: ['target'], NS: ['target'], TXT: ['text', 'strings'],
  SRV: ['priority', 'weight', 'port', 'target'], SVCB: ['priority', 'target', 'params'],
  HTTPS: ['priority', 'target', 'params'], UNKNOWN: ['typeCode', 'data'],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(field: string, message: string): RpcError {
  return invalidParams(field, message, 'INVALID_RECORD');
}

function str(obj: Record<string, unknown>, key: string, field: string): string {
  const v = obj[key];
  if (typeof v !== 'string') throw bad(`${field}.${key}`, v === undefined ? 'is required' : 'must be a string');
  return v;
}

function int(obj: Record<string, unknown>, key: string, field: string, max: number): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw bad(`${field}.${key}`, v === undefined ? 'is required' : `must be an integer in 0-${max}`);
  }
  return v;
}

function strList(v: unknown, field: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string')) {
    throw bad(field, 'must be a non-empty array of strings');
  }
  return list as string[];
}

function bytesFrom(v: unknown, encoding: 'hex' | 'base64', field: string): Uint8Array {
  const pattern = encoding === 'hex' ? /^(?:[0-9a-fA-F]{2})*$/ : /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  if (typeof v !== 'string' || !pattern.test(v)) throw bad(field, `must be a ${encoding} string`);
  return new Uint8Array(Buffer.from(v, encoding));
}

function svcParamsFromJson(v: unknown, field: string): SvcParamValue[] {
  if (v === undefined) return [];
  if (!isObject(v)) throw bad(field, 'must be an object of SvcParams');
  const out: SvcParamValue[] = [];
  for (const [key, value] of Object.entries(v)) {
    const f = `${field}.${key}`;
    switch (key) {
      case 'mandatory':
        out.push({
          key: 'mandatory',
          keys: strList(value, f).map((name) => {
            const code = svcKeyCode(name);
            if (code === null) throw bad(f, `unknown SvcParam key ${JSON.stringify(name)}`);
            return code;
          }),
        });
        break;
      case 'alpn': out.push({ key: 'alpn', protocols: strList(value, f) }); break;
      case 'no-default-alpn':
        if (value !== true && value !== null) throw bad(f, 'must be true');
        out.push({ key: 'no-default-alpn' });
        break;
      case 'port':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) throw bad(f, 'must be an integer in 0-65535');
        out.push({ key: 'port', port: value });
        break;
      case 'ipv4hint': out.push({ key: 'ipv4hint', addresses: strList(value, f) }); break;
      case 'ipv6hint': out.push({ key: 'ipv6hint', addresses: strList(value, f) }); break;
      case 'ech': out.push({ key: 'ech', data: bytesFrom(value, 'base64', f) }); break;
      default: {
        const code = svcKeyCode(key);
        if (code === null) throw bad(f, 'unknown SvcParam key (use alpn, port, ipv4hint, ipv6hint, ech, mandatory, no-default-alpn or keyNNNNN)');
        out.push({ key: 'unknown', code, data: bytesFrom(value, 'hex', f) });
      }
    }
  }
  return out;
}

/** Parses one record of the wire JSON; `field` names it in errors (e.g. `records[0]`). Not yet validated. */
export function recordFromJson(value: unknown, field: string): DnsRecord {
  if (!isObject(value)) throw bad(field, 'must be an object');
  const rawType = value['type'];
  if (typeof rawType !== 'string') throw bad(`${field}.type`, 'is required (A, AAAA, CNAME, NS, TXT, SRV, SVCB, HTTPS, UNKNOWN)');
  const type = rawType.toUpperCase();
  const fields = FIELDS[type];
  if (!fields) throw bad(`${field}.type`, `unsupported record type ${JSON.stringify(rawType.slice(0, 20))}`);
  for (const key of Object.keys(value)) {
    if (!COMMON.includes(key) && !fields.includes(key)) throw bad(`${field}.${key}`, `is not a field of ${type} records`);
  }
  const name = str(value, 'name', field);
  const ttl = int(value, 'ttl', field, 0xffffffff);
  switch (type) {
    case 'A': return { type, name, ttl, address: str(value, 'address', field) };
    case 'AAAA': return { type, name, ttl, address: str(value, 'address', field) };
    case 'CNAME': return { type, name, ttl, target: str(value, 'target', field) };
    case 'NS': return { type, name, ttl, target: str(value, 'target', field) };
    case 'TXT': {
      const { text, strings } = value;
      if (strings !== undefined) {
        if (!Array.isArray(strings) || !strings.every((s) => typeof s === 'string')) throw bad(`${field}.strings`, 'must be an array of strings');
        if (text !== undefined && (typeof text !== 'string' || text !== strings.join(''))) {
          throw bad(`${field}.text`, 'must equal the concatenated strings when both are given');
        }
        return { type, name, ttl, strings: [...(strings as string[])] };
      }
      if (typeof text !== 'string') throw bad(`${field}.text`, 'is required (or strings)');
      try {
        return { type, name, ttl, strings: txtStrings(text) };
      } catch (err) {
        throw bad(`${field}.text`, isPkarrError(err) ? err.message : 'is invalid');
      }
    }
    case 'SRV':
      return {
        type, name, ttl,
        priority: int(value, 'priority', field, 0xffff), weight: int(value, 'weight', field, 0xffff),
        port: int(value, 'port', field, 0xffff), target: str(value, 'target', field),
      };
    case 'SVCB':
    case 'HTTPS':
      return {
        type, name, ttl, priority: int(value, 'priority', field, 0xffff), target: str(value, 'target', field),
        params: svcParamsFromJson(value['params'], `${field}.params`),
      };
    default:
      return { type: 'UNKNOWN', name, ttl, typeCode: int(value, 'typeCode', field, 0xffff), data: bytesFrom(value['data'], 'hex', `${field}.data`) };
  }
}

/** Parses and validates a record list against `origin` (the signer's z32). */
export function recordsFromJson(value: unknown, origin: string, field = 'records'): DnsRecord[] {
  if (!Array.isArray(value)) throw bad(field, value === undefined ? 'is required' : 'must be an array of records');
  if (value.length > 1000) throw bad(field, 'has more records than fit in a packet');
  return value.map((item, index) => {
    const record = recordFromJson(item, `${field}[${index}]`);
    try {
      validateRecord(record, origin, index);
    } catch (err) {
      if (isPkarrError(err)) throw invalidParams(`${field}[${index}]`, err.message, err.code);
      throw err;
    }
    return record;
  });
}

/** `name` relative to `origin`: `@` for the apex, the prefix for names under it, else as is. */
export function relativeName(name: string, origin: string): string {
  if (name === origin) return '@';
  return name.endsWith(`.${origin}`) ? name.slice(0, -(origin.length + 1)) : name;
}

function svcParamsToJson(params: readonly SvcParamValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of params) {
    switch (p.key) {
      case 'mandatory': out['mandatory'] = p.keys.map(svcKeyName); break;
      case 'alpn': out['alpn'] = [...p.protocols]; break;
      case 'no-default-alpn': out['no-default-alpn'] = true; break;
      case 'port': out['port'] = p.port; break;
      case 'ipv4hint': out['ipv4hint'] = [...p.addresses]; break;
      case 'ipv6hint': out['ipv6hint'] = [...p.addresses]; break;
      case 'ech': out['ech'] = Buffer.from(p.data).toString('base64'); break;
      case 'unknown': out[svcKeyName(p.code)] = Buffer.from(p.data).toString('hex'); break;
    }
  }
  return out;
}

/** A (decoded) record as wire JSON, with its absolute `name` and `relative` to `origin`. */
export function recordToJson(record: DnsRecord, origin: string): RecordJson {
  const base = { type: record.type, name: record.name, relative: relativeName(record.name, origin), ttl: record.ttl };
  switch (record.type) {
    case 'A': case 'AAAA': return { ...base, address: record.address };
    case 'CNAME': case 'NS': return { ...base, target: record.target };
    case 'TXT': return { ...base, strings: [...record.strings], text: txtText(record) };
    case 'SRV': return { ...base, priority: record.priority, weight: record.weight, port: record.port, target: record.target };
    case 'SVCB': case 'HTTPS': return { ...base, priority: record.priority, target: record.target, params: svcParamsToJson(record.params) };
    case 'UNKNOWN': return { ...base, typeCode: record.typeCode, data: Buffer.from(record.data).toString('hex') };
  }
}
