/**
 * PCP (RFC 6887) MAP against the default gateway: ANNOUNCE probes for a server; each mapping has
 * its own random nonce, and a MAP with the same nonce renews it (lifetime > 0) or deletes it
 * (lifetime 0). The MAP answer names the external address; PCP has no separate request for it.
 */
import { randomBytes } from 'node:crypto';
import { mappingFailed, reasonOf, type BackendGrant, type BackendMapRequest, type MappingBackend } from './port-mapper-backend.ts';
import { GatewaySocket } from './port-mapper-udp.ts';
import { decodePcpAnnounceAnswer, decodePcpMapAnswer, encodePcpAnnounceRequest, encodePcpMapRequest, GATEWAY_PORT } from './port-mapper-wire.ts';

const NAME = 'PCP';
const REQUEST_MS = 2000;

export class PcpBackend implements MappingBackend {
  readonly method = 'pcp' as const;
  readonly gateway: string;
  readonly #socket: GatewaySocket;
  /** The nonce of each live mapping, by `protocol/internalPort`. */
  readonly #nonces = new Map<string, Buffer>();
  #address: string | null = null;

  private constructor(socket: GatewaySocket) {
    this.#socket = socket;
    this.gateway = `${socket.gateway}:${socket.port}`;
  }

  /** Probes `gateway` with ANNOUNCE; throws PORT_MAPPING_FAILED when no PCP server answers. */
  static async probe(gateway: string, timeoutMs: number, signal: AbortSignal, port = GATEWAY_PORT): Promise<PcpBackend> {
    let socket: GatewaySocket | null = null;
    try {
      socket = await GatewaySocket.open(gateway, port);
      await socket.request(encodePcpAnnounceRequest(socket.localAddress()), decodePcpAnnounceAnswer, timeoutMs, signal);
      return new PcpBackend(socket);
    } catch (err) {
      socket?.close();
      throw mappingFailed(NAME, `no PCP server answered at ${gateway}:${port}: ${reasonOf(err)}`, err);
    }
  }

  async map(request: BackendMapRequest, signal: AbortSignal, renewing?: BackendGrant): Promise<BackendGrant> {
    const key = `${request.protocol}/${request.internalPort}`;
    const nonce = this.#nonces.get(key) ?? randomBytes(12);
    const fields = { nonce, protocol: request.protocol, internalPort: request.internalPort };
    let answer;
    try {
      answer = await this.#socket.request(
        encodePcpMapRequest({
          ...fields,
          externalPort: renewing?.externalPort ?? request.externalPort,
          externalAddress: renewing?.externalHost ?? '0.0.0.0',
          lifetimeSeconds: request.lifetimeSeconds,
          clientAddress: this.#socket.localAddress(),
        }),
        (msg) => decodePcpMapAnswer(msg, fields),
        REQUEST_MS, signal,
      );
    } catch (err) {
      throw mappingFailed(NAME, `mapping ${request.protocol} port ${request.internalPort} at ${this.gateway} failed: ${reasonOf(err)}`, err);
    }
    if (answer.externalPort === 0 || answer.lifetimeSeconds === 0 || answer.externalAddress === null || answer.externalAddress === '0.0.0.0') {
      throw mappingFailed(NAME, `the gateway ${this.gateway} answered with external ${answer.externalAddress ?? 'a non-IPv4 address'}:${answer.externalPort} and lifetime ${answer.lifetimeSeconds}`);
    }
    this.#nonces.set(key, nonce);
    this.#address = answer.externalAddress;
    return { externalHost: answer.externalAddress, externalPort: answer.externalPort, lifetimeSeconds: answer.lifetimeSeconds, via: 'pcp' };
  }

  async unmap(request: BackendMapRequest, grant: BackendGrant, signal: AbortSignal): Promise<void> {
    const key = `${request.protocol}/${request.internalPort}`;
    const nonce = this.#nonces.get(key);
    if (nonce === undefined) return;
    const fields = { nonce, protocol: request.protocol, internalPort: request.internalPort };
    try {
      await this.#socket.request(
        encodePcpMapRequest({
          ...fields, externalPort: grant.externalPort, externalAddress: grant.externalHost, lifetimeSeconds: 0,
          clientAddress: this.#socket.localAddress(),
        }),
        (msg) => decodePcpMapAnswer(msg, fields),
        REQUEST_MS, signal,
      );
      this.#nonces.delete(key);
    } catch (err) {
      throw mappingFailed(NAME, `removing ${request.protocol} port ${request.internalPort} at ${this.gateway} failed: ${reasonOf(err)}`, err);
    }
  }

  /** PCP tells the external address only in MAP answers: the last one seen (null before any). */
  externalAddress(): Promise<string | null> {
    return Promise.resolve(this.#address);
  }

  close(): void {
    this.#socket.close();
  }
}
