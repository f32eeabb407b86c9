/**
 * Test doubles for the client tests: a fake relay HTTP server on 127.0.0.1:0 speaking the v7,
 * v3–v6 and JS 1.3.0 dialects (client/relay-client.ts), and an in-memory Dht.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair, PublicKey } from '../sidecar/src/core/keys.ts';
import { parseRecordText } from '../sidecar/src/core/record-text.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { httpDate, nowMicros, parseHttpDate } from '../sidecar/src/core/timestamp.ts';
import type { Dht, DhtGetOptions, DhtGetResult, DhtLookupStats, DhtPutResult } from '../sidecar/src/dht/types.ts';

/** A packet with the given records (text form) and optional timestamp. */
export function makePacket(keypair: Keypair, records: string[] = ['A @ 1.2.3.4 300'], timestamp?: bigint): SignedPacket {
  return SignedPacket.sign(keypair, records.map((r) => parseRecordText(r)), timestamp === undefined ? {} : { timestamp });
}

export type Dialect = 'v7' | 'legacy' | 'js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** Returns true when it handled the request itself. */
export type Override = (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | Promise<boolean>;

export class FakeRelay {
  readonly dialect: Dialect;
  readonly store = new Map<string, SignedPacket>();
  readonly requests: RecordedRequest[] = [];
  /** Stored-node count announced by a v7 relay. */
  storedNodes = 5;
  /** v7: `Pkarr-Invalid-Signed-Packet-Seq` on 404s. */
  invalidSeq: bigint | undefined;
  /** v7: Memento-Datetime override (µs) instead of the stored packet's lastSeen. */
  memento: bigint | undefined;
  override: Override | undefined;
  url = '';
  readonly #server: Server;

  private constructor(dialect: Dialect) {
    this.dialect = dialect;
    this.#server = createServer((req, res) => { void this.#handle(req, res); });
  }

  static async start(dialect: Dialect = 'v7'): Promise<FakeRelay> {
    const relay = new FakeRelay(dialect);
    await new Promise<void>((resolve) => relay.#server.listen(0, '127.0.0.1', resolve));
    relay.url = `http://127.0.0.1:${(relay.#server.address() as AddressInfo).port}`;
    return relay;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    try {
      if (this.override !== undefined && await this.override(req, res, body)) return;
      const path = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
      const key = PublicKey.tryParse(decodeURIComponent(path));
      if (key === null) { res.writeHead(400).end('Invalid key'); return; }
      if (req.method === 'PUT') this.#put(key, body, res);
      else if (req.method === 'GET') this.#get(key, req, res);
      else res.writeHead(405).end();
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  }

  #put(key: PublicKey, body: Buffer, res: ServerResponse): void {
    let packet: SignedPacket;
    try {
      packet = SignedPacket.fromRelayPayload(key, body);
    } catch (err) {
      res.writeHead(400).end((err as Error).message);
      return;
    }
    const existing = this.store.get(key.z32);
    if (existing !== undefined && existing.moreRecentThan(packet)) { res.writeHead(409).end('Conflict'); return; }
    this.store.set(key.z32, packet);
    if (this.dialect === 'v7') res.writeHead(204, { 'pkarr-dht-stored-nodes': String(this.storedNodes) }).end();
    else if (this.dialect === 'legacy') res.writeHead(204).end();
    else res.writeHead(200).end();
  }

  #get(key: PublicKey, req: IncomingMessage, res: ServerResponse): void {
    const packet = this.store.get(key.z32);
    if (packet === undefined) {
      const headers: Record<string, string> = {};
      if (this.dialect === 'v7' && this.invalidSeq !== undefined) headers['pkarr-invalid-signed-packet-seq'] = this.invalidSeq.toString();
      res.writeHead(404, headers).end('Not Found');
      return;
    }
    const headers: Record<string, string> = {
      'content-type': 'application/pkarr.org/relays#payload',
      'cache-control': `public, max-age=${packet.ttl()}`,
      'last-modified': httpDate(packet.timestamp),
    };
    if (this.dialect === 'v7') headers['memento-datetime'] = httpDate(this.memento ?? packet.lastSeen);
    const imsHeader = req.headers['if-modified-since'];
    const ims = typeof imsHeader === 'string' ? parseHttpDate(imsHeader) : null;
    if (ims !== null && this.dialect !== 'js') {
      if (this.dialect === 'v7') {
        if (packet.timestamp <= ims) { res.writeHead(304, headers).end(); return; }
      } else {
        // v3–v6: 304 at second granularity, and the empty-200 bug when the packet is newer.
        if ((packet.timestamp / 1_000_000n) * 1_000_000n <= ims) { res.writeHead(304, headers).end(); return; }
        res.writeHead(200, headers).end();
        return;
      }
    }
    res.writeHead(200, headers).end(Buffer.from(packet.toRelayPayload()));
  }
}

/** An in-memory Dht: one shared store, configurable latency and failures. */
export class FakeDht implements Dht {
  readonly store = new Map<string, SignedPacket>();
  /** Packets a lookup sees besides the store (e.g. older copies on other nodes), delivered in order. */
  readonly extra = new Map<string, SignedPacket[]>();
  getDelayMs = 0;
  putDelayMs = 0;
  putError: PkarrError | undefined;
  getError: PkarrError | undefined;
  storedOn = 10;
  holdersCount = 20;
  responded = 10;
  invalidSeq: bigint | undefined;
  gets: DhtGetOptions[] = [];
  puts: SignedPacket[] = [];
  destroyed = false;

  get nodeCount(): number {
    return 20;
  }

  async put(packet: SignedPacket): Promise<DhtPutResult> {
    this.puts.push(packet);
    await sleep(this.putDelayMs);
    if (this.putError !== undefined) throw this.putError;
    const existing = this.store.get(packet.publicKey.z32);
    if (existing !== undefined && existing.moreRecentThan(packet)) throw new PkarrError('NOT_MOST_RECENT', 'older than stored');
    this.store.set(packet.publicKey.z32, packet);
    return { storedOn: this.storedOn };
  }

  async get(key: PublicKey, options: DhtGetOptions = {}): Promise<DhtGetResult> {
    this.gets.push(options);
    await sleep(this.getDelayMs);
    if (this.getError !== undefined) throw this.getError;
    const seen = [...(this.extra.get(key.z32) ?? []), ...(this.store.has(key.z32) ? [this.store.get(key.z32) as SignedPacket] : [])]
      .map((p) => p.withLastSeen(nowMicros()));
    let best: SignedPacket | null = null;
    for (const packet of seen) {
      options.onPacket?.(packet);
      if (options.floor !== undefined && packet.timestamp <= options.floor) continue;
      if (options.mostRecent !== true) return { packet, responded: this.responded, ...this.#invalid() };
      if (best === null || packet.moreRecentThan(best)) best = packet;
    }
    return { packet: best, responded: this.responded, ...this.#invalid() };
  }

  #invalid(): { invalidSeq?: bigint } {
    return this.invalidSeq === undefined ? {} : { invalidSeq: this.invalidSeq };
  }

  async holders(key: PublicKey): Promise<DhtLookupStats> {
    const packet = this.store.get(key.z32) ?? null;
    return { holders: packet === null ? 0 : this.holdersCount, packet };
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
  }
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds → µs. */
export const SECOND = 1_000_000n;
