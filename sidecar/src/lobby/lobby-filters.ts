/**
 * Client-side filtering and sorting of browsed lobbies (the DHT only does exact-key lookups, so
 * every filter runs here, after the records were fetched and verified).
 */
import { PkarrError } from '../core/errors.ts';
import { customMap, ownValue } from './custom-map.ts';
import { CUSTOM_KEY_PATTERN, type Lobby } from './lobby-record.ts';
import { TRANSPORT_PATTERN } from './lobby-endpoints.ts';

/** A custom attribute condition: an exact string, or a numeric range (bounds inclusive). */
export type CustomCondition = string | { min?: number; max?: number };

export interface LobbyFilters {
  /** Only lobbies with a free slot (players < max). */
  notFull?: boolean;
  /** Only open lobbies (default true; with false, lobbies with open=0 stay listed). */
  openOnly?: boolean;
  /** Player count bounds (inclusive). */
  minPlayers?: number;
  maxPlayers?: number;
  /** Case-insensitive substring of the name. */
  nameContains?: string;
  /** Only lobbies offering an endpoint of this transport. */
  transport?: string;
  /** Custom attributes (keys without `x-`): equal to a string, or a number within a range. */
  custom?: Record<string, CustomCondition>;
}

/** Sort orders: `players` (most first), `name` (A→Z), `newest` (most recently signed first), `freeSlots` (most first). */
export type LobbySort = 'players' | 'name' | 'newest' | 'freeSlots';
export const LOBBY_SORTS: readonly LobbySort[] = ['players', 'name', 'newest', 'freeSlots'];

function bad(message: string): PkarrError {
  return new PkarrError('INVALID_ARGUMENT', `invalid lobby filter: ${message}`);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

/** Checks a filter object from outside (RPC, GDScript); returns a clean copy. */
export function validateFilters(input: unknown): LobbyFilters {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw bad('filters must be an object');
  const raw = input as Record<string, unknown>;
  const out: LobbyFilters = {};
  for (const [key, value] of Object.entries(raw)) {
    switch (key) {
      case 'notFull':
      case 'openOnly':
        if (typeof value !== 'boolean') throw bad(`${key} must be true or false`);
        out[key] = value;
        break;
      case 'minPlayers':
      case 'maxPlayers':
        if (!isCount(value)) throw bad(`${key} must be an integer 0-65535`);
        out[key] = value;
        break;
      case 'nameContains':
        if (typeof value !== 'string' || value.length > 64) throw bad('nameContains must be a string of at most 64 characters');
        out.nameContains = value;
        break;
      case 'transport':
        if (typeof value !== 'string' || !TRANSPORT_PATTERN.test(value)) throw bad(`transport ${JSON.stringify(value)} is not a transport name`);
        out.transport = value;
        break;
      case 'custom': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('custom must be an object');
        const custom: [string, CustomCondition][] = [];
        for (const [name, cond] of Object.entries(value as Record<string, unknown>)) {
          if (!CUSTOM_KEY_PATTERN.test(name)) throw bad(`custom key ${JSON.stringify(name)} (1-30 characters from a-z 0-9 _ -, without x-)`);
          if (typeof cond === 'string') custom.push([name, cond]);
          else if (typeof cond === 'object' && cond !== null && !Array.isArray(cond)) {
            const range = cond as Record<string, unknown>;
            const extra = Object.keys(range).filter((k) => k !== 'min' && k !== 'max');
            if (extra.length > 0 || (range['min'] === undefined && range['max'] === undefined)) throw bad(`custom.${name} must be a string or {min?, max?}`);
            for (const bound of ['min', 'max'] as const) {
              const b = range[bound];
              if (b !== undefined && (typeof b !== 'number' || !Number.isFinite(b))) throw bad(`custom.${name}.${bound} must be a number`);
            }
            custom.push([name, { ...(range['min'] === undefined ? {} : { min: range['min'] as number }), ...(range['max'] === undefined ? {} : { max: range['max'] as number }) }]);
          } else throw bad(`custom.${name} must be a string or {min?, max?}`);
        }
        out.custom = customMap(custom); // null prototype: `__proto__` is an ordinary key
        break;
      }
      default:
        throw bad(`unknown filter ${JSON.stringify(key.slice(0, 64))} (expected notFull, openOnly, minPlayers, maxPlayers, nameContains, transport, custom)`);
    }
  }
  return out;
}

/** True when `lobby` passes every filter. */
export function matchesFilters(lobby: Lobby, filters: LobbyFilters): boolean {
  if ((filters.openOnly ?? true) && !lobby.open) return false;
  if (filters.notFull === true && lobby.players >= lobby.maxPlayers) return false;
  if (filters.minPlayers !== undefined && lobby.players < filters.minPlayers) return false;
  if (filters.maxPlayers !== undefined && lobby.players > filters.maxPlayers) return false;
  if (filters.nameContains !== undefined && !lobby.name.toLowerCase().includes(filters.nameContains.toLowerCase())) return false;
  if (filters.transport !== undefined && !lobby.endpoints.some((e) => e.transport === filters.transport)) return false;
  for (const [name, cond] of Object.entries(filters.custom ?? {})) {
    const value = ownValue(lobby.custom, name); // never an inherited member such as `constructor`
    if (value === undefined) return false;
    if (typeof cond === 'string') {
      if (value !== cond) return false;
    } else {
      const n = value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(n)) return false;
      if (cond.min !== undefined && n < cond.min) return false;
      if (cond.max !== undefined && n > cond.max) return false;
    }
  }
  return true;
}

/** Checks a sort name from outside. */
export function validateSort(input: unknown): LobbySort {
  if (input === undefined || input === null) return 'players';
  if (typeof input !== 'string' || !(LOBBY_SORTS as readonly string[]).includes(input)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid lobby sort ${JSON.stringify(input)}: expected one of ${LOBBY_SORTS.join(', ')}`);
  }
  return input as LobbySort;
}

const byName = (a: Lobby, b: Lobby): number => a.name.localeCompare(b.name, 'en') || (a.publicKey.z32 < b.publicKey.z32 ? -1 : a.publicKey.z32 > b.publicKey.z32 ? 1 : 0);

/** Compares two lobbies for `sort`; ties fall back to the name, then the key (a stable total order). */
export function compareLobbies(sort: LobbySort): (a: Lobby, b: Lobby) => number {
  switch (sort) {
    case 'players': return (a, b) => b.players - a.players || byName(a, b);
    case 'freeSlots': return (a, b) => (b.maxPlayers - b.players) - (a.maxPlayers - a.players) || byName(a, b);
    case 'newest': return (a, b) => (a.timestamp === b.timestamp ? byName(a, b) : a.timestamp > b.timestamp ? -1 : 1);
    case 'name': return byName;
  }
}

/** Filters then sorts (a new array). */
export function selectLobbies<T extends Lobby>(lobbies: Iterable<T>, filters: LobbyFilters = {}, sort: LobbySort = 'players'): T[] {
  return [...lobbies].filter((l) => matchesFilters(l, filters)).sort(compareLobbies(sort));
}
