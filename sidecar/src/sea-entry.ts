/**
 * Entry point of the single-executable sidecar (bundled by scripts/build-sidecar.ts).
 *
 * main.ts runs itself only when Node starts that file directly (`import.meta.main`), which is
 * never the case inside a bundle, so this file calls `main()` with the user's arguments. In a
 * single executable `process.argv` is `[executable, executable, ...args]`, as for
 * `node script.js ...args`, so the arguments start at index 2 either way.
 */
import { reportError } from './cli/cli-support.ts';
import { main } from './cli/main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; if a stray handle lingers anyway, do not hang the caller.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    process.exitCode = reportError('', err);
  },
);
