/** The packet both core benchmarks sign and verify, for our core and for pkarr@1.3.0. */
import type { DnsRecord } from '../sidecar/src/core/records.ts';

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
