/**
 * The contract between the puncher (a UDP path opened through NATs and authenticated by the
 * lobby key) and the game tunnel (game-tunnel.ts) that carries the game's own UDP datagrams over
 * it. One PunchPath is one remote peer: the host has one per joined player, a joiner one to its host.
 */
import type { UdpAddress } from './udp-channel.ts';

/** Why a path ended. */
export type PathEndReason = 'closed' | 'timeout' | 'remote-closed';

export interface PunchPath {
  /** The remote side's public address as this side sees it. */
  readonly remote: UdpAddress;
  /** Sends one game datagram to the remote side (framed by the puncher). */
  send(payload: Uint8Array): void;
  /** Receives the remote side's game datagrams (unframed). Returns a remover. */
  onData(handler: (payload: Buffer) => void): () => void;
  /** Called once when the path ends (keepalives lost, closed by either side). */
  onEnd(handler: (reason: PathEndReason) => void): () => void;
  /** Ends the path (tells the remote side, stops keepalives). */
  close(): void;
}
