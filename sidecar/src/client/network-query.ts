/**
 * One network lookup of a key over the DHT and the relays (as the v7 reference's resolve,
 * pubky/pkarr pkarr/src/client/backend), in two modes:
 *
 * - `first`: the backends race; the first *acceptable* packet wins. The losers keep running in the
 *   background and hand every packet they find to `onPacket` (the cache), bounded by their own
 *   timeouts and by the client's lifetime signal.
 * - `all`: wait for every relay and a full DHT lookup; the most recent packet wins.
 *
 * An invalid item newer than the best valid packet (a relay's `Pkarr-Invalid-Signed-Packet-Seq`, or
 * the DHT's `invalidSeq`) turns the answer into INVALID_SIGNED_PACKET_SEQ, as the reference does.
 * When every backend failed, the failure is thrown (the only one as is, several as NO_RESPONSES);
 * when at least one backend answered and nothing was found, the result is null.
 */
import { PkarrError, isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { Dht } from '../dht/types.ts';
import type { RelayClient } from './relay-client.ts';
import type { ResolvePolicy, ResolveResult } from './types.ts';

export interface NetworkQuery {
  key: PublicKey;
  dht: Dht | null;
  relays: readonly RelayClient[];
  mode: 'first' | 'all';
  /** Timestamp floor: only packets strictly above it are asked for (DHT seq, relay IMS). */
  floor?: bigint;
  /** Sent to relays as `?policy=`. */
  relayPolicy?: ResolvePolicy;
  /** Send the cache-bypass header to relays on the first request. */
  bypassCache?: boolean;
  /** In `first` mode, whether a packet may end the race. */
  acceptable: (packet: SignedPacket) => boolean;
  /** Every valid packet seen, during and after the lookup (cache updates). */
  onPacket: (packet: SignedPacket) => void;
  /** Aborts everything (the client's lifetime). */
  signal: AbortSignal;
  /** Registers background work that outlives the returned promise. */
  track: (work: Promise<unknown>) => void;
}

interface Failure {
  source: string;
  error: unknown;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The error thrown when every backend failed. */
function allFailed(key: PublicKey, failures: readonly Failure[]): PkarrError {
  const only = failures[0];
  if (failures.length === 1 && only !== undefined) {
    return isPkarrError(only.error) ? only.error : new PkarrError('INTERNAL', `${only.source}: ${describe(only.error)}`);
  }
  const summary = failures.map((f) => `${f.source}: ${describe(f.error)}`).join('; ');
  return new PkarrError('NO_RESPONSES', `no backend answered the lookup of ${key.z32}: ${summary}`, {
    errors: failures.map((f) => ({ source: f.source, code: isPkarrError(f.error) ? f.error.code : 'INTERNAL', message: describe(f.error) })),
  });
}

function invalidSeqError(key: PublicKey, seq: bigint): PkarrError {
  return new PkarrError('INVALID_SIGNED_PACKET_SEQ', `the network holds an item for ${key.z32} at seq ${seq} that is not a valid signed packet, newer than any valid one`, { seq: seq.toString() });
}

/** Runs the lookup; see the module comment for the semantics. */
export function queryNetwork(q: NetworkQuery): Promise<ResolveResult | null> {
  return new Promise<ResolveResult | null>((resolve, reject) => {
    let pending = (q.dht === null ? 0 : 1) + q.relays.length;
    let settled = false;
    let answered = 0;
    let best: ResolveResult | null = null;
    let invalidSeq: bigint | undefined;
    const failures: Failure[] = [];

    const noteInvalid = (seq: bigint | undefined): void => {
      if (seq !== undefined && (invalidSeq === undefined || seq > invalidSeq)) invalidSeq = seq;
    };
    const blockedByInvalid = (packet: SignedPacket): boolean => invalidSeq !== undefined && packet.timestamp < invalidSeq;

    const finalize = (): void => {
      if (settled) return;
      settled = true;
      if (best !== null && !blockedByInvalid(best.packet)) resolve(best);
      else if (invalidSeq !== undefined) reject(invalidSeqError(q.key, invalidSeq));
      else if (answered === 0 && failures.length > 0) reject(allFailed(q.key, failures));
      else resolve(null);
    };

    const offer = (candidate: ResolveResult): void => {
      q.onPacket(candidate.packet);
      if (settled) return;
      if (q.mode === 'all') {
        if (best === null || candidate.packet.moreRecentThan(best.packet)) best = candidate;
        return;
      }
      if (!q.acceptable(candidate.packet) || blockedByInvalid(candidate.packet)) return;
      settled = true;
      resolve(candidate);
    };

    const backendDone = (): void => {
      pending -= 1;
      if (pending === 0) finalize();
    };

    const run = (source: string, work: () => Promise<void>): void => {
      const task = work().then(
        () => { answered += 1; },
        (error: unknown) => { failures.push({ source, error }); },
      ).finally(backendDone);
      q.track(task);
    };

    if (pending === 0) {
      reject(new PkarrError('INVALID_ARGUMENT', 'no DHT and no relays to query'));
      return;
    }

    const dht = q.dht;
    if (dht !== null) {
      run('dht', async () => {
        const onPacket = (packet: SignedPacket): void => offer({ packet, source: 'dht' });
        const options = { mostRecent: q.mode === 'all', onPacket, signal: q.signal, ...(q.floor === undefined ? {} : { floor: q.floor }) };
        let result = await dht.get(q.key, options);
        noteInvalid(result.invalidSeq);
        if (result.packet !== null) offer({ packet: result.packet, source: 'dht' });
        // The early answer was not acceptable: complete the lookup and take the most recent item.
        if (!settled && q.mode === 'first' && result.packet !== null) {
          result = await dht.get(q.key, { ...options, mostRecent: true });
          noteInvalid(result.invalidSeq);
          if (result.packet !== null) offer({ packet: result.packet, source: 'dht' });
        }
        if (result.packet === null && result.responded === 0 && result.invalidSeq === undefined) {
          throw new PkarrError('NO_RESPONSES', `no DHT node answered the lookup of ${q.key.z32}`);
        }
      });
    }
    for (const relay of q.relays) {
      run(`relay ${relay.url}`, async () => {
        const result = await relay.get(q.key, {
          signal: q.signal,
          ...(q.floor === undefined ? {} : { floor: q.floor }),
          ...(q.relayPolicy === undefined ? {} : { policy: q.relayPolicy }),
          ...(q.bypassCache === true ? { bypassCache: true } : {}),
        });
        noteInvalid(result.invalidSeq);
        if (result.packet !== null) offer({ packet: result.packet, source: 'relay', relay: relay.url });
      });
    }
  });
}
