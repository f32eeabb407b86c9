/**
 * The addon's export side in the real Godot 4.6 web engine: PkarrExportPlan (which sidecar an
 * export ships, and where; checked against PkarrSidecarLocator's run-time candidates) and the
 * PkarrExportPlugin glue, compiled against a stand-in for EditorExportPlugin (the web engine
 * has no editor classes). Suite: test/godot/projects/addon/tests/export_plan_test.gd. No
 * sidecar runs here, so the prebuilt binaries in addons/pkarr/bin are left out of the pack.
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGodotWeb } from './godot/harness/engine-cache.ts';
import { closeBrowser, getBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import { ADDON_DIR, ADDON_PROJECT, WITHOUT_ADDON_BIN } from './godot/projects/addon/host/serve-child.ts';

const SUITE = 'res://tests/export_plan_test.gd';
const EXPECTED_TESTS = [
  'export_plan: test_linux_exports_copy_the_binary_next_to_the_executable',
  'export_plan: test_windows_exports_copy_the_exe',
  'export_plan: test_macos_exports_put_the_binary_into_the_bundle',
  'export_plan: test_universal_macos_exports_ship_each_architecture',
  'export_plan: test_what_is_shipped_is_where_the_locator_looks',
  'export_plan: test_web_and_mobile_exports_ship_nothing_and_warn',
  'export_plan: test_a_missing_binary_is_an_error_with_the_build_command',
  'export_plan: test_platforms_without_a_sidecar_build_are_errors',
  'export_plan: test_pack_only_exports_copy_nothing',
  'export_plan: test_every_prebuilt_binary_is_kept_out_of_the_pack',
  'export_plan: test_find_binaries_lists_the_platforms_present',
  'export_plan: test_the_export_plugin_hands_the_plan_to_the_exporter',
  'export_plan: test_packed_sidecars_are_found_and_unpacked_for_the_export',
];
/** The one error the suite provokes on purpose: a packed sidecar that does not match its manifest. */
const EXPECTED_ERROR = "Pkarr: cannot ship the linux-x64 sidecar: user://pkarr_export_test/packed_bin/linux-x64/pkarr-sidecar.zst: the unpacked sidecar's SHA-256 is";

beforeAll(async () => {
  await Promise.all([ensureGodotWeb(), getBrowser()]);
}, 300_000);

afterAll(async () => {
  await closeBrowser();
});

describe('addons/pkarr export plan in the Godot 4.6 web engine', () => {
  it('plans every platform and drives the exporter through the plugin', async () => {
    const result = await runGodotTests({
      name: 'addon-export',
      project: ADDON_PROJECT,
      mounts: { 'res://addons/pkarr': ADDON_DIR },
      include: WITHOUT_ADDON_BIN,
      suites: [SUITE],
      testTimeoutSec: 20,
      timeoutMs: 120_000,
      allowErrors: [EXPECTED_ERROR],
    });
    if (process.env['PKARR_ENGINE_LOG']) {
      await writeFile(process.env['PKARR_ENGINE_LOG'], result.lines.map((l) => `[${l.stream}] ${l.text}`).join('\n'));
    }
    expect(result.ok, formatGodotTestReport(result)).toBe(true);
    expect(result.tests.map((t) => t.name)).toEqual(EXPECTED_TESTS);
    expect([result.passed, result.failed, result.skipped]).toEqual([EXPECTED_TESTS.length, 0, 0]);
    // The plugin's web export printed its warning through push_warning.
    const warnings = result.lines.filter((l) => l.text.includes('Pkarr: Web exports ship no sidecar'));
    expect(warnings.length, result.lines.map((l) => l.text).join('\n')).toBeGreaterThan(0);
    expect(warnings[0]?.text).toMatch(/^(USER )?WARNING: /);
    // The packed sidecar that does not match its manifest was reported as an export error.
    const errors = result.lines.filter((l) => l.text.includes(EXPECTED_ERROR));
    expect(errors.map((l) => l.text.replace(/ [0-9a-f]{64}.*$/, '')), result.lines.map((l) => l.text).join('\n')).toEqual([`ERROR: ${EXPECTED_ERROR}`]);
  }, 180_000);
});
