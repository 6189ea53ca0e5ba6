#!/usr/bin/env bash
# Peak training memory of ResNet-110 at batch 1024 (CIFAR-sized input), end to end and with
# InfoPro local training at K = 2, 3, 4: our automatic (balanced) split next to equal-depth
# splits given with --cuts (the same number of residual blocks per module, our reading of the
# paper's hand-chosen splits), beside the reductions the paper reports in its Table 3 (measured
# on a GPU with PyTorch). Every figure is the planner's exact byte count, which the trainer
# allocates to the byte (tests/runtime/test_local_training.c).
#
#   bench/memory_resnet110.sh            (builds build/ in Release first)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
out=$(mktemp -d)
model=models/resnet110.onnx
block() { echo "/layer$1/layer$1.$2/Relu_1_output_0"; }
plan() { # name, arguments...
  local name=$1; shift
  ./build/infopro plan "$model" --batch 1024 "$@" --json "$out/$name.json" >/dev/null
}
field() { sed -n "s/.*\"$2\": *\([0-9.e+-]*\).*/\1/p" "$out/$1.json" | head -1; }

plan k1 -K 1
for K in 2 3 4; do plan "auto$K" -K "$K"; done
plan equal2 --cuts "$(block 2 8)"
plan equal3 --cuts "$(block 1 17),$(block 2 17)"
plan equal4 --cuts "$(block 1 13),$(block 2 8),$(block 3 4)"

e2e=$(field k1 peak_bytes)
printf '| split | K | peak bytes | GiB | reduction vs E2E | paper (GPU, Table 3) |\n'
printf '|---|---|---|---|---|---|\n'
gib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1073741824 }'; }
percent_less() { awk -v p="$1" -v e="$2" 'BEGIN { printf "%.1f", 100 * (1 - p / e) }'; }
printf '| end to end | 1 | %s | %s | - | 9.40 GB |\n' "$e2e" "$(gib "$e2e")"
paper=("" "" "42.8% (5.38 GB)" "55.1% (4.22 GB)" "62.6% (3.52 GB)")
for K in 2 3 4; do
  for kind in auto equal; do
    peak=$(field "$kind$K" peak_bytes)
    label=$([ "$kind" = auto ] && echo "automatic (balanced)" || echo "equal depth (--cuts)")
    printf '| %s | %d | %s | %s | %s%% | %s |\n' "$label" "$K" "$peak" "$(gib "$peak")" \
      "$(percent_less "$peak" "$e2e")" "${paper[$K]}"
  done
done
rm -rf "$out"
