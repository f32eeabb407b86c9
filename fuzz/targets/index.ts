/** The fuzz targets by name, loaded lazily (the relay and RPC targets pull in their servers). */
import type { FuzzTarget } from '../harness.ts';

type Factory = () => Promise<FuzzTarget<never>>;

const as = (t: FuzzTarget<never>): FuzzTarget<never> => t;

/** Target factories, in the order `--target all` runs them. */
export const TARGETS: Readonly<Record<string, Factory>> = {
  dns: async () => as((await import('./dns.ts')).dnsTarget() as FuzzTarget<never>),
  'signed-packet': async () => as((await import('./signed-packet.ts')).signedPacketTarget() as FuzzTarget<never>),
  'signed-dns': async () => as((await import('./signed-dns.ts')).signedDnsTarget() as FuzzTarget<never>),
  relay: async () => as((await import('./relay.ts')).relayTarget() as FuzzTarget<never>),
  rpc: async () => as((await import('./rpc.ts')).rpcTarget() as FuzzTarget<never>),
  lobby: async () => as((await import('./lobby.ts')).lobbyTarget() as FuzzTarget<never>),
  'record-text': async () => as((await import('./record-text.ts')).recordTextTarget() as FuzzTarget<never>),
  'public-key': async () => as((await import('./public-key.ts')).publicKeyTarget() as FuzzTarget<never>),
  'dns-server': async () => as((await import('./dns-server.ts')).dnsServerTarget() as FuzzTarget<never>),
};

export const TARGET_NAMES: readonly string[] = Object.keys(TARGETS);

/** Creates the named target; throws a plain Error listing the names for an unknown one. */
export async function loadTarget(name: string): Promise<FuzzTarget<never>> {
  const factory = TARGETS[name];
  if (factory === undefined) throw new Error(`unknown target ${JSON.stringify(name)} (targets: ${TARGET_NAMES.join(', ')})`);
  return factory();
}
