/**
 * The parameters of the `lobby.*` methods, checked (docs/rpc.md "Lobbies"): custom attributes,
 * endpoints, game servers, invite codes and a browse's request. Every failure is a -32602 naming
 * the field (rpc/params.ts holds the checks shared by every method: strings, integers in range…).
 */
import { isPkarrError } from '../core/errors.ts';
import { PublicKey } from '../core/keys.ts';
import { TRANSPORT_PATTERN, type LobbyEndpoint } from '../lobby/lobby-endpoints.ts';
import { customMap } from '../lobby/custom-map.ts';
import { validateFilters, validateSort } from '../lobby/lobby-filters.ts';
import type { BrowseRequest } from '../lobby/lobby-service.ts';
import { formatShortCode, parseShortCode } from '../lobby/short-code.ts';
import { invalidParams } from './dispatcher.ts';
import { onlyFields, optionalBoolean, requireInt, requirePublicKey, requireString } from './params.ts';

type Params = Record<string, unknown>;

/**
 * An invite code param: a short code (returned as `XXXXX-XXXXX`) or any form of a public key
 * (returned as z32); anything else is -32602 with the key error's code.
 */
export function requireLobbyCode(params: Params, field = 'code'): string {
  const short = parseShortCode(params[field]);
  return short === null ? requirePublicKey(params, field).z32 : formatShortCode(short);
}

export function optionalCustom(params: Params, field = 'custom'): Record<string, string> | undefined {
  const v = params[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidParams(field, 'must be an object of strings');
  // A null-prototype map: a plain {} would drop the key `__proto__` (custom-map.ts).
  return customMap(Object.entries(v as Params).map(([k, value]) => {
    if (typeof value !== 'string') throw invalidParams(`${field}.${k.slice(0, 32)}`, 'must be a string');
    return [k, value] as const;
  }));
}

export function optionalEndpoints(params: Params): LobbyEndpoint[] | undefined {
  const v = params['endpoints'];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) throw invalidParams('endpoints', 'must be a non-empty list of {transport, host, port}');
  return v.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalidParams(`endpoints[${i}]`, 'must be {transport, host, port, alpn?}');
    const e = item as Params;
    onlyFields(e, ['transport', 'host', 'port', 'alpn']);
    const alpn = e['alpn'];
    if (alpn !== undefined && (!Array.isArray(alpn) || alpn.some((a) => typeof a !== 'string'))) throw invalidParams(`endpoints[${i}].alpn`, 'must be a list of strings');
    return {
      transport: requireString(e, 'transport'),
      host: requireString(e, 'host'),
      port: requireInt(e, 'port', 1, 65535),
      ...(alpn === undefined ? {} : { alpn: alpn as string[] }),
    };
  });
}

/** At most this many game servers per lobby (`servers`). */
const MAX_SERVERS = 4;

/** `servers`: the game servers of a host on several transports, [{transport, port}], distinct transports. */
export function optionalServers(params: Params): { transport: string; port: number }[] | undefined {
  const v = params['servers'];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_SERVERS) throw invalidParams('servers', `must be a list of 1-${MAX_SERVERS} {transport, port}`);
  const seen = new Set<string>();
  return v.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalidParams(`servers[${i}]`, 'must be {transport, port}');
    const server = item as Params;
    onlyFields(server, ['transport', 'port']);
    const transport = requireString(server, 'transport');
    if (!TRANSPORT_PATTERN.test(transport)) throw invalidParams(`servers[${i}].transport`, 'must be 1-16 of a-z 0-9 - starting with a letter (e.g. enet, ws)');
    if (seen.has(transport)) throw invalidParams(`servers[${i}].transport`, `${transport} is listed twice`);
    seen.add(transport);
    return { transport, port: requireInt(server, 'port', 1, 65535) };
  });
}

function knownKeys(params: Params): string[] | undefined {
  const v = params['knownKeys'];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 256) throw invalidParams('knownKeys', 'must be a list of at most 256 keys (any accepted form)');
  if (v.filter((key: unknown) => parseShortCode(key) !== null).length > MAX_KNOWN_SHORT_CODES) {
    throw invalidParams('knownKeys', `at most ${MAX_KNOWN_SHORT_CODES} short codes (each costs a lookup and a fingerprint check)`);
  }
  return v.map((key: unknown, i) => {
    const field = `knownKeys[${i}]`;
    if (typeof key !== 'string') throw invalidParams(field, 'must be a string');
    const short = parseShortCode(key);
    if (short !== null) return formatShortCode(short); // resolved by withShortCodesResolved
    try {
      return PublicKey.parse(key).z32;
    } catch (err) {
      if (isPkarrError(err)) throw invalidParams(field, err.message, err.code);
      throw err;
    }
  });
}

/** Short codes a browse's knownKeys may hold (each is resolved through its slot first). */
const MAX_KNOWN_SHORT_CODES = 16;

export const BROWSE_FIELDS = ['game', 'gameVersion', 'filters', 'sort', 'knownKeys', 'topic', 'directory', 'confirm', 'lan'];

export function browseRequest(params: Params): BrowseRequest {
  const game = requireString(params, 'game');
  const gameVersion = requireString(params, 'gameVersion');
  const checked = <T>(field: string, check: () => T): T => {
    try {
      return check();
    } catch (err) {
      throw invalidParams(field, (err as Error).message);
    }
  };
  const filters = checked('filters', () => validateFilters(params['filters']));
  const sort = checked('sort', () => validateSort(params['sort']));
  const keys = knownKeys(params);
  return {
    game,
    gameVersion,
    filters,
    sort,
    ...(keys === undefined ? {} : { knownKeys: keys }),
    topic: optionalBoolean(params, 'topic', true),
    directory: optionalBoolean(params, 'directory', true),
    confirm: optionalBoolean(params, 'confirm', false),
    lanEnabled: optionalBoolean(params, 'lan', true),
  };
}
