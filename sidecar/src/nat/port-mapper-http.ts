/**
 * The small HTTP/XML toolkit UPnP IGD needs, with every gateway answer bounded: one HTTP request
 * (no redirects, a byte cap, a time bound), the text of a leaf XML element, the blocks of a
 * repeated element, and a SOAP call that turns a UPnP fault into its code and description.
 * No XML parser: a gateway's description and SOAP answers are small flat documents, read here
 * with linear scans over at most MAX_BODY bytes.
 */
import { request as httpRequest } from 'node:http';

/** Largest gateway answer read (descriptions of real routers are 2-20 KiB). */
export const MAX_BODY = 64 * 1024;

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
  /** Our address on the connection (the internal client to name in AddPortMapping). */
  localAddress: string;
}

export interface HttpOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal;
}

/** One plain-HTTP request; rejects on any other scheme, an oversized answer or the time bound. */
export function fetchBounded(url: URL, options: HttpOptions): Promise<HttpAnswer> {
  if (url.protocol !== 'http:') return Promise.reject(new Error(`refusing ${url.protocol} URL (UPnP control is plain HTTP)`));
  return new Promise((resolve, reject) => {
    let localAddress = '';
    let settled = false;
    const finish = (err: Error | null, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== null) {
        req.destroy();
        reject(err);
      } else resolve(answer!);
    };
    const req = httpRequest(url, {
      method: options.method ?? 'GET',
      headers: { ...options.headers, ...(options.body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(options.body)) }) },
      signal: options.signal,
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) finish(new Error(`answer larger than ${MAX_BODY} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => finish(null, {
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
        localAddress,
      }));
      res.on('error', (err) => finish(err));
    });
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    req.on('socket', (socket) => {
      socket.on('connect', () => { localAddress = socket.localAddress ?? ''; });
    });
    req.on('error', (err) => finish(err));
    req.end(options.body);
  });
}

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-f]{1,6});/gi, (whole, name: string) => {
    const lower = name.toLowerCase();
    if (lower === 'lt') return '<';
    if (lower === 'gt') return '>';
    if (lower === 'amp') return '&';
    if (lower === 'quot') return '"';
    if (lower === 'apos') return "'";
    const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The trimmed text of the first `<name>` leaf element (any namespace prefix), or null. */
export function xmlText(xml: string, name: string): string | null {
  const n = escapeRegex(name);
  const match = new RegExp(`<(?:[A-Za-z0-9_.-]{1,32}:)?${n}(?:\\s[^<>]{0,512})?>([^<]{0,2048})</(?:[A-Za-z0-9_.-]{1,32}:)?${n}\\s{0,16}>`).exec(xml);
  if (match === null) return null;
  return decodeEntities(match[1]!).trim();
}

/** The inner text of each `<name>…</name>` block, in order (at most `limit`; unprefixed tags). */
export function xmlBlocks(xml: string, name: string, limit = 64): string[] {
  const blocks: string[] = [];
  const close = `</${name}>`;
  let from = 0;
  while (blocks.length < limit) {
    let open = xml.indexOf(`<${name}`, from);
    // Skip longer names that share the prefix (<serviceList> for <service>).
    while (open !== -1 && !/[\s>]/.test(xml.charAt(open + name.length + 1))) open = xml.indexOf(`<${name}`, open + 1);
    if (open === -1) break;
    const start = xml.indexOf('>', open);
    if (start === -1) break;
    const end = xml.indexOf(close, start);
    if (end === -1) break;
    blocks.push(xml.slice(start + 1, end));
    from = end + close.length;
  }
  return blocks;
}

/** A SOAP fault answered by the gateway (UPnP error code and description). */
export class UpnpFault extends Error {
  readonly upnpCode: number;

  constructor(upnpCode: number, description: string) {
    super(`UPnP error ${upnpCode}${description === '' ? '' : ` (${description})`}`);
    this.name = 'UpnpFault';
    this.upnpCode = upnpCode;
  }
}

/** One SOAP action; resolves with the answer body, rejects with UpnpFault or a transport error. */
export async function soapCall(controlUrl: URL, serviceType: string, action: string, args: [string, string | number][], timeoutMs: number, signal: AbortSignal): Promise<HttpAnswer> {
  const escape = (v: string | number): string => String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const body = '<?xml version="1.0"?>\r\n'
    + '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
    + `<s:Body><u:${action} xmlns:u="${serviceType}">`
    + args.map(([k, v]) => `<${k}>${escape(v)}</${k}>`).join('')
    + `</u:${action}></s:Body></s:Envelope>\r\n`;
  const answer = await fetchBounded(controlUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${serviceType}#${action}"` },
    body, timeoutMs, signal,
  });
  if (answer.status === 200) return answer;
  const code = xmlText(answer.body, 'errorCode');
  if (code !== null && /^\d{1,4}$/.test(code)) throw new UpnpFault(Number(code), (xmlText(answer.body, 'errorDescription') ?? '').slice(0, 120));
  throw new Error(`${action}: HTTP ${answer.status}`);
}
