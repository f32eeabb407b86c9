/**
 * The lab's network namespaces: a unique per-run prefix (`pk` + 4 random hex + `-`), creation,
 * veth links created directly inside their namespaces (so interface names never exist in the root
 * namespace and cannot collide between runs; they are short and fixed: ≤ 15 chars), and deletion
 * of exactly the namespaces this run created.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { IP, NFT, ip, nsExec, run, runSyncQuiet } from './exec.ts';

/** Namespaces that currently exist, by name (all runs). */
export async function listNamespaces(): Promise<string[]> {
  const out = await ip('netns', 'list');
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

/** Fails with a clear error unless this process can create namespaces and use ip and nft. */
export async function assertLabSupported(): Promise<void> {
  const problems: string[] = [];
  if (process.platform !== 'linux') problems.push(`platform is ${process.platform}, not linux`);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) problems.push('not running as root');
  if (!existsSync(IP)) problems.push(`${IP} missing (Debian package iproute2)`);
  if (!existsSync(NFT)) problems.push(`${NFT} missing (Debian package nftables)`);
  if (problems.length === 0) {
    const probe = `pk${randomBytes(2).toString('hex')}-probe`;
    try {
      await ip('netns', 'add', probe);
      await nsExec(probe, NFT, ['list', 'ruleset']);
    } catch (err) {
      problems.push((err as Error).message);
    } finally {
      await ip('netns', 'del', probe).catch(() => undefined);
    }
  }
  if (problems.length > 0) {
    throw new PkarrError('IO_ERROR', `NAT lab unavailable: it needs root on Linux with network namespaces, ip and nft: ${problems.join('; ')}`);
  }
}

/** The namespaces of one lab run, all named `<prefix><name>`. */
export class Namespaces {
  readonly prefix: string;
  readonly #created: string[] = [];

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Picks a prefix that no existing namespace uses. */
  static async allocate(): Promise<Namespaces> {
    const existing = await listNamespaces();
    for (let i = 0; i < 20; i++) {
      const prefix = `pk${randomBytes(2).toString('hex')}-`;
      if (!existing.some((n) => n.startsWith(prefix))) return new Namespaces(prefix);
    }
    throw new PkarrError('INTERNAL', 'natlab: could not find a free namespace prefix');
  }

  /** Names of the namespaces created so far. */
  get names(): readonly string[] {
    return this.#created;
  }

  /** Creates namespace `<prefix><name>` with loopback up; returns its full name. */
  async add(name: string, forwarding = false): Promise<string> {
    const ns = this.prefix + name;
    await ip('netns', 'add', ns);
    this.#created.push(ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    if (forwarding) await nsExec(ns, '/usr/sbin/sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    return ns;
  }

  /** A veth pair: `aIf` in namespace `a`, `bIf` in namespace `b`, both up. */
  async link(a: string, aIf: string, b: string, bIf: string): Promise<void> {
    for (const name of [aIf, bIf]) {
      if (name.length > 15) throw new PkarrError('INVALID_ARGUMENT', `natlab: interface name ${name} longer than 15 characters`);
    }
    await ip('-n', a, 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b);
    await ip('-n', a, 'link', 'set', aIf, 'up');
    await ip('-n', b, 'link', 'set', bIf, 'up');
  }

  /** A bridge `name` in `ns`, up. */
  async bridge(ns: string, name: string): Promise<void> {
    await ip('-n', ns, 'link', 'add', name, 'type', 'bridge');
    await ip('-n', ns, 'link', 'set', name, 'up');
  }

  /** Makes `ifname` a port of bridge `bridge` in `ns`. */
  async enslave(ns: string, ifname: string, bridge: string): Promise<void> {
    await ip('-n', ns, 'link', 'set', ifname, 'master', bridge);
  }

  /** Adds `cidr` (e.g. 11.77.0.1/24) to `ifname` in `ns`. */
  async address(ns: string, ifname: string, cidr: string): Promise<void> {
    await ip('-n', ns, 'addr', 'add', cidr, 'dev', ifname);
  }

  /** Adds a route in `ns` (`to` may be `default`). */
  async route(ns: string, to: string, via: string): Promise<void> {
    await ip('-n', ns, 'route', 'add', to, 'via', via);
  }

  /** Deletes every namespace this run created (processes inside must be stopped first). */
  async deleteAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const ns of this.#created.splice(0).reverse()) {
      await run(IP, ['netns', 'del', ns]).catch((err: Error) => failures.push(err.message));
    }
    return failures;
  }

  /** Exit-time variant: synchronous, best effort. */
  deleteAllSync(): void {
    for (const ns of this.#created.splice(0).reverse()) runSyncQuiet(IP, ['netns', 'del', ns]);
    // Namespaces of this run whose creation was still in flight (only this run's prefix).
    try {
      const out = execFileSync(IP, ['netns', 'list'], { encoding: 'utf8', timeout: 5_000 });
      for (const line of out.split('\n')) {
        const ns = line.trim().split(/\s+/)[0] ?? '';
        if (ns.startsWith(this.prefix)) runSyncQuiet(IP, ['netns', 'del', ns]);
      }
    } catch {
      // best effort at process exit
    }
  }
}
