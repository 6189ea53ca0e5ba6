#!/usr/bin/env bash
# A paper projection of the MPI pipeline on a cluster, from measured figures:
#   1. calibration: ResNet-8 trained as a K = 2 pipeline (2 ranks of 1 thread) on this machine;
#      each rank's CPU time per step (its module's own work, whatever else the machine runs)
#      divided by the FLOPs infopro's plan gives that module gives seconds per FLOP of one core;
#   2. ResNet-110 at batch BATCH planned with -K K --balance BALANCE (memory: the smallest peak,
#      the default; time: the slowest module's FLOPs the least) for every K: each module's step
#      time = its FLOPs x that rate, each message = its output activation + the images + the
#      labels, over a link of the stated bandwidth;
#   3. the pipeline's step time is its slowest stage, max over modules of max(compute, transfer)
#      (both directions are double buffered, so a transfer overlaps the next step's compute);
#      end to end on one device is the whole network's FLOPs x the same rate; speed-up = ratio.
# Assumptions: devices as fast as one core of this machine (for faster devices, compute shrinks
# and the link matters sooner: the "link-bound above" column is the device speed-up over one
# core at which the slowest transfer overtakes the slowest compute); nominal link bandwidths,
# no latency (messages are megabytes); one module per device; FLOPs predict time equally well
# for every module; the pipeline's fill (K-1 steps) is neglected over an epoch.
#   bench/pipeline_projection.sh [BUILD_DIR] [BATCH] ["K values"] [memory|time]
set -euo pipefail
build=${1:-build}
batch=${2:-128}
ks=${3:-"4 8 12 16"}
balance=${4:-memory}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_WAIT_POLICY=PASSIVE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$build/infopro" train models/resnet8_fmnist.onnx \
  --data fashion-mnist --limit 1024 --batch 64 --epochs 1 --test-limit 100 -K 2 > "$tmp/calibration.txt"
"$build/infopro" plan models/resnet8_fmnist.onnx --batch 64 -K 2 --json "$tmp/resnet8.json" > /dev/null
for K in $ks; do
  "$build/infopro" plan models/resnet110.onnx --batch "$batch" -K "$K" --balance "$balance" \
    --json "$tmp/resnet110_$K.json" > /dev/null
done
python3 - "$tmp" "$batch" $ks <<'PY'
import json, re, sys
tmp, batch, ks = sys.argv[1], int(sys.argv[2]), [int(k) for k in sys.argv[3:]]
cpu_ms = [float(m) for m in re.findall(r"\(([\d.]+) ms CPU\)", open(f"{tmp}/calibration.txt").read())]
flops = [m["flops"] for m in json.load(open(f"{tmp}/resnet8.json"))["modules"]]
rate = sum(cpu_ms) / 1e3 / sum(flops)  # seconds per FLOP of one core
print(f"calibration (ResNet-8, batch 64, K = 2): modules {', '.join(f'{c:.1f}' for c in cpu_ms)} ms CPU/step"
      f" for {', '.join(f'{f/1e9:.2f}' for f in flops)} GFLOP: {1/rate/1e9:.2f} GFLOP/s per core")
links = {"100 Gb/s Ethernet": 12.5e9, "NVLink 4 (450 GB/s per direction)": 450e9}
extra = batch * 3 * 32 * 32 * 4 + batch * 8  # images and labels travel with the activation
for name, bandwidth in links.items():
    print(f"\n{name}:")
    print("| K | slowest module (s/step) | largest message (MB) | transfer (ms) | pipeline images/s | end-to-end images/s | speed-up | link-bound above |")
    print("|---|---|---|---|---|---|---|---|")
    for K in ks:
        plan = json.load(open(f"{tmp}/resnet110_{K}.json"))
        e2e = plan["e2e"]["flops"] * rate
        compute = [m["flops"] * rate for m in plan["modules"]]
        message = [m["output_bytes"] + extra for m in plan["modules"][:-1]]
        transfer = [b / bandwidth for b in message]
        step = max(max(compute), max(transfer))
        print(f"| {K} | {max(compute):.2f} | {max(message)/1e6:.1f} | {1e3*max(transfer):.2f} | "
              f"{batch/step:.0f} | {batch/e2e:.0f} | {e2e/step:.2f}x | {max(compute)/max(transfer):.0f}x |")
print(f"\n(end to end on one core-speed device: {plan['e2e']['flops']*rate:.2f} s/step)")
PY
