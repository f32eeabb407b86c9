/** Request counters of a running relay, shown on its status page (`GET /`). */
export class RelayStats {
  readonly startedMs = Date.now();
  requests = 0;
  gets = 0;
  puts = 0;
  dohQueries = 0;
  /** GETs answered from the cache without touching the DHT. */
  cacheHits = 0;
  dhtLookups = 0;
  dhtPuts = 0;
  republished = 0;
  notModified = 0;
  rateLimited = 0;
  /** Responses by status code. */
  readonly byStatus = new Map<number, number>();

  count(status: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  /** Whole seconds since start. */
  uptimeSeconds(now: number = Date.now()): number {
    return Math.floor((now - this.startedMs) / 1000);
  }
}
