#!/usr/bin/env bash
# Runs the GPU tools (made by scripts/gpu-tools.sh) on this machine's NVIDIA GPU, from a checkout
# of this repository (its models/ and bench/ are used), with the CUDA 13 runtime, cuDNN 9 and
# cuBLAS 13 found as the GPU bundle finds them (cuda_libraries.sh) or on LD_LIBRARY_PATH:
#
#   infopro-gpu-tools/run.sh [test] [train] [bench]     (default: all three, in this order)
#
#   test   tests/runtime_test_cuda_vs_cpu with IPRO_REQUIRE_GPU=1: every CUDA kernel of every
#          bundled model's training program against the reference kernels, and a training step
#          of each model against oneDNN (tests/runtime/test_cuda_vs_cpu.c)
#   train  `infopro train --device cuda` of ResNet-110 at batch 1024 with -K 4 (the split is
#          searched at start-up on the GPU's backend), 2 epochs of 4 steps on CIFAR-shaped random
#          pixels (bench/make_cifar_shaped.py)
#   bench  bench/gpu_resnet110.sh on these programs: peak device bytes and seconds per step end to
#          end and at K = 2, 3, 4 (KS), PyTorch beside where python3 has torch with CUDA
#
# Exit 1 when any of them fails (without a GPU, that is the first).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$PWD
[[ -f "$repo/models/resnet110.onnx" && -f "$repo/bench/gpu_resnet110.sh" ]] ||
  { echo "run.sh: run it from a checkout of infopro (models/ and bench/ are read)" >&2; exit 1; }
# shellcheck source=../gpu-bundle/cuda_libraries.sh
. "$here/cuda_libraries.sh"
use_carried_libraries "$here"
export IPRO_CUDA_PLUGIN=$here/libinfopro_cuda.so
export IPRO_KERNEL_COMPILER_PLUGIN=$here/libinfopro_kernel_compiler.so
export IPRO_SOURCE_DIR=$repo IPRO_REQUIRE_GPU=1
missing=$(missing_libraries "$here"/infopro "$here"/infopro-train "$here"/*.so "$here"/bench/* \
  "$here"/tests/*)
[[ -z "$missing" ]] || { echo "run.sh: missing libraries: $missing" >&2; exit 1; }
steps=("$@")
((${#steps[@]})) || steps=(test train bench)
for step in "${steps[@]}"; do
  case $step in test | train | bench) ;; *) echo "run.sh: no step '$step' (test, train, bench)" >&2; exit 2 ;; esac
done
# One step at batch 2 first: without a usable GPU every step would fail, and train would first
# write its 5,120 images; this says why in one line, before anything else.
if ! probe=$(timeout 300 "$here/bench/training_step" "$repo/models/resnet8_fmnist.onnx" \
  --device cuda --batch 2 --steps 1 --warmup 0 2>&1); then
  echo "run.sh: FAIL: the GPU probe (one training step at batch 2): $(echo "$probe" | grep -m1 . | sed 's/^training_step: //')" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
for step in "${steps[@]}"; do
  echo "=== $step"
  case $step in
    test)
      "$here/tests/runtime_test_cuda_vs_cpu" >"$work/test.out" 2>&1
      status=$?
      grep -v '^  ok' "$work/test.out" | tail -40
      ;;
    train)
      python3 "$repo/bench/make_cifar_shaped.py" "$work/cifar" 4096 1024 &&
        "$here/infopro" train "$repo/models/resnet110.onnx" --device cuda -K 4 --batch 1024 \
          --data "cifar10:$work/cifar" --limit 4096 --test-limit 1024 --epochs 2 --seed 7 \
          --no-augment --out "$work/trained.onnx"
      status=$?
      ;;
    bench)
      BUILD=$here IPRO_REQUIRE_GPU=1 bash "$repo/bench/gpu_resnet110.sh"
      status=$?
      ;;
  esac
  if ((status != 0)); then
    echo "=== $step: FAILED (exit $status)"
    failures=$((failures + 1))
  fi
done
((failures == 0)) || { echo "run.sh: FAIL: $failures of ${#steps[@]} steps failed" >&2; exit 1; }
echo "run.sh: all steps passed"
