/**
 * Where a per-user data directory lives by default, one rule for every command: `%APPDATA%` on
 * Windows (else `~\AppData\Roaming`), `~/Library/Application Support` on macOS, and elsewhere
 * `$XDG_DATA_HOME` when it is an absolute path (the XDG spec ignores relative ones), else
 * `~/.local/share`. `serve` keeps its keys in `<that>/pkarr-godot` (docs/rpc.md), `relay` its
 * cache in `<that>/pkarr-sidecar/relay`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The platform's per-user data directory (see the module doc). */
export function userDataHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support');
  const xdg = env['XDG_DATA_HOME'];
  return xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share');
}
