/**
 * An assembled sidecar in this process (serve/sidecar.ts, as `pkarr-sidecar serve` builds it) on a
 * fresh data dir, silent, stopped and its data dir removed by the caller's cleanup list.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServeOptions } from '../sidecar/src/serve/serve-options.ts';
import { Sidecar } from '../sidecar/src/serve/sidecar.ts';
import { silentLogger } from '../sidecar/src/util/log.ts';

export async function startInProcessSidecar(args: string[], token: string, cleanups: (() => Promise<void>)[]): Promise<Sidecar> {
  const dir = await mkdtemp(join(tmpdir(), 'pkarr-sidecar-'));
  const sidecar = await Sidecar.start(parseServeOptions(['--data-dir', dir, ...args]), {
    token, version: '0.1.0', log: silentLogger, onShutdownRequested: () => undefined,
  });
  cleanups.push(async () => { await sidecar.stop(); await rm(dir, { recursive: true, force: true }); });
  return sidecar;
}
