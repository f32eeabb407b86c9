/**
 * A signal that aborts after `ms` or when `parent` aborts, linked by hand: `AbortSignal.any` on a
 * long-lived parent (the relay's closing signal) keeps every dependent signal reachable from it.
 * Here the parent listener is removed when the timer fires or `dispose` is called, so each linked
 * signal costs the parent one listener for at most `ms`.
 */
export interface TimeoutSignal {
  signal: AbortSignal;
  /** Stops the timer and unlinks from the parent (does not abort). */
  dispose(): void;
}

export function timeoutSignal(parent: AbortSignal, ms: number): TimeoutSignal {
  const controller = new AbortController();
  const onParentAbort = (): void => {
    dispose();
    controller.abort(parent.reason);
  };
  const timer = setTimeout(() => {
    dispose();
    controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError'));
  }, ms);
  timer.unref();
  function dispose(): void {
    clearTimeout(timer);
    parent.removeEventListener('abort', onParentAbort);
  }
  if (parent.aborted) onParentAbort();
  else parent.addEventListener('abort', onParentAbort, { once: true });
  return { signal: controller.signal, dispose };
}
