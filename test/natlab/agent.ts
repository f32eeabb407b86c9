/**
 * The NAT lab agent: a Node 24 process started inside a namespace by agent-client.ts
 * (`ip netns exec NS node test/natlab/agent.ts`). It reads requests `{id, module, fn, args}` (one
 * per line on stdin), runs `(await import(module))[fn](ctx, ...args)` and answers
 * `{id, ok, value | error}` on stdout (wire.ts framing). `ctx` lives as long as the agent: modules
 * keep handles in `ctx.state`, push events with `ctx.emit`, and register cleanups with
 * `ctx.onClose` (run when stdin closes, bounded to 5 s, then the agent exits).
 */
import { createInterface } from 'node:readline';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { type AgentRequest, decodeLine, encodeLine, MARK, toWireError } from './wire.ts';

export interface AgentContext {
  /** The namespace this agent runs in. */
  readonly ns: string;
  /** Handles kept across calls, by any key the calling module chooses. */
  readonly state: Map<string, unknown>;
  /** Pushes `{event, data}` to the test (AgentClient.on / waitEvent). */
  emit(event: string, data?: unknown): void;
  /** Runs `fn` when the agent shuts down (in reverse order of registration). */
  onClose(fn: () => unknown): void;
}

const write = (message: unknown): void => { process.stdout.write(encodeLine(message)); };
// Modules must not corrupt the protocol stream: their console.log goes to stderr.
console.log = console.error;
console.info = console.error;

const closers: (() => unknown)[] = [];
const ctx: AgentContext = {
  ns: process.env['NATLAB_NS'] ?? '',
  state: new Map(),
  emit: (event, data) => write({ event, data: data ?? null }),
  onClose: (fn) => { closers.push(fn); },
};

async function handle(req: AgentRequest): Promise<void> {
  try {
    const mod = (await import(req.module)) as Record<string, unknown>;
    const fn = mod[req.fn];
    if (typeof fn !== 'function') throw new PkarrError('INVALID_ARGUMENT', `natlab agent: ${req.module} has no function ${req.fn}`);
    const value: unknown = await (fn as (c: AgentContext, ...a: unknown[]) => unknown)(ctx, ...req.args);
    write({ id: req.id, ok: true, value: value ?? null });
  } catch (err) {
    write({ id: req.id, ok: false, error: toWireError(err) });
  }
}

async function shutdown(): Promise<void> {
  const all = Promise.allSettled(closers.reverse().map(async (fn) => fn()));
  await Promise.race([all, new Promise((r) => setTimeout(r, 5_000).unref())]);
  process.exit(0);
}

process.on('unhandledRejection', (err) => { write({ event: 'agent-error', data: toWireError(err) }); });
process.on('uncaughtException', (err) => { write({ event: 'agent-error', data: toWireError(err) }); });
process.on('SIGTERM', () => { void shutdown(); });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  let req: AgentRequest;
  try {
    req = decodeLine(MARK + line) as AgentRequest;
  } catch (err) {
    write({ event: 'agent-error', data: toWireError(err) });
    return;
  }
  void handle(req);
});
lines.on('close', () => { void shutdown(); });
write({ ready: true, pid: process.pid });
