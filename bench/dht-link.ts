/**
 * Simulated internet links for a loopback DHT (this kernel has no `tc netem`): every Node-side UDP
 * socket's `send` is wrapped to delay and drop datagrams. Each endpoint (a UDP port on 127.0.0.1)
 * has an access-link one-way delay; a datagram from A to B waits delay(A) + delay(B) and is lost
 * with probability `loss` (per datagram, i.e. per direction). So RTT(A,B) = 2·(delay(A) + delay(B)).
 *
 * Endpoints whose sockets are not ours (the libtorrent nodes, in a Python process) are marked
 * `foreign`: their own sends leave undelayed, so a datagram we send *to* one carries the whole
 * round trip, 2·(delay(A) + delay(B)), and the loss of both directions. Their RTT seen from our side
 * is then the same as between two of our nodes; only traffic among libtorrent nodes (their own
 * table upkeep, which no measured operation waits for) is undelayed.
 */
import { createSocket, type Socket } from 'node:dgram';
import { prng } from '../test/prng.ts';

export class LinkModel {
  /** One-way access delay per port, ms. */
  readonly #delay = new Map<number, number>();
  readonly #foreign = new Set<number>();
  readonly loss: number;
  enabled = false;
  sent = 0;
  dropped = 0;
  /** Deterministic uniform [0,1), so two runs draw the same link delays. */
  readonly random: () => number;

  constructor(loss: number, seed = 0x2f6b1d) {
    this.loss = loss;
    this.random = prng(seed);
  }

  setDelay(port: number, oneWayMs: number, foreign = false): void {
    this.#delay.set(port, oneWayMs);
    if (foreign) this.#foreign.add(port);
  }

  delayOf(port: number): number {
    return this.#delay.get(port) ?? 0;
  }

  /** Round trip between two endpoints, ms. */
  rtt(a: number, b: number): number {
    return 2 * (this.delayOf(a) + this.delayOf(b));
  }

  /** A udp4 socket whose sends follow this model once it is enabled and its port is known. */
  socket(oneWayMs: () => number): Socket {
    const socket = createSocket('udp4');
    const send = socket.send.bind(socket) as (...args: unknown[]) => void;
    let own: number | null = null;
    let closed = false;
    socket.on('close', () => { closed = true; });
    socket.on('listening', () => {
      own = socket.address().port;
      this.setDelay(own, oneWayMs());
    });
    // k-rpc-socket calls send(buf, offset, length, port, host, cb).
    (socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]): void => {
      const port = args[3];
      if (!this.enabled || own === null || typeof port !== 'number') {
        send(...args);
        return;
      }
      this.sent++;
      const foreign = this.#foreign.has(port);
      const oneWay = this.delayOf(own) + this.delayOf(port);
      const lossHere = foreign ? 1 - (1 - this.loss) ** 2 : this.loss;
      const cb = args[5];
      if (this.random() < lossHere) {
        this.dropped++;
        if (typeof cb === 'function') (cb as () => void)();
        return;
      }
      setTimeout(() => {
        if (closed) return;
        try {
          send(...args);
        } catch {
          // closed between the check and the send
        }
      }, foreign ? 2 * oneWay : oneWay);
    };
    return socket;
  }
}
