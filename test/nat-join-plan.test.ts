/**
 * The pure halves of hosting and joining behind NAT: which path a player takes (join-plan.ts) and
 * what a host publishes from its reachability (nat-service.ts describeHost). The network halves
 * run in the NAT lab (nat-join-lab.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import type { LobbyEndpoint } from '../sidecar/src/lobby/lobby-endpoints.ts';
import { describeHost } from '../sidecar/src/nat/nat-service.ts';
import { planJoin } from '../sidecar/src/nat/join-plan.ts';
import type { NatReport, NatType } from '../sidecar/src/nat/nat-type.ts';
import type { PortMapping } from '../sidecar/src/nat/port-mapper.ts';

const HOST_WAN = '11.77.20.2';
const PLAYER_WAN = '11.77.21.2';

function lobby(reach: NatType, endpoints: LobbyEndpoint[]): { reach: NatType; endpoints: LobbyEndpoint[] } {
  return { reach, endpoints };
}

function own(type: NatType, publicHost: string | null = PLAYER_WAN): Pick<NatReport, 'type' | 'publicHost'> {
  return { type, publicHost };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isPkarrError(err) ? `${err.code}${typeof err.details?.['lobbyError'] === 'string' ? `/${err.details['lobbyError']}` : ''}` : 'not a PkarrError';
  }
  return undefined;
}

describe('planJoin: the path a player takes', () => {
  const punch = { transport: 'punch', host: HOST_WAN, port: 40000 };
  const lan = { transport: 'lan', host: '10.77.3.2', port: 7777 };
  const enet = { transport: 'enet', host: HOST_WAN, port: 7777 };

  it('goes over the LAN when host and player share a public address', () => {
    expect(planJoin(lobby('cone', [punch, lan]), 'enet', own('cone', HOST_WAN))).toEqual({ via: 'lan', host: '10.77.3.2', port: 7777 });
    expect(planJoin(lobby('mapped', [enet, lan]), 'enet', own('symmetric', HOST_WAN))).toEqual({ via: 'lan', host: '10.77.3.2', port: 7777 });
    expect(planJoin(lobby('cone', [punch, lan]), 'enet', own('cone')).via).toBe('punched');
  });

  it('connects directly to public, mapped and older (unknown) hosts', () => {
    for (const reach of ['public', 'mapped', 'unknown'] as const) {
      expect(planJoin(lobby(reach, [enet]), 'enet', own('symmetric'))).toEqual({ via: 'direct', host: HOST_WAN, port: 7777 });
    }
    expect(codeOf(() => planJoin(lobby('public', [enet]), 'ws', own('cone')))).toBe('NOT_FOUND/NO_TRANSPORT');
  });

  it('punches to cone and symmetric hosts, except between two symmetric NATs', () => {
    expect(planJoin(lobby('cone', [punch]), 'enet', own('symmetric'))).toEqual({ via: 'punched', host: HOST_WAN, port: 40000 });
    expect(planJoin(lobby('symmetric', [punch]), 'enet', own('cone'))).toEqual({ via: 'punched', host: HOST_WAN, port: 40000 });
    expect(planJoin(lobby('symmetric', [punch]), 'enet', null).via).toBe('punched');
    expect(codeOf(() => planJoin(lobby('symmetric', [punch]), 'enet', own('symmetric')))).toBe('UNREACHABLE_NAT');
  });

  it('refuses what cannot cross a NAT with UNREACHABLE_NAT and advice', () => {
    expect(codeOf(() => planJoin(lobby('cone', [punch]), 'ws', own('public')))).toBe('UNREACHABLE_NAT');
    expect(codeOf(() => planJoin(lobby('cone', []), 'enet', own('public')))).toBe('UNREACHABLE_NAT');
    expect(() => planJoin(lobby('cone', [punch]), 'ws', own('public'))).toThrow(/enable UPnP or NAT-PMP/);
  });
});

function report(type: NatType, extra: Partial<NatReport> = {}): NatReport {
  const address = type === 'cone' || type === 'public' ? { host: HOST_WAN, port: 40000 } : null;
  return {
    type, rating: 'moderate', publicAddress: address, observedAddress: address, publicHost: type === 'unknown' ? null : HOST_WAN,
    voters: 5, responders: 5, dissenters: 0, directlyReachable: type === 'public', punchable: type !== 'symmetric', routable: true,
    portPreserved: true, doubleNat: false, via: null, mapping: null, summary: `a ${type} report`, ...extra,
  } as NatReport;
}

describe('describeHost: what a host publishes', () => {
  const mapping = { protocol: 'UDP', internalPort: 7777, externalHost: HOST_WAN, externalPort: 17777 } as PortMapping;

  it('a router mapping of the game port wins: the game endpoint at the external address and port', () => {
    const described = describeHost(report('cone'), mapping, 7777, 5000);
    expect(described).toMatchObject({ reach: 'mapped', address: HOST_WAN, publicGamePort: 17777, endpoints: [] });
    expect(describeHost(null, mapping, 7777, 5000).reach).toBe('mapped');
  });

  it('a mapping to a private external address (double NAT) is not used', () => {
    const privateMapping = { ...mapping, externalHost: '192.168.1.2' };
    expect(describeHost(report('cone'), privateMapping, 7777, 5000).reach).toBe('cone');
  });

  it('public: the public address; cone: a punch endpoint and no game endpoint', () => {
    expect(describeHost(report('public'), null, 7777, 5000)).toMatchObject({ reach: 'public', address: HOST_WAN, endpoints: [] });
    expect(describeHost(report('cone'), null, 7777, 5000)).toMatchObject({
      reach: 'cone', address: null, endpoints: [{ transport: 'punch', host: HOST_WAN, port: 40000 }],
    });
  });

  it('symmetric: the public IP with the local punch port as a hint', () => {
    expect(describeHost(report('symmetric'), null, 7777, 5000)).toMatchObject({
      reach: 'symmetric', endpoints: [{ transport: 'punch', host: HOST_WAN, port: 5000 }],
    });
  });

  it('unknown, or nothing known at all: ADDRESS_UNKNOWN', () => {
    expect(codeOf(() => describeHost(report('unknown'), null, 7777, 5000))).toBe('ADDRESS_UNKNOWN');
    expect(codeOf(() => describeHost(null, null, 7777, 5000))).toBe('ADDRESS_UNKNOWN');
  });
});
