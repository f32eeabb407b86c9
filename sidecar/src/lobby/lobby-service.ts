/**
 * The lobbies of one sidecar, for the JSON-RPC layer (rpc/lobby-methods.ts): hosted lobbies by key
 * name, one-shot browses, and live watches whose events are pushed to the connection that asked.
 * `close()` (sidecar shutdown) publishes a closed record for every hosted lobby.
 *
 * With LAN discovery (lan/lan-discovery.ts) hosted lobbies are also announced on the local network,
 * browses include LAN lobbies and join by code asks the LAN first. With no DHT and no relay (a LAN
 * party with no internet) lobbies still work on the LAN alone: hosting signs and announces (nothing
 * is published; the advertised address defaults to this machine's LAN address), browsing and join
 * by code listen to the LAN only.
 */
import { PkarrError } from '../core/errors.ts';
import type { Keypair, PublicKey } from '../core/keys.ts';
import { keyStoreFailure } from '../keystore/key-store.ts';
import type { RateLimit } from '../util/rate-limiter.ts';
import type { ExternalAddressSource } from './host-address.ts';
import { LobbyBrowser, type BrowseResult, type BrowsedLobby, type LostReason, type LobbyBrowserOptions } from './lobby-browser.ts';
import { LobbyHost, type LobbyClosed, type LobbyOpenOptions, type LobbyOpened, type LobbyPublication, type LobbyPublisher, type LobbyUpdate } from './lobby-host.ts';
import { checkFoundLobby, findLobby, parseInviteCode, type FindLobbyOptions, type FoundLobby } from './lobby-lookup.ts';
import { lobbyError } from './lobby-errors.ts';
import { LAN_ONLY_PUBLISHER } from './lan-only-publisher.ts';
import type { LobbyLan } from './lobby-lan.ts';
import { parseShortCode } from './short-code.ts';
import { resolveShortCode, ShortCodeSlot } from './short-code-slot.ts';
import type { TopicDht } from './topic.ts';

/** Where hosted lobbies' keys come from (the KeyStore). */
export interface LobbyKeySource {
  get(name: string): Promise<Keypair>;
  /** Creates key `name` (refused with reason KEY_EXISTS when it exists); absent: keys are never created here. */
  generate?(name: string): Promise<unknown>;
}

/** The side of an RPC connection the service pushes watch events to (RpcConnection fits). */
export interface LobbyConnection {
  readonly id: number;
  notify(method: string, params: unknown): void;
}

export type LobbyDht = TopicDht & Partial<ExternalAddressSource>;

export interface LobbyServiceOptions {
  keys: LobbyKeySource;
  client: LobbyPublisher | null;
  dht: LobbyDht | null;
  /** Beacon bind address (default 0.0.0.0). */
  beaconHost?: string;
  beaconRateLimit?: RateLimit | null;
  republishIntervalMs?: number;
  announceIntervalMs?: number;
  /** Background failures of hosted lobbies. */
  onError?: (publicKey: string, what: 'publish' | 'announce' | 'directory' | 'short-code', err: unknown) => void;
  /** Republish period of hosts' short-code slots (default short-code-slot.ts). */
  shortCodeRepublishMs?: number;
  /** LAN discovery (announce, browse, join by code on the local network); null/absent = none. */
  lan?: LobbyLan | null;
  /** How long join by code waits for a LAN answer (default 1000 ms; 150 ms more once the network answered). */
  lanFindMs?: number;
  /** Most lobbies hosted at once (default 16) and watches per connection (default 8). */
  maxHosted?: number;
  maxWatches?: number;
}

/**
 * What a watch subscriber receives (see docs/rpc.md, lobby.* notifications). `index` is where the
 * lobby now stands in the watch's sorted list (LobbyBrowser.positionOf): a subscriber mirrors the
 * list from these events alone. `refreshed` comes once per refresh, periodic or asked for.
 */
export type WatchEvent =
  | { type: 'found' | 'updated'; watchId: string; lobby: BrowsedLobby; index: number }
  | { type: 'lost'; watchId: string; lobby: BrowsedLobby; reason: LostReason }
  /** `rtts`: the round-trip times (ms, by key) that changed since the subscriber last received them. */
  | { type: 'refreshed'; watchId: string; result: BrowseResult; rtts: Record<string, number> };

export type BrowseRequest = Omit<LobbyBrowserOptions, 'dht' | 'client' | 'lan'>;

interface Watch {
  id: string;
  connectionId: number | null;
  browser: LobbyBrowser;
  timer: NodeJS.Timeout;
  /** Runs a refresh (or joins the running one) and reports it once as `refreshed`. */
  refresh(): Promise<BrowseResult>;
}

/** A handle on LazyDht-style adapters: announce/lookup wait for the node, externalAddress does not. */
export function topicDhtOf<D extends LobbyDht>(lazy: { started(): Promise<D>; readonly current: D | null }): LobbyDht {
  return {
    announce: async (infoHash, port, signal) => (await lazy.started()).announce(infoHash, port, signal),
    lookup: async (infoHash, onPeer, signal) => (await lazy.started()).lookup(infoHash, onPeer, signal),
    externalAddress: () => lazy.current?.externalAddress?.() ?? null,
  };
}

export class LobbyService {
  readonly #options: LobbyServiceOptions;
  readonly #hosts = new Map<string, { name: string; host: LobbyHost }>();
  /** Short-code slots of hosted lobbies, by host key. */
  readonly #codes = new Map<string, ShortCodeSlot>();
  readonly #watches = new Map<string, Watch>();
  #nextWatch = 1;
  #closed = false;

  constructor(options: LobbyServiceOptions) {
    this.#options = options;
  }

  /**
   * Makes sure key `name` exists, creating it when missing (lobby.host `createKey`: opening a
   * lobby is one round trip, not a keys.generate expected to fail first). True when created.
   */
  async ensureKey(name: string): Promise<boolean> {
    const keys = this.#options.keys;
    try {
      await keys.get(name);
      return false;
    } catch (err) {
      if (keyStoreFailure(err) !== 'KEY_NOT_FOUND' || keys.generate === undefined) throw err;
    }
    try {
      await keys.generate(name);
      return true;
    } catch (err) {
      if (keyStoreFailure(err) === 'KEY_EXISTS') return false; // created meanwhile by another call
      throw err;
    }
  }

  /** Opens a lobby under key `name` (one lobby per key at a time). */
  async host(name: string, options: LobbyOpenOptions & { beaconPort?: number; beaconPublicPort?: number }): Promise<{ host: LobbyHost; opened: LobbyOpened; shortCode: string; shortCodeError?: string }> {
    this.#assertOpen();
    const lan = this.#lan();
    const lanOnly = this.#options.client === null && lan !== null;
    const client = lanOnly ? LAN_ONLY_PUBLISHER : this.#requireClient();
    // No address given and none known from the DHT (or no DHT at all): on the LAN, the LAN address.
    let lanAddressUsed = false;
    if (lan !== null && options.address === undefined && options.endpoints === undefined && (lanOnly || (this.#options.dht?.externalAddress?.() ?? null) === null)) {
      const address = lan.lanAddress;
      if (address === null) throw new PkarrError('ADDRESS_UNKNOWN', 'no public address known (no DHT/relay, or the DHT reported none) and no LAN IPv4 address to advertise; pass address');
      options = { ...options, address };
      lanAddressUsed = true;
    }
    if (lanOnly) options = { ...options, directory: false }; // the directory lives on the DHT and relays
    const keypair = await this.#options.keys.get(name);
    const z32 = keypair.publicKey.z32;
    if (this.#hosts.has(z32)) throw new PkarrError('INVALID_ARGUMENT', `key ${name} already hosts an open lobby (${z32}): update or close it first`);
    if (this.#hosts.size >= (this.#options.maxHosted ?? 16)) throw new PkarrError('INVALID_ARGUMENT', `too many hosted lobbies (at most ${this.#options.maxHosted ?? 16})`);
    const { beaconPort, beaconPublicPort, ...open } = options;
    const host = new LobbyHost({
      client,
      dht: this.#options.dht,
      keypair,
      ...(this.#options.beaconHost === undefined ? {} : { beaconHost: this.#options.beaconHost }),
      ...(beaconPort === undefined ? {} : { beaconPort }),
      ...(beaconPublicPort === undefined ? {} : { beaconPublicPort }),
      ...(this.#options.beaconRateLimit === undefined ? {} : { beaconRateLimit: this.#options.beaconRateLimit }),
      ...(this.#options.republishIntervalMs === undefined ? {} : { republishIntervalMs: this.#options.republishIntervalMs }),
      ...(this.#options.announceIntervalMs === undefined ? {} : { announceIntervalMs: this.#options.announceIntervalMs }),
      lan: lan === null ? null : lan.announcer,
      lanOnlyIfUnpublished: lan !== null,
      onError: (what, err) => this.#options.onError?.(z32, what, err),
    });
    this.#hosts.set(z32, { name, host }); // reserved while opening
    const slot = new ShortCodeSlot({
      client,
      hostKey: keypair.publicKey,
      ...(this.#options.shortCodeRepublishMs === undefined ? {} : { republishIntervalMs: this.#options.shortCodeRepublishMs }),
      onError: (err) => this.#options.onError?.(z32, 'short-code', err),
    });
    try {
      // The slot's first publish runs alongside the lobby's (a failed one does not stop hosting).
      const [opened, code] = await Promise.all([host.open(open), slot.open()]);
      if (lanAddressUsed) opened.addressSource = 'lan';
      this.#codes.set(z32, slot);
      return { host, opened, shortCode: code.shortCode, ...(code.publishError === undefined ? {} : { shortCodeError: code.publishError }) };
    } catch (err) {
      slot.close();
      this.#hosts.delete(z32);
      throw err;
    }
  }

  async update(name: string, change: LobbyUpdate): Promise<{ host: LobbyHost; publication: LobbyPublication }> {
    const host = await this.#hosted(name);
    return { host, publication: await host.update(change) };
  }

  async close(name: string, lingerMs?: number): Promise<{ host: LobbyHost; closed: LobbyClosed }> {
    const host = await this.#hosted(name);
    this.#hosts.delete(host.publicKey.z32);
    this.#codes.get(host.publicKey.z32)?.close();
    this.#codes.delete(host.publicKey.z32);
    const closed = await host.close(lingerMs === undefined ? {} : { lingerMs });
    return { host, closed };
  }

  /** True when LAN discovery runs (lobbies are announced and heard on the local network). */
  get lanActive(): boolean {
    return this.#lan() !== null;
  }

  /** The lobbies hosted now. */
  hosted(): { name: string; host: LobbyHost }[] {
    return [...this.#hosts.values()].filter((h) => h.host.isOpen);
  }

  /** The short code of a hosted lobby (empty when `publicKey` hosts none here). */
  shortCodeOf(publicKey: string): string {
    return this.#codes.get(publicKey)?.shortCode ?? '';
  }

  /** The host key behind an invite code: any form of the key, or a short code (resolved through its slot). */
  async resolveCode(code: string): Promise<PublicKey> {
    return parseShortCode(code) === null ? parseInviteCode(code) : resolveShortCode(this.#requireClient(), code);
  }

  /**
   * Join by code: the host's key in any form, or a short code (resolved through its slot first;
   * needs the DHT or a relay). With LAN discovery the LAN is asked first (a host there answers
   * within milliseconds; up to `lanFindMs`) while the DHT/relays are asked in parallel: a lobby
   * heard on the LAN wins when it passes the checks, else the network's answer (or, with no
   * network, NO_LOBBY saying only the LAN was searched).
   */
  async get(code: string, options: FindLobbyOptions = {}): Promise<FoundLobby> {
    const lan = this.#lan();
    if (lan === null) return findLobby(this.#requireClient(), (await this.resolveCode(code)).z32, options);
    const key = await this.resolveCode(code);
    const client = this.#options.client;
    const stopLan = new AbortController();
    const net = client === null ? null : findLobby(client, key.z32, options).then(
      (found) => {
        setTimeout(() => stopLan.abort(), 150).unref(); // the network answered: the LAN gets a last moment
        return { ok: true as const, found };
      },
      (error: unknown) => ({ ok: false as const, error }),
    );
    const findMs = this.#options.lanFindMs ?? 1000;
    const heard = await lan.browser.find(key, findMs, stopLan.signal);
    if (heard !== null) {
      try {
        checkFoundLobby(heard.lobby, options);
        return { lobby: heard.lobby, source: 'lan', lanAddress: heard.from };
      } catch (err) {
        if (net === null) throw err;
        const answer = await net;
        if (answer.ok && answer.found.lobby.timestamp > heard.lobby.timestamp) return answer.found;
        throw err;
      }
    }
    if (net === null) {
      throw lobbyError('NO_LOBBY', `no lobby ${key.z32} answered on the local network within ${findMs} ms (no DHT and no relay configured: only the LAN is searched)`, { publicKey: key.z32 });
    }
    const answer = await net;
    if (answer.ok) return answer.found;
    throw answer.error;
  }

  /** One refresh of a throw-away browser. */
  async browse(request: BrowseRequest): Promise<BrowseResult> {
    this.#assertOpen();
    const browser = this.#browser(request);
    try {
      return await browser.refresh();
    } finally {
      await browser.close();
    }
  }

  /**
   * Starts a live browse; events go to `emit` (the connection's notify). The first refresh starts on
   * the next turn of the event loop, so the caller can answer with the watch id first.
   */
  watch(request: BrowseRequest, intervalMs: number, connection: LobbyConnection | null, emit: (event: WatchEvent) => void): string {
    this.#assertOpen();
    const max = this.#options.maxWatches ?? 8;
    const mine = [...this.#watches.values()].filter((w) => w.connectionId === (connection?.id ?? null)).length;
    if (mine >= max) throw new PkarrError('INVALID_ARGUMENT', `too many lobby watches on this connection (at most ${max}): unwatch one first`);
    const id = `w${this.#nextWatch++}`;
    const browser = this.#browser(request);
    const position = (lobby: BrowsedLobby): number => browser.positionOf(lobby.publicKey.z32);
    // The round-trip time the subscriber holds for each listed lobby (sent with found/updated).
    const sentRtt = new Map<string, number | null>();
    const sent = (lobby: BrowsedLobby): BrowsedLobby => { sentRtt.set(lobby.publicKey.z32, lobby.rttMs); return lobby; };
    browser.on('found', (lobby) => emit({ type: 'found', watchId: id, lobby: sent(lobby), index: position(lobby) }));
    browser.on('updated', (lobby) => emit({ type: 'updated', watchId: id, lobby: sent(lobby), index: position(lobby) }));
    browser.on('lost', (lobby, reason) => { sentRtt.delete(lobby.publicKey.z32); emit({ type: 'lost', watchId: id, lobby, reason }); });
    /** The listed lobbies whose round-trip time changed since the subscriber last received it. */
    const newRtts = (result: BrowseResult): Record<string, number> => {
      const rtts: Record<string, number> = {};
      for (const lobby of result.lobbies) {
        const z32 = lobby.publicKey.z32;
        if (lobby.rttMs !== null && sentRtt.get(z32) !== lobby.rttMs) rtts[z32] = lobby.rttMs;
        sentRtt.set(z32, lobby.rttMs);
      }
      return rtts;
    };
    let reported: Promise<BrowseResult> | null = null;
    const refresh = (): Promise<BrowseResult> => {
      const running = browser.refresh(); // the running refresh when one is under way
      if (running !== reported) {
        reported = running;
        // Registered before the caller's own continuation: `refreshed` goes out before an answer.
        running.then((result) => {
          if (this.#watches.has(id)) emit({ type: 'refreshed', watchId: id, result, rtts: newRtts(result) });
        }, () => undefined);
      }
      return running;
    };
    const timer = setInterval(() => void refresh().catch(() => undefined), intervalMs);
    timer.unref();
    this.#watches.set(id, { id, connectionId: connection?.id ?? null, browser, timer, refresh });
    setImmediate(() => { if (this.#watches.has(id)) void refresh().catch(() => undefined); });
    return id;
  }

  /**
   * Refreshes a watch now, or joins its running refresh (its events and one `refreshed` fire as
   * usual); null when there is no such watch.
   */
  async refreshWatch(id: string): Promise<BrowseResult | null> {
    const watch = this.#watches.get(id);
    return watch === undefined ? null : watch.refresh();
  }

  /** Stops a watch; false when there is no such watch. */
  async unwatch(id: string): Promise<boolean> {
    const watch = this.#watches.get(id);
    if (watch === undefined) return false;
    this.#watches.delete(id);
    clearInterval(watch.timer);
    await watch.browser.close();
    return true;
  }

  /** Ends the watches of a connection that went away. */
  async dropConnection(connectionId: number): Promise<void> {
    const ids = [...this.#watches.values()].filter((w) => w.connectionId === connectionId).map((w) => w.id);
    await Promise.all(ids.map((id) => this.unwatch(id)));
  }

  /** Ends every watch and closes every hosted lobby (publishing open=0, no linger). */
  async shutdown(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#watches.keys()].map((id) => this.unwatch(id)));
    const hosts = [...this.#hosts.values()];
    this.#hosts.clear();
    for (const slot of this.#codes.values()) slot.close();
    this.#codes.clear();
    await Promise.all(hosts.map(async ({ host }) => {
      if (host.isOpen) await host.close({ lingerMs: 0 }).catch(() => undefined);
      await host.dispose();
    }));
  }

  #browser(request: BrowseRequest): LobbyBrowser {
    const lan = this.#lan();
    if (this.#options.dht === null && this.#options.client === null && lan === null) throw new PkarrError('INVALID_ARGUMENT', 'no DHT, no relay and no LAN discovery (--no-lan, or no usable network interface): nothing to browse');
    return new LobbyBrowser({ ...request, dht: this.#options.dht, client: this.#options.client, lan: lan?.browser ?? null });
  }

  /** LAN discovery when it runs (at least one socket open), else null. */
  #lan(): LobbyLan | null {
    const lan = this.#options.lan ?? null;
    return lan !== null && lan.active ? lan : null;
  }

  async #hosted(name: string): Promise<LobbyHost> {
    const keypair = await this.#options.keys.get(name);
    const entry = this.#hosts.get(keypair.publicKey.z32);
    if (entry === undefined || !entry.host.isOpen) throw new PkarrError('INVALID_ARGUMENT', `key ${name} hosts no open lobby`);
    return entry.host;
  }

  #requireClient(): LobbyPublisher {
    if (this.#options.client === null) throw new PkarrError('INVALID_ARGUMENT', 'no DHT and no relay configured (started with --no-dht and no --relay), and no LAN discovery (--no-lan, or no usable network interface)');
    return this.#options.client;
  }

  #assertOpen(): void {
    if (this.#closed) throw new PkarrError('INVALID_ARGUMENT', 'the sidecar is shutting down');
  }
}
