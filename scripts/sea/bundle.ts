/**
 * Bundles the sidecar into one CommonJS file for a single executable: inside the SEA, `require`
 * loads only Node's built-ins, so every dependency must be in the bundle (Node's "Single
 * executable applications" docs; docs/packaging.md).
 */
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

/** Modules allowed to stay outside the bundle (loaded optionally; the SEA falls back). */
export const OPTIONAL_EXTERNALS: readonly string[] = ['sodium-native'];

/** What {@link bundleSidecar} produced. */
export interface BundleResult {
  outfile: string;
  bytes: number;
}

/**
 * Bundles `entry` (sidecar/src/sea-entry.ts) into `outfile`: CJS, platform node, target node24,
 * minified. Defines:
 * - `__PKARR_VERSION__`: the version `--version` prints (main.ts reads package.json otherwise);
 * - `import.meta.url` → `undefined` and `import.meta.main` → `false`: there is no module URL in a
 *   CJS bundle; ed25519.ts's `createRequire(import.meta.url)` then throws inside its try, so
 *   sodium-native is never looked for and node:crypto signs;
 * - `process.env.WS_NO_BUFFER_UTIL` / `WS_NO_UTF_8_VALIDATE`: removes ws's optional native
 *   requires.
 * Fails when the bundle would still require a non-built-in module other than
 * {@link OPTIONAL_EXTERNALS}.
 */
export async function bundleSidecar(entry: string, outfile: string, version: string): Promise<BundleResult> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    external: [...OPTIONAL_EXTERNALS],
    define: {
      __PKARR_VERSION__: JSON.stringify(version),
      'import.meta.url': 'undefined',
      'import.meta.main': 'false',
      'process.env.WS_NO_BUFFER_UTIL': '"1"',
      'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
    },
    metafile: true,
    logLevel: 'silent',
  });
  for (const warning of result.warnings) process.stderr.write(`esbuild warning: ${warning.text}\n`);
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const outputs = Object.values(result.metafile.outputs);
  const externals = outputs.flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  const stray = externals.filter((p) => !builtins.has(p) && !OPTIONAL_EXTERNALS.includes(p));
  if (stray.length > 0) throw new Error(`the bundle still requires non-built-in modules: ${[...new Set(stray)].join(', ')}`);
  const bytes = outputs.reduce((sum, o) => sum + o.bytes, 0);
  return { outfile, bytes };
}
