/**
 * Agent module for lan-lab.test.ts (runs inside a lab namespace): sends forged LAN lobby
 * announcements to the mDNS group on this host's LAN interface, and crashes a sidecar started by
 * natlab/scenarios/sidecar.ts (SIGKILL: no goodbye, so its lobby must expire).
 */
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { AgentContext } from './natlab/agent.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { signLobby } from '../sidecar/src/lobby/lobby-record.ts';
import { encodeAnnouncement, lanInstanceName, MDNS_GROUP_V4, MDNS_PORT } from '../sidecar/src/lan/lan-wire.ts';
import type { ServeChild } from './godot/projects/addon/host/serve-child.ts';

/**
 * Multicasts three forged announcements of game `game`/`gameVersion` from `address`: a record whose
 * signature was altered, a genuine record of one key under another key's instance name, and one
 * of six 250-byte chunks (over the 1104-byte packet limit). Returns the keys used (none of them may be listed by a browser).
 */
export async function sendForged(_ctx: AgentContext, address: string, game: string, gameVersion: string): Promise<string[]> {
  const victim = Keypair.generate();
  const impostor = Keypair.generate();
  const info = { game, gameVersion, name: 'FORGED', players: 0, maxPlayers: 8, open: true, endpoints: [{ transport: 'enet', host: address, port: 7777 }] };
  const forged = encodeAnnouncement(signLobby(victim, info), game, gameVersion, 30);
  const txt = forged.answers!.find((a) => a.type === 'TXT')! as { data: Buffer[] };
  const chunk = txt.data[1]!;
  chunk[40] = chunk[40]! ^ 0xff; // inside the signature (chunk s0 = "s0=" ‖ pk(32) ‖ sig(64) ‖ …)
  const renamed = encodeAnnouncement(signLobby(victim, { ...info, name: 'RENAMED' }), game, gameVersion, 30);
  for (const a of renamed.answers!) {
    if (a.type === 'TXT') a.name = lanInstanceName(impostor.publicKey);
    else if (a.type === 'PTR') a.data = lanInstanceName(impostor.publicKey);
  }
  // A TXT string holds ≤ 255 bytes, so "oversized" on the wire is a chunk past the 1104-byte packet limit (s5).
  const oversized = { type: 'response' as const, answers: [{ type: 'TXT' as const, name: lanInstanceName(impostor.publicKey), ttl: 30, data: [Buffer.from('v=1'), ...[0, 1, 2, 3, 4, 5].map((i) => Buffer.concat([Buffer.from(`s${i}=`), Buffer.alloc(250)]))] }] };
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  socket.setMulticastInterface(address);
  try {
    for (const packet of [forged, renamed, oversized]) {
      const bytes = dnsPacket.encode(packet);
      await new Promise<void>((resolve, reject) => socket.send(bytes, MDNS_PORT, MDNS_GROUP_V4, (err) => (err ? reject(err) : resolve())));
    }
  } finally {
    socket.close();
  }
  return [victim.publicKey.z32, impostor.publicKey.z32];
}

/** SIGKILLs the sidecar started as `label` (no goodbye, no closed record). */
export function crash(ctx: AgentContext, label: string): { pid: number } {
  const running = ctx.state.get(`sidecar:${label}`) as { child: ServeChild } | undefined;
  if (running === undefined) throw new Error(`no sidecar ${label} in this agent`);
  running.child.child.kill('SIGKILL');
  return { pid: running.child.ready.pid };
}
