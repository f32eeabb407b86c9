/**
 * The JSON-RPC response oracle of the `rpc` target: what docs/rpc.md promises for any frame.
 */
import { FindingError, type Outcome } from '../harness.ts';

/** Error codes docs/rpc.md documents; -32603 ("a bug in the sidecar") is deliberately absent. */
const DOCUMENTED = new Set([-32700, -32600, -32601, -32602, -32000]);
/** `data.code` values of the RPC layer besides PkarrError codes. */
const RPC_CODES = new Set(['BUSY', 'KEY_NOT_FOUND', 'KEY_EXISTS', 'SHUTTING_DOWN']);

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Entries that were requests needing an answer: anything but a well-formed notification. */
function expectsAnswer(entry: unknown): boolean {
  return !(isObject(entry) && !Object.hasOwn(entry, 'id'));
}

/**
 * The secrets a request hands to keys.* methods (`params.secretKey`, 64 hex characters): those
 * methods promise never to echo them. A `secretKey` field anywhere else is just data.
 */
function requestSecrets(request: unknown): string[] {
  const out: string[] = [];
  for (const entry of Array.isArray(request) ? request : [request]) {
    if (!isObject(entry) || typeof entry['method'] !== 'string' || !entry['method'].startsWith('keys.')) continue;
    const v = isObject(entry['params']) ? entry['params']['secretKey'] : undefined;
    if (typeof v === 'string' && /^\s*[0-9a-fA-F]{64}\s*$/.test(v)) out.push(v.trim().toLowerCase());
  }
  return out;
}

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) n++;
  return n;
}

/**
 * No response but keys.export's may carry a secret. Key names and echoed ids can legitimately
 * equal a secret's text (a name is up to 64 of [A-Za-z0-9_.-]); those fields are left out, and a
 * secret the request itself carries outside `secretKey` fields may be echoed.
 */
function checkSecrets(text: string, request: unknown, response: string, seedSecrets: readonly string[]): void {
  const lowerText = text.toLowerCase();
  const checked = response.replace(/"(name|key|id)":"[A-Za-z0-9_.-]{1,64}"/g, '').toLowerCase();
  const fromRequest = requestSecrets(request);
  for (const secret of new Set([...seedSecrets, ...fromRequest])) {
    const inSecretFields = fromRequest.filter((s) => s === secret).length;
    if (count(lowerText, secret) > inSecretFields) continue; // the request carries it elsewhere: echo allowed
    if (checked.includes(secret)) throw new FindingError(`a secret key appears in the response of ${methodsOf(request).join(',').slice(0, 200)}`);
  }
}

function methodsOf(request: unknown): string[] {
  const list = Array.isArray(request) ? request : [request];
  return list.map((e) => (isObject(e) && typeof e['method'] === 'string' ? e['method'] : ''));
}

function checkOne(r: unknown, knownCodes: ReadonlySet<string>): string | null {
  if (!isObject(r)) throw new FindingError(`response entry is not an object: ${JSON.stringify(r).slice(0, 200)}`);
  if (r['jsonrpc'] !== '2.0') throw new FindingError('response without jsonrpc "2.0"');
  if (!Object.hasOwn(r, 'id')) throw new FindingError('response without id');
  const id = r['id'];
  if (!(id === null || typeof id === 'string' || typeof id === 'number')) throw new FindingError(`response id of type ${typeof id}`);
  const hasResult = Object.hasOwn(r, 'result');
  const hasError = Object.hasOwn(r, 'error');
  if (hasResult === hasError) throw new FindingError('response must have exactly one of result and error');
  if (hasResult) return null;
  const e = r['error'];
  if (!isObject(e) || typeof e['code'] !== 'number' || typeof e['message'] !== 'string') throw new FindingError(`malformed error object ${JSON.stringify(e).slice(0, 200)}`);
  const code = e['code'];
  if (!DOCUMENTED.has(code)) throw new FindingError(`undocumented error code ${code}: ${e['message'].slice(0, 200)} ${JSON.stringify(e['data'] ?? null).slice(0, 200)}`);
  const data = e['data'];
  if (data !== undefined && !isObject(data)) throw new FindingError('error.data is not an object');
  if (code === -32602 && !(isObject(data) && typeof data['code'] === 'string' && typeof data['field'] === 'string')) {
    throw new FindingError(`-32602 without data.code/data.field: ${JSON.stringify(e).slice(0, 200)}`);
  }
  if (code === -32000) {
    const c = isObject(data) ? data['code'] : undefined;
    if (typeof c !== 'string' || !(knownCodes.has(c) || RPC_CODES.has(c))) throw new FindingError(`-32000 with undocumented data.code ${String(c)}`);
  }
  if (isObject(data) && typeof data['code'] === 'string' && !(knownCodes.has(data['code']) || RPC_CODES.has(data['code']))) {
    throw new FindingError(`data.code ${data['code']} is neither a PkarrError code nor an RPC code`);
  }
  return `${code}${isObject(data) && typeof data['code'] === 'string' ? ` ${data['code']}` : ''}`;
}

/**
 * Checks the dispatcher's answer to `text` and classifies it: accepted when every answered entry
 * is a result, else rejected with the first error's `code data.code`.
 */
export function checkResponse(text: string, response: string | null, seedSecrets: readonly string[], knownCodes: ReadonlySet<string>): Outcome {
  const request = parse(text);
  const entries = request === undefined ? [undefined] : Array.isArray(request) ? request : [request];
  if (response === null) {
    if (request === undefined || (Array.isArray(request) && request.length === 0) || entries.some(expectsAnswer)) {
      throw new FindingError('no response to a frame that needs one');
    }
    return { accepted: true };
  }
  if (!methodsOf(request).includes('keys.export')) checkSecrets(text, request, response, seedSecrets);
  const answer = parse(response);
  if (answer === undefined) throw new FindingError(`response is not JSON: ${response.slice(0, 200)}`);
  const answers = Array.isArray(answer) ? answer : [answer];
  if (Array.isArray(answer) && answer.length === 0) throw new FindingError('empty batch response');
  let first: string | null = null;
  for (const r of answers) {
    const code = checkOne(r, knownCodes);
    first ??= code;
  }
  return first === null ? { accepted: true } : { accepted: false, code: first };
}
