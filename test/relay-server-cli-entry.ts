/** Runs `pkarr-sidecar relay` through its command module (until the CLI entry lands). */
import { run } from '../sidecar/src/cli/relay-command.ts';

process.exitCode = await run(process.argv.slice(2));
