#!/usr/bin/env bash
# ResNet-110 at batch 1024 (CIFAR-sized input) on an NVIDIA GPU (issue 6, item 5): peak device
# memory and seconds per training step, end to end and with InfoPro local training at K = 2, 3, 4
# (cut where `infopro plan -K N --device cuda` puts the cuts: balanced memory), beside the paper's
# Table 3 (measured with PyTorch on a GPU) and, when torch with CUDA is installed, PyTorch's own
# end-to-end step on the same GPU with torch.cuda.max_memory_allocated.
#
# infopro's peak is the device bytes the CUDA backend allocated for the trainer (one cudaMalloc
# per block, counted; equal to the plan by construction, checked by tests/runtime/
# test_cuda_vs_cpu.c). It leaves out the CUDA context and the cuDNN/cuBLAS handles, as PyTorch's
# max_memory_allocated does. Both sides compute in float32 without TF32.
#
#   bench/gpu_resnet110.sh                  (builds BUILD, default build-cuda, in Release first)
#   BATCH=256 STEPS=5 KS="2 4" BUILD=build-cuda PYTHON=python3 bench/gpu_resnet110.sh
#   BUILD=/path/infopro-gpu-tools bench/gpu_resnet110.sh   (prebuilt: scripts/gpu-tools.sh)
# Without a GPU it prints why and exits 0 without measuring anything; with IPRO_REQUIRE_GPU=1 or a
# GPU the driver lists, a backend that cannot start exits 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build-cuda}
given=${BUILD:+yes}
batch=${BATCH:-1024}
steps=${STEPS:-5}
warmup=${WARMUP:-2}
ks=${KS:-"2 3 4"}
python=${PYTHON:-python3}
model=models/resnet110.onnx
cd "$root"
case $build in /*) ;; *) build=$root/$build ;; esac
# A folder of prebuilt programs (scripts/gpu-tools.sh's pack: infopro and bench/training_step,
# no CMakeCache.txt) is used as it is; a build folder is brought up to date first.
# A BUILD given that is neither is a mistake (a typo would otherwise start a whole new build).
if [[ -n "$given" && ! -f "$build/CMakeCache.txt" && ! -x "$build/infopro" ]]; then
  echo "gpu_resnet110: BUILD=$build is neither a build folder nor a pack of prebuilt programs" >&2
  exit 2
fi
if [[ -f "$build/CMakeCache.txt" || ! -x "$build/infopro" ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j "$(nproc)" >/dev/null
fi

# One step at batch 2 answers first: without a usable GPU it fails with one line saying why
# (planning for CUDA needs no GPU, so `plan --device cuda` cannot tell).
# With IPRO_REQUIRE_GPU=1, or when the NVIDIA driver lists a GPU, a backend that cannot start is
# a failure (exit 1), not a skip.
if ! probe=$("$build/bench/training_step" "$model" --device cuda --batch 2 --steps 1 --warmup 0 \
  --tsv 2>&1 >/dev/null); then
  if [[ "${IPRO_REQUIRE_GPU:-}" == 1 ]] || compgen -G "/proc/driver/nvidia/gpus/*" >/dev/null; then
    echo "FAIL: a GPU is required or visible, but the CUDA backend cannot start: ${probe#infopro: }"
    exit 1
  fi
  echo "skip: no GPU run: ${probe#infopro: }"
  exit 0
fi
if command -v nvidia-smi >/dev/null; then
  echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cuts_of() { # K → the cut tensors of the balanced plan, comma-separated
  "$build/infopro" plan "$model" --batch "$batch" -K "$1" --device cuda --json - |
    "$python" -c 'import json, sys; print(",".join(json.load(sys.stdin)["cuts"]))'
}
step() { # K, cuts... → a TSV line of bench/training_step.c
  local K=$1 cuts=${2:-}
  "$build/bench/training_step" "$model" --device cuda --batch "$batch" --steps "$steps" \
    --warmup "$warmup" --tsv ${cuts:+--cuts "$cuts"}
}
gib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1073741824 }'; }
gb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e9 }'; }

printf '| run | K | peak device bytes | GiB | GB | reduction vs E2E | s/step (median) | paper (Table 3) |\n'
printf '|---|---|---|---|---|---|---|---|\n'
paper=("" "9.40 GB" "5.38 GB (42.8%)" "4.22 GB (55.1%)" "3.52 GB (62.6%)")
line=$(step 1)
e2e=$(echo "$line" | cut -f8)
printf '| infopro E2E | 1 | %s | %s | %s | - | %.3f | %s |\n' "$e2e" "$(gib "$e2e")" "$(gb "$e2e")" \
  "$(awk -v m="$(echo "$line" | cut -f5)" 'BEGIN { print m / 1000 }')" "${paper[1]}"
for K in $ks; do
  cuts=$(cuts_of "$K")
  line=$(step "$K" "$cuts")
  peak=$(echo "$line" | cut -f8)
  printf '| infopro InfoPro | %d | %s | %s | %s | %s%% | %.3f | %s |\n' "$K" "$peak" "$(gib "$peak")" \
    "$(gb "$peak")" "$(awk -v p="$peak" -v e="$e2e" 'BEGIN { printf "%.1f", 100 * (1 - p / e) }')" \
    "$(awk -v m="$(echo "$line" | cut -f5)" 'BEGIN { print m / 1000 }')" "${paper[$K]}"
done
if torch_line=$("$python" bench/gpu_step_pytorch.py resnet110 --batch "$batch" --steps "$steps" \
  --warmup "$warmup" 2>"$out/torch.err"); then
  peak=$(echo "$torch_line" | cut -f8)
  printf '| PyTorch E2E (max_memory_allocated) | 1 | %s | %s | %s | - | %.3f | %s |\n' "$peak" \
    "$(gib "$peak")" "$(gb "$peak")" \
    "$(awk -v m="$(echo "$torch_line" | cut -f5)" 'BEGIN { print m / 1000 }')" "${paper[1]}"
else
  echo
  echo "PyTorch not measured: $(tail -1 "$out/torch.err" 2>/dev/null) ${torch_line:-}"
fi
