/**
 * A Dht that is usable before bootstrapping finished: the sidecar prints its ready line and
 * serves key management at once, while DHT operations wait for the node to come up. If the node
 * fails to start, every operation fails with DHT_ERROR.
 */
import { PkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { Dht, DhtGetOptions, DhtGetResult, DhtLookupStats, DhtPutResult } from '../dht/types.ts';

export class LazyDht<D extends Dht> implements Dht {
  readonly #starting: Promise<D>;
  #dht: D | null = null;
  #failure: PkarrError | null = null;

  /** `starting` is the node being started (e.g. `DhtClient.start(...)`). */
  constructor(starting: Promise<D>) {
    this.#starting = starting;
    starting.then(
      (dht) => { this.#dht = dht; },
      (err: unknown) => {
        this.#failure = new PkarrError('DHT_ERROR', `the DHT node failed to start: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
      },
    );
  }

  /** Resolves with the started node (rejects if it failed to start). */
  started(): Promise<D> {
    return this.#starting;
  }

  /** The node once started, else null. */
  get current(): D | null {
    return this.#dht;
  }

  /** Bootstrapping finished successfully. */
  get ready(): boolean {
    return this.#dht !== null;
  }

  get nodeCount(): number {
    return this.#dht?.nodeCount ?? 0;
  }

  async #node(): Promise<D> {
    if (this.#dht) return this.#dht;
    if (this.#failure) throw this.#failure;
    try {
      return await this.#starting;
    } catch {
      throw this.#failure ?? new PkarrError('DHT_ERROR', 'the DHT node failed to start');
    }
  }

  async put(packet: SignedPacket, signal?: AbortSignal): Promise<DhtPutResult> {
    return (await this.#node()).put(packet, signal);
  }

  async get(key: PublicKey, options?: DhtGetOptions): Promise<DhtGetResult> {
    return (await this.#node()).get(key, options);
  }

  async holders(key: PublicKey, signal?: AbortSignal): Promise<DhtLookupStats> {
    return (await this.#node()).holders(key, signal);
  }

  /** Destroys the node (waiting for a start in progress first). */
  async destroy(): Promise<void> {
    const dht = await this.#starting.catch(() => null);
    await dht?.destroy();
  }
}
