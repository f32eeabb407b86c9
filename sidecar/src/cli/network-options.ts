/**
 * The network flags shared by `publish` and `resolve`, and the Client they build.
 *
 *   --relay URL            use this relay (repeatable; replaces the default relays)
 *   --no-relay             no relays at all (DHT only)
 *   --bootstrap HOST:PORT  DHT bootstrap node (repeatable; default: the public Mainline routers)
 *   --no-dht               relays only
 *   --testnet N            start a local N-node DHT in this process and use it (implies --no-relay
 *                          unless --relay is given; the public relays cannot see a local DHT)
 *   --timeout MS           per-request timeout of relays and DHT queries (default 2000)
 *   --no-exit              after the command, keep running (our DHT node, and the --testnet) until
 *                          Ctrl-C/SIGTERM, so other processes can use it
 *
 * Defaults for users: the public Mainline DHT plus the reference's default relays.
 */
import { Client, DEFAULT_RELAYS } from '../client/client.ts';
import { isLoopbackHostPort } from '../core/loopback-guard.ts';
import { DhtClient } from '../dht/dht-client.ts';
import { Testnet } from '../dht/testnet.ts';
import { normalizeRelayUrl } from '../client/relay-client.ts';
import { UsageError, checkBootstrap, checkEachValue, integerValue, stringList, stringValue, type ParsedValues } from '../util/cli-flags.ts';
import { waitForStopSignal } from '../util/stop-signals.ts';

export const NETWORK_OPTIONS = {
  relay: { type: 'string', multiple: true },
  'no-relay': { type: 'boolean' },
  bootstrap: { type: 'string', multiple: true },
  'no-dht': { type: 'boolean' },
  testnet: { type: 'string' },
  timeout: { type: 'string' },
  'no-exit': { type: 'boolean' },
} as const;

export const NETWORK_USAGE = `network options:
  --relay URL            use this relay (repeatable; replaces the default relays ${DEFAULT_RELAYS.join(', ')})
  --no-relay             use no relay (DHT only)
  --bootstrap HOST:PORT  DHT bootstrap node (repeatable; default: the public Mainline routers)
  --no-dht               do not use the DHT (relays only)
  --testnet N            start a local N-node DHT in this process and use it (no relays unless --relay)
  --timeout MS           per-request timeout for relays and DHT queries (default 2000)
  --no-exit              keep running after the command (DHT node, --testnet) until Ctrl-C`;

export interface NetworkSettings {
  relays: string[];
  /** null: no DHT. Empty array: the DHT client's public defaults. */
  bootstrap: string[] | null;
  testnet: number | null;
  timeoutMs: number | undefined;
  noExit: boolean;
}

/** Validates the network flags (UsageError on contradictions or bad values). */
export function networkSettings(values: ParsedValues): NetworkSettings {
  const relays = stringList(values, 'relay');
  const bootstrap = stringList(values, 'bootstrap');
  const noDht = values['no-dht'] === true;
  const noRelay = values['no-relay'] === true;
  const testnetText = stringValue(values, 'testnet');
  const timeoutText = stringValue(values, 'timeout');
  const testnet = testnetText === undefined ? null : integerValue(testnetText, '--testnet', 1, 1000);
  const timeoutMs = timeoutText === undefined ? undefined : integerValue(timeoutText, '--timeout', 10, 600_000);
  if (noRelay && relays.length > 0) throw new UsageError('--no-relay contradicts --relay');
  if (noDht && (bootstrap.length > 0 || testnet !== null)) throw new UsageError('--no-dht contradicts --bootstrap/--testnet');
  if (testnet !== null && bootstrap.length > 0) throw new UsageError('--testnet and --bootstrap cannot be combined');
  checkBootstrap(bootstrap);
  checkEachValue('--relay', relays, normalizeRelayUrl);
  const useDefaultRelays = relays.length === 0 && !noRelay && testnet === null;
  const finalRelays = useDefaultRelays ? [...DEFAULT_RELAYS] : relays;
  if (noDht && finalRelays.length === 0) throw new UsageError('--no-dht with --no-relay leaves nothing to talk to');
  return { relays: finalRelays, bootstrap: noDht ? null : bootstrap, testnet, timeoutMs, noExit: values['no-exit'] === true };
}

/** A Client with the resources behind it; `close()` releases everything. */
export interface Network {
  client: Client;
  dht: DhtClient | null;
  testnet: Testnet | null;
  /** With --no-exit: waits for Ctrl-C/SIGTERM (returns at once otherwise). */
  linger(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the testnet and DHT node as configured and builds the Client. */
export async function openNetwork(settings: NetworkSettings, log: (line: string) => void): Promise<Network> {
  let testnet: Testnet | null = null;
  let dht: DhtClient | null = null;
  const release = async (): Promise<void> => {
    await dht?.destroy().catch(() => undefined);
    await testnet?.destroy().catch(() => undefined);
  };
  try {
    if (settings.testnet !== null) {
      testnet = await Testnet.create(settings.testnet);
      log(`testnet of ${settings.testnet} nodes; bootstrap ${testnet.bootstrap.join(' ')}`);
    }
    if (settings.bootstrap !== null) {
      const bootstrap = testnet !== null ? testnet.bootstrap : settings.bootstrap;
      // A purely local bootstrap list means a local network: keep our node on loopback too.
      const local = bootstrap.length > 0 && bootstrap.every(isLoopbackHostPort);
      dht = await DhtClient.start({
        ...(bootstrap.length > 0 ? { bootstrap } : {}),
        host: local ? '127.0.0.1' : '0.0.0.0',
        ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
      });
      if (dht.nodeCount === 0) log('warning: no DHT node answered the bootstrap');
    }
    const client = new Client({
      dht,
      relays: settings.relays,
      ...(settings.timeoutMs === undefined ? {} : { requestTimeoutMs: settings.timeoutMs }),
    });
    const openDht = dht;
    const openTestnet = testnet;
    return {
      client,
      dht: openDht,
      testnet: openTestnet,
      async linger() {
        if (!settings.noExit) return;
        const { stopped } = waitForStopSignal();
        const where = openDht === null ? '' : ` (DHT node on UDP ${openDht.address().host}:${openDht.address().port})`;
        log(`running${where}; Ctrl-C to stop`);
        await stopped;
      },
      async close() {
        await client.close();
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}
