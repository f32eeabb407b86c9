/** HTTP from inside a lab namespace (agent): a bounded GET returning status and body text. */
import type { AgentContext } from '../agent.ts';

export async function get(_ctx: AgentContext, url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: (await res.text()).slice(0, 4096) };
}
