#!/usr/bin/env bash
# The GPU tools: this project's Release programs for a GPU machine that has this repository
# checked out but cannot build it (a bare image with an NVIDIA driver and a Python environment
# holding NVIDIA's CUDA 13 runtime, cuDNN 9 and cuBLAS wheels). Where the GPU bundle
# (scripts/gpu-bundle.sh) carries compiled training programs, these are the tools themselves:
#
#   scripts/gpu-tools.sh OUT.tar.xz
#
# OUT.tar.xz unpacks into infopro-gpu-tools/:
#   infopro, infopro-train, libinfopro_cuda.so, libinfopro_kernel_compiler.so
#                             the command, the compiled programs' runner, and the two plugins
#   bench/training_step, tests/runtime_test_cuda_vs_cpu
#                             the training-step benchmark and the CUDA backend's numerical test
#   lib/, licenses/           every library these need beyond the C/C++ runtimes and CUDA (LLVM 14
#                             and what it needs, oneDNN, Open MPI, protobuf-c, ...), from Debian,
#                             with their copyright files (scripts/carry-libraries.sh)
#   run.sh, cuda_libraries.sh, BUILD-INFO
# On the GPU machine, from the checkout: `tar xJf OUT.tar.xz && infopro-gpu-tools/run.sh`
# (scripts/gpu-tools/run.sh says what it runs). INFOPRO_BUILD names the build folder (default
# build: configured for Release when new, and brought up to date; with GPU_TOOLS_BUILT=1 taken as
# it is, as its test does with the test build). XZ_LEVEL: xz's preset (default 6).
set -euo pipefail
if [[ $# -ne 1 || "$1" == -* ]]; then
  echo "usage: scripts/gpu-tools.sh OUT.tar.xz" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
case "$1" in /*) out=$1 ;; *) out=$PWD/$1 ;; esac
cd "$root"
build=${INFOPRO_BUILD:-build}
if [[ "${GPU_TOOLS_BUILT:-}" != 1 ]]; then
  [[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j "$(nproc)" --target infopro infopro_mpi training_step \
    runtime_test_cuda_vs_cpu >/dev/null
fi
[[ -f "$build/libinfopro_cuda.so" ]] ||
  { echo "gpu-tools: $build has no CUDA plugin (the CUDA toolkit was not found at configure time)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pack=$work/infopro-gpu-tools
mkdir -p "$pack/bench" "$pack/tests"
cp "$build/infopro" "$build/infopro-train" "$build/libinfopro_cuda.so" \
  "$build/libinfopro_kernel_compiler.so" "$pack/"
# `infopro compile` copies the MPI plugin into every program it writes (and refuses without it);
# it is loaded only under mpirun, so its Open MPI libraries are not carried
cp "$build/libinfopro_mpi.so" "$pack/"
cp "$build/bench/training_step" "$pack/bench/"
cp "$build/tests/runtime_test_cuda_vs_cpu" "$pack/tests/"
scripts/carry-libraries.sh "$pack/lib" "$pack/licenses" "$pack/infopro" "$pack/infopro-train" \
  "$pack/libinfopro_cuda.so" "$pack/libinfopro_kernel_compiler.so" "$pack/bench/training_step" \
  "$pack/tests/runtime_test_cuda_vs_cpu" >"$work/libraries"
cp scripts/gpu-tools/run.sh scripts/gpu-bundle/cuda_libraries.sh "$pack/"
{
  echo "made by scripts/gpu-tools.sh at $(git rev-parse HEAD 2>/dev/null || echo unknown) on $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "build type: $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || echo unknown)"
  echo "carried libraries (SONAME, Debian package, version):"
  sed 's/^/  /' "$work/libraries"
} >"$pack/BUILD-INFO"
tar -C "$work" -cf - infopro-gpu-tools | xz -T0 "-${XZ_LEVEL:-6}" >"$work/tools.tar.xz"
mv "$work/tools.tar.xz" "$out"
echo "wrote $out: $(stat -c %s "$out") bytes"
