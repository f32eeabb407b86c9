/**
 * JSON-RPC 2.0 message handling, transport-agnostic: text in, text (or nothing) out.
 *
 * - `-32700` malformed JSON, `-32600` invalid request (jsonrpc, id, method or params of the wrong
 *   shape; empty or oversized batch), `-32601` unknown method, `-32602` invalid params,
 *   `-32000` application errors (`data.code` = PkarrError code or an RPC-level code such as BUSY),
 *   `-32603` unexpected internal errors (details only in the log).
 * - String and numeric ids are echoed as received; notifications (no `id`) never get a response.
 * - Batches run their entries concurrently and answer with one array (none if all were notifications).
 * - Never throws on any input.
 */
import { isPkarrError } from '../core/errors.ts';
import { toJson } from '../util/json.ts';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
export const APPLICATION_ERROR = -32000;

/** Codes the RPC layer reports in `data.code` besides PkarrError codes. */
export type RpcOnlyCode = 'BUSY' | 'KEY_NOT_FOUND' | 'KEY_EXISTS';

export type RpcId = string | number | null;

/** An error with a JSON-RPC code; thrown by handlers to control the response exactly. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: number, message: string, data?: Record<string, unknown>) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

/** `-32602` naming the offending field, with `data: {code, field}`. */
export function invalidParams(field: string, message: string, code = 'INVALID_ARGUMENT'): RpcError {
  return new RpcError(INVALID_PARAMS, `invalid params: ${field}: ${message}`, { code, field });
}

/** Handler of one method. `params` is always a plain object (by-name parameters). */
export type MethodHandler<C> = (params: Record<string, unknown>, context: C) => unknown;

/** Admission control for requests of one connection (in-flight cap). */
export interface RequestGate {
  tryAcquire(): boolean;
  release(): void;
}

export interface DispatcherOptions {
  /** Most entries in one batch (default 256). */
  maxBatch?: number;
  /** Called for unexpected (non-Pkarr, non-Rpc) handler errors; they are answered with -32603. */
  onInternalError?: (method: string, err: unknown) => void;
}

interface ErrorObject { code: number; message: string; data?: Record<string, unknown> }
type Response = { jsonrpc: '2.0'; id: RpcId; result: unknown } | { jsonrpc: '2.0'; id: RpcId; error: ErrorObject };

const BUSY_ERROR: ErrorObject = { code: APPLICATION_ERROR, message: 'too many requests in flight on this connection', data: { code: 'BUSY' } };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorResponse(id: RpcId, error: ErrorObject): Response {
  return { jsonrpc: '2.0', id, error };
}

/** Primitive PkarrError details are safe and useful (sizes, limits, names); others are dropped. */
function pkarrData(code: string, details: Record<string, unknown> | undefined): Record<string, unknown> {
  const data: Record<string, unknown> = { code };
  if (details) {
    for (const [k, v] of Object.entries(details)) {
      if (k === 'code' || k === 'reason') continue;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') data[k] = v;
    }
  }
  return data;
}

export class Dispatcher<C> {
  readonly #methods = new Map<string, MethodHandler<C>>();
  readonly #maxBatch: number;
  readonly #onInternalError: (method: string, err: unknown) => void;

  constructor(options: DispatcherOptions = {}) {
    this.#maxBatch = options.maxBatch ?? 256;
    this.#onInternalError = options.onInternalError ?? (() => undefined);
  }

  /** Registers `name`; a second registration of the same name replaces the first. */
  register(name: string, handler: MethodHandler<C>): this {
    this.#methods.set(name, handler);
    return this;
  }

  /** Names of the registered methods. */
  methods(): string[] {
    return [...this.#methods.keys()];
  }

  /**
   * Handles one message. Resolves to the response text, or null when nothing must be sent
   * (notifications). `gate` limits concurrent requests; over the limit a request gets BUSY.
   */
  async handle(text: string, context: C, gate?: RequestGate): Promise<string | null> {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (err) {
      return toJson(errorResponse(null, { code: PARSE_ERROR, message: `parse error: ${(err as Error).message}` }));
    }
    if (Array.isArray(message)) {
      if (message.length === 0) return toJson(errorResponse(null, { code: INVALID_REQUEST, message: 'invalid request: empty batch' }));
      if (message.length > this.#maxBatch) {
        return toJson(errorResponse(null, { code: INVALID_REQUEST, message: `invalid request: batch of ${message.length} entries exceeds ${this.#maxBatch}` }));
      }
      const responses = await Promise.all(message.map((entry) => this.#handleOne(entry, context, gate)));
      const sent = responses.filter((r): r is Response => r !== null).map((r) => this.#serialize(r));
      return sent.length > 0 ? `[${sent.join(',')}]` : null;
    }
    const response = await this.#handleOne(message, context, gate);
    return response === null ? null : this.#serialize(response);
  }

  /** A result that cannot be serialised (a handler bug) becomes -32603, never an exception. */
  #serialize(response: Response): string {
    try {
      return toJson(response);
    } catch (err) {
      this.#onInternalError('(serialize)', err);
      return toJson(errorResponse(response.id, { code: INTERNAL_ERROR, message: 'internal error', data: { code: 'INTERNAL' } }));
    }
  }

  async #handleOne(request: unknown, context: C, gate: RequestGate | undefined): Promise<Response | null> {
    if (!isPlainObject(request)) return errorResponse(null, { code: INVALID_REQUEST, message: 'invalid request: expected an object' });
    const hasId = Object.hasOwn(request, 'id');
    const rawId = request['id'];
    const idValid = rawId === null || typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId));
    if (hasId && !idValid) return errorResponse(null, { code: INVALID_REQUEST, message: 'invalid request: id must be a string, a number or null' });
    const id: RpcId = hasId ? (rawId as RpcId) : null;
    const invalid = (message: string): Response => errorResponse(id, { code: INVALID_REQUEST, message: `invalid request: ${message}` });
    // Malformed requests are answered even without an id: the sender could not have meant a notification.
    if (request['jsonrpc'] !== '2.0') return invalid('jsonrpc must be "2.0"');
    const method = request['method'];
    if (typeof method !== 'string') return invalid('method must be a string');
    const rawParams = request['params'];
    let params: Record<string, unknown>;
    if (rawParams === undefined || (Array.isArray(rawParams) && rawParams.length === 0)) params = {};
    else if (isPlainObject(rawParams)) params = rawParams;
    else if (Array.isArray(rawParams)) return hasId ? errorResponse(id, { code: INVALID_PARAMS, message: 'invalid params: params must be an object (by-name parameters)', data: { code: 'INVALID_ARGUMENT', field: 'params' } }) : null;
    else return invalid('params must be an object or an array');

    const handler = this.#methods.get(method);
    if (!handler) return hasId ? errorResponse(id, { code: METHOD_NOT_FOUND, message: `method not found: ${method.slice(0, 100)}` }) : null;
    if (gate && !gate.tryAcquire()) return hasId ? errorResponse(id, BUSY_ERROR) : null;
    try {
      const result = await handler(params, context);
      return hasId ? { jsonrpc: '2.0', id, result: result ?? null } : null;
    } catch (err) {
      return hasId ? errorResponse(id, this.#toErrorObject(method, err)) : null;
    } finally {
      gate?.release();
    }
  }

  #toErrorObject(method: string, err: unknown): ErrorObject {
    if (err instanceof RpcError) return err.data === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, data: err.data };
    if (isPkarrError(err)) return { code: APPLICATION_ERROR, message: err.message, data: pkarrData(err.code, err.details) };
    this.#onInternalError(method, err);
    return { code: INTERNAL_ERROR, message: 'internal error', data: { code: 'INTERNAL' } };
  }
}
