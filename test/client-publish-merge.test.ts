import { describe, expect, it } from 'vitest';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { mergePublishOutcomes, type DhtPublishOutcome, type RelayPublishOutcome } from '../sidecar/src/client/publish-merge.ts';

const ok = (storedOn: number): DhtPublishOutcome => ({ ok: true, storedOn });
const fail = (code: string): DhtPublishOutcome => ({ ok: false, code, error: `${code} happened` });
const relay = (outcome: DhtPublishOutcome, i: number): RelayPublishOutcome => ({ url: `http://r${i}`, ...outcome });

type Case = [name: string, dht: DhtPublishOutcome | null, relays: DhtPublishOutcome[], expected: number | string];

const cases: Case[] = [
  ['dht only, ok', ok(12), [], 12],
  ['max storedOn, not the sum', ok(12), [ok(20), ok(1)], 20],
  ['a success beats other errors', fail('TIMEOUT'), [ok(1), fail('RELAY_ERROR')], 1],
  ['NMR equal to successes → NMR', ok(12), [fail('NOT_MOST_RECENT')], 'NOT_MOST_RECENT'],
  ['NMR above successes → NMR', ok(12), [fail('NOT_MOST_RECENT'), fail('NOT_MOST_RECENT')], 'NOT_MOST_RECENT'],
  ['NMR below successes → success', ok(12), [ok(3), fail('NOT_MOST_RECENT')], 12],
  ['NMR alone', fail('NOT_MOST_RECENT'), [], 'NOT_MOST_RECENT'],
  ['NMR beats a more common other error', fail('NOT_MOST_RECENT'), [fail('TIMEOUT'), fail('TIMEOUT')], 'NOT_MOST_RECENT'],
  ['most common error wins', fail('DHT_ERROR'), [fail('TIMEOUT'), fail('TIMEOUT')], 'TIMEOUT'],
  ['tie broken by priority', fail('NO_DHT_NODES'), [fail('RELAY_ERROR')], 'NO_DHT_NODES'],
  ['tie broken by priority, other order', fail('RELAY_ERROR'), [fail('BAD_REQUEST')], 'BAD_REQUEST'],
  ['relays only', null, [ok(1), ok(1)], 1],
  ['relays only, all failed', null, [fail('RELAY_ERROR'), fail('TIMEOUT'), fail('RELAY_ERROR')], 'RELAY_ERROR'],
  ['nothing to publish to', null, [], 'INVALID_ARGUMENT'],
];

describe('mergePublishOutcomes (as the reference PublishResultAccumulator)', () => {
  it.each(cases)('%s', (_name, dht, relays, expected) => {
    const relayOutcomes = relays.map(relay);
    if (typeof expected === 'number') {
      const result = mergePublishOutcomes(dht, relayOutcomes);
      expect(result.storedOn).toBe(expected);
      expect(result.dht).toEqual(dht);
      expect(result.relays).toEqual(relayOutcomes);
      return;
    }
    let caught: unknown;
    try {
      mergePublishOutcomes(dht, relayOutcomes);
    } catch (err) {
      caught = err;
    }
    expect(isPkarrError(caught)).toBe(true);
    if (!isPkarrError(caught)) return;
    expect(caught.code).toBe(expected);
    expect(caught.details?.result).toMatchObject({ dht, relays: relayOutcomes });
    if (expected !== 'INVALID_ARGUMENT') expect(caught.message).toMatch(/happened/);
  });
});
