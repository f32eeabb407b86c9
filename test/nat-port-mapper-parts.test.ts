/**
 * The pure parts of the port mapper (NAT-PMP/PCP codecs, SSDP answers, the IGD description and
 * SOAP readers, default-gateway parsers, request validation) and its UDP exchange against fake
 * gateways on loopback that answer garbage first. The real routers are in nat-port-mapper.test.ts.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { normalizeMapRequest, PortMapper } from '../sidecar/src/nat/port-mapper.ts';
import { isAnnouncement } from '../sidecar/src/nat/port-mapper-announce.ts';
import { parseBsdRouteGet, parseProcNetRoute, parseWindowsRoutePrint } from '../sidecar/src/nat/port-mapper-gateway.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fetchBounded, MAX_BODY, soapCall, UpnpFault, xmlBlocks, xmlText } from '../sidecar/src/nat/port-mapper-http.ts';
import { mSearch, parseSsdpAnswer } from '../sidecar/src/nat/port-mapper-ssdp.ts';
import { PortMapperService } from '../sidecar/src/nat/port-mapper-service.ts';
import { pickIgdService } from '../sidecar/src/nat/port-mapper-upnp.ts';
import { Dispatcher } from '../sidecar/src/rpc/dispatcher.ts';
import { registerNatMethods, type NatRpcContext } from '../sidecar/src/rpc/nat-methods.ts';
import {
  decodePcpAnnounceAnswer, decodePcpHeader, decodePcpMapAnswer, decodePmpAddressAnswer, decodePmpMapAnswer,
  encodePcpAnnounceRequest, encodePcpMapRequest, encodePmpAddressRequest, encodePmpMapRequest,
} from '../sidecar/src/nat/port-mapper-wire.ts';

function pmpMapAnswer(op: number, result: number, internal: number, external: number, lifetime: number): Buffer {
  const b = Buffer.alloc(16);
  b[1] = 128 + op;
  b.writeUInt16BE(result, 2);
  b.writeUInt32BE(1234, 4);
  b.writeUInt16BE(internal, 8);
  b.writeUInt16BE(external, 10);
  b.writeUInt32BE(lifetime, 12);
  return b;
}

function pmpAddressAnswer(address: number[], result = 0): Buffer {
  const b = Buffer.alloc(12);
  b[1] = 128;
  b.writeUInt16BE(result, 2);
  Buffer.from(address).copy(b, 8);
  return b;
}

/** A PCP MAP answer to `request` (a request datagram), with the given result and external address. */
function pcpMapAnswer(request: Buffer, result: number, external: number[], lifetime: number, externalPort: number): Buffer {
  const b = Buffer.alloc(60);
  b[0] = 2;
  b[1] = 0x81;
  b[3] = result;
  b.writeUInt32BE(lifetime, 4);
  b.writeUInt32BE(99, 8);
  request.copy(b, 24, 24, 24 + 12); // nonce
  b[36] = request[36]!; // protocol
  b.writeUInt16BE(request.readUInt16BE(40), 40); // internal port
  b.writeUInt16BE(externalPort, 42);
  b[54] = 0xff;
  b[55] = 0xff;
  Buffer.from(external).copy(b, 56);
  return b;
}

describe('NAT-PMP codec', () => {
  it('encodes requests as RFC 6886 lays them out', () => {
    expect([...encodePmpAddressRequest()]).toEqual([0, 0]);
    const req = encodePmpMapRequest('TCP', 7777, 8888, 3600);
    expect(req.length).toBe(12);
    expect([req[0], req[1], req.readUInt16BE(2), req.readUInt16BE(4), req.readUInt16BE(6), req.readUInt32BE(8)]).toEqual([0, 2, 0, 7777, 8888, 3600]);
    expect(encodePmpMapRequest('UDP', 1, 0, 0)[1]).toBe(1);
  });

  it('decodes answers and tells ignorable from final failures', () => {
    expect(decodePmpAddressAnswer(pmpAddressAnswer([11, 77, 0, 2]))).toEqual({ ok: true, value: { epoch: 0, address: '11.77.0.2' } });
    expect(decodePmpMapAnswer(pmpMapAnswer(1, 0, 7777, 40000, 60), 'UDP', 7777)).toEqual({
      ok: true, value: { epoch: 1234, internalPort: 7777, externalPort: 40000, lifetimeSeconds: 60 },
    });
    const refused = decodePmpMapAnswer(pmpMapAnswer(1, 2, 7777, 0, 0), 'UDP', 7777);
    expect(refused).toMatchObject({ ok: false, final: true });
    expect(refused.ok ? '' : refused.reason).toMatch(/not authorized/);
    // Another opcode or another internal port is not our answer: ignored, not final.
    expect(decodePmpMapAnswer(pmpMapAnswer(2, 0, 7777, 7777, 60), 'UDP', 7777)).toMatchObject({ ok: false, final: false });
    expect(decodePmpMapAnswer(pmpMapAnswer(1, 0, 7778, 7778, 60), 'UDP', 7777)).toMatchObject({ ok: false, final: false });
  });

  it('never throws on truncated or random answers', () => {
    const valid = pmpMapAnswer(1, 0, 7777, 7777, 60);
    for (let n = 0; n < valid.length; n++) {
      expect(decodePmpMapAnswer(valid.subarray(0, n), 'UDP', 7777).ok).toBe(false);
      expect(decodePmpAddressAnswer(pmpAddressAnswer([1, 2, 3, 4]).subarray(0, Math.min(n, 11))).ok).toBe(false);
    }
    for (let i = 0; i < 2000; i++) {
      const junk = randomBytes(i % 40);
      expect(() => decodePmpMapAnswer(junk, 'TCP', 1)).not.toThrow();
      expect(() => decodePmpAddressAnswer(junk)).not.toThrow();
    }
  });
});

describe('PCP codec', () => {
  const nonce = Buffer.from('0123456789ab');
  const request = { nonce, protocol: 'UDP' as const, internalPort: 7777, externalPort: 7777, externalAddress: '0.0.0.0', lifetimeSeconds: 120, clientAddress: '10.77.0.2' };

  it('encodes ANNOUNCE and MAP as RFC 6887 lays them out', () => {
    const announce = encodePcpAnnounceRequest('10.77.0.2');
    expect(announce.length).toBe(24);
    expect([announce[0], announce[1], announce.readUInt32BE(4)]).toEqual([2, 0, 0]);
    expect([...announce.subarray(8, 24)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 77, 0, 2]);
    const map = encodePcpMapRequest(request);
    expect(map.length).toBe(60);
    expect([map[0], map[1], map.readUInt32BE(4)]).toEqual([2, 1, 120]);
    expect(map.subarray(24, 36).equals(nonce)).toBe(true);
    expect([map[36], map.readUInt16BE(40), map.readUInt16BE(42)]).toEqual([17, 7777, 7777]);
    expect([...map.subarray(44, 60)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
    expect(encodePcpMapRequest({ ...request, protocol: 'TCP' })[36]).toBe(6);
    expect(() => encodePcpMapRequest({ ...request, nonce: Buffer.alloc(11) })).toThrow(RangeError);
  });

  it('decodes a MAP answer only for our nonce, protocol and port', () => {
    const req = encodePcpMapRequest(request);
    expect(decodePcpMapAnswer(pcpMapAnswer(req, 0, [11, 77, 0, 2], 120, 40000), request)).toEqual({
      ok: true, value: { epoch: 99, lifetimeSeconds: 120, externalPort: 40000, externalAddress: '11.77.0.2' },
    });
    const other = encodePcpMapRequest({ ...request, nonce: Buffer.from('ba9876543210') });
    expect(decodePcpMapAnswer(pcpMapAnswer(other, 0, [11, 77, 0, 2], 120, 1), request)).toMatchObject({ ok: false, final: false });
    expect(decodePcpMapAnswer(pcpMapAnswer(req, 2, [0, 0, 0, 0], 0, 0), request)).toMatchObject({ ok: false, final: true, reason: 'PCP: NOT_AUTHORIZED' });
    // A NAT-PMP-only server answers PCP with a short version-0 "unsupported version": final.
    expect(decodePcpMapAnswer(pmpMapAnswer(1, 1, 0, 0, 0).subarray(0, 8), request)).toMatchObject({ ok: false, final: true });
    expect(decodePcpAnnounceAnswer(pcpMapAnswer(req, 0, [1, 2, 3, 4], 0, 0))).toMatchObject({ ok: false, final: false });
  });

  it('never throws on truncated, oversized or random answers', () => {
    const valid = pcpMapAnswer(encodePcpMapRequest(request), 0, [11, 77, 0, 2], 120, 7777);
    for (let n = 0; n < valid.length; n++) expect(decodePcpMapAnswer(valid.subarray(0, n), request).ok).toBe(false);
    expect(decodePcpHeader(Buffer.concat([valid, Buffer.alloc(1100)])).ok).toBe(false);
    for (let i = 0; i < 2000; i++) {
      const junk = randomBytes(i % 80);
      if (i % 2 === 0 && junk.length > 1) junk[0] = 2;
      expect(() => decodePcpMapAnswer(junk, request)).not.toThrow();
      expect(() => decodePcpAnnounceAnswer(junk)).not.toThrow();
    }
  });
});

describe('gateway restart announcements', () => {
  it('count only NAT-PMP address answers and PCP ANNOUNCE answers from port 5351', () => {
    const pcp = Buffer.alloc(24);
    pcp[0] = 2;
    pcp[1] = 0x80;
    expect(isAnnouncement(pcp, 5351)).toBe(true);
    expect(isAnnouncement(pmpAddressAnswer([11, 77, 0, 2]), 5351)).toBe(true);
    expect(isAnnouncement(pcp, 5352)).toBe(false);
    expect(isAnnouncement(pcp.subarray(0, 20), 5351)).toBe(false);
    expect(isAnnouncement(Buffer.from([2, 0x00, 0, 0, ...Array(20).fill(0)]), 5351)).toBe(false); // a request
    expect(isAnnouncement(pmpAddressAnswer([11, 77, 0, 2], 3), 5351)).toBe(false); // an error answer
    for (let i = 0; i < 500; i++) expect(() => isAnnouncement(randomBytes(i % 64), 5351)).not.toThrow();
  });
});

describe('SSDP answers', () => {
  const answer = (location: string, st = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1'): Buffer =>
    Buffer.from(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: ${st}\r\nUSN: uuid:x::${st}\r\nEXT:\r\nSERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\nLOCATION: ${location}\r\n\r\n`);

  it('accepts an IGD answer whose LOCATION is on the answering host', () => {
    const parsed = parseSsdpAnswer(answer('http://10.77.0.1:5000/rootDesc.xml'), '10.77.0.1');
    expect(parsed?.location.href).toBe('http://10.77.0.1:5000/rootDesc.xml');
    expect(parsed?.searchTarget).toBe('urn:schemas-upnp-org:device:InternetGatewayDevice:1');
  });

  it('ignores answers that point elsewhere, other devices and junk', () => {
    expect(parseSsdpAnswer(answer('http://10.77.0.99:5000/rootDesc.xml'), '10.77.0.1')).toBeNull();
    expect(parseSsdpAnswer(answer('https://10.77.0.1:5000/rootDesc.xml'), '10.77.0.1')).toBeNull();
    expect(parseSsdpAnswer(answer('http://10.77.0.1:5000/x', 'urn:schemas-upnp-org:device:MediaServer:1'), '10.77.0.1')).toBeNull();
    expect(parseSsdpAnswer(answer('not a url'), '10.77.0.1')).toBeNull();
    expect(parseSsdpAnswer(Buffer.from('NOTIFY * HTTP/1.1\r\n\r\n'), '10.77.0.1')).toBeNull();
    expect(parseSsdpAnswer(Buffer.alloc(5000, 0x41), '10.77.0.1')).toBeNull();
    for (let i = 0; i < 500; i++) expect(() => parseSsdpAnswer(randomBytes(i), '10.77.0.1')).not.toThrow();
  });

  it('builds the M-SEARCH request', () => {
    expect(mSearch('urn:x', 2).toString()).toBe('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: urn:x\r\n\r\n');
  });
});

describe('IGD description and SOAP readers', () => {
  const description = (services: string, urlBase = ''): string => `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">${urlBase}
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType><deviceList><device>
<serviceList>${services}</serviceList></device></deviceList></device></deviceList></device></root>`;
  const svc = (type: string, control: string): string => `<service>\n <serviceType>${type}</serviceType>\n <serviceId>x</serviceId>\n <controlURL>${control}</controlURL>\n</service>`;
  const location = new URL('http://10.77.0.1:5000/rootDesc.xml');

  it('picks WANIPConnection:2 over :1 and resolves relative control URLs', () => {
    const both = description(svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/ctl/IPConn1') + svc('urn:schemas-upnp-org:service:WANIPConnection:2', '/ctl/IPConn'));
    expect(pickIgdService(both, location)).toEqual({ serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2', controlUrl: new URL('http://10.77.0.1:5000/ctl/IPConn') });
    const v1 = description(svc('urn:schemas-upnp-org:service:WANPPPConnection:1', 'ctl/PPP'));
    expect(pickIgdService(v1, location)?.controlUrl.href).toBe('http://10.77.0.1:5000/ctl/PPP');
    const based = description(svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'ctl'), '<URLBase>http://10.77.0.1:5001/base/</URLBase>');
    expect(pickIgdService(based, location)?.controlUrl.href).toBe('http://10.77.0.1:5001/base/ctl');
  });

  it('refuses a control URL on another host and descriptions without a mapping service', () => {
    expect(pickIgdService(description(svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'http://10.0.0.9/ctl')), location)).toBeNull();
    expect(pickIgdService(description(''), location)).toBeNull();
    expect(pickIgdService('<root><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1', location)).toBeNull();
    expect(pickIgdService('<service'.repeat(8000), location)).toBeNull();
  });

  it('reads SOAP answers and faults with any namespace prefix', () => {
    const ok = '<s:Envelope><s:Body><u:GetExternalIPAddressResponse xmlns:u="x"><NewExternalIPAddress>11.77.0.2</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>';
    expect(xmlText(ok, 'NewExternalIPAddress')).toBe('11.77.0.2');
    const fault = '<s:Envelope><s:Body><s:Fault><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry &amp; more</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>';
    expect(xmlText(fault, 'errorCode')).toBe('718');
    expect(xmlText(fault, 'errorDescription')).toBe('ConflictInMappingEntry & more');
    expect(xmlText('<a:NewReservedPort>40000</a:NewReservedPort>', 'NewReservedPort')).toBe('40000');
    expect(xmlText('<NewReservedPort>40000', 'NewReservedPort')).toBeNull();
    expect(xmlBlocks('<serviceList><service>a</service><service x="1">b</service><service>c', 'service')).toEqual(['a', 'b']);
  });
});

describe('gateway HTTP answers are bounded', () => {
  let server: Server;
  let base: string;
  afterEach(() => new Promise<void>((resolve) => { server?.closeAllConnections(); server?.close(() => resolve()); }));

  async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<void> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }
  const within = (ms: number) => ({ timeoutMs: ms, signal: AbortSignal.timeout(10_000) });

  it('refuses oversized and endless answers, stalls and other schemes; follows no redirect', async () => {
    await serve((req, res) => {
      if (req.url === '/big') res.end('x'.repeat(MAX_BODY + 1));
      else if (req.url === '/endless') { res.writeHead(200); const t = setInterval(() => res.write('y'.repeat(4096)), 1); res.on('close', () => clearInterval(t)); }
      else if (req.url === '/stall') res.writeHead(200);
      else if (req.url === '/moved') res.writeHead(302, { Location: 'http://127.0.0.1:1/x' }).end();
      else res.end('<ok/>');
    });
    expect((await fetchBounded(new URL(`${base}/`), within(2000))).body).toBe('<ok/>');
    await expect(fetchBounded(new URL(`${base}/big`), within(2000))).rejects.toThrow(/larger than 65536 bytes/);
    await expect(fetchBounded(new URL(`${base}/endless`), within(2000))).rejects.toThrow(/larger than 65536 bytes/);
    await expect(fetchBounded(new URL(`${base}/stall`), within(300))).rejects.toThrow(/no complete answer within 300 ms/);
    expect((await fetchBounded(new URL(`${base}/moved`), within(2000))).status).toBe(302);
    await expect(fetchBounded(new URL('https://127.0.0.1:1/'), within(2000))).rejects.toThrow(/plain HTTP/);
  });

  it('a SOAP fault becomes UpnpFault with its code; a faultless error stays an HTTP error', async () => {
    await serve((req, res) => {
      const action = String(req.headers['soapaction']);
      res.statusCode = 500;
      if (action.endsWith('#AddPortMapping"')) res.end('<s:Envelope><s:Body><s:Fault><detail><UPnPError><errorCode>725</errorCode><errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>');
      else res.end('<html>oops</html>');
    });
    const fault = await soapCall(new URL(`${base}/ctl`), 'urn:schemas-upnp-org:service:WANIPConnection:1', 'AddPortMapping', [['NewExternalPort', 1]], 2000, AbortSignal.timeout(5000)).catch((e: unknown) => e);
    expect(fault).toBeInstanceOf(UpnpFault);
    expect((fault as UpnpFault).upnpCode).toBe(725);
    await expect(soapCall(new URL(`${base}/ctl`), 'urn:x', 'GetExternalIPAddress', [], 2000, AbortSignal.timeout(5000))).rejects.toThrow(/GetExternalIPAddress: HTTP 500/);
  });
});

describe('default gateway', () => {
  it('reads /proc/net/route (lowest metric first, only up gateway routes)', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
      'eth0\t00000000\t01004D0A\t0003\t0\t0\t100\t00000000\t0\t0\t0',
      'eth0\t00004D0A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0',
      'tun0\t00000000\t01020304\t0002\t0\t0\t1\t00000000\t0\t0\t0',
    ].join('\n');
    expect(parseProcNetRoute(text)).toEqual(['10.77.0.1', '192.168.1.1']);
    expect(parseProcNetRoute('')).toEqual([]);
  });

  it('reads BSD and Windows route output', () => {
    expect(parseBsdRouteGet('   route to: default\ndestination: default\n       mask: default\n    gateway: 192.168.1.254\n  interface: en0\n')).toEqual(['192.168.1.254']);
    expect(parseBsdRouteGet('gateway: fe80::1%en0')).toEqual([]);
    const win = '===\nActive Routes:\nNetwork Destination        Netmask          Gateway       Interface  Metric\n          0.0.0.0          0.0.0.0      192.168.0.1    192.168.0.23     35\n          0.0.0.0          0.0.0.0      10.0.0.1       10.0.0.5     10\n===';
    expect(parseWindowsRoutePrint(win)).toEqual(['10.0.0.1', '192.168.0.1']);
  });
});

describe('map request validation', () => {
  it('fills defaults and refuses bad fields with INVALID_ARGUMENT', () => {
    expect(normalizeMapRequest({ protocol: 'UDP', internalPort: 7777 })).toEqual({ protocol: 'UDP', internalPort: 7777, externalPort: 7777, lifetimeSeconds: 3600, description: 'pkarr-godot' });
    for (const bad of [
      { protocol: 'SCTP', internalPort: 1 }, { protocol: 'UDP', internalPort: 0 }, { protocol: 'UDP', internalPort: 70000 },
      { protocol: 'UDP', internalPort: 1.5 }, { protocol: 'UDP', internalPort: 1, externalPort: -1 }, { protocol: 'UDP', internalPort: 1, ttlSeconds: 0 },
      { protocol: 'UDP', internalPort: 1, ttlSeconds: 86_401 }, { protocol: 'UDP', internalPort: 1, description: 'x'.repeat(65) },
      { protocol: 'UDP', internalPort: 1, description: 'a\nb' },
    ]) {
      let caught: unknown = null;
      try {
        normalizeMapRequest(bad as never);
      } catch (err) {
        caught = err;
      }
      expect(isPkarrError(caught, 'INVALID_ARGUMENT'), JSON.stringify(bad)).toBe(true);
    }
  });
});

describe('PortMapper.start validation', () => {
  it('refuses unknown or repeated protocols and a gateway hint that is not an IPv4 address', async () => {
    for (const options of [{ protocols: [] }, { protocols: ['pcp', 'pcp'] }, { protocols: ['igd'] }, { gatewayHint: 'router.lan' }, { gatewayHint: '::1' }]) {
      const err = await PortMapper.start(options as never).catch((e: unknown) => e);
      expect(isPkarrError(err, 'INVALID_ARGUMENT'), JSON.stringify(options)).toBe(true);
    }
  });
});

describe('NAT-PMP and PCP exchanges against fake gateways on loopback', () => {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  /** A fake gateway: `answer` returns the datagrams to send back for each request. */
  async function fakeGateway(answer: (msg: Buffer) => Buffer[]): Promise<{ port: number; requests: Buffer[] }> {
    const socket = createSocket('udp4');
    sockets.push(socket);
    const requests: Buffer[] = [];
    socket.on('message', (msg: Buffer, from: RemoteInfo) => {
      requests.push(msg);
      for (const out of answer(msg)) socket.send(out, from.port, from.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return { port: socket.address().port, requests };
  }

  it('NAT-PMP: ignores junk before the answer, maps, renews on request and removes on close', async () => {
    const junk = [Buffer.from([0]), Buffer.from([0, 128, 0]), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]), randomBytes(200)];
    const gw = await fakeGateway((msg) => {
      if (msg[1] === 0) return [...junk, pmpAddressAnswer([11, 77, 0, 2])];
      return [...junk, pmpMapAnswer(msg[1]!, 0, msg.readUInt16BE(4), msg.readUInt32BE(8) === 0 ? 0 : 40000, msg.readUInt32BE(8))];
    });
    const mapper = await PortMapper.start({ protocols: ['natpmp'], gatewayHint: '127.0.0.1', gatewayPort: gw.port, discoveryTimeoutMs: 2000 });
    const mapping = await mapper.map({ protocol: 'UDP', internalPort: 7777, ttlSeconds: 60 });
    expect(mapping).toMatchObject({ externalHost: '11.77.0.2', externalPort: 40000, via: 'nat-pmp', lifetimeSeconds: 60, publicAddress: true });
    expect(await mapper.externalAddress()).toEqual({ host: '11.77.0.2', publicAddress: true, via: 'natpmp' });
    // Concurrent maps of one port share one entry; the second renews it with its lease.
    const [a, b] = await Promise.all([mapper.map({ protocol: 'TCP', internalPort: 7000, ttlSeconds: 60 }), mapper.map({ protocol: 'TCP', internalPort: 7000, ttlSeconds: 90 })]);
    expect([a.lifetimeSeconds, b.lifetimeSeconds]).toEqual([60, 90]);
    expect(mapper.mappings().map((m) => `${m.protocol}/${m.internalPort}/${m.lifetimeSeconds}`)).toEqual(['UDP/7777/60', 'TCP/7000/90']);
    expect(await mapper.close()).toEqual([]);
    const deletions = gw.requests.filter((r) => r.length === 12 && r.readUInt32BE(8) === 0).map((r) => [r[1], r.readUInt16BE(4), r.readUInt16BE(6)]);
    expect(new Set(deletions.map(String))).toEqual(new Set(['1,7777,0', '2,7000,0']));
  });

  it('NAT-PMP: a refusal is PORT_MAPPING_FAILED naming the protocol and the reason', async () => {
    const gw = await fakeGateway((msg) => (msg[1] === 0 ? [pmpAddressAnswer([10, 0, 0, 2])] : [pmpMapAnswer(msg[1]!, 2, msg.readUInt16BE(4), 0, 0)]));
    const mapper = await PortMapper.start({ protocols: ['natpmp'], gatewayHint: '127.0.0.1', gatewayPort: gw.port });
    try {
      expect(await mapper.externalAddress()).toEqual({ host: '10.0.0.2', publicAddress: false, via: 'natpmp' });
      const err = await mapper.map({ protocol: 'TCP', internalPort: 7000 }).catch((e: unknown) => e);
      expect(isPkarrError(err, 'PORT_MAPPING_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/NAT-PMP: .*not authorized/);
    } finally {
      await mapper.close();
    }
  });

  it('PCP: answers with another nonce are ignored; the lease granted is the one reported', async () => {
    const gw = await fakeGateway((msg) => {
      if (msg[1] === 0) {
        const a = Buffer.alloc(24);
        a[0] = 2;
        a[1] = 0x80;
        return [a];
      }
      const forged = Buffer.from(msg);
      forged[24] = forged[24]! ^ 0xff;
      return [pcpMapAnswer(forged, 0, [6, 6, 6, 6], 9999, 1), pcpMapAnswer(msg, 0, [100, 64, 0, 7], 120, 7777)];
    });
    const mapper = await PortMapper.start({ protocols: ['pcp'], gatewayHint: '127.0.0.1', gatewayPort: gw.port });
    try {
      const mapping = await mapper.map({ protocol: 'UDP', internalPort: 7777, ttlSeconds: 30 });
      expect(mapping).toMatchObject({ externalHost: '100.64.0.7', externalPort: 7777, via: 'pcp', lifetimeSeconds: 120, publicAddress: false });
    } finally {
      await mapper.close();
    }
  });

  it('nat.map / nat.status / nat.unmap through the dispatcher; bad params are -32602 naming the field', async () => {
    const gw = await fakeGateway((msg) => (msg[1] === 0 ? [pmpAddressAnswer([11, 77, 0, 2])] : [pmpMapAnswer(msg[1]!, 0, msg.readUInt16BE(4), msg.readUInt16BE(6), msg.readUInt32BE(8))]));
    const nat = new PortMapperService({ discovery: { gatewayHint: '127.0.0.1', gatewayPort: gw.port } });
    const dispatcher = registerNatMethods(new Dispatcher<NatRpcContext>(), (ctx) => ctx);
    let id = 0;
    const call = async (method: string, params: unknown): Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string; data?: Record<string, unknown> } }> =>
      JSON.parse((await dispatcher.handle(JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }), { nat }))!) as never;
    try {
      expect((await call('nat.status', {})).result).toEqual({ methods: null, mappings: [], externalAddress: null });
      const mapped = await call('nat.map', { protocol: 'udp', internalPort: 7777.0, ttlSeconds: 120, description: 'my game', methods: ['natpmp'] });
      expect(mapped.result).toMatchObject({ protocol: 'UDP', internalPort: 7777, externalHost: '11.77.0.2', externalPort: 7777, publicAddress: true, via: 'nat-pmp', lifetimeSeconds: 120 });
      const status = (await call('nat.status', {})).result!;
      expect(status['methods']).toEqual(['natpmp']);
      expect(status['externalAddress']).toEqual({ host: '11.77.0.2', publicAddress: true, via: 'natpmp' });
      expect((status['mappings'] as unknown[]).length).toBe(1);
      for (const [params, field] of [
        [{ protocol: 'ICMP', internalPort: 1 }, 'protocol'], [{ protocol: 'UDP' }, 'internalPort'], [{ protocol: 'UDP', internalPort: 7.5 }, 'internalPort'],
        [{ protocol: 'UDP', internalPort: 1, ttlSeconds: 0 }, 'ttlSeconds'], [{ protocol: 'UDP', internalPort: 1, methods: ['upnp', 'smoke-signals'] }, 'methods'], [{ protocol: 'UDP', internalPort: 1, methods: ['pcp', 'pcp'] }, 'methods'],
        [{ protocol: 'UDP', internalPort: 1, description: 'é' }, 'description'], [{ protocol: 'UDP', internalPort: 1, extra: 1 }, 'extra'],
      ] as const) {
        const answer = await call('nat.map', params);
        expect(answer.error?.code, JSON.stringify(params)).toBe(-32602);
        expect(answer.error?.data?.['field']).toBe(field);
      }
      expect((await call('nat.unmap', { protocol: 'UDP', internalPort: 7777 })).result).toEqual({ removed: true });
      expect((await call('nat.unmap', { protocol: 'UDP', internalPort: 7777 })).result).toEqual({ removed: false });
      const deletion = gw.requests.at(-1)!;
      expect([deletion[1], deletion.readUInt16BE(4), deletion.readUInt32BE(8)]).toEqual([1, 7777, 0]);
    } finally {
      expect(await nat.close()).toEqual([]);
    }
    const after = await call('nat.map', { protocol: 'UDP', internalPort: 7778 });
    expect(after.error?.data?.['code']).toBe('PORT_MAPPING_FAILED');
  });

  it('a silent gateway fails discovery within the bound with every protocol named', async () => {
    const gw = await fakeGateway(() => []);
    const err = await PortMapper.start({ protocols: ['pcp', 'natpmp', 'upnp'], gatewayHint: '127.0.0.1', gatewayPort: gw.port, discoveryTimeoutMs: 700 }).catch((e: unknown) => e);
    expect(isPkarrError(err, 'PORT_MAPPING_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/PCP: .*no answer within 700 ms.*NAT-PMP: .*no answer within 700 ms.*UPnP: /);
    expect(gw.requests.length).toBeGreaterThanOrEqual(4); // retransmitted (250 ms, then 500 ms) by both protocols
  });
});
