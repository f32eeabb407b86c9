/** The packet both core benchmarks sign and verify, for our core and for pkarr@1.3.0. */
import type { DnsRecord } from '../sidecar/src/core/records.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket, signable } from '../sidecar/src/core/signed-packet.ts';
import { createSigner, type Signer } from '../sidecar/src/core/ed25519.ts';

export interface LegacyPacket { bytes(): Uint8Array }
export interface LegacyModule {
  SignedPacket: {
    fromPacket(keypair: unknown, packet: unknown, options?: { timestamp?: number }): LegacyPacket;
    fromBytes(publicKey: Uint8Array, bytes: Uint8Array): unknown;
  };
  generateKeyPair(seed?: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array };
}

export const TIMESTAMP = 1_697_016_827_303_000;

export function ourRecords(): DnsRecord[] {
  return [
    { type: 'A', name: '@', ttl: 300, address: '1.2.3.4' },
    { type: 'AAAA', name: '@', ttl: 300, address: '2001:db8::1' },
    { type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo', 'name=Friday night', 'players=3', 'max=8'] },
    { type: 'CNAME', name: 'www', ttl: 300, target: '_lobby' },
  ];
}

export function legacyPacket(): unknown {
  return {
    id: 0, type: 'response', flags: 0,
    answers: [
      { name: '@', type: 'A', ttl: 300, data: '1.2.3.4' },
      { name: '@', type: 'AAAA', ttl: 300, data: '2001:db8::1' },
      { name: '_lobby', type: 'TXT', ttl: 60, data: ['v=1', 'game=demo', 'name=Friday night', 'players=3', 'max=8'] },
      { name: 'www', type: 'CNAME', ttl: 300, data: '_lobby' },
    ],
  };
}

/** Everything both core benchmarks measure on: the same key, packet and bytes for every variant. */
export interface CoreBenchSetup {
  seed: Uint8Array;
  legacy: LegacyModule;
  legacyKp: { publicKey: Uint8Array; secretKey: Uint8Array };
  legacyBytes: Uint8Array;
  kp: Keypair;
  ts: bigint;
  packet: SignedPacket;
  payload: Uint8Array;
  /** The BEP44 signable of `packet`: what the raw primitive signs and verifies. */
  message: Uint8Array;
  signer: Signer;
  signature: Uint8Array;
}

export async function setupCoreBench(): Promise<CoreBenchSetup> {
  const legacy = (await import('pkarr')) as unknown as LegacyModule;
  const seed = new Uint8Array(32).fill(7);
  const kp = Keypair.fromSeed(seed);
  const legacyKp = legacy.generateKeyPair(seed);
  const ts = BigInt(TIMESTAMP);
  const packet = SignedPacket.sign(kp, ourRecords(), { timestamp: ts });
  const message = signable(ts, packet.dns);
  const signer = createSigner(seed);
  return {
    seed, legacy, legacyKp, kp, ts, packet, message, signer,
    legacyBytes: legacy.SignedPacket.fromPacket(legacyKp, legacyPacket(), { timestamp: TIMESTAMP }).bytes(),
    payload: packet.toRelayPayload(),
    signature: signer.sign(message),
  };
}
