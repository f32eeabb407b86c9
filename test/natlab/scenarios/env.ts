/** Small agent probes of the agent itself: its lab environment, the loopback guard, a value echo. */
import { assertAllowedHost } from '../../../sidecar/src/core/loopback-guard.ts';
import type { AgentContext } from '../agent.ts';

/** The namespace and the PKARR_* variables the agent runs with. */
export function labEnv(ctx: AgentContext): { ns: string; loopbackOnly: string | null; labNets: string | null } {
  return { ns: ctx.ns, loopbackOnly: process.env['PKARR_LOOPBACK_ONLY'] ?? null, labNets: process.env['PKARR_LAB_NETS'] ?? null };
}

/** The sidecar's test-only guard, as code in this namespace sees it (throws INVALID_ARGUMENT when refused). */
export function assertAllowed(_ctx: AgentContext, host: string): void {
  assertAllowedHost(host, 'natlab probe');
}

/** Returns `value` unchanged (wire round trip). */
export function echo(_ctx: AgentContext, value: unknown): unknown {
  return value;
}
