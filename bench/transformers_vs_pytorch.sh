#!/bin/bash
# Seconds per training step of two of torchvision's transformers, Swin-T and ViT-B/16 (10
# classes, 64×64 inputs, batch 32, SGD with momentum), in infopro (bench/step_profile: end to
# end, and K = 2 at the cut `infopro plan -K 2` chooses) beside PyTorch eager, on the CPU.
# infopro trains the TorchScript exporter's files in training mode; ViT-B/16 also at opset 14,
# where the exporter spells LayerNorm and GELU out. Rounds are interleaved, every run is a fresh
# process, each run's figure is the median of its timed steps, and the 1-minute load and the
# number of other runnable processes are recorded at each run's start.
#
# A benchmark, not a test: it needs a Python with torch and torchvision from PyPI, e.g.
#   PYTHON=~/.cache/infopro-peers-venv/bin/python3 ROUNDS=3 bench/transformers_vs_pytorch.sh [build]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
python=${PYTHON:-python3}
rounds=${ROUNDS:-3}
steps=${STEPS:-4}
threads=${THREADS:-2}
batch=32
work=$(mktemp -d /tmp/ipro_transformers_bench_XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --build "$build" -j "$threads" --target infopro step_profile >/dev/null

"$python" - "$work" <<'PY'
import sys, warnings, torch
from torchvision import models as M
warnings.filterwarnings("ignore")
work = sys.argv[1]
x = torch.randn(2, 3, 64, 64)
for name, build, opset in (("swin_t", lambda: M.swin_t(num_classes=10), 17),
                           ("vit_b_16", lambda: M.vit_b_16(num_classes=10, image_size=64), 17),
                           ("vit_b_16_opset14", lambda: M.vit_b_16(num_classes=10, image_size=64), 14)):
    torch.manual_seed(0)
    torch.onnx.export(build().train(), x, f"{work}/{name}.onnx", dynamo=False, opset_version=opset,
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
PY

cat >"$work/pytorch_step.py" <<'PY'
import statistics, sys, time, torch
from torchvision import models as M
name, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = (M.swin_t(num_classes=10) if name == "swin_t" else
         M.vit_b_16(num_classes=10, image_size=64)).train()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                            weight_decay=1e-4)
x, y = torch.randn(batch, 3, 64, 64), torch.arange(batch) % 10
times = []
for step in range(steps + 1):  # the first is a warm-up
    start = time.perf_counter()
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
    times.append(time.perf_counter() - start)
print("%.1f" % (1000 * statistics.median(times[1:])))
PY

load1() { cut -d ' ' -f 1 /proc/loadavg; }
running() { awk '{ split($4, r, "/"); print r[1] - 1 }' /proc/loadavg; }
declare -A cut
for model in swin_t vit_b_16 vit_b_16_opset14; do
  cut[$model]=$("$build/infopro" plan "$work/$model.onnx" --batch "$batch" -K 2 --json - |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["cuts"][0])')
  echo "$model K=2 cut: ${cut[$model]}" >&2
done
raw=$work/raw.tsv
for round in $(seq 1 "$rounds"); do
  for model in swin_t vit_b_16 vit_b_16_opset14; do
    for impl in infopro-E2E infopro-K2 pytorch; do
      [ "$impl" = pytorch ] && [ "$model" = vit_b_16_opset14 ] && continue
      load=$(load1) busy=$(running)
      case $impl in
        infopro-E2E) ms=$(OMP_NUM_THREADS=$threads "$build/bench/step_profile" "$work/$model.onnx" \
          --batch "$batch" --steps "$steps" --warmup 1 | sed -n 's/.*step median \([0-9.]*\) ms.*/\1/p') ;;
        infopro-K2) ms=$(OMP_NUM_THREADS=$threads "$build/bench/step_profile" "$work/$model.onnx" \
          --batch "$batch" --steps "$steps" --warmup 1 --cut "${cut[$model]}" |
          sed -n 's/.*step median \([0-9.]*\) ms.*/\1/p') ;;
        pytorch) ms=$(OMP_NUM_THREADS=$threads "$python" "$work/pytorch_step.py" "$model" "$batch" \
          "$steps" "$threads") ;;
      esac
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$model" "$impl" "$round" "$ms" "$load" "$busy" | tee -a "$raw" >&2
    done
  done
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $threads threads"
printf '| model | implementation | ms/step (median of %s rounds) | round medians (ms) | vs PyTorch eager | 1-min load at the runs |\n' "$rounds"
echo '|---|---|---|---|---|---|'
"$python" - "$raw" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
def runs(model, impl):
    return [r for r in rows if r[0] == model and r[1] == impl]
for model in ("swin_t", "vit_b_16", "vit_b_16_opset14"):
    base = runs(model.replace("_opset14", ""), "pytorch")
    base_ms = statistics.median(float(r[3]) for r in base) if base else None
    for impl in ("infopro-E2E", "infopro-K2", "pytorch"):
        got = runs(model, impl)
        if not got:
            continue
        values = [float(r[3]) for r in got]
        ms = statistics.median(values)
        loads = [float(r[4]) for r in got]
        ratio = "%.2f" % (ms / base_ms) if base_ms else "-"
        print("| %s | %s | %.0f | %s | %s | %.2f-%.2f |" % (
            model, impl, ms, ", ".join("%.0f" % v for v in values), ratio, min(loads), max(loads)))
PY
