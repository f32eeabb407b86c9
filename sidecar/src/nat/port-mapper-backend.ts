/**
 * The contract between the port mapper (port-mapper.ts) and the three router protocols it
 * speaks: UPnP IGD (port-mapper-upnp.ts), NAT-PMP (port-mapper-natpmp.ts) and PCP
 * (port-mapper-pcp.ts). A backend is one gateway that answered its protocol's probe.
 */
import { PkarrError } from '../core/errors.ts';
import type { MappingProtocol } from './port-mapper-wire.ts';

export type { MappingProtocol } from './port-mapper-wire.ts';

/** The protocol families a caller may allow. */
export type PortMappingMethod = 'upnp' | 'natpmp' | 'pcp';

/** What actually created a mapping. */
export type MappedVia = 'upnp-igd1' | 'upnp-igd2' | 'nat-pmp' | 'pcp';

export interface BackendMapRequest {
  protocol: MappingProtocol;
  /** The port of this host that receives the traffic. */
  internalPort: number;
  /** The external port asked for (0: any; the gateway may grant another). */
  externalPort: number;
  lifetimeSeconds: number;
  description: string;
}

export interface BackendGrant {
  externalHost: string;
  externalPort: number;
  /** The lease the gateway granted; 0 = permanent (an IGD v1 router that knows no leases). */
  lifetimeSeconds: number;
  via: MappedVia;
}

export interface MappingBackend {
  readonly method: PortMappingMethod;
  /** The gateway's address (and what it is, for messages). */
  readonly gateway: string;
  /**
   * Creates the mapping, or renews it when `renewing` names the previous grant (same external
   * port asked). Throws PORT_MAPPING_FAILED naming the protocol and the reason.
   */
  map(request: BackendMapRequest, signal: AbortSignal, renewing?: BackendGrant): Promise<BackendGrant>;
  /** Removes a mapping this backend made (best effort, bounded by `signal`). */
  unmap(request: BackendMapRequest, grant: BackendGrant, signal: AbortSignal): Promise<void>;
  /** The external address the gateway reports (null when the protocol cannot tell without a mapping). */
  externalAddress(signal: AbortSignal): Promise<string | null>;
  close(): void;
}

/** PORT_MAPPING_FAILED with the protocol named first. */
export function mappingFailed(protocol: string, why: string, cause?: unknown): PkarrError {
  return new PkarrError('PORT_MAPPING_FAILED', `${protocol}: ${why}`, { protocol }, cause === undefined ? undefined : { cause });
}

/** The message of an error of unknown type (bounded). */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
