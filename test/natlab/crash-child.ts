/**
 * For the lab's suite: creates a small lab, prints `prefix=<prefix> pids=<pid,...>` and then dies
 * of an uncaught exception without calling close(): the process exit hook must clean up.
 */
import { NatLab } from './lab.ts';

const lab = await NatLab.create({ sites: [{ nat: 'port-restricted', upnp: true }], dhtNodes: 3 });
await lab.agent(lab.sites[0]!.hosts[0]!);
process.stdout.write(`prefix=${lab.prefix} pids=${lab.processes.map((p) => p.pid).join(',')}\n`);
setTimeout(() => { throw new Error('natlab crash-child: deliberate crash'); }, 10);
