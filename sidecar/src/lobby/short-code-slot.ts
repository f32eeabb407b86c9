/**
 * The network side of short invite codes (short-code.ts, docs/lobby.md "Short invite codes"): a
 * host publishes and keeps republishing its code's slot; a joiner resolves the slot and takes the
 * host key only when its fingerprint is the code.
 */
import { isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import { SignedPacket } from '../core/signed-packet.ts';
import { timestamps } from '../core/timestamp.ts';
import type { PkarrClient, ResolveResult } from '../client/types.ts';
import { lobbyError } from './lobby-errors.ts';
import type { LobbyPublisher } from './lobby-host.ts';
import { formatShortCode, hostOfSlot, parseShortCode, shortCodeOf, shortCodeRecords, shortCodeSlotKeypair } from './short-code.ts';

/** How often a host republishes its slot by default (also how long a squatter's overwrite lasts). */
export const DEFAULT_SHORT_CODE_REPUBLISH_MS = 5 * 60_000;

export interface ShortCodeSlotOptions {
  client: LobbyPublisher;
  hostKey: PublicKey;
  republishIntervalMs?: number;
  /** Background republish failures (they never stop the lobby). */
  onError?: (err: unknown) => void;
}

/** A host's short code: its slot published now and every interval until `close()`. */
export class ShortCodeSlot {
  readonly #options: ShortCodeSlotOptions;
  #timer: NodeJS.Timeout | null = null;
  #canonical = '';

  constructor(options: ShortCodeSlotOptions) {
    this.#options = options;
  }

  /** The code as shown (`XXXXX-XXXXX`); empty before `open()`. */
  get shortCode(): string {
    return this.#canonical === '' ? '' : formatShortCode(this.#canonical);
  }

  /** Derives the code, publishes the slot and starts republishing. A failed first publish is returned, not thrown. */
  async open(): Promise<{ shortCode: string; publishError?: string }> {
    this.#canonical = await shortCodeOf(this.#options.hostKey);
    let publishError: string | undefined;
    try {
      await this.#publish(false);
    } catch (err) {
      if (!isPkarrError(err)) throw err;
      publishError = `${err.code}: ${err.message}`;
    }
    this.close();
    this.#timer = setInterval(() => {
      this.#publish(true).catch((err: unknown) => this.#options.onError?.(err));
    }, this.#options.republishIntervalMs ?? DEFAULT_SHORT_CODE_REPUBLISH_MS);
    this.#timer.unref();
    return { shortCode: this.shortCode, ...(publishError === undefined ? {} : { publishError }) };
  }

  /** Stops republishing (the slot stays: it still names this host, whose lobby says closed). */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * The first publish (while `lobby.host` waits) signs with the local clock only; republishes
   * first look at the network (`nextTimestamp`) so they overtake whatever a squatter wrote since.
   */
  async #publish(overtake: boolean): Promise<void> {
    const slot = shortCodeSlotKeypair(this.#canonical);
    const timestamp = overtake ? await this.#options.client.nextTimestamp?.(slot.publicKey) : timestamps.next();
    const packet = SignedPacket.sign(slot, shortCodeRecords(this.#options.hostKey), timestamp === undefined ? {} : { timestamp });
    await this.#options.client.publish(packet);
  }
}

async function resolveOrNull(client: PkarrClient, key: PublicKey, policy: 'CacheFirst' | 'NetworkOnly'): Promise<ResolveResult | null> {
  try {
    return await client.resolve(key, policy);
  } catch (err) {
    if (isPkarrError(err, 'NOT_FOUND')) return null;
    throw err;
  }
}

/**
 * The host key behind short code `text` (any accepted spelling). Fails with the lobby reason
 * NO_LOBBY when the slot is empty or names no key with this fingerprint (`details.squatted`).
 */
export async function resolveShortCode(client: PkarrClient, text: string): Promise<PublicKey> {
  const canonical = parseShortCode(text);
  if (canonical === null) throw lobbyError('NO_LOBBY', `not a short code: ${JSON.stringify(text)}`);
  const slot = shortCodeSlotKeypair(canonical).publicKey;
  const cached = await resolveOrNull(client, slot, 'CacheFirst');
  const fromCache = cached === null ? null : await hostOfSlot(cached.packet, canonical);
  if (fromCache !== null) return fromCache;
  const fresh = await resolveOrNull(client, slot, 'NetworkOnly');
  const found = fresh ?? cached;
  const code = formatShortCode(canonical);
  if (found === null) throw lobbyError('NO_LOBBY', `no lobby under the short code ${code}: nothing is published for it (mistyped, or the host is gone)`, { shortCode: code });
  const host = fresh === null ? null : await hostOfSlot(fresh.packet, canonical);
  if (host === null) {
    throw lobbyError('NO_LOBBY', `no lobby under the short code ${code}: its slot names no key with this fingerprint (overwritten by someone else; ask the host for the long code)`, { shortCode: code, squatted: true });
  }
  return host;
}
