/**
 * `pkarr-sidecar dns`: a plain DNS server (UDP and TCP) for applications that know nothing of
 * pkarr. Names under a pkarr key are answered from verified packets (the network options choose
 * DHT and relays, as for `resolve`); other names are forwarded to an upstream resolver and cached,
 * or REFUSED with --no-forward. See docs/dns.md and sidecar/src/dns/.
 *
 * stdout gets exactly one line when the server is ready: `pkarr dns listening on <host>:<port>
 * (udp+tcp) forward=<upstream|off>` (plus ` testnet=<bootstrap list>` with --testnet). Operational messages go to stderr. SIGINT/SIGTERM stop it.
 */
import { isIP } from 'node:net';
import { ClientPacketSource } from '../dns/client-source.ts';
import { DEFAULT_DNS_DHT_RATE_LIMIT, DEFAULT_DNS_PORT, DEFAULT_DNS_RATE_LIMIT, startDnsServer, type RunningDnsServer } from '../dns/dns-server.ts';
import { Forwarder } from '../dns/forwarder.ts';
import { DEFAULT_PKARR_TLDS } from '../dns/pkarr-name.ts';
import { parseRateLimit } from '../util/rate-limiter.ts';
import { EXIT_OK, reportError } from './cli-support.ts';
import { UsageError, parseCommandArgs, stringList, stringValue } from '../util/cli-flags.ts';
import { waitForStopSignal } from '../util/stop-signals.ts';
import { NETWORK_OPTIONS, NETWORK_USAGE, networkSettings, openNetwork, type Network } from './network-options.ts';

export const DEFAULT_FORWARD = '1.1.1.1:53';

export const DNS_USAGE = `usage: pkarr-sidecar dns [options]
  Serves DNS (UDP and TCP) for names under pkarr keys (<z32>, _lobby.<z32>, <z32>.key), answered
  from verified signed packets; other names go to an upstream resolver.
  --listen HOST:PORT     address to serve on (default 127.0.0.1:${DEFAULT_DNS_PORT}; port 0 = any free port)
  --forward HOST:PORT    upstream resolver for other names (default ${DEFAULT_FORWARD}), answers cached
  --no-forward           answer other names REFUSED
  --tld NAME             pseudo-TLD accepted after a key, repeatable (default: ${DEFAULT_PKARR_TLDS.join(', ')})
  --rate LIMIT           per-IP query quota (default ${DEFAULT_DNS_RATE_LIMIT}; off disables)
  --dht-rate LIMIT       per-IP quota of questions that need a DHT/relay lookup (default ${DEFAULT_DNS_DHT_RATE_LIMIT})
                         LIMIT is <n>r/<s|m|h|d>[,burst=<b>], e.g. 2r/s,burst=10, or off
  -h, --help             show this help
${NETWORK_USAGE.split('\n').filter((line) => !line.includes('--no-exit')).join('\n')}`;

const { 'no-exit': _noExit, ...NETWORK_FLAGS } = NETWORK_OPTIONS;

const OPTIONS = {
  listen: { type: 'string' },
  forward: { type: 'string' },
  'no-forward': { type: 'boolean' },
  tld: { type: 'string', multiple: true },
  rate: { type: 'string' },
  'dht-rate': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...NETWORK_FLAGS,
} as const;

/** Parses `HOST:PORT` or `[V6]:PORT`; HOST must be an IP address. */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (m === null || host === undefined || isIP(host) === 0 || port > 65535) {
    throw new UsageError(`${flag} must be IP:PORT (IPv6 as [addr]:PORT), got ${JSON.stringify(text)}`);
  }
  return { host, port };
}

function limitText(text: string | undefined, fallback: string, flag: string): string {
  const value = text ?? fallback;
  try {
    parseRateLimit(value);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
  return value;
}

export async function run(args: string[]): Promise<number> {
  let network: Network | null = null;
  let server: RunningDnsServer | null = null;
  const stop = waitForStopSignal();
  try {
    const { values, positionals } = parseCommandArgs(args, OPTIONS, false);
    if (values.help === true) {
      process.stdout.write(`${DNS_USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const listen = parseHostPort(stringValue(values, 'listen') ?? `127.0.0.1:${DEFAULT_DNS_PORT}`, '--listen');
    const forwardText = stringValue(values, 'forward');
    if (forwardText !== undefined && values['no-forward'] === true) throw new UsageError('--forward contradicts --no-forward');
    const upstream = values['no-forward'] === true ? null : parseHostPort(forwardText ?? DEFAULT_FORWARD, '--forward');
    const tlds = stringList(values, 'tld').map((t) => t.toLowerCase().replace(/^\./, ''));
    for (const tld of tlds) if (!/^[a-z0-9-]{1,63}$/.test(tld)) throw new UsageError(`--tld must be one DNS label, got ${JSON.stringify(tld)}`);
    const rate = limitText(stringValue(values, 'rate'), DEFAULT_DNS_RATE_LIMIT, '--rate');
    const dhtRate = limitText(stringValue(values, 'dht-rate'), DEFAULT_DNS_DHT_RATE_LIMIT, '--dht-rate');
    const settings = networkSettings(values);
    const log = (line: string): void => { process.stderr.write(`pkarr-sidecar dns: ${line}\n`); };
    network = await openNetwork(settings, log);
    const source = new ClientPacketSource(network.client);
    const forwarder = upstream === null ? null : new Forwarder({ ...upstream, log, maxTtl: network.client.cache.maxTtl });
    server = await startDnsServer({
      host: listen.host,
      port: listen.port,
      lookup: (key, chargeDht) => source.lookup(key, chargeDht),
      forwarder,
      rateLimit: rate,
      dhtRateLimit: dhtRate,
      ...(tlds.length > 0 ? { tlds } : {}),
      minTtl: network.client.cache.minTtl,
      maxTtl: network.client.cache.maxTtl,
      log,
    });
    const shown = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    const forward = upstream === null ? 'off' : `${upstream.host.includes(':') ? `[${upstream.host}]` : upstream.host}:${upstream.port}`;
    const testnet = network.testnet !== null ? ` testnet=${network.testnet.bootstrap.join(',')}` : '';
    process.stdout.write(`pkarr dns listening on ${shown}:${server.port} (udp+tcp) forward=${forward}${testnet}\n`);
    await stop.stopped;
    return EXIT_OK;
  } catch (err) {
    return reportError('dns', err);
  } finally {
    stop.dispose();
    await server?.close().catch(() => undefined);
    await network?.close().catch(() => undefined);
  }
}
