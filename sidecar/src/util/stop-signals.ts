/**
 * The signals that ask a process to stop, one place for every command: `onStopSignals` registers a
 * handler for each (serve's lifetime watch adds SIGHUP and a forced exit on a second signal), and
 * `waitForStopSignal` resolves on the first SIGINT/SIGTERM (relay, dns, testnet, `--no-exit`).
 */

/** Calls `handler` with the signal's name on each of `signals`; the returned function removes the handlers. */
export function onStopSignals<S extends NodeJS.Signals>(signals: readonly S[], handler: (signal: S) => void): () => void {
  const listeners = signals.map((signal) => {
    const listener = (): void => handler(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners.splice(0)) process.off(signal, listener);
  };
}

/** Resolves on the first SIGINT/SIGTERM (with the signal name); `dispose` removes the handlers. */
export function waitForStopSignal(): { stopped: Promise<string>; dispose: () => void } {
  let dispose: () => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    dispose = onStopSignals(['SIGINT', 'SIGTERM'], (signal) => {
      dispose();
      resolve(signal);
    });
  });
  return { stopped, dispose };
}
