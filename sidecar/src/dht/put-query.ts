/**
 * Sends a BEP44 mutable `put` to the nodes that gave us write tokens, and turns their answers into
 * a result the way Rust `mainline` does (pubky/mainline src/rpc/put_query.rs): stored count =
 * successes; more than half 301/302 → NOT_MOST_RECENT; nothing stored → the most common error.
 *
 * We build the query ourselves instead of calling bittorrent-dht's `put`, because that one throws for
 * `v.length >= 1000` (a 1000-byte pkarr packet is legal) and cannot add the `target` argument that
 * Rust mainline nodes require (their put struct has no default for it).
 */
import type { Krpc, KrpcError, KrpcMessage } from 'bittorrent-dht';
import { PkarrError } from '../core/errors.ts';
import type { PutArguments } from './bep44.ts';
import type { TokenNode } from './item-lookup.ts';

/** Per-node outcome of one put. */
export interface PutOutcome {
  contacted: number;
  /** Nodes that answered the put with success. */
  stored: number;
  /** Nodes that answered 302 but hold exactly this item (see `confirmHeld`). */
  alreadyStored: number;
  /** Nodes that answered 301/302 and hold something else (a higher seq, or another value). */
  conflicts: number;
  /** Other failures, by description (`203 bad token`, `Query timed out`, …). */
  errors: Map<string, number>;
}

function describe(err: KrpcError): string {
  return err.message || String(err.code ?? 'error');
}

function isConflict(err: KrpcError): boolean {
  return err.code === 301 || err.code === 302;
}

function query(rpc: Krpc, node: TokenNode, q: string, a: Record<string, unknown>): Promise<{ err: KrpcError | null; message: KrpcMessage | null }> {
  return new Promise((resolve) => {
    if (rpc.destroyed) {
      resolve({ err: new Error('DHT node destroyed'), message: null });
      return;
    }
    // Straight to the socket: k-rpc's queue would hold a put back behind queries to unresponsive
    // nodes still waiting out their KRPC timeout. `a` already carries this node's token.
    rpc.socket.query({ id: node.id, host: node.host, port: node.port }, { q, a }, (err, message) => resolve({ err, message }));
  });
}

/**
 * bittorrent-dht nodes answer an equal seq with 302 even when the value is identical, so a republish
 * of the very same packet would look like a conflict. Ask each such node what it holds: the same seq,
 * `k` and `v` means the item is already stored there, which is exactly what a put wants. (Rust
 * mainline nodes accept an equal seq and answer success, so they never reach this path.)
 */
async function confirmHeld(rpc: Krpc, node: TokenNode, args: PutArguments): Promise<boolean> {
  const { err, message } = await query(rpc, node, 'get', { id: rpc.id, target: args.target });
  const r = message?.r;
  if (err !== null || r === undefined) return false;
  return r.seq === args.seq && Buffer.isBuffer(r.k) && r.k.equals(args.k) && Buffer.isBuffer(r.v) && r.v.equals(args.v);
}

export function emptyOutcome(): PutOutcome {
  return { contacted: 0, stored: 0, alreadyStored: 0, conflicts: 0, errors: new Map() };
}

/**
 * Puts the item on one node (with its own token) and adds the answer to `outcome` (counted as
 * contacted at once). Resolves true when the node holds the item afterwards.
 */
export async function putToNode(rpc: Krpc, node: TokenNode, args: PutArguments, outcome: PutOutcome): Promise<boolean> {
  outcome.contacted++;
  const { err } = await query(rpc, node, 'put', { id: rpc.id, token: node.token, ...args });
  if (err === null) {
    outcome.stored++;
    return true;
  }
  if (isConflict(err)) {
    if (err.code === 302 && await confirmHeld(rpc, node, args)) {
      outcome.alreadyStored++;
      return true;
    }
    outcome.conflicts++;
    return false;
  }
  const text = describe(err);
  outcome.errors.set(text, (outcome.errors.get(text) ?? 0) + 1);
  return false;
}

/** Puts the item on every node and waits for every answer (the reference's put; publish-query.ts returns at a quorum). */
export async function putToNodes(rpc: Krpc, nodes: readonly TokenNode[], args: PutArguments): Promise<PutOutcome> {
  const outcome = emptyOutcome();
  await Promise.all(nodes.map((node) => putToNode(rpc, node, args, outcome)));
  return outcome;
}

/** Nodes that hold the item after the put (acknowledged or already holding it). */
export function storedCount(outcome: PutOutcome): number {
  return outcome.stored + outcome.alreadyStored;
}

/**
 * The put's result as the reference reports it: the stored count, or NOT_MOST_RECENT when more than
 * half of the contacted nodes hold a more recent item, or DHT_ERROR with the most common error when
 * nothing was stored.
 */
export function putResult(outcome: PutOutcome, what: string): number {
  const stored = storedCount(outcome);
  if (outcome.conflicts * 2 > outcome.contacted) {
    throw new PkarrError('NOT_MOST_RECENT', `${what}: ${outcome.conflicts} of ${outcome.contacted} nodes hold a more recent packet`, { ...summary(outcome) });
  }
  if (stored > 0) return stored;
  let common = '';
  let count = 0;
  for (const [text, n] of outcome.errors) if (n > count) { common = text; count = n; }
  if (outcome.conflicts > 0 && outcome.conflicts >= count) {
    throw new PkarrError('NOT_MOST_RECENT', `${what}: no node stored it; ${outcome.conflicts} of ${outcome.contacted} hold a more recent packet`, { ...summary(outcome) });
  }
  throw new PkarrError('DHT_ERROR', `${what}: none of ${outcome.contacted} nodes stored it (most common error: ${common || 'none'}, ${count}×)`, { ...summary(outcome) });
}

function summary(outcome: PutOutcome): Record<string, unknown> {
  return {
    contacted: outcome.contacted,
    stored: outcome.stored,
    alreadyStored: outcome.alreadyStored,
    conflicts: outcome.conflicts,
    errors: Object.fromEntries(outcome.errors),
  };
}
