/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) one after the
 * other. Each prints its own figures as ratios against a baseline measured in the same run.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  try {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') throw new Error('no exported run()');
    await mod.run();
  } catch (err) {
    failed++;
    console.error(`${file} failed: ${err instanceof Error ? err.stack : String(err)}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
