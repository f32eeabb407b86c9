/**
 * `PUT /<key>`: publish a signed packet through the relay (v7 semantics: pubky/pkarr
 * relay/src/handlers.rs `put`).
 *
 * Order of checks: body ≤ 1104 bytes (413, counted while streaming) → parse and verify (400; a
 * 1073–1104-byte body fails here as in the reference) → the store holds a more recent packet (409;
 * an identical packet is accepted, which is how republishing works) → a different packet for the
 * same key is being published right now (409, mainline's ConflictRisk) → per-IP DHT quota (429) →
 * DHT put (204 + `Pkarr-Dht-Stored-Nodes`; NOT_MOST_RECENT → 409; no nodes → 503; else 500).
 *
 * Store update: AFTER the DHT put succeeded (as v7: a packet the DHT refused is never served), and
 * BEFORE the 204 is sent, with a durable (fsynced) write: a 204 means the relay serves the packet
 * even after a crash or restart. Identical concurrent PUTs share one DHT put.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import { MAX_BYTES, SignedPacket } from '../core/signed-packet.ts';
import { assertTimestamp, nowMicros } from '../core/timestamp.ts';
import type { DhtPutResult } from '../dht/types.ts';
import { readBody, sendText, sendTooLarge } from './http-util.ts';
import { chargeDht, type PendingPut, type RelayContext } from './relay-context.ts';

/** The PUT body limit: axum's `DefaultBodyLimit::max(1104)` in the reference. */
export const PUT_BODY_LIMIT = MAX_BYTES;

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Handles `PUT /<key>`. Never throws. */
export async function handlePut(req: IncomingMessage, res: ServerResponse, key: PublicKey, ctx: RelayContext): Promise<void> {
  ctx.stats.puts += 1;
  const body = await readBody(req, PUT_BODY_LIMIT);
  if (body === 'aborted') return;
  if (body === 'too-large') return sendTooLarge(res, PUT_BODY_LIMIT);

  let packet: SignedPacket;
  try {
    packet = SignedPacket.fromRelayPayload(key, body, nowMicros());
    assertTimestamp(packet.timestamp);
  } catch (err) {
    return sendText(res, 400, oneLine(`Invalid signed packet: ${(err as Error).message}`));
  }

  const stored = ctx.store.peek(key);
  if (stored !== null && stored.packet.moreRecentThan(packet)) {
    return sendText(res, 409, `Conflict: the relay holds a more recent packet for ${key.z32} (timestamp ${stored.packet.timestamp})`);
  }

  const puts = ctx.pendingPuts;
  let put = puts.get(key.z32);
  if (put !== undefined && !put.packet.isSameAs(packet)) {
    return sendText(res, 409, `Conflict: another packet for ${key.z32} is being published right now`);
  }
  if (put === undefined) {
    if (ctx.dht === null) return sendText(res, 503, 'No DHT nodes: the relay runs without a DHT');
    const wait = chargeDht(ctx, req);
    if (wait > 0) return sendText(res, 429, 'Too many requests to DHT nodes', { 'Retry-After': wait });
    ctx.stats.dhtPuts += 1;
    const created: PendingPut = { packet, result: ctx.dht.put(packet, ctx.closing) };
    put = created;
    puts.set(key.z32, created);
    created.result.then(() => puts.delete(key.z32), () => puts.delete(key.z32));
  }

  let result: DhtPutResult;
  try {
    result = await put.result;
  } catch (err) {
    if (isPkarrError(err, 'NOT_MOST_RECENT')) return sendText(res, 409, oneLine(`Conflict: the DHT holds a more recent packet: ${(err as Error).message}`));
    if (isPkarrError(err, 'NO_DHT_NODES')) return sendText(res, 503, oneLine(`No DHT nodes: ${(err as Error).message}`));
    if (isPkarrError(err, 'INVALID_TIMESTAMP') || isPkarrError(err, 'PACKET_TOO_LARGE') || isPkarrError(err, 'INVALID_ARGUMENT')) {
      return sendText(res, 400, oneLine(`Invalid signed packet: ${(err as Error).message}`));
    }
    ctx.log(`relay: DHT put for ${key.z32} failed: ${(err as Error).message}`);
    return sendText(res, 500, oneLine(`DHT put failed: ${(err as Error).message}`));
  }

  try {
    ctx.store.put(packet.withLastSeen(nowMicros()));
  } catch (err) {
    ctx.log(`relay: stored on the DHT but cannot persist ${key.z32}: ${(err as Error).message}`);
    return sendText(res, 500, oneLine(`Stored on ${result.storedOn} DHT nodes but the relay cannot persist it: ${(err as Error).message}`));
  }
  sendText(res, 204, '', { 'Pkarr-Dht-Stored-Nodes': result.storedOn });
}
