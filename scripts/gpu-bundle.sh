#!/usr/bin/env bash
# The GPU bundle (issue 10, item 4): compiled CUDA training programs that run on a machine with an
# NVIDIA GPU and nothing of this project's build: only the NVIDIA driver, and the CUDA 13 runtime,
# cuDNN 9 and cuBLAS 13 shared libraries (on LD_LIBRARY_PATH, or in a python3's nvidia wheels,
# which the bundle's run.sh finds itself). Made here, on a machine without a GPU.
#
#   scripts/gpu-bundle.sh OUT.tar.gz
#
# OUT.tar.gz unpacks into infopro-gpu-bundle/:
#   run.sh                    runs every program; see scripts/gpu-bundle/run.sh
#   programs/resnet8_k1, resnet8_k2
#                             ResNet-8 on Fashion-MNIST, batch 32, end to end and K = 2
#   programs/resnet110_k1 .. resnet110_k4
#                             ResNet-110 at batch 1024 (CIFAR-shaped input), K = 1 to 4
#                             (each `infopro compile --device cuda`: train, program.ipro,
#                             kernels.so, kernels.ptx, libinfopro_cuda.so; identical files are
#                             hard links, which tar stores once; the CPU kernels in kernels.so
#                             are made for the x86-64-v3 level (AVX2, FMA), not for this
#                             machine's CPU, so any GPU server's host CPU runs them)
#   data/fashion-mnist/       the first 64 training and 32 test images of Fashion-MNIST
#   reference/resnet8_kK.log, .onnx
#                             the CPU trainer's (`infopro train`) output and trained model after
#                             2 steps of 32 at seed 7, what the GPU runs are compared with
#   reference/resnet8_kK_one_thread.log, .onnx, initial.onnx
#                             the same on one oneDNN thread (the CPU's own spread), and the
#                             untrained model (compare.py compares updates)
#   lib/, licenses/           the non-CUDA shared libraries the runner and the plugin need (ldd,
#                             beyond the C and C++ runtimes), from Debian, with their copyright
#                             files
#   tests/runtime_test_cuda_vs_cpu
#                             the CUDA backend's node-by-node test (tests/runtime/
#                             test_cuda_vs_cpu.c), which run.sh runs on a checkout's models when
#                             CHECKOUT names one, its generated kernels the programs' own
#   compare.py, make_cifar_shaped.py, cuda_libraries.sh
#   BUILD-INFO                what made it: commit, machine, library SONAMEs
# The ResNet-110 splits are the planner's (-K N, costed on the CUDA backend's planning form);
# GPU_BUNDLE_SPLIT=equal uses equal-depth cuts instead (no split search: quicker, for CI). The
# bundle must stay at most 48 MiB: a larger one is an error (exit 1).
#
# INFOPRO names the infopro binary (default: build/infopro, built in Release first); the runner,
# the CUDA plugin and tests/runtime_test_cuda_vs_cpu are taken from beside it.
set -euo pipefail
if [[ $# -ne 1 || "$1" == -* ]]; then
  echo "usage: scripts/gpu-bundle.sh OUT.tar.gz" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
case "$1" in /*) out=$1 ;; *) out=$PWD/$1 ;; esac
limit=$((48 * 1024 * 1024))
steps_batch=32
seed=7
cd "$root"
if [[ -z "${INFOPRO:-}" ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$(nproc)" --target infopro runtime_test_cuda_vs_cpu >/dev/null
  INFOPRO=$root/build/infopro
fi
fmnist=/usr/share/datasets/fashion-mnist
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
  t10k-labels-idx1-ubyte.gz; do
  [[ -r "$fmnist/$f" ]] || { echo "gpu-bundle: $fmnist/$f missing (Debian: dataset-fashion-mnist)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bundle=$work/infopro-gpu-bundle
mkdir -p "$bundle"/{programs,data/fashion-mnist,reference,lib,licenses}

# The Fashion-MNIST subset, in the IDX files the reader takes (header counts rewritten).
/usr/bin/python3 - "$fmnist" "$bundle/data/fashion-mnist" <<'PY'
import gzip, struct, sys
source, target = sys.argv[1], sys.argv[2]
for prefix, count in (("train", 64), ("t10k", 32)):
    for kind, item in (("images-idx3", 784), ("labels-idx1", 1)):
        name = "%s-%s-ubyte.gz" % (prefix, kind)
        with gzip.open("%s/%s" % (source, name), "rb") as f:
            data = f.read()
        header = 16 if item == 784 else 8
        head = bytearray(data[:header])
        struct.pack_into(">I", head, 4, count)
        with gzip.GzipFile("%s/%s" % (target, name), "wb", mtime=0) as f:
            f.write(bytes(head) + data[header:header + count * item])
PY
data="fashion-mnist:$bundle/data/fashion-mnist"

compile() { # name, model, data spec, batch, split arguments...
  local name=$1 model=$2 spec=$3 batch=$4
  shift 4
  "$INFOPRO" compile "$model" --data "$spec" --batch "$batch" "$@" --device cuda --cpu x86-64-v3 \
    -o "$bundle/programs/$name" >"$work/$name.compile" 2>&1 ||
    { echo "gpu-bundle: compiling $name failed:" >&2; cat "$work/$name.compile" >&2; exit 1; }
  sed -n 's/^compiled /  /p' "$work/$name.compile"
}
echo "compiling the CUDA programs (no GPU needed):"
compile resnet8_k1 models/resnet8_fmnist.onnx "$data" "$steps_batch" -K 1
compile resnet8_k2 models/resnet8_fmnist.onnx "$data" "$steps_batch" -K 2
# ResNet-110's data is made on the GPU machine (random pixels do not compress); here a minimal
# CIFAR-shaped folder gives compile the channels and classes.
/usr/bin/python3 bench/make_cifar_shaped.py "$work/cifar" 16 16
block() { echo "/layer$1/layer$1.$2/Relu_1_output_0"; }
for K in 1 2 3 4; do
  split=(-K "$K")
  if [[ "${GPU_BUNDLE_SPLIT:-}" == equal ]]; then
    case $K in
      1) split=(-K 1) ;;
      2) split=(--cuts "$(block 2 8)") ;;
      3) split=(--cuts "$(block 1 17),$(block 2 17)") ;;
      4) split=(--cuts "$(block 1 13),$(block 2 8),$(block 3 4)") ;;
    esac
  fi
  compile "resnet110_k$K" models/resnet110.onnx "cifar10:$work/cifar" 1024 "${split[@]}"
done

# The CPU reference, and the same run on one oneDNN thread: the CPU's own spread under another
# order of sums, which run.sh prints beside the GPU's difference (compare.py).
echo "the CPU reference: infopro train, 2 steps of $steps_batch at seed $seed (and on one thread)"
reference() { # K, name, environment...
  local K=$1 name=$2
  shift 2
  env "$@" "$INFOPRO" train models/resnet8_fmnist.onnx -K "$K" --batch "$steps_batch" \
    --data "$data" --limit $((2 * steps_batch)) --test-limit 32 --epochs 1 --seed "$seed" \
    --no-augment --out "$bundle/reference/$name.onnx" >"$bundle/reference/$name.log" 2>&1 ||
    { echo "gpu-bundle: the CPU reference run failed:" >&2; cat "$bundle/reference/$name.log" >&2; exit 1; }
}
for K in 1 2; do
  # two threads and one, whatever the caller's OMP_NUM_THREADS, so that the pair's spread is a
  # real one (cli.test_gpu_bundle checks the two differ)
  reference "$K" "resnet8_k$K" OMP_NUM_THREADS=2
  reference "$K" "resnet8_k${K}_one_thread" OMP_NUM_THREADS=1
done
cp models/resnet8_fmnist.onnx "$bundle/reference/initial.onnx"

# The shared libraries the runner and the plugin need beyond the C/C++ runtimes (which every
# Linux has) and the CUDA libraries (the GPU machine's), with their Debian copyright files.
first=$bundle/programs/resnet8_k1
node_test=$(dirname "$INFOPRO")/tests/runtime_test_cuda_vs_cpu
[[ -x "$node_test" ]] || { echo "gpu-bundle: $node_test missing (build its target runtime_test_cuda_vs_cpu)" >&2; exit 1; }
mkdir -p "$bundle/tests"
cp "$node_test" "$bundle/tests/"
scripts/carry-libraries.sh "$bundle/lib" "$bundle/licenses" "$first/train" \
  "$first/libinfopro_cuda.so" "$bundle/tests/runtime_test_cuda_vs_cpu" >"$work/libraries"

# Identical files of the programs become hard links (tar stores each once).
for name in train kernels.so kernels.ptx libinfopro_cuda.so; do
  for dir in "$bundle"/programs/*/; do
    if [[ "$dir" != "$first/" ]] && cmp -s "$dir/$name" "$first/$name"; then
      ln -f "$first/$name" "$dir/$name"
    fi
  done
done

cp scripts/gpu-bundle/run.sh "$bundle/run.sh"
cp scripts/gpu-bundle/compare.py scripts/gpu-bundle/cuda_libraries.sh bench/make_cifar_shaped.py \
  "$bundle/"
chmod +x "$bundle/run.sh"
{
  echo "made by scripts/gpu-bundle.sh at $(git rev-parse HEAD 2>/dev/null || echo unknown) on $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "CPU the kernels.so files were made for: $(sed -n 's/^compiled .*kernels for a \(.*\) CPU$/\1/p' "$work/resnet8_k1.compile")"
  echo "plugin links (SONAMEs): $(readelf -d "$first/libinfopro_cuda.so" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
  echo "carried libraries (SONAME, Debian package, version):"
  sed 's/^/  /' "$work/libraries"
} >"$bundle/BUILD-INFO"

tar -C "$work" -czf "$work/bundle.tar.gz" infopro-gpu-bundle
size=$(stat -c %s "$work/bundle.tar.gz")
if ((size > limit)); then
  echo "gpu-bundle: the bundle is $size bytes, over the $limit-byte (48 MiB) limit" >&2
  exit 1
fi
mv "$work/bundle.tar.gz" "$out"
echo "wrote $out: $size bytes ($(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of at most 48)"
