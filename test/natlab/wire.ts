/**
 * The agent protocol's framing, shared by agent.ts (inside a namespace) and agent-client.ts (the
 * test): one JSON object per line, each protocol line starting with MARK so that anything else a
 * module prints on stdout is told apart (and kept as log). Bytes (Uint8Array / Buffer) travel as
 * `{"$bytes": base64}` and come back as Buffers; everything else must be JSON.
 */
export const MARK = '\u0001natlab ';

export interface AgentRequest {
  id: number;
  /** An absolute file URL or a bare specifier (e.g. `node:dgram`). */
  module: string;
  fn: string;
  args: unknown[];
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type AgentMessage =
  | { ready: true; pid: number }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError }
  | { event: string; data: unknown };

/** One protocol line (with MARK and newline). */
export function encodeLine(message: unknown): string {
  const text = JSON.stringify(message, function (this: Record<string, unknown>, key: string, value: unknown) {
    const original = this[key];
    if (original instanceof Uint8Array) return { $bytes: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
    if (typeof value === 'bigint') return value.toString();
    return value;
  });
  return `${MARK}${text}\n`;
}

/** The message of a protocol line, or null when the line is not one. */
export function decodeLine(line: string): unknown {
  if (!line.startsWith(MARK)) return null;
  return JSON.parse(line.slice(MARK.length), (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const bytes = (value as { $bytes?: unknown }).$bytes;
      if (keys.length === 1 && typeof bytes === 'string') return Buffer.from(bytes, 'base64');
    }
    return value;
  });
}

/** An Error as it crosses the wire. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}), ...(err.stack !== undefined ? { stack: err.stack } : {}) };
  }
  return { name: 'Error', message: String(err) };
}
