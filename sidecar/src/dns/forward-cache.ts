/**
 * The cache of forwarded answers: per question (lower-case name, type, class, CD bit), the
 * upstream's rcode and sections, kept for the smallest TTL among their records (for a negative
 * answer with an SOA: min(SOA TTL, SOA minimum), RFC 2308), at most `maxTtl`. Only NOERROR and
 * NXDOMAIN with some record to take a TTL from, at most {@link MAX_CACHED_ANSWER_BYTES} encoded,
 * are cached. Served TTLs count down with the age of the entry. Bounded: least recently used
 * entries go first.
 */
import type { Answer, Question } from 'dns-packet';
import { LruMap } from '../util/lru-map.ts';

/** What the upstream answered, without its header, question and OPT. */
export interface UpstreamAnswer {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** Encoded size of the sections, bytes. */
  size: number;
}

interface Entry {
  answer: UpstreamAnswer;
  storedMs: number;
  ttl: number;
}

export const DEFAULT_FORWARD_CACHE_SIZE = 10_000;
/** Larger answers are not cached (bounds the cache's memory to ~10,000 × 4 KiB of DNS). */
export const MAX_CACHED_ANSWER_BYTES = 4096;

/** The cache key of a question. */
export function questionKey(question: Question, checkingDisabled: boolean): string {
  return `${question.name.toLowerCase().replace(/\.$/, '')}|${question.type}|${question.class ?? 'IN'}|${checkingDisabled ? 1 : 0}`;
}

function ttlOf(record: Answer): number {
  return 'ttl' in record && typeof record.ttl === 'number' ? record.ttl : 0;
}

/** How long `answer` may be cached, seconds (0: not at all). */
export function cacheTtl(answer: UpstreamAnswer, maxTtl: number): number {
  if ((answer.rcode !== 0 && answer.rcode !== 3) || answer.size > MAX_CACHED_ANSWER_BYTES) return 0;
  const records = [...answer.answers, ...answer.authorities, ...answer.additionals];
  if (records.length === 0) return 0;
  let ttl = maxTtl;
  for (const r of records) {
    ttl = Math.min(ttl, ttlOf(r));
    if (answer.answers.length === 0 && r.type === 'SOA') ttl = Math.min(ttl, (r.data as { minimum?: number }).minimum ?? 0);
  }
  return Math.max(0, ttl);
}

function aged(records: Answer[], elapsed: number): Answer[] {
  return elapsed <= 0 ? records : records.map((r) => ('ttl' in r && typeof r.ttl === 'number' ? { ...r, ttl: Math.max(0, r.ttl - elapsed) } as Answer : r));
}

export class ForwardCache {
  readonly #entries: LruMap<string, Entry>;
  readonly #maxTtl: number;
  readonly #now: () => number;

  constructor(capacity = DEFAULT_FORWARD_CACHE_SIZE, maxTtl = 86_400, now: () => number = Date.now) {
    this.#entries = new LruMap(capacity);
    this.#maxTtl = maxTtl;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Stores `answer` if it may be cached. */
  put(key: string, answer: UpstreamAnswer): void {
    const ttl = cacheTtl(answer, this.#maxTtl);
    if (ttl > 0) this.#entries.set(key, { answer, storedMs: this.#now(), ttl });
  }

  /** The cached answer with TTLs counted down, and its remaining lifetime; undefined when absent or expired. */
  get(key: string): { answer: UpstreamAnswer; remaining: number } | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const elapsed = Math.floor((this.#now() - entry.storedMs) / 1000);
    if (elapsed >= entry.ttl) {
      this.#entries.delete(key);
      return undefined;
    }
    const { answer } = entry;
    return {
      answer: { rcode: answer.rcode, answers: aged(answer.answers, elapsed), authorities: aged(answer.authorities, elapsed), additionals: aged(answer.additionals, elapsed), size: answer.size },
      remaining: entry.ttl - elapsed,
    };
  }
}
