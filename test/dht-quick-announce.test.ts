/**
 * DhtClient.announceQuick (dht/quick-announce.ts) on a local testnet where a third of the nodes
 * are dead: the announce is stored where a lookup finds it, and it does not wait for the dead (when
 * it resolves, queries to dead nodes are still in flight under a 20 s KRPC timeout).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { destroyDhtNode, startDhtNode } from '../sidecar/src/dht/dht-node.ts';
import { quickAnnounce } from '../sidecar/src/dht/quick-announce.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';

let testnet: Testnet;
const clients: DhtClient[] = [];

beforeAll(async () => {
  testnet = await Testnet.create(30);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  await testnet.destroy();
});

async function client(timeoutMs: number): Promise<DhtClient> {
  const c = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs });
  clients.push(c);
  return c;
}

describe('announceQuick', () => {
  it('stores the peer where a lookup finds it, without waiting for dead nodes', async () => {
    const node = await startDhtNode({ bootstrap: testnet.bootstrap, host: '127.0.0.1', port: 0, timeoutMs: 20_000 });
    const finder = await client(2_000);
    try {
      await testnet.kill(10, { spare: 3 }); // dead entries stay in every routing table
      const infoHash = createHash('sha1').update('quick-announce-test').digest();
      const result = await quickAnnounce(node._rpc, infoHash, 41000, { deadlineMs: 60_000 });
      // Queries to the dead wait out a 20 s timeout: some are still pending when the announce is done.
      expect(node._rpc.socket.inflight).toBeGreaterThan(0);
      expect(result.stored).toBeGreaterThan(0);
      expect(result.responded).toBeGreaterThanOrEqual(result.stored);
      const peers: string[] = [];
      await finder.lookup(infoHash, (host, port) => peers.push(`${host}:${port}`));
      expect(peers).toContain('127.0.0.1:41000');
    } finally {
      await destroyDhtNode(node);
    }
  }, 60_000);

  it('DhtClient.announceQuick refuses bad input before sending anything', async () => {
    const c = await client(2_000);
    await expect(c.announceQuick(new Uint8Array(19), 1)).rejects.toThrow(/infoHash must be 20 bytes/);
    await expect(c.announceQuick(new Uint8Array(20), 70000)).rejects.toThrow(/invalid port/);
    expect(await c.announceQuick(new Uint8Array(20).fill(7), 41001)).toBeGreaterThan(0);
  });
});
