/** Assertion helpers for PkarrError-throwing code, shared by the suites. */
import { PkarrError, isPkarrError } from '../sidecar/src/core/errors.ts';

/** The PkarrError code `fn` throws, or 'no error'; anything that is not a PkarrError is rethrown. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PkarrError) return err.code;
    throw err;
  }
  return 'no error';
}

/** The PkarrError `promise` rejects with; fails when it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<PkarrError> {
  try {
    await promise;
  } catch (err) {
    if (isPkarrError(err)) return err;
    throw err;
  }
  throw new Error('expected a PkarrError');
}
