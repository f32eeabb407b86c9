/**
 * HTTP client for one pkarr relay (API: pubky/pkarr design/relays.md), speaking every dialect in
 * the wild:
 *
 * - v7: `PUT` → 204 + `Pkarr-Dht-Stored-Nodes`; `GET ?policy=…`, `Memento-Datetime`, 304 with
 *   `If-Modified-Since`, 404 + `Pkarr-Invalid-Signed-Packet-Seq`.
 * - v3–v6: `PUT` → 204 (200 before 2025-02) without the stored-nodes header, 409/428 for "not most
 *   recent"; `GET` with `If-Modified-Since` answers an **empty 200** when the packet is newer (bug),
 *   so an empty 200 — or a 304 we did not ask for — is retried once with
 *   `Cache-Control: no-cache, no-store, must-revalidate` and without `If-Modified-Since`.
 * - JS 1.3.0: `PUT` → 200.
 *
 * Every packet received is verified (`SignedPacket.fromRelayPayload`) against the key in the URL.
 * Uses the global `fetch` (undici) with a per-request timeout.
 */
import { PkarrError, isPkarrError } from '../core/errors.ts';
import { assertAllowedHost } from '../core/loopback-guard.ts';
import { PublicKey } from '../core/keys.ts';
import { MAX_BYTES, SignedPacket } from '../core/signed-packet.ts';
import { httpDate, nowMicros, parseHttpDate } from '../core/timestamp.ts';
import type { ResolvePolicy } from './types.ts';

/** Content type of a relay payload (`sig ‖ ts ‖ dns`). */
export const RELAY_PAYLOAD_CONTENT_TYPE = 'application/pkarr.org/relays#payload';
/** v7 PUT response header: how many DHT nodes stored the packet. */
export const STORED_NODES_HEADER = 'pkarr-dht-stored-nodes';
/** v7 404 header: seq of the newest DHT item that is not a valid pkarr packet. */
export const INVALID_SEQ_HEADER = 'pkarr-invalid-signed-packet-seq';
/** The cache-bypass header value of the reference clients. */
export const NO_CACHE = 'no-cache, no-store, must-revalidate';
/** GET bodies above this are refused (as the v7 client does). */
export const MAX_RESPONSE_BYTES = MAX_BYTES;
/** Default per-request timeout (v7 `DEFAULT_REQUEST_TIMEOUT`). */
export const DEFAULT_RELAY_TIMEOUT_MS = 2_000;

const I64_MAX = (1n << 63n) - 1n;
const U32_MAX = 0xffff_ffff;

export interface RelayClientOptions {
  /** Timeout of one GET request (including the retry's own budget), ms. Default 2000. */
  timeoutMs?: number;
  /**
   * Timeout of a PUT, ms. A relay answers a PUT only after its own DHT put, so the v3–v6 client
   * allowed 3× the request timeout; that is the default here too.
   */
  putTimeoutMs?: number;
  /** A fetch implementation (tests); defaults to the global undici fetch. */
  fetch?: typeof fetch;
}

export interface RelayPutResult {
  /** Nodes that stored the packet (`Pkarr-Dht-Stored-Nodes`; 1 when the header is absent). */
  storedOn: number;
  /** HTTP status of the answer (200 or 204 in practice). */
  status: number;
}

export interface RelayGetOptions {
  /** Sent as `?policy=` only when given (v7 relays; older relays ignore it). */
  policy?: ResolvePolicy;
  /**
   * Only packets with a timestamp strictly greater than `floor` count as found. When set,
   * `If-Modified-Since: HTTP-date(floor − 1 s)` is sent (HTTP dates have second precision, so the
   * previous second keeps same-second packets visible).
   */
  floor?: bigint;
  /** Send `Cache-Control: no-cache, no-store, must-revalidate` on the first request already. */
  bypassCache?: boolean;
  signal?: AbortSignal;
}

export interface RelayGetResult {
  /** The verified packet, or null (404, 304, or not above the floor). */
  packet: SignedPacket | null;
  /** HTTP status of the final answer. */
  status: number;
  /** True when the relay answered 304 to our If-Modified-Since. */
  notModified: boolean;
  /** From `Pkarr-Invalid-Signed-Packet-Seq` on a 404: the DHT holds an invalid packet at this seq. */
  invalidSeq?: bigint;
  /** True when the answer needed the cache-bypass retry (legacy empty-200 / unexpected 304). */
  retried: boolean;
}

/** One HTTP answer: 'retry' for the legacy empty 200 and for a 304 we did not ask for. */
interface FetchedAnswer {
  kind: 'done' | 'retry';
  response: Response;
  /** The body of a non-empty 2xx answer. */
  body?: Uint8Array;
}

/** Checks and normalises a relay base URL: http(s) only, no query or fragment, no trailing slash. */
export function normalizeRelayUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new PkarrError('INVALID_ARGUMENT', `invalid relay URL ${JSON.stringify(input)}: not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PkarrError('INVALID_ARGUMENT', `invalid relay URL ${JSON.stringify(input)}: scheme must be http or https, got ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new PkarrError('INVALID_ARGUMENT', `invalid relay URL ${JSON.stringify(input)}: must not contain a query or fragment`);
  }
  assertAllowedHost(url.hostname, 'relay host');
  return url.href.replace(/\/+$/, '');
}

function checkTimeout(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new PkarrError('INVALID_ARGUMENT', `${name} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}

/** Parses the decimal `Pkarr-Dht-Stored-Nodes` header (u32). Missing → 1, malformed → RELAY_ERROR. */
export function parseStoredNodes(value: string | null, url: string): number {
  if (value === null) return 1;
  const text = value.trim();
  if (!/^\d{1,10}$/.test(text) || Number(text) > U32_MAX) {
    throw new PkarrError('RELAY_ERROR', `relay ${url} sent a malformed Pkarr-Dht-Stored-Nodes header ${JSON.stringify(value)}`, { url, header: value });
  }
  return Number(text);
}

/** Parses `Pkarr-Invalid-Signed-Packet-Seq` (i64, non-negative); undefined when absent or malformed. */
export function parseInvalidSeq(value: string | null): bigint | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (!/^\d{1,19}$/.test(text)) return undefined;
  const seq = BigInt(text);
  return seq <= I64_MAX ? seq : undefined;
}

/** Reads a response body, refusing more than `limit` bytes (stops reading as soon as it is exceeded). */
async function readLimited(response: Response, limit: number, url: string): Promise<Uint8Array> {
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new PkarrError('RELAY_ERROR', `relay ${url} sent a ${declared}-byte body, over the ${limit}-byte limit`, { url, status: response.status });
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new PkarrError('RELAY_ERROR', `relay ${url} sent a body over the ${limit}-byte limit`, { url, status: response.status });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** A short, single-line excerpt of an error body for messages. */
async function bodyExcerpt(response: Response): Promise<string> {
  try {
    const bytes = await readLimited(response, 4096, '');
    const text = new TextDecoder().decode(bytes).replace(/\s+/g, ' ').trim();
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return '';
  }
}

/**
 * Maps a non-success status to the error the v7 client reports (pubky/pkarr
 * pkarr/src/relay_client.rs `RelayError::from_status`).
 */
async function statusError(response: Response, url: string, verb: string): Promise<PkarrError> {
  const status = response.status;
  const excerpt = await bodyExcerpt(response);
  const suffix = excerpt === '' ? '' : `: ${excerpt}`;
  if (status === 400) return new PkarrError('BAD_REQUEST', `relay ${url} rejected the ${verb} (400)${suffix}`, { url, status });
  if (status === 409 || status === 428) {
    return new PkarrError('NOT_MOST_RECENT', `relay ${url} holds a more recent packet (${status})${suffix}`, { url, status });
  }
  if (status === 429) {
    const retryAfter = response.headers.get('retry-after');
    const hint = retryAfter === null ? '' : `, retry after ${retryAfter}`;
    return new PkarrError('RELAY_ERROR', `relay ${url} rate-limited the ${verb} (429${hint})${suffix}`, { url, status, retryAfter });
  }
  return new PkarrError('RELAY_ERROR', `relay ${url} answered the ${verb} with HTTP ${status}${suffix}`, { url, status });
}

/** A PUT/GET against one relay. Stateless apart from its options; safe to share. */
export class RelayClient {
  /** Normalised base URL (no trailing slash). */
  readonly url: string;
  readonly timeoutMs: number;
  readonly putTimeoutMs: number;
  readonly #fetch: typeof fetch;

  /** Throws INVALID_ARGUMENT for a non-http(s) URL or a bad timeout. */
  constructor(url: string, options: RelayClientOptions = {}) {
    this.url = normalizeRelayUrl(url);
    this.timeoutMs = checkTimeout('relay timeout', options.timeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS);
    this.putTimeoutMs = checkTimeout('relay PUT timeout', options.putTimeoutMs ?? this.timeoutMs * 3);
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  #endpoint(key: PublicKey, policy?: ResolvePolicy): string {
    const base = `${this.url}/${key.z32}`;
    return policy === undefined ? base : `${base}?policy=${policy}`;
  }

  /**
   * Runs one request with a timeout; maps network failures and timeouts to PkarrErrors. The
   * caller's signal is linked by hand (not AbortSignal.any) so that a long-lived signal, such as a
   * client's lifetime, does not accumulate dependents.
   */
  async #request<T>(verb: string, timeoutMs: number, signal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // A function, so that TypeScript does not narrow `aborted` across the awaits below.
    const aborted = (): boolean => signal?.aborted === true;
    if (aborted()) throw signal?.reason;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new PkarrError('TIMEOUT', `relay ${this.url} timed out`));
    }, timeoutMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await run(controller.signal);
    } catch (err) {
      if (aborted()) throw signal?.reason;
      if (timedOut) {
        throw new PkarrError('TIMEOUT', `relay ${this.url} did not answer the ${verb} within ${timeoutMs} ms`, { url: this.url }, { cause: err });
      }
      if (isPkarrError(err)) throw err;
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : (err as Error)?.message ?? String(err);
      throw new PkarrError('RELAY_ERROR', `relay ${this.url} ${verb} failed: ${cause}`, { url: this.url }, { cause: err });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * PUTs a packet. Resolves with the stored-node count on 200/204; throws NOT_MOST_RECENT (409/428),
   * BAD_REQUEST (400), TIMEOUT, or RELAY_ERROR (429 with `details.retryAfter`, any other status,
   * malformed stored-nodes header, network failure).
   */
  async put(packet: SignedPacket, signal?: AbortSignal): Promise<RelayPutResult> {
    return this.#request('PUT', this.putTimeoutMs, signal, async (sig) => {
      const response = await this.#fetch(this.#endpoint(packet.publicKey), {
        method: 'PUT',
        headers: { 'content-type': RELAY_PAYLOAD_CONTENT_TYPE },
        body: packet.toRelayPayload(),
        signal: sig,
      });
      if (response.status === 200 || response.status === 204) {
        await response.body?.cancel().catch(() => undefined);
        return { storedOn: parseStoredNodes(response.headers.get(STORED_NODES_HEADER), this.url), status: response.status };
      }
      throw await statusError(response, this.url, 'PUT');
    });
  }

  /**
   * GETs the packet of `key`. Resolves with `packet: null` for 404, 304 and packets not above the
   * floor; throws BAD_REQUEST (400), TIMEOUT, or RELAY_ERROR (other statuses, oversized body, a
   * packet that fails verification — `details.reason` holds its code — or a second empty answer).
   */
  async get(keyInput: PublicKey | string, options: RelayGetOptions = {}): Promise<RelayGetResult> {
    const key = typeof keyInput === 'string' ? PublicKey.parse(keyInput) : keyInput;
    return this.#request('GET', this.timeoutMs, options.signal, async (signal) => {
      const floor = options.floor;
      const ims = floor !== undefined && floor >= 1_000_000n ? httpDate(floor - 1_000_000n) : undefined;
      const first = await this.#fetchPacket(key, options, signal, ims, options.bypassCache === true);
      if (first.kind === 'done') return this.#finish(key, first, floor, false);
      // Legacy empty 200, or a 304 we did not ask for: once more, bypassing caches, without IMS.
      const second = await this.#fetchPacket(key, options, signal, undefined, true);
      if (second.kind === 'done') return this.#finish(key, second, floor, true);
      throw new PkarrError('RELAY_ERROR', `relay ${this.url} sent an empty answer (${second.response.status}) twice for ${key.z32}`, { url: this.url, status: second.response.status });
    });
  }

  async #fetchPacket(
    key: PublicKey, options: RelayGetOptions, signal: AbortSignal, ims: string | undefined, bypass: boolean,
  ): Promise<FetchedAnswer> {
    const headers: Record<string, string> = {};
    if (ims !== undefined) headers['if-modified-since'] = ims;
    if (bypass) {
      headers['cache-control'] = NO_CACHE;
      headers.pragma = 'no-cache';
    }
    const response = await this.#fetch(this.#endpoint(key, options.policy), { method: 'GET', headers, signal });
    if (response.status === 304) {
      await response.body?.cancel().catch(() => undefined);
      return { kind: ims === undefined ? 'retry' : 'done', response };
    }
    if (response.status >= 200 && response.status < 300) {
      const body = await readLimited(response, MAX_RESPONSE_BYTES, this.url);
      return body.length === 0 ? { kind: 'retry', response } : { kind: 'done', response, body };
    }
    return { kind: 'done', response };
  }

  async #finish(key: PublicKey, answer: FetchedAnswer, floor: bigint | undefined, retried: boolean): Promise<RelayGetResult> {
    const { response, body } = answer;
    const status = response.status;
    if (status === 304) return { packet: null, status, notModified: true, retried };
    if (status === 404) {
      await response.body?.cancel().catch(() => undefined);
      const invalidSeq = parseInvalidSeq(response.headers.get(INVALID_SEQ_HEADER));
      return invalidSeq === undefined
        ? { packet: null, status, notModified: false, retried }
        : { packet: null, status, notModified: false, retried, invalidSeq };
    }
    if (body === undefined) throw await statusError(response, this.url, 'GET');
    const now = nowMicros();
    const memento = response.headers.get('memento-datetime');
    const observed = memento === null ? null : parseHttpDate(memento);
    const lastSeen = observed !== null && observed <= now ? observed : now;
    let packet: SignedPacket;
    try {
      packet = SignedPacket.fromRelayPayload(key, body, lastSeen);
    } catch (err) {
      const reason = isPkarrError(err) ? err.code : 'INTERNAL';
      throw new PkarrError('RELAY_ERROR', `relay ${this.url} sent an invalid packet for ${key.z32}: ${(err as Error).message}`, { url: this.url, status, reason }, { cause: err });
    }
    if (floor !== undefined && packet.timestamp <= floor) return { packet: null, status, notModified: false, retried };
    return { packet, status, notModified: false, retried };
  }
}
