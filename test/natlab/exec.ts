/**
 * Running the lab's system commands (ip, nft, sysctl) from the root namespace: every call is
 * bounded in time and a failure names the exact command and its stderr.
 */
import { execFile, execFileSync } from 'node:child_process';
import { PkarrError } from '../../sidecar/src/core/errors.ts';

export const IP = '/usr/sbin/ip';
export const NFT = '/usr/sbin/nft';
const TIMEOUT_MS = 15_000;

/** Runs `file args…` (stdin from `input`), resolves with stdout; rejects with a PkarrError naming the command. */
export function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const cmd = [file, ...args].join(' ');
        reject(new PkarrError('IO_ERROR', `natlab: \`${cmd}\` failed: ${stderr.trim() || err.message}`, { cmd, input }));
        return;
      }
      resolve(stdout);
    });
    child.stdin?.on('error', () => undefined); // the command may exit before reading: its exit status tells
    child.stdin?.end(input ?? '');
  });
}

/** `ip args…` in the root namespace (use `-n NS` inside args for another namespace). */
export function ip(...args: string[]): Promise<string> {
  return run(IP, args);
}

/** `ip netns exec ns file args…`. */
export function nsExec(ns: string, file: string, args: string[], input?: string): Promise<string> {
  return run(IP, ['netns', 'exec', ns, file, ...args], input);
}

/** Loads an nft ruleset (a multi-line script) into namespace `ns`. */
export function nftLoad(ns: string, script: string): Promise<string> {
  return nsExec(ns, NFT, ['-f', '-'], script);
}

/** Synchronous variant used only by the exit-time cleanup; never throws. */
export function runSyncQuiet(file: string, args: string[]): void {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 5_000 });
  } catch {
    // best effort at process exit
  }
}
