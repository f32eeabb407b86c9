/**
 * Signed-packet throughput: sign+encode and verify+decode packets/s for our core, next to
 * pkarr@1.3.0 (the legacy JS implementation, signing with native libsodium) and the raw Ed25519
 * primitive of our backend on the same signable bytes. Also prints each raw Ed25519 option so the
 * backend choice can be checked on this machine.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { createRequire } from 'node:module';
import * as noble from '@noble/ed25519';
import { createHash } from 'node:crypto';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { cryptoBackend, verifySignature } from '../sidecar/src/core/ed25519.ts';
import { TIMESTAMP, legacyPacket, ourRecords, setupCoreBench } from './core-fixtures.ts';
import { fmt, opsPerSecond } from './measure.ts';

function line(label: string, ops: number, base: number, baseLabel: string): void {
  console.log(`${label.padEnd(44)} ${fmt(ops).padStart(9)} ops/s   ${(ops / base).toFixed(2)}× ${baseLabel}`);
}

export async function run(): Promise<void> {
  const { seed, legacy, legacyKp, legacyBytes, kp, ts, packet, payload, message, signer, signature } = await setupCoreBench();

  console.log(`backend: ${cryptoBackend}; packet ${packet.size} bytes (DNS ${packet.dns.length}, compressed)`);

  // Raw primitives on the same signable.
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]);
  const nodePriv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const nodePub = createPublicKey(nodePriv);
  noble.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest());
  const rawSign = opsPerSecond(() => signer.sign(message));
  const rawVerify = opsPerSecond(() => verifySignature(kp.publicKey.bytes, message, signature));
  const nodeSignOps = opsPerSecond(() => nodeSign(null, message, nodePriv));
  const nodeVerifyOps = opsPerSecond(() => nodeVerify(null, message, nodePub, signature));
  const nobleSignOps = opsPerSecond(() => noble.sign(message, seed), 500);
  const nobleVerifyOps = opsPerSecond(() => noble.verify(signature, message, kp.publicKey.bytes), 500);
  let sodiumLine = 'sodium-native: not loadable';
  try {
    const sodium = createRequire(import.meta.url)('sodium-native') as {
      crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
      crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
      crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
    };
    const pk = new Uint8Array(32);
    const sk = new Uint8Array(64);
    sodium.crypto_sign_seed_keypair(pk, sk, seed);
    const sig = new Uint8Array(64);
    const s = opsPerSecond(() => sodium.crypto_sign_detached(sig, message, sk));
    const v = opsPerSecond(() => sodium.crypto_sign_verify_detached(signature, message, pk));
    sodiumLine = `sodium-native: sign ${fmt(s)} /s, verify ${fmt(v)} /s`;
  } catch { /* optional */ }
  console.log('raw Ed25519 on this machine:');
  console.log(`  ${sodiumLine}`);
  console.log(`  node:crypto:   sign ${fmt(nodeSignOps)} /s, verify ${fmt(nodeVerifyOps)} /s`);
  console.log(`  @noble/ed25519: sign ${fmt(nobleSignOps)} /s, verify ${fmt(nobleVerifyOps)} /s`);

  // Sign + encode.
  const oursSign = opsPerSecond(() => SignedPacket.sign(kp, ourRecords(), { timestamp: ts }));
  const legacySign = opsPerSecond(() => legacy.SignedPacket.fromPacket(legacyKp, legacyPacket(), { timestamp: TIMESTAMP }));
  console.log('\nsign + encode:');
  line('raw primitive (our backend)', rawSign, rawSign, 'raw');
  line('pkarr@1.3.0 SignedPacket.fromPacket', legacySign, rawSign, 'raw');
  line('ours SignedPacket.sign', oursSign, legacySign, 'pkarr@1.3.0');
  console.log(`  our overhead over the raw primitive: ${((rawSign / oursSign - 1) * 100).toFixed(1)} %  (goal ≤ 15 %)`);

  // Verify + decode.
  const oursVerify = opsPerSecond(() => SignedPacket.fromRelayPayload(kp.publicKey, payload));
  const legacyVerify = opsPerSecond(() => legacy.SignedPacket.fromBytes(legacyKp.publicKey, legacyBytes));
  console.log('\nverify + decode:');
  line('raw primitive (our backend)', rawVerify, rawVerify, 'raw');
  line('pkarr@1.3.0 SignedPacket.fromBytes', legacyVerify, rawVerify, 'raw');
  line('ours SignedPacket.fromRelayPayload', oursVerify, legacyVerify, 'pkarr@1.3.0');
  console.log(`  our overhead over the raw primitive: ${((rawVerify / oursVerify - 1) * 100).toFixed(1)} %  (goal ≤ 15 %)`);
}
