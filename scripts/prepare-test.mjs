// `npm test`'s own preparation step: checks the Node major, then makes sure the programs the test
// suites need beyond npm are on this machine. Missing ones come from Debian when we run as root
// (what CI and a fresh developer machine are); otherwise one line names the exact command and the
// run fails. Nothing is ever skipped for lack of a tool.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`pkarr-godot needs Node >= 24 (running ${process.version}); run npm ci so the node@24 devDependency is on PATH`);
  process.exit(1);
}

/**
 * What the suites need, as [Debian package, a file it installs that proves it is there, why].
 * Paths, not PATH look-ups: npm scripts and pyenv shims change PATH, the files do not move.
 */
const NEEDS = [
  ['chromium', '/usr/bin/chromium', 'the Godot web engine suites and the browser-origin tests'],
  ['iproute2', '/usr/sbin/ip', 'the NAT lab (network namespaces)'],
  ['nftables', '/usr/sbin/nft', 'the NAT lab (Linux NAT in router namespaces)'],
  ['miniupnpd-nftables', '/usr/sbin/miniupnpd', 'the NAT lab (UPnP IGD / NAT-PMP / PCP router)'],
  ['miniupnpc', '/usr/bin/upnpc', 'the NAT lab (a reference UPnP client)'],
  ['natpmpc', '/usr/bin/natpmpc', 'the NAT lab (a reference NAT-PMP client)'],
  ['python3-libtorrent', null, 'the NAT lab (libtorrent DHT nodes with BEP42 `ip`)'],
  ['dnsutils', '/usr/bin/dig', 'DNS interop tests (dig)'],
  ['unzip', '/usr/bin/unzip', 'the Asset Library zip round trip (a real unzip)'],
  ['gcc', '/usr/bin/gcc', 'the game-tunnel test (builds a real ENet peer, test/nat-tunnel-enet-peer.c)'],
  ['libenet-dev', '/usr/include/enet/enet.h', 'the game-tunnel test (a real libenet server and clients)'],
  ['qemu-user-static', '/usr/bin/qemu-aarch64-static', 'running the linux-arm64 sidecar (test/sea-format.test.ts)'],
  ['libc6-arm64-cross', '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1', 'running the linux-arm64 sidecar under qemu'],
  ['libstdc++6-arm64-cross', '/usr/aarch64-linux-gnu/lib/libstdc++.so.6', 'running the linux-arm64 sidecar under qemu'],
];

function libtorrentPresent() {
  // The module file name carries the Python ABI; ask Debian's own interpreter instead of guessing it.
  if (!existsSync('/usr/bin/python3')) return false;
  return spawnSync('/usr/bin/python3', ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDS.filter(([pkg, file]) => (pkg === 'python3-libtorrent' ? !libtorrentPresent() : !existsSync(file)));
if (missing.length === 0) process.exit(0);

const packages = missing.map(([pkg]) => pkg);
const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (!isRoot || !hasApt) {
  for (const [pkg, , why] of missing) console.error(`missing ${pkg}: needed for ${why}`);
  console.error(hasApt ? `run: sudo ${command}` : `install the Debian packages ${packages.join(', ')} (or their equivalents) and run npm test again`);
  process.exit(1);
}

console.error(`npm test: installing from Debian what the test suites need: ${packages.join(', ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  // The package lists may be absent on a fresh machine: install once, update and retry on failure.
  const install = () => execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    install();
  }
} catch (err) {
  console.error(`npm test: could not install ${packages.join(', ')} (${err.message.split('\n')[0]}); run: ${command}`);
  process.exit(1);
}
const still = NEEDS.filter(([pkg, file]) => packages.includes(pkg) && (pkg === 'python3-libtorrent' ? !libtorrentPresent() : !existsSync(file)));
if (still.length > 0) {
  console.error(`npm test: installed, but still missing: ${still.map(([, file]) => file).join(', ')}`);
  process.exit(1);
}
