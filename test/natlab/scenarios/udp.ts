/**
 * UDP probes run inside lab namespaces through an agent (lab.agent(host).call(UDP, fn, ...)): open
 * sockets kept in ctx.state, send with an optional IP TTL, record what arrives, KRPC ping a DHT
 * node (BEP42 `ip`), and a bare hole-punching exchange (`punch`).
 */
import { createSocket, type Socket } from 'node:dgram';
import { PkarrError } from '../../../sidecar/src/core/errors.ts';
import type { AgentContext } from '../agent.ts';
import { parseResponse, pingQuery } from '../krpc.ts';

export interface Peer { host: string; port: number }
export interface Received { from: Peer; text: string; at: number }

interface Entry { socket: Socket; received: Received[]; total: number }

function entry(ctx: AgentContext, port: number): Entry {
  const e = ctx.state.get(`udp:${port}`) as Entry | undefined;
  if (e === undefined) throw new PkarrError('INVALID_ARGUMENT', `no UDP socket on port ${port} in this agent (call open first)`);
  return e;
}

/** Binds a UDP socket on `port` (0 = any) of `host` (default all addresses); returns the bound port. */
export async function open(ctx: AgentContext, port: number, host?: string): Promise<number> {
  const socket = createSocket('udp4');
  const received: Received[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => { socket.off('error', reject); resolve(); });
  });
  socket.on('error', (err) => ctx.emit('udp-error', { port, message: err.message }));
  const e: Entry = { socket, received, total: 0 };
  socket.on('message', (msg, rinfo) => {
    e.total++;
    const item = { from: { host: rinfo.address, port: rinfo.port }, text: msg.toString('latin1'), at: Date.now() };
    received.push(item);
    if (received.length > 10_000) received.shift();
  });
  const bound = socket.address().port;
  if (ctx.state.has(`udp:${bound}`)) {
    socket.close();
    throw new PkarrError('INVALID_ARGUMENT', `a socket on port ${bound} is already open in this agent (sockets are kept by port)`);
  }
  ctx.state.set(`udp:${bound}`, e);
  ctx.onClose(() => { try { socket.close(); } catch { /* closed */ } });
  return bound;
}

/** Sends `text` from the socket on `port` to `to`, with IP TTL `ttl` (default 64). */
export async function send(ctx: AgentContext, port: number, to: Peer, text: string, ttl = 64): Promise<void> {
  const { socket } = entry(ctx, port);
  socket.setTTL(ttl);
  await new Promise<void>((resolve, reject) => socket.send(Buffer.from(text, 'latin1'), to.port, to.host, (err) => (err ? reject(err) : resolve())));
  if (ttl !== 64) socket.setTTL(64);
}

/** How many datagrams arrived on `port` since it was opened (`received` keeps only the last 10000). */
export function total(ctx: AgentContext, port: number): number {
  return entry(ctx, port).total;
}

/** What arrived on `port` so far (optionally only since `since` ms epoch). */
export function received(ctx: AgentContext, port: number, since = 0): Received[] {
  return entry(ctx, port).received.filter((r) => r.at >= since);
}

/** Sends a KRPC ping from the socket on `port` to `node`; resolves with the BEP42 `ip` it reports (null: none) or rejects after `timeoutMs`. */
export async function krpcPing(ctx: AgentContext, port: number, node: Peer, timeoutMs = 2_000): Promise<{ ip: Peer | null; id: string }> {
  const { socket } = entry(ctx, port);
  const { bytes, tid } = pingQuery();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off('message', onMessage); reject(new PkarrError('TIMEOUT', `no KRPC answer from ${node.host}:${node.port} within ${timeoutMs} ms`)); }, timeoutMs);
    const onMessage = (msg: Buffer): void => {
      const r = parseResponse(msg);
      if (r === null || !r.tid.equals(tid)) return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve({ ip: r.ip, id: r.id });
    };
    socket.on('message', onMessage);
    socket.send(bytes, node.port, node.host, (err) => { if (err) { clearTimeout(timer); socket.off('message', onMessage); reject(err); } });
  });
}

export interface PunchOptions {
  port: number;
  peer: Peer;
  /**
   * Send one opener with IP TTL `openerTtl` first (it creates our mapping and dies before the
   * peer's router), then pause 500 ms.
   */
  opener: boolean;
  openerTtl?: number;
  /** Packets to send at normal TTL, every `intervalMs`. */
  count: number;
  intervalMs: number;
  /** Tag put in every packet (so the peer can count ours). */
  tag: string;
  /** Wait this long before the first packet (default 0). */
  delayMs?: number;
}

/** A bare punch exchange: optional low-TTL opener, then `count` packets `<tag>:<i>` to the peer; resolves with how many punch packets of another tag arrived (and from where). */
export async function punch(ctx: AgentContext, o: PunchOptions): Promise<{ got: number; from: Peer[] }> {
  const start = Date.now();
  if (o.delayMs !== undefined && o.delayMs > 0) await new Promise((r) => setTimeout(r, o.delayMs));
  if (o.opener) {
    await send(ctx, o.port, o.peer, `${o.tag}:opener`, o.openerTtl ?? 2);
    await new Promise((r) => setTimeout(r, 500));
  }
  for (let i = 0; i < o.count; i++) {
    await send(ctx, o.port, o.peer, `${o.tag}:${i}`);
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  await new Promise((r) => setTimeout(r, 300));
  const got = received(ctx, o.port, start).filter((r) => /^[\w-]+:(\d+|opener)$/.test(r.text) && !r.text.startsWith(`${o.tag}:`));
  const from = [...new Map(got.map((r) => [`${r.from.host}:${r.from.port}`, r.from])).values()];
  return { got: got.length, from };
}

/** `count` sequential KRPC pings from `port` to `node`: the round-trip times (ms) of the answered ones and how many were lost. */
export async function pingTimes(ctx: AgentContext, port: number, node: Peer, count: number, timeoutMs: number): Promise<{ rtts: number[]; lost: number }> {
  const rtts: number[] = [];
  let lost = 0;
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    try {
      await krpcPing(ctx, port, node, timeoutMs);
      rtts.push(performance.now() - t0);
    } catch {
      lost++;
    }
  }
  return { rtts, lost };
}

/** From now on, pushes an event `udp` `{ port, from, text }` for every datagram arriving on `port`. */
export function watch(ctx: AgentContext, port: number): void {
  entry(ctx, port).socket.on('message', (msg, rinfo) => {
    ctx.emit('udp', { port, from: { host: rinfo.address, port: rinfo.port }, text: msg.toString('latin1') });
  });
}

/** Sends `count` datagrams `<tag>-<i>` from `port` to `to` as fast as the socket takes them; resolves with the time taken (ms). */
export async function burst(ctx: AgentContext, port: number, to: Peer, count: number, tag: string): Promise<number> {
  const { socket } = entry(ctx, port);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => socket.send(Buffer.from(`${tag}-${i}`), to.port, to.host, (err) => (err ? reject(err) : resolve())));
  }
  return performance.now() - t0;
}
