#!/usr/bin/env bash
# Runs the GPU bundle's programs (made by scripts/gpu-bundle.sh) on this machine's NVIDIA GPU.
# Needs: the NVIDIA driver, and the CUDA 13 runtime, cuDNN 9 and cuBLAS 13 shared libraries,
# either in the nvidia wheels of the python3 on the PATH (nvidia-cuda-runtime, nvidia-cudnn-cu13,
# nvidia-cublas: found here by looking for libcudart.so.13, libcublas.so.13, libcublasLt.so.13
# and libcudnn.so.9 under the `nvidia` package) or on LD_LIBRARY_PATH; python3 (standard
# library only) for the comparisons. The other libraries the programs need are in lib/.
#
#   ./run.sh            every program; exit 0 only when every one ran and matched
#   RUN_LOGS=DIR ./run.sh   also keeps every program's log, JSON report and trained model in DIR
#   PROGRAM_TIMEOUT=S   seconds one program may run before it counts as hung (default 180)
#   CHECKOUT=DIR ./run.sh   also runs tests/runtime_test_cuda_vs_cpu on DIR's models (a checkout
#                       of infopro: every node of every bundled model on its CUDA kernel against
#                       the reference kernels, and a step of each against oneDNN), with the
#                       generated kernels of programs/resnet8_k1 (no LLVM needed); TEST_MODELS
#                       ("mlp resnet8 ...") limits it to the models whose names contain a word
#
# For each program it prints the planned peak beside the device bytes the program cudaMalloc'd
# (the CUDA backend's count; both must equal, and for a split program the peak compile planned
# without a GPU too) and the growth cudaMemGetInfo saw (the driver's own figure, which
# also holds the CUDA context and the cuDNN/cuBLAS handles), and the seconds per step (the
# first epoch's time, first step and test pass included, over its steps; for ResNet-110, which
# trains a second epoch, also the second epoch's pace, the steady state). ResNet-8 (K = 1, 2) is
# compared with the CPU trainer's run in reference/ (the same 2 steps and seed): losses and each
# tensor's update, tolerances in compare.py, with the CPU's own spread (the same run on one
# oneDNN thread) printed beside for scale. The smallest program runs again under
# `compute-sanitizer --tool memcheck` when that is on the PATH. Any failure (no GPU, a missing
# library, a program that fails, a comparison outside tolerance, a memcheck error) is reported
# and the exit status is 1; nothing is skipped.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fail() {
  echo "run.sh: FAIL: $*" >&2
  exit 1
}

# ---- the CUDA libraries ----
# shellcheck source=cuda_libraries.sh
. "$here/cuda_libraries.sh"
use_carried_libraries "$here"
smallest=$here/programs/resnet8_k1
missing=$(missing_libraries "$smallest/train" "$smallest/libinfopro_cuda.so")
[[ -z "$missing" ]] || fail "missing libraries: $missing (put the CUDA 13 runtime, cuDNN 9 and cuBLAS 13 on LD_LIBRARY_PATH, or use a python3 with the nvidia wheels)"
command -v python3 >/dev/null || fail "python3 is needed to compare the runs with the CPU reference"

if [[ -n "${RUN_LOGS:-}" ]]; then
  work=$RUN_LOGS
  mkdir -p "$work" || fail "cannot make $work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
timeout=${PROGRAM_TIMEOUT:-180}
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || fail "PROGRAM_TIMEOUT is a whole number of seconds, not '$timeout'"
[[ -n "${RUN_LOGS:-}" ]] && echo "$LD_LIBRARY_PATH" >"$work/LD_LIBRARY_PATH"
fmnist="fashion-mnist:$here/data/fashion-mnist"
failures=0
field() { # json file, key: the integer or number after "key":
  grep -o "\"$2\": *[0-9.e+-]*" "$1" | head -1 | sed 's/.*: *//'
}

# Runs one program: name, epochs, then its options. Prints the memory and time lines; 1 on
# failure.
run_program() {
  local name=$1 epochs=$2
  shift 2
  local program=$here/programs/$name log=$work/$name.log json=$work/$name.json status
  timeout "$timeout" "$program/train" "$@" --epochs "$epochs" --out "$work/$name.onnx" \
    --json "$json" >"$log" 2>&1
  status=$?
  if ((status != 0)); then
    ((status == 124)) && echo "$name: FAILED: still running after $timeout s (PROGRAM_TIMEOUT)" ||
      echo "$name: FAILED (exit $status):"
    sed 's/^/  /' "$log" | tail -8
    return 1
  fi
  local planned counted device seconds steps
  planned=$(field "$json" planned_peak_bytes)
  counted=$(field "$json" counted_bytes)
  device=$(field "$json" device_measured_bytes)
  seconds=$(field "$json" seconds)
  steps=$(sed -n 's/.* \([0-9]*\) steps of .*/\1/p' "$log" | head -1)
  # After two epochs, the first epoch's time: its line's seconds ("seconds" covers both).
  ((epochs > 1)) && seconds=$(sed -n 's/^epoch 1\/[0-9]*  loss .*  \([0-9.]*\) s$/\1/p' "$log" | head -1)
  if [[ -z "$seconds" || -z "$steps" ]]; then
    echo "$name: FAILED: no step count or time in its output"
    sed 's/^/  /' "$log" | tail -8
    return 1
  fi
  echo "$name: $(grep -m1 '^InfoPro local training' "$log" || echo 'end to end')"
  echo "  memory: planned $planned bytes; cudaMalloc'd $counted ($(awk -v c="$counted" -v p="$planned" 'BEGIN { printf "%+.2f%%", 100 * (c - p) / p }') of planned); cudaMemGetInfo growth ${device:-none} ($(awk -v c="${device:-0}" -v p="$planned" 'BEGIN { printf "%+.2f%%", 100 * (c - p) / p }'), context and library handles included)"
  echo "  time: $(grep -m1 '^ready to train' "$log"); $steps steps in $(awk -v s="$seconds" 'BEGIN { printf "%.2f", s }') s: $(awk -v s="$seconds" -v n="$steps" 'BEGIN { printf "%.3f", s / n }') s/step (first epoch: first step and test pass included)"
  # The second epoch's last step line: images/s over that epoch's steps alone.
  local pace batch
  pace=$(sed -n 's/^epoch 2\/[0-9]*  step \([0-9]*\)\/\1  .*  \([0-9.]*\) images\/s .*/\2/p' "$log" | tail -1)
  batch=$(sed -n 's/.* steps of \([0-9]*\) per epoch.*/\1/p' "$log" | head -1)
  if [[ -n "$pace" && -n "$batch" ]]; then
    echo "  steady state (epoch 2, steps alone): $pace images/s, $(awk -v p="$pace" -v b="$batch" 'BEGIN { printf "%.4f", b / p }') s/step"
  fi
  # A split program's peak as compile planned it, without a GPU ("planned peak N bytes" in the
  # header): the plan made at start-up on the GPU must be the same bytes.
  local compiled
  compiled=$(sed -n 's/^InfoPro local training:.*; planned peak \([0-9]*\) bytes.*/\1/p' "$log" | head -1)
  if [[ -n "$compiled" && "$compiled" != "$planned" ]]; then
    echo "  FAILED: compiled without a GPU for a peak of $compiled bytes, planned $planned on it"
    return 1
  fi
  if [[ "$counted" != "$planned" ]]; then
    echo "  FAILED: the program cudaMalloc'd $counted bytes, planned $planned"
    return 1
  fi
  if [[ -z "$device" || "$device" -lt "$planned" ]]; then
    echo "  FAILED: cudaMemGetInfo saw ${device:-no} growth, less than the $planned bytes planned"
    return 1
  fi
  return 0
}

echo "infopro GPU bundle: $(head -1 "$here/BUILD-INFO")"
if command -v nvidia-smi >/dev/null; then
  echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)"
fi
echo "CUDA libraries from: ${cuda_dirs:-LD_LIBRARY_PATH}"

# The smallest program first: without a usable GPU it says why in one line, and that is the end.
probe=$(timeout "$timeout" "$smallest/train" --data "$fmnist" --limit 32 --test-limit 32 \
  --epochs 1 2>&1 >/dev/null)
status=$?
if [[ $status -eq 124 ]]; then
  fail "the smallest program was still running after $timeout s (PROGRAM_TIMEOUT)"
elif [[ $status -ne 0 ]]; then
  fail "the smallest program cannot train: $(echo "$probe" | tail -1 | sed 's/^infopro: //')"
fi

for K in 1 2; do
  name=resnet8_k$K
  if ! run_program "$name" 1 --data "$fmnist" --limit 64 --test-limit 32 --seed 7 --no-augment; then
    failures=$((failures + 1))
    continue
  fi
  echo "  against the CPU reference (infopro train, 2 steps of 32, seed 7):"
  python3 "$here/compare.py" "$here/reference/$name.log" "$work/$name.log" \
    "$here/reference/$name.onnx" "$work/$name.onnx" "$here/reference/initial.onnx" ||
    { echo "  FAILED: outside tolerance"; failures=$((failures + 1)); }
  echo "  the CPU against itself (the same run on one oneDNN thread), for scale:"
  python3 "$here/compare.py" "$here/reference/$name.log" "$here/reference/${name}_one_thread.log" \
    "$here/reference/$name.onnx" "$here/reference/${name}_one_thread.onnx" \
    "$here/reference/initial.onnx" || { echo "  FAILED: the CPU's own spread is outside tolerance"; failures=$((failures + 1)); }
done

python3 "$here/make_cifar_shaped.py" "$work/cifar" 4096 1024
for K in 1 2 3 4; do
  run_program "resnet110_k$K" 2 --data "cifar10:$work/cifar" --limit 4096 --test-limit 1024 \
    --seed 7 --no-augment || failures=$((failures + 1))
  rm -f "$work/resnet110_k$K.onnx"
done

if command -v compute-sanitizer >/dev/null; then
  echo "compute-sanitizer --tool memcheck on resnet8_k1 (one step of 32):"
  if timeout $((2 * timeout)) compute-sanitizer --tool memcheck --error-exitcode 99 "$smallest/train" --data "$fmnist" \
    --limit 32 --test-limit 32 --epochs 1 >"$work/memcheck.log" 2>&1; then
    echo "  $(grep -m1 'ERROR SUMMARY' "$work/memcheck.log" || echo 'no errors')"
  else
    echo "  FAILED:"
    grep -v '^epoch\|^  local' "$work/memcheck.log" | head -30 | sed 's/^/  /'
    failures=$((failures + 1))
  fi
else
  echo "compute-sanitizer: not on the PATH, memcheck not run"
fi

if [[ -n "${CHECKOUT:-}" ]]; then
  [[ -d "$CHECKOUT/models" ]] || fail "CHECKOUT=$CHECKOUT has no models/ (a checkout of infopro)"
  read -ra filters <<<"${TEST_MODELS:-}"
  ((${#filters[@]})) || filters=("")
  for filter in "${filters[@]}"; do
    echo "the CUDA backend node by node against the reference kernels, models ${filter:+matching $filter}${filter:-all} (tests/runtime_test_cuda_vs_cpu):"
    IPRO_SOURCE_DIR=$CHECKOUT IPRO_REQUIRE_GPU=1 IPRO_PRECOMPILED_KERNELS=$smallest \
      IPRO_CUDA_PLUGIN=$smallest/libinfopro_cuda.so \
      timeout $((5 * timeout)) "$here/tests/runtime_test_cuda_vs_cpu" $filter >"$work/node-test${filter:+-$filter}.log" 2>&1
    status=$?
    grep -v '^  ok' "$work/node-test${filter:+-$filter}.log" | tail -40 | sed 's/^/  /'
    if ((status != 0)); then
      echo "  FAILED (exit $status)"
      failures=$((failures + 1))
    fi
  done
fi

if ((failures)); then
  echo "run.sh: FAIL: $failures of the checks above failed" >&2
  exit 1
fi
echo "run.sh: all programs ran and matched"
