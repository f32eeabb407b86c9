/**
 * `pkarr-sidecar`: the command-line entry. `main(argv)` dispatches to one command module per
 * command (each exports `run(args): Promise<number>`, the exit code); adding a command is one line
 * in COMMANDS. Modules load lazily, so `keygen` never starts a DHT stack.
 *
 * Runs as `node sidecar/src/cli/main.ts …` (Node 24 strips the types) or, after `npm run build`,
 * through the bin shim `sidecar/bin/pkarr-sidecar.js`.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage error. Errors are one line on stderr.
 */
import { version } from '../version.ts';
import { EXIT_OK, EXIT_USAGE, reportError } from './cli-support.ts';

/** What every command module exports. */
export interface CommandModule {
  run(args: string[]): Promise<number>;
}

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

/** The command table: name → lazily loaded module. */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  keygen: { summary: 'generate a secret key file', load: () => import('./keygen-command.ts') },
  publish: { summary: 'sign and publish records', load: () => import('./publish-command.ts') },
  resolve: { summary: 'look up the records of a key', load: () => import('./resolve-command.ts') },
  testnet: { summary: 'run a local DHT for demos and tests', load: () => import('./testnet-command.ts') },
  relay: { summary: 'run a pkarr HTTP relay', load: () => import('./relay-command.ts') },
  serve: { summary: 'run the JSON-RPC service for the Godot addon', load: () => import('./serve-command.ts') },
  dns: { summary: 'serve DNS (UDP/TCP) for pkarr names, forward the rest', load: () => import('./dns-command.ts') },
};

export { version };

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return `usage: pkarr-sidecar COMMAND [options]   (pkarr-sidecar COMMAND --help for details)
Pkarr for Godot: sovereign DNS records on the Mainline DHT.
commands:
${lines.join('\n')}
  --version  print the version
exit codes: 0 ok, 1 failure, 2 usage error`;
}

/** Runs the CLI with `argv` (without node and script) and resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(`${usage()}\n`);
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = rest[0];
    if (first === 'help' && topic !== undefined && Object.hasOwn(COMMANDS, topic)) return main([topic, '--help']);
    process.stdout.write(`${usage()}\n`);
    return EXIT_OK;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    process.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  const entry = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (entry === undefined) {
    const what = first.startsWith('-') ? `unknown option ${JSON.stringify(first)}` : `unknown command ${JSON.stringify(first)}`;
    process.stderr.write(`pkarr-sidecar: ${what} (see pkarr-sidecar --help)\n`);
    return EXIT_USAGE;
  }
  try {
    const module = await entry.load();
    return await module.run(rest);
  } catch (err) {
    return reportError(first, err);
  }
}

/**
 * Runs `main` with this process's arguments (`process.argv` is `[node, script, ...args]`, and
 * `[executable, executable, ...args]` in a single executable) and sets the exit code.
 */
export function runProcess(): void {
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
}

if (import.meta.main) runProcess();
