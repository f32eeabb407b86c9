/**
 * Round-trip estimates of DHT nodes, for adaptive per-query timeouts (instead of one fixed KRPC
 * timeout for every node). Per node and for the whole network, as TCP does it (RFC 6298: smoothed
 * RTT and RTT variation, RTO = SRTT + 4·RTTVAR), bounded below and above:
 *
 * - a node we have timed before gets its own RTO;
 * - a node never timed (most nodes of a lookup: they come from other nodes' `nodes` lists) gets the
 *   network's RTO, from every reply this client has seen, so a lookup adapts to the network it runs
 *   on (loopback: the lower bound; the real DHT: a few hundred ms) after its first replies. There
 *   the variation is mostly *between* nodes (their mean deviation from the mean RTT), so SRTT +
 *   2·RTTVAR is about the slowest typical node (uniform 50–150 ms: ≈ 150 ms) where +4 would add a
 *   round trip of waiting on every dead node; a node slower than that is still answered, late;
 * - before any reply at all: `initialMs` (RFC 6298's 1 s).
 *
 * The RTO is a *soft* timeout (iterative-lookup.ts): when it passes the lookup stops waiting for the
 * node and asks the next one, but a later reply is still used until the hard KRPC timeout. A low
 * estimate therefore costs an extra query, never a lost answer. Pure: no clock, no timers.
 */
import { PkarrError } from '../core/errors.ts';
import { LruMap } from '../util/lru-map.ts';

export interface RttBounds {
  /** Lowest RTO, ms (default 100: below that, event-loop pauses on a busy machine look like loss). */
  minMs?: number;
  /** Highest RTO, ms (the hard KRPC timeout; default 2000, the reference's request timeout). */
  maxMs?: number;
  /** RTO before any reply was timed, ms (default 1000, RFC 6298). */
  initialMs?: number;
  /** Nodes remembered (least recently timed forgotten first; default 4096). */
  capacity?: number;
}

interface Estimate {
  srtt: number;
  rttvar: number;
}

const ALPHA = 1 / 8;
const BETA = 1 / 4;

function update(estimate: Estimate | undefined, sample: number): Estimate {
  if (estimate === undefined) return { srtt: sample, rttvar: sample / 2 };
  const rttvar = (1 - BETA) * estimate.rttvar + BETA * Math.abs(estimate.srtt - sample);
  const srtt = (1 - ALPHA) * estimate.srtt + ALPHA * sample;
  return { srtt, rttvar };
}

export class RttEstimator {
  readonly minMs: number;
  readonly maxMs: number;
  readonly initialMs: number;
  /** Per node; reading does not refresh an estimate, a new sample does. */
  readonly #nodes: LruMap<string, Estimate>;
  #network: Estimate | undefined;

  constructor(bounds: RttBounds = {}) {
    const minMs = bounds.minMs ?? 100;
    const maxMs = bounds.maxMs ?? 2000;
    const initialMs = bounds.initialMs ?? Math.min(1000, maxMs);
    const capacity = bounds.capacity ?? 4096;
    if (!(Number.isFinite(minMs) && minMs > 0 && Number.isFinite(maxMs) && maxMs >= minMs)) {
      throw new PkarrError('INVALID_ARGUMENT', `invalid RTO bounds ${String(minMs)}..${String(maxMs)} ms`);
    }
    if (!(Number.isFinite(initialMs) && initialMs >= minMs && initialMs <= maxMs)) {
      throw new PkarrError('INVALID_ARGUMENT', `invalid initial RTO ${String(initialMs)} ms (${minMs}..${maxMs})`);
    }
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new PkarrError('INVALID_ARGUMENT', `invalid RTT capacity ${String(capacity)}`);
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.initialMs = initialMs;
    this.#nodes = new LruMap(capacity);
  }

  /** Records a measured round trip to `node` (`host:port`). Ignores non-finite or negative samples. */
  record(node: string, ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) return;
    this.#nodes.set(node, update(this.#nodes.peek(node), ms));
    this.#network = update(this.#network, ms);
  }

  /** The soft timeout for a query to `node`, ms, within [minMs, maxMs]. */
  rto(node: string): number {
    const own = this.#nodes.peek(node);
    if (own !== undefined) return this.#clamp(own.srtt + 4 * own.rttvar);
    if (this.#network === undefined) return this.initialMs;
    return this.#clamp(this.#network.srtt + 2 * this.#network.rttvar);
  }

  /** The network's smoothed RTT, ms, or null before any sample. */
  get networkRtt(): number | null {
    return this.#network === undefined ? null : this.#network.srtt;
  }

  /** How many nodes have an estimate of their own. */
  get size(): number {
    return this.#nodes.size;
  }

  #clamp(ms: number): number {
    return Math.min(this.maxMs, Math.max(this.minMs, ms));
  }
}
