/**
 * The addon in the real Godot 4.6 web engine against sidecars inside the NAT lab: two
 * `pkarr-sidecar serve` processes, each behind its own port-restricted NAT (no router mapping),
 * bootstrapped from libtorrent DHT nodes on the lab's WAN, their RPC ports bridged to the page
 * (natlab/engine-sidecars.ts). The GDScript suite is test/godot/projects/addon/tests/nat_lab_test.gd.
 * Needs root: without namespaces it fails.
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
  lab = await NatLab.create({ sites: [{ nat: 'port-restricted' }, { nat: 'port-restricted' }], dhtNodes: 8 });
}, 120_000);

afterAll(async () => {
  await lab?.close();
});

describe('addons/pkarr in the web engine against sidecars behind real NATs', () => {
  it('reports the NAT type, hosts behind NAT and gets a punched route for a player behind another NAT', async () => {
    const { result, errors } = await runSuitesWithLabSidecars(lab!, 'nat-lab', ['res://tests/nat_lab_test.gd'], [
      { label: 'host', host: lab!.sites[0]!.hosts[0]!, bootstrap: lab!.bootstrap },
      { label: 'player', host: lab!.sites[1]!.hosts[0]!, bootstrap: lab!.bootstrap },
    ], { host_wan: lab!.sites[0]!.wanAddress });
    expect(errors).toEqual([]);
    expect(result.ok, formatGodotTestReport(result)).toBe(true);
    expect(result.tests.map((t) => t.name)).toEqual([
      'nat_lab: test_status_reports_the_nat_type_behind_a_port_restricted_router',
      'nat_lab: test_a_host_behind_nat_opens_and_a_player_behind_another_nat_gets_a_punched_route',
    ]);
  }, 400_000);
});
