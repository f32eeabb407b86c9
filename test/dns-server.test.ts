/**
 * `pkarr-sidecar dns` with real DNS clients over loopback: dig (UDP, TCP, TC and the retry on TCP),
 * dns2's UDP client, Node's own dns.Resolver; forwarding against a local upstream (dns2's UDP
 * server); FORMERR, REFUSED, rate limits; the CLI process. The packets come from a local relay
 * (over a DHT double) through the pkarr Client, so every answer went through verification.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket, { type Answer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { ClientPacketSource } from '../sidecar/src/dns/client-source.ts';
import { startDnsServer, type RunningDnsServer } from '../sidecar/src/dns/dns-server.ts';
import { Forwarder } from '../sidecar/src/dns/forwarder.ts';
import { AMPLIFICATION_RATIO } from '../sidecar/src/dns/query-handler.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { MAIN, cleanup, spawnCli } from './abuse-helpers.ts';
import { dig, digFlags, digSection, digStatus, startUpstream, tcpExchange, udpExchange, type Upstream } from './dns-server-helpers.ts';
import { FakeDht, makePacket } from './relay-server-helpers.ts';

const kp = Keypair.generate();
const z32 = kp.publicKey.z32;
const big = Keypair.generate();
const bigText = 'x'.repeat(900);
const records = [
  'A @ 10.0.0.1 120',
  'AAAA @ ::1 60',
  'TXT _lobby "hello" 30',
  'TXT _lobby "world" 45',
  `CNAME www ${z32} 300`,
  'CNAME ext example.com 200',
  'A *.wild 10.0.0.9 100',
  'A deep.ent 10.0.0.7 100',
  'SRV _game._udp 10 5 7777 host 300',
  'NS sub ns1.example.net 3600',
  'HTTPS @ 1 . alpn=h3 port=4433 3600',
  'TYPE65400 _x \\# 3 abcdef 300',
];

let dht: FakeDht;
let relay: RunningRelay;
let client: Client;
let upstream: Upstream;
let server: RunningDnsServer;
let strict: RunningDnsServer;
let strictClient: Client;
const logs: string[] = [];

function newServer(extra: Partial<Parameters<typeof startDnsServer>[0]> = {}, from: Client = client): Promise<RunningDnsServer> {
  const source = new ClientPacketSource(from);
  return startDnsServer({
    port: 0,
    lookup: (key, charge) => source.lookup(key, charge),
    forwarder: null,
    rateLimit: null,
    dhtRateLimit: null,
    log: (line) => logs.push(line),
    ...extra,
  });
}

beforeAll(async () => {
  dht = new FakeDht();
  dht.items.set(z32, makePacket(kp, records));
  dht.items.set(big.publicKey.z32, makePacket(big, [`TXT @ "${bigText}" 300`]));
  relay = await startRelay({ port: 0, dht, rateLimit: null, dhtRateLimit: null, log: () => {} });
  client = new Client({ dht: null, relays: [relay.url] });
  upstream = await startUpstream();
  server = await newServer({ forwarder: new Forwarder({ host: '127.0.0.1', port: upstream.port, timeoutMs: 2000 }) });
  strictClient = new Client({ dht: null, relays: [relay.url] });
  strict = await newServer({ rateLimit: '5r/m,burst=5', dhtRateLimit: '1r/m,burst=1' }, strictClient);
}, 30_000);

afterAll(async () => {
  await server?.close();
  await strict?.close();
  await upstream?.close();
  await client?.close();
  await strictClient?.close();
  await relay?.close();
  cleanup();
});

const at = (s: RunningDnsServer = server): string[] => ['@127.0.0.1', '-p', String(s.port)];

function query(name: string, type: string, options: { id?: number; edns?: number; class?: string } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query', id: options.id ?? 7, flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as 'A', name, ...(options.class === undefined ? {} : { class: options.class as 'IN' }) }],
    ...(options.edns === undefined ? {} : { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: options.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as Answer] }),
  });
}

describe('dig over UDP and TCP', () => {
  it('answers TXT at _lobby.<key> over UDP and TCP, authoritative, with the record TTLs', async () => {
    for (const extra of [[], ['+tcp']]) {
      const { out } = await dig([...at(), ...extra, 'TXT', `_lobby.${z32}`]);
      expect(digStatus(out)).toBe('NOERROR');
      expect(digFlags(out)).toContain('aa');
      const answers = digSection(out, 'ANSWER');
      expect(answers.map((l) => l.split(/\s+/).slice(-1)[0]).sort()).toEqual(['"hello"', '"world"']);
      expect(answers.map((l) => l.split(/\s+/)[1]).sort()).toEqual(['30', '45']);
    }
  });

  it('answers <key>.key and the bare key, A, AAAA, SRV, NS, HTTPS and an unknown type', async () => {
    expect((await dig([...at(), '+short', 'A', `${z32}.key`])).out.trim()).toBe('10.0.0.1');
    expect((await dig([...at(), '+short', 'A', `${z32}.KEY.`])).out.trim()).toBe('10.0.0.1');
    expect((await dig([...at(), '+short', 'AAAA', z32])).out.trim()).toBe('::1');
    expect((await dig([...at(), '+short', 'SRV', `_game._udp.${z32}`])).out.trim()).toBe('10 5 7777 host.'); // SRV targets are written as given
    expect((await dig([...at(), '+short', 'NS', `sub.${z32}`])).out.trim()).toBe('ns1.example.net.');
    expect((await dig([...at(), '+short', 'HTTPS', z32])).out.trim()).toBe('1 . alpn="h3" port=4433');
    expect((await dig([...at(), '+short', 'TYPE65400', `_x.${z32}`])).out.trim()).toBe('\\# 3 ABCDEF');
  });

  it('chases an in-packet CNAME, synthesises from a wildcard, keeps the question spelling', async () => {
    const www = await dig([...at(), 'A', `WwW.${z32}`]);
    expect(digSection(www.out, 'ANSWER').map((l) => l.split(/\s+/).slice(3).join(' '))).toEqual([`CNAME ${z32}.`, 'A 10.0.0.1']);
    expect(digSection(www.out, 'ANSWER')[0]?.startsWith(`WwW.${z32}.`)).toBe(true);
    expect((await dig([...at(), '+short', 'A', `p1.wild.${z32}.key`])).out.trim()).toBe('10.0.0.9');
  });

  it('NXDOMAIN and NODATA carry the zone SOA; an empty non-terminal is NODATA', async () => {
    const nx = await dig([...at(), 'A', `missing.${z32}`]);
    expect(digStatus(nx.out)).toBe('NXDOMAIN');
    expect(digSection(nx.out, 'AUTHORITY')[0]).toMatch(new RegExp(`^${z32}\\.\\s+300\\s+IN\\s+SOA\\s+${z32}\\. hostmaster\\.${z32}\\.`));
    const nodata = await dig([...at(), 'AAAA', `_lobby.${z32}`]);
    expect(digStatus(nodata.out)).toBe('NOERROR');
    expect(digSection(nodata.out, 'ANSWER')).toEqual([]);
    expect(digSection(nodata.out, 'AUTHORITY')).toHaveLength(1);
    const ent = await dig([...at(), 'A', `ent.${z32}`]);
    expect(digStatus(ent.out)).toBe('NOERROR');
    const soa = await dig([...at(), '+short', 'SOA', `${z32}.key`]);
    expect(soa.out.trim()).toMatch(new RegExp(`^${z32}\\.key\\. hostmaster\\.${z32}\\.key\\. \\d+ 300 300 300 300$`));
  });

  it('ANY: one RRset over UDP (RFC 8482), every record over TCP', async () => {
    // dig 9.18 asks ANY over TCP unless told otherwise.
    const udp = digSection((await dig([...at(), '+notcp', 'ANY', z32])).out, 'ANSWER');
    expect(udp.length).toBe(1);
    const tcp = digSection((await dig([...at(), '+tcp', 'ANY', z32])).out, 'ANSWER');
    expect(tcp.map((l) => l.split(/\s+/)[3]).sort()).toEqual(['A', 'AAAA', 'HTTPS']);
  });

  it('sets TC when the answer exceeds the client UDP size, and dig retries over TCP', async () => {
    const name = big.publicKey.z32;
    const truncated = await dig([...at(), '+ignore', '+noedns', 'TXT', name]);
    expect(digFlags(truncated.out)).toContain('tc');
    expect(digSection(truncated.out, 'ANSWER')).toEqual([]);
    const retried = await dig([...at(), '+noedns', 'TXT', name]);
    expect(retried.out).toMatch(/Truncated, retrying in TCP mode/);
    expect(digStatus(retried.out)).toBe('NOERROR');
    expect(digSection(retried.out, 'ANSWER').map((l) => l.slice(l.indexOf('TXT'))).join('').replace(/[^x]/g, '')).toHaveLength(900);
    const bigBuf = await dig([...at(), '+bufsize=1232', '+ignore', 'TXT', name]);
    expect(digFlags(bigBuf.out)).toContain('tc'); // 1232 allowed, but more than 10× the query
  });

  it('an answer over UDP is never more than 10× the query (TC instead), even with EDNS 4096', async () => {
    const q = query(big.publicKey.z32, 'TXT', { edns: 4096 });
    const reply = await udpExchange(server.port, q);
    expect(reply).not.toBeNull();
    expect(reply!.length).toBeLessThanOrEqual(AMPLIFICATION_RATIO * q.length);
    expect(dnsPacket.decode(reply!).flag_tc).toBe(true);
    const small = await udpExchange(server.port, query(z32, 'A', { edns: 4096 }));
    expect(dnsPacket.decode(small!).answers?.[0]).toMatchObject({ type: 'A', data: '10.0.0.1' });
  });
});

describe('other DNS clients', () => {
  it('Node dns.Resolver pointed at the server resolves pkarr names and forwarded names', async () => {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
    expect((await resolver.resolveTxt(`_lobby.${z32}`)).map((t) => t.join('')).sort()).toEqual(['hello', 'world']);
    expect(await resolver.resolve4(`www.${z32}`)).toEqual(['10.0.0.1']);
    expect(await resolver.resolveSrv(`_game._udp.${z32}.key`)).toMatchObject([{ priority: 10, weight: 5, port: 7777, name: 'host' }]);
    expect(await resolver.resolve4('example.com')).toEqual(['93.184.216.34']);
    await expect(resolver.resolve4(`missing.${z32}`)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolveTxt(big.publicKey.z32)).resolves.toEqual([[...Array(4)].map((_, i) => bigText.slice(i * 254, (i + 1) * 254))]);
  });

  it('dns2 UDP client (and its TCP retry for the large TXT)', async () => {
    // @ts-ignore -- dns2 ships no types.
    const { default: dns2 } = await import('dns2');
    const resolve = (dns2 as { UDPClient: (o: object) => (n: string, t: string) => Promise<{ answers: { data?: string[]; address?: string }[] }> })
      .UDPClient({ dns: '127.0.0.1', port: server.port, timeout: 3000 });
    expect((await resolve(`_lobby.${z32}`, 'TXT')).answers.map((a) => a.data?.join('')).sort()).toEqual(['hello', 'world']);
    expect((await resolve(z32, 'A')).answers.map((a) => a.address)).toEqual(['10.0.0.1']);
    expect((await resolve(big.publicKey.z32, 'TXT')).answers.map((a) => a.data?.join(''))).toEqual([bigText]);
  });
});

describe('forwarding', () => {
  it('forwards other names to the upstream and caches the answer; NXDOMAIN forwarded too', async () => {
    const before = upstream.questions.filter((q) => q.startsWith('forwarded.test')).length;
    const first = await dig([...at(), 'A', 'forwarded.test']);
    expect(digStatus(first.out)).toBe('NXDOMAIN');
    expect(digSection(first.out, 'AUTHORITY')[0]).toMatch(/SOA/);
    const a = await dig([...at(), '+short', 'A', 'example.com']);
    expect(a.out.trim()).toBe('93.184.216.34');
    const count = upstream.questions.length;
    const again = await dig([...at(), 'A', 'EXAMPLE.com']);
    expect(digSection(again.out, 'ANSWER')[0]).toMatch(/^example\.com\.\s+7\d\s+IN\s+A\s+93\.184\.216\.34$/i);
    expect(digSection(again.out, 'QUESTION')[0]).toMatch(/^;EXAMPLE\.com\./);
    expect(upstream.questions.length).toBe(count); // from the cache
    await dig([...at(), 'A', 'forwarded.test']);
    expect(upstream.questions.filter((q) => q.startsWith('forwarded.test')).length).toBe(before + 1);
  });

  it('REFUSED with forwarding off', async () => {
    const { out } = await dig([...at(strict), 'A', 'example.com']);
    expect(digStatus(out)).toBe('REFUSED');
  });

  it('SERVFAIL when the upstream does not answer', async () => {
    const dead = await newServer({ forwarder: new Forwarder({ host: '127.0.0.1', port: 9, timeoutMs: 300 }) });
    try {
      expect(digStatus((await dig([...at(dead), 'A', 'example.org'])).out)).toBe('SERVFAIL');
    } finally {
      await dead.close();
    }
  });
});

describe('malformed queries and limits', () => {
  it('FORMERR for a header with garbage, two questions, a response; nothing for less than a header', async () => {
    const garbage = Buffer.concat([Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0x3f, 1, 2])]);
    const formerr = await udpExchange(server.port, garbage);
    expect(formerr).not.toBeNull();
    expect([...formerr!.subarray(0, 4)]).toEqual([0xab, 0xcd, 0x81, 0x81]);
    expect(formerr!.length).toBe(12);
    const two = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: z32 }, { type: 'A', name: `www.${z32}` }] });
    expect((dnsPacket.decode((await udpExchange(server.port, two))!) as unknown as { rcode: string }).rcode).toBe('FORMERR');
    expect(await udpExchange(server.port, Buffer.from([1, 2, 3]), 500)).toBeNull();
    const response = Buffer.from(query(z32, 'A'));
    response[2] = (response[2] ?? 0) | 0x80;
    expect(await udpExchange(server.port, response, 500)).toBeNull();
    const notify = Buffer.from(query(z32, 'A'));
    notify[2] = (notify[2]! & 0x87) | (4 << 3);
    expect((dnsPacket.decode((await udpExchange(server.port, notify))!) as unknown as { rcode: string }).rcode).toBe('NOTIMP');
    const badvers = await dig([...at(), '+edns=1', '+noednsneg', 'A', z32]);
    expect(digStatus(badvers.out)).toBe('BADVERS');
    // Still serving.
    expect((await dig([...at(), '+short', 'A', z32])).out.trim()).toBe('10.0.0.1');
  });

  it('several queries on one TCP connection, answered each; a short frame closes it', async () => {
    const names = [z32, `www.${z32}`, `_lobby.${z32}`, `missing.${z32}`];
    const { replies } = await tcpExchange(server.port, names.map((n, i) => query(n, n.startsWith('_') ? 'TXT' : 'A', { id: 100 + i })), 4);
    expect(replies.map((r) => dnsPacket.decode(r).id).sort()).toEqual([100, 101, 102, 103]);
    const halfClosed = await tcpExchange(server.port, [query(`www.${z32}`, 'A', { id: 200 }), query(z32, 'AAAA', { id: 201 })], 2, 5000, true);
    expect(halfClosed.replies.map((r) => dnsPacket.decode(r).id).sort()).toEqual([200, 201]); // answered after the client's FIN
    const short = await tcpExchange(server.port, [Buffer.from([1, 2, 3])], 1, 2000);
    expect(short.replies).toEqual([]);
    expect(short.closed).toBe(true);
  });

  it('survives random datagrams and random TCP byte streams, and keeps answering', async () => {
    let seed = 12345;
    const random = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    }));
    const datagrams = Array.from({ length: 300 }, (_, i) => {
      const base = Buffer.from(query(i % 2 === 0 ? `_lobby.${z32}` : 'example.com', 'TXT', { id: i }));
      const noise = random(base.length);
      return i % 3 === 0 ? random(1 + (i % 700)) : Buffer.from(base.map((b, k) => ((noise[k] ?? 0) < 20 ? (noise[k] ?? 0) : b)));
    });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    for (const d of datagrams) socket.send(d, server.port, '127.0.0.1');
    const streams = await Promise.all(Array.from({ length: 20 }, (_, i) => tcpExchange(server.port, [random(20 + i * 50), Buffer.from(query(z32, 'A', { id: 900 + i }))], 2, 1500)));
    socket.close();
    expect(streams.length).toBe(20);
    expect((await dig([...at(), '+short', 'A', z32])).out.trim()).toBe('10.0.0.1');
    expect((await dig([...at(), '+tcp', '+short', 'TXT', `_lobby.${z32}`])).out.trim().split('\n').sort()).toEqual(['"hello"', '"world"']);
    expect(logs.filter((l) => /failed/.test(l))).toEqual([]);
  });

  it('closes a TCP connection idle for the idle timeout, after answering', async () => {
    const quick = await newServer({ tcpIdleMs: 300 });
    try {
      const { replies, closed } = await tcpExchange(quick.port, [query(z32, 'A', { id: 5 })], 2, 5000);
      expect(replies.map((r) => dnsPacket.decode(r).id)).toEqual([5]);
      expect(closed).toBe(true); // closed by the server (the wait is 5 s, the idle timeout 0.3 s)
    } finally {
      await quick.close();
    }
  });

  it('per-IP query quota: dropped over UDP, REFUSED over TCP; per-IP DHT quota: REFUSED', async () => {
    // strict: 5 queries per minute, 1 network lookup per minute.
    const first = await tcpExchange(strict.port, [query(z32, 'A', { id: 1 })], 1);
    expect(dnsPacket.decode(first.replies[0]!).answers).toHaveLength(1); // the one lookup
    const other = await tcpExchange(strict.port, [query(big.publicKey.z32, 'TXT', { id: 2 })], 1);
    expect((dnsPacket.decode(other.replies[0]!) as unknown as { rcode: string }).rcode).toBe('REFUSED'); // needs a 2nd lookup
    const cached = await udpExchange(strict.port, query(`www.${z32}`, 'A'));
    expect(dnsPacket.decode(cached!).answers).toHaveLength(2); // cached: no DHT token needed
    const left = 5 - strict.stats.queries; // the REFUSED test above spent one too
    expect(left).toBeGreaterThan(0);
    const rest = await tcpExchange(strict.port, [1, 2, 3, 4].map((id) => query(z32, 'A', { id })), 4);
    const rcodes = rest.replies.map((r) => (dnsPacket.decode(r) as unknown as { rcode: string }).rcode);
    expect(rcodes.filter((r) => r === 'NOERROR')).toHaveLength(left);
    expect(rcodes.filter((r) => r === 'REFUSED')).toHaveLength(4 - left);
    expect(await udpExchange(strict.port, query(z32, 'A'), 500)).toBeNull();
    expect(strict.stats.rateLimited).toBe(4 - left + 1);
    expect(strict.stats.dhtRateLimited).toBe(1);
  });
});

describe('pkarr-sidecar dns (process)', () => {
  it('answers from a packet published to its --testnet DHT (the DHT path, verified)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkarr-dns-'));
    try {
      const child = await spawnCli(['dns', '--listen', '127.0.0.1:0', '--no-forward', '--testnet', '5']);
      const port = /:(\d+) \(udp\+tcp\)/.exec(child.firstLine)?.[1];
      const bootstrap = / testnet=([^,\s]+)/.exec(child.firstLine)?.[1];
      expect(port).toBeDefined();
      expect(bootstrap).toBeDefined();
      const keyFile = join(dir, 'k.key');
      const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
        execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code), stdout, stderr });
        });
      });
      const key = (await cli(['keygen', '--out', keyFile])).stdout.trim();
      const published = await cli(['publish', '--key', keyFile, '--bootstrap', bootstrap!, '--no-relay', 'TXT _hello "from the dht" 60', 'A @ 10.9.8.7 60']);
      expect(published.code).toBe(0);
      expect((await dig(['@127.0.0.1', '-p', port!, '+short', 'TXT', `_hello.${key}`])).out.trim()).toBe('"from the dht"');
      expect((await dig(['@127.0.0.1', '-p', port!, '+short', '+tcp', 'A', `${key}.key`])).out.trim()).toBe('10.9.8.7');
      child.child.kill('SIGTERM');
      expect((await child.exited).code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('prints its ready line, answers dig, stops on SIGTERM; --help; bad flags exit 2', async () => {
    const child = await spawnCli(['dns', '--listen', '127.0.0.1:0', '--no-forward', '--relay', relay.url, '--no-dht']);
    const m = /^pkarr dns listening on 127\.0\.0\.1:(\d+) \(udp\+tcp\) forward=off$/.exec(child.firstLine);
    expect(m).not.toBeNull();
    const port = m![1]!;
    expect((await dig(['@127.0.0.1', '-p', port, '+short', 'TXT', `_lobby.${z32}.key`])).out.trim().split('\n').sort()).toEqual(['"hello"', '"world"']);
    expect(digStatus((await dig(['@127.0.0.1', '-p', port, 'A', 'example.com'])).out)).toBe('REFUSED');
    const exited = new Promise<number | null>((resolve) => child.child.once('exit', (code) => resolve(code)));
    child.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, [MAIN, 'dns', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code), stdout, stderr });
      });
    });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: pkarr-sidecar dns/);
    expect(help.stdout).toMatch(/--no-forward/);
    const bad = await run(['--forward', 'dns.example:53', '--no-dht', '--relay', relay.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--forward must be IP:PORT/);
    const both = await run(['--forward', '127.0.0.1:53', '--no-forward']);
    expect(both.code).toBe(2);
  }, 30_000);
});
