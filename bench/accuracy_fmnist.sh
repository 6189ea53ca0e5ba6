#!/usr/bin/env bash
# Test accuracy per epoch of ResNet-8 (models/resnet8_fmnist.onnx) on the full Fashion-MNIST with
# `infopro train`'s defaults (5 epochs, batch 128, SGD 0.1 momentum 0.9 Nesterov, weight decay 1e-4,
# cosine per step, no augmentation, last partial batch dropped): infopro end to end, InfoPro local
# training with -K 2 and -K 4 (balanced split chosen by infopro), and PyTorch with the same recipe
# from the same initial weights (bench/accuracy_fmnist_pytorch.py; its batch order differs).
#
# The runs go one after another (they would only slow each other down on a small machine), in
# the order of RUNS, each logging to LOGDIR/NAME.log; E2E, K=2 and PyTorch come before K=4 so that
# a run cut short still has them. Long: run it in the background and poll the table, e.g.
#
#   nohup bench/accuracy_fmnist.sh > /tmp/accuracy_fmnist.md 2> /tmp/accuracy_fmnist.err &
#   bench/accuracy_fmnist.sh report        # the table from whatever LOGDIR holds so far
#
# A run NAME@S trains with --seed S (batch order and head initialisation; the default is seed 0),
# so RUNS="e2e@1 k2@1 e2e@2 k2@2" repeats E2E and K=2 with other seeds to show the spread.
#
# Environment: EPOCHS (5), BATCH (128), RUNS ("e2e k2 pytorch k4"), LOGDIR (/tmp/accuracy_fmnist),
# BUILD (build), PYTHON (/usr/bin/python3), DATA (fashion-mnist), LIMIT (train on the first N
# images only, for a quick check), CMAKE_ARGS (passed to the configure step). Threads: nproc.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
epochs=${EPOCHS:-5}
batch=${BATCH:-128}
runs=${RUNS:-"e2e k2 pytorch k4"}
logdir=${LOGDIR:-/tmp/accuracy_fmnist}
build=${BUILD:-$root/build}
python=${PYTHON:-/usr/bin/python3}
data=${DATA:-fashion-mnist}
threads=$(nproc)
model=$root/models/resnet8_fmnist.onnx
data_dir=/usr/share/datasets/fashion-mnist
case $data in fashion-mnist:*) data_dir=${data#fashion-mnist:} ;; esac
limit_args=()
if [ -n "${LIMIT:-}" ]; then limit_args=(--limit "$LIMIT"); fi

label() {
  case $1 in
  *@*) echo "$(label "${1%@*}") seed ${1#*@}" ;;
  e2e) echo "infopro E2E" ;;
  pytorch) echo "PyTorch $("$python" -c 'import torch; print(torch.__version__)') E2E" ;;
  k*) echo "infopro K=${1#k}" ;;
  esac
}

# A markdown table from the logs: test accuracy after each epoch, then the time of each run.
report() {
  local header="| epoch |" rule="|---|" name e line
  for name in $runs; do
    header="$header $(label "$name") |"
    rule="$rule---|"
  done
  echo "$header"
  echo "$rule"
  for e in $(seq 1 "$epochs"); do
    line="| $e |"
    for name in $runs; do
      line="$line $(sed -n "s|^epoch $e/$epochs .*test accuracy \([0-9.]*\).*|\1|p" \
        "$logdir/$name.log" 2>/dev/null | tail -n 1) |"
    done
    echo "$line"
  done
  line="| train loss, last epoch |"
  for name in $runs; do
    line="$line $(sed -n "s|^epoch $epochs/$epochs  loss \([0-9.]*\).*|\1|p" \
      "$logdir/$name.log" 2>/dev/null | tail -n 1) |"
  done
  echo "$line"
  line="| total time (s) |"
  for name in $runs; do
    line="$line $(sed -n 's|^trained [0-9]* epochs in \([0-9.]*\) s.*|\1|p' \
      "$logdir/$name.log" 2>/dev/null | tail -n 1) |"
  done
  echo "$line"
  line="| seconds per epoch (each) |"
  for name in $runs; do
    line="$line $(sed -n 's|^epoch [0-9]*/[0-9]* .* \([0-9.]*\) s$|\1|p' "$logdir/$name.log" \
      2>/dev/null | paste -sd ' ') |"
  done
  echo "$line"
  line="| 1-min load at start / end |"
  for name in $runs; do
    line="$line $(cat "$logdir/$name.load" 2>/dev/null | paste -sd '/') |"
  done
  echo "$line"
  echo
  echo "ResNet-8 on Fashion-MNIST (60000 training, 10000 test images), $epochs epochs, batch" \
    "$batch, SGD 0.1 cosine, momentum 0.9 Nesterov, wd 1e-4, no augmentation; $threads threads;" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'). Logs: $logdir"
}

if [ "${1:-}" = report ]; then
  report
  exit 0
fi

mkdir -p "$logdir"
echo "building $build (Release)" >&2
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$threads" --target infopro >/dev/null
export OMP_NUM_THREADS=$threads

for name in $runs; do
  log=$logdir/$name.log
  cut -d ' ' -f 1 /proc/loadavg >"$logdir/$name.load"
  echo "$(date +%T) $(label "$name"): $log" >&2
  seed_args=()
  case $name in *@*) seed_args=(--seed "${name#*@}") ;; esac
  case ${name%@*} in
  pytorch)
    "$python" "$root/bench/accuracy_fmnist_pytorch.py" --data "$data_dir" --model "$model" --epochs "$epochs" \
      --batch "$batch" --threads "$threads" "${limit_args[@]}" >"$log" 2>&1 || true ;;
  e2e)
    "$build/infopro" train "$model" --data "$data" --epochs "$epochs" --batch "$batch" \
      "${limit_args[@]}" "${seed_args[@]}" >"$log" 2>&1 || true ;;
  k*)
    "$build/infopro" train "$model" --data "$data" --epochs "$epochs" --batch "$batch" \
      -K "$(echo "${name%@*}" | cut -c 2-)" "${limit_args[@]}" "${seed_args[@]}" >"$log" 2>&1 ||
      true ;;
  *)
    echo "accuracy_fmnist: unknown run '$name' (e2e, kN or pytorch)" >&2
    exit 2 ;;
  esac
  cut -d ' ' -f 1 /proc/loadavg >>"$logdir/$name.load"
  echo "$(date +%T) $(label "$name") done: $(tail -n 1 "$log")" >&2
done
report
