/**
 * `pkarr-sidecar testnet [N]`: runs a local N-node Mainline DHT on 127.0.0.1 until Ctrl-C/SIGTERM,
 * for demos and manual tests. stdout gets exactly one line once it is up — the bootstrap list as
 * ready-to-paste flags — so other invocations can join it:
 *
 *     $ pkarr-sidecar testnet 20
 *     --bootstrap 127.0.0.1:40001 --bootstrap 127.0.0.1:40002 ...
 *     $ pkarr-sidecar publish --key k --bootstrap 127.0.0.1:40001 --no-relay 'A @ 1.2.3.4 300'
 */
import { Testnet } from '../dht/testnet.ts';
import { EXIT_OK, reportError } from './cli-support.ts';
import { UsageError, integerValue, parseCommandArgs } from '../util/cli-flags.ts';
import { waitForStopSignal } from '../util/stop-signals.ts';
import { toJson } from '../util/json.ts';

export const DEFAULT_TESTNET_SIZE = 20;

export const TESTNET_USAGE = `usage: pkarr-sidecar testnet [N] [--json]
  Runs a local ${DEFAULT_TESTNET_SIZE}-node (or N-node, 1-1000) DHT on 127.0.0.1 until Ctrl-C.
  Prints one line: the --bootstrap flags for other commands (--json: {"nodes","bootstrap"}).`;

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(args: string[]): Promise<number> {
  const { stopped, dispose } = waitForStopSignal();
  let testnet: Testnet | null = null;
  try {
    const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
    if (values.help === true) {
      process.stdout.write(`${TESTNET_USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
    const size = positionals[0] === undefined ? DEFAULT_TESTNET_SIZE : integerValue(positionals[0], 'N', 1, 1000);
    testnet = await Testnet.create(size);
    const bootstrap = testnet.bootstrap;
    process.stdout.write(values.json === true
      ? `${toJson({ nodes: size, bootstrap }, { bytes: 'hex' })}\n`
      : `${bootstrap.map((b) => `--bootstrap ${b}`).join(' ')}\n`);
    process.stderr.write(`pkarr-sidecar testnet: ${size} nodes on 127.0.0.1; Ctrl-C to stop\n`);
    await stopped;
    return EXIT_OK;
  } catch (err) {
    return reportError('testnet', err);
  } finally {
    dispose();
    await testnet?.destroy().catch(() => undefined);
  }
}
