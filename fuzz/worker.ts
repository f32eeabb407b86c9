/**
 * Worker thread of `npm run fuzz`: runs one target over an index range and reports snapshots and
 * the final stats to run.ts, publishing the index being run in shared memory for the watchdog.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTarget, type TargetStats } from './harness.ts';
import { loadTarget } from './targets/index.ts';

export interface WorkerRequest {
  target: string;
  seed: number;
  start: number;
  count: number;
  slowMs: number;
  skip: number[];
  progress: SharedArrayBuffer;
  resume: TargetStats | null;
}

export type WorkerMessage =
  | { type: 'snapshot' | 'done'; stats: TargetStats }
  | { type: 'uncaught'; error: string }
  /** Setup failed: not a finding about the target, a broken fuzzer. */
  | { type: 'fatal'; error: string };

const request = workerData as WorkerRequest;
const port = parentPort!;
const post = (message: WorkerMessage): void => port.postMessage(message);

// An exception escaping an input's own promise chain (e.g. from a socket event) is a finding too.
process.on('uncaughtException', (err) => post({ type: 'uncaught', error: `${err.name}: ${err.message} ${err.stack?.split('\n')[1]?.trim() ?? ''}` }));
process.on('unhandledRejection', (err) => post({ type: 'uncaught', error: `unhandled rejection: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}` }));

let target;
try {
  target = await loadTarget(request.target);
  await target.setup?.();
} catch (err) {
  post({ type: 'fatal', error: err instanceof Error ? err.stack ?? err.message : String(err) });
  process.exit(1);
}
const stats = await runTarget(target, {
  seed: request.seed,
  start: request.start,
  count: request.count,
  slowMs: request.slowMs,
  skip: new Set(request.skip),
  progress: new Int32Array(request.progress),
  onSnapshot: (s) => post({ type: 'snapshot', stats: s }),
  ...(request.resume === null ? {} : { resume: request.resume }),
});
await target.teardown?.();
post({ type: 'done', stats });
