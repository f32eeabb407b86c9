/**
 * The relay's answer to HTTP protocol errors (node:http `clientError`: malformed requests, header or
 * request timeouts, oversized headers). The status is the one Node's own handler would send — 408
 * for a timeout, 431 for oversized headers, 413 for oversized chunk extensions, 400 otherwise — with
 * `Connection: close`, and only when the socket is writable and no response has started on it
 * (anything else would corrupt that response): then the socket is just destroyed, as it is for a
 * connection reset.
 *
 * Unlike Node's handler, which destroys the socket right after writing (a reset can then discard
 * the answer before the client reads it), the answer is followed by a FIN, and the socket is
 * destroyed when the client closes its side or {@link CLIENT_ERROR_LINGER_MS} later: a client that
 * never closes cannot keep the half-closed connection.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a refused connection may stay half-closed for the client to read the answer. */
export const CLIENT_ERROR_LINGER_MS = 2000;

/** The status answered for a `clientError` of the given `err.code`. */
export function clientErrorStatus(code: string | undefined): 400 | 408 | 413 | 431 {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    default:
      return 400;
  }
}

/** Answers `clientError`s of one server; call {@link track} for every request it handles. */
export class ClientErrorResponder {
  /** Per socket, the responses created and not finished yet (pipelined requests can queue several). */
  readonly #open = new WeakMap<Duplex, Set<ServerResponse>>();

  /** Records `res` as in progress on its socket until it finishes or its connection closes. */
  track(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    let set = this.#open.get(socket);
    if (set === undefined) {
      set = new Set();
      this.#open.set(socket, set);
    }
    set.add(res);
    const done = (): void => {
      set.delete(res);
    };
    res.once('finish', done);
    res.once('close', done);
  }

  /** The `clientError` listener (bound: pass it as is to `server.on`). */
  readonly handle = (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === 'ECONNRESET' || !socket.writable || this.#responseStarted(socket)) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(err.code);
    const timer = setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  #responseStarted(socket: Duplex): boolean {
    for (const res of this.#open.get(socket) ?? []) if (res.headersSent) return true;
    return false;
  }
}
