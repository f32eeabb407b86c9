/**
 * Target `relay`: requests through the relay's real request handler, in-process and without
 * sockets. `startRelay` (relay-server.ts) keeps its node:http Server private, so setup makes one
 * real request and picks the Server up from Node's `http.server.request.start` diagnostics channel;
 * each fuzz input is then an IncomingMessage/ServerResponse pair on an in-memory socket emitted
 * as the server's 'request' event: exactly what node:http does after parsing a request.
 *
 * Inputs (by weight): PUT /<key> with mutated relay payloads (bit flips … count lies, lengths up
 * to 1300 bytes, declared Content-Length lies), PUT with mutated DNS validly re-signed (reaches
 * the store and the DHT put; timestamps grow with the input index, sometimes edge values), mutated
 * key paths; GET/HEAD with mutated keys, `?policy=` and If-Modified-Since; DoH GET/POST with
 * mutated DNS queries; other methods and odd paths.
 *
 * A finding: a 5xx status (the relay's DHT double never fails), a status the route does not
 * document, a 4xx reason that is not one line, a response that never finishes, or a line the
 * relay logs about a failed request.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import dnsPacket from 'dns-packet';
import { IncomingMessage, ServerResponse, request as httpRequest, type Server } from 'node:http';
import { Duplex } from 'node:stream';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { Keypair, type PublicKey } from '../../sidecar/src/core/keys.ts';
import { signable, type SignedPacket } from '../../sidecar/src/core/signed-packet.ts';
import type { Dht, DhtGetResult, DhtLookupStats, DhtPutResult } from '../../sidecar/src/dht/types.ts';
import { startRelay, type RunningRelay } from '../../sidecar/src/relay/relay-server.ts';
import { mapDnsFields } from '../dns-fields.ts';
import { dnsSeeds, KEYS, packetSeeds, type PacketSeed } from '../corpus.ts';
import { FindingError, preview, type FuzzTarget, type Generated, type Outcome } from '../harness.ts';
import { mutateBytes, mutateText, randomText, type ByteSeed } from '../mutators.ts';
import type { Rng } from '../prng.ts';

export interface RelayRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Signs the re-signed payloads with edge timestamps. */
const EDGE_KEY = Keypair.fromSeed(new Uint8Array(32).fill(7));

/** An in-memory DHT for the relay: BEP44-like ordering, never fails. */
class FuzzDht implements Dht {
  readonly items = new Map<string, SignedPacket>();
  nodeCount = 8;
  async put(packet: SignedPacket): Promise<DhtPutResult> {
    const held = this.items.get(packet.publicKey.z32);
    if (held !== undefined && held.moreRecentThan(packet)) throw new PkarrError('NOT_MOST_RECENT', 'sequence number less than current (302)');
    this.items.set(packet.publicKey.z32, packet);
    return { storedOn: 8 };
  }
  async get(key: PublicKey): Promise<DhtGetResult> {
    return { packet: this.items.get(key.z32) ?? null, responded: 8 };
  }
  async holders(key: PublicKey): Promise<DhtLookupStats> {
    const packet = this.items.get(key.z32) ?? null;
    return { holders: packet === null ? 0 : 8, packet };
  }
  async destroy(): Promise<void> {}
}

/** A socket for one request: collects what the response writes. */
class MemorySocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 6881;
  readonly chunks: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    done();
  }
  setTimeout(): this { return this; }
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
}

/** Statuses each kind of request may answer (with a DHT double that never fails). */
const ALLOWED: Record<string, ReadonlySet<number>> = {
  PUT: new Set([204, 400, 404, 405, 409, 413]), // 404 nested path, 405 `PUT /` (the status page)
  GET: new Set([200, 304, 400, 404]),
  HEAD: new Set([200, 304, 400, 404]),
  DOH: new Set([200, 204, 400, 404, 405, 413, 415]), // 204 preflight, 404 `/dns-query/…`
  OTHER: new Set([204, 400, 404, 405, 413]),
};

const METHODS = ['DELETE', 'PATCH', 'POST', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'M-SEARCH'];
const ODD_PATHS = ['/', '//', '/a/b', '/%', '/%ff', '/%e0%a4%a', '/%00', '/..', '/./x', `/${'a'.repeat(8000)}`, '/?', '/#', '/dns-query/', '/DNS-QUERY', '/pk:', '/%70k:x'];
const POLICIES = ['CacheFirst', 'CacheOnly', 'NetworkOnly', 'cachefirst', '', 'x', 'CacheFirst&policy=NetworkOnly'];
const DATES = ['Thu, 01 Jan 1970 00:00:00 GMT', 'Wed, 11 Oct 2023 09:33:47 GMT', 'Sat, 13 Sep 275760 00:00:00 GMT', 'garbage', '', '0', '-1', 'Mon, 99 Foo 2023 99:99:99 GMT'];

/** Percent-encodes the UTF-8 bytes of `text` (lone surrogates become U+FFFD, never an exception). */
function pctEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

function keyPath(rng: Rng, key: PublicKey): string {
  return rng.weighted<() => string>([
    [() => key.z32, 65], [() => `pk:${key.z32}`, 10], [() => pctEncode(`pk:${key.z32}`), 3],
    [() => pctEncode(mutateText(rng, key.z32, [key.z32], 200).value), 12], [() => rng.pick(KEYS).publicKey.z32, 5],
    [() => pctEncode(randomText(rng, 80)), 5],
  ])();
}

/** The body of a raw HTTP/1.1 response (chunked transfer coding undone). */
export function responseBody(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).toLowerCase();
  const rest = raw.slice(split + 4);
  if (!/\r\ntransfer-encoding: *chunked/.test(head)) return rest;
  let out = '';
  for (let at = 0; at < rest.length;) {
    const eol = rest.indexOf('\r\n', at);
    const size = Number.parseInt(rest.slice(at, eol), 16);
    if (!(size > 0)) break;
    out += rest.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return out;
}

export function relayTarget(): FuzzTarget<RelayRequest> {
  let relay: RunningRelay | null = null;
  let server: Server | null = null;
  let seeds: PacketSeed[] = [];
  let payloads: ByteSeed[] = [];
  let dns: ByteSeed[] = [];
  let queries: ByteSeed[] = [];
  const logged: string[] = [];
  const base = BigInt(Date.now()) * 1000n;

  function putRequest(rng: Rng, index: number): Generated<RelayRequest> {
    const k = rng.int(seeds.length);
    const { keypair } = seeds[k]!;
    let body: Uint8Array;
    let mutation: string;
    let signer = keypair;
    if (rng.chance(0.25)) {
      const m = mutateBytes(rng, dns[k]!, dns, 1100);
      // Edge timestamps (far future included) go to a key of their own, so they cannot block the others.
      const edge = rng.chance(0.05);
      if (edge) signer = EDGE_KEY;
      const timestamp = edge ? rng.pick([0n, 1n, (1n << 53n) + 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n]) : base + BigInt(index);
      const out = Buffer.alloc(72 + m.value.length);
      out.set(signer.sign(signable(timestamp, m.value)), 0);
      out.writeBigUInt64BE(timestamp, 64);
      out.set(m.value, 72);
      body = new Uint8Array(out.buffer, out.byteOffset, out.length);
      mutation = `resigned:${m.mutation}`;
    } else {
      const m = mutateBytes(rng, payloads[k]!, payloads, 1300);
      body = m.value;
      mutation = `payload:${m.mutation}`;
    }
    const headers: Record<string, string> = { host: '127.0.0.1:6881', 'content-length': String(body.length) };
    if (rng.chance(0.05)) {
      headers['content-length'] = rng.pick(['0', '1', '1104', '1105', '99999999', '-1', 'abc', String(body.length + 1)]);
      mutation += '+content-length-lie';
    }
    if (rng.chance(0.1)) headers['origin'] = rng.pick(['http://evil.example', 'null', '']);
    return { value: { method: 'PUT', path: `/${keyPath(rng, signer.publicKey)}`, headers, body }, mutation };
  }

  function getRequest(rng: Rng): Generated<RelayRequest> {
    const { keypair } = rng.pick(seeds);
    const query = rng.chance(0.4) ? `?policy=${rng.pick(POLICIES)}` : rng.chance(0.1) ? `?${randomText(rng, 40)}` : '';
    const headers: Record<string, string> = { host: '127.0.0.1:6881' };
    if (rng.chance(0.3)) headers['if-modified-since'] = rng.pick(DATES);
    return { value: { method: rng.chance(0.8) ? 'GET' : 'HEAD', path: `/${keyPath(rng, keypair.publicKey)}${query}`, headers, body: new Uint8Array(0) }, mutation: 'get' };
  }

  function dohRequest(rng: Rng): Generated<RelayRequest> {
    const m = mutateBytes(rng, rng.pick(queries), queries, 600);
    const headers: Record<string, string> = { host: '127.0.0.1:6881', accept: 'application/dns-message' };
    if (rng.chance(0.5)) {
      return { value: { method: 'GET', path: `/dns-query?dns=${Buffer.from(m.value).toString('base64url')}`, headers, body: new Uint8Array(0) }, mutation: `doh-get:${m.mutation}` };
    }
    headers['content-type'] = rng.chance(0.9) ? 'application/dns-message' : 'text/plain';
    headers['content-length'] = String(m.value.length);
    return { value: { method: 'POST', path: '/dns-query', headers, body: m.value }, mutation: `doh-post:${m.mutation}` };
  }

  function otherRequest(rng: Rng): Generated<RelayRequest> {
    const headers: Record<string, string> = { host: '127.0.0.1:6881' };
    if (rng.chance(0.5)) headers['access-control-request-headers'] = randomText(rng, 40).replace(/[^\x21-\x7e ]/g, '');
    if (rng.chance(0.5)) headers['origin'] = 'http://x.example';
    const method = rng.pick(METHODS);
    const path = rng.chance(0.7) ? rng.pick(ODD_PATHS) : `/${pctEncode(randomText(rng, 100))}`;
    return { value: { method, path, headers, body: rng.chance(0.3) ? rng.bytes(rng.int(2000)) : new Uint8Array(0) }, mutation: `other:${method}` };
  }

  /** Runs one request through the server's 'request' listener and resolves with the raw response. */
  function exchange(input: RelayRequest): Promise<{ status: number; text: string }> {
    const socket = new MemorySocket();
    const req = new IncomingMessage(socket as never);
    req.method = input.method;
    req.url = input.path;
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.headers = { ...input.headers };
    req.rawHeaders = Object.entries(input.headers).flat();
    const res = new ServerResponse(req);
    res.assignSocket(socket as never);
    const done = new Promise<{ status: number; text: string }>((resolve) => {
      res.once('finish', () => resolve({ status: res.statusCode, text: Buffer.concat(socket.chunks).toString('latin1') }));
    });
    server!.emit('request', req, res);
    if (input.body.length > 0) req.push(Buffer.from(input.body));
    req.complete = true;
    req.push(null);
    return done;
  }

  return {
    name: 'relay',
    about: "the relay's real request handler (in-process, no sockets): PUT /<key> with mutated and validly re-signed payloads, GET/HEAD, DoH, other methods and paths",
    async setup() {
      seeds = packetSeeds().filter((s) => s.packet.dns.length <= 1000);
      payloads = seeds.map(({ packet }) => {
        const bytes = packet.toRelayPayload();
        return { bytes, fields: mapDnsFields(bytes, 72) };
      });
      dns = seeds.map(({ packet }) => ({ bytes: packet.dns, fields: mapDnsFields(packet.dns) }));
      queries = KEYS.flatMap((k): Uint8Array[] => ['_foo', '@', '_lobby'].map((label) => {
        const name = label === '@' ? k.publicKey.z32 : `${label}.${k.publicKey.z32}`;
        return new Uint8Array(dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'TXT', name }] }));
      })).concat(dnsSeeds().slice(0, 2).map((s) => s.bytes)).map((bytes) => ({ bytes, fields: mapDnsFields(bytes) }));
      const channel = 'http.server.request.start';
      let captured: Server | null = null;
      const onStart = (message: unknown): void => { captured ??= (message as { server: Server }).server; };
      diagnosticsChannel.subscribe(channel, onStart);
      relay = await startRelay({ port: 0, dht: new FuzzDht(), rateLimit: null, dhtRateLimit: null, cacheSize: 10_000, log: (line) => logged.push(line) });
      await new Promise<void>((resolve, reject) => {
        httpRequest(`${relay!.url}/`, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject).end();
      });
      diagnosticsChannel.unsubscribe(channel, onStart);
      if (captured === null) throw new Error('could not capture the relay server from the diagnostics channel');
      server = captured;
    },
    generate(rng, index) {
      return rng.weighted<() => Generated<RelayRequest>>([
        [() => putRequest(rng, index), 75], [() => getRequest(rng), 12], [() => dohRequest(rng), 8], [() => otherRequest(rng), 5],
      ])();
    },
    async execute(input): Promise<Outcome> {
      logged.length = 0;
      const { status, text } = await exchange(input);
      const kind = input.path.startsWith('/dns-query') ? 'DOH' : input.method in ALLOWED ? input.method : 'OTHER';
      if (logged.length > 0) throw new FindingError(`relay logged: ${preview(logged.join(' | '))}`);
      if (!ALLOWED[kind]!.has(status)) throw new FindingError(`${kind} answered ${status}: ${preview(responseBody(text))}`);
      if (status >= 400 && input.method !== 'HEAD') {
        const body = responseBody(text);
        if (kind !== 'DOH' && /\n./.test(body)) throw new FindingError(`${status} reason is not one line: ${preview(body)}`);
      }
      return status === 204 || status === 200 || status === 304 ? { accepted: true } : { accepted: false, code: `${kind} ${status}` };
    },
    show: (input) => preview(`${input.method} ${input.path} ${JSON.stringify(input.headers)} body ${input.body.length}B ${Buffer.from(input.body.subarray(0, 200)).toString('hex')}`),
    async teardown() {
      await relay?.close();
    },
  };
}
