/**
 * The publish quorum (dht/publish-query.ts), driven step by step with a scripted k-rpc: the call's
 * answer comes at the quorum, the other puts finish in the background after it, puts start only
 * for nodes known to be among the closest, and the outcome rules (put-query.ts) still apply.
 */
import { describe, expect, it } from 'vitest';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { putArguments } from '../sidecar/src/dht/bep44.ts';
import { Client } from '../sidecar/src/client/client.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import type { TokenNode } from '../sidecar/src/dht/item-lookup.ts';
import { lookupAndPut, PUBLISH_QUORUM, QuorumPut, type QuorumSnapshot } from '../sidecar/src/dht/publish-query.ts';
import { putResult } from '../sidecar/src/dht/put-query.ts';
import { RttEstimator } from '../sidecar/src/dht/rtt-estimator.ts';
import { compact, FakeKrpc, FakeTimers, idAt } from './dht-fake-krpc.ts';

const keypair = Keypair.fromSeed(new Uint8Array(32).fill(3));
const packet = SignedPacket.sign(keypair, [{ type: 'A', name: '@', ttl: 300, address: '10.0.0.1' }], { timestamp: 1_795_452_946_131_000n });
const args = putArguments(packet);
const target = packet.publicKey.dhtTarget();
const port = (rank: number): number => 20_000 + rank;
const tokenNode = (rank: number): TokenNode => ({ id: idAt(rank, target), host: '127.0.0.1', port: port(rank), token: Buffer.from([rank]) });

/** Lets the put callbacks' promise chains run. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Watches a promise without awaiting it. */
function watch<T>(promise: Promise<T>): { value: () => T | undefined } {
  let value: T | undefined;
  void promise.then((v) => { value = v; });
  return { value: () => value };
}

describe('QuorumPut', () => {
  it('answers at the quorum and finishes the other puts in the background', async () => {
    const fake = new FakeKrpc([]);
    const put = new QuorumPut(fake.rpc, args, 3);
    for (let rank = 1; rank <= 5; rank++) put.add(tokenNode(rank));
    put.add(tokenNode(1)); // the same node again: no second put
    put.close();
    expect(fake.sent).toHaveLength(5);
    for (const q of fake.sent) {
      expect(q.message.q).toBe('put');
      expect(q.message.a.token).toEqual(Buffer.from([q.peer.port - 20_000])); // each node its own token
      expect(q.message.a.seq).toBe(args.seq);
    }
    const early = watch(put.early);
    const settled = watch(put.settled);
    fake.reply(port(1));
    fake.reply(port(2));
    await flush();
    expect(early.value()).toBeUndefined();
    fake.reply(port(4));
    await flush();
    const snapshot = early.value()!;
    expect(snapshot.quorum).toBe(true);
    expect(snapshot.outcome.stored).toBe(3);
    expect(snapshot.pending).toBe(2);
    expect(putResult(snapshot.outcome, 'test')).toBe(3); // what DhtClient.put returns as storedOn
    expect(settled.value()).toBeUndefined(); // the call has its answer; two puts are still out

    fake.reply(port(3));
    fake.fail(port(5), 203, 'bad token');
    await flush();
    const final = settled.value()!;
    expect(final.stored).toBe(4);
    expect(final.errors.get('bad token')).toBe(1);
    expect(snapshot.outcome.stored).toBe(3); // the snapshot the caller got does not change afterwards
  });

  it('counts a node that already holds the very same item (302, then confirmed by a get) toward the quorum', async () => {
    const fake = new FakeKrpc([]);
    const put = new QuorumPut(fake.rpc, args, 2);
    put.add(tokenNode(1));
    put.add(tokenNode(2));
    put.close();
    fake.reply(port(1));
    fake.fail(port(2), 302, 'sequence number less than current');
    await flush();
    const confirm = fake.to(port(2))[1]!;
    expect(confirm.message.q).toBe('get');
    fake.reply(port(2), { k: args.k, v: args.v, seq: args.seq, sig: args.sig });
    const snapshot = await put.early;
    expect(snapshot.outcome.stored).toBe(1);
    expect(snapshot.outcome.alreadyStored).toBe(1);
    expect(snapshot.quorum).toBe(true);
  });

  it('without a quorum waits for every answer and keeps the reference\'s outcome rules', async () => {
    const fake = new FakeKrpc([]);
    const put = new QuorumPut(fake.rpc, args, PUBLISH_QUORUM);
    for (let rank = 1; rank <= 3; rank++) put.add(tokenNode(rank));
    put.close();
    const early = watch(put.early);
    fake.reply(port(1));
    fake.fail(port(2), 'ETIMEDOUT', 'Query timed out');
    await flush();
    expect(early.value()).toBeUndefined();
    fake.fail(port(3), 301, 'CAS mismatch');
    await flush();
    const snapshot: QuorumSnapshot = early.value()!;
    expect(snapshot.quorum).toBe(false);
    expect(snapshot.pending).toBe(0);
    expect(putResult(snapshot.outcome, 'test')).toBe(1); // fewer nodes than the quorum: all there were

    const refused = new QuorumPut(fake.rpc, args, 2);
    for (let rank = 6; rank <= 8; rank++) refused.add(tokenNode(rank));
    refused.close();
    for (let rank = 6; rank <= 8; rank++) fake.fail(port(rank), 302, 'sequence number less than current');
    await flush();
    for (let rank = 6; rank <= 8; rank++) fake.reply(port(rank), { k: args.k, v: Buffer.from('other'), seq: args.seq + 1, sig: args.sig });
    const outcome = (await refused.early).outcome;
    expect(outcome.conflicts).toBe(3);
    let caught: unknown;
    try {
      putResult(outcome, 'test');
    } catch (err) {
      caught = err;
    }
    expect(isPkarrError(caught, 'NOT_MOST_RECENT')).toBe(true);
  });
});

describe('lookupAndPut', () => {
  it('puts to a node only once every closer candidate answered or went past its RTO', async () => {
    const nodes = [1, 2, 3, 4].map((rank) => ({ id: idAt(rank, target), host: '127.0.0.1', port: port(rank) }));
    const fake = new FakeKrpc(nodes);
    const timers = new FakeTimers();
    const rtt = new RttEstimator({ minMs: 50, maxMs: 2000, initialMs: 300 });
    const { put, lookupEnd } = lookupAndPut({ rpc: fake.rpc, key: packet.publicKey, args, rtt, k: 3, quorum: 2, eagerSlack: 0, deadlineMs: 60_000, timers });
    const gets = (): number[] => fake.sent.filter((q) => q.message.q === 'get').map((q) => q.peer.port);
    const puts = (): number[] => fake.sent.filter((q) => q.message.q === 'put').map((q) => q.peer.port);
    expect(gets()).toEqual([port(1), port(2), port(3)]); // the window: the 3 closest
    fake.reply(port(2), { token: Buffer.from([2]) });
    fake.reply(port(3), { token: Buffer.from([3]) });
    expect(puts()).toEqual([]); // node 1, closer than both, has not answered yet
    timers.advance(300); // node 1 goes slow (dead?): 2 and 3 are known to be the closest reachable; node 4 is asked
    expect(puts()).toEqual([port(2), port(3)]);
    expect(gets()).toEqual([port(1), port(2), port(3), port(4)]);
    fake.reply(port(1), { token: Buffer.from([1]) }); // late, but alive and the closest: the window (1, 2, 3) is complete
    expect(await lookupEnd).toBe('complete');
    expect(puts()).toEqual([port(2), port(3), port(1)]); // node 1 gets its put too
    fake.reply(port(4), { token: Buffer.from([4]) }); // outside the window, after the end: no put
    await flush();
    expect(puts()).toEqual([port(2), port(3), port(1)]);
    const early = watch(put.early);
    const settled = watch(put.settled);
    fake.reply(port(3));
    fake.reply(port(1));
    await flush();
    expect(early.value()?.outcome.stored).toBe(2);
    expect(early.value()?.pending).toBe(1);
    expect(settled.value()).toBeUndefined();
    fake.reply(port(2)); // after the caller was answered
    await flush();
    expect(settled.value()?.stored).toBe(3);
  });

  it('sends puts early while a closer node waits out its RTO, but counts a node only once it is known to be among the closest', async () => {
    const nodes = [1, 2, 3, 4].map((rank) => ({ id: idAt(rank, target), host: '127.0.0.1', port: port(rank) }));
    const fake = new FakeKrpc(nodes);
    const timers = new FakeTimers();
    const rtt = new RttEstimator({ minMs: 50, maxMs: 2000, initialMs: 300 });
    const { put } = lookupAndPut({ rpc: fake.rpc, key: packet.publicKey, args, rtt, k: 3, quorum: 2, eagerSlack: 1, deadlineMs: 60_000, timers });
    const puts = (): number[] => fake.sent.filter((q) => q.message.q === 'put').map((q) => q.peer.port);
    fake.reply(port(2), { token: Buffer.from([2]) });
    fake.reply(port(3), { token: Buffer.from([3]) });
    expect(puts()).toEqual([port(2), port(3)]); // one closer node (1) still open: within the slack
    const early = watch(put.early);
    fake.reply(port(2));
    fake.reply(port(3));
    await flush();
    expect(early.value()).toBeUndefined(); // stored on 2, but node 1 may still turn out closer (and alive)
    timers.advance(300); // node 1 goes slow: 2 and 3 are among the closest reachable
    await flush();
    expect(early.value()?.quorum).toBe(true);
    expect(early.value()?.outcome.stored).toBe(2);
    expect(puts()).toEqual([port(2), port(3)]);
  });

  it('by default puts to a responder while the open closer candidates could not push it out of the k closest, and still counts only settled nodes', async () => {
    const nodes = [1, 2, 3, 4, 5].map((rank) => ({ id: idAt(rank, target), host: '127.0.0.1', port: port(rank) }));
    const fake = new FakeKrpc(nodes);
    const timers = new FakeTimers();
    const rtt = new RttEstimator({ minMs: 50, maxMs: 2000, initialMs: 300 });
    const { put } = lookupAndPut({ rpc: fake.rpc, key: packet.publicKey, args, rtt, k: 4, quorum: 2, deadlineMs: 60_000, timers });
    const puts = (): number[] => fake.sent.filter((q) => q.message.q === 'put').map((q) => q.peer.port);
    expect(fake.sent.map((q) => q.peer.port)).toEqual([port(1), port(2), port(3), port(4)]); // the window
    fake.reply(port(4), { token: Buffer.from([4]) });
    // The closest responder so far (index 0 of k = 4) with 3 closer candidates open: even if all three
    // are responders it is still among the 4 closest, so its put goes out now.
    expect(puts()).toEqual([port(4)]);
    fake.reply(port(3), { token: Buffer.from([3]) });
    // Node 3 (index 0, 2 open) gets its put; node 4 (index 1, the same 2 open) keeps the one it has.
    expect(puts()).toEqual([port(4), port(3)]);
    const early = watch(put.early);
    fake.reply(port(4));
    fake.reply(port(3));
    await flush();
    expect(early.value()).toBeUndefined(); // stored on 3 and 4, but nodes 1 and 2 are still open: not counted
    fake.reply(port(2), { token: Buffer.from([2]) }); // index 0, one open closer (node 1): put at once
    expect(puts()).toEqual([port(4), port(3), port(2)]);
    await flush();
    expect(early.value()).toBeUndefined();
    timers.advance(300); // node 1 goes past its RTO: 2, 3 and 4 are known to be among the closest
    await flush();
    expect(early.value()?.quorum).toBe(true);
    expect(early.value()?.outcome.stored).toBe(2); // 3 and 4 counted; 2's put is still out
    expect(early.value()?.pending).toBe(1);
  });

  it('by default holds the put back from a responder that the open closer candidates could push out of the k closest', () => {
    const far = [10, 20, 30, 40].map((rank) => ({ id: idAt(rank, target), host: '127.0.0.1', port: port(rank) }));
    const fake = new FakeKrpc(far);
    const { lookup } = lookupAndPut({ rpc: fake.rpc, key: packet.publicKey, args, rtt: new RttEstimator(), k: 4, quorum: 2, deadlineMs: 60_000, timers: new FakeTimers() });
    const puts = (): number[] => fake.sent.filter((q) => q.message.q === 'put').map((q) => q.peer.port);
    // Node 40 answers with 4 closer nodes: 10, 20, 30 and the 4 new ones are open, 7 > k - 1.
    fake.reply(port(40), { token: Buffer.from([40]), nodes: compact([1, 2, 3, 4].map((rank) => ({ id: idAt(rank, target), port: port(rank) }))) });
    expect(puts()).toEqual([]);
    expect(lookup.unresolvedBefore(idAt(40, target))).toBe(7);
    fake.reply(port(1), { token: Buffer.from([1]) }); // the closest: nothing closer is open
    expect(puts()).toEqual([port(1)]);
  });

  it('never puts to a node that gave no write token', async () => {
    const nodes = [1, 2].map((rank) => ({ id: idAt(rank, target), host: '127.0.0.1', port: port(rank) }));
    const fake = new FakeKrpc(nodes);
    const { put, lookupEnd } = lookupAndPut({ rpc: fake.rpc, key: packet.publicKey, args, rtt: new RttEstimator(), k: 2, quorum: 1, deadlineMs: 60_000, timers: new FakeTimers() });
    fake.reply(port(1)); // no token
    fake.reply(port(2), { token: Buffer.from([2]) });
    await lookupEnd;
    expect(fake.sent.filter((q) => q.message.q === 'put').map((q) => q.peer.port)).toEqual([port(2)]);
    fake.reply(port(2));
    expect((await put.early).outcome.stored).toBe(1);
  });
});

describe('DhtClient publish quorum option', () => {
  it('refuses a quorum outside 1..20 before binding anything', async () => {
    for (const publishQuorum of [0, 21, 2.5, Number.NaN]) {
      let caught: unknown;
      try {
        await DhtClient.start({ bootstrap: [], host: '127.0.0.1', publishQuorum });
      } catch (err) {
        caught = err;
      }
      expect(isPkarrError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});

describe('Client.publish on a loopback testnet', () => {
  it('reports the count stored when the DHT put returned and the puts still pending then', async () => {
    const testnet = await Testnet.create(25);
    const dht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 1000 });
    const client = new Client({ dht, relays: [] });
    try {
      const owner = Keypair.generate();
      const signed = SignedPacket.sign(owner, [{ type: 'TXT', name: '@', ttl: 300, strings: ['quorum'] }]);
      const result = await client.publish(signed);
      expect(result.dht?.ok).toBe(true);
      const { storedOn, pending } = result.dht!;
      expect(storedOn).toBeGreaterThanOrEqual(PUBLISH_QUORUM);
      expect(result.storedOn).toBe(storedOn);
      expect(Number.isInteger(pending)).toBe(true);
      expect(pending).toBeGreaterThanOrEqual(0);
      // client.settled() waits for the puts still pending; then a full lookup finds at least as many holders.
      await client.settled();
      const { holders, packet: found } = await dht.holders(owner.publicKey);
      expect(found?.isSameAs(signed)).toBe(true);
      expect(holders).toBeGreaterThanOrEqual(storedOn!);
    } finally {
      await client.close();
      await dht.destroy();
      await testnet.destroy();
    }
  }, 30_000);
});
