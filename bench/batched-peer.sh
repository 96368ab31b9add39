#!/usr/bin/env bash
# Builds llama.cpp's own batched-decode benchmark, llama-batched-bench, from the peer's pinned source tree (the one
# bench/peer/fetch.sh unpacked) into DIR/batched-bench, for the serving benchmark's peer row (ServingBenchmark):
# N sequences decoded together through one llama_batch per step, as llama.cpp's server does with --parallel N.
# Same flags as the peer (Release, GGML_NATIVE, static, no network code). Prints the binary's path.
set -euo pipefail
peer_home="${1:-${CANDOR_PEER_HOME:-$HOME/.cache/candor/peer}}"
src="$peer_home/llama.cpp"
out="$peer_home/batched-bench"
bin="$out/bin/llama-batched-bench"
if [[ ! -f "$src/include/llama.h" ]]; then
  echo "batched-peer: no llama.cpp source in $src (run bench/peer/fetch.sh first)" >&2
  exit 1
fi
if [[ ! -x "$bin" ]]; then
  cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON \
    -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF >"$out.log" 2>&1
  cmake --build "$out" --target llama-batched-bench -j "${JOBS:-1}" >>"$out.log" 2>&1
fi
echo "$bin"
