#!/usr/bin/env bash
# How well `infopro plan --calibrate` predicts each module's step, against the step the module
# then takes when it trains as a pipeline stage, and how well FLOPs alone would have.
#   1. `infopro plan MODEL -K K --balance time --calibrate --json` on one thread: the cuts and each
#      module's predicted step (runtime/step_calibration.h: the network's kernels timed on this
#      machine, a time model per op fitted to them);
#   2. `mpirun -np K infopro train --plan` that JSON, one thread per rank: each rank's CPU time per
#      step in its module (the trainer's own clock, a different run and a different mechanism);
#   3. the FLOP model for comparison: each module's FLOPs at one rate, the rate that makes the
#      modules' FLOP-predicted steps add up to the measured ones (the best a single rate can do).
# Prints, per model and K, each module's measured ms, the calibrated prediction and the FLOP one
# with their errors, and the load average before each run.
#   bench/calibration_accuracy.sh [BUILD_DIR] ["K values"] [STEPS]
set -euo pipefail
build=${1:-build}
ks=${2:-"2 3 4"}
steps=${3:-12}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
/usr/bin/python3 bench/make_cifar_shaped.py "$tmp/cifar" $((128 * steps)) 128
models=("resnet8_fmnist 64 fashion-mnist" "resnet32 128 cifar10:$tmp/cifar")
for entry in "${models[@]}"; do
  read -r name batch data <<< "$entry"
  for K in $ks; do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    "$build/infopro" plan "models/$name.onnx" --batch "$batch" -K "$K" --balance time --calibrate \
      --json "$tmp/${name}_$K.json" > "$tmp/${name}_$K.plan.txt"
    mpirun --oversubscribe -np "$K" "$build/infopro" train "models/$name.onnx" --batch "$batch" \
      --plan "$tmp/${name}_$K.json" --data "$data" --limit $((batch * steps)) --epochs 1 \
      --test-limit "$batch" > "$tmp/${name}_$K.train.txt"
    /usr/bin/python3 - "$tmp" "$name" "$K" "$batch" "$load" <<'PY'
import json, re, sys
tmp, name, K, batch, load = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
plan = json.load(open(f"{tmp}/{name}_{K}.json"))
text = open(f"{tmp}/{name}_{K}.train.txt").read()
measured = [float(m) for m in re.findall(r"ms/step in its module \(([\d.]+) ms CPU\)", text)]
if len(measured) != K:
    sys.exit(f"{name} K={K}: {len(measured)} ranks reported, expected {K}:\n{text}")
calibrated = [1e3 * m["calibrated_step_seconds"] for m in plan["modules"]]
flops = [m["flops"] for m in plan["modules"]]
rate = sum(measured) / sum(flops)
by_flops = [f * rate for f in flops]
def error(p, m): return 100 * (p - m) / m
print(f"\n{name}, batch {batch}, K = {K} (cuts {', '.join(plan['cuts'])}; load before: {load})")
print("| module | measured (ms CPU/step) | --calibrate (ms) | error | FLOPs at one rate (ms) | error |")
print("|---|---|---|---|---|---|")
for k in range(K):
    print(f"| {k + 1} | {measured[k]:.1f} | {calibrated[k]:.1f} | {error(calibrated[k], measured[k]):+.0f}% "
          f"| {by_flops[k]:.1f} | {error(by_flops[k], measured[k]):+.0f}% |")
slowest = max(range(K), key=lambda k: measured[k])
print(f"slowest module measured: {slowest + 1}; by --calibrate: "
      f"{max(range(K), key=lambda k: calibrated[k]) + 1}; by FLOPs: {max(range(K), key=lambda k: by_flops[k]) + 1}")
PY
  done
done
