/**
 * Command-line options of `pkarr-sidecar serve` (docs/rpc.md "Start-up"), parsed and checked.
 */
import { join, resolve } from 'node:path';
import { DEFAULT_RELAYS } from '../client/client.ts';
import { normalizeRelayUrl } from '../client/relay-client.ts';
import { UsageError, checkBootstrap, checkEachValue, optionalInteger, parseFlags } from '../util/cli-flags.ts';
import { userDataHome } from '../util/data-dir.ts';
import { LOCAL_RELAY_PORT } from './local-relay.ts';
import { isLogLevel, type LogLevel } from '../util/log.ts';

export interface ServeOptions {
  port: number;
  dataDir: string;
  /** Relay URLs to use (the defaults already applied, as the CLI's network flags do). */
  relays: string[];
  bootstrap: string[];
  testnet: number | null;
  noDht: boolean;
  parentPid: number | null;
  allowOrigins: string[];
  tokenFile: string | null;
  republishIntervalSeconds: number | null;
  /** Seconds between WebSocket pings (0 = no heartbeat), or null for the default (15). */
  heartbeatIntervalSeconds: number | null;
  /** Per-request timeout of relays and DHT queries (ms), or null for the defaults. */
  timeoutMs: number | null;
  /** UDP port of the punch socket that carries punched game traffic (0 = any). */
  punchPort: number;
  /** No NAT traversal: no punch socket, no reachability probes, no automatic port mapping. */
  noNat: boolean;
  /** No LAN lobby discovery (mDNS on the local network, docs/lobby.md §8). */
  noLan: boolean;
  /** Seconds between LAN announcements of hosted lobbies, or null for the default (15). */
  lanIntervalSeconds: number | null;
  /** Port of the local pkarr relay on 127.0.0.1 (default 6881, 0 = any free port), or null with --no-local-relay. */
  localRelayPort: number | null;
  logLevel: LogLevel;
  logFile: string | null;
  help: boolean;
}

export const SERVE_USAGE = `usage: pkarr-sidecar serve [options]

Runs the JSON-RPC 2.0 service on ws://127.0.0.1:<port>/ (see docs/rpc.md). Prints one ready line
{"event":"ready","port":…,"token":"…","version":"…","pid":…} on stdout; logs go to stderr.

  --port N                   TCP port on 127.0.0.1 (default 0: any free port)
  --data-dir DIR             where keys live (default: the platform data dir/pkarr-godot)
  --relay URL                pkarr relay (repeatable; replaces the default relays
                             ${DEFAULT_RELAYS.join(', ')})
  --no-relays, --no-relay    use no relay
  --bootstrap HOST:PORT      DHT bootstrap node (repeatable; default: public routers)
  --testnet N                start a local DHT of N nodes in this process and use it
                             (no relays unless --relay)
  --no-dht                   no DHT (relays only; with --no-relays only keys.* work)
  --timeout MS               per-request timeout of relays and DHT queries (default 2000)
  --parent-pid PID           exit when this process is gone (polled every 500 ms)
  --allow-origin ORIGIN      let browsers from ORIGIN connect (repeatable)
  --token-file FILE          use the token in FILE instead of a random one
  --republish-interval SEC   seconds between republish cycles (default 3600)
  --punch-port N             UDP port of the punch socket that carries game traffic through
                             NATs (default 0: any free port; docs/nat.md)
  --no-nat                   no NAT traversal: lobbies without an address are not mapped,
                             probed or punched (nat.map still maps on request)
  --no-lan                   no LAN lobby discovery (mDNS _pkarr-lobby._udp.local: hosted
                             lobbies announced, LAN lobbies browsed and joined by code, also
                             with --no-dht --no-relays; docs/lobby.md)
  --lan-interval SEC         seconds between LAN announcements (default 15, 1..300)
  --local-relay-port N       answer as a pkarr relay on 127.0.0.1:N, the relay web apps try
                             first (default 6881; 0: any free port; skipped when N is taken;
                             needs the DHT)
  --no-local-relay           no local relay
  --heartbeat-interval SEC   seconds between pings to each client; one that answers neither
                             the last ping nor anything else is dropped (default 15, 0 = off)
  --log-level LEVEL          error | warn | info | debug (default info)
  --log-file FILE            append logs to FILE instead of stderr

Stops on SIGTERM/SIGINT, the shutdown method, --parent-pid exiting, or EOF on stdin when stdin is
a pipe (a terminal's stdin is not watched).`;

/** The platform default: `$XDG_DATA_HOME/pkarr-godot`, `%APPDATA%\pkarr-godot`, … (docs/rpc.md). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  return join(userDataHome(env, platform), 'pkarr-godot');
}

/** Parses `serve` arguments; throws INVALID_ARGUMENT with a one-line reason on bad input. */
export function parseServeOptions(args: readonly string[]): ServeOptions {
  const { values } = parseFlags({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      relay: { type: 'string', multiple: true },
      'no-relays': { type: 'boolean' },
      'no-relay': { type: 'boolean' },
      timeout: { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      testnet: { type: 'string' },
      'no-dht': { type: 'boolean' },
      'parent-pid': { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'token-file': { type: 'string' },
      'republish-interval': { type: 'string' },
      'heartbeat-interval': { type: 'string' },
      'punch-port': { type: 'string' },
      'no-nat': { type: 'boolean' },
      'no-lan': { type: 'boolean' },
      'lan-interval': { type: 'string' },
      'local-relay-port': { type: 'string' },
      'no-local-relay': { type: 'boolean' },
      'log-level': { type: 'string' },
      'log-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const logLevel = values['log-level'] ?? 'info';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be error, warn, info or debug, got ${JSON.stringify(logLevel)}`);
  checkBootstrap(values.bootstrap ?? []);
  for (const o of values['allow-origin'] ?? []) {
    if (!/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(o)) throw new UsageError(`--allow-origin must be an origin like http://127.0.0.1:8060, got ${JSON.stringify(o)}`);
  }
  const noDht = values['no-dht'] ?? false;
  const noRelays = (values['no-relays'] ?? false) || (values['no-relay'] ?? false);
  const testnet = optionalInteger(values.testnet, '--testnet', 1, 1000);
  const bootstrap = values.bootstrap ?? [];
  if (noDht && (testnet !== null || bootstrap.length > 0)) throw new UsageError('--no-dht cannot be combined with --testnet or --bootstrap');
  if (testnet !== null && bootstrap.length > 0) throw new UsageError('--testnet and --bootstrap cannot be combined');
  if ((values['no-local-relay'] ?? false) && values['local-relay-port'] !== undefined) throw new UsageError('--no-local-relay cannot be combined with --local-relay-port');
  if (noRelays && values.relay) throw new UsageError('--no-relays cannot be combined with --relay');
  checkEachValue('--relay', values.relay ?? [], normalizeRelayUrl);
  // As the CLI's network flags: the public relays unless --relay, --no-relays or a local --testnet.
  const relays = values.relay ?? (noRelays || testnet !== null ? [] : [...DEFAULT_RELAYS]);
  return {
    port: optionalInteger(values.port, '--port', 0, 65535) ?? 0,
    dataDir: resolve(values['data-dir'] ?? defaultDataDir()),
    relays,
    bootstrap,
    testnet,
    noDht,
    parentPid: optionalInteger(values['parent-pid'], '--parent-pid', 1, 2 ** 31 - 1),
    allowOrigins: values['allow-origin'] ?? [],
    tokenFile: values['token-file'] ?? null,
    republishIntervalSeconds: optionalInteger(values['republish-interval'], '--republish-interval', 1, 10 * 365 * 86400),
    heartbeatIntervalSeconds: optionalInteger(values['heartbeat-interval'], '--heartbeat-interval', 0, 86_400),
    timeoutMs: optionalInteger(values.timeout, '--timeout', 10, 600_000),
    punchPort: optionalInteger(values['punch-port'], '--punch-port', 0, 65535) ?? 0,
    noNat: values['no-nat'] ?? false,
    noLan: values['no-lan'] ?? false,
    lanIntervalSeconds: optionalInteger(values['lan-interval'], '--lan-interval', 1, 300),
    localRelayPort: (values['no-local-relay'] ?? false) ? null : (optionalInteger(values['local-relay-port'], '--local-relay-port', 0, 65535) ?? LOCAL_RELAY_PORT),
    logLevel,
    logFile: values['log-file'] ?? null,
    help: values.help ?? false,
  };
}
