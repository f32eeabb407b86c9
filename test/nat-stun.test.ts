/**
 * DHT-STUN (nat/dht-stun.ts), the NAT-type classifier (nat/nat-type.ts) and the reachability
 * adapter (nat/reachability.ts) on loopback: test responders on 127.0.0.2.. answer pings with a
 * BEP42 `ip` field (bittorrent-dht nodes never send one) and can pretend to sit behind any kind of
 * NAT, lie, or misbehave.
 * The codec and mutated answers: nat-stun-codec.test.ts. The same code against real libtorrent
 * nodes and real Linux NATs: nat-stun-lab.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { bdecode, type BencodeDict } from '../sidecar/src/dht/bencode.ts';
import { dhtStun, parseIPv4Node, pickStunNodes } from '../sidecar/src/nat/dht-stun.ts';
import { classifyNat, type NatClassifyInput, type NatObservation } from '../sidecar/src/nat/nat-type.ts';
import { natStatusJson, Reachability } from '../sidecar/src/nat/reachability.ts';
import { createMethodDispatcher, type RpcServices } from '../sidecar/src/rpc/methods.ts';
import type { UdpChannel } from '../sidecar/src/nat/udp-channel.ts';
import { compactIPv4, DgramChannel, pingAnswer, StunResponder, type ResponderMode } from './nat-stun-helpers.ts';

const NAT = { host: '11.77.0.2', port: 40000 };
const TIMEOUT_MS = 300;

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown = null;
  try { fn(); } catch (err) { thrown = err; }
  expect(isPkarrError(thrown) ? thrown.code : thrown).toBe(code);
}

describe('DHT-STUN on loopback', () => {
  let channel: DgramChannel;
  const responders: StunResponder[] = [];

  async function nodes(modes: ResponderMode[]): Promise<string[]> {
    const started = await Promise.all(modes.map((mode, i) => StunResponder.start(`127.0.0.${2 + responders.length + i}`, mode)));
    responders.push(...started);
    return started.map((r) => r.node);
  }

  beforeAll(async () => { channel = await DgramChannel.open(); });
  afterEach(async () => {
    await Promise.all(responders.splice(0).map((r) => r.close()));
    expect(channel.listeners).toBe(0); // every run removed its receiver
  });
  afterAll(async () => { await channel.close(); });

  it('sends one well-formed read-only ping per node and reads the address each responder saw', async () => {
    const list = await nodes([{ kind: 'report' }, { kind: 'report' }, { kind: 'report' }]);
    const nodeId = Buffer.alloc(20, 0xab);
    const result = await dhtStun({ channel, nodes: list, nodeId, timeoutMs: 5000 });
    expect(result.malformed + result.unexpected).toBe(0);
    expect(result.observations.map((o) => o.node).sort()).toEqual([...list].sort());
    for (const o of result.observations) {
      expect(o.outcome).toBe('ok');
      expect(o.mapped).toEqual(channel.localAddress());
      expect(o.rttMs).toBeGreaterThanOrEqual(0);
    }
    const ids = new Set<string>();
    for (const r of responders) {
      expect(r.queries).toHaveLength(1);
      const q = bdecode(r.queries[0]!) as BencodeDict;
      expect(Object.keys(q).sort()).toEqual(['a', 'q', 'ro', 't', 'y']);
      expect([String(q['y']), String(q['q']), q['ro']]).toEqual(['q', 'ping', 1]);
      expect((q['a'] as BencodeDict)['id']).toEqual(nodeId);
      ids.add((q['t'] as Buffer).toString('hex'));
    }
    expect(ids.size).toBe(3); // own transaction id per ping
    const report = classifyNat({ observations: result.observations, localPort: channel.localAddress().port, interfaceAddresses: ['127.0.0.1'] });
    expect([report.type, report.voters, report.publicAddress]).toEqual(['public', 3, channel.localAddress()]);
  });

  it('agreement on one public address: cone; a different port per responder: symmetric', async () => {
    const cone = await nodes([0, 1, 2, 3].map(() => ({ kind: 'report', as: () => NAT })));
    const agreed = await dhtStun({ channel, nodes: cone, timeoutMs: 5000 });
    const report = classifyNat({ observations: agreed.observations, localPort: channel.localAddress().port, interfaceAddresses: ['127.0.0.1'] });
    expect([report.type, report.rating, report.punchable, report.voters, report.publicAddress]).toEqual(['cone', 'moderate', true, 4, NAT]);

    const symmetric = await nodes([0, 1, 2].map((i) => ({ kind: 'report', as: () => ({ host: NAT.host, port: NAT.port + 1 + i }) })));
    const disagreed = await dhtStun({ channel, nodes: symmetric, timeoutMs: 5000 });
    const strict = classifyNat({ observations: disagreed.observations, localPort: channel.localAddress().port, interfaceAddresses: ['127.0.0.1'] });
    expect([strict.type, strict.rating, strict.punchable, strict.publicAddress, strict.publicHost]).toEqual(['symmetric', 'strict', false, null, NAT.host]);
  });

  it('bounded by the timeout: silent nodes time out, answers without ip or with a KRPC error say so; too few voters is unknown', async () => {
    const list = await nodes([{ kind: 'report' }, { kind: 'silent' }, { kind: 'silent' }, { kind: 'no-ip' }, { kind: 'error' }]);
    const result = await dhtStun({ channel, nodes: list, timeoutMs: TIMEOUT_MS });
    const byNode = new Map(result.observations.map((o) => [o.node, o]));
    expect(list.map((n) => byNode.get(n)!.outcome)).toEqual(['ok', 'timeout', 'timeout', 'no-ip', 'krpc-error']);
    expect(list.map((n) => byNode.get(n)!.rttMs === null)).toEqual([false, true, true, false, false]);
    expect(list.map((n) => byNode.get(n)!.mapped === null)).toEqual([false, true, true, true, true]);
    const report = classifyNat({ observations: result.observations, localPort: channel.localAddress().port, interfaceAddresses: ['127.0.0.1'] });
    expect([report.type, report.voters, report.publicAddress, report.punchable]).toEqual(['unknown', 1, null, false]);
  });

  it('ignores (and counts) answers with a forged transaction id, from the wrong port, or repeated', async () => {
    const list = await nodes([{ kind: 'forged-t' }, { kind: 'from-other-port' }, { kind: 'twice', second: { host: '6.6.6.6', port: 666 } }]);
    const result = await dhtStun({ channel, nodes: list, timeoutMs: TIMEOUT_MS });
    const byNode = new Map(result.observations.map((o) => [o.node, o]));
    expect(list.map((n) => byNode.get(n)!.outcome)).toEqual(['timeout', 'timeout', 'ok']);
    expect(byNode.get(list[2]!)!.mapped).toEqual(channel.localAddress()); // the first answer counts, the second is ignored
    expect(result.unexpected).toBe(3);
    expect(result.observations.some((o) => o.mapped?.host === '6.6.6.6')).toBe(false);
  });

  it('ignores (and counts) malformed answers', async () => {
    const payloads = ['d3:foo', 'de', 'd1:t4:abcd1:y1:re', 'd1:rd2:id3:abce1:t4:abcd1:y1:re', 'd1:t4:abcd1:y1:xe', 'dli1eei2ee', 'd1:e3:xyz1:t4:abcd1:y1:ee'];
    const list = await nodes(payloads.map((p) => ({ kind: 'malformed', payload: Buffer.from(p, 'latin1') })));
    const result = await dhtStun({ channel, nodes: list, count: payloads.length, timeoutMs: TIMEOUT_MS });
    expect(result.malformed).toBe(payloads.length);
    expect(result.observations.every((o) => o.outcome === 'timeout')).toBe(true);
  });

  it('a bad ip field (port 0, IPv6, wrong length, not a string) is an answer without an address', async () => {
    const list = await nodes([
      { kind: 'report', as: () => ({ host: '11.77.0.2', port: 0 }) },
      { kind: 'raw-ip', ip: Buffer.from('2:ip18:' + 'x'.repeat(18), 'latin1') },
      { kind: 'raw-ip', ip: Buffer.from('2:ip5:abcde', 'latin1') },
      { kind: 'raw-ip', ip: Buffer.from('2:ipi7e', 'latin1') },
    ]);
    const result = await dhtStun({ channel, nodes: list, timeoutMs: 5000 });
    expect(result.observations.map((o) => [o.outcome, o.mapped])).toEqual(list.map(() => ['no-ip', null]));
    expect(result.malformed + result.unexpected).toBe(0);
  });

  it('refuses bad options and non-loopback nodes; no nodes is an empty result; abort rejects with TIMEOUT', async () => {
    const bad: [Parameters<typeof dhtStun>[0], string][] = [
      [{ channel, nodes: ['127.0.0.1'] }, 'INVALID_ARGUMENT'],
      [{ channel, nodes: ['127.0.0.1:0'] }, 'INVALID_ARGUMENT'],
      [{ channel, nodes: ['localhost:6881'] }, 'INVALID_ARGUMENT'],
      [{ channel, nodes: ['[::1]:6881'] }, 'INVALID_ARGUMENT'],
      [{ channel, nodes: ['8.8.8.8:53'] }, 'INVALID_ARGUMENT'], // PKARR_LOOPBACK_ONLY=1
      [{ channel, nodes: [], count: 0 }, 'INVALID_ARGUMENT'],
      [{ channel, nodes: [], count: 33 }, 'INVALID_ARGUMENT'],
      [{ channel, nodes: [], timeoutMs: 5 }, 'INVALID_ARGUMENT'],
      [{ channel, nodes: [], nodeId: new Uint8Array(19) }, 'INVALID_ARGUMENT'],
    ];
    for (const [options, code] of bad) expectCode(() => dhtStun(options), code);
    await expect(dhtStun({ channel, nodes: [] })).resolves.toEqual({ observations: [], malformed: 0, unexpected: 0 });

    const list = await nodes([{ kind: 'silent' }]);
    const abort = new AbortController();
    const running = dhtStun({ channel, nodes: list, timeoutMs: 60_000, signal: abort.signal });
    abort.abort(new Error('test'));
    await expect(running).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('a send that fails (rejected or thrown) is reported per node and neither ends the run early nor holds it up', async () => {
    const failing = (how: 'reject' | 'throw', sent: string[]): UdpChannel => ({
      send: (_payload, to) => {
        sent.push(to.host);
        if (to.host !== '127.0.0.2') return new Promise(() => undefined); // sent, never answered
        if (how === 'throw') throw new Error('EPERM');
        return Promise.reject(new Error('EPERM'));
      },
      onMessage: () => () => undefined,
      localAddress: () => ({ host: '127.0.0.1', port: 1 }),
    });
    for (const how of ['reject', 'throw'] as const) {
      const sent: string[] = [];
      const result = await dhtStun({ channel: failing(how, sent), nodes: ['127.0.0.2:1', '127.0.0.3:1'], timeoutMs: TIMEOUT_MS });
      expect(sent.sort()).toEqual(['127.0.0.2', '127.0.0.3']);
      const byNode = new Map(result.observations.map((o) => [o.node, o.outcome]));
      expect([byNode.get('127.0.0.2:1'), byNode.get('127.0.0.3:1')]).toEqual(['send-failed', 'timeout']);
    }
    const all: string[] = [];
    const allFail: UdpChannel = { ...failing('throw', all), send: () => { throw new Error('EPERM'); } };
    const result = await dhtStun({ channel: allFail, nodes: ['127.0.0.2:1', '127.0.0.3:1'], timeoutMs: 60_000 });
    expect(result.observations.map((o) => o.outcome)).toEqual(['send-failed', 'send-failed']);
  });

  it('an answer from a dual-stack socket (::ffff:a.b.c.d) matches its IPv4 node', async () => {
    let deliver: ((payload: Buffer, from: { host: string; port: number }) => void) | null = null;
    const channel6: UdpChannel = {
      send: async (payload, to) => {
        const t = bdecode(payload) as BencodeDict;
        queueMicrotask(() => deliver?.(pingAnswer(t['t'] as Buffer, Buffer.alloc(20), compactIPv4(NAT)), { host: `::ffff:${to.host}`, port: to.port }));
      },
      onMessage: (handler) => { deliver = handler; return () => { deliver = null; }; },
      localAddress: () => ({ host: '::', port: 1 }),
    };
    const result = await dhtStun({ channel: channel6, nodes: ['127.0.0.2:1'], timeoutMs: 60_000 });
    expect(result.observations[0]).toMatchObject({ outcome: 'ok', mapped: NAT });
  });

  it('pings at most `count` nodes, each once, one per host first', () => {
    const list = ['127.0.0.2:1', '127.0.0.2:2', '127.0.0.2:1', '127.0.0.3:1', '127.0.0.4:1'].map(parseIPv4Node);
    for (let round = 0; round < 20; round++) {
      const picked = pickStunNodes(list, 3).map((a) => `${a.host}:${a.port}`);
      expect(new Set(picked.map((p) => p.split(':')[0])).size).toBe(3);
      expect(pickStunNodes(list, 10)).toHaveLength(4);
    }
  });
});

const obs = (...entries: [string, string | null][]): NatObservation[] =>
  entries.map(([node, mapped]) => ({ node, mapped: mapped === null ? null : parseIPv4Node(mapped) }));

describe('NAT type classification (docs/nat.md §1), every row', () => {
  const LOCAL = 7777;
  const own = ['127.0.0.1', '192.168.1.20'];
  const classify = (observations: NatObservation[], extra: Partial<NatClassifyInput> = {}): ReturnType<typeof classifyNat> =>
    classifyNat({ observations, localPort: LOCAL, interfaceAddresses: own, ...extra });

  it('public: the responders agree on one of our own addresses and our port', () => {
    const r = classify(obs(['1.1.1.1:6881', '192.168.1.20:7777'], ['2.2.2.2:6881', '192.168.1.20:7777']));
    expect([r.type, r.rating, r.directlyReachable, r.punchable, r.routable, r.voters, r.doubleNat]).toEqual(['public', 'open', true, true, false, 2, false]);
    const pub = classifyNat({ observations: obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.8:7777']), localPort: LOCAL, interfaceAddresses: ['5.6.7.8'] });
    expect([pub.type, pub.routable, pub.summary]).toEqual(['public', true, expect.stringMatching(/^NAT type open: no NAT/)]);
    // Our own address but another port: a NAT on this very host.
    expect(classify(obs(['1.1.1.1:1', '192.168.1.20:9999'], ['2.2.2.2:1', '192.168.1.20:9999'])).type).toBe('cone');
  });

  it('cone: at least 2 distinct responders agree on one public address and port', () => {
    const r = classify(obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.8:7777'], ['3.3.3.3:1', null]));
    expect([r.type, r.rating, r.punchable, r.directlyReachable, r.publicAddress, r.voters, r.responders, r.dissenters, r.portPreserved, r.routable])
      .toEqual(['cone', 'moderate', true, false, { host: '5.6.7.8', port: 7777 }, 2, 2, 0, true, true]);
    expect(r.summary).toMatch(/^NAT type moderate/);
    expect(classify(obs(['1.1.1.1:1', '5.6.7.8:1024'], ['2.2.2.2:1', '5.6.7.8:1024'])).portPreserved).toBe(false);
    // A lone liar is outvoted (and counted).
    const outvoted = classify(obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.8:7777'], ['3.3.3.3:1', '6.6.6.6:666']));
    expect([outvoted.type, outvoted.voters, outvoted.dissenters]).toEqual(['cone', 2, 1]);
  });

  it('symmetric: different ports for one socket, with no strict majority', () => {
    const two = classify(obs(['1.1.1.1:1', '5.6.7.8:40001'], ['2.2.2.2:1', '5.6.7.8:40002']));
    expect([two.type, two.rating, two.punchable, two.publicAddress, two.publicHost, two.voters, two.routable, two.portPreserved])
      .toEqual(['symmetric', 'strict', false, null, '5.6.7.8', 2, true, null]);
    expect(two.summary).toMatch(/^NAT type strict/);
    // 2 agree, 2 others disagree: no majority.
    expect(classify(obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.8:7777'], ['3.3.3.3:1', '5.6.7.8:1'], ['4.4.4.4:1', '5.6.7.8:2'])).type).toBe('symmetric');
    // Different hosts too (address pooling): symmetric with no public host.
    const pooled = classify(obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.9:7777']));
    expect([pooled.type, pooled.publicHost, pooled.voters]).toEqual(['symmetric', null, 0]);
  });

  it('responders on private addresses do not vote when public ones answered (they see our LAN address)', () => {
    const lan = obs(['192.168.1.30:6881', '192.168.1.20:7777'], ['192.168.1.31:6881', '192.168.1.20:7777'], ['10.0.0.9:6881', '192.168.1.20:7777']);
    const mixed = classify([...lan, ...obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.8:7777'])]);
    expect([mixed.type, mixed.voters, mixed.responders, mixed.publicAddress]).toEqual(['cone', 2, 2, { host: '5.6.7.8', port: 7777 }]);
    // Only LAN nodes: they are all there is (no NAT between us and them).
    expect([classify(lan).type, classify(lan).voters]).toEqual(['public', 3]);
  });

  it('unknown: fewer than 2 distinct responders with an address', () => {
    for (const observations of [
      obs(),
      obs(['1.1.1.1:1', null], ['2.2.2.2:1', null]),
      obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', null]),
      // One host on two ports is one witness.
      obs(['1.1.1.1:1', '5.6.7.8:7777'], ['1.1.1.1:2', '5.6.7.8:7777']),
    ]) {
      const r = classify(observations);
      expect([r.type, r.rating, r.punchable, r.publicAddress], JSON.stringify(observations)).toEqual(['unknown', 'unknown', false, null]);
      expect(r.summary).toMatch(/^NAT type unknown/);
    }
  });

  it('mapped: a router mapping with a public external address wins over every STUN result', () => {
    const portMapping = { externalHost: '5.6.7.8', externalPort: 7000, via: 'nat-pmp' };
    for (const observations of [obs(), obs(['1.1.1.1:1', '5.6.7.8:40001'], ['2.2.2.2:1', '5.6.7.8:40002']), obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.8:7777'])]) {
      const r = classify(observations, { portMapping });
      expect([r.type, r.rating, r.directlyReachable, r.punchable, r.publicAddress, r.via, r.doubleNat, r.mapping])
        .toEqual(['mapped', 'open', true, true, { host: '5.6.7.8', port: 7000 }, 'nat-pmp', false, portMapping]);
    }
    const both = classify(obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.8:7777']), { portMapping });
    expect([both.observedAddress, both.voters, both.portPreserved]).toEqual([{ host: '5.6.7.8', port: 7777 }, 2, false]);
  });

  it('a mapped address that is not public (CGNAT, double NAT) is reported as such, not as reachable', () => {
    const portMapping = { externalHost: '100.64.3.4', externalPort: 7777, via: 'upnp-igd' };
    const r = classify(obs(['1.1.1.1:1', '5.6.7.8:7777'], ['2.2.2.2:1', '5.6.7.8:7777']), { portMapping });
    expect([r.type, r.doubleNat, r.punchable, r.directlyReachable, r.mapping]).toEqual(['cone', true, true, false, portMapping]);
    expect(r.summary).toMatch(/not reachable from the internet.*not public/);
    const alone = classify(obs(), { portMapping: { ...portMapping, externalHost: '10.0.0.1' } });
    expect([alone.type, alone.doubleNat]).toEqual(['unknown', true]);
    // The DHT itself sees a carrier-grade NAT address that is not ours: not punchable from the internet.
    const cgnat = classify(obs(['1.1.1.1:1', '100.64.0.5:7777'], ['2.2.2.2:1', '100.64.0.5:7777']));
    expect([cgnat.type, cgnat.rating, cgnat.doubleNat, cgnat.punchable, cgnat.routable]).toEqual(['cone', 'strict', true, false, false]);
    expect(cgnat.summary).toMatch(/100\.64\.0\.5, which is not a public address/);
  });

  it('refuses malformed input with INVALID_ARGUMENT', () => {
    const ok = obs(['1.1.1.1:1', '5.6.7.8:7777']);
    for (const input of [
      { observations: ok, localPort: 0, interfaceAddresses: own },
      { observations: ok, localPort: 70000, interfaceAddresses: own },
      { observations: ok, localPort: LOCAL, interfaceAddresses: 'x' },
      { observations: 'x', localPort: LOCAL, interfaceAddresses: own },
      { observations: [{ node: 'nope', mapped: null }], localPort: LOCAL, interfaceAddresses: own },
      { observations: [{ node: '1.1.1.1:1', mapped: { host: 'x', port: 1 } }], localPort: LOCAL, interfaceAddresses: own },
      { observations: [{ node: '1.1.1.1:1', mapped: { host: '5.6.7.8', port: 0 } }], localPort: LOCAL, interfaceAddresses: own },
      { observations: ok, localPort: LOCAL, interfaceAddresses: own, portMapping: { externalHost: 'router', externalPort: 1, via: 'upnp' } },
      { observations: ok, localPort: LOCAL, interfaceAddresses: own, portMapping: { externalHost: '5.6.7.8', externalPort: 0, via: 'upnp' } },
      { observations: ok, localPort: LOCAL, interfaceAddresses: own, portMapping: { externalHost: '5.6.7.8', externalPort: 1, via: '' } },
    ]) expectCode(() => classifyNat(input as unknown as NatClassifyInput), 'INVALID_ARGUMENT');
  });
});

describe('Reachability adapter', () => {
  let channel: DgramChannel;
  const responders: StunResponder[] = [];
  const open: Reachability[] = [];
  beforeAll(async () => {
    channel = await DgramChannel.open();
    for (let i = 0; i < 3; i++) responders.push(await StunResponder.start(`127.0.0.${20 + i}`, { kind: 'report', as: () => NAT }));
  });
  afterEach(() => { for (const r of open.splice(0)) r.close(); });
  afterAll(async () => {
    await Promise.all(responders.map((r) => r.close()));
    await channel.close();
  });

  function reachability(extra: Partial<ConstructorParameters<typeof Reachability>[0]> = {}): Reachability {
    const r = new Reachability({
      channel, nodes: () => responders.map((x) => x.node), interfaceAddresses: () => ['127.0.0.1'], intervalMs: 0,
      stun: { timeoutMs: 2000 }, ...extra,
    });
    open.push(r);
    return r;
  }

  it('probes on demand (one probe for concurrent callers), keeps the latest report and tells listeners only of changes', async () => {
    const r = reachability();
    const changes: string[] = [];
    r.onChange((report, previous) => changes.push(`${previous?.type ?? 'none'}→${report.type}`));
    expect(r.latest()).toBeNull();
    expect(natStatusJson(r.snapshot())).toMatchObject({ reachability: 'unknown', natType: 'unknown', checkedAt: null });
    const first = r.refresh();
    expect(r.refresh()).toBe(first);
    expect((await first).type).toBe('cone');
    await r.refresh();
    expect(changes).toEqual(['none→cone']);
    expect(r.lastObservations()?.observations).toHaveLength(3);

    for (const [i, responder] of responders.entries()) responder.mode = { kind: 'report', as: () => ({ host: NAT.host, port: NAT.port + 1 + i }) };
    expect((await r.refresh()).type).toBe('symmetric');
    for (const responder of responders) responder.mode = { kind: 'report', as: () => NAT };
    expect(changes).toEqual(['none→cone', 'cone→symmetric']);
  });

  it('re-classifies when the port mapping changes, and shows the status JSON the addon reads', async () => {
    let mapping: { externalHost: string; externalPort: number; via: string } | null = null;
    const r = reachability({ portMapping: () => mapping });
    await r.refresh();
    mapping = { externalHost: NAT.host, externalPort: 7777, via: 'upnp-igd' };
    expect(r.reclassify()?.type).toBe('mapped');
    const json = natStatusJson(r.snapshot());
    expect(json).toMatchObject({
      reachability: 'mapped', natType: 'open', punchable: true, directlyReachable: true, publicAddress: `${NAT.host}:7777`,
      observedAddress: `${NAT.host}:${NAT.port}`, voters: 3, responders: 3, doubleNat: false,
      mapping: { protocol: 'upnp-igd', externalHost: NAT.host, externalPort: 7777 },
    });
    expect(json.description).toMatch(/^NAT type open/);
    expect(Number.isNaN(Date.parse(json.checkedAt!))).toBe(false);

    // The RPC `status` result carries it as `nat` when the sidecar runs a punch socket, and omits it otherwise.
    const services = {
      version: '0', pid: 1, dataDir: '/x', startedAt: Date.now(), keys: { count: () => 0 }, client: null,
      dht: () => ({ enabled: false, ready: false, nodes: 0 }), relays: [], republisher: null, lastRepublished: new Map(), shutdown: () => undefined,
    } as unknown as RpcServices; // only what `status` reads
    const dispatcher = createMethodDispatcher();
    const call = async (s: RpcServices): Promise<Record<string, unknown>> =>
      JSON.parse((await dispatcher.handle(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'status' }), s))!).result;
    expect((await call({ ...services, nat: () => natStatusJson(r.snapshot()) }))['nat']).toEqual(json);
    expect('nat' in (await call(services))).toBe(false);
  });

  it('probes periodically once started; no nodes yet is unknown; close stops it and refuses more probes', async () => {
    const list: string[] = [];
    const r = reachability({ nodes: () => list, intervalMs: 100, retryUnknownMs: 100 });
    const reports: string[] = [];
    const done = new Promise<void>((resolve) => {
      r.onChange((report) => {
        reports.push(report.type);
        if (report.type === 'unknown') list.push(...responders.map((x) => x.node)); // the DHT "bootstrapped"
        if (report.type === 'cone') resolve();
      });
    });
    r.start();
    await done;
    expect(reports).toEqual(['unknown', 'cone']);
    r.close();
    await expect(r.refresh()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => reachability({ intervalMs: 5 })).toThrow(/probe interval/);
  });

  it('close aborts a probe in progress', async () => {
    const silent = await StunResponder.start('127.0.0.30', { kind: 'silent' });
    try {
      const r = reachability({ nodes: () => [silent.node], stun: { timeoutMs: 60_000 } });
      const probe = r.refresh();
      r.close();
      await expect(probe).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(channel.listeners).toBe(0);
    } finally {
      await silent.close();
    }
  });
});
