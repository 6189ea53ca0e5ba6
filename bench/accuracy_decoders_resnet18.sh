#!/usr/bin/env bash
# The paper's decoder against the reduced one (--decoder paper|reduced) on a torchvision-style
# network: torchvision 0.14's ResNet-18 (10 classes, random initial weights, exported at 32x32 by
# bench/export_torchvision.py into build-tv/, not committed) trained on 3x32x32 images made from
# Fashion-MNIST (each 28x28 image padded by 2 pixels of 0 on every side and repeated into three
# channels, written as an .npz that infopro reads with --data npz:). Same recipe and seeds for
# both decoders: `infopro train`'s defaults (batch 128, SGD 0.1 cosine, no augmentation), 1c2f
# heads, K = 2 cut at the output of layer1 (64 channels at 8x8), where the paper's decoder
# upsamples to 32x32 and the reduced one reconstructs an 8x8 image.
#
# Runs go one after another, each logging to LOGDIR/resnet18-<decoder>@<seed>.log;
# `bench/accuracy_decoders_resnet18.sh report` prints the table from whatever LOGDIR holds.
# Environment: EPOCHS (3), SEEDS ("0"), LIMIT (the first N training images; empty: all 60,000),
# LOGDIR (/tmp/accuracy_decoders_resnet18), BUILD (build). Needs python3-torchvision and
# python3-numpy (scripts/install-deps.sh --developer).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
epochs=${EPOCHS:-3}
seeds=${SEEDS:-"0"}
logdir=${LOGDIR:-/tmp/accuracy_decoders_resnet18}
build=${BUILD:-$root/build}
limit_args=()
if [ -n "${LIMIT:-}" ]; then limit_args=(--limit "$LIMIT"); fi
cut=/layer1/layer1.1/relu_1/Relu_output_0

report() {
  echo "| decoder | seed | test accuracy after epoch $epochs | planned peak bytes |"
  echo "|---|---|---|---|"
  for decoder in paper reduced; do
    for seed in $seeds; do
      log=$logdir/resnet18-$decoder@$seed.log
      [ -f "$log" ] || continue
      accuracy=$(sed -n "s|^epoch $epochs/$epochs .*test accuracy \([0-9.]*\).*|\1|p" "$log")
      peak=$(sed -n 's|.*planned peak \([0-9]*\) bytes.*|\1|p' "$log" | head -1)
      echo "| $decoder | $seed | ${accuracy:-(running)} | $peak |"
    done
  done
}
if [ "${1:-}" = report ]; then
  report
  exit 0
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
mkdir -p "$logdir" "$root/build-tv"
model=$root/build-tv/resnet18_32.onnx
[ -f "$model" ] || /usr/bin/python3 "$root/bench/export_torchvision.py" "$root/build-tv" --size 32 \
  --only resnet18 >/dev/null
data=$root/build-tv/fashion_mnist_rgb32.npz
if [ ! -f "$data" ]; then
  /usr/bin/python3 - "$data" <<'PY'
import gzip, sys
import numpy as np
source = "/usr/share/datasets/fashion-mnist/"
def images(name):
    with gzip.open(source + name) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    padded = np.pad(raw, ((0, 0), (2, 2), (2, 2)))
    return np.repeat(padded[:, None, :, :], 3, axis=1)  # N x 3 x 32 x 32
def labels(name):
    with gzip.open(source + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=8)
np.savez(sys.argv[1], x_train=images("train-images-idx3-ubyte.gz"),
         y_train=labels("train-labels-idx1-ubyte.gz"),
         x_test=images("t10k-images-idx3-ubyte.gz"), y_test=labels("t10k-labels-idx1-ubyte.gz"))
PY
fi
for seed in $seeds; do
  for decoder in paper reduced; do
    OMP_WAIT_POLICY=PASSIVE "$build/infopro" train "$model" --data "npz:$data" \
      --epochs "$epochs" --seed "$seed" --cuts "$cut" --aux-head 1c2f --decoder "$decoder" \
      "${limit_args[@]}" >"$logdir/resnet18-$decoder@$seed.log" 2>&1
  done
done
report
