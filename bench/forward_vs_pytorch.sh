#!/usr/bin/env bash
# Forward throughput (inference form, fixed batch) of infopro's executor on oneDNN and on the
# reference kernels, side by side with PyTorch running the same network in eval mode. PyTorch
# cannot read the ONNX weights without onnx2torch, so bench/forward_pytorch.py builds the network
# with models/export_models.py, which reproduces the weights the ONNX files hold.
#
# The three are interleaved inside each round (infopro-onednn, PyTorch, infopro-reference), so a
# machine that slows down or speeds up during the run affects all three alike, and each column is
# the median images/s over ROUNDS rounds. Every measurement is a fresh process with WARMUP
# warm-up passes before the timed ones. All use nproc threads (OMP_NUM_THREADS for oneDNN,
# torch.set_num_threads for PyTorch). Prints a markdown table on stdout, progress on stderr.
#
#   bench/forward_vs_pytorch.sh
#   ROUNDS=3 BATCH=128 MODELS="resnet32:5 resnet110:2" WARMUP=1 BUILD=build \
#     PYTHON=/usr/bin/python3 bench/forward_vs_pytorch.sh
# MODELS lists NAME:PASSES, the timed batches per round for models/NAME.onnx.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-3}
batch=${BATCH:-128}
models=${MODELS:-"resnet32:5 resnet110:2"}
warmup=${WARMUP:-1}
build=${BUILD:-$root/build}
threads=$(nproc)
python=${PYTHON:-/usr/bin/python3}

echo "building $build (Release)" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build "$build" -j "$threads" --target forward_throughput >/dev/null; then
  echo "forward_vs_pytorch: cannot build forward_throughput (is add_subdirectory(bench) in" \
    "the top-level CMakeLists.txt?)" >&2
  exit 1
fi
bench=$build/bench/forward_throughput

export OMP_NUM_THREADS=$threads
have_torch=1
torch_note=""
if ! torch_error=$("$python" -c "import torch, sys; sys.path.insert(0, '$root/models'); \
import export_models" 2>&1); then
  have_torch=0
  torch_note="PyTorch column skipped: $python cannot import torch and models/export_models.py"
  torch_note="$torch_note ($(echo "$torch_error" | tail -n 1))"
  echo "$torch_note" >&2
fi

# The median of the numbers on stdin (the mean of the middle two for an even count).
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "-"; exit }
    if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]
    else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Column 6 of forward_throughput's and forward_pytorch.py's TSV line is images/s.
images_per_second() { awk -F '\t' '$1 != "model" { print $6 }' | tail -n 1; }

rows=()
for entry in $models; do
  name=${entry%%:*}
  passes=${entry##*:}
  model=$root/models/$name.onnx
  onednn=() reference=() pytorch=()
  arena=-
  for round in $(seq 1 "$rounds"); do
    echo "$name round $round/$rounds: infopro onednn" >&2
    line=$("$bench" "$model" --batch "$batch" --iterations "$passes" --warmup "$warmup" \
      --backend onednn --tsv | tail -n 1)
    onednn+=("$(echo "$line" | images_per_second)")
    arena=$(echo "$line" | cut -f 7)
    if [ "$have_torch" = 1 ]; then
      echo "$name round $round/$rounds: pytorch" >&2
      pytorch+=("$("$python" "$root/bench/forward_pytorch.py" "$name" --batch "$batch" \
        --iterations "$passes" --warmup "$warmup" --threads "$threads" | images_per_second)")
    fi
    echo "$name round $round/$rounds: infopro reference" >&2
    reference+=("$("$bench" "$model" --batch "$batch" --iterations "$passes" \
      --warmup "$warmup" --backend reference --tsv | images_per_second)")
  done
  echo "$name images/s per round: onednn ${onednn[*]}; pytorch ${pytorch[*]:-skipped};" \
    "reference ${reference[*]}" >&2
  torch_median=skipped
  if [ "$have_torch" = 1 ]; then torch_median=$(printf '%s\n' "${pytorch[@]}" | median); fi
  rows+=("| $name | $batch | $(printf '%s\n' "${onednn[@]}" | median) |\
 $(printf '%s\n' "${reference[@]}" | median) | $torch_median | $arena |")
done

echo "| model | batch | infopro-onednn images/s | reference images/s | PyTorch images/s |" \
  "arena bytes (onednn) |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Median of $rounds rounds; $threads threads; $(grep -m1 'model name' /proc/cpuinfo |
  cut -d: -f2 | sed 's/^ *//'); passes per round: $models; warm-up $warmup."
if [ -n "$torch_note" ]; then echo "$torch_note"; fi
