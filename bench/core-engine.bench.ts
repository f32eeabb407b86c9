/**
 * The GDScript pkarr core (addons/pkarr/core) in the Godot 4.6 web engine against the sidecar's
 * TypeScript core on the same inputs, measured in the same run: decoding a full-size (900-1000-byte)
 * DNS message into resolve JSON, encoding its publish JSON, reading a lobby from its relay body,
 * reading a directory slot of 11 entries (one SHA-256 proof check each). The sidecar (Node) is
 * the baseline of the ratios. Run: `npm run bench -- core-engine`.
 * The GDScript side is test/godot/projects/core/bench/core_bench.gd.
 */
import { join } from 'node:path';
import { decodeDnsPacket } from '../sidecar/src/core/dns-decode.ts';
import { encodeDnsPacket } from '../sidecar/src/core/dns-encode.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { encodeSlot, readSlot, type DirectoryEntry } from '../sidecar/src/lobby/directory-record.ts';
import { powPrefix, solvePow } from '../sidecar/src/lobby/directory-pow.ts';
import { directoryId, directoryWindow, slotKeypair, windowBounds } from '../sidecar/src/lobby/directory-slots.ts';
import { parseLobby, signLobby } from '../sidecar/src/lobby/lobby-record.ts';
import { recordsFromJson, recordToJson } from '../sidecar/src/rpc/record-json.ts';
import { REPO_ROOT } from '../test/godot/harness/engine-cache.ts';
import { closeBrowser } from '../test/godot/harness/run-engine.ts';
import { ADDON_DIR } from '../test/godot/projects/addon/host/serve-child.ts';
import { hex, keypairOf } from '../test/godot/projects/core/host/case-support.ts';
import { runBenchScene } from './engine-bench.ts';
import { fmt, opsPerSecond } from './measure.ts';

const PROJECT = join(REPO_ROOT, 'test', 'godot', 'projects', 'core');

/** What the GDScript side reports per operation: calls made and the µs they took. */
interface Timing { ops: number; usec: number }

/** ms per call of `op` in Node, over about a second. */
const nodeMs = (op: () => void): number => 1000 / opsPerSecond(op);

async function inputs(): Promise<{ input: Record<string, unknown>; node: Record<string, number> }> {
  const kp = keypairOf('bench');
  const origin = kp.publicKey.z32;
  const json: unknown[] = [
    { type: 'A', name: '@', ttl: 60, address: '203.0.113.7' }, { type: 'AAAA', name: '@', ttl: 60, address: '2001:db8::7' },
    { type: 'SVCB', name: '_enet', ttl: 60, priority: 1, target: '.', params: { port: 7777, ipv4hint: ['203.0.113.7'] } },
    { type: 'SVCB', name: '_ws', ttl: 60, priority: 1, target: 'game.example.com', params: { port: 443, alpn: ['h2'] } },
    { type: 'CNAME', name: 'www', ttl: 300, target: '_enet' }, { type: 'SRV', name: '_game._udp', ttl: 300, priority: 0, weight: 0, port: 7777, target: 'host.example.com' },
  ];
  for (let i = 0; i < 12; i++) json.push({ type: 'TXT', name: `_lobby${i % 3}`, ttl: 60, strings: [`key${i}=${'v'.repeat(40)}`] });
  const records = recordsFromJson(json, origin);
  const dns = encodeDnsPacket(records, origin);
  if (dns.length < 900 || dns.length > 1000) throw new Error(`bench message is ${dns.length} bytes`);
  const lobbyKp = keypairOf('bench-lobby');
  const lobby = signLobby(lobbyKp, {
    game: 'demo', gameVersion: '1.0', name: 'Bench room', players: 3, maxPlayers: 8, open: true, beaconPort: 41000, custom: { mode: 'ctf' },
    endpoints: [{ transport: 'enet', host: '203.0.113.7', port: 7777 }, { transport: 'ws', host: 'game.example.com', port: 443 }],
  });
  const dir = directoryId('demo', '1.0');
  const ts = 1_765_000_000_000_000n;
  const window = directoryWindow(ts);
  const entries: DirectoryEntry[] = [];
  for (let i = 0; i < 11; i++) {
    const hostKey = keypairOf(`bench-host-${i}`).publicKey;
    const time = windowBounds(window).start + i;
    entries.push({ hostKey, time, nonce: (await solvePow(powPrefix(dir, window), `${hostKey.z32}:${time}:`)).nonce });
  }
  const slot = encodeSlot(slotKeypair(dir, window, 0), entries, ts);
  const resolved = decodeDnsPacket(dns).map((r) => recordToJson(r, origin));
  const body = lobby.toRelayPayload();
  const slotBody = slot.packet.toRelayPayload();
  const node = {
    decode: nodeMs(() => { decodeDnsPacket(dns).map((r) => recordToJson(r, origin)); }),
    encode: nodeMs(() => { encodeDnsPacket(recordsFromJson(resolved, origin), origin); }),
    // Node verifies the signature too (fromRelayPayload): the GDScript figure does not include it.
    lobby: nodeMs(() => { parseLobby(SignedPacket.fromRelayPayload(lobbyKp.publicKey, body)); }),
    slot: nodeMs(() => { readSlot(SignedPacket.fromRelayPayload(slot.packet.publicKey, slotBody), dir, window); }),
  };
  return {
    input: {
      origin, dns: hex(dns), records: resolved, lobbyKey: lobbyKp.publicKey.z32, lobbyBody: hex(body), slotKey: slot.packet.publicKey.z32,
      slotBody: hex(slotBody), window, slotEntries: slot.kept.length, dnsBytes: dns.length,
    },
    node,
  };
}

export async function run(): Promise<void> {
  const { input, node } = await inputs();
  try {
    const mounts: Record<string, string> = {};
    for (const dir of ['core', 'values']) mounts[`res://addons/pkarr/${dir}`] = join(ADDON_DIR, dir);
    const r = await runBenchScene({
      project: PROJECT, scene: 'res://bench/core_bench.tscn', mounts,
      include: (res) => !res.startsWith('res://tests/') && !res.includes('/host/'),
      files: { 'res://generated/bench_input.json': JSON.stringify(input) },
      doneMarker: '# core-bench done', timeoutMs: 120_000,
    });
    const ms = (t: Timing): number => t.usec / 1000 / t.ops;
    console.log(`DNS message: ${String(input['dnsBytes'])} bytes, ${(input['records'] as unknown[]).length} records; slot: ${String(input['slotEntries'])} entries`);
    console.log('operation                                   GDScript ms   sidecar ms   GDScript / sidecar');
    const row = (label: string, key: string): void => {
      const g = ms(r[key] as Timing);
      const n = node[key]!;
      console.log(`${label.padEnd(44)}${fmt(g, 3).padStart(10)} ${fmt(n, 4).padStart(12)} ${fmt(g / n, 0).padStart(12)}x`);
    };
    row('decode full-size message -> resolve JSON', 'decode');
    row('encode publish JSON -> message', 'encode');
    row('relay body -> lobby JSON (sidecar: + verify)', 'lobby');
    row('directory slot, 11 entries (sidecar: + verify)', 'slot');
    const pow = r['pow'] as Timing;
    const hashesPerSec = (pow.ops * 10_000 * 1e6) / pow.usec;
    console.log(`proof of work in GDScript: ${fmt(hashesPerSec, 0)} sha256/s -> ${fmt(65_536 / hashesPerSec, 2)} s for an average 16-bit proof (sidecar ~600k/s)`);
  } finally {
    await closeBrowser();
  }
}
