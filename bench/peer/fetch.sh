#!/usr/bin/env bash
# Installs the end-to-end benchmark's peer, llama.cpp, into a cache directory (default ~/.cache/candor/peer) and
# prints the path of the candor-peer binary. Idempotent: a second run with the same pinned version and the same
# driver source (candor-peer.cpp, CMakeLists.txt, this script) does nothing.
#
# llama.cpp is taken from the npm registry: node-llama-cpp ships the exact llama.cpp source it was built from as a
# git bundle (package/llama/gitRelease.bundle). Its prebuilt packages hold only a Node addon and shared libraries, no
# command-line tool, so the source is built here, for this CPU (GGML_NATIVE), with candor-peer.cpp linked in. See
# README.md beside this file.
#
# Needs: npm, git, cmake >= 3.14, a C++17 compiler (Debian: apt-get install nodejs npm git cmake g++).
set -euo pipefail

NLC_VERSION=3.22.1
NLC_INTEGRITY='sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw=='

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-${CANDOR_PEER_HOME:-$HOME/.cache/candor/peer}}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
jobs="${PEER_BUILD_JOBS:-$(nproc)}"

driver_hash="$(cat "$here/candor-peer.cpp" "$here/CMakeLists.txt" "$here/fetch.sh" | sha256sum | cut -c1-16)"
stamp="$dir/.installed-$driver_hash"
if [ -f "$stamp" ] && [ -x "$dir/bin/candor-peer" ]; then
  echo "$dir/bin/candor-peer"
  exit 0
fi

log() { echo "fetch.sh: $*" >&2; }

# 1. the package, by exact version, checked against the integrity hash pinned above
tgz="$dir/node-llama-cpp-$NLC_VERSION.tgz"
integrity_of() {
  if command -v openssl >/dev/null; then
    echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
  else
    echo "sha512-$(python3 -c 'import base64,hashlib,sys;print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "$1")"
  fi
}
if [ ! -f "$tgz" ] || [ "$(integrity_of "$tgz")" != "$NLC_INTEGRITY" ]; then
  log "npm pack node-llama-cpp@$NLC_VERSION"
  rm -f "$tgz"
  (cd "$dir" && npm pack --silent "node-llama-cpp@$NLC_VERSION" >/dev/null)
fi
if [ "$(integrity_of "$tgz")" != "$NLC_INTEGRITY" ]; then
  echo "fetch.sh: $tgz does not match the pinned integrity $NLC_INTEGRITY" >&2
  exit 1
fi

# 2. the llama.cpp source inside it
src="$dir/llama.cpp"
if [ ! -f "$src/.from-$NLC_VERSION" ]; then
  log "unpacking the llama.cpp source bundle"
  rm -rf "$src" "$dir/unpack"
  mkdir -p "$dir/unpack"
  tar -xzf "$tgz" -C "$dir/unpack" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
  git clone --quiet "$dir/unpack/package/llama/gitRelease.bundle" "$src" 2>/dev/null
  cp "$dir/unpack/package/llama/llama.cpp.info.json" "$src/.llama.cpp.info.json"
  rm -rf "$dir/unpack"
  touch "$src/.from-$NLC_VERSION"
fi
tag="$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' "$src/.llama.cpp.info.json")"
commit="$(git -C "$src" rev-parse --short HEAD)"
version="$tag, source of node-llama-cpp $NLC_VERSION, bundle commit $commit"

# 3. the driver, built with llama.cpp as a static subproject
log "building candor-peer against llama.cpp $version with $jobs jobs; the first build takes several minutes"
cmake -S "$here" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_SRC="$src" -DPEER_VERSION="$version" >"$dir/build.log" 2>&1 \
  || { tail -30 "$dir/build.log" >&2; exit 1; }
cmake --build "$dir/build" --target candor-peer -j "$jobs" >>"$dir/build.log" 2>&1 \
  || { tail -30 "$dir/build.log" >&2; exit 1; }
mkdir -p "$dir/bin"
cp "$dir/build/candor-peer" "$dir/bin/candor-peer.tmp"
mv "$dir/bin/candor-peer.tmp" "$dir/bin/candor-peer"
echo "llama.cpp $version" >"$dir/VERSION"
rm -f "$dir"/.installed-*
touch "$stamp"
echo "$dir/bin/candor-peer"
