/**
 * UPnP IGD v1 and v2 (WANIPConnection:1/2, WANPPPConnection:1): SSDP finds the gateway, its
 * description names the control URL, SOAP maps. IGD v2 uses AddAnyPortMapping (the gateway
 * picks a free port when ours is taken); IGD v1 uses AddPortMapping, trying a few other ports on
 * a conflict and a permanent lease on a router that knows no others (error 725). The control
 * URL must stay on the gateway that answered SSDP.
 */
import { randomInt } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { mappingFailed, reasonOf, type BackendGrant, type BackendMapRequest, type MappedVia, type MappingBackend } from './port-mapper-backend.ts';
import { fetchBounded, soapCall, UpnpFault, xmlBlocks, xmlText } from './port-mapper-http.ts';
import { discoverIgd } from './port-mapper-ssdp.ts';

const NAME = 'UPnP';
const REQUEST_MS = 2000;
/** Services that can map ports, best first. */
const SERVICE_TYPES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;
const CONFLICT = 718;
const ONLY_PERMANENT_LEASES = 725;
/** Other external ports an IGD v1 mapping tries after a conflict. */
const CONFLICT_RETRIES = 3;

export interface IgdService {
  serviceType: string;
  controlUrl: URL;
}

/** The best port-mapping service of a device description, or null (pure; `location` resolves relative URLs). */
export function pickIgdService(description: string, location: URL): IgdService | null {
  const base = xmlText(description, 'URLBase');
  let baseUrl = location;
  if (base !== null && base !== '') {
    try {
      baseUrl = new URL(base);
    } catch {
      baseUrl = location;
    }
  }
  const services = xmlBlocks(description, 'service', 128).map((block) => ({ type: xmlText(block, 'serviceType'), control: xmlText(block, 'controlURL') }));
  for (const wanted of SERVICE_TYPES) {
    const found = services.find((s) => s.type === wanted && s.control !== null && s.control !== '');
    if (found === undefined) continue;
    let controlUrl: URL;
    try {
      controlUrl = new URL(found.control!, baseUrl);
    } catch {
      continue;
    }
    // Control must stay on the device that answered: no request of ours goes to another host.
    if (controlUrl.protocol !== 'http:' || controlUrl.hostname !== location.hostname) continue;
    return { serviceType: wanted, controlUrl };
  }
  return null;
}

export class UpnpBackend implements MappingBackend {
  readonly method = 'upnp' as const;
  readonly gateway: string;
  readonly via: MappedVia;
  readonly #service: IgdService;
  readonly #internalClient: string;
  #address: string;

  private constructor(service: IgdService, internalClient: string, address: string) {
    this.#service = service;
    this.gateway = service.controlUrl.host;
    this.via = service.serviceType.endsWith(':2') ? 'upnp-igd2' : 'upnp-igd1';
    this.#internalClient = internalClient;
    this.#address = address;
  }

  /** SSDP search, description, service choice and a first GetExternalIPAddress; PORT_MAPPING_FAILED otherwise. */
  static async probe(timeoutMs: number, signal: AbortSignal, interfaces?: string[]): Promise<UpnpBackend> {
    const started = Date.now();
    let found;
    try {
      found = await discoverIgd(timeoutMs, signal, interfaces);
    } catch (err) {
      throw mappingFailed(NAME, reasonOf(err), err);
    }
    if (found === null) throw mappingFailed(NAME, `no Internet Gateway Device answered the SSDP search within ${timeoutMs} ms`);
    const left = (): number => Math.max(250, timeoutMs - (Date.now() - started));
    let service: IgdService | null;
    try {
      const description = await fetchBounded(found.location, { timeoutMs: left(), signal });
      if (description.status !== 200) throw new Error(`HTTP ${description.status}`);
      service = pickIgdService(description.body, found.location);
    } catch (err) {
      throw mappingFailed(NAME, `reading the gateway description ${found.location.href} failed: ${reasonOf(err)}`, err);
    }
    if (service === null) throw mappingFailed(NAME, `the gateway at ${found.location.host} offers no WANIPConnection/WANPPPConnection service on itself`);
    try {
      const { address, localAddress } = await externalAddressOf(service, left(), signal);
      return new UpnpBackend(service, localAddress !== '' ? localAddress : found.localAddress, address);
    } catch (err) {
      throw mappingFailed(NAME, `GetExternalIPAddress at ${service.controlUrl.host} failed: ${reasonOf(err)}`, err);
    }
  }

  async map(request: BackendMapRequest, signal: AbortSignal, renewing?: BackendGrant): Promise<BackendGrant> {
    const what = `mapping ${request.protocol} port ${request.internalPort} at ${this.gateway} (${this.#service.serviceType.split(':').slice(-2).join(':')})`;
    try {
      const grant = this.via === 'upnp-igd2' && renewing === undefined
        ? await this.#addAny(request, signal)
        : await this.#addWithRetries(request, renewing?.externalPort ?? (request.externalPort || request.internalPort), renewing !== undefined, signal);
      try {
        this.#address = (await externalAddressOf(this.#service, REQUEST_MS, signal)).address;
      } catch {
        // keep the address read at the probe
      }
      return { ...grant, externalHost: this.#address, via: this.via };
    } catch (err) {
      throw mappingFailed(NAME, `${what} failed: ${reasonOf(err)}`, err);
    }
  }

  async #addAny(request: BackendMapRequest, signal: AbortSignal): Promise<Omit<BackendGrant, 'externalHost' | 'via'>> {
    const answer = await soapCall(this.#service.controlUrl, this.#service.serviceType, 'AddAnyPortMapping', [
      ...this.#mappingArgs(request, request.externalPort || request.internalPort),
      ['NewLeaseDuration', request.lifetimeSeconds],
    ], REQUEST_MS, signal);
    const port = Number(xmlText(answer.body, 'NewReservedPort'));
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('AddAnyPortMapping answered without a valid NewReservedPort');
    return { externalPort: port, lifetimeSeconds: request.lifetimeSeconds };
  }

  async #addWithRetries(request: BackendMapRequest, firstPort: number, renewing: boolean, signal: AbortSignal): Promise<Omit<BackendGrant, 'externalHost' | 'via'>> {
    let port = firstPort;
    let lease = request.lifetimeSeconds;
    for (let attempt = 0; ; attempt++) {
      try {
        await soapCall(this.#service.controlUrl, this.#service.serviceType, 'AddPortMapping', [
          ...this.#mappingArgs(request, port), ['NewLeaseDuration', lease],
        ], REQUEST_MS, signal);
        return { externalPort: port, lifetimeSeconds: lease };
      } catch (err) {
        if (err instanceof UpnpFault && err.upnpCode === ONLY_PERMANENT_LEASES && lease !== 0) {
          lease = 0;
        } else if (err instanceof UpnpFault && err.upnpCode === CONFLICT && !renewing && attempt < CONFLICT_RETRIES) {
          port = randomInt(1024, 65536);
        } else {
          throw err;
        }
      }
    }
  }

  #mappingArgs(request: BackendMapRequest, externalPort: number): [string, string | number][] {
    return [
      ['NewRemoteHost', ''],
      ['NewExternalPort', externalPort],
      ['NewProtocol', request.protocol],
      ['NewInternalPort', request.internalPort],
      ['NewInternalClient', this.#internalClient],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', request.description],
    ];
  }

  async unmap(request: BackendMapRequest, grant: BackendGrant, signal: AbortSignal): Promise<void> {
    try {
      await soapCall(this.#service.controlUrl, this.#service.serviceType, 'DeletePortMapping', [
        ['NewRemoteHost', ''], ['NewExternalPort', grant.externalPort], ['NewProtocol', request.protocol],
      ], REQUEST_MS, signal);
    } catch (err) {
      throw mappingFailed(NAME, `removing ${request.protocol} port ${grant.externalPort} at ${this.gateway} failed: ${reasonOf(err)}`, err);
    }
  }

  async externalAddress(signal: AbortSignal): Promise<string> {
    try {
      this.#address = (await externalAddressOf(this.#service, REQUEST_MS, signal)).address;
      return this.#address;
    } catch (err) {
      throw mappingFailed(NAME, `GetExternalIPAddress at ${this.gateway} failed: ${reasonOf(err)}`, err);
    }
  }

  close(): void {
    // HTTP requests use no kept-alive connections: nothing to release.
  }
}

async function externalAddressOf(service: IgdService, timeoutMs: number, signal: AbortSignal): Promise<{ address: string; localAddress: string }> {
  const answer = await soapCall(service.controlUrl, service.serviceType, 'GetExternalIPAddress', [], timeoutMs, signal);
  const address = xmlText(answer.body, 'NewExternalIPAddress') ?? '';
  if (!isIPv4(address)) throw new Error(`the gateway reports no IPv4 external address (${JSON.stringify(address.slice(0, 40))})`);
  return { address, localAddress: answer.localAddress };
}
