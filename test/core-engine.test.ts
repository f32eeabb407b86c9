/**
 * The GDScript pkarr core (addons/pkarr/core) in the real Godot 4.6 web engine, checked against
 * the sidecar's TypeScript core: test/godot/projects/core/host/*.ts build the cases with
 * sidecar/src (DNS messages and their resolve JSON, publish JSON and its bytes, malformed and
 * fuzzed messages, signed relay bodies and the spec vectors, lobby records made by signLobby,
 * directory slots with real proofs of work, short-code slots) and the suites in
 * test/godot/projects/core/tests must reproduce every outcome. Any engine error fails the run.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './godot/harness/engine-cache.ts';
import { closeBrowser } from './godot/harness/run-engine.ts';
import { formatGodotTestReport, runGodotTests } from './godot/harness/run-tests.ts';
import { ADDON_DIR } from './godot/projects/addon/host/serve-child.ts';
import { buildCoreCases } from './godot/projects/core/host/core-cases.ts';

const PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'core');

const EXPECTED = [
  'text: test_z32_encodes_and_decodes_like_the_sidecar',
  'text: test_z32_refuses_characters_outside_the_alphabet',
  'text: test_key_texts_parse_like_the_sidecar',
  'text: test_canonical_keys',
  'text: test_utf8_decodes_like_text_decoder',
  'text: test_hex_and_base64_refuse_malformed_text',
  'dns: test_decodes_like_the_sidecar',
  'dns: test_encodes_like_the_sidecar',
  'dns: test_decoded_records_encode_to_the_same_message',
  'dns: test_owner_names_normalise_like_pkarr',
  'dns: test_a_bad_origin_is_an_invalid_argument',
  'packet: test_relay_bodies_split_like_the_sidecar',
  'packet: test_spec_vectors_v1_v2_v3',
  'packet: test_signable_is_the_bep44_string',
  'packet: test_malformed_bodies_fail_with_the_sidecar_codes',
  'packet: test_timestamps_beyond_the_bep44_seq_are_refused',
  'packet: test_ordering_and_ttl',
  'lobby: test_lobbies_parse_like_lobby_get',
  'lobby: test_the_lobby_json_reads_into_a_pkarr_lobby',
  'lobby: test_directory_slots_read_like_the_sidecar',
  'lobby: test_directory_seeds_home_slots_and_topics',
  'lobby: test_short_codes',
  'lobby: test_lobbies_are_written_like_sign_lobby',
  'lobby: test_custom_keys_follow_javascript_property_order',
  'lobby: test_directory_entries_are_written_like_the_sidecar',
  'keys: test_directory_slot_keys_match_the_sidecar',
  'keys: test_short_code_slot_key_matches_the_sidecar',
  'keys: test_curve_points',
  'scrypt: test_short_codes_of_host_keys_match_the_sidecar',
  'scrypt: test_a_slot_names_the_host_whose_fingerprint_is_the_code',
];

afterAll(closeBrowser);

describe('GDScript pkarr core in the engine', () => {
  it('decodes, encodes and reads lobbies exactly like the sidecar', async () => {
    const cases = await buildCoreCases();
    // The core and what it uses (PkarrResult, PkarrSignatures); nothing else of the addon is needed.
    const mounts: Record<string, string> = {};
    for (const dir of ['core', 'values', 'crypto']) mounts[`res://addons/pkarr/${dir}`] = join(ADDON_DIR, dir);
    const r = await runGodotTests({
      project: PROJECT,
      mounts,
      files: { 'res://generated/core_cases.json': JSON.stringify(cases) },
      include: (res) => !res.includes('/host/') && !res.includes('/bench/'),
      testTimeoutSec: 60,
      // CORE_FILTER=<substring of 'suite: test'> runs only the matching tests (the count check then fails).
      ...(process.env['CORE_FILTER'] ? { filter: process.env['CORE_FILTER'] } : {}),
      timeoutMs: 240_000,
    });
    expect(r.ok, formatGodotTestReport(r)).toBe(true);
    const names = r.tests.map((t) => t.name);
    for (const name of EXPECTED) expect(names, name).toContain(name);
    expect(r.passed).toBe(EXPECTED.length);
  }, 300_000);
});
