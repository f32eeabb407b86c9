/**
 * Test doubles and helpers for the relay server tests: an in-memory Dht with programmable failures,
 * packet builders, and a raw node:http request helper (so a test can pick the client's source
 * address with `localAddress`).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import type { Keypair, PublicKey } from '../sidecar/src/core/keys.ts';
import { parseRecordText } from '../sidecar/src/core/record-text.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import type { Dht, DhtGetOptions, DhtGetResult, DhtLookupStats, DhtPutResult } from '../sidecar/src/dht/types.ts';

/** A packet with the given records (text form, see record-text.ts) and optional timestamp. */
export function makePacket(keypair: Keypair, records: string[] = ['A @ 1.2.3.4 300'], timestamp?: bigint): SignedPacket {
  return SignedPacket.sign(keypair, records.map((r) => parseRecordText(r)), timestamp === undefined ? {} : { timestamp });
}

/** An in-memory DHT: one item per key, BEP44-like ordering, programmable outcomes. */
export class FakeDht implements Dht {
  readonly items = new Map<string, SignedPacket>();
  nodeCount = 10;
  storedOn = 7;
  responded = 5;
  /** Thrown by the next puts/gets when set. */
  putError: PkarrError | null = null;
  getError: PkarrError | null = null;
  /** Reported as `invalidSeq` by gets. */
  invalidSeq: bigint | undefined;
  /** Delay of every put/get, ms. */
  delayMs = 0;
  /** Holders reported by `holders`. */
  holderCount = 3;
  readonly calls = { put: 0, get: 0, holders: 0 };
  readonly getOptions: DhtGetOptions[] = [];

  async #delay(signal?: AbortSignal): Promise<void> {
    if (this.delayMs <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, this.delayMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new PkarrError('TIMEOUT', 'DHT operation aborted'));
      }, { once: true });
    });
  }

  async put(packet: SignedPacket): Promise<DhtPutResult> {
    this.calls.put += 1;
    await this.#delay();
    if (this.putError !== null) throw this.putError;
    const existing = this.items.get(packet.publicKey.z32);
    if (existing !== undefined && existing.moreRecentThan(packet)) {
      throw new PkarrError('NOT_MOST_RECENT', 'sequence number less than current (302)');
    }
    this.items.set(packet.publicKey.z32, packet);
    return { storedOn: this.storedOn };
  }

  async get(key: PublicKey, options: DhtGetOptions = {}): Promise<DhtGetResult> {
    this.calls.get += 1;
    this.getOptions.push(options);
    await this.#delay(options.signal);
    if (this.getError !== null) throw this.getError;
    const item = this.items.get(key.z32);
    const invalid = this.invalidSeq === undefined ? {} : { invalidSeq: this.invalidSeq };
    if (item === undefined || (options.floor !== undefined && item.timestamp <= options.floor)) {
      return { packet: null, responded: this.responded, ...invalid };
    }
    const seen = item.withLastSeen(nowMicros());
    options.onPacket?.(seen);
    return { packet: seen, responded: this.responded, ...invalid };
  }

  async holders(key: PublicKey): Promise<DhtLookupStats> {
    this.calls.holders += 1;
    const item = this.items.get(key.z32) ?? null;
    return { holders: item === null ? 0 : this.holderCount, packet: item === null ? null : item.withLastSeen(nowMicros()) };
  }

  async destroy(): Promise<void> {}
}

/** A response read fully. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Source address of the client socket (e.g. 127.0.0.2). */
  localAddress?: string;
  /** Send the body in chunks without Content-Length. */
  chunked?: boolean;
}

/** One HTTP/1.1 request on a fresh connection (no keep-alive pooling). */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined && options.chunked !== true) headers['Content-Length'] = String(options.body.length);
    const req = httpRequest(url, {
      method: options.method ?? 'GET',
      headers,
      agent: false,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('request timed out')));
    if (options.body !== undefined) {
      if (options.chunked === true) {
        const body = options.body;
        for (let i = 0; i < body.length; i += 1024) req.write(body.subarray(i, i + 1024));
      } else {
        req.write(options.body);
      }
    }
    req.end();
  });
}

/** µs timestamp of an HTTP date plus extra µs. */
export function micros(httpDateText: string, extraMicros = 0n): bigint {
  return BigInt(Date.parse(httpDateText)) * 1000n + extraMicros;
}
