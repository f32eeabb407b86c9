/** The sidecar's version: package.json's, or the constant baked into the single-executable bundle. */
import { readFileSync } from 'node:fs';

/** The version baked into the single-executable bundle (esbuild define); undeclared elsewhere. */
declare const __PKARR_VERSION__: string | undefined;

let cached: string | undefined;

/** package.json's version (same relative path from src/ and dist/); 'unknown' if absent. */
export function version(): string {
  if (typeof __PKARR_VERSION__ === 'string') return __PKARR_VERSION__; // the SEA has no package.json
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}
