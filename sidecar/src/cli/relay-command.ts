/**
 * `pkarr-sidecar relay`: a pkarr HTTP relay (v7 API) with a persistent cache, rate limits and
 * DNS-over-HTTPS, on its own Mainline DHT node (see relay/relay-server.ts).
 *
 * stdout gets exactly one line when the relay is ready: `pkarr relay listening on <url>` (plus
 * ` testnet=<bootstrap list>` with --testnet). Operational messages go to stderr. SIGINT/SIGTERM
 * stop it gracefully: stop accepting, finish in-flight requests (≤ 5 s), stop background work,
 * close the store, leave the DHT. Errors are one line on stderr; exit 2 for bad arguments, 1 else.
 */
import { join } from 'node:path';
import { DEFAULT_BOOTSTRAP, DhtClient } from '../dht/dht-client.ts';
import { Testnet } from '../dht/testnet.ts';
import type { Dht } from '../dht/types.ts';
import { UsageError, checkBootstrap, optionalInteger, parseFlags } from '../util/cli-flags.ts';
import { userDataHome } from '../util/data-dir.ts';
import { parseRateLimit } from '../util/rate-limiter.ts';
import { waitForStopSignal } from '../util/stop-signals.ts';
import {
  DEFAULT_CACHE_SIZE, DEFAULT_DHT_RATE_LIMIT, DEFAULT_RATE_LIMIT, DEFAULT_RELAY_PORT, startRelay, type RunningRelay,
} from '../relay/relay-server.ts';

export const RELAY_USAGE = `usage: pkarr-sidecar relay [options]
  --host ADDR             HTTP listen address (default 127.0.0.1; 0.0.0.0 for all interfaces)
  --port N                HTTP port (default ${DEFAULT_RELAY_PORT}; 0 = any free port)
  --data-dir DIR          persistent cache directory (default ${defaultDataDir()})
  --bootstrap HOST:PORT   DHT bootstrap node, repeatable (default: the public Mainline routers)
  --testnet N             run a local N-node DHT on 127.0.0.1 instead of joining the Mainline DHT
  --dht-port N            UDP port of the relay's DHT node (default 0 = random)
  --cache-size N          packets kept in the cache (default ${DEFAULT_CACHE_SIZE}; 0 disables it)
  --rate LIMIT            per-IP quota of all requests (default ${DEFAULT_RATE_LIMIT}; off disables)
  --dht-rate LIMIT        per-IP quota of requests reaching the DHT (default ${DEFAULT_DHT_RATE_LIMIT})
                          LIMIT is <n>r/<s|m|h|d>[,burst=<b>], e.g. 2r/s,burst=10 or 30r/m, or off
  --behind-proxy          rate-limit by X-Forwarded-For / X-Real-IP (only behind a trusted proxy)
  --republish-popular     re-put popular records to the DHT before they expire
  --doh-upstream URL      forward non-pkarr DNS-over-HTTPS queries to this RFC 8484 URL
  -h, --help              show this help`;

/** `<user data dir>/pkarr-sidecar/relay` (util/data-dir.ts: `$XDG_DATA_HOME`, `%APPDATA%`, …). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  return join(userDataHome(env, platform), 'pkarr-sidecar', 'relay');
}

function checkUrl(text: string | undefined): string | null {
  if (text === undefined) return null;
  const url = URL.parse(text);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`--doh-upstream must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
  return url.toString();
}

function parse(args: string[]) {
  const { values } = parseFlags({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      testnet: { type: 'string' },
      'dht-port': { type: 'string' },
      'cache-size': { type: 'string' },
      rate: { type: 'string' },
      'dht-rate': { type: 'string' },
      'behind-proxy': { type: 'boolean' },
      'republish-popular': { type: 'boolean' },
      'doh-upstream': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const bootstrap = (values.bootstrap ?? []).flatMap((b) => b.split(',')).map((b) => b.trim()).filter((b) => b !== '');
  const testnet = optionalInteger(values.testnet, '--testnet', 1, 1000);
  if (testnet !== null && bootstrap.length > 0) throw new UsageError('--testnet and --bootstrap cannot be combined');
  checkBootstrap(bootstrap);
  const rate = values.rate ?? DEFAULT_RATE_LIMIT;
  const dhtRate = values['dht-rate'] ?? DEFAULT_DHT_RATE_LIMIT;
  parseRateLimit(rate);
  parseRateLimit(dhtRate);
  return {
    help: values.help ?? false,
    host: values.host ?? '127.0.0.1',
    port: optionalInteger(values.port, '--port', 0, 65535) ?? DEFAULT_RELAY_PORT,
    dataDir: values['data-dir'] ?? defaultDataDir(),
    bootstrap: bootstrap.length > 0 ? bootstrap : [...DEFAULT_BOOTSTRAP],
    testnet,
    dhtPort: optionalInteger(values['dht-port'], '--dht-port', 0, 65535) ?? 0,
    cacheSize: optionalInteger(values['cache-size'], '--cache-size', 0, 1_000_000_000) ?? DEFAULT_CACHE_SIZE,
    rate,
    dhtRate,
    behindProxy: values['behind-proxy'] ?? false,
    republishPopular: values['republish-popular'] ?? false,
    dohUpstream: checkUrl(values['doh-upstream']),
  };
}

/** Runs the relay until SIGINT/SIGTERM; resolves with the exit code. */
export async function run(args: string[]): Promise<number> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(args);
  } catch (err) {
    process.stderr.write(`pkarr-sidecar relay: ${(err as Error).message}\n${RELAY_USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${RELAY_USAGE}\n`);
    return 0;
  }
  const { stopped, dispose } = waitForStopSignal();
  let testnet: Testnet | null = null;
  let dht: Dht | null = null;
  let relay: RunningRelay | null = null;
  try {
    if (options.testnet !== null) testnet = await Testnet.create(options.testnet);
    dht = await DhtClient.start({
      bootstrap: testnet?.bootstrap ?? options.bootstrap,
      host: testnet !== null ? '127.0.0.1' : '0.0.0.0',
      port: options.dhtPort,
    });
    if (dht.nodeCount === 0) process.stderr.write('pkarr-sidecar relay: warning: no DHT node answered the bootstrap; will keep trying\n');
    relay = await startRelay({
      host: options.host,
      port: options.port,
      dataDir: options.dataDir,
      dht,
      cacheSize: options.cacheSize,
      rateLimit: options.rate,
      dhtRateLimit: options.dhtRate,
      behindProxy: options.behindProxy,
      republishPopular: options.republishPopular,
      dohUpstream: options.dohUpstream,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const extra = testnet !== null ? ` testnet=${testnet.bootstrap.join(',')}` : '';
    process.stdout.write(`pkarr relay listening on ${relay.url}${extra}\n`);
    await stopped;
    return 0;
  } catch (err) {
    process.stderr.write(`pkarr-sidecar relay: ${(err as Error).message.split('\n')[0]}\n`);
    return 1;
  } finally {
    dispose();
    await relay?.close().catch(() => {});
    await dht?.destroy().catch(() => {});
    await testnet?.destroy().catch(() => {});
  }
}
