#!/usr/bin/env bash
# The paper's decoder against the reduced one (--decoder paper|reduced) under the same recipe and
# seeds, with `infopro train`'s defaults (batch 128, SGD 0.1 cosine, no augmentation) and 1c2f
# classifier heads, at cuts where the two decoders differ, on one of two networks (NETWORK):
#
# - resnet8 (the default): models/resnet8_fmnist.onnx on Fashion-MNIST. infopro's balanced splits
#   of ResNet-8 cut at 28x28, the image's own size, where the reduced decoder is the paper's
#   without its (identity) upsample, so the cuts are given: K = 2 at the first 14x14 block
#   output, K = 4 at the outputs of the three stages' first blocks (28x28, 14x14, 7x7).
# - resnet18: torchvision 0.14's ResNet-18 (10 classes, random initial weights, exported at 32x32
#   by bench/export_torchvision.py into build-tv/, not committed; needs python3-torchvision and
#   python3-numpy, scripts/install-deps.sh --developer) on 3x32x32 images made from
#   Fashion-MNIST (each 28x28 image padded by 2 pixels of 0 on every side and repeated into three
#   channels, written as an .npz read with --data npz:). K = 2 only, cut at the output of layer1
#   (64 channels at 8x8), where the paper's decoder upsamples to 32x32 and the reduced one
#   reconstructs an 8x8 image.
#
# Runs go one after another, each logging to LOGDIR/NAME.log, NAME = K<k>-<decoder>@<seed>;
# `bench/accuracy_decoders.sh report` prints the table from whatever LOGDIR holds.
# Environment: NETWORK (resnet8), EPOCHS (5), SEEDS ("0 1 2"), KS ("2 4"; resnet18: "2"), LIMIT
# (the first N training images only), LOGDIR (/tmp/accuracy_decoders_NETWORK), BUILD (build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
network=${NETWORK:-resnet8}
epochs=${EPOCHS:-5}
seeds=${SEEDS:-"0 1 2"}
case $network in
  resnet8) ks=${KS:-"2 4"} ;;
  resnet18) ks=${KS:-2} ;;
  *) echo "NETWORK is resnet8 or resnet18" >&2; exit 2 ;;
esac
logdir=${LOGDIR:-/tmp/accuracy_decoders_$network}
build=${BUILD:-$root/build}
limit_args=()
if [ -n "${LIMIT:-}" ]; then limit_args=(--limit "$LIMIT"); fi
block() { echo "/layer$1/layer$1.0/Relu_1_output_0"; }
cuts() {
  if [ "$network" = resnet18 ]; then
    [ "$1" = 2 ] || { echo "resnet18: K = 2 only" >&2; exit 2; }
    echo /layer1/layer1.1/relu_1/Relu_output_0
  elif [ "$1" = 2 ]; then block 2; else echo "$(block 1),$(block 2),$(block 3)"; fi
}

report() {
  echo "| K | decoder | seed | test accuracy after epoch $epochs | planned peak bytes |"
  echo "|---|---|---|---|---|"
  for k in $ks; do
    for decoder in paper reduced; do
      for seed in $seeds; do
        log=$logdir/K$k-$decoder@$seed.log
        [ -f "$log" ] || continue
        accuracy=$(sed -n "s|^epoch $epochs/$epochs .*test accuracy \([0-9.]*\).*|\1|p" "$log")
        peak=$(sed -n 's|.*planned peak \([0-9]*\) bytes.*|\1|p' "$log" | head -1)
        echo "| $k | $decoder | $seed | ${accuracy:-(running)} | $peak |"
      done
    done
  done
}
if [ "${1:-}" = report ]; then
  report
  exit 0
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
mkdir -p "$logdir"
if [ "$network" = resnet8 ]; then
  model=$root/models/resnet8_fmnist.onnx
  data=fashion-mnist
else
  mkdir -p "$root/build-tv"
  model=$root/build-tv/resnet18_32.onnx
  [ -f "$model" ] || /usr/bin/python3 "$root/bench/export_torchvision.py" "$root/build-tv" \
    --size 32 --only resnet18 >/dev/null
  data=$root/build-tv/fashion_mnist_rgb32.npz
  [ -f "$data" ] || /usr/bin/python3 - "$data" <<'PY'
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
  data=npz:$data
fi
for k in $ks; do
  for seed in $seeds; do
    for decoder in paper reduced; do
      OMP_WAIT_POLICY=PASSIVE "$build/infopro" train "$model" --data "$data" --epochs "$epochs" \
        --seed "$seed" --cuts "$(cuts "$k")" --aux-head 1c2f --decoder "$decoder" \
        "${limit_args[@]}" >"$logdir/K$k-$decoder@$seed.log" 2>&1
    done
  done
done
report
