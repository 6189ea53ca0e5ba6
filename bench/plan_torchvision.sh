#!/usr/bin/env bash
# Memory of InfoPro local training on torchvision's networks as a new user brings them: ResNet-18,
# MobileNetV2, SqueezeNet 1.1 and DenseNet-121 exported at 64x64 with 10 classes
# (bench/export_torchvision.py, into build-tv/, not committed). For each, at batch 64 and 256,
# K = 2: the plan with the paper's heads everywhere (--aux-head 1c2f --decoder paper, what
# infopro did before --aux-head auto), the plan with the heads chosen per cut (--aux-head auto,
# the default) and the bound with heads of zero cost, as reductions against end-to-end training;
# then whether --budget (85% of the end-to-end peak at batch 64) finds a split with each.
# Every figure is the planner's exact byte count.
#
#   bench/plan_torchvision.sh        (builds build/ in Release; needs python3-torchvision)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
models=(resnet18 mobilenet_v2 squeezenet1_1 densenet121)
for m in "${models[@]}"; do
  [[ -f build-tv/${m}_64.onnx ]] || /usr/bin/python3 bench/export_torchvision.py build-tv --only "$m" >/dev/null 2>&1
done
out=$(mktemp -d)
field() { sed -n "s/.*\"$2\": *\([0-9.e+-]*\).*/\1/p" "$1" | tail -1; }
percent() { awk -v x="$1" 'BEGIN { printf "%.1f%%", 100 * x }'; }
printf '| model | batch | E2E peak bytes | paper heads | auto heads | zero-cost bound | auto keeps of bound | heads chosen | plan s |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for m in "${models[@]}"; do
  for b in 64 256; do
    ./build/infopro plan "build-tv/${m}_64.onnx" --batch "$b" -K 2 --aux-head 1c2f --decoder paper \
      --json "$out/paper.json" >/dev/null
    start=$(date +%s.%N)
    ./build/infopro plan "build-tv/${m}_64.onnx" --batch "$b" -K 2 --json "$out/auto.json" >/dev/null
    seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    e2e=$(field "$out/auto.json" e2e_peak_bytes)
    bound=$(field "$out/auto.json" bound_peak_bytes)
    heads=$(grep -o '"shape": *"[0-9]c[0-9]f", *"decoder": *"[a-z]*"' "$out/auto.json" | head -1 |
      sed 's/"shape": *"\([^"]*\)", *"decoder": *"\([^"]*\)"/\1 \2/')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$m" "$b" "$e2e" \
      "$(percent "$(field "$out/paper.json" reduction)")" \
      "$(percent "$(field "$out/auto.json" reduction)")" \
      "$(awk -v e="$e2e" -v p="$bound" 'BEGIN { printf "%.1f%%", 100 * (1 - p / e) }')" \
      "$(percent "$(field "$out/auto.json" bound_kept)")" "$heads" "$seconds"
  done
done
printf '\n| model | --budget (85%% of E2E at batch 64) | paper heads | auto heads |\n|---|---|---|---|\n'
for m in "${models[@]}"; do
  ./build/infopro plan "build-tv/${m}_64.onnx" --batch 64 --json "$out/e2e.json" >/dev/null
  budget=$(awk -v e="$(field "$out/e2e.json" peak_bytes)" 'BEGIN { printf "%d", 0.85 * e }')
  result() {
    if ./build/infopro plan "build-tv/${m}_64.onnx" --batch 64 --budget "$budget" "$@" \
      --json "$out/budget.json" >/dev/null 2>"$out/err"; then
      echo "K = $(field "$out/budget.json" K), $(percent "$(field "$out/budget.json" reduction)")"
    else
      echo "none: $(sed 's/.*smallest peak is \([0-9]*\) bytes, with K = \([0-9]*\).*/smallest peak \1 at K = \2/' "$out/err")"
    fi
  }
  printf '| %s | %s | %s | %s |\n' "$m" "$budget" "$(result --aux-head 1c2f --decoder paper)" "$(result)"
done
rm -rf "$out"
