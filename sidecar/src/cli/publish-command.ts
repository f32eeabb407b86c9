/**
 * `pkarr-sidecar publish --key FILE RECORD…`: signs the records with the key file's secret and
 * publishes them to the DHT and the relays, following the recommended update flow (a NetworkOnly
 * resolve first, so the new timestamp is above anything already published).
 *
 * Each RECORD is one argument in the text form of core/record-text.ts, e.g. 'A @ 1.2.3.4 300'.
 * The packet replaces every record of the key: list them all.
 */
import { readFile } from 'node:fs/promises';
import { PkarrError, isPkarrError } from '../core/errors.ts';
import { Keypair } from '../core/keys.ts';
import type { DnsRecord } from '../core/records.ts';
import { parseRecordText } from '../core/record-text.ts';
import { SignedPacket } from '../core/signed-packet.ts';
import { nowMicros } from '../core/timestamp.ts';
import type { PublishResult } from '../client/types.ts';
import { EXIT_OK, reportError } from './cli-support.ts';
import { UsageError, parseCommandArgs, stringValue } from '../util/cli-flags.ts';
import { toJson } from '../util/json.ts';
import { NETWORK_OPTIONS, NETWORK_USAGE, networkSettings, openNetwork, type Network } from './network-options.ts';

export const PUBLISH_USAGE = `usage: pkarr-sidecar publish --key FILE [options] RECORD...
  Publishes RECORDs (all the records of the key: a packet replaces the previous one).
  RECORD is one argument: TYPE NAME RDATA... TTL, e.g.
    'A @ 1.2.3.4 300'   'TXT _lobby "v=1 game=demo" 60'   'SVCB _enet 1 . port=7777 300'
  --key FILE   the secret key file (64 hex characters, see keygen)
  --json       machine-readable output (64-bit values as strings)
${NETWORK_USAGE}`;

const OPTIONS = {
  key: { type: 'string', short: 'k' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...NETWORK_OPTIONS,
} as const;

/** Reads the key file: I/O problems are runtime errors, bad content a usage error. */
async function readKeyFile(path: string): Promise<Keypair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new PkarrError('IO_ERROR', `cannot read key file ${path}: ${code}`);
  }
  try {
    return Keypair.fromSecretKeyHex(text);
  } catch {
    // Never echo the content: it is (part of) a secret.
    throw new UsageError(`key file ${path} does not hold a secret key (expected 64 hex characters)`);
  }
}

function parseRecords(texts: readonly string[]): DnsRecord[] {
  return texts.map((text, i) => {
    try {
      return parseRecordText(text);
    } catch (err) {
      throw new UsageError(`record ${i + 1} (${JSON.stringify(text)}): ${(err as Error).message}`);
    }
  });
}

function describeResult(z32: string, packet: SignedPacket, result: PublishResult): string {
  const lines = [`published pk:${z32} at timestamp ${packet.timestamp} (${packet.records.length} records, ${packet.size} bytes)`];
  lines.push(`stored on ${result.storedOn} nodes`);
  if (result.dht !== null) lines.push(`  dht: ${result.dht.ok ? `stored on ${result.dht.storedOn ?? 0} nodes` : `failed: ${result.dht.error ?? result.dht.code}`}`);
  for (const relay of result.relays) {
    lines.push(`  relay ${relay.url}: ${relay.ok ? `stored on ${relay.storedOn ?? 0} nodes` : `failed: ${relay.error ?? relay.code}`}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  let network: Network | null = null;
  try {
    const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
    if (values.help === true) {
      process.stdout.write(`${PUBLISH_USAGE}\n`);
      return EXIT_OK;
    }
    const keyFile = stringValue(values, 'key');
    if (keyFile === undefined || keyFile === '') throw new UsageError('--key FILE is required');
    if (positionals.length === 0) throw new UsageError('give at least one RECORD, e.g. \'A @ 1.2.3.4 300\'');
    const records = parseRecords(positionals);
    const settings = networkSettings(values);
    const keypair = await readKeyFile(keyFile);
    // Encode once before touching the network, so bad names or an oversized packet are usage errors.
    try {
      SignedPacket.sign(keypair, records, { timestamp: nowMicros() });
    } catch (err) {
      throw new UsageError(isPkarrError(err) ? err.message : String(err));
    }
    network = await openNetwork(settings, (line) => process.stderr.write(`pkarr-sidecar publish: ${line}\n`));
    const { packet, result } = await network.client.publishRecords(keypair, records);
    const z32 = keypair.publicKey.z32;
    process.stdout.write(values.json === true
      ? `${toJson({ publicKey: z32, timestamp: packet.timestamp, size: packet.size, records: packet.records.length, ...result }, { bytes: 'hex' })}\n`
      : describeResult(z32, packet, result));
    await network.linger();
    return EXIT_OK;
  } catch (err) {
    return reportError('publish', err);
  } finally {
    await network?.close();
  }
}
