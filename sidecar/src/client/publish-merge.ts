/**
 * Merging the outcomes of one publish to the DHT and to every relay, as the reference's
 * `PublishResultAccumulator` (pubky/pkarr pkarr/src/client/backend/publish_result_accumulator.rs):
 *
 * 1. if the number of NOT_MOST_RECENT answers is ≥ the number of successes (and > 0), the publish
 *    failed with NOT_MOST_RECENT;
 * 2. else any success wins, with the **maximum** stored-node count (not the sum);
 * 3. else the most common error code wins, ties broken by a fixed priority.
 */
import { PkarrError, type PkarrErrorCode } from '../core/errors.ts';
import type { PublishResult } from './types.ts';

/** Outcome of the DHT put, as carried in PublishResult.dht. */
export type DhtPublishOutcome = NonNullable<PublishResult['dht']>;
/** Outcome of one relay PUT, as carried in PublishResult.relays. */
export type RelayPublishOutcome = PublishResult['relays'][number];

/** Tie-break among equally common errors: the most specific, most actionable first. */
export const PUBLISH_ERROR_PRIORITY: readonly string[] = [
  'NOT_MOST_RECENT',
  'BAD_REQUEST',
  'NO_DHT_NODES',
  'NO_RESPONSES',
  'DHT_ERROR',
  'TIMEOUT',
  'RELAY_ERROR',
];

function priority(code: string): number {
  const index = PUBLISH_ERROR_PRIORITY.indexOf(code);
  return index < 0 ? PUBLISH_ERROR_PRIORITY.length : index;
}

/** One line describing every failed backend, for the thrown error's message. */
function describeFailures(dht: DhtPublishOutcome | null, relays: readonly RelayPublishOutcome[]): string {
  const parts: string[] = [];
  if (dht !== null && !dht.ok) parts.push(`dht: ${dht.error ?? dht.code ?? 'failed'}`);
  for (const relay of relays) if (!relay.ok) parts.push(`relay ${relay.url}: ${relay.error ?? relay.code ?? 'failed'}`);
  return parts.join('; ');
}

/**
 * Returns the merged PublishResult on success; throws a PkarrError (NOT_MOST_RECENT or the most
 * common error) whose `details.result` carries the per-backend outcomes.
 */
export function mergePublishOutcomes(dht: DhtPublishOutcome | null, relays: readonly RelayPublishOutcome[]): PublishResult {
  const outcomes = dht === null ? [...relays] : [dht, ...relays];
  const result: PublishResult = { storedOn: 0, dht, relays: [...relays] };
  if (outcomes.length === 0) {
    throw new PkarrError('INVALID_ARGUMENT', 'nothing to publish to: no DHT and no relays configured', { result });
  }
  let successes = 0;
  let notMostRecent = 0;
  let storedOn = 0;
  for (const outcome of outcomes) {
    if (outcome.ok) {
      successes += 1;
      storedOn = Math.max(storedOn, outcome.storedOn ?? 0);
    } else if (outcome.code === 'NOT_MOST_RECENT') {
      notMostRecent += 1;
    }
  }
  result.storedOn = storedOn;
  if (notMostRecent > 0 && notMostRecent >= successes) {
    throw new PkarrError('NOT_MOST_RECENT', `a more recent packet is already published (${notMostRecent} of ${outcomes.length} backends said so): ${describeFailures(dht, relays)}`, { result });
  }
  if (successes > 0) return result;
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    const code = outcome.code ?? 'INTERNAL';
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  let winner = 'INTERNAL';
  let winnerCount = -1;
  for (const [code, count] of counts) {
    if (count > winnerCount || (count === winnerCount && priority(code) < priority(winner))) {
      winner = code;
      winnerCount = count;
    }
  }
  // Outcome codes are copied from PkarrError.code by the client (INTERNAL for foreign errors).
  const code = winner as PkarrErrorCode;
  throw new PkarrError(code, `publish failed on every backend: ${describeFailures(dht, relays)}`, { result });
}
