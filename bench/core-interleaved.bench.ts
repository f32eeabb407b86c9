/**
 * The core.bench.ts comparison, made robust on a shared machine: instead of timing each variant
 * once for a second (load changes between them skew the ratios), it times short slices of the raw
 * Ed25519 primitive, pkarr@1.3.0 and ours in rotating order, computes the ratios within each
 * round, and prints their median (and quartiles). Same packet, key and timestamp as core.bench.ts.
 */
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { verifySignature } from '../sidecar/src/core/ed25519.ts';
import { TIMESTAMP, legacyPacket, ourRecords, setupCoreBench } from './core-fixtures.ts';
import { opsPerSecond, quantile } from './measure.ts';

const ROUNDS = 25;
const SLICE_MS = 40;

/** Per-round ops/s of each variant, the variants timed back to back in rotating order. */
function interleaved(variants: Record<string, () => unknown>): Record<string, number[]> {
  const names = Object.keys(variants);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length]!;
      out[name]!.push(opsPerSecond(variants[name]!, SLICE_MS));
    }
  }
  return out;
}

function report(title: string, ops: Record<string, number[]>): void {
  const raw = ops['raw']!;
  const legacy = ops['legacy']!;
  const ours = ops['ours']!;
  const ratios = (a: number[], b: number[]): number[] => a.map((v, i) => v / b[i]!);
  const q = (xs: number[]): string => `${quantile(xs, 0.5).toFixed(2)} (quartiles ${quantile(xs, 0.25).toFixed(2)}–${quantile(xs, 0.75).toFixed(2)})`;
  const overhead = ratios(raw, ours).map((r) => (r - 1) * 100);
  console.log(`\n${title} (median of ${ROUNDS} interleaved rounds):`);
  console.log(`  ours / pkarr@1.3.0:        ${q(ratios(ours, legacy))}×`);
  console.log(`  pkarr@1.3.0 / raw:         ${q(ratios(legacy, raw))}×`);
  console.log(`  our overhead over raw:     ${quantile(overhead, 0.5).toFixed(1)} % (quartiles ${quantile(overhead, 0.25).toFixed(1)}–${quantile(overhead, 0.75).toFixed(1)} %, goal ≤ 15 %)`);
}

export async function run(): Promise<void> {
  const { legacy, legacyKp, legacyBytes, kp, ts, payload, message, signer, signature } = await setupCoreBench();

  report('sign + encode', interleaved({
    raw: () => signer.sign(message),
    legacy: () => legacy.SignedPacket.fromPacket(legacyKp, legacyPacket(), { timestamp: TIMESTAMP }),
    ours: () => SignedPacket.sign(kp, ourRecords(), { timestamp: ts }),
  }));
  report('verify + decode', interleaved({
    raw: () => verifySignature(kp.publicKey.bytes, message, signature),
    legacy: () => legacy.SignedPacket.fromBytes(legacyKp.publicKey, legacyBytes),
    ours: () => SignedPacket.fromRelayPayload(kp.publicKey, payload),
  }));
}
