/**
 * A local Mainline DHT of bittorrent-dht nodes on 127.0.0.1, for tests, benchmarks and
 * `--testnet N`. Node 0 starts alone; the others bootstrap from it. Every node
 * verifies BEP44 signatures and stores items like our client's node does. Nodes can be killed (churn)
 * and added while the network runs.
 */
import type DHT from 'bittorrent-dht';
import { PkarrError } from '../core/errors.ts';
import { destroyDhtNode, startDhtNode } from './dht-node.ts';

export interface TestnetOptions {
  /** KRPC timeout of the testnet nodes' own queries (bootstrap, pings); default 500 ms. */
  timeoutMs?: number;
  /** How many live nodes `bootstrap` lists (default 8; see there). */
  bootstrapSize?: number;
  /** Makes each node's unbound udp4 socket (benchmarks: link delay and loss); default a plain one. */
  createSocket?: () => import('node:dgram').Socket;
}

/** Each node's routing table is topped up to this many nodes (or all others, when fewer). */
const MIN_TABLE = 20;
const HOST = '127.0.0.1';

export class Testnet {
  /** All nodes ever started, by index; killed ones stay as null so indices are stable. */
  readonly #nodes: (DHT | null)[] = [];
  readonly #timeoutMs: number;
  readonly #bootstrapSize: number;
  readonly #createSocket: (() => import('node:dgram').Socket) | undefined;
  #destroyed = false;

  private constructor(options: TestnetOptions) {
    this.#timeoutMs = options.timeoutMs ?? 500;
    this.#bootstrapSize = options.bootstrapSize ?? 8;
    this.#createSocket = options.createSocket;
  }

  #socket(): { socket?: import('node:dgram').Socket } {
    return this.#createSocket === undefined ? {} : { socket: this.#createSocket() };
  }

  /** Starts `size` (≥ 1) nodes and resolves once every node is bootstrapped with a filled routing table. */
  static async create(size: number, options: TestnetOptions = {}): Promise<Testnet> {
    if (!Number.isInteger(size) || size < 1 || size > 10_000) {
      throw new PkarrError('INVALID_ARGUMENT', `invalid testnet size ${String(size)}: expected an integer 1..10000`);
    }
    const testnet = new Testnet(options);
    try {
      const first = await startDhtNode({ bootstrap: [], host: HOST, port: 0, timeoutMs: testnet.#timeoutMs, ...testnet.#socket() });
      testnet.#nodes.push(first);
      await testnet.addNodes(size - 1);
    } catch (err) {
      await testnet.destroy();
      throw err;
    }
    return testnet;
  }

  /** Live nodes. */
  get size(): number {
    return this.liveIndices().length;
  }

  /**
   * `127.0.0.1:port` of the first few live nodes, for clients' `bootstrap`. Deliberately short: k-rpc
   * queries *every* bootstrap node in a lookup whenever the routing table holds fewer nodes than the
   * bootstrap list, so a 50-entry list would make every lookup query 50 nodes.
   */
  get bootstrap(): string[] {
    return this.addresses().slice(0, this.#bootstrapSize);
  }

  /** `127.0.0.1:port` of every live node. */
  addresses(): string[] {
    return this.liveIndices().map((i) => {
      const node = this.#nodes[i]!;
      return `${HOST}:${node.address().port}`;
    });
  }

  /** Indices of the live nodes. */
  liveIndices(): number[] {
    const out: number[] = [];
    this.#nodes.forEach((node, i) => { if (node !== null) out.push(i); });
    return out;
  }

  /** The raw bittorrent-dht node at `index` (tests use it to plant items); null when killed. */
  node(index: number): DHT | null {
    return this.#nodes[index] ?? null;
  }

  /** Starts `count` fresh nodes bootstrapping from the live ones, then tops up every routing table. */
  async addNodes(count: number): Promise<number[]> {
    this.#assertOpen();
    if (!Number.isInteger(count) || count < 0) throw new PkarrError('INVALID_ARGUMENT', `invalid node count ${String(count)}`);
    const bootstrap = this.addresses().slice(0, 1);
    if (bootstrap.length === 0 && count > 0) throw new PkarrError('NO_DHT_NODES', 'testnet has no live node to bootstrap from');
    const started = await Promise.allSettled(Array.from({ length: count }, () =>
      startDhtNode({ bootstrap, host: HOST, port: 0, timeoutMs: this.#timeoutMs, ...this.#socket() })));
    const indices: number[] = [];
    let failure: unknown = null;
    for (const result of started) {
      if (result.status === 'fulfilled') {
        if (this.#destroyed) await destroyDhtNode(result.value);
        else indices.push(this.#nodes.push(result.value) - 1);
      } else {
        failure = result.reason;
      }
    }
    if (failure !== null) throw failure;
    this.#assertOpen();
    this.#fillTables();
    return indices;
  }

  /** Destroys the node at `index` (no-op when already dead). */
  async killAt(index: number): Promise<void> {
    const node = this.#nodes[index];
    if (node === undefined || node === null) return;
    this.#nodes[index] = null;
    await destroyDhtNode(node);
  }

  /**
   * Destroys `count` random live nodes (churn), sparing the first `spare` live ones (default 1, so
   * `bootstrap` keeps a live entry). Returns the killed indices.
   */
  async kill(count: number, options: { spare?: number } = {}): Promise<number[]> {
    this.#assertOpen();
    const spare = options.spare ?? 1;
    const candidates = this.liveIndices().slice(spare);
    if (!Number.isInteger(count) || count < 0 || count > candidates.length) {
      throw new PkarrError('INVALID_ARGUMENT', `cannot kill ${String(count)} of ${candidates.length} killable nodes`);
    }
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    const victims = candidates.slice(0, count).sort((a, b) => a - b);
    await Promise.all(victims.map((i) => this.killAt(i)));
    return victims;
  }

  /** Destroys every node. Idempotent. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    const nodes = this.#nodes.filter((n): n is DHT => n !== null);
    this.#nodes.fill(null);
    await Promise.all(nodes.map(destroyDhtNode));
  }

  /**
   * Bootstrapping from one node leaves early joiners with small tables (they only learn of later
   * nodes when those query them). Add known live nodes directly (with their IDs, so no ping) until
   * each table holds MIN_TABLE nodes or all others: lookups then work from any node at once.
   */
  #fillTables(): void {
    const live = this.liveIndices().map((i) => this.#nodes[i]!);
    const want = Math.min(MIN_TABLE, live.length - 1);
    for (const [position, node] of live.entries()) {
      for (let step = 1; step < live.length && node.nodes.count() < want; step++) {
        const other = live[(position + step) % live.length]!;
        if (other === node) continue;
        node.addNode({ id: other.nodeId, host: HOST, port: other.address().port });
      }
    }
  }

  #assertOpen(): void {
    if (this.#destroyed) throw new PkarrError('INVALID_ARGUMENT', 'testnet destroyed');
  }
}
