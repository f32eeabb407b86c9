/**
 * The sidecar's one port mapper, started on first use: concurrent first calls share one
 * discovery, a failed discovery is retried by the next call (the router may have been switched
 * on), and `close` (in the sidecar's stop sequence) removes every mapping. Mapping events go to
 * `onEvent` (the RPC layer broadcasts them).
 */
import { PkarrError } from '../core/errors.ts';
import { PortMapper, type ExternalAddress, type MapRequest, type PortMapperEvent, type PortMapperOptions, type PortMapping, type PortMappingMethod } from './port-mapper.ts';

export interface PortMapperServiceOptions {
  /** Discovery options (protocols, gateway, time bound) used when the mapper starts. */
  discovery?: Omit<PortMapperOptions, 'onEvent' | 'signal'>;
  onEvent?: (event: PortMapperEvent) => void;
}

export class PortMapperService {
  readonly #options: PortMapperServiceOptions;
  #mapper: Promise<PortMapper> | null = null;
  #closed = false;

  constructor(options: PortMapperServiceOptions = {}) {
    this.#options = options;
  }

  /** The running mapper, starting it (with `methods` when given) if needed. */
  async #ready(methods?: readonly PortMappingMethod[]): Promise<PortMapper> {
    if (this.#closed) throw new PkarrError('PORT_MAPPING_FAILED', 'the sidecar is stopping');
    if (this.#mapper === null) {
      const starting = PortMapper.start({
        ...this.#options.discovery,
        ...(methods === undefined ? {} : { protocols: methods }),
        ...(this.#options.onEvent === undefined ? {} : { onEvent: this.#options.onEvent }),
      });
      this.#mapper = starting;
      starting.catch(() => {
        if (this.#mapper === starting) this.#mapper = null;
      });
    }
    const mapper = await this.#mapper;
    if (this.#closed) {
      await mapper.close();
      throw new PkarrError('PORT_MAPPING_FAILED', 'the sidecar is stopping');
    }
    return mapper;
  }

  /** Maps a port (discovering the gateway first if needed; `methods` applies only to that discovery). */
  async map(request: MapRequest, methods?: readonly PortMappingMethod[]): Promise<PortMapping> {
    return (await this.#ready(methods)).map(request);
  }

  /** Removes one mapping; false when it is not held. */
  async unmap(protocol: 'UDP' | 'TCP', internalPort: number): Promise<boolean> {
    const mapper = this.#mapper === null ? null : await this.#mapper.catch(() => null);
    return mapper === null ? false : mapper.unmap(protocol, internalPort);
  }

  /** The protocols found, the mappings held and the external address (asking the gateway); discovers when `discover`. */
  async status(discover: boolean): Promise<{ methods: PortMappingMethod[] | null; mappings: PortMapping[]; externalAddress: ExternalAddress | null }> {
    let mapper: PortMapper | null = null;
    if (discover) mapper = await this.#ready();
    else if (this.#mapper !== null) mapper = await this.#mapper.catch(() => null);
    if (mapper === null) return { methods: null, mappings: [], externalAddress: null };
    return { methods: mapper.methods, mappings: mapper.mappings(), externalAddress: await mapper.externalAddress() };
  }

  /** Removes every mapping and stops (idempotent); returns removal errors. */
  async close(): Promise<string[]> {
    if (this.#closed) return [];
    this.#closed = true;
    const mapper = this.#mapper === null ? null : await this.#mapper.catch(() => null);
    this.#mapper = null;
    return mapper === null ? [] : mapper.close();
  }
}
