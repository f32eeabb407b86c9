/**
 * BEP43 read-only nodes in our DHT node (dht-node.ts): a querier with top-level `ro: 1` (the punch
 * socket's DHT-STUN ping, nat/dht-stun.ts) is answered but never enters the routing table; one
 * without it is added, as before. Real UDP on loopback.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { bdecode, bencode } from '../sidecar/src/dht/bencode.ts';
import { destroyDhtNode, startDhtNode } from '../sidecar/src/dht/dht-node.ts';
import { pingQuery } from '../sidecar/src/nat/dht-stun.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Sends `bytes` from a fresh loopback socket to `port`; resolves with the decoded answer. */
async function ask(port: number, bytes: Buffer): Promise<{ socket: Socket; answer: Record<string, unknown> }> {
  const socket = createSocket('udp4');
  cleanup.push(() => { socket.close(); });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2000);
    socket.once('message', (msg) => { clearTimeout(timer); resolve(bdecode(msg) as Record<string, unknown>); });
  });
  socket.send(bytes, port, '127.0.0.1');
  return { socket, answer: await answer };
}

describe('BEP43 read-only queriers', () => {
  it('answers a read-only ping but keeps the sender out of the routing table; a normal ping gets in', async () => {
    const dht = await startDhtNode({ bootstrap: [], host: '127.0.0.1', port: 0, timeoutMs: 1000 });
    cleanup.push(() => destroyDhtNode(dht));
    const port = dht.address().port;
    const table = (): string[] => dht._rpc.nodes.toArray().map((n) => `${n.host}:${n.port}`);

    const readOnly = await ask(port, pingQuery(Buffer.from('ro01'), randomBytes(20)));
    expect(readOnly.answer['y']?.toString()).toBe('r');
    expect(table()).toEqual([]);

    const normal = await ask(port, bencode({ t: Buffer.from('rw01'), y: 'q', q: 'ping', a: { id: randomBytes(20) } }));
    expect(normal.answer['y']?.toString()).toBe('r');
    expect(table()).toEqual([`127.0.0.1:${normal.socket.address().port}`]);
    expect(table()).not.toContain(`127.0.0.1:${readOnly.socket.address().port}`);
  });
});
