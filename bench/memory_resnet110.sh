#!/usr/bin/env bash
# Peak training memory of ResNet-110 at batch 1024 (CIFAR-sized input), end to end and with
# InfoPro local training at K = 2, 3, 4: our automatic (balanced) split next to equal-depth
# splits given with --cuts (the same number of residual blocks per module, our reading of the
# paper's hand-chosen splits), beside the reductions the paper reports in its Table 3 (measured
# on a GPU with PyTorch). The planned figures are the planner's exact byte counts; beside them,
# for E2E and the automatic splits, the trainer really trains two steps of 1024 (and a test pass
# over 1024 images) on CIFAR-shaped data (3x32x32 bytes, generated here: the figures depend only
# on the shapes), and `infopro train --json` reports the bytes measured without the plan: the
# counting allocator's peak for the trainer, and the process's peak RSS growth over its start
# (cli/memory_report.h), with the bound planned + dataset + 64 MiB. About 10 GB of memory and
# several minutes of CPU.
#
#   bench/memory_resnet110.sh            (builds build/ in Release first)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target infopro >/dev/null
out=$(mktemp -d)
model=models/resnet110.onnx
block() { echo "/layer$1/layer$1.$2/Relu_1_output_0"; }
plan() { # name, arguments...
  local name=$1; shift
  ./build/infopro plan "$model" --batch 1024 "$@" --json "$out/$name.json" >/dev/null
}
field() { sed -n "s/.*\"$2\": *\([0-9.e+-]*\).*/\1/p" "$out/$1.json" | head -1; }
# CIFAR-10's binary format: 2048 (+4) training and 1024 test records of a label byte and 3072
# pixels.
data="$out/cifar"
mkdir -p "$data"
/usr/bin/python3 - "$data" <<'PY'
import os, random, sys
rng = random.Random(0)
def write(name, count):
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        for i in range(count):
            f.write(bytes([i % 10]) + rng.randbytes(3072))
write("data_batch_1.bin", 2048)
for b in range(2, 6):
    write("data_batch_%d.bin" % b, 1)  # the reader refuses empty files
write("test_batch.bin", 1024)
PY
train() { # name, arguments...
  local name=$1; shift
  nice ./build/infopro train "$model" --data "cifar10:$data" --epochs 1 --limit 2048 --batch 1024 \
    --test-limit 1024 "$@" --json "$out/$name.json" >/dev/null
}
measured() { # name, json key: the number after the key anywhere in the file
  grep -o "\"$2\":[0-9]*" "$out/$1.json" | head -1 | cut -d: -f2
}

plan k1 -K 1
for K in 2 3 4; do plan "auto$K" -K "$K"; done
plan equal2 --cuts "$(block 2 8)"
plan equal3 --cuts "$(block 1 17),$(block 2 17)"
plan equal4 --cuts "$(block 1 13),$(block 2 8),$(block 3 4)"

train t1 -K 1
for K in 2 3 4; do train "t$K" --plan "$out/auto$K.json"; done

e2e=$(field k1 peak_bytes)
printf '| split | K | planned peak bytes | GiB | allocator-measured (trainer) | RSS growth (bound) | reduction vs E2E | paper (GPU, Table 3) |\n'
printf '|---|---|---|---|---|---|---|---|\n'
gib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1073741824 }'; }
percent_less() { awk -v p="$1" -v e="$2" 'BEGIN { printf "%.1f", 100 * (1 - p / e) }'; }
percent_over() { awk -v m="$1" -v p="$2" 'BEGIN { printf "%+.2f", 100 * (m - p) / p }'; }
columns() { # train run name, planned peak: the measured columns
  local trainer rss dataset
  trainer=$(measured "$1" trainer_allocator_measured_bytes)
  rss=$(measured "$1" rss_growth_bytes)
  dataset=$(measured "$1" dataset_bytes)
  printf '%s (%s%%) | %s (%s) |' "$trainer" "$(percent_over "$trainer" "$2")" "$rss" \
    "$(($2 + dataset + 67108864))"
}
printf '| end to end | 1 | %s | %s | %s - | 9.40 GB |\n' "$e2e" "$(gib "$e2e")" "$(columns t1 "$e2e")"
paper=("" "" "42.8% (5.38 GB)" "55.1% (4.22 GB)" "62.6% (3.52 GB)")
for K in 2 3 4; do
  for kind in auto equal; do
    peak=$(field "$kind$K" peak_bytes)
    label=$([ "$kind" = auto ] && echo "automatic" || echo "equal depth (--cuts)")
    measured_columns=$([ "$kind" = auto ] && columns "t$K" "$peak" || echo " | |")
    printf '| %s | %d | %s | %s | %s %s%% | %s |\n' "$label" "$K" "$peak" "$(gib "$peak")" \
      "$measured_columns" "$(percent_less "$peak" "$e2e")" "${paper[$K]}"
  done
done
rm -rf "$out"
