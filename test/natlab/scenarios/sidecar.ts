/**
 * A real `pkarr-sidecar serve` inside a lab namespace, driven the way the addon drives it: the
 * agent spawns it with piped stdio, reads its ready line, and makes JSON-RPC calls over the
 * token-protected WebSocket (serve-child.ts, as the addon engine suites do). A UDP echo server
 * stands in for the game server (what ENet would bind), and a UDP client for the game's ENet
 * client: each sends datagrams to the address `lobby.join` answered and waits for the echo.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentContext } from '../agent.ts';
import { RpcSocket, SERVE_MAIN, killChild, spawnServe, type ServeChild } from '../../godot/projects/addon/host/serve-child.ts';

interface Running {
  child: ServeChild;
  rpc: RpcSocket;
  notifications: { method: string; params: unknown }[];
}

function running(ctx: AgentContext, label: string): Running {
  const r = ctx.state.get(`sidecar:${label}`) as Running | undefined;
  if (r === undefined) throw new Error(`no sidecar ${label} in this agent (call start first)`);
  return r;
}

/** Starts `serve` (DHT through `bootstrap`, no relays) as `label`; resolves with its ready line. */
export async function start(ctx: AgentContext, label: string, bootstrap: string[], extra: string[] = []): Promise<{ port: number; pid: number; token: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), `pkarr-lab-${label}-`));
  const args = [SERVE_MAIN, 'serve', '--data-dir', dataDir, '--no-relays', '--log-level', 'debug', ...bootstrap.flatMap((b) => ['--bootstrap', b]), ...extra];
  const child = await spawnServe(process.execPath, args);
  const rpc = await RpcSocket.open(`ws://127.0.0.1:${child.ready.port}/`, child.ready.token);
  const state: Running = { child, rpc, notifications: [] };
  rpc.ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { method?: string; params?: unknown; id?: unknown };
    if (message.method !== undefined && message.id === undefined) {
      state.notifications.push({ method: message.method, params: message.params });
      ctx.emit(`${label}:${message.method}`, message.params);
    }
  });
  ctx.state.set(`sidecar:${label}`, state);
  ctx.onClose(async () => {
    rpc.close();
    await killChild(child);
    await rm(dataDir, { recursive: true, force: true });
  });
  return { port: child.ready.port, pid: child.ready.pid, token: child.ready.token };
}

/** One JSON-RPC call; resolves with `{result}` or `{error}` exactly as the sidecar answered. */
// any: the sidecar's JSON, checked by the tests field by field.
export async function call(ctx: AgentContext, label: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 40_000): Promise<{ result?: any; error?: any }> {
  return running(ctx, label).rpc.call(method, params, timeoutMs);
}

/** Notifications the sidecar sent so far. */
export function notifications(ctx: AgentContext, label: string): { method: string; params: unknown }[] {
  return running(ctx, label).notifications;
}

/** The sidecar's stderr (its log) so far, for failure messages. */
export function log(ctx: AgentContext, label: string): string {
  return running(ctx, label).child.stderr();
}

/** A UDP echo server on `port` (all addresses): the game server. Answers `echo:<payload>`. */
export async function gameServer(ctx: AgentContext, port: number): Promise<{ port: number }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, () => { socket.off('error', reject); resolve(); });
  });
  const peers = new Set<string>();
  socket.on('message', (msg, rinfo) => {
    peers.add(`${rinfo.address}:${rinfo.port}`);
    socket.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address);
  });
  ctx.state.set(`game:${port}`, { socket, peers });
  ctx.onClose(() => { try { socket.close(); } catch { /* closed */ } });
  return { port: socket.address().port };
}

/** The senders the game server has seen (`ip:port`): remote players appear as 127.0.0.1 when punched. */
export function gamePeers(ctx: AgentContext, port: number): string[] {
  const entry = ctx.state.get(`game:${port}`) as { peers: Set<string> } | undefined;
  return entry === undefined ? [] : [...entry.peers];
}

/**
 * The game client: sends `count` datagrams to host:port from one socket (as ENet keeps one) and
 * counts the echoes; resolves with the echoes and the round-trip times (ms).
 */
export async function gameClient(ctx: AgentContext, host: string, port: number, count = 5, timeoutMs = 5_000): Promise<{ echoes: number; rttMs: number[] }> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  const sentAt = new Map<string, number>();
  const rttMs: number[] = [];
  try {
    return await new Promise((resolve) => {
      const done = (): void => { clearTimeout(timer); clearInterval(ticker); resolve({ echoes: rttMs.length, rttMs }); };
      const timer = setTimeout(done, timeoutMs);
      socket.on('message', (msg) => {
        const text = msg.toString('latin1');
        const at = sentAt.get(text.replace(/^echo:/, ''));
        if (!text.startsWith('echo:') || at === undefined) return;
        sentAt.delete(text.slice(5));
        rttMs.push(performance.now() - at);
        if (rttMs.length >= count) done();
      });
      let n = 0;
      const ticker = setInterval(() => {
        if (n >= count) return;
        const payload = `game-datagram-${n++}-${'x'.repeat(100)}`;
        sentAt.set(payload, performance.now());
        socket.send(Buffer.from(payload, 'latin1'), port, host);
      }, 50);
    });
  } finally {
    socket.close();
  }
}
