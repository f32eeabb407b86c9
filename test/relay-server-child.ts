/**
 * Child process for the crash test: a relay with an in-memory DHT and a persistent store in
 * argv[2]; prints its URL on stdout and runs until killed.
 */
import { startRelay } from '../sidecar/src/relay/relay-server.ts';
import { FakeDht } from './relay-server-helpers.ts';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: relay-server-child.ts DATA_DIR');
const relay = await startRelay({ port: 0, dht: new FakeDht(), dataDir, rateLimit: null, dhtRateLimit: null, log: () => {} });
process.stdout.write(`${relay.url}\n`);
