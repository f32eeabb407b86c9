/**
 * `pkarr-sidecar resolve KEY [--policy P] [--json]`: looks up a key's packet and prints its records.
 *
 * Human output: two `;` comment lines (key; timestamp, age, source), then one record per line in
 * the text form `publish` accepts, with names relative to the key. `--json`: one JSON object with
 * 64-bit values as decimal strings and bytes as hex. Nothing found → exit 1.
 */
import { parseResolvePolicy } from '../client/client.ts';
import type { ResolveResult } from '../client/types.ts';
import { PublicKey } from '../core/keys.ts';
import { formatRecordText } from '../core/record-text.ts';
import { nowMicros } from '../core/timestamp.ts';
import { EXIT_FAILURE, EXIT_OK, reportError } from './cli-support.ts';
import { UsageError, parseCommandArgs, stringValue } from '../util/cli-flags.ts';
import { toJson } from '../util/json.ts';
import { NETWORK_OPTIONS, NETWORK_USAGE, networkSettings, openNetwork, type Network } from './network-options.ts';

export const RESOLVE_USAGE = `usage: pkarr-sidecar resolve KEY [options]
  Resolves KEY (z32, pk:<z32>, or a URL/hostname ending in the key) and prints its records.
  --policy P   CacheFirst (default), NetworkOnly (wait for every relay and a full DHT lookup:
               the most recent packet), or CacheOnly (only relays' caches; never the DHT)
  --json       machine-readable output (64-bit values as strings, bytes as hex)
${NETWORK_USAGE}`;

const OPTIONS = {
  policy: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...NETWORK_OPTIONS,
} as const;

function seconds(micros: bigint): number {
  return micros <= 0n ? 0 : Number(micros / 1_000_000n);
}

function humanOutput(key: PublicKey, found: ResolveResult): string {
  const { packet } = found;
  const now = nowMicros();
  const from = found.source === 'relay' ? `relay ${found.relay ?? ''}` : found.source;
  const when = new Date(Number(packet.timestamp / 1000n)).toISOString();
  const lines = [
    `; pk:${key.z32}`,
    `; timestamp ${packet.timestamp} (${when}), age ${seconds(now - packet.timestamp)} s, last seen ${seconds(now - packet.lastSeen)} s ago, from ${from}`,
    ...packet.records.map((record) => formatRecordText(record, key.z32)),
  ];
  return `${lines.join('\n')}\n`;
}

function jsonOutput(key: PublicKey, found: ResolveResult): string {
  const { packet } = found;
  const now = nowMicros();
  return `${toJson({
    publicKey: key.z32,
    timestamp: packet.timestamp,
    lastSeen: packet.lastSeen,
    ageSeconds: seconds(now - packet.timestamp),
    source: found.source,
    ...(found.relay === undefined ? {} : { relay: found.relay }),
    size: packet.size,
    records: packet.records.map((record) => ({ text: formatRecordText(record, key.z32), ...record })),
  }, { bytes: 'hex' })}\n`;
}

export async function run(args: string[]): Promise<number> {
  let network: Network | null = null;
  try {
    const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
    if (values.help === true) {
      process.stdout.write(`${RESOLVE_USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'KEY is required' : `expected one KEY, got ${positionals.length} arguments`);
    const keyText = positionals[0] ?? '';
    const key = PublicKey.tryParse(keyText);
    if (key === null) {
      let reason = 'not a public key';
      try { PublicKey.parse(keyText); } catch (err) { reason = (err as Error).message; }
      throw new UsageError(`invalid KEY ${JSON.stringify(keyText)}: ${reason}`);
    }
    const policyText = stringValue(values, 'policy') ?? 'CacheFirst';
    let policy;
    try {
      policy = parseResolvePolicy(policyText);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    network = await openNetwork(networkSettings(values), (line) => process.stderr.write(`pkarr-sidecar resolve: ${line}\n`));
    const found = await network.client.resolve(key, policy);
    if (found === null) {
      process.stderr.write(`pkarr-sidecar resolve: no packet found for pk:${key.z32} [NOT_FOUND]\n`);
      await network.linger();
      return EXIT_FAILURE;
    }
    process.stdout.write(values.json === true ? jsonOutput(key, found) : humanOutput(key, found));
    await network.linger();
    return EXIT_OK;
  } catch (err) {
    return reportError('resolve', err);
  } finally {
    await network?.close();
  }
}
