/**
 * Reads the memory of another Node process through its inspector (the process runs with
 * `--inspect=127.0.0.1:0`): forces a full garbage collection (`HeapProfiler.collectGarbage`) and
 * then evaluates `process.memoryUsage()` inside it. Unlike VmRSS, `heapUsed` after a forced GC is
 * the live JavaScript heap: it excludes V8's heap slack, freed-but-unreturned malloc memory and
 * SQLite's page cache, so it is what shows a leak. Bench-only (the inspector is never enabled in
 * production).
 */
import WebSocket from 'ws';

/** `process.memoryUsage()` of the probed process, bytes (after a full GC unless sampled without one). */
export interface HeapSample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface CdpReply {
  id?: number;
  result?: { result?: { value?: unknown } };
  error?: { message: string };
}

/** The inspector URL from a line of the process's stderr (`Debugger listening on ws://…`), or null. */
export function inspectorUrlOf(stderrText: string): string | null {
  return /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(stderrText)?.[1] ?? null;
}

export class HeapProbe {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve: (r: CdpReply) => void; reject: (e: Error) => void }>();
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data: Buffer) => {
      const reply = JSON.parse(data.toString()) as CdpReply;
      if (reply.id === undefined) return; // an event
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      waiter?.resolve(reply);
    });
    socket.on('close', () => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error('inspector connection closed'));
      this.#pending.clear();
    });
  }

  /** Connects to the inspector at `url` (loopback only). */
  static async connect(url: string): Promise<HeapProbe> {
    const socket = new WebSocket(url, { maxPayload: 16 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new HeapProbe(socket);
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<CdpReply> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.#pending.delete(id); reject(new Error(`inspector ${method} timed out`)); }, 60_000);
      this.#pending.set(id, {
        resolve: (r) => { clearTimeout(timer); if (r.error) reject(new Error(`inspector ${method}: ${r.error.message}`)); else resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * `process.memoryUsage()` of the probed process; with `collect` (the default) right after a full
   * GC, otherwise as the process's own GC left it (heap slack included).
   */
  async sample(collect = true): Promise<HeapSample> {
    if (collect) await this.#call('HeapProfiler.collectGarbage');
    const reply = await this.#call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const value = reply.result?.result?.value;
    if (typeof value !== 'string') throw new Error(`inspector: unexpected memoryUsage reply ${JSON.stringify(reply)}`);
    return JSON.parse(value) as HeapSample;
  }

  close(): void {
    this.#socket.close();
  }
}
