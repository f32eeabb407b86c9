/** Client-side lobby filters and sort orders (pure). */
import { describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { compareLobbies, matchesFilters, selectLobbies, validateFilters, validateSort } from '../sidecar/src/lobby/lobby-filters.ts';
import { parseLobby, signLobby, type Lobby, type LobbyInfo } from '../sidecar/src/lobby/lobby-record.ts';

let seed = 1;
function lobby(name: string, players: number, maxPlayers: number, extra: Partial<LobbyInfo> = {}, timestamp?: bigint): Lobby {
  const keypair = Keypair.fromSeed(new Uint8Array(32).fill(seed++));
  const info: LobbyInfo = { game: 'g', gameVersion: '1', name, players, maxPlayers, open: true, endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 7000 }], ...extra };
  return parseLobby(signLobby(keypair, info, timestamp === undefined ? {} : { timestamp }));
}

const full = lobby('Full house', 4, 4);
const closed = lobby('Locked', 1, 4, { open: false });
const ctf = lobby('Capture', 2, 8, { custom: { mode: 'ctf', level: '12' } });
const dm = lobby('deathmatch arena', 6, 16, { custom: { mode: 'dm', level: 'high' }, endpoints: [{ transport: 'ws', host: '127.0.0.1', port: 80 }] });
const empty = lobby('Alpha', 0, 2, {}, 1_700_000_000_000_000n); // signed long ago: the oldest
const all = [full, closed, ctf, dm, empty];

const names = (lobbies: Lobby[]): string[] => lobbies.map((l) => l.name);

describe('lobby filters', () => {
  it('hides closed lobbies unless openOnly is false', () => {
    expect(names(selectLobbies(all, {}, 'name'))).toEqual(['Alpha', 'Capture', 'deathmatch arena', 'Full house']);
    expect(names(selectLobbies(all, { openOnly: false }, 'name'))).toContain('Locked');
  });

  it('filters by free slots, player range, name, transport', () => {
    expect(names(selectLobbies(all, { notFull: true }, 'name'))).toEqual(['Alpha', 'Capture', 'deathmatch arena']);
    expect(names(selectLobbies(all, { minPlayers: 2, maxPlayers: 5 }, 'name'))).toEqual(['Capture', 'Full house']);
    expect(names(selectLobbies(all, { nameContains: 'ARENA' }))).toEqual(['deathmatch arena']);
    expect(names(selectLobbies(all, { transport: 'ws' }))).toEqual(['deathmatch arena']);
  });

  it('matches custom keys by equality or numeric range', () => {
    expect(names(selectLobbies(all, { custom: { mode: 'ctf' } }))).toEqual(['Capture']);
    expect(names(selectLobbies(all, { custom: { level: { min: 10, max: 20 } } }))).toEqual(['Capture']);
    expect(matchesFilters(ctf, { custom: { level: { min: 13 } } })).toBe(false);
    expect(matchesFilters(dm, { custom: { level: { min: 0 } } })).toBe(false); // "high" is not a number
    expect(matchesFilters(full, { custom: { mode: 'ctf' } })).toBe(false); // key absent
  });

  it('reads only own custom attributes: never inherited ones like constructor, and __proto__ is an ordinary key', () => {
    for (const cond of ['x', { min: 0 }, { max: 1e9 }] as const) {
      expect(matchesFilters(ctf, { custom: { constructor: cond } })).toBe(false); // absent, not Object.prototype.constructor
      expect(matchesFilters(ctf, validateFilters(JSON.parse(`{"custom":{"__proto__":${JSON.stringify(cond)}}}`)))).toBe(false);
    }
    const odd = lobby('Odd', 1, 4, { custom: JSON.parse('{"__proto__":"7","constructor":"yes"}') as Record<string, string> });
    const filters = validateFilters(JSON.parse('{"custom":{"__proto__":{"min":5},"constructor":"yes"}}'));
    expect(Object.keys(filters.custom ?? {}).sort()).toEqual(['__proto__', 'constructor']);
    expect(matchesFilters(odd, filters)).toBe(true);
    expect(matchesFilters(odd, validateFilters(JSON.parse('{"custom":{"__proto__":"8"}}')))).toBe(false);
  });

  it('sorts by players (desc) then name, and by the other orders', () => {
    expect(names(selectLobbies(all))).toEqual(['deathmatch arena', 'Full house', 'Capture', 'Alpha']);
    expect(names(selectLobbies(all, {}, 'freeSlots'))).toEqual(['deathmatch arena', 'Capture', 'Alpha', 'Full house']);
    expect(names(selectLobbies(all, {}, 'newest')).at(-1)).toBe('Alpha');
    const twins = [lobby('Same', 3, 4), lobby('Same', 3, 4)];
    const order = [...twins].sort(compareLobbies('players'));
    expect([...twins].reverse().sort(compareLobbies('players'))).toEqual(order); // total order, ties by key
  });

  it('validates filters and sort names from outside', () => {
    expect(validateFilters({ notFull: true, custom: { mode: 'ctf', level: { min: 1 } } })).toEqual({ notFull: true, custom: { mode: 'ctf', level: { min: 1 } } });
    expect(validateFilters(undefined)).toEqual({});
    expect(() => validateFilters({ notfull: true })).toThrow(/unknown filter "notfull"/);
    expect(() => validateFilters({ notFull: 'yes' })).toThrow(/notFull must be true or false/);
    expect(() => validateFilters({ minPlayers: -1 })).toThrow(/minPlayers/);
    expect(() => validateFilters({ custom: { 'x-mode': 'a', Mode: 'b' } })).toThrow(/custom key "Mode"/);
    expect(() => validateFilters({ custom: { level: { min: 'a' } } })).toThrow(/custom.level.min must be a number/);
    expect(() => validateFilters({ custom: { level: {} } })).toThrow(/string or \{min\?, max\?\}/);
    expect(() => validateFilters([])).toThrow(/must be an object/);
    expect(validateSort(undefined)).toBe('players');
    expect(() => validateSort('size')).toThrow(/expected one of players, name, newest, freeSlots/);
  });
});
