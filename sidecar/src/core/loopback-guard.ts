/**
 * Test-only network guard. When `PKARR_LOOPBACK_ONLY=1` (set for every `npm test` run and inherited
 * by the sidecar processes tests spawn), any relay URL or DHT bootstrap address that is not on the
 * loopback range is refused, so a test can never reach a public relay or bootstrap node by
 * accident (e.g. through a default).
 */
import { PkarrError } from './errors.ts';

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Throws when loopback-only mode is on and `host` is not a loopback address. */
export function assertAllowedHost(host: string, what: string): void {
  if (process.env['PKARR_LOOPBACK_ONLY'] !== '1') return;
  if (!isLoopbackHost(host)) {
    throw new PkarrError('INVALID_ARGUMENT', `${what} ${JSON.stringify(host)} refused: PKARR_LOOPBACK_ONLY=1 allows loopback addresses only`);
  }
}
