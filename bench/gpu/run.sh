#!/usr/bin/env bash
# The GPU proof of the cuda backend in one command, on a bare GPU machine with no network and no Java:
#   bash bench/gpu/run.sh [0.5b] [7b] [--no-compile] [--no-hf-bench]        (default: 0.5b 7b)
# It needs build/gpu-bundle.tar.xz next to the tree (make gpu-bundle here, carried with the call), nvcc is not
# needed (the kernels are in the jar), python3 with torch, transformers and safetensors is. Writes to $OUT (or
# build/gpu-out): nvidia-smi.txt, djl-cuda.txt, candor-SHAPE.json, hf-SHAPE.json, REPORT.md (printed last).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-build/gpu-out}
WORK=${WORK:-/tmp/candor-gpu}
mkdir -p "$OUT" "$WORK"
shapes=()
compile=()
hfbench=1
for a in "$@"; do
  case $a in
    --no-compile) compile=(--no-compile) ;;
    --no-hf-bench) hfbench=0 ;;  # skip transformers' timings (a call's 10 minutes are short for the 7B shape)
    *) shapes+=("$a") ;;
  esac
done
[[ ${#shapes[@]} -eq 0 ]] && shapes=(0.5b 7b)

log() { echo "[$(date +%T)] $*"; }

# load every kernel with the module, not at its first launch: a first launch inside a stream capture must not load
export CUDA_MODULE_LOADING=EAGER

if [[ ! -x $WORK/gpu-bundle/runtime/bin/java ]]; then
  tar -C "$WORK" -xJf build/gpu-bundle.tar.xz \
    || { echo "no build/gpu-bundle.tar.xz: run make gpu-bundle first"; exit 2; }
fi
JAVA=("$WORK/gpu-bundle/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  -Xmx48g -XX:MaxDirectMemorySize=32g -Dai.djl.offline=true -DDJL_CACHE_DIR="$WORK/djl" -DENGINE_CACHE_DIR="$WORK/djl"
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$WORK/gpu-bundle/lib/*")

# cuBLAS for long prefills: the toolkit's, else the one PyTorch's wheels bring (the backend checks it against its own
# kernels at load and says so in the log when it does not use it)
cublas=$(python3 - <<'PY'
import glob, os, site, sys
for d in ["/usr/local/cuda/lib64"] + site.getsitepackages():
    for p in sorted(glob.glob(os.path.join(d, "**", "libcublas.so*"), recursive=True)):
        if "Lt" not in os.path.basename(p):
            print(p)
            sys.exit()
PY
)
if [[ -n "$cublas" ]]; then
  export CANDOR_CUBLAS=${CANDOR_CUBLAS:-$cublas}
  export LD_LIBRARY_PATH="$(dirname "$cublas"):${LD_LIBRARY_PATH:-}"
fi
echo "cuBLAS: ${CANDOR_CUBLAS:-none found}" > "$OUT/cublas.txt"

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
python3 -c 'import torch, transformers
print("torch", torch.__version__, "transformers", transformers.__version__, torch.cuda.get_device_name())' \
  | tee "$OUT/python.txt"

# DJL's own CUDA path with the machine's PyTorch (recorded either way): DJL 0.35.1 ships JNI for PyTorch 2.7.1
# only, so try it asking for the machine's version (DJL then looks for a JNI build of that version), and with the
# bundled 2.7.1 JNI against the machine's libtorch
torchlib=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
torchver=$(python3 -c 'import torch; print(torch.__version__.split("+")[0])')
for version in "$torchver" 2.7.1; do
  echo "== PYTORCH_VERSION=$version PYTORCH_LIBRARY_PATH=$torchlib" >> "$OUT/djl-cuda.txt"
  PYTORCH_LIBRARY_PATH=$torchlib PYTORCH_VERSION=$version PYTORCH_FLAVOR=cu130 timeout 120 "${JAVA[@]}" \
    dev.candor.bench.DjlCudaProbe >> "$OUT/djl-cuda.txt" 2>&1
  echo "== exit $?" >> "$OUT/djl-cuda.txt"
done
log "$(grep djl-cuda: "$OUT/djl-cuda.txt" | tr '\n' ' ')"

for shape in "${shapes[@]}"; do
  model=$WORK/qwen2.5-$shape-random
  log "checkpoint $shape"
  python3 bench/gpu/hf.py make --shape "$shape" --out "$model" || continue
  drafter=()
  hfdrafter=()
  if [[ $shape == 7b ]]; then  # the 0.5B shape with the 7B's vocabulary, as a drafter
    python3 bench/gpu/hf.py make --shape 0.5b --vocab 152064 --seed 2 --out "$WORK/qwen2.5-0.5b-v152064-random"
    drafter=(--drafter "$WORK/qwen2.5-0.5b-v152064-random")
    hfdrafter=(--drafter "$WORK/qwen2.5-0.5b-v152064-random")
  fi
  cpu=()
  [[ $shape == 0.5b ]] && cpu=(--cpu-check)
  log "transformers reference $shape"
  python3 bench/gpu/hf.py reference --model "$model" --out "$WORK/$shape-hf"
  log "candor $shape"
  "${JAVA[@]}" dev.candor.bench.GpuBench --model "$model" --hf "$WORK/$shape-hf" "${cpu[@]}" "${drafter[@]}" \
    --out "$OUT/candor-$shape.json" > "$OUT/candor-$shape.log" 2>&1
  if [[ $hfbench == 1 ]]; then
    log "transformers bench $shape"
    python3 bench/gpu/hf.py bench --model "$model" "${hfdrafter[@]}" "${compile[@]}" --out "$OUT/hf-$shape.json" \
      > "$OUT/hf-$shape.log" 2>&1
  fi
done
python3 bench/gpu/report.py "$OUT" > "$OUT/REPORT.md"
cat "$OUT/REPORT.md"
