/**
 * A TCP port of a lab namespace, reachable from the root namespace's loopback: the engine suites'
 * Chromium (root namespace) talks to a sidecar's RPC port inside a LAN namespace. Network
 * namespaces share the filesystem, so the bridge crosses over a Unix socket: the root side listens
 * on 127.0.0.1:<port> and, per connection, connects to the Unix socket; an agent inside the
 * namespace (`listenUnix`, run through `lab.agent(...).call(TCP_BRIDGE, 'listenUnix', …)`) accepts
 * there and connects to 127.0.0.1:<port> of its namespace. The same port number on both sides keeps
 * the sidecar's Host-header check (DNS-rebinding guard) satisfied. Bytes only: no parsing.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AgentContext } from './agent.ts';

/** Path of this module for `agent.call`. */
export const TCP_BRIDGE = './test/natlab/tcp-bridge.ts';

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = (): void => { a.destroy(); b.destroy(); };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

/** Agent side (inside the namespace): Unix socket `path` → 127.0.0.1:`port` of this namespace. */
export async function listenUnix(ctx: AgentContext, path: string, port: number): Promise<void> {
  const server = createServer((client) => pipeBoth(client, createConnection({ host: '127.0.0.1', port })));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => { server.off('error', reject); resolve(); });
  });
  ctx.onClose(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

/** Root side: listens on 127.0.0.1:`port` (0 = any) and forwards each connection to Unix socket `path`. */
export async function listenTcp(path: string, port = 0): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    pipeBoth(client, createConnection({ path }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const bound = (server.address() as { port: number }).port;
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
