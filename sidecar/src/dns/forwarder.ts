/**
 * Forwards ordinary (non-pkarr) questions to one upstream resolver over UDP, retrying over TCP when
 * the upstream truncates, and caches the answers (forward-cache.ts).
 *
 * The upstream gets a fresh query of ours (random ID, the question alone, RD and CD as the client
 * set them, our OPT), never the client's bytes. A reply is accepted only from the upstream's
 * address and port, with our ID, QR set and the same question; anything else is ignored (the
 * query then times out → SERVFAIL). Concurrent identical questions share one upstream query.
 * The client's reply is rebuilt from the upstream's sections with the client's ID and question
 * spelling and our OPT (reply.ts); an upstream answer dns-packet cannot encode again is SERVFAIL.
 * At most {@link MAX_PENDING} upstream queries are outstanding.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import dnsPacket, { type DecodedPacket, type Question } from 'dns-packet';
import { randomInt } from 'node:crypto';
import { assertAllowedHost } from '../core/loopback-guard.ts';
import { formatIPv6, parseIPv6 } from '../core/names.ts';
import type { Forwarded } from './answer.ts';
import { ForwardCache, questionKey, type UpstreamAnswer } from './forward-cache.ts';
import { EDNS_UDP_SIZE, encodeReply, type DnsQuery } from './reply.ts';

export const DEFAULT_FORWARD_TIMEOUT_MS = 3000;
/** Upstream queries outstanding at once; more are SERVFAIL at once. */
export const MAX_PENDING = 4096;

export interface ForwarderOptions {
  host: string;
  port: number;
  /** Bound of one upstream exchange (UDP, then TCP), ms. */
  timeoutMs?: number;
  cacheSize?: number;
  /** Longest a forwarded answer is cached, seconds (default 86400). */
  maxTtl?: number;
  log?: (line: string) => void;
}

interface Pending {
  question: Question;
  resolve: (message: DecodedPacket | null) => void;
  timer: NodeJS.Timeout;
}

function sameQuestion(a: Question | undefined, b: Question): boolean {
  return a !== undefined && a.type === b.type && (a.class ?? 'IN') === (b.class ?? 'IN')
    && a.name.toLowerCase().replace(/\.$/, '') === b.name.toLowerCase().replace(/\.$/, '');
}

function sectionsOf(message: DecodedPacket): UpstreamAnswer {
  return {
    rcode: (message.flags ?? 0) & 0xf,
    answers: message.answers ?? [],
    authorities: message.authorities ?? [],
    additionals: (message.additionals ?? []).filter((a) => a.type !== 'OPT'),
    size: 0,
  };
}

export class Forwarder {
  readonly host: string;
  readonly port: number;
  readonly #timeoutMs: number;
  readonly #cache: ForwardCache;
  readonly #socket: UdpSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #inflight = new Map<string, Promise<UpstreamAnswer | null>>();
  readonly #log: (line: string) => void;
  #closed = false;

  /** Throws PkarrError('INVALID_ARGUMENT') for an upstream the loopback guard refuses (tests). */
  constructor(options: ForwarderOptions) {
    assertAllowedHost(options.host, 'DNS upstream');
    // Canonical text (RFC 5952 for IPv6), as the kernel reports a reply's source address.
    const v6 = isIPv6(options.host) ? parseIPv6(options.host) : null;
    this.host = v6 === null ? options.host : formatIPv6(v6);
    this.port = options.port;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS;
    this.#cache = new ForwardCache(options.cacheSize, options.maxTtl);
    this.#log = options.log ?? (() => {});
    this.#socket = createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
    this.#socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port));
    this.#socket.on('error', (err) => this.#log(`dns: upstream socket error: ${err.message}`));
    this.#socket.unref();
  }

  /** Answers `query` from the cache or the upstream; null when the upstream failed. */
  async forward(query: DnsQuery): Promise<Forwarded | null> {
    const question = query.questions[0];
    if (question === undefined || this.#closed) return null;
    const cd = query.message.flag_cd === true;
    const key = questionKey(question, cd);
    let hit = this.#cache.get(key);
    if (hit === undefined) {
      let running = this.#inflight.get(key);
      if (running === undefined) {
        running = this.#ask(question, query.message.flag_rd !== false, cd).finally(() => this.#inflight.delete(key));
        this.#inflight.set(key, running);
      }
      const answer = await running;
      if (answer === null) return null;
      this.#cache.put(key, answer);
      hit = this.#cache.get(key) ?? { answer, remaining: 0 };
    }
    const { answer, remaining } = hit;
    const message = encodeReply(query, { rcode: answer.rcode, answers: answer.answers, authorities: answer.authorities, additionals: answer.additionals });
    return { message, maxAge: remaining };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.resolve(null);
      this.#pending.delete(id);
    }
    this.#socket.close();
  }

  async #ask(question: Question, rd: boolean, cd: boolean): Promise<UpstreamAnswer | null> {
    const id = this.#freeId();
    if (id === null) return null;
    const flags = (rd ? dnsPacket.RECURSION_DESIRED : 0) | (cd ? dnsPacket.CHECKING_DISABLED : 0);
    const opt = { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
    const packet = dnsPacket.encode({ type: 'query', id, flags, questions: [question], additionals: [opt as never] });
    let reply = await this.#udp(id, question, packet);
    if (reply !== null && reply.flag_tc === true) reply = await this.#tcp(id, question, packet);
    if (reply === null) return null;
    const sections = sectionsOf(reply);
    try {
      // What dns-packet decoded it must be able to encode again (our replies are rebuilt from it).
      sections.size = dnsPacket.encode({ type: 'response', questions: [question], answers: sections.answers, authorities: sections.authorities, additionals: sections.additionals }).length;
    } catch (err) {
      this.#log(`dns: upstream answer for ${question.name} cannot be re-encoded: ${(err as Error).message}`);
      return null;
    }
    return sections;
  }

  #freeId(): number | null {
    if (this.#pending.size >= MAX_PENDING) return null;
    for (;;) {
      const id = randomInt(0, 0x10000);
      if (!this.#pending.has(id)) return id;
    }
  }

  #udp(id: number, question: Question, packet: Buffer): Promise<DecodedPacket | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(null);
      }, this.#timeoutMs);
      this.#pending.set(id, { question, resolve, timer });
      this.#socket.send(packet, this.port, this.host, (err) => {
        if (err === null || err === undefined) return;
        this.#log(`dns: cannot send to the upstream: ${err.message}`);
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(null);
      });
    });
  }

  #onMessage(msg: Buffer, address: string, port: number): void {
    if (port !== this.port || address.replace(/^::ffff:/, '') !== this.host || msg.length < 12) return;
    const pending = this.#pending.get(msg.readUInt16BE(0));
    if (pending === undefined) return;
    let decoded: DecodedPacket;
    try {
      decoded = dnsPacket.decode(msg);
    } catch {
      return;
    }
    if (decoded.type !== 'response' || !sameQuestion(decoded.questions?.[0], pending.question)) return;
    clearTimeout(pending.timer);
    this.#pending.delete(msg.readUInt16BE(0));
    pending.resolve(decoded);
  }

  #tcp(id: number, question: Question, packet: Buffer): Promise<DecodedPacket | null> {
    return new Promise((resolve) => {
      const socket = connect({ host: this.host, port: this.port });
      let buffered = Buffer.alloc(0);
      const finish = (result: DecodedPacket | null): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => finish(null), this.#timeoutMs);
      socket.on('error', (err) => {
        this.#log(`dns: upstream TCP failed: ${err.message}`);
        finish(null);
      });
      socket.on('connect', () => {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(packet.length);
        socket.write(Buffer.concat([length, packet]));
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
        const body = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        try {
          const decoded = dnsPacket.decode(body);
          const ok = decoded.id === id && decoded.type === 'response' && sameQuestion(decoded.questions?.[0], question);
          finish(ok ? decoded : null);
        } catch {
          finish(null);
        }
      });
      socket.on('close', () => finish(null));
    });
  }
}
