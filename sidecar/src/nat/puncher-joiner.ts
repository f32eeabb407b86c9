/**
 * The joiner side of hole punching (docs/nat.md §3): announce the punch socket's public
 * port on the host's rendezvous; send openers with a low IP TTL (default 2) to the host's public
 * punch address, which pass the joiner's own router (creating its mapping) and die before the
 * host's router (leaving no state there that would make it pick another port); once the host's
 * PROBE arrives, HELLO at normal TTL; the path is open when a WELCOME carries a valid signature of
 * the host key over our nonce. Anything else is rejected and counted.
 */
import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import type { TopicDht } from '../lobby/topic.ts';
import { decodeFrame, encodeHello, FrameType, NONCE_BYTES, SESSION_BYTES, welcomeMessage } from './punch-frames.ts';
import type { NatType } from './nat-type.ts';
import { checkTiming, PunchLink, type PunchLinkTiming } from './punch-link.ts';
import { announceRendezvous, rendezvousWindow } from './rendezvous.ts';
import type { UdpAddress, UdpChannel } from './udp-channel.ts';

/** A side's reachability as measured (docs/nat.md §1). */
export type PunchNatType = NatType;

export const DEFAULT_PUNCH_TIMEOUT_MS = 20_000;
export const DEFAULT_OPENER_TTL = 2;
export const DEFAULT_OPENER_INTERVAL_MS = 500;
/** Pause before announcing again: after a failure, or while no probe came from the host, ms. */
const ANNOUNCE_RETRY_MS = 5_000;

export interface PunchJoinOptions extends PunchLinkTiming {
  /** The punch socket's `punch` channel. */
  channel: UdpChannel;
  /** The lobby's host key (from the resolved, verified lobby record). */
  hostKey: PublicKey;
  /** The host's public punch address (from the lobby record). */
  hostPunchAddress: UdpAddress;
  /**
   * Where and what to announce: the DHT and our punch socket's public port (DHT-STUN). A symmetric
   * NAT has no stable public port and only the IP matters then: `publicPort` may be left out
   * (the punch socket's local port is announced).
   */
  announce: { dht: TopicDht; publicPort?: number };
  /** Our NAT type (default 'unknown'); 'symmetric' also sends normal-TTL HELLOs at once. */
  natType?: PunchNatType;
  /** The host's NAT type if known (default 'unknown'). */
  hostNatType?: PunchNatType;
  /** Longest attempt, ms (default 20000). */
  timeoutMs?: number;
  /** IP TTL of the openers (default 2). */
  openerTtl?: number;
  /** Pause between openers and between HELLOs, ms (default 500). */
  openerIntervalMs?: number;
  signal?: AbortSignal;
  /** Filled in while the attempt runs (also in the error's details). */
  stats?: PunchJoinStats;
  /** Called when a rendezvous announce ended: how many nodes stored it, or why it failed (for logs). */
  onAnnounced?: (outcome: { stored: number; ms: number; error?: string }) => void;
}

export interface PunchJoinStats {
  announces: number;
  announceFailures: number;
  openersSent: number;
  hellosSent: number;
  probesReceived: number;
  /** WELCOMEs with a wrong signature, session or sender. */
  badWelcomes: number;
  malformed: number;
  /** Valid frames that were not for this attempt. */
  unmatched: number;
}

function newStats(): PunchJoinStats {
  return { announces: 0, announceFailures: 0, openersSent: 0, hellosSent: 0, probesReceived: 0, badWelcomes: 0, malformed: 0, unmatched: 0 };
}

/** True when neither side can be punched toward the other (both symmetric). */
export function unpunchable(ours: PunchNatType, theirs: PunchNatType): boolean {
  return ours === 'symmetric' && theirs === 'symmetric';
}

const ADVICE = 'enable UPnP or NAT-PMP on the router (or forward the port by hand), or let the player on the other side host';

function unreachable(ours: PunchNatType, theirs: PunchNatType, what: string, stats: PunchJoinStats): PkarrError {
  return new PkarrError('UNREACHABLE_NAT', `${what}: your NAT is ${ours}, the host's is ${theirs}; ${ADVICE}`, { natType: ours, hostNatType: theirs, ...stats });
}

function checkOptions(options: PunchJoinOptions): { timeoutMs: number; openerTtl: number; intervalMs: number; publicPort: number } {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PUNCH_TIMEOUT_MS;
  const openerTtl = options.openerTtl ?? DEFAULT_OPENER_TTL;
  const intervalMs = options.openerIntervalMs ?? DEFAULT_OPENER_INTERVAL_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 100) throw new PkarrError('INVALID_ARGUMENT', `invalid punch timeout ${String(timeoutMs)} ms (≥ 100)`);
  if (!Number.isInteger(openerTtl) || openerTtl < 1 || openerTtl > 255) throw new PkarrError('INVALID_ARGUMENT', `invalid opener TTL ${String(openerTtl)} (1..255)`);
  if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new PkarrError('INVALID_ARGUMENT', `invalid opener interval ${String(intervalMs)} ms (≥ 10)`);
  const { host, port } = options.hostPunchAddress ?? {};
  if (typeof host !== 'string' || !isIPv4(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid host punch address ${String(host)}:${String(port)} (IPv4 and port 1-65535)`);
  }
  if (options.announce === undefined || typeof options.announce.dht?.announce !== 'function') {
    throw new PkarrError('INVALID_ARGUMENT', 'punchToHost needs announce.dht');
  }
  let publicPort = options.announce.publicPort;
  if (publicPort === undefined) {
    if (options.natType !== 'symmetric') throw new PkarrError('INVALID_ARGUMENT', 'announce.publicPort is required unless our NAT is symmetric');
    publicPort = options.channel.localAddress().port;
  }
  if (!Number.isInteger(publicPort) || publicPort < 1 || publicPort > 65535) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid public punch port ${String(publicPort)} (1-65535)`);
  }
  return { timeoutMs, openerTtl, intervalMs, publicPort };
}

/**
 * Opens a punched path to the host. Rejects with UNREACHABLE_NAT (both sides symmetric: at once,
 * before sending anything; or no valid answer within the timeout), TIMEOUT (the rendezvous could
 * not be announced: DHT trouble; or aborted), INVALID_SIGNATURE (something answered, but never with
 * the host key's signature), INVALID_ARGUMENT.
 */
export function punchToHost(options: PunchJoinOptions): Promise<PunchLink> {
  let checked: ReturnType<typeof checkOptions>;
  let timing: Required<PunchLinkTiming>;
  try {
    checked = checkOptions(options);
    timing = checkTiming(options);
  } catch (err) {
    return Promise.reject(err);
  }
  const ours = options.natType ?? 'unknown';
  const theirs = options.hostNatType ?? 'unknown';
  const stats = options.stats ?? newStats();
  if (unpunchable(ours, theirs)) {
    return Promise.reject(unreachable(ours, theirs, 'no path can be punched between two symmetric NATs', stats));
  }
  if (options.signal?.aborted) return Promise.reject(new PkarrError('TIMEOUT', 'punch aborted before it started'));
  const { channel, hostKey, hostPunchAddress: hostAddress, signal } = options;
  const session = randomBytes(SESSION_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const hello = encodeHello(session, nonce);
  // Direct normal-TTL HELLOs from the start: a symmetric joiner (its openers open a port the host
  // never learns) and hosts without NAT filtering; otherwise only after the host's PROBE.
  const directHello = ours === 'symmetric' || theirs === 'public' || theirs === 'mapped';

  return new Promise<PunchLink>((resolve, reject) => {
    let probedFrom: UdpAddress | null = null;
    let lastDhtError: PkarrError | null = null;
    let announcedWindow = -1;
    let announcing = false;
    let nextAnnounceAt = 0;
    let settled = false;
    let link: PunchLink | null = null;

    const announce = (): void => {
      const now = Date.now();
      const window = rendezvousWindow(now);
      // Again in a new window, after a failure, and while the host has not probed us yet (the
      // announce may have reached nodes the host does not poll): every ANNOUNCE_RETRY_MS.
      if (announcing || settled || (window === announcedWindow && (now < nextAnnounceAt || probedFrom !== null))) return;
      announcing = true;
      stats.announces++;
      const announced = (outcome: { stored: number; error?: string }): void => {
        try {
          options.onAnnounced?.({ ...outcome, ms: Date.now() - now });
        } catch {
          // A throwing listener must not break the attempt.
        }
      };
      announceRendezvous(options.announce.dht, hostKey, checked.publicPort, { nowMs: now, ...(signal ? { signal } : {}) }).then(
        (stored) => {
          announced({ stored });
          announcing = false;
          announcedWindow = window;
          if (stored > 0) {
            lastDhtError = null;
            nextAnnounceAt = Date.now() + ANNOUNCE_RETRY_MS;
          } else {
            stats.announceFailures++;
            lastDhtError = new PkarrError('NO_DHT_NODES', 'no DHT node stored the rendezvous announce');
            nextAnnounceAt = Date.now() + ANNOUNCE_RETRY_MS;
          }
        },
        (err: unknown) => {
          announced({ stored: 0, error: err instanceof Error ? err.message : String(err) });
          announcing = false;
          announcedWindow = window;
          stats.announceFailures++;
          lastDhtError = err instanceof PkarrError ? err : new PkarrError('DHT_ERROR', String(err));
          nextAnnounceAt = Date.now() + ANNOUNCE_RETRY_MS;
        },
      );
    };

    const tick = (): void => {
      announce();
      if (probedFrom === null) {
        stats.openersSent++;
        channel.send(hello, hostAddress, checked.openerTtl).catch(() => undefined);
        if (directHello) sendHello(hostAddress);
      } else {
        sendHello(probedFrom);
      }
    };
    const sendHello = (to: UdpAddress): void => {
      stats.hellosSent++;
      channel.send(hello, to).catch(() => undefined);
    };

    const finish = (outcome: PunchLink | PkarrError): void => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof PkarrError) {
        removeHandler();
        reject(outcome);
      } else {
        resolve(outcome);
      }
    };

    const onMessage = (payload: Buffer, from: UdpAddress): void => {
      const decoded = decodeFrame(payload);
      if (!decoded.ok) {
        stats.malformed++;
        return;
      }
      const frame = decoded.frame;
      if (link !== null) {
        if (from.host === link.remote.host && from.port === link.remote.port && frame.session.equals(session)) link.receive(frame);
        else stats.unmatched++;
        return;
      }
      if (from.host !== hostAddress.host) {
        stats.unmatched++;
        return;
      }
      if (frame.type === FrameType.PROBE) {
        if (!frame.hostKey.equals(hostKey.bytes)) {
          stats.unmatched++;
          return;
        }
        stats.probesReceived++;
        if (probedFrom === null) {
          probedFrom = from;
          sendHello(from); // answer at once; the ticker repeats it until WELCOME
        }
        return;
      }
      if (frame.type === FrameType.WELCOME) {
        const valid = frame.session.equals(session)
          && hostKey.verify(welcomeMessage(nonce, session, frame.observed, hostKey.bytes), frame.signature);
        if (!valid) {
          stats.badWelcomes++;
          return;
        }
        link = new PunchLink({ channel, remote: from, session, ...timing, onEnded: () => removeHandler() });
        finish(link);
        return;
      }
      stats.unmatched++;
    };
    const removeHandler = channel.onMessage(onMessage);

    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      finish(new PkarrError('TIMEOUT', `punch aborted: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`, { ...stats }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const deadline = setTimeout(() => {
      const seconds = (checked.timeoutMs / 1000).toFixed(1);
      if (stats.badWelcomes > 0) {
        finish(new PkarrError('INVALID_SIGNATURE', `${hostAddress.host}:${hostAddress.port} answered, but never with a valid signature of host ${hostKey.z32} (${stats.badWelcomes} rejected)`, { ...stats }));
      } else if (announcedWindow < 0 || (lastDhtError !== null && stats.probesReceived === 0)) {
        const why = lastDhtError?.message ?? 'the announce did not finish';
        finish(new PkarrError('TIMEOUT', `hole punching to ${hostKey.z32} timed out after ${seconds} s: the rendezvous could not be announced on the DHT (${why})`, { ...stats }));
      } else {
        const what = stats.probesReceived > 0
          ? `the host's probes arrived but no WELCOME came back within ${seconds} s`
          : `no answer from the host at ${hostAddress.host}:${hostAddress.port} within ${seconds} s`;
        finish(unreachable(ours, theirs, what, { ...stats }));
      }
    }, checked.timeoutMs);
    const ticker = setInterval(tick, checked.intervalMs);
    tick();
  });
}
