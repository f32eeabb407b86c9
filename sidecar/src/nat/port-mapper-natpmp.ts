/**
 * NAT-PMP (RFC 6886) against the default gateway: the probe is the external-address request;
 * a mapping is renewed by asking again for the same ports and removed with lifetime 0.
 */
import { mappingFailed, reasonOf, type BackendGrant, type BackendMapRequest, type MappingBackend } from './port-mapper-backend.ts';
import { GatewaySocket } from './port-mapper-udp.ts';
import {
  decodePmpAddressAnswer, decodePmpMapAnswer, encodePmpAddressRequest, encodePmpMapRequest, GATEWAY_PORT,
} from './port-mapper-wire.ts';

const NAME = 'NAT-PMP';
/** Time bound of one request (with its retransmissions). */
const REQUEST_MS = 2000;

export class NatPmpBackend implements MappingBackend {
  readonly method = 'natpmp' as const;
  readonly gateway: string;
  readonly #socket: GatewaySocket;
  #address: string;

  private constructor(socket: GatewaySocket, address: string) {
    this.#socket = socket;
    this.gateway = `${socket.gateway}:${socket.port}`;
    this.#address = address;
  }

  /** Probes `gateway` (external-address request); throws PORT_MAPPING_FAILED when it does not answer. */
  static async probe(gateway: string, timeoutMs: number, signal: AbortSignal, port = GATEWAY_PORT): Promise<NatPmpBackend> {
    let socket: GatewaySocket | null = null;
    try {
      socket = await GatewaySocket.open(gateway, port);
      const answer = await socket.request(encodePmpAddressRequest(), decodePmpAddressAnswer, timeoutMs, signal);
      return new NatPmpBackend(socket, answer.address);
    } catch (err) {
      socket?.close();
      throw mappingFailed(NAME, `no gateway answered at ${gateway}:${port}: ${reasonOf(err)}`, err);
    }
  }

  async map(request: BackendMapRequest, signal: AbortSignal, renewing?: BackendGrant): Promise<BackendGrant> {
    const externalPort = renewing?.externalPort ?? request.externalPort;
    let answer;
    try {
      answer = await this.#socket.request(
        encodePmpMapRequest(request.protocol, request.internalPort, externalPort, request.lifetimeSeconds),
        (msg) => decodePmpMapAnswer(msg, request.protocol, request.internalPort),
        REQUEST_MS, signal,
      );
    } catch (err) {
      throw mappingFailed(NAME, `mapping ${request.protocol} port ${request.internalPort} at ${this.gateway} failed: ${reasonOf(err)}`, err);
    }
    if (answer.externalPort === 0 || answer.lifetimeSeconds === 0) {
      throw mappingFailed(NAME, `the gateway ${this.gateway} answered with external port ${answer.externalPort} and lifetime ${answer.lifetimeSeconds}`);
    }
    return { externalHost: this.#address, externalPort: answer.externalPort, lifetimeSeconds: answer.lifetimeSeconds, via: 'nat-pmp' };
  }

  async unmap(request: BackendMapRequest, _grant: BackendGrant, signal: AbortSignal): Promise<void> {
    try {
      await this.#socket.request(
        encodePmpMapRequest(request.protocol, request.internalPort, 0, 0),
        (msg) => decodePmpMapAnswer(msg, request.protocol, request.internalPort),
        REQUEST_MS, signal,
      );
    } catch (err) {
      throw mappingFailed(NAME, `removing ${request.protocol} port ${request.internalPort} at ${this.gateway} failed: ${reasonOf(err)}`, err);
    }
  }

  async externalAddress(signal: AbortSignal): Promise<string> {
    try {
      const answer = await this.#socket.request(encodePmpAddressRequest(), decodePmpAddressAnswer, REQUEST_MS, signal);
      this.#address = answer.address;
      return answer.address;
    } catch (err) {
      throw mappingFailed(NAME, `asking ${this.gateway} for the external address failed: ${reasonOf(err)}`, err);
    }
  }

  close(): void {
    this.#socket.close();
  }
}
