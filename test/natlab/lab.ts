/**
 * The NAT lab: a routed "internet" of network namespaces on one machine (docs/nat.md, "The lab").
 *
 *   services ns (11.77.0.0/22: libtorrent DHT nodes from 11.77.0.10, other services from 11.77.3.1)
 *        │ eth0 ─ svc0
 *   core ns (router; 11.77.0.1, and 11.77.(16+i).1 towards site i)
 *        │ s<i> ─ wan0
 *   site i router ns (WAN 11.77.(16+i).2; LAN bridge lan0: 10.77.i.1/24, or 11.77.(128+i).1/24 for nat 'none')
 *        │ h<j> ─ eth0
 *   host ns (10.77.i.(2+j), or the public 11.77.(128+i).(2+j))
 *
 * Namespaces are `<prefix><name>` with a per-run prefix; interfaces are created inside their
 * namespaces (never in the root namespace). `close()` stops every process the lab started (by pid)
 * and deletes its namespaces; on process exit, SIGINT, SIGTERM and SIGHUP a handler does the same
 * synchronously (best effort). If the test process is SIGKILLed, its processes die with it
 * (pdeathsig, process.ts) but its (empty) namespaces remain.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { AgentClient } from './agent-client.ts';
import { LibtorrentNodes } from './dht-nodes.ts';
import { type DelayRule, DelayRouter, type DelayStats } from './delay.ts';
import { HairpinMirror } from './hairpin.ts';
import { nftLoad } from './exec.ts';
import { assertLabSupported, Namespaces } from './namespaces.ts';
import { LabProcess, type SpawnOptions } from './process.ts';
import { LAN_IF, loadNatRuleset, type NatKind, NAT_KINDS, type RouterSpec, startMiniupnpd, WAN_IF } from './router.ts';

/** Every address the lab uses, as `PKARR_LAB_NETS` names them. */
export const LAB_NETS = '11.77.0.0/16,10.77.0.0/16';
const MAX_SITES = 100;
const MAX_HOSTS = 200;

export interface SiteOptions {
  nat: NatKind;
  /** Run miniupnpd (UPnP IGD + NAT-PMP + PCP) on the router (NAT sites only). Default false. */
  upnp?: boolean;
  /** Extra miniupnpd.conf lines `key=value` (e.g. `force_igd_desc_v1=yes`, `min_lifetime=2`). */
  miniupnpdConf?: string[];
  /** NAT loopback for port forwards (router.ts). Default false. */
  hairpin?: boolean;
  /** LAN hosts, ≥ 1. Default 1. */
  hosts?: number;
  /**
   * Linked to the lab's internet (default true). false = a LAN with no internet at all (a LAN party):
   * the hosts share the bridge and their gateway (the router's LAN address), but the router has no
   * WAN link, no route and no NAT; anything off the LAN is unreachable. NAT sites only, no upnp/hairpin.
   */
  wan?: boolean;
}

export interface LabHost {
  /** Namespace name. */
  ns: string;
  /** The host's own address (LAN, or public for nat 'none'). */
  address: string;
  site: LabSite;
}

export interface LabSite {
  index: number;
  nat: NatKind;
  upnp: boolean;
  hairpin: boolean;
  /** false: no internet (SiteOptions.wan). */
  wan: boolean;
  /** Router namespace. */
  router: string;
  /** The router's WAN address (what the internet sees for NAT sites); '' when `wan` is false. */
  wanAddress: string;
  /** The router's LAN address (gateway of the hosts; where miniupnpd listens). */
  lanAddress: string;
  hosts: LabHost[];
  miniupnpd: LabProcess | null;
  /** Mirrors miniupnpd's mappings for NAT loopback (upnp + hairpin sites), else null. */
  hairpinMirror: HairpinMirror | null;
}

export interface LabOptions {
  sites?: SiteOptions[];
  /** libtorrent DHT nodes on the services subnet (0 = none; ≥ 2 otherwise). Default 0. */
  dhtNodes?: number;
  /** UDP port of every libtorrent node (each has its own address). Default 6881. */
  dhtPort?: number;
}

const live = new Set<NatLab>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => { for (const lab of live) lab.closeSync(); });
  // Interrupted runs: clean up, then die of the signal as without us (unless someone else handles it).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const lab of live) lab.closeSync();
      process.off(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

export class NatLab {
  readonly namespaces: Namespaces;
  readonly core: string;
  readonly services: string;
  readonly sites: LabSite[] = [];
  /** Scratch directory (configs, pid files, relay data); removed on close. */
  readonly dir: string;
  dht: LibtorrentNodes | null = null;
  delay: DelayRouter | null = null;
  /** How long `create` spent building the sites and starting the DHT nodes (figures). */
  readonly startup = { sitesMs: 0, dhtMs: 0 };
  readonly #processes: LabProcess[] = [];
  /** Router configuration of each NAT site, for rebootRouter. */
  readonly #routers = new Map<number, { spec: RouterSpec; conf: string[] }>();
  readonly #agents: AgentClient[] = [];
  #delayStart: Promise<DelayRouter> | null = null;
  #serviceAddresses = 0;
  #closed = false;

  private constructor(namespaces: Namespaces, core: string, services: string) {
    this.namespaces = namespaces;
    this.core = core;
    this.services = services;
    this.dir = mkdtempSync(join(tmpdir(), `natlab-${namespaces.prefix}`));
  }

  /** Checks the machine, builds the core, the services subnet, the sites and the DHT nodes. Throws (never skips) when namespaces are unavailable. */
  static async create(options: LabOptions = {}): Promise<NatLab> {
    await assertLabSupported();
    const sites = options.sites ?? [];
    if (sites.length > MAX_SITES) throw new PkarrError('INVALID_ARGUMENT', `natlab: at most ${MAX_SITES} sites`);
    for (const site of sites) checkSite(site);
    const namespaces = await Namespaces.allocate();
    installExitHook();
    let lab: NatLab | null = null;
    try {
      const [core, services] = await Promise.all([namespaces.add('core', true), namespaces.add('svc')]);
      lab = new NatLab(namespaces, core, services);
      live.add(lab);
      await namespaces.link(core, 'svc0', services, 'eth0');
      await namespaces.address(core, 'svc0', '11.77.0.1/22');
      await namespaces.address(services, 'eth0', '11.77.0.2/22');
      await namespaces.route(services, 'default', '11.77.0.1');
      const t0 = performance.now();
      await Promise.all(sites.map((s, i) => lab!.#buildSite(i, s)));
      lab.startup.sitesMs = performance.now() - t0;
      const dhtNodes = options.dhtNodes ?? 0;
      const t1 = performance.now();
      if (dhtNodes > 0) await lab.startDhtNodes(dhtNodes, options.dhtPort ?? 6881);
      lab.startup.dhtMs = performance.now() - t1;
      return lab;
    } catch (err) {
      if (lab !== null) await lab.close().catch(() => undefined);
      else await namespaces.deleteAll();
      throw err;
    }
  }

  get prefix(): string {
    return this.namespaces.prefix;
  }

  /** Environment for code running in the lab: loopback-only mode plus the lab's prefixes. */
  get env(): Record<string, string> {
    return { PKARR_LOOPBACK_ONLY: '1', PKARR_LAB_NETS: LAB_NETS };
  }

  /** `host:port` of the libtorrent nodes (empty without them). */
  get bootstrap(): string[] {
    return this.dht === null ? [] : [...this.dht.addresses];
  }

  /**
   * A router reboot: miniupnpd (if any) stops, the router's nft ruleset is replaced by a fresh one
   * (every UPnP/NAT-PMP/PCP mapping and full-cone binding gone), then miniupnpd starts again with
   * the same configuration. Conntrack entries of running flows survive (no conntrack tool here).
   */
  async rebootRouter(site: LabSite): Promise<void> {
    this.#assertOpen();
    const router = this.#routers.get(site.index);
    if (router === undefined || this.sites[site.index] !== site) throw new PkarrError('INVALID_ARGUMENT', `natlab: site ${site.index} has no NAT router to reboot`);
    await site.miniupnpd?.stop();
    await nftLoad(site.router, 'flush ruleset\n');
    await loadNatRuleset(site.router, router.spec);
    if (site.upnp) site.miniupnpd = await startMiniupnpd(site.router, this.dir, router.spec, (p) => this.#track(p), router.conf);
  }

  /** Adds a site to a running lab. */
  async addSite(options: SiteOptions): Promise<LabSite> {
    checkSite(options);
    if (this.sites.length >= MAX_SITES) throw new PkarrError('INVALID_ARGUMENT', `natlab: at most ${MAX_SITES} sites`);
    return this.#buildSite(this.sites.length, options);
  }

  /** Starts `count` libtorrent nodes (11.77.0.10, .11, … : `port`) in the services namespace. */
  async startDhtNodes(count: number, port = 6881, minTable = 8): Promise<LibtorrentNodes> {
    if (this.dht !== null) throw new PkarrError('INVALID_ARGUMENT', 'natlab: the libtorrent nodes already run');
    if (!Number.isInteger(count) || count < 2 || count > 500) throw new PkarrError('INVALID_ARGUMENT', `natlab: dhtNodes must be 2..500, got ${String(count)}`);
    const addresses: string[] = [];
    for (let k = 0; k < count; k++) {
      const host = intToIp(ipToInt('11.77.0.10') + k);
      await this.namespaces.address(this.services, 'eth0', `${host}/22`);
      addresses.push(`${host}:${port}`);
    }
    this.dht = await LibtorrentNodes.start(this.services, addresses, minTable, (p) => this.#track(p));
    return this.dht;
  }

  /** A fresh public address in the services namespace (11.77.3.x) for a service a test runs there. */
  async serviceAddress(): Promise<string> {
    if (this.#serviceAddresses >= 250) throw new PkarrError('INVALID_ARGUMENT', 'natlab: out of service addresses');
    const host = `11.77.3.${++this.#serviceAddresses}`;
    await this.namespaces.address(this.services, 'eth0', `${host}/22`);
    return host;
  }

  /**
   * Sets the delay and loss of links (delay.ts): each rule names a site (its access link: WAN and
   * public LAN prefixes), `'services'` or a prefix. Replaces the previous rules; the first call
   * starts the user-space forwarder in the core. Returns the forwarder's counters.
   */
  async setLinks(links: { to: LabSite | 'services' | string; delayMs: number; loss?: number }[]): Promise<DelayStats> {
    this.#assertOpen();
    const rules: DelayRule[] = links.flatMap((l) => {
      const nets = typeof l.to === 'object' ? [`11.77.${16 + l.to.index}.0/24`, `11.77.${128 + l.to.index}.0/24`]
        : l.to === 'services' ? ['11.77.0.0/22'] : [l.to];
      return nets.map((net) => ({ net, delayMs: l.delayMs, ...(l.loss !== undefined ? { loss: l.loss } : {}) }));
    });
    this.#delayStart ??= DelayRouter.start(this.core, (p) => this.#track(p));
    this.delay = await this.#delayStart;
    return this.delay.setRules(rules);
  }

  /** Starts `command args…` inside `ns` (tracked; stopped by pid on close). */
  spawn(ns: string, command: string, args: string[] = [], options: SpawnOptions = {}): LabProcess {
    this.#assertOpen();
    const proc = new LabProcess(ns, command, args, { ...options, env: { ...this.env, ...options.env } });
    return this.#track(proc);
  }

  /** Starts a Node 24 agent inside `where` (a namespace name or a host). */
  async agent(where: string | LabHost, env: Record<string, string> = {}): Promise<AgentClient> {
    this.#assertOpen();
    const ns = typeof where === 'string' ? where : where.ns;
    const agent = await AgentClient.start(ns, { ...this.env, ...env }, (p) => this.#track(p));
    this.#agents.push(agent);
    return agent;
  }

  /** Stops every agent and process (by pid), deletes every namespace and the scratch directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const site of this.sites) site?.hairpinMirror?.stop();
    await Promise.allSettled(this.#agents.map((a) => a.close()));
    await Promise.allSettled(this.#processes.map((p) => p.stop()));
    const failures = await this.namespaces.deleteAll();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
    if (failures.length > 0) throw new PkarrError('IO_ERROR', `natlab: cleanup failed: ${failures.join('; ')}`);
  }

  /** Exit-time cleanup: SIGKILL every process group, delete the namespaces, synchronously. */
  closeSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const site of this.sites) site?.hairpinMirror?.stop();
    for (const p of this.#processes) p.killNow();
    this.namespaces.deleteAllSync();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** Every process the lab started (agents, DHT nodes, daemons, spawned commands). */
  get processes(): readonly LabProcess[] {
    return this.#processes;
  }

  #track(proc: LabProcess): LabProcess {
    this.#processes.push(proc);
    return proc;
  }

  #assertOpen(): void {
    if (this.#closed) throw new PkarrError('INVALID_ARGUMENT', 'natlab: the lab is closed');
  }

  async #buildSite(index: number, options: SiteOptions): Promise<LabSite> {
    const ns = this.namespaces;
    const router = await ns.add(`s${index}r`, true);
    const wan = options.wan ?? true;
    const wanAddress = wan ? `11.77.${16 + index}.2` : '';
    const lanBase = options.nat === 'none' ? `11.77.${128 + index}` : `10.77.${index}`;
    const site: LabSite = {
      index, nat: options.nat, upnp: options.upnp ?? false, hairpin: options.hairpin ?? false, wan,
      router, wanAddress, lanAddress: `${lanBase}.1`, hosts: [], miniupnpd: null, hairpinMirror: null,
    };
    this.sites[index] = site;
    if (wan) {
      await ns.link(this.core, `s${index}`, router, WAN_IF);
      await ns.address(this.core, `s${index}`, `11.77.${16 + index}.1/24`);
      await ns.address(router, WAN_IF, `${wanAddress}/24`);
      await ns.route(router, 'default', `11.77.${16 + index}.1`);
      if (options.nat === 'none') await ns.route(this.core, `${lanBase}.0/24`, wanAddress);
    }
    await ns.bridge(router, LAN_IF);
    await ns.address(router, LAN_IF, `${lanBase}.1/24`);
    const count = options.hosts ?? 1;
    await Promise.all(Array.from({ length: count }, async (_, j) => {
      const host = await ns.add(`s${index}h${j}`);
      await ns.link(router, `h${j}`, host, 'eth0');
      await ns.enslave(router, `h${j}`, LAN_IF);
      await ns.address(host, 'eth0', `${lanBase}.${2 + j}/24`);
      await ns.route(host, 'default', `${lanBase}.1`);
      site.hosts[j] = { ns: host, address: `${lanBase}.${2 + j}`, site };
    }));
    if (options.nat !== 'none' && wan) {
      const spec: RouterSpec = { nat: options.nat, hairpin: site.hairpin, wanAddress, lanNet: `${lanBase}.0/24`, lanAddress: site.lanAddress };
      this.#routers.set(index, { spec, conf: options.miniupnpdConf ?? [] });
      await loadNatRuleset(router, spec);
      if (site.upnp) site.miniupnpd = await startMiniupnpd(router, this.dir, spec, (p) => this.#track(p), options.miniupnpdConf);
      if (site.upnp && site.hairpin) {
        site.hairpinMirror = new HairpinMirror(router);
        site.hairpinMirror.start();
      }
    }
    return site;
  }
}

function checkSite(s: SiteOptions): void {
  if (!NAT_KINDS.includes(s.nat)) throw new PkarrError('INVALID_ARGUMENT', `natlab: unknown nat kind ${JSON.stringify(s.nat)} (expected ${NAT_KINDS.join(', ')})`);
  const hosts = s.hosts ?? 1;
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) throw new PkarrError('INVALID_ARGUMENT', `natlab: hosts must be 1..${MAX_HOSTS}, got ${String(s.hosts)}`);
  if (s.wan === false && (s.nat === 'none' || s.upnp === true || s.hairpin === true)) throw new PkarrError('INVALID_ARGUMENT', "natlab: a site with wan: false is a LAN with no internet: it needs a NAT kind (its addresses are 10.77.i.x) and has no upnp or hairpin");
  if (s.nat === 'none' && (s.upnp === true || s.hairpin === true)) throw new PkarrError('INVALID_ARGUMENT', "natlab: a site with nat 'none' has no NAT: upnp and hairpin do not apply");
  for (const line of s.miniupnpdConf ?? []) {
    if (!/^[a-z0-9_]{1,40}=[^\n]{0,200}$/.test(line)) throw new PkarrError('INVALID_ARGUMENT', `natlab: miniupnpdConf line ${JSON.stringify(line)} is not key=value`);
  }
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
