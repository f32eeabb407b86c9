/**
 * The contract between the punch socket (punch-socket.ts: one UDP socket per sidecar that carries
 * game traffic) and the parts that share it: DHT-STUN (dht-stun.ts) sends KRPC pings from it and
 * reads the answers, the puncher sends and receives punch frames on it. The socket demultiplexes
 * by the first byte: KRPC messages are bencoded dictionaries (`d`, 0x64); punch frames start with
 * PUNCH_MAGIC (punch-frames.ts), which is never 0x64.
 */

/** Where a datagram came from or goes to. */
export interface UdpAddress {
  host: string;
  port: number;
}

/** One kind of traffic on a shared UDP socket. */
export interface UdpChannel {
  /** Sends one datagram; `ttl` (1-255) sets the IP TTL of this datagram only (default: the system's). */
  send(payload: Uint8Array, to: UdpAddress, ttl?: number): Promise<void>;
  /** Registers the receiver of this channel's datagrams; returns a function that removes it. */
  onMessage(handler: (payload: Buffer, from: UdpAddress) => void): () => void;
  /** The local address the socket is bound to. */
  localAddress(): UdpAddress;
}
