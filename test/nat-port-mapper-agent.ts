/**
 * Agent module of nat-port-mapper.test.ts: runs the port mapper inside a lab namespace
 * (lab.agent(host).call('./test/nat-port-mapper-agent.ts', fn, ...)), plus a TCP listener and
 * connector to prove TCP mappings. Handles live in ctx.state and close with the agent.
 */
import { createServer, connect, type Server } from 'node:net';
import WebSocket from 'ws';
import type { AgentContext } from './natlab/agent.ts';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { PortMapper, type MapRequest, type PortMapperOptions, type PortMapping } from '../sidecar/src/nat/port-mapper.ts';
import { PortMapperService } from '../sidecar/src/nat/port-mapper-service.ts';
import { Dispatcher } from '../sidecar/src/rpc/dispatcher.ts';
import { registerNatMethods, type NatRpcContext } from '../sidecar/src/rpc/nat-methods.ts';

type StartOptions = Pick<PortMapperOptions, 'protocols' | 'discoveryTimeoutMs' | 'gatewayHint'>;

function mapper(ctx: AgentContext): PortMapper {
  const m = ctx.state.get('mapper') as PortMapper | undefined;
  if (m === undefined) throw new Error('no port mapper in this agent (call start first)');
  return m;
}

/** Starts a PortMapper (events go to the test as `port-mapper` events); returns the protocols found and the time taken. */
export async function start(ctx: AgentContext, options: StartOptions): Promise<{ methods: string[]; ms: number }> {
  const t0 = performance.now();
  const m = await PortMapper.start({
    ...options,
    onEvent: (e) => ctx.emit('port-mapper', { type: e.type, mapping: e.mapping, error: e.type === 'renew-failed' ? e.error.message : null }),
  });
  const ms = performance.now() - t0;
  ctx.state.set('mapper', m);
  ctx.onClose(() => m.close());
  return { methods: m.methods, ms };
}

/** Starts a PortMapper that must fail: its error code, message and the time it took. */
export async function startFailure(ctx: AgentContext, options: StartOptions): Promise<{ code: string; message: string; ms: number }> {
  const t0 = performance.now();
  try {
    const m = await PortMapper.start(options);
    await m.close();
  } catch (err) {
    return { code: isPkarrError(err) ? err.code : 'NOT_A_PKARR_ERROR', message: (err as Error).message, ms: performance.now() - t0 };
  }
  throw new Error('PortMapper.start succeeded where it should fail');
}

export async function map(ctx: AgentContext, request: MapRequest): Promise<{ mapping: PortMapping; ms: number }> {
  const t0 = performance.now();
  const mapping = await mapper(ctx).map(request);
  return { mapping, ms: performance.now() - t0 };
}

export async function externalAddress(ctx: AgentContext): Promise<unknown> {
  return mapper(ctx).externalAddress();
}

export function mappings(ctx: AgentContext): PortMapping[] {
  return mapper(ctx).mappings();
}

export async function close(ctx: AgentContext): Promise<{ errors: string[]; ms: number }> {
  const t0 = performance.now();
  const errors = await mapper(ctx).close();
  return { errors, ms: performance.now() - t0 };
}

/** One JSON-RPC call to the nat.* methods, as serve registers them (a PortMapperService with the default discovery). */
export async function rpc(ctx: AgentContext, method: string, params: unknown): Promise<unknown> {
  let context = ctx.state.get('nat-rpc') as { dispatcher: Dispatcher<NatRpcContext>; nat: PortMapperService } | undefined;
  if (context === undefined) {
    const nat = new PortMapperService();
    context = { dispatcher: registerNatMethods(new Dispatcher<NatRpcContext>(), (c) => c), nat };
    ctx.state.set('nat-rpc', context);
    ctx.onClose(() => nat.close());
  }
  if (method === 'close') return context.nat.close();
  const text = await context.dispatcher.handle(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), { nat: context.nat });
  return JSON.parse(text!) as unknown;
}

/** Listens on TCP `port`; accepted connections are counted (tcpAccepted). */
export async function tcpListen(ctx: AgentContext, port: number): Promise<void> {
  const server: Server = createServer((socket) => {
    ctx.state.set(`tcp-accepted:${port}`, ((ctx.state.get(`tcp-accepted:${port}`) as number | undefined) ?? 0) + 1);
    socket.end('hello from the LAN');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  ctx.onClose(() => server.close());
}

export function tcpAccepted(ctx: AgentContext, port: number): number {
  return (ctx.state.get(`tcp-accepted:${port}`) as number | undefined) ?? 0;
}

/** Connects to host:port and reads what the server sends; resolves with it, or `null` when refused / timed out. */
export async function tcpFetch(_ctx: AgentContext, host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    const timer = setTimeout(() => { socket.destroy(); resolve(null); }, timeoutMs);
    socket.on('data', (chunk: Buffer) => { data += chunk.toString('utf8'); });
    socket.on('end', () => { clearTimeout(timer); resolve(data); });
    socket.on('error', () => { clearTimeout(timer); resolve(null); });
  });
}

/** One JSON-RPC call to a `serve` sidecar in this namespace (127.0.0.1:port, with its token). */
export async function wsCall(_ctx: AgentContext, port: number, token: string, method: string, params: unknown): Promise<unknown> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['pkarr-godot.v1', `token.${token}`]);
  try {
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer within 15 s`)), 15_000);
      ws.on('message', (data: Buffer) => {
        const msg = JSON.parse(data.toString()) as { id?: unknown };
        if (msg.id === 1) {
          clearTimeout(timer);
          resolve(msg);
        }
      });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
    });
  } finally {
    ws.terminate();
  }
}
