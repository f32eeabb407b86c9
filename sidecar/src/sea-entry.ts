/**
 * Entry point of the single-executable sidecar (bundled by scripts/build-sidecar.ts).
 *
 * main.ts runs itself only when Node starts that file directly (`import.meta.main`), which is
 * never the case inside a bundle, so this file starts it: `runProcess` takes the arguments from
 * index 2 of `process.argv`, which in a single executable is `[executable, executable, ...args]`.
 */
import { runProcess } from './cli/main.ts';

runProcess();
