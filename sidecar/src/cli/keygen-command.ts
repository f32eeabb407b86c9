/**
 * `pkarr-sidecar keygen [--out FILE] [--force]`: a new Ed25519 key.
 *
 * With --out the 64-hex seed is written to FILE with mode 0600, atomically (temp file, fsync,
 * rename/link), refusing to replace an existing file without --force; stdout gets the public key
 * (z32). Without --out the seed goes to stdout (e.g. to pipe it somewhere) and the public key to
 * stderr.
 */
import { isPkarrError } from '../core/errors.ts';
import { Keypair } from '../core/keys.ts';
import { writeFileAtomic } from '../keystore/atomic-file.ts';
import { EXIT_FAILURE, EXIT_OK, reportError } from './cli-support.ts';
import { UsageError, parseCommandArgs, stringValue } from '../util/cli-flags.ts';

export const KEYGEN_USAGE = `usage: pkarr-sidecar keygen [--out FILE] [--force]
  Generates an Ed25519 key. The secret is the 64-hex seed (the pkarr key-file form).
  --out FILE   write the seed to FILE (mode 0600, atomic) and print the public key (z32)
  --force      replace FILE if it exists
  --json       print {"publicKey", "file"} instead of the bare key
Without --out the seed is printed on stdout and the public key on stderr.`;

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
    if (values.help === true) {
      process.stdout.write(`${KEYGEN_USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const out = stringValue(values, 'out');
    if (out === '') throw new UsageError('--out needs a file name');
    if (values.force === true && out === undefined) throw new UsageError('--force only makes sense with --out');
    const keypair = Keypair.generate();
    const z32 = keypair.publicKey.z32;
    if (out === undefined) {
      process.stdout.write(`${keypair.toSecretKeyHex()}\n`);
      process.stderr.write(`public key: ${z32}\n`);
      return EXIT_OK;
    }
    try {
      await writeFileAtomic(out, `${keypair.toSecretKeyHex()}\n`, { mode: 0o600, exclusive: values.force !== true });
    } catch (err) {
      if (isPkarrError(err) && err.details?.errno === 'EEXIST') {
        process.stderr.write(`pkarr-sidecar keygen: ${out} already exists (use --force to replace it)\n`);
        return EXIT_FAILURE;
      }
      throw err;
    }
    process.stdout.write(values.json === true ? `${JSON.stringify({ publicKey: z32, file: out })}\n` : `${z32}\n`);
    return EXIT_OK;
  } catch (err) {
    return reportError('keygen', err);
  }
}
