/**
 * Hosting a lobby: sign the lobby record with the host's key and publish it through the pkarr
 * client (join by code), serve it from a beacon and announce the beacon on the game's DHT topic
 * (browse), and keep both fresh while the lobby is open: the record is re-signed and re-published
 * every `republishIntervalMs` (browsers treat a lobby as gone after 3 TTLs without a new
 * signature), the topic re-announced every `announceIntervalMs`. A public lobby is also listed in
 * its game's lobby directory (directory-publisher.ts, once per 10-minute window), which browsers read
 * through the DHT or a relay: the way to be found without a reachable beacon (`beacon: false`).
 *
 * ```ts
 * const host = new LobbyHost({ client, dht, keypair });
 * await host.open({ game: 'tanks', gameVersion: '1.2', name: 'Alice', maxPlayers: 8, port: 7777 });
 * await host.update({ players: 3 });
 * await host.close();   // publishes open=0, stops announcing, beacon lingers briefly then stops
 * ```
 */
import { PkarrError } from '../core/errors.ts';
import type { Keypair, PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { PkarrClient, PublishResult } from '../client/types.ts';
import type { RateLimit } from '../util/rate-limiter.ts';
import { BeaconServer } from './beacon-server.ts';
import { DirectoryPublisher, type DirectoryListing, type DirectoryPublisherOptions } from './directory-publisher.ts';
import { customMap } from './custom-map.ts';
import type { ExternalAddressSource, HostAddressSource } from './host-address.ts';
import { openedLobbyInfo, type LobbyOpenOptions } from './lobby-open-options.ts';
import { DEFAULT_LOBBY_TTL, signLobby, validateLobbyInfo, type LobbyInfo } from './lobby-record.ts';
import { lobbyTopic, type TopicDht } from './topic.ts';

export type { LobbyOpenOptions } from './lobby-open-options.ts';

/** The client as the host uses it; `nextTimestamp` (Client has it) is used once, when opening. */
export interface LobbyPublisher extends PkarrClient {
  nextTimestamp?(key: PublicKey): Promise<bigint>;
}

/** What a host needs of the LAN announcer (lan/lan-announcer.ts). */
export interface LobbyLanAnnouncer {
  set(packet: SignedPacket, options: { browsable: boolean }): void;
  goodbye(packet: SignedPacket): void;
}

export const DEFAULT_ANNOUNCE_INTERVAL_MS = 5 * 60_000;
/** How long a closed lobby's beacon keeps serving the closed record (so browsers see "closed"). */
export const DEFAULT_CLOSE_LINGER_MS = 20_000;

export interface LobbyHostOptions {
  client: LobbyPublisher;
  /** BEP5 announce and external address; null = no topic (lobbies are joinable by code only). */
  dht: (TopicDht & Partial<ExternalAddressSource>) | null;
  keypair: Keypair;
  /** Re-sign + publish period (default the record TTL, 60 s). */
  republishIntervalMs?: number;
  announceIntervalMs?: number;
  /** Beacon bind address (default 0.0.0.0), port (default 0), rate limit. */
  beaconHost?: string;
  beaconPort?: number;
  /** The beacon's port as seen from outside, when a NAT maps it to another (announced and published). */
  beaconPublicPort?: number;
  beaconRateLimit?: RateLimit | null;
  /** Directory tuning (slots must match the browsers'; the rest is for tests). */
  directory?: Partial<Pick<DirectoryPublisherOptions, 'slots' | 'refreshMs' | 'verifyMs' | 'powBits' | 'maxAttempts' | 'now'>>;
  /** LAN announcements (lan/lan-announcer.ts): every signed record is multicast; null/absent = none. */
  lan?: LobbyLanAnnouncer | null;
  /**
   * With `lan`: a failed first publish (DHT and relays unreachable: a LAN party with no internet)
   * does not fail `open`; the lobby lives on the LAN and `open` reports `publishError`.
   */
  lanOnlyIfUnpublished?: boolean;
  /** Background failures (republish, re-announce, directory refresh); they never stop the lobby. */
  onError?: (what: 'publish' | 'announce' | 'directory', err: unknown) => void;
}

/** Fields `update` may change. */
export type LobbyUpdate = Partial<Pick<LobbyInfo, 'name' | 'players' | 'maxPlayers' | 'open' | 'custom'>>;

export interface LobbyPublication {
  packet: SignedPacket;
  publish: PublishResult;
}

export interface LobbyOpened extends LobbyPublication {
  /** `lanOnlyIfUnpublished`: why the first publish failed (the lobby is on the LAN only until a republish succeeds). */
  publishError?: string;
  /** Beacon port as announced (null for a private lobby). */
  beaconPort: number | null;
  /** DHT nodes that accepted the topic announce; null when not announced. */
  announcedTo: number | null;
  announceError?: string;
  /** The directory listing at open; null when not listed (private, `directory: false`) or when it failed. */
  directory: DirectoryListing | null;
  directoryError?: string;
  /** `lan`: no address given or known from the DHT, the LAN address was advertised (lobby-service.ts). */
  addressSource: HostAddressSource | 'endpoints' | 'lan';
}

export interface LobbyClosed {
  packet: SignedPacket;
  publish: PublishResult | null;
  publishError?: string;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class LobbyHost {
  readonly keypair: Keypair;
  readonly #options: LobbyHostOptions;
  #info: LobbyInfo | null = null;
  #public = false;
  #browsable = false;
  #beacon: BeaconServer | null = null;
  #directory: DirectoryPublisher | null = null;
  #topic: Uint8Array | null = null;
  #packet: SignedPacket | null = null;
  #timers: NodeJS.Timeout[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #state: 'idle' | 'opening' | 'open' | 'closed' = 'idle';
  readonly #lifetime = new AbortController();

  constructor(options: LobbyHostOptions) {
    this.#options = options;
    this.keypair = options.keypair;
  }

  get publicKey(): PublicKey {
    return this.keypair.publicKey;
  }

  /** The lobby as last signed (null before open). */
  get info(): Readonly<LobbyInfo> | null {
    return this.#info;
  }

  get packet(): SignedPacket | null {
    return this.#packet;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** The last directory listing (null when not listed). */
  get directoryListing(): DirectoryListing | null {
    return this.#directory?.last ?? null;
  }

  /** Makes sure the lobby is listed in the current directory window now (normally done by a timer). */
  refreshDirectory(): Promise<DirectoryListing> {
    if (this.#state !== 'open' || this.#directory === null) return Promise.reject(new PkarrError('INVALID_ARGUMENT', `lobby ${this.publicKey.z32} is not listed in a directory`));
    return this.#directory.refresh();
  }

  /** The beacon's bound port (null when not running). */
  get beaconPort(): number | null {
    return this.#beacon?.port ?? null;
  }

  /** Signs, publishes, starts the beacon and announces. Throws (and leaves nothing running) if the publish fails. */
  async open(options: LobbyOpenOptions): Promise<LobbyOpened> {
    if (this.#state !== 'idle') throw new PkarrError('INVALID_ARGUMENT', `lobby ${this.publicKey.z32} is already ${this.#state === 'closed' ? 'closed (use a new LobbyHost)' : 'open'}`);
    this.#state = 'opening';
    try {
      return await this.#open(options);
    } catch (err) {
      this.#state = 'idle';
      this.#info = null;
      this.#packet = null;
      await this.#stopBackground(false);
      throw err;
    }
  }

  async #open(options: LobbyOpenOptions): Promise<LobbyOpened> {
    const isPublic = options.public ?? true;
    const { info, addressSource } = openedLobbyInfo(options, this.#dht()); // validated before binding anything
    const topic = isPublic && (options.beacon ?? true) && this.#options.dht !== null ? lobbyTopic(info.game, info.gameVersion) : null;
    let beaconPort: number | null = null;
    if (topic !== null) {
      this.#beacon = await BeaconServer.start({
        host: this.#options.beaconHost ?? '0.0.0.0',
        port: this.#options.beaconPort ?? 0,
        ...(this.#options.beaconRateLimit === undefined ? {} : { rateLimit: this.#options.beaconRateLimit }),
      });
      beaconPort = this.#options.beaconPublicPort ?? this.#beacon.port;
      info.beaconPort = beaconPort;
    }
    const timestamp = await this.#options.client.nextTimestamp?.(this.publicKey);
    const packet = signLobby(this.keypair, info, timestamp === undefined ? {} : { timestamp });
    this.#info = info;
    this.#public = topic !== null;
    this.#topic = topic;
    this.#beacon?.setPacket(packet);
    this.#browsable = isPublic;
    this.#options.lan?.set(packet, { browsable: isPublic }); // LAN players see it before the DHT put ends
    let publish: PublishResult;
    let publishError: string | undefined;
    try {
      publish = await this.#enqueue(() => this.#options.client.publish(packet));
    } catch (err) {
      if (this.#options.lan == null || this.#options.lanOnlyIfUnpublished !== true) {
        this.#options.lan?.goodbye(signLobby(this.keypair, { ...info, open: false }));
        throw err;
      }
      publish = { storedOn: 0, dht: null, relays: [] };
      publishError = describe(err);
      this.#options.onError?.('publish', err);
    }
    this.#packet = packet;
    this.#state = 'open';
    let announcedTo: number | null = null;
    let announceError: string | undefined;
    const announcing = topic !== null && beaconPort !== null
      ? this.#announce().then((n) => { announcedTo = n; }, (err: unknown) => {
        announceError = describe(err);
        this.#options.onError?.('announce', err);
      })
      : Promise.resolve();
    let directory: DirectoryListing | null = null;
    let directoryError: string | undefined;
    let listing: Promise<void> = Promise.resolve();
    if (isPublic && (options.directory ?? true)) {
      const publisher = new DirectoryPublisher({
        ...this.#options.directory,
        client: this.#options.client,
        hostKey: this.publicKey,
        game: info.game,
        gameVersion: info.gameVersion,
        onError: (err) => this.#options.onError?.('directory', err),
      });
      this.#directory = publisher;
      listing = publisher.refresh().then((l) => { directory = l; }, (err: unknown) => {
        directoryError = describe(err);
        this.#options.onError?.('directory', err);
      }).finally(() => publisher.start());
    }
    await Promise.all([announcing, listing]); // in parallel: each is a DHT lookup plus a put
    this.#startTimers(info.ttl ?? DEFAULT_LOBBY_TTL);
    return { packet, publish, ...(publishError === undefined ? {} : { publishError }), beaconPort, announcedTo, ...(announceError === undefined ? {} : { announceError }), directory, ...(directoryError === undefined ? {} : { directoryError }), addressSource };
  }

  /** Changes some fields, re-signs and publishes (the beacon serves the new record at once). */
  async update(change: LobbyUpdate): Promise<LobbyPublication> {
    if (this.#state !== 'open' || this.#info === null) throw new PkarrError('INVALID_ARGUMENT', `lobby ${this.publicKey.z32} is not open`);
    const allowed = new Set(['name', 'players', 'maxPlayers', 'open', 'custom']);
    for (const key of Object.keys(change)) if (!allowed.has(key)) throw new PkarrError('INVALID_ARGUMENT', `cannot update lobby field ${JSON.stringify(key)}`);
    // Merged inside the queue, so concurrent updates build on each other in call order.
    return this.#enqueue(() => {
      if (this.#state !== 'open' || this.#info === null) throw new PkarrError('INVALID_ARGUMENT', `lobby ${this.publicKey.z32} is not open`);
      const next: LobbyInfo = { ...this.#info };
      for (const [key, value] of Object.entries(change)) if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
      if (change.custom !== undefined) next.custom = customMap(Object.entries(change.custom)); // our own copy
      validateLobbyInfo(next);
      return this.#signAndPublish(next);
    });
  }

  /**
   * Publishes a closed record (open=0) and stops re-publishing and announcing. The beacon keeps
   * serving the closed record for `lingerMs` (default 20 s) so browsers report "closed" rather than
   * "gone", then stops. A failed publish is reported in the result, not thrown.
   */
  async close(options: { lingerMs?: number } = {}): Promise<LobbyClosed> {
    if (this.#state !== 'open' || this.#info === null) throw new PkarrError('INVALID_ARGUMENT', `lobby ${this.publicKey.z32} is not open`);
    this.#state = 'closed';
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    void this.#directory?.stop(); // the entry stays until its window ends; the closed record says closed
    const closedInfo: LobbyInfo = { ...this.#info, open: false };
    const packet = signLobby(this.keypair, closedInfo);
    this.#info = closedInfo;
    this.#packet = packet;
    this.#beacon?.setPacket(packet);
    this.#options.lan?.goodbye(packet);
    let publish: PublishResult | null = null;
    let publishError: string | undefined;
    try {
      publish = await this.#enqueue(() => this.#options.client.publish(packet));
    } catch (err) {
      publishError = describe(err);
    }
    const linger = options.lingerMs ?? DEFAULT_CLOSE_LINGER_MS;
    if (this.#beacon !== null) {
      if (linger > 0) {
        const timer = setTimeout(() => void this.#stopBackground(true), linger);
        timer.unref();
        this.#timers.push(timer);
      } else {
        await this.#stopBackground(true);
      }
    }
    return { packet, publish, ...(publishError === undefined ? {} : { publishError }) };
  }

  /** Stops everything at once (beacon, timers) without publishing; for shutdown after close(). */
  async dispose(): Promise<void> {
    if (this.#state === 'open' || this.#state === 'opening') this.#state = 'closed';
    await this.#stopBackground(true);
  }

  #dht(): ExternalAddressSource | null {
    const dht = this.#options.dht;
    return dht !== null && typeof dht.externalAddress === 'function' ? (dht as ExternalAddressSource) : null;
  }

  async #signAndPublish(info: LobbyInfo): Promise<LobbyPublication> {
    const packet = signLobby(this.keypair, info);
    this.#info = info;
    this.#packet = packet;
    this.#beacon?.setPacket(packet);
    this.#options.lan?.set(packet, { browsable: this.#browsable });
    const publish = await this.#options.client.publish(packet);
    return { packet, publish };
  }

  #announce(): Promise<number> {
    const dht = this.#options.dht;
    const port = this.#info?.beaconPort;
    if (dht === null || this.#topic === null || port === undefined) return Promise.resolve(0);
    return dht.announce(this.#topic, port, this.#lifetime.signal);
  }

  /** Operations that sign or publish run one after another, in call order. */
  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.catch(() => undefined).then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #startTimers(ttl: number): void {
    const republishMs = this.#options.republishIntervalMs ?? ttl * 1000;
    const republish = setInterval(() => {
      if (this.#state !== 'open') return;
      this.#enqueue(async () => {
        if (this.#state === 'open' && this.#info !== null) await this.#signAndPublish(this.#info);
      }).catch((err: unknown) => this.#options.onError?.('publish', err));
    }, republishMs);
    republish.unref();
    this.#timers.push(republish);
    if (this.#public) {
      const announce = setInterval(() => {
        if (this.#state !== 'open') return;
        this.#announce().catch((err: unknown) => this.#options.onError?.('announce', err));
      }, this.#options.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS);
      announce.unref();
      this.#timers.push(announce);
    }
  }

  async #stopBackground(final: boolean): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    const directory = this.#directory;
    this.#directory = null;
    if (directory !== null) await directory.stop();
    const beacon = this.#beacon;
    this.#beacon = null;
    if (beacon !== null) await beacon.close();
    if (final) this.#lifetime.abort(new PkarrError('INVALID_ARGUMENT', 'lobby host stopped'));
  }
}
