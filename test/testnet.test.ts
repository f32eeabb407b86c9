/** The local DHT testnet: startup, routing tables, churn (kill / add), clean shutdown. */
import { afterEach, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function testnetOf(size: number): Promise<Testnet> {
  const testnet = await Testnet.create(size);
  cleanup.push(() => testnet.destroy());
  return testnet;
}

/** True when a UDP socket can bind 127.0.0.1:port (i.e. nothing listens there any more). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

describe('Testnet', () => {
  it('starts 50 nodes whose routing tables are all filled', async () => {
    const testnet = await testnetOf(50);
    expect(testnet.size).toBe(50);
    for (const i of testnet.liveIndices()) {
      const node = testnet.node(i)!;
      expect(node.nodes.count()).toBeGreaterThanOrEqual(20);
      expect(node.address().address).toBe('127.0.0.1');
    }
    expect(testnet.addresses()).toHaveLength(50);
    expect(new Set(testnet.addresses()).size).toBe(50);
    expect(testnet.bootstrap.length).toBeGreaterThan(0);
    expect(testnet.bootstrap.length).toBeLessThanOrEqual(8);
    for (const address of testnet.bootstrap) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('a one-node testnet works as a bootstrap node', async () => {
    const testnet = await testnetOf(1);
    expect(testnet.size).toBe(1);
    const client = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 300 });
    cleanup.push(() => client.destroy());
    expect(client.nodeCount).toBe(1);
  });

  it('kills nodes (churn) and adds fresh ones that join the network', async () => {
    const testnet = await testnetOf(20);
    const killed = await testnet.kill(5);
    expect(killed).toHaveLength(5);
    expect(new Set(killed).size).toBe(5);
    expect(killed).not.toContain(0); // the first live node is spared by default
    expect(testnet.size).toBe(15);
    const killedPorts: number[] = [];
    for (const i of killed) expect(testnet.node(i)).toBeNull();
    await testnet.killAt(killed[0]!); // already dead: no-op
    const first = testnet.node(testnet.liveIndices()[1]!)!;
    killedPorts.push(first.address().port);
    await testnet.killAt(testnet.liveIndices()[1]!);
    expect(testnet.size).toBe(14);
    expect(await portIsFree(killedPorts[0]!)).toBe(true);

    const added = await testnet.addNodes(6);
    expect(added).toHaveLength(6);
    expect(testnet.size).toBe(20);
    for (const i of added) expect(testnet.node(i)!.nodes.count()).toBeGreaterThanOrEqual(19);
    expect(testnet.addresses()).toHaveLength(20);
  });

  it('carries BEP44 items between clients after churn', async () => {
    const testnet = await testnetOf(25);
    const publisher = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 300 });
    cleanup.push(() => publisher.destroy());
    const keypair = Keypair.generate();
    const packet = SignedPacket.sign(keypair, [{ type: 'TXT', name: '_x', ttl: 60, strings: ['hi'] }]);
    expect(await (await publisher.put(packet)).settled).toBeGreaterThan(10);
    await testnet.kill(5);
    await testnet.addNodes(5);
    const resolver = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 300 });
    cleanup.push(() => resolver.destroy());
    expect((await resolver.get(keypair.publicKey)).packet?.isSameAs(packet)).toBe(true);
  });

  it('destroy closes every socket and is idempotent', async () => {
    const testnet = await Testnet.create(5);
    const ports = testnet.addresses().map((a) => Number(a.split(':')[1]));
    await testnet.destroy();
    await testnet.destroy();
    expect(testnet.size).toBe(0);
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
    await expect(testnet.addNodes(1)).rejects.toThrow(/destroyed/);
  });

  it('rejects invalid sizes and counts', async () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      const err = await Testnet.create(size).then(() => null, (e: unknown) => e);
      expect(isPkarrError(err, 'INVALID_ARGUMENT')).toBe(true);
    }
    const testnet = await testnetOf(3);
    await expect(testnet.kill(3)).rejects.toThrow(/cannot kill/); // only 2 killable (1 spared)
    await expect(testnet.addNodes(-1)).rejects.toThrow(/invalid node count/);
  });
});
