/**
 * For the lab's suite: creates a small lab, prints `prefix=<prefix> pids=<pid,...>`, then
 * (argv[2] = 'throw') dies of an uncaught exception without calling close(), or ('wait') waits to
 * be killed by a signal. The lab's exit/signal hooks (and pdeathsig) must clean up.
 */
import { NatLab } from './lab.ts';

const mode = process.argv[2] ?? 'throw';
const lab = await NatLab.create({ sites: [{ nat: 'port-restricted', upnp: true }], dhtNodes: 3 });
await lab.agent(lab.sites[0]!.hosts[0]!);
process.stdout.write(`prefix=${lab.prefix} pids=${lab.processes.map((p) => p.pid).join(',')}\n`);
if (mode === 'throw') setTimeout(() => { throw new Error('natlab crash-child: deliberate crash'); }, 10);
else setInterval(() => undefined, 1_000);
