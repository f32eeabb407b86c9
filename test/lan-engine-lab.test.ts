/**
 * The addon in the real Godot 4.6 web engine against sidecars on a LAN with no internet: two
 * `pkarr-sidecar serve --no-dht --no-relays` processes in NAT-lab namespaces on one bridge with no
 * WAN (site `wan: false`), their RPC ports bridged to the page (natlab/engine-sidecars.ts). The
 * GDScript suite is test/godot/projects/addon/tests/lan_lab_test.gd: the PkarrLobbyBrowser shows
 * the LAN lobby (source "lan") and lobby.join answers its LAN address. Needs root: without
 * namespaces it fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGodotWeb } from './godot/harness/engine-cache.ts';
import { getBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport } from './godot/harness/run-tests.ts';
import { runSuitesWithLabSidecars } from './natlab/engine-sidecars.ts';
import { NatLab } from './natlab/lab.ts';

let lab: NatLab | null = null;

beforeAll(async () => {
  await Promise.all([ensureGodotWeb(), getBrowser()]);
  lab = await NatLab.create({ sites: [{ nat: 'port-restricted', wan: false, hosts: 2 }] });
}, 120_000);

afterAll(async () => {
  await lab?.close();
});

describe('addons/pkarr in the web engine against sidecars on a LAN with no internet', () => {
  it('the lobby browser shows a LAN lobby and join by code answers its LAN address', async () => {
    const lan = ['--no-dht', '--lan-interval', '2'];
    const { result, errors } = await runSuitesWithLabSidecars(lab!, 'lan-lab', ['res://tests/lan_lab_test.gd'], [
      { label: 'host', host: lab!.sites[0]!.hosts[0]!, bootstrap: [], args: lan },
      { label: 'player', host: lab!.sites[0]!.hosts[1]!, bootstrap: [], args: lan },
    ], { host_lan: lab!.sites[0]!.hosts[0]!.address });
    expect(errors).toEqual([]);
    expect(result.ok, formatGodotTestReport(result)).toBe(true);
    expect(result.tests.map((t) => t.name)).toEqual([
      'lan_lab: test_the_browser_shows_a_lan_lobby_and_join_answers_its_lan_address',
    ]);
  }, 400_000);
});
