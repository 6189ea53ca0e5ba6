#!/usr/bin/env bash
# A compiled training program (`infopro compile`) beside `infopro train` on the same model, split
# and batch: the size of the program's folder, the start-up time (exec to the first training step,
# as each process reports it from the kernel's record of its start: "ready to train X s after
# start"), and the peak RSS (GNU time's maximum resident set size) against the planned peak.
# Default: ResNet-110 at batch 1024 with K = 4, on CIFAR-shaped random data (bench/
# make_cifar_shaped.py), one training step and a test pass over 1024 images per run. Runs are
# interleaved (train, program, train, program, ...), each a fresh process, with the load average
# recorded before each; the table gives every run.
#
#   bench/compiled_program.sh                   (builds build/ in Release first)
#   ROUNDS=3 MODEL=models/resnet110.onnx BATCH=1024 SPLIT="-K 4" bench/compiled_program.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-2}
model=${MODEL:-models/resnet110.onnx}
batch=${BATCH:-1024}
split=${SPLIT:-"-K 4"}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target infopro >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
/usr/bin/python3 bench/make_cifar_shaped.py "$out/cifar" "$batch" "$batch"
data="--data cifar10:$out/cifar --epochs 1 --limit $batch --test-limit $batch --no-augment"
start=$(date +%s.%N)
# shellcheck disable=SC2086
./build/infopro compile "$model" --data "cifar10:$out/cifar" --batch "$batch" $split -o "$out/program" >/dev/null
compile_seconds=$(echo "$(date +%s.%N) - $start" | bc)
echo "# $model, batch $batch, $split: compiled in ${compile_seconds} s"
echo "# program folder: $(du -sb "$out/program" | cut -f1) bytes ($(cd "$out/program" && ls -l | awk 'NR > 1 { printf "%s %s bytes; ", $9, $5 }'))"
echo "# ldd train: $(ldd "$out/program/train" | awk '{ print $1 }' | grep -v vdso | tr '\n' ' ')"
echo
echo "| run | round | load (1 min) | ready to train after | peak RSS | planned peak | step + test pass |"
echo "|---|---|---|---|---|---|---|"
measure() { # name, round, command...
  local name=$1 round=$2; shift 2
  local load log
  load=$(cut -d' ' -f1 /proc/loadavg)
  log="$out/$name.$round.log"
  /usr/bin/time -v "$@" >"$log" 2>&1
  local ready rss planned epoch
  ready=$(sed -n 's/^ready to train \([0-9.]*\) s after start.*/\1 s/p' "$log")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\)/\1/p' "$log")
  planned=$(sed -n 's/^memory: planned peak \([0-9]*\) bytes.*/\1/p' "$log")
  epoch=$(sed -n 's/^epoch 1\/1  loss .* \([0-9.]*\) s$/\1 s/p' "$log")
  echo "| $name | $round | $load | $ready | $((rss / 1024)) MiB | $((planned / 1048576)) MiB | $epoch |"
}
for round in $(seq 1 "$rounds"); do
  # shellcheck disable=SC2086
  measure "infopro train" "$round" ./build/infopro train "$model" --batch "$batch" $split $data
  # shellcheck disable=SC2086
  measure "compiled program" "$round" "$out/program/train" $data
done
