/**
 * Types for the parts of autocannon@9.0.0 (CommonJS, untyped) that the load benchmark uses: the
 * programmatic API with `requests[].setupRequest`, `setupClient` and the result object. Written from
 * node_modules/autocannon/README.md and lib/run.js.
 */
declare module 'autocannon' {
  /** A request as `setupRequest` receives and returns it. */
  export interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest | null;
  }

  /** One connection (`setupClient` gets it). */
  export interface AutocannonClient {
    setRequests(requests: AutocannonRequest[]): void;
  }

  export interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    /** Seconds before a request counts as a timeout (default 10). */
    timeout?: number;
    pipelining?: number;
    requests?: AutocannonRequest[];
    setupClient?: (client: AutocannonClient) => void;
  }

  /** A histogram summary (hdr-histogram-percentiles-obj). */
  export interface Histogram {
    average: number;
    mean: number;
    max: number;
    min: number;
    p50: number;
    p99: number;
    total: number;
  }

  export interface AutocannonResult {
    requests: Histogram;
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
    statusCodeStats: Record<string, { count: number }>;
  }

  interface Instance extends PromiseLike<AutocannonResult> {
    stop(): void;
  }

  function autocannon(options: AutocannonOptions): Instance;
  export default autocannon;
}
