#!/usr/bin/env bash
# The paper's decoder against the reduced one (--decoder paper|reduced) under the same recipe and
# seeds: ResNet-8 (models/resnet8_fmnist.onnx) on Fashion-MNIST with `infopro train`'s defaults
# (batch 128, SGD 0.1 cosine, no augmentation), 1c2f classifier heads, at cuts where the two
# decoders differ. infopro's balanced splits of ResNet-8 cut at 28x28, the image's own size,
# where the reduced decoder is the paper's without its (identity) upsample, so the cuts are
# given: K = 2 at the first 14x14 block output, K = 4 at the outputs of the three stages' first
# blocks (28x28, 14x14, 7x7).
#
# Runs go one after another, each logging to LOGDIR/NAME.log, NAME = K<k>-<decoder>@<seed>;
# `bench/accuracy_decoders.sh report` prints the table from whatever LOGDIR holds.
# Environment: EPOCHS (5), SEEDS ("0 1 2"), KS ("2 4"), LIMIT (the first N training images only),
# LOGDIR (/tmp/accuracy_decoders), BUILD (build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
epochs=${EPOCHS:-5}
seeds=${SEEDS:-"0 1 2"}
ks=${KS:-"2 4"}
logdir=${LOGDIR:-/tmp/accuracy_decoders}
build=${BUILD:-$root/build}
limit_args=()
if [ -n "${LIMIT:-}" ]; then limit_args=(--limit "$LIMIT"); fi
block() { echo "/layer$1/layer$1.0/Relu_1_output_0"; }
cuts() { if [ "$1" = 2 ]; then block 2; else echo "$(block 1),$(block 2),$(block 3)"; fi; }

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
for k in $ks; do
  for seed in $seeds; do
    for decoder in paper reduced; do
      OMP_WAIT_POLICY=PASSIVE "$build/infopro" train "$root/models/resnet8_fmnist.onnx" \
        --data fashion-mnist --epochs "$epochs" --seed "$seed" --cuts "$(cuts "$k")" \
        --aux-head 1c2f --decoder "$decoder" "${limit_args[@]}" >"$logdir/K$k-$decoder@$seed.log" 2>&1
    done
  done
done
report
