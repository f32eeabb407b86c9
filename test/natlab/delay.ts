/**
 * Link delay and loss for the lab (this kernel has no `tc netem`): a user-space forwarder
 * (delay-router.py, Debian's /usr/bin/python3) on a TUN device in the core namespace. While any
 * rule is set, policy routing sends every packet the core forwards through it: packets not coming
 * from the TUN are routed into it (table 200), packets it writes back are routed by the main
 * table. A packet between networks A and B waits delay(A) + delay(B) and is lost with
 * 1 - (1-loss(A))(1-loss(B)): a rule per site is the delay of that site's access link. Paths
 * inside one site (LAN, hairpin) never cross the core and get none. The forwarder gives back the
 * TTL the extra trip through the TUN costs, so the core stays one hop (TTL-based openers behave
 * the same with and without it).
 */
import { fileURLToPath } from 'node:url';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { ip } from './exec.ts';
import { LabProcess } from './process.ts';

const SCRIPT = fileURLToPath(new URL('./delay-router.py', import.meta.url));
const TUN = 'dly0';

export interface DelayRule {
  /** IPv4 prefix the rule applies to (as source or destination). */
  net: string;
  /** One-way delay added to packets from or to `net`, ms (0..10000). */
  delayMs: number;
  /** Loss probability of packets from or to `net`, 0..1 (default 0). */
  loss?: number;
}

export interface DelayStats {
  forwarded: number;
  dropped: number;
}

export class DelayRouter {
  readonly process: LabProcess;
  readonly #core: string;
  #answers = 0;
  #routing = false;

  private constructor(proc: LabProcess, core: string) {
    this.process = proc;
    this.#core = core;
  }

  /** Starts the forwarder in `core` and routes the core's forwarded traffic through it. */
  static async start(core: string, register: (p: LabProcess) => void): Promise<DelayRouter> {
    const proc = new LabProcess(core, '/usr/bin/python3', [SCRIPT, TUN], { stdin: true });
    register(proc);
    await proc.waitFor(/\{"ready": true\}/, 10_000);
    await ip('-n', core, 'link', 'set', TUN, 'up');
    await ip('-n', core, 'route', 'add', 'default', 'dev', TUN, 'table', '200');
    await ip('-n', core, 'rule', 'add', 'iif', TUN, 'lookup', 'main', 'pref', '100');
    return new DelayRouter(proc, core);
  }

  /** Sends the core's forwarded traffic through the forwarder (on) or straight on (off). */
  async #route(on: boolean): Promise<void> {
    if (on === this.#routing) return;
    await ip('-n', this.#core, 'rule', on ? 'add' : 'del', 'lookup', '200', 'pref', '200');
    this.#routing = on;
  }

  /** Replaces every rule; resolves once the forwarder applies them. No rules: traffic bypasses the forwarder. Returns its counters. */
  async setRules(rules: DelayRule[]): Promise<DelayStats> {
    for (const r of rules) {
      if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(r.net)) throw new PkarrError('INVALID_ARGUMENT', `natlab delay: bad prefix ${JSON.stringify(r.net)}`);
      if (!Number.isFinite(r.delayMs) || r.delayMs < 0 || r.delayMs > 10_000) throw new PkarrError('INVALID_ARGUMENT', `natlab delay: delayMs must be 0..10000, got ${String(r.delayMs)}`);
      const loss = r.loss ?? 0;
      if (!Number.isFinite(loss) || loss < 0 || loss > 1) throw new PkarrError('INVALID_ARGUMENT', `natlab delay: loss must be 0..1, got ${String(r.loss)}`);
    }
    const stats = await this.#send({ rules: rules.map((r) => ({ net: r.net, delay_ms: r.delayMs, loss: r.loss ?? 0 })) });
    await this.#route(rules.length > 0);
    return stats;
  }

  /** Packets forwarded and dropped so far. */
  stats(): Promise<DelayStats> {
    return this.#send({});
  }

  async #send(message: unknown): Promise<DelayStats> {
    if (!this.process.running) throw new PkarrError('IO_ERROR', `natlab delay router is not running: ${this.process.describe()}`);
    const want = ++this.#answers;
    this.process.child.stdin!.write(`${JSON.stringify(message)}\n`);
    const re = /\{"ok": \d+, "stats": (\{[^}]*\})\}/g;
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const all = [...this.process.stdout.matchAll(re)];
      if (all.length >= want) return JSON.parse(all[want - 1]![1]!) as DelayStats;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new PkarrError('TIMEOUT', `natlab delay router did not answer: ${this.process.describe()}`);
  }
}
