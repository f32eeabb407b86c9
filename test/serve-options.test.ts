import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { defaultDataDir, parseServeOptions } from '../sidecar/src/serve/serve-options.ts';
import { DEFAULT_RELAYS } from '../sidecar/src/client/client.ts';

describe('serve options', () => {
  it('has the documented defaults', () => {
    const o = parseServeOptions([]);
    expect(o).toMatchObject({
      port: 0, relays: [...DEFAULT_RELAYS], bootstrap: [], testnet: null, noDht: false, parentPid: null,
      allowOrigins: [], tokenFile: null, republishIntervalSeconds: null, heartbeatIntervalSeconds: null, timeoutMs: null, logLevel: 'info', logFile: null, help: false,
      punchPort: 0, noNat: false,
    });
    expect(o.dataDir).toBe(defaultDataDir());
  });

  it('parses every option', () => {
    const o = parseServeOptions([
      '--port', '4000', '--data-dir', 'rel/dir', '--relay', 'http://127.0.0.1:1/', '--relay', 'https://127.0.0.2:8443',
      '--bootstrap', '127.0.0.1:5', '--bootstrap', 'host.example:6881', '--parent-pid', '123', '--allow-origin', 'http://a.example:8060',
      '--token-file', '/t', '--republish-interval', '60', '--heartbeat-interval', '0', '--timeout', '500', '--log-level', 'debug', '--log-file', '/l',
      '--punch-port', '7000', '--no-nat',
    ]);
    expect(o).toMatchObject({
      port: 4000, relays: ['http://127.0.0.1:1/', 'https://127.0.0.2:8443'], bootstrap: ['127.0.0.1:5', 'host.example:6881'],
      parentPid: 123, allowOrigins: ['http://a.example:8060'], tokenFile: '/t', republishIntervalSeconds: 60, heartbeatIntervalSeconds: 0,
      timeoutMs: 500, logLevel: 'debug', logFile: '/l', punchPort: 7000, noNat: true,
    });
    expect(o.dataDir).toBe(join(process.cwd(), 'rel/dir'));
  });

  it('chooses relays as the CLI network flags do', () => {
    expect(parseServeOptions(['--no-relays']).relays).toEqual([]);
    expect(parseServeOptions(['--no-relay']).relays).toEqual([]);
    expect(parseServeOptions(['--testnet', '3']).relays).toEqual([]);
    expect(parseServeOptions(['--testnet', '3', '--relay', 'http://localhost:9']).relays).toEqual(['http://localhost:9']);
    expect(parseServeOptions(['--bootstrap', '127.0.0.1:1']).relays).toEqual([...DEFAULT_RELAYS]);
    expect(parseServeOptions(['--no-dht', '--no-relays'])).toMatchObject({ noDht: true, relays: [] });
  });

  it('LAN discovery: on by default, --no-lan, --lan-interval 1..300 s', () => {
    expect(parseServeOptions([])).toMatchObject({ noLan: false, lanIntervalSeconds: null });
    expect(parseServeOptions(['--no-lan', '--lan-interval', '2'])).toMatchObject({ noLan: true, lanIntervalSeconds: 2 });
    expect(() => parseServeOptions(['--lan-interval', '0'])).toThrow(/--lan-interval/);
    expect(() => parseServeOptions(['--lan-interval', '301'])).toThrow(/--lan-interval/);
  });

  it('rejects bad or contradictory options with a message naming the flag', () => {
    const bad: [string[], RegExp][] = [
      [['--port', '70000'], /--port/], [['--port', 'x'], /--port/], [['--parent-pid', '0'], /--parent-pid/],
      [['--testnet', '0'], /--testnet/], [['--bootstrap', 'nope'], /--bootstrap/], [['--bootstrap', 'h:99999'], /--bootstrap/],
      [['--relay', 'ftp://x'], /--relay/], [['--relay', 'http://127.0.0.1:9', '--no-relays'], /--no-relays/],
      [['--no-dht', '--testnet', '2'], /--no-dht/], [['--testnet', '2', '--bootstrap', 'h:1'], /--testnet/],
      [['--log-level', 'loud'], /--log-level/], [['--allow-origin', 'evil.example'], /--allow-origin/],
      [['--republish-interval', '0'], /--republish-interval/], [['--timeout', '5'], /--timeout/],
      [['--heartbeat-interval', '-1'], /--heartbeat-interval/], [['--heartbeat-interval', '86401'], /--heartbeat-interval/],
      [['--punch-port', '65536'], /--punch-port/], [['--punch-port', 'x'], /--punch-port/],
      [['--bogus'], /bogus/], [['positional'], /positional|argument/i],
    ];
    for (const [args, message] of bad) {
      expect(() => parseServeOptions(args), args.join(' ')).toThrow(message);
    }
  });

  it('defaultDataDir follows the platform conventions', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/xdg' }, 'linux')).toBe('/xdg/pkarr-godot');
    expect(defaultDataDir({ XDG_DATA_HOME: 'relative' }, 'linux')).toBe(join(homedir(), '.local', 'share', 'pkarr-godot'));
    expect(defaultDataDir({}, 'linux')).toBe(join(homedir(), '.local', 'share', 'pkarr-godot'));
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32')).toBe(join('C:\\Users\\u\\AppData\\Roaming', 'pkarr-godot'));
    expect(defaultDataDir({}, 'darwin')).toBe(join(homedir(), 'Library', 'Application Support', 'pkarr-godot'));
  });
});
