/**
 * The NAT lab cleans up after itself: close(), a crash, SIGTERM and SIGKILL of the process that
 * owns a lab (crash-child.ts). Each test builds its own lab; figures printed, never asserted.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { node24, REPO_ROOT } from './agent-client.ts';
import { NatLab } from './lab.ts';
import { listNamespaces } from './namespaces.ts';

const UDP = './test/natlab/scenarios/udp.ts';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True while `pid` is a live process (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('NAT lab: cleanup', () => {
  it('close() leaves no namespace with the run prefix and no process it started', async () => {
    const t0 = performance.now();
    const other = await NatLab.create({ sites: [{ nat: 'port-restricted', upnp: true }, { nat: 'symmetric' }], dhtNodes: 20 });
    const started = performance.now() - t0;
    const agent = await other.agent(other.sites[0]!.hosts[0]!);
    expect(await agent.call<number>(UDP, 'open', 0)).toBeGreaterThan(0);
    const pids = other.processes.map((p) => p.pid);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    const t1 = performance.now();
    await other.close();
    console.log(`[natlab] lab with 2 sites (1 miniupnpd) + 20 libtorrent nodes: start ${Math.round(started)} ms (sites ${Math.round(other.startup.sitesMs)}, DHT ${Math.round(other.startup.dhtMs)}), stop ${Math.round(performance.now() - t1)} ms`);
    expect((await listNamespaces()).filter((n) => n.startsWith(other.prefix))).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes(other.dir))).toEqual([]);
  }, 60_000);

  it('a test process that crashes without close() still removes its namespaces and processes (exit hook)', async () => {
    const child = spawnSync(node24(), ['test/natlab/crash-child.ts', 'throw'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toContain('deliberate crash');
    const m = child.stdout.match(/prefix=(pk[0-9a-f]{4}-) pids=([\d,]+)/);
    expect(m, child.stdout + child.stderr).not.toBeNull();
    const pids = m![2]!.split(',').map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < 20 && pids.some(alive); i++) await sleep(100); // SIGKILLed processes finish exiting
    expect((await listNamespaces()).filter((n) => n.startsWith(m![1]!))).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
  }, 70_000);

  /** Starts crash-child in 'wait' mode, kills it with `signal` once its lab is up; returns its prefix and pids. */
  async function killedChild(signal: NodeJS.Signals): Promise<{ prefix: string; pids: number[] }> {
    const child = spawn(node24(), ['test/natlab/crash-child.ts', 'wait'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const exited = new Promise((r) => child.once('exit', r));
    for (let i = 0; i < 600 && !/pids=\S+\n/.test(out); i++) await sleep(100);
    const m = out.match(/prefix=(pk[0-9a-f]{4}-) pids=([\d,]+)/);
    child.kill(signal);
    await exited;
    expect(m, out).not.toBeNull();
    const pids = m![2]!.split(',').map(Number);
    for (let i = 0; i < 20 && pids.some(alive); i++) await sleep(100);
    return { prefix: m![1]!, pids };
  }

  it('SIGTERM of the test process: the signal hook removes namespaces and processes', async () => {
    const { prefix, pids } = await killedChild('SIGTERM');
    expect((await listNamespaces()).filter((n) => n.startsWith(prefix))).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
  }, 70_000);

  it('SIGKILL of the test process: its processes die with it (pdeathsig); only empty namespaces remain', async () => {
    const { prefix, pids } = await killedChild('SIGKILL');
    expect(pids.filter(alive)).toEqual([]);
    const left = (await listNamespaces()).filter((n) => n.startsWith(prefix));
    console.log(`[natlab] after SIGKILL: ${left.length} empty namespaces of ${prefix} left (deleted by this test)`);
    for (const ns of left) execFileSync('ip', ['netns', 'del', ns]);
  }, 70_000);
});
