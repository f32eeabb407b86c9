/**
 * Services a test runs on the lab's WAN, in the services namespace: a pkarr relay (our CLI,
 * `relay --host <wan address>`, README "Running a public relay") and bittorrent-dht nodes.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { AgentClient } from './agent-client.ts';
import { node24, REPO_ROOT } from './agent-client.ts';
import type { NatLab } from './lab.ts';
import type { LabProcess } from './process.ts';

export interface LabRelay {
  /** `http://<wan address>:<port>` */
  url: string;
  host: string;
  port: number;
  process: LabProcess;
}

let relays = 0;

/** Starts a pkarr relay on a fresh WAN address; its DHT node bootstraps from the lab's libtorrent nodes (or `bootstrap`). */
export async function startRelay(lab: NatLab, options: { port?: number; bootstrap?: string[]; args?: string[] } = {}): Promise<LabRelay> {
  const host = await lab.serviceAddress();
  const port = options.port ?? 8080;
  const dataDir = join(lab.dir, `relay-${++relays}`);
  mkdirSync(dataDir, { recursive: true });
  const bootstrap = options.bootstrap ?? lab.bootstrap;
  const args = [join(REPO_ROOT, 'sidecar/src/cli/main.ts'), 'relay', '--host', host, '--port', String(port), '--data-dir', dataDir,
    ...bootstrap.flatMap((b) => ['--bootstrap', b]), ...(options.args ?? [])];
  const proc = lab.spawn(lab.services, node24(), args, { cwd: REPO_ROOT });
  const m = await proc.waitFor(/pkarr relay listening on (\S+)/, 20_000);
  return { url: m[1]!, host, port, process: proc };
}

export interface LabBittorrentDht {
  /** `host:port` of each node. */
  addresses: string[];
  /** The agent running them (services namespace); `tableSizes` via agent.call(BT_DHT, 'tableSizes'). */
  agent: AgentClient;
}

export const BT_DHT = './test/natlab/scenarios/bt-dht.ts';

/** Starts `count` bittorrent-dht nodes on fresh WAN addresses (`port` each, default 6881), bootstrapped from the libtorrent nodes. */
export async function startBittorrentDht(lab: NatLab, count: number, port = 6881): Promise<LabBittorrentDht> {
  const hosts: string[] = [];
  for (let i = 0; i < count; i++) hosts.push(await lab.serviceAddress());
  const agent = await lab.agent(lab.services);
  const addresses = await agent.call<string[]>(BT_DHT, 'start', hosts, port, lab.bootstrap);
  return { addresses, agent };
}
