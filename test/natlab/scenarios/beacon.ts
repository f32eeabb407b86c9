/**
 * Lobby beacons from inside a lab namespace (agent): `serve` runs a beacon (lobby/beacon-server.ts)
 * with a signed lobby naming `address`; `measure` fetches a beacon `count` times as a browser does
 * (lobby/beacon-client.ts) and returns each fetch's round-trip time, next to a plain TCP connect
 * to the same port (the handshake alone, the baseline).
 */
import { connect } from 'node:net';
import type { AgentContext } from '../agent.ts';
import { Keypair } from '../../../sidecar/src/core/keys.ts';
import { fetchBeacon } from '../../../sidecar/src/lobby/beacon-client.ts';
import { BeaconServer } from '../../../sidecar/src/lobby/beacon-server.ts';
import { signLobby } from '../../../sidecar/src/lobby/lobby-record.ts';

export async function serve(ctx: AgentContext, address: string, game: string): Promise<number> {
  const beacon = await BeaconServer.start({ host: '0.0.0.0', rateLimit: null });
  ctx.onClose(() => beacon.close());
  beacon.setPacket(signLobby(Keypair.generate(), {
    game, gameVersion: '1', name: 'Lab room', players: 1, maxPlayers: 4, open: true, beaconPort: beacon.port,
    endpoints: [{ transport: 'enet', host: address, port: 7777 }],
  }));
  return beacon.port;
}

function connectMs(host: string, port: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host, port });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connect to ${host}:${port}: timeout`)); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); resolve(performance.now() - started); socket.destroy(); });
    socket.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

export async function measure(_ctx: AgentContext, host: string, port: number, count: number): Promise<{ beacon: number[]; connect: number[] }> {
  const beacon: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < count; i++) {
    // Alternating which goes first, so neither always follows the other's closing packets.
    if (i % 2 === 0) plain.push(await connectMs(host, port, 5_000));
    const answer = await fetchBeacon(host, port, { timeoutMs: 5_000 });
    if (!answer.ok) throw new Error(`beacon ${host}:${port}: ${answer.failure} ${answer.detail}`);
    beacon.push(answer.rttMs);
    if (i % 2 === 1) plain.push(await connectMs(host, port, 5_000));
  }
  return { beacon, connect: plain };
}
