/**
 * When the sidecar must stop on its own. The Godot editor's Stop button SIGKILLs the game
 * (`OS::kill`: SIGKILL on Unix, TerminateProcess on Windows), so the game never gets to say
 * goodbye; the sidecar watches instead:
 *
 * - stdin EOF, but only when stdin is a pipe or socket (what `OS.execute_with_pipe` and Node's
 *   `spawn` give). A terminal or /dev/null on stdin is ignored, so an interactive
 *   `pkarr-sidecar serve` in a shell keeps running until Ctrl-C (SIGINT) instead of dying on a
 *   stray Ctrl-D or an immediate /dev/null EOF.
 * - `--parent-pid` gone: polled with `process.kill(pid, 0)` every 500 ms; additionally, when that
 *   pid was our direct parent at start, a change of `process.ppid` (re-parenting) counts as gone.
 * - SIGTERM, SIGINT, SIGHUP.
 *
 * Each trigger calls `onStop(reason)` once; a second signal while stopping calls `onForce`.
 */
import { fstatSync } from 'node:fs';
import { onStopSignals } from '../util/stop-signals.ts';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export type StopReason = 'stdin-eof' | 'parent-exited' | (typeof STOP_SIGNALS)[number] | 'shutdown';

export interface LifetimeOptions {
  /** Watch stdin for EOF: 'auto' (default: only pipes/sockets), or force on/off. */
  stdin?: 'auto' | 'on' | 'off';
  parentPid?: number;
  /** Poll interval for the parent pid (default 500 ms). */
  pollMs?: number;
  onStop: (reason: StopReason) => void;
  /** A second signal after a stop began (default: exit 1 at once). */
  onForce?: () => void;
}

/** True when fd 0 is a pipe or a socket (so EOF means the writer end went away). */
export function stdinIsPipe(): boolean {
  try {
    const st = fstatSync(0);
    // On Windows, isFIFO() is false for pipes: test the S_IFIFO mode bits directly as well.
    return st.isFIFO() || st.isSocket() || (st.mode & 0o170000) === 0o010000;
  } catch {
    return false;
  }
}

/** True when a process with this pid exists (EPERM means it exists but is not ours). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts the watchers; returns a function that removes them all. */
export function watchLifetime(options: LifetimeOptions): () => void {
  let stopping = false;
  const disposers: (() => void)[] = [];
  const stop = (reason: StopReason): void => {
    if (stopping) return;
    stopping = true;
    options.onStop(reason);
  };

  const watchStdin = options.stdin === 'on' || ((options.stdin ?? 'auto') === 'auto' && stdinIsPipe());
  if (watchStdin) {
    const stdin = process.stdin;
    const onEnd = (): void => stop('stdin-eof');
    const onData = (): void => undefined; // anything written to us is ignored, only EOF matters
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('close', onEnd);
    stdin.on('error', onEnd);
    stdin.resume();
    disposers.push(() => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('close', onEnd);
      stdin.off('error', onEnd);
      stdin.pause();
      stdin.unref?.();
    });
  }

  const parentPid = options.parentPid;
  if (parentPid !== undefined) {
    const wasDirectParent = process.ppid === parentPid;
    const check = (): void => {
      if (!processExists(parentPid) || (wasDirectParent && process.ppid !== parentPid)) stop('parent-exited');
    };
    const timer = setInterval(check, options.pollMs ?? 500);
    timer.unref();
    disposers.push(() => clearInterval(timer));
    queueMicrotask(check);
  }

  const onForce = options.onForce ?? ((): void => process.exit(1));
  disposers.push(onStopSignals(STOP_SIGNALS, (signal) => {
    if (stopping) onForce();
    else stop(signal);
  }));

  return () => {
    for (const dispose of disposers.splice(0)) dispose();
  };
}
