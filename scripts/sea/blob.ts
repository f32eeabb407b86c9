/**
 * Writes the SEA preparation blob: `sea-config.json`, then `<generator> --experimental-sea-config`.
 * The generator must be exactly the Node version of the target binary; code cache is only valid
 * when the blob is generated on the target's own platform (nodejs/node PR #53994), and the
 * startup snapshot is not used.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The sea-config.json fields used here. */
export interface SeaConfig {
  main: string;
  output: string;
  disableExperimentalSEAWarning: true;
  useSnapshot: false;
  useCodeCache: boolean;
}

/** The config for a bundle `main` written to `output`; `sameHost` enables the code cache. */
export function seaConfig(main: string, output: string, sameHost: boolean): SeaConfig {
  return { main, output, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: sameHost };
}

/**
 * Writes `sea-config.json` into `workDir` and runs `generator --experimental-sea-config` there.
 * Resolves with the blob path. Throws with the generator's stderr when it fails.
 */
export async function generateBlob(generator: string, workDir: string, bundle: string, sameHost: boolean): Promise<string> {
  const output = join(workDir, 'sea-prep.blob');
  const configPath = join(workDir, 'sea-config.json');
  await writeFile(configPath, `${JSON.stringify(seaConfig(bundle, output, sameHost), null, 2)}\n`);
  const result = spawnSync(generator, ['--experimental-sea-config', configPath], {
    cwd: workDir,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (result.status !== 0) {
    throw new Error(`${generator} --experimental-sea-config failed (exit ${result.status ?? result.signal}): ${result.stderr || result.error?.message || ''}`.trim());
  }
  return output;
}
