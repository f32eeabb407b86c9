#!/usr/bin/env node
// Entry for `npx pkarr-sidecar` after `npm run build`.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`pkarr-sidecar: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
