/**
 * A small one-line text form for DNS records, used by the CLI. Grammar:
 *
 *     line   = TYPE name rdata... ttl
 *
 * - Tokens are separated by spaces/tabs. A token is either bare (any run of non-space characters
 *   without `"`) or a double-quoted string in which only `\"` and `\\` are escapes.
 * - TYPE is case-insensitive: `A AAAA CNAME NS TXT SRV SVCB HTTPS`, or `TYPEnnn` for any other type.
 * - name is the owner as written: `@` (or `.`) for the apex, relative (`_foo`, `www`) or absolute
 *   (`www.<z32>`). It is normalised against the key only when the packet is encoded (names.ts).
 * - ttl is REQUIRED and always the last token: decimal seconds, 0–4294967295. There is no default.
 * - rdata per type (targets are names as written; `.` is the root):
 *
 *     A      <ipv4>                            A @ 1.2.3.4 300
 *     AAAA   <ipv6>                            AAAA www ::1 60
 *     CNAME  <target>                          CNAME www _foo 300
 *     NS     <target>                          NS @ ns1.example.com 3600
 *     TXT    <string>+                         TXT _foo "hello world" 60
 *     SRV    <priority> <weight> <port> <target>       SRV _game._udp 10 5 7777 host 300
 *     SVCB   <priority> <target> <param>*      SVCB _enet 1 . port=7777 ipv4hint=1.2.3.4 300
 *     HTTPS  <priority> <target> <param>*      HTTPS @ 1 example.com alpn=h2,h3 3600
 *     TYPEn  \# <length> <hex>*                TYPE99 _x \# 3 abcdef 300   (RFC 3597 generic form)
 *
 *   TXT: each string token is one character-string; a token longer than 255 bytes is split into
 *   254-byte chunks like simple-dns (txtStrings).
 *   SvcParams (any order; written sorted): `mandatory=alpn,port`, `alpn=h2,h3`, `no-default-alpn`,
 *   `port=N`, `ipv4hint=a,b`, `ipv6hint=a,b`, `ech=<base64 ECHConfigList>`, and `keyNNNNN=<hex>`
 *   for other keys (hex instead of RFC 9460's char-string, a deliberate simplification). A param
 *   containing spaces must be quoted as a whole (`"alpn=a b"`); alpn ids cannot contain `,`.
 *
 * - Values are taken literally (no `\DDD` escapes); a line cannot carry a newline.
 *
 * parseRecordText also runs the encoder's validation (dns-encode.ts validateRecord, with the
 * name's own key or a 52-character stand-in as origin) and throws PkarrError('INVALID_RECORD')
 * naming the bad token or field. formatRecordText is its inverse: parse(format(r)) equals r for
 * valid records, except TXT `[]`, which comes back as `[""]` (the same bytes on the wire).
 */
import { Buffer } from 'node:buffer';
import { PkarrError } from './errors.ts';
import { txtStrings, validateRecord } from './dns-encode.ts';
import { parseIPv4, parseIPv6, utf8Bytes } from './names.ts';
import type { DnsRecord, SvcParamValue } from './records.ts';
import { svcKeyCode, svcKeyName } from './svcb.ts';

/** Origin used to validate relative names in text (every z32 key is 52 characters long). */
const PLACEHOLDER_ORIGIN = 'y'.repeat(52);
const Z32_LABEL = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/;

/** The origin to validate `name` against: its own last label when that looks like a z32 key. */
function validationOrigin(name: string): string {
  const last = (name.endsWith('.') ? name.slice(0, -1) : name).split('.').pop() ?? '';
  return Z32_LABEL.test(last) ? last : PLACEHOLDER_ORIGIN;
}

interface Token { text: string; quoted: boolean }

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] ?? '';
    if (c === ' ' || c === '\t') { i++; continue; }
    if (c === '"') {
      let text = '';
      i++;
      for (;;) {
        if (i >= line.length) throw invalid(`unterminated quoted string in ${JSON.stringify(line)}`);
        const d = line[i] ?? '';
        if (d === '"') { i++; break; }
        if (d === '\\') {
          const e = line[i + 1];
          if (e !== '"' && e !== '\\') throw invalid(`bad escape "\\${e ?? ''}" in ${JSON.stringify(line)} (only \\" and \\\\)`);
          text += e;
          i += 2;
        } else { text += d; i++; }
      }
      if (i < line.length && line[i] !== ' ' && line[i] !== '\t') throw invalid(`missing space after a quoted string in ${JSON.stringify(line)}`);
      tokens.push({ text, quoted: true });
    } else {
      let j = i;
      while (j < line.length && line[j] !== ' ' && line[j] !== '\t') j++;
      const text = line.slice(i, j);
      if (text.includes('"')) throw invalid(`stray quote in token ${JSON.stringify(text)}`);
      tokens.push({ text, quoted: false });
      i = j;
    }
  }
  return tokens;
}

function invalid(msg: string): PkarrError {
  return new PkarrError('INVALID_RECORD', `record text: ${msg}`);
}

function tokenError(tokens: Token[], index: number, msg: string): PkarrError {
  const t = tokens[index];
  return invalid(`token ${index + 1} ${t === undefined ? '(missing)' : JSON.stringify(t.text)}: ${msg}`);
}

function integer(tokens: Token[], index: number, max: number, what: string): number {
  const text = tokens[index]?.text ?? '';
  if (!/^(0|[1-9][0-9]*)$/.test(text) || Number(text) > max) throw tokenError(tokens, index, `${what} must be an integer in 0-${max}`);
  return Number(text);
}

function parseParam(token: string): SvcParamValue {
  const eq = token.indexOf('=');
  const name = eq < 0 ? token : token.slice(0, eq);
  const value = eq < 0 ? '' : token.slice(eq + 1);
  const code = svcKeyCode(name);
  const list = (): string[] => value === '' ? [] : value.split(',');
  if (code === null) throw new Error(`unknown SvcParam key ${JSON.stringify(name)}`);
  if (code > 6) {
    if (!/^([0-9a-fA-F]{2})*$/.test(value)) throw new Error(`${name} value must be hex`);
    return { key: 'unknown', code, data: Uint8Array.from(Buffer.from(value, 'hex')) };
  }
  if (eq < 0 && code !== 2) throw new Error(`${name} needs a value`);
  switch (code) {
    case 0: return {
      key: 'mandatory', keys: list().map((k) => {
        const c = svcKeyCode(k);
        if (c === null) throw new Error(`unknown key ${JSON.stringify(k)} in mandatory`);
        return c;
      }),
    };
    case 1: return { key: 'alpn', protocols: list() };
    case 2:
      if (eq >= 0) throw new Error('no-default-alpn takes no value');
      return { key: 'no-default-alpn' };
    case 3:
      if (!/^(0|[1-9][0-9]{0,4})$/.test(value) || Number(value) > 0xffff) throw new Error('port must be an integer in 0-65535');
      return { key: 'port', port: Number(value) };
    case 4: return { key: 'ipv4hint', addresses: list() };
    case 6: return { key: 'ipv6hint', addresses: list() };
    default: {
      const data = Buffer.from(value, 'base64');
      if (data.toString('base64') !== value) throw new Error('ech must be canonical base64');
      return { key: 'ech', data: Uint8Array.from(data) };
    }
  }
}

/** Parses one line of the text form (grammar at the top of this file). */
export function parseRecordText(line: string): DnsRecord {
  if (typeof line !== 'string') throw invalid('line must be a string');
  const tokens = tokenize(line);
  if (tokens.length < 4) throw invalid(`${JSON.stringify(line)} needs at least TYPE, name, data and TTL`);
  const typeText = (tokens[0]?.text ?? '').toUpperCase();
  const name = tokens[1]?.text ?? '';
  const last = tokens.length - 1;
  const ttl = integer(tokens, last, 0xffffffff, 'TTL (the last token)');
  const data = tokens.slice(2, last);
  const arity = (n: number): void => {
    if (data.length !== n) throw invalid(`${typeText} takes ${n} data token(s) before the TTL, got ${data.length}`);
  };
  const text = (i: number): string => data[i]?.text ?? '';
  let record: DnsRecord;
  const typeMatch = /^TYPE(0|[1-9][0-9]{0,4})$/.exec(typeText);
  if (typeText === 'A' || typeText === 'AAAA') {
    arity(1);
    if ((typeText === 'A' ? parseIPv4 : parseIPv6)(text(0)) === null) {
      throw tokenError(tokens, 2, `not a valid ${typeText === 'A' ? 'IPv4' : 'IPv6'} address`);
    }
    record = { type: typeText, name, ttl, address: text(0) };
  } else if (typeText === 'CNAME' || typeText === 'NS') {
    arity(1);
    record = { type: typeText, name, ttl, target: text(0) };
  } else if (typeText === 'TXT') {
    if (data.length === 0) throw invalid('TXT needs at least one string before the TTL');
    const strings = data.flatMap((t) => (utf8Bytes(t.text).length > 255 ? txtStrings(t.text) : [t.text]));
    record = { type: 'TXT', name, ttl, strings };
  } else if (typeText === 'SRV') {
    arity(4);
    record = {
      type: 'SRV', name, ttl, priority: integer(tokens, 2, 0xffff, 'priority'), weight: integer(tokens, 3, 0xffff, 'weight'),
      port: integer(tokens, 4, 0xffff, 'port'), target: text(3),
    };
  } else if (typeText === 'SVCB' || typeText === 'HTTPS') {
    if (data.length < 2) throw invalid(`${typeText} needs a priority and a target before the params and TTL`);
    const params = data.slice(2).map((t, i) => {
      try { return parseParam(t.text); } catch (err) { throw tokenError(tokens, i + 4, (err as Error).message); }
    });
    record = { type: typeText, name, ttl, priority: integer(tokens, 2, 0xffff, 'priority'), target: text(1), params };
  } else if (typeMatch !== null && Number(typeMatch[1]) <= 0xffff) {
    if (text(0) !== '\\#') throw tokenError(tokens, 2, 'generic rdata must start with \\#');
    const length = integer(tokens, 3, 0xffff, 'rdata length');
    const hex = data.slice(2).map((t) => t.text).join('');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw tokenError(tokens, 4, 'rdata must be hex');
    if (hex.length / 2 !== length) throw tokenError(tokens, 3, `length says ${length} bytes but the hex has ${hex.length / 2}`);
    record = { type: 'UNKNOWN', name, ttl, typeCode: Number(typeMatch[1]), data: Uint8Array.from(Buffer.from(hex, 'hex')) };
  } else {
    throw tokenError(tokens, 0, 'unknown record type (use A, AAAA, CNAME, NS, TXT, SRV, SVCB, HTTPS or TYPEnnn)');
  }
  try {
    validateRecord(record, validationOrigin(name), 0);
  } catch (err) {
    const msg = err instanceof Error ? err.message.replace(/^record #0 \([^)]*\): /, '') : String(err);
    throw invalid(`${JSON.stringify(line)}: ${msg}`);
  }
  return record;
}

function quote(text: string): string {
  if (text !== '' && !/[\s"]/.test(text)) return text;
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function relative(name: string, origin: string | undefined): string {
  if (origin === undefined) return name;
  if (name === origin) return '@';
  return name.endsWith(`.${origin}`) ? name.slice(0, -origin.length - 1) : name;
}

function formatParam(p: SvcParamValue): string {
  const joined = (items: string[]): string => {
    if (items.some((s) => s.includes(',') || s === '')) throw invalid(`SvcParam ${p.key} value cannot be written as text`);
    return items.join(',');
  };
  switch (p.key) {
    case 'mandatory': return `mandatory=${p.keys.map(svcKeyName).join(',')}`;
    case 'alpn': return quote(`alpn=${joined(p.protocols)}`);
    case 'no-default-alpn': return 'no-default-alpn';
    case 'port': return `port=${p.port}`;
    case 'ipv4hint': return `ipv4hint=${joined(p.addresses)}`;
    case 'ipv6hint': return `ipv6hint=${joined(p.addresses)}`;
    case 'ech': return `ech=${Buffer.from(p.data).toString('base64')}`;
    case 'unknown': return `key${p.code}=${Buffer.from(p.data).toString('hex')}`;
  }
}

/**
 * Formats a record in the text form. With `origin`, owner names under it are written relative
 * (`www.<origin>` → `www`, the origin itself → `@`); targets are written as stored.
 */
export function formatRecordText(record: DnsRecord, origin?: string): string {
  const head = `${record.type === 'UNKNOWN' ? `TYPE${record.typeCode}` : record.type} ${quote(relative(record.name, origin))}`;
  let data: string;
  switch (record.type) {
    case 'A': case 'AAAA': data = record.address; break;
    case 'CNAME': case 'NS': data = quote(record.target); break;
    case 'TXT': data = (record.strings.length === 0 ? [''] : record.strings).map(quote).join(' '); break;
    case 'SRV': data = `${record.priority} ${record.weight} ${record.port} ${quote(record.target)}`; break;
    case 'SVCB': case 'HTTPS':
      data = [String(record.priority), quote(record.target), ...[...record.params].sort(byKey).map(formatParam)].join(' ');
      break;
    case 'UNKNOWN':
      data = record.data.length === 0 ? '\\# 0' : `\\# ${record.data.length} ${Buffer.from(record.data).toString('hex')}`;
      break;
  }
  return `${head} ${data} ${record.ttl}`;
}

function byKey(a: SvcParamValue, b: SvcParamValue): number {
  const code = (p: SvcParamValue): number => (p.key === 'unknown' ? p.code : svcKeyCode(p.key) ?? 0);
  return code(a) - code(b);
}
