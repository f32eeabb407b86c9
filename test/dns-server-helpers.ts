/**
 * Helpers for the plain DNS server tests: dig as a child process, a raw UDP exchange, a raw TCP
 * exchange (length-prefixed, several messages), and a tiny upstream resolver built on dns2's UDP
 * server that counts the questions it gets.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
// @ts-ignore -- dns2 ships no types.
import dns2 from 'dns2';

export const DIG = '/usr/bin/dig';

/** Runs dig (one try, 2 s) and returns its stdout; dig's "no servers could be reached" is exit 9. */
export function dig(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(DIG, ['+time=2', '+tries=1', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** The status of a dig reply (`NOERROR`, `NXDOMAIN`, …). */
export function digStatus(out: string): string | null {
  return /status: (\w+)/.exec(out)?.[1] ?? null;
}

/** The header flags of a dig reply (`qr aa rd ra`). */
export function digFlags(out: string): string[] {
  return (/;; flags: ([a-z ]+);/.exec(out)?.[1] ?? '').trim().split(/\s+/);
}

/** Lines of one section of a dig reply, e.g. 'ANSWER'. */
export function digSection(out: string, section: string): string[] {
  const at = out.indexOf(`;; ${section} SECTION:`);
  if (at < 0) return [];
  const rest = out.slice(at).split('\n').slice(1);
  const end = rest.findIndex((l) => l.trim() === '');
  return rest.slice(0, end < 0 ? rest.length : end);
}

/** Sends one UDP datagram to 127.0.0.1:port; the first reply, or null after `waitMs`. */
export function udpExchange(port: number, message: Uint8Array, waitMs = 1500): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(null);
    }, waitMs);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(message, port, '127.0.0.1');
  });
}

/** Sends messages on one TCP connection (length-prefixed) and collects `expect` replies (bounded). */
export function tcpExchange(port: number, messages: Uint8Array[], expect: number, waitMs = 5000, halfClose = false): Promise<{ replies: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const replies: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies, closed });
    };
    const timer = setTimeout(done, waitMs);
    socket.on('connect', () => {
      for (const m of messages) {
        const frame = Buffer.alloc(2 + m.length);
        frame.writeUInt16BE(m.length, 0);
        Buffer.from(m).copy(frame, 2);
        socket.write(frame);
      }
      if (halfClose) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        replies.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
      if (replies.length >= expect) done();
    });
    socket.on('error', () => undefined);
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('close', () => {
      closed = true;
      done();
    });
  });
}

/** A local upstream resolver: `example.com` A 93.184.216.34 (TTL 77), everything else NXDOMAIN. */
export interface Upstream {
  port: number;
  questions: string[];
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  type Dns2Packet = { questions: { name: string; type: number }[]; answers: unknown[]; authorities: unknown[]; header: { rcode: number } };
  const { Packet } = dns2 as { Packet: { createResponseFromRequest(r: unknown): Dns2Packet; TYPE: Record<string, number>; CLASS: Record<string, number> } };
  const questions: string[] = [];
  const server = (dns2 as { createUDPServer(h: (req: Dns2Packet, send: (res: Dns2Packet) => void) => void): { listen(p: number, a: string): Promise<void>; address(): { port: number }; close(cb: () => void): void } })
    .createUDPServer((request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const q = request.questions[0];
      questions.push(`${q?.name ?? ''}/${q?.type ?? 0}`);
      if (q !== undefined && q.name.toLowerCase() === 'example.com' && q.type === Packet.TYPE.A) {
        response.answers.push({ name: q.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 77, address: '93.184.216.34' });
      } else {
        response.header.rcode = 3;
        response.authorities.push({ name: 'com', type: Packet.TYPE.SOA, class: Packet.CLASS.IN, ttl: 60, primary: 'a.gtld-servers.net', admin: 'nstld.verisign-grs.com', serial: 1, refresh: 1800, retry: 900, expiration: 604800, minimum: 30 });
      }
      send(response);
    });
  await server.listen(0, '127.0.0.1');
  return {
    port: server.address().port,
    questions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
