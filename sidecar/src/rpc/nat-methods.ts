/**
 * The `nat.*` JSON-RPC methods (docs/rpc.md, "Port mapping"): map a port of this host on the
 * router (PCP, NAT-PMP or UPnP IGD; nat/port-mapper.ts), remove it, read the state. Mappings
 * belong to the sidecar, are renewed by it and removed when it stops.
 *
 * Wiring (serve): one PortMapperService per sidecar; `registerNatMethods(dispatcher, () => ({ nat }))`
 * and `nat.close()` in the stop sequence.
 */
import type { PortMapperService } from '../nat/port-mapper-service.ts';
import type { PortMapping, PortMappingMethod } from '../nat/port-mapper.ts';
import { DEFAULT_METHODS, MAX_TTL_SECONDS } from '../nat/port-mapper.ts';
import { invalidParams, type Dispatcher } from './dispatcher.ts';
import { onlyFields, optionalBoolean, optionalInt, requireInt } from './params.ts';

type Params = Record<string, unknown>;

export interface NatRpcContext {
  nat: PortMapperService;
}

function requireProtocol(params: Params): 'UDP' | 'TCP' {
  const v = params['protocol'];
  if (v === undefined) throw invalidParams('protocol', 'is required');
  if (typeof v !== 'string' || (v.toUpperCase() !== 'UDP' && v.toUpperCase() !== 'TCP')) throw invalidParams('protocol', 'must be "UDP" or "TCP"');
  return v.toUpperCase() as 'UDP' | 'TCP';
}

function methodsOf(params: Params): PortMappingMethod[] | undefined {
  const v = params['methods'];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || new Set(v).size !== v.length || v.some((m) => !DEFAULT_METHODS.includes(m as PortMappingMethod))) {
    throw invalidParams('methods', `must be a non-empty list of distinct ${DEFAULT_METHODS.map((m) => `"${m}"`).join(', ')}`);
  }
  return v as PortMappingMethod[];
}

/** The JSON form of a mapping (docs/rpc.md). */
export function mappingToJson(m: PortMapping): Record<string, unknown> {
  return {
    protocol: m.protocol,
    internalPort: m.internalPort,
    externalHost: m.externalHost,
    externalPort: m.externalPort,
    publicAddress: m.publicAddress,
    via: m.via,
    gateway: m.gateway,
    lifetimeSeconds: m.lifetimeSeconds,
    expiresAt: m.expiresAt,
  };
}

async function natMap(params: Params, ctx: NatRpcContext): Promise<unknown> {
  onlyFields(params, ['protocol', 'internalPort', 'externalPort', 'ttlSeconds', 'description', 'methods']);
  const protocol = requireProtocol(params);
  const internalPort = requireInt(params, 'internalPort', 1, 65535);
  const externalPort = optionalInt(params, 'externalPort', 0, 65535);
  const ttlSeconds = optionalInt(params, 'ttlSeconds', 1, MAX_TTL_SECONDS);
  const description = params['description'];
  if (description !== undefined && (typeof description !== 'string' || description.length > 64 || !/^[\x20-\x7e]*$/.test(description))) {
    throw invalidParams('description', 'must be at most 64 printable ASCII characters');
  }
  const mapping = await ctx.nat.map({
    protocol, internalPort,
    ...(externalPort === undefined ? {} : { externalPort }),
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    ...(description === undefined ? {} : { description: description as string }),
  }, methodsOf(params));
  return mappingToJson(mapping);
}

async function natUnmap(params: Params, ctx: NatRpcContext): Promise<unknown> {
  onlyFields(params, ['protocol', 'internalPort']);
  const removed = await ctx.nat.unmap(requireProtocol(params), requireInt(params, 'internalPort', 1, 65535));
  return { removed };
}

async function natStatus(params: Params, ctx: NatRpcContext): Promise<unknown> {
  onlyFields(params, ['discover']);
  const status = await ctx.nat.status(optionalBoolean(params, 'discover', false));
  return { methods: status.methods, mappings: status.mappings.map(mappingToJson), externalAddress: status.externalAddress };
}

export function registerNatMethods<C>(dispatcher: Dispatcher<C>, contextOf: (context: C) => NatRpcContext): Dispatcher<C> {
  const wrap = (handler: (params: Params, ctx: NatRpcContext) => Promise<unknown>) => (params: Params, context: C) => handler(params, contextOf(context));
  return dispatcher
    .register('nat.map', wrap(natMap))
    .register('nat.unmap', wrap(natUnmap))
    .register('nat.status', wrap(natStatus));
}
