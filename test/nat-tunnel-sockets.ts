/** Small loopback UDP helpers shared by the game-tunnel tests, their helpers and bench/tunnel.bench.ts. */
import { createSocket, type Socket } from 'node:dgram';

/** A UDP socket bound to 127.0.0.1:<ephemeral>, with 1 MiB buffers (room for a test's burst). */
export async function loopbackSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((ok, fail) => {
    s.once('error', fail);
    s.bind(0, '127.0.0.1', () => { s.off('error', fail); ok(); });
  });
  s.setRecvBufferSize(1 << 20);
  s.setSendBufferSize(1 << 20);
  return s;
}

export function closeSocket(s: Socket): Promise<void> {
  return new Promise((ok) => s.close(() => ok()));
}

/** True when 127.0.0.1:port can be bound again, i.e. whatever socket was there is closed. */
export async function portIsFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  const ok = await new Promise<boolean>((done) => {
    s.once('error', () => done(false));
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => done(true));
  });
  await closeSocket(s);
  return ok;
}

/** Polls `done` every 5 ms; throws naming `what` after `timeoutMs`. */
export async function until(done: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
