import { describe, expect, it } from 'vitest';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { userDataHome } from '../sidecar/src/util/data-dir.ts';
import { defaultDataDir as relayDataDir } from '../sidecar/src/cli/relay-command.ts';
import { defaultDataDir as serveDataDir } from '../sidecar/src/serve/serve-options.ts';

describe('the default data directory (util/data-dir.ts), one rule for serve and relay', () => {
  it('Linux and other Unixes: $XDG_DATA_HOME when absolute, else ~/.local/share', () => {
    expect(userDataHome({ XDG_DATA_HOME: '/xdg' }, 'linux')).toBe('/xdg');
    expect(userDataHome({ XDG_DATA_HOME: 'relative/xdg' }, 'linux')).toBe(join(homedir(), '.local', 'share'));
    expect(userDataHome({ XDG_DATA_HOME: '' }, 'freebsd')).toBe(join(homedir(), '.local', 'share'));
    expect(userDataHome({}, 'linux')).toBe(join(homedir(), '.local', 'share'));
  });

  it('Windows: %APPDATA% (roaming, not LOCALAPPDATA), else ~/AppData/Roaming', () => {
    expect(userDataHome({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming', LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local', XDG_DATA_HOME: '/xdg' }, 'win32'))
      .toBe('C:\\Users\\u\\AppData\\Roaming');
    expect(userDataHome({}, 'win32')).toBe(join(homedir(), 'AppData', 'Roaming'));
  });

  it('macOS: ~/Library/Application Support, whatever XDG_DATA_HOME says', () => {
    expect(userDataHome({ XDG_DATA_HOME: '/xdg' }, 'darwin')).toBe(join(homedir(), 'Library', 'Application Support'));
  });

  it('serve and relay name their folders under the same base', () => {
    for (const [env, platform] of [[{ XDG_DATA_HOME: '/xdg' }, 'linux'], [{ APPDATA: 'C:\\A' }, 'win32'], [{}, 'darwin']] as const) {
      expect(serveDataDir(env, platform)).toBe(join(userDataHome(env, platform), 'pkarr-godot'));
      expect(relayDataDir(env, platform)).toBe(join(userDataHome(env, platform), 'pkarr-sidecar', 'relay'));
    }
  });
});
