/**
 * libtorrent Mainline DHT nodes on the lab's WAN: one Python process (Debian's /usr/bin/python3 +
 * python3-libtorrent) runs every node as its own libtorrent session bound to its own WAN address,
 * all inside the services namespace. They know each other (routing tables filled before `start`
 * resolves), answer with BEP42 `ip`, store BEP44 items and BEP5 peers.
 */
import { fileURLToPath } from 'node:url';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { LabProcess } from './process.ts';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./lt-dht-nodes.py', import.meta.url));

export class LibtorrentNodes {
  /** `host:port` of every node. */
  readonly addresses: readonly string[];
  readonly process: LabProcess;
  /** Routing-table sizes when the group reported ready. */
  readonly readyTables: readonly number[];

  private constructor(addresses: string[], proc: LabProcess, tables: number[]) {
    this.addresses = addresses;
    this.process = proc;
    this.readyTables = tables;
  }

  /** Starts nodes on `addresses` (`host:port`) in namespace `ns`; resolves once each table holds `minTable` nodes. */
  static async start(ns: string, addresses: string[], minTable: number, register: (p: LabProcess) => void): Promise<LibtorrentNodes> {
    if (addresses.length < 2) throw new PkarrError('INVALID_ARGUMENT', 'natlab: a libtorrent DHT needs at least 2 nodes');
    const proc = new LabProcess(ns, PYTHON, [SCRIPT, JSON.stringify({ nodes: addresses, min_table: minTable })], { stdin: true });
    register(proc);
    const m = await proc.waitFor(/\{"ready": (\[[^\]]*\])\}/, 40_000);
    const tables = JSON.parse(m[1]!) as number[];
    const short = tables.filter((n) => n < Math.min(minTable, Math.floor((addresses.length - 1) / 2)));
    if (short.length > 0) throw new PkarrError('TIMEOUT', `natlab: ${short.length} libtorrent nodes did not fill their routing tables: ${JSON.stringify(tables)}`);
    return new LibtorrentNodes(addresses, proc, tables);
  }

  /** Current routing-table sizes of every node. */
  async tableSizes(): Promise<number[]> {
    const before = this.process.stdout.length;
    this.process.child.stdin?.write('\n');
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const m = this.process.stdout.slice(before).match(/\{"status": (\[[^\]]*\])\}/);
      if (m) return JSON.parse(m[1]!) as number[];
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new PkarrError('TIMEOUT', `natlab: libtorrent nodes did not report status: ${this.process.describe()}`);
  }
}
