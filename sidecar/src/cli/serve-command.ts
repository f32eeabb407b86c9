/**
 * `pkarr-sidecar serve`: the JSON-RPC service the Godot addon spawns (docs/rpc.md).
 *
 * stdout carries exactly one line, the ready line, and nothing else ever (console output of any
 * library is redirected to the log). The process stops on SIGTERM/SIGINT/SIGHUP, the `shutdown`
 * method, `--parent-pid` exiting, or stdin EOF when stdin is a pipe; a stop is graceful and
 * bounded: if it takes longer than 1 s the process exits anyway.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { format } from 'node:util';
import { isPkarrError } from '../core/errors.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { watchLifetime, type StopReason } from '../serve/lifetime.ts';
import { SERVE_USAGE, parseServeOptions, type ServeOptions } from '../serve/serve-options.ts';
import { Sidecar } from '../serve/sidecar.ts';
import { version } from '../version.ts';

/** The sidecar version reported in the ready line and `status` (kept equal to package.json). */
export const SIDECAR_VERSION = version();
/** Longest a graceful stop may take before the process exits regardless. */
const STOP_DEADLINE_MS = 1000;

const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{16,256}$/;

async function loadToken(file: string | null): Promise<string> {
  if (file === null) return randomBytes(32).toString('hex');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read --token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const token = text.trim();
  // Never echo the content: it is the secret.
  if (!TOKEN_PATTERN.test(token)) throw new Error(`--token-file ${file} must hold 16-256 characters from A-Z a-z 0-9 . _ ~ -`);
  return token;
}

/** Sends console.* of any library to the log so stdout stays reserved for the ready line. */
function guardStdout(log: Logger): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug, warn: console.warn, error: console.error };
  console.log = (...a: unknown[]) => log.info(format(...a));
  console.info = (...a: unknown[]) => log.info(format(...a));
  console.debug = (...a: unknown[]) => log.debug(format(...a));
  console.warn = (...a: unknown[]) => log.warn(format(...a));
  console.error = (...a: unknown[]) => log.error(format(...a));
  return () => Object.assign(console, saved);
}

/** Runs the service until it is asked to stop; resolves with the exit code. */
export async function run(args: string[]): Promise<number> {
  let options: ServeOptions;
  try {
    options = parseServeOptions(args);
  } catch (err) {
    process.stderr.write(`pkarr-sidecar serve: ${(err as Error).message}\n${SERVE_USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${SERVE_USAGE}\n`); // not serving: stdout is free for the usage text
    return 0;
  }
  let forward: ((level: string, message: string) => void) | null = null;
  const log = createLogger({
    level: options.logLevel,
    ...(options.logFile ? { file: options.logFile } : {}),
    onEntry: (level, message) => forward?.(level, message),
  });
  const restoreConsole = guardStdout(log);
  const onUncaught = (err: unknown): void => log.error(`uncaught: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  const onUnhandled = (err: unknown): void => log.warn(`unhandled rejection: ${err instanceof Error ? err.message : String(err)}`);
  // Once the parent is gone its pipe ends are closed: writing a log line must not raise EPIPE.
  const ignore = (): void => undefined;
  process.stdout.on('error', ignore);
  process.stderr.on('error', ignore);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);

  let requestStop: (reason: StopReason) => void = () => undefined;
  const stopRequested = new Promise<StopReason>((resolve) => { requestStop = resolve; });
  // Watch from the start: a parent that dies while we start up still stops us right after.
  const unwatch = watchLifetime({
    ...(options.parentPid === null ? {} : { parentPid: options.parentPid }),
    onStop: (reason) => requestStop(reason),
    onForce: () => process.exit(1),
  });
  const cleanup = async (): Promise<void> => {
    unwatch();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
    process.stdout.off('error', ignore);
    process.stderr.off('error', ignore);
    restoreConsole();
    await log.close();
  };

  let sidecar: Sidecar;
  try {
    const token = await loadToken(options.tokenFile);
    sidecar = await Sidecar.start(options, {
      token,
      version: SIDECAR_VERSION,
      log,
      onShutdownRequested: () => requestStop('shutdown'),
    });
    const ready = { event: 'ready', port: sidecar.port, token, version: SIDECAR_VERSION, pid: process.pid };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  } catch (err) {
    log.error(`cannot start: ${isPkarrError(err) || err instanceof Error ? err.message : String(err)}`);
    await cleanup();
    return 1;
  }
  let inFlightLog = false;
  forward = (level, message) => {
    if ((level !== 'warn' && level !== 'error') || inFlightLog) return;
    inFlightLog = true; // a failing broadcast must not log its way into a loop
    try {
      sidecar.server.broadcast('log', { level, message });
    } finally {
      inFlightLog = false;
    }
  };
  log.info(`serving on 127.0.0.1:${sidecar.port} (data dir ${options.dataDir})`);

  const reason = await stopRequested;
  log.info(`stopping: ${reason}`);
  forward = null;
  const deadline = setTimeout(() => {
    process.stderr.write(`pkarr-sidecar: graceful stop took over ${STOP_DEADLINE_MS} ms, exiting\n`);
    process.exit(0);
  }, STOP_DEADLINE_MS);
  deadline.unref();
  await sidecar.stop();
  clearTimeout(deadline);
  log.info('stopped');
  await cleanup();
  return 0;
}
