/**
 * The default IPv4 gateway, where NAT-PMP and PCP requests go: Linux reads /proc/net/route;
 * macOS/BSD ask `route -n get default`; Windows `route print -4` (bounded, no shell).
 * The parsers are pure and tested; a host whose gateway cannot be found gets null.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';

/** Gateways of the default routes in /proc/net/route text, lowest metric first. */
export function parseProcNetRoute(text: string): string[] {
  const routes: { gateway: string; metric: number }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const [, destination, gatewayHex, flagsHex, , , metric, mask] = cols;
    if (destination !== '00000000' || mask !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(gatewayHex ?? '')) continue;
    const flags = parseInt(flagsHex ?? '0', 16);
    if ((flags & 0x1) === 0 || (flags & 0x2) === 0) continue; // RTF_UP and RTF_GATEWAY
    const n = parseInt(gatewayHex!, 16); // little-endian on every platform Linux runs Node on
    const gateway = `${n & 0xff}.${(n >>> 8) & 0xff}.${(n >>> 16) & 0xff}.${n >>> 24}`;
    routes.push({ gateway, metric: Number(metric) || 0 });
  }
  return routes.sort((a, b) => a.metric - b.metric).map((r) => r.gateway);
}

/** The gateway of `route -n get default` (macOS/BSD). */
export function parseBsdRouteGet(text: string): string[] {
  const match = /^\s*gateway:\s*(\S+)\s*$/m.exec(text);
  return match !== null && isIPv4(match[1]!) ? [match[1]!] : [];
}

/** The gateways of `route print -4` (Windows): rows "0.0.0.0 0.0.0.0 <gateway> <interface> <metric>". */
export function parseWindowsRoutePrint(text: string): string[] {
  const routes: { gateway: string; metric: number }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 5 && cols[0] === '0.0.0.0' && cols[1] === '0.0.0.0' && isIPv4(cols[2]!)) {
      routes.push({ gateway: cols[2]!, metric: Number(cols[4]) || 0 });
    }
  }
  return routes.sort((a, b) => a.metric - b.metric).map((r) => r.gateway);
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 1500, maxBuffer: 256 * 1024, windowsHide: true }, (err, stdout) => resolve(err ? '' : String(stdout)));
  });
}

/** The default gateways of this host (best first); empty when none is found. */
export async function defaultGateways(): Promise<string[]> {
  if (process.platform === 'linux' || process.platform === 'android') {
    try {
      return parseProcNetRoute(await readFile('/proc/net/route', 'utf8'));
    } catch {
      return [];
    }
  }
  if (process.platform === 'win32') return parseWindowsRoutePrint(await run('route', ['print', '-4']));
  return parseBsdRouteGet(await run('route', ['-n', 'get', 'default']));
}
