/**
 * One UDP socket connected to a gateway's port 5351, shared by the NAT-PMP and PCP backends:
 * requests are retransmitted on the RFC 6886 schedule (250 ms, doubling) until an acceptable
 * answer arrives or the time bound ends. The socket is connected, so the kernel delivers only
 * datagrams from the gateway's address and port; each pending request's decoder then decides
 * whether a datagram is its answer. Malformed datagrams are ignored, never thrown.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Decoded } from './port-mapper-wire.ts';

/** First retransmission interval (RFC 6886 §3.1); it doubles after each try. */
const FIRST_RETRY_MS = 250;

interface Pending {
  offer(msg: Buffer): void;
  fail(err: Error): void;
}

export class GatewaySocket {
  readonly gateway: string;
  readonly port: number;
  readonly #socket: Socket;
  readonly #pending = new Set<Pending>();
  #closed = false;

  private constructor(socket: Socket, gateway: string, port: number) {
    this.#socket = socket;
    this.gateway = gateway;
    this.port = port;
    socket.on('message', (msg) => {
      for (const p of [...this.#pending]) p.offer(msg);
    });
    socket.on('error', (err) => {
      // ECONNREFUSED: an ICMP port unreachable came back, nothing listens on the gateway's port.
      const reason = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED'
        ? new Error(`nothing listens on ${gateway}:${port} (ICMP port unreachable)`)
        : err;
      for (const p of [...this.#pending]) p.fail(reason);
    });
    socket.unref();
  }

  /** Opens the socket and connects it (which also picks our source address on that link). */
  static open(gateway: string, port: number): Promise<GatewaySocket> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.connect(port, gateway, () => {
        socket.off('error', onError);
        resolve(new GatewaySocket(socket, gateway, port));
      });
    });
  }

  /** Our address on the link to the gateway (the source address of our requests). */
  localAddress(): string {
    return this.#socket.address().address;
  }

  /**
   * Sends `payload` (retransmitting) until `decode` accepts an answer (resolves) or refuses it
   * with a final reason (rejects), the socket fails, `timeoutMs` passes or `signal` aborts.
   */
  request<T>(payload: Buffer, decode: (msg: Buffer) => Decoded<T>, timeoutMs: number, signal: AbortSignal): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('the gateway socket is closed'));
    return new Promise<T>((resolve, reject) => {
      let retryMs = FIRST_RETRY_MS;
      let lastIgnored = '';
      let timer: NodeJS.Timeout | null = null;
      const deadline = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms${lastIgnored === '' ? '' : ` (ignored: ${lastIgnored})`}`)), timeoutMs);
      const onAbort = (): void => done(new Error(`aborted: ${String(signal.reason instanceof Error ? signal.reason.message : signal.reason)}`));
      const pending: Pending = {
        offer: (msg) => {
          const verdict = decode(msg);
          if (verdict.ok) done(null, verdict.value);
          else if (verdict.final) done(new Error(verdict.reason));
          else lastIgnored = verdict.reason;
        },
        fail: (err) => done(err),
      };
      const done = (err: Error | null, value?: T): void => {
        if (!this.#pending.delete(pending)) return;
        clearTimeout(deadline);
        if (timer !== null) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err !== null) reject(err);
        else resolve(value as T);
      };
      const send = (): void => {
        if (!this.#pending.has(pending)) return;
        this.#socket.send(payload, (err) => {
          if (err) done(err);
        });
        timer = setTimeout(send, retryMs);
        retryMs *= 2;
      };
      if (signal.aborted) {
        reject(new Error('aborted'));
        return;
      }
      this.#pending.add(pending);
      signal.addEventListener('abort', onAbort, { once: true });
      send();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of [...this.#pending]) p.fail(new Error('the gateway socket was closed'));
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}
