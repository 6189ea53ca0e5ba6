#!/usr/bin/env bash
# Seconds per training step and peak memory of infopro's trainer (oneDNN) beside PyTorch (eager, and
# with COMPILE=1 also torch.compile with TorchInductor) on the same number of threads, for CIFAR-sized ResNets on random 3x32x32 data: SGD momentum 0.9
# Nesterov, weight decay 1e-4, cross-entropy, BatchNorm in training mode. infopro runs end to end
# (K = 1) and with InfoPro local training at K = 2 and K = 4, cut where `infopro plan -K N --json`
# puts the cuts (balanced memory), to show the per-step cost of the local heads.
#
# Each measurement is a fresh process: bench/training_step.c for infopro (the counting allocator's
# peak over the trainer's creation and steps, a measure that does not read the plan, beside the
# planned trainer bytes; max RSS growth), bench/training_step_pytorch.py for PyTorch (bytes of the tensors
# saved for backward, each storage once, + parameters + gradients + momentum; max RSS growth).
# Inside a round the runs are interleaved (K=1, PyTorch, torch.compile, K=2, K=4, ...), so a
# machine that slows down affects all alike; a run reports the median of its timed steps and the table gives the
# median over ROUNDS rounds with the spread of the rounds beside it, and the fastest single step
# seen (on a shared machine the noise only ever adds time, so the fastest step is the closest to
# the uncontended cost). Threads: nproc (OMP_NUM_THREADS for oneDNN, torch.set_num_threads for
# PyTorch).
#
#   bench/training_step_vs_pytorch.sh > table.md
#   ROUNDS=3 BATCH=128 KS="2 4" WARMUP=1 BUILD=build PYTHON=/usr/bin/python3 \
#     MODELS="resnet32:5:3 resnet110:3:2" RAW=/tmp/steps.tsv bench/training_step_vs_pytorch.sh
#   bench/training_step_vs_pytorch.sh report /tmp/steps.tsv    # the table again from a raw file
#
# The roofline (the issue's "GFLOP/s against the isolated-convolution roofline of the same
# shapes"): in every round bench/conv_roofline also runs each convolution kernel of the model's E2E
# training step alone (fresh process, same threads); the table's footer gives the isolated
# convolutions' GFLOP/s (median of rounds) beside the whole step's FLOPs over infopro's E2E step
# time. Its raw lines go to RAW.roofline. bench/fma_peak then measures the CPU's FMA peak on the
# same threads (vector FMAs from registers), the ceiling of those rates; its lines go to RAW.peak.
#
# The machine's load is recorded per run: the 1-minute load average and the number of runnable
# processes (/proc/loadavg) when the run starts and when it ends, and the CPU time the rest of the
# machine took while it ran: the CPU time /proc/stat counts for every process less the run's own
# (bash's `time`), and the time the hypervisor stole. A run during which those add up to more than
# DISTURBED_SHARE (default 0.05) of one core's time is disturbed and is run again, up to REPEATS
# (default 2) more times; the last attempt's figures are kept, and the table's footer says how many
# runs were repeated and how many stayed disturbed. (The runnable count alone cannot tell: reading
# it makes one, and the script's own shell is often another.) Guests of other machines that share
# the memory system are not visible to any of this: on a cloud machine a run can be slowed by them
# with nothing recorded, which the spread of the rounds then shows.
#
# torch.compile (COMPILE=1) wants a recent PyTorch 2 from PyPI (Debian's python3-torch is older),
# in a virtual environment outside the repository (the test suite never needs Python):
#   python3 -m venv ~/.cache/infopro-peers-venv
#   ~/.cache/infopro-peers-venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch
#   ~/.cache/infopro-peers-venv/bin/pip install numpy onnx
#   (plain `pip install torch numpy onnx` where that index is unreachable: it pulls CUDA wheels too)
#   COMPILE=1 PYTHON=~/.cache/infopro-peers-venv/bin/python3 bench/training_step_vs_pytorch.sh
# Inductor compiles its C++ with the system's g++ on the first step, which is then a warm-up step
# (WARMUP >= 2 is used for it).
# MODELS lists NAME:INFOPRO_STEPS:PYTORCH_STEPS, the timed steps per run for models/NAME.onnx.
# CMAKE_ARGS are passed to the configure step; every raw line goes to RAW (and to stderr).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-3}
batch=${BATCH:-128}
models=${MODELS:-"resnet32:5:3 resnet110:3:2"}
ks=${KS-"2 4"}  # KS="" runs end to end only
warmup=${WARMUP:-1}
build=${BUILD:-$root/build}
threads=$(nproc)
python=${PYTHON:-/usr/bin/python3}
raw=${RAW:-}
compile=${COMPILE:-0}
repeats=${REPEATS:-2}
disturbed_share=${DISTURBED_SHARE:-0.05}
if ! [[ $repeats =~ ^[0-9]+$ ]]; then
  echo "REPEATS='$repeats' is not a whole number of repeats (0 for none)" >&2
  exit 2
fi
if ! [[ $disturbed_share =~ ^(0|0?\.[0-9]+|1|1\.0*)$ ]]; then
  echo "DISTURBED_SHARE='$disturbed_share' is not a share of one core from 0 to 1 (e.g. 0.05)" >&2
  exit 2
fi

# The median of the numbers on stdin (mean of the middle two for an even count; "-" where a value
# is unknown), and the range.
median() {
  sort -g | awk '{ v[NR] = $1; if ($1 == "-") unknown = 1 } END {
    if (NR == 0 || unknown) { print "-"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
seconds() { awk -v m="$1" 'BEGIN { if (m == "-") print "-"; else printf "%.3f", m / 1000 }'; }
mib() { awk -v b="$1" 'BEGIN { if (b == "-") print "-"; else printf "%.1f", b / 1048576 }'; }
column_of() { # model impl K column -> that column of the model's rounds
  awk -F '\t' -v m="$1" -v i="$2" -v k="$3" -v c="$4" '$1 == m && $2 == i && $3 == k { print $c }' \
    "$raw"
}

# The markdown table of everything in $raw.
report() {
  local name who K spec e2e e2e_fastest ms range fastest peak planned rss saved vs vs_fastest label
  local memory
  local torch_version
  torch_version=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?")
  echo "| model | implementation | s/step (median of rounds) | round medians (s) |" \
    "fastest step (s) | median vs infopro E2E | fastest vs infopro E2E's fastest | peak MiB |" \
    "saved for backward MiB |" \
    "max RSS growth MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for name in $(awk -F '\t' 'NR > 1 && !seen[$1]++ { print $1 }' "$raw"); do
    e2e=$(column_of "$name" infopro 1 5 | median)
    # the fastest step of all rounds: on a shared machine noise only adds time, so the fastest
    # steps are the figures least touched by it
    e2e_fastest=$(column_of "$name" infopro 1 6 | sort -g | head -n 1)
    for spec in $(awk -F '\t' -v m="$name" 'NR > 1 && $1 == m && !seen[$2 ":" $3]++ {
        print ($2 == "pytorch" ? 1 : $2 == "torch.compile" ? 2 : ($3 == 1 ? 0 : 3)) "\t" $3 "\t" \
          $2 ":" $3 }' "$raw" |
      sort -k1,1n -k2,2n | cut -f 3); do
      IFS=: read -r who K <<<"$spec"
      ms=$(column_of "$name" "$who" "$K" 5 | median)
      range=$(column_of "$name" "$who" "$K" 5 | awk '{ print $1 / 1000 }' | spread)
      fastest=$(column_of "$name" "$who" "$K" 6 | sort -g | head -n 1)
      peak=$(column_of "$name" "$who" "$K" 8 | median)
      planned=$(column_of "$name" "$who" "$K" 9 | median)
      rss=$(column_of "$name" "$who" "$K" 10 | median)
      saved=$(column_of "$name" "$who" "$K" 13 | median)
      vs=$(awk -v a="$ms" -v b="$e2e" 'BEGIN {
        if (b == "-" || b == 0) print "-"; else printf "%+.0f%%", 100 * (a / b - 1) }')
      vs_fastest=$(awk -v a="$fastest" -v b="$e2e_fastest" 'BEGIN {
        if (a == "" || b == "" || a == "-" || b == "-" || b == 0) print "-"
        else printf "%+.0f%%", 100 * (a / b - 1) }')
      if [ "$who" = pytorch ]; then
        label="PyTorch $torch_version (E2E)"
        memory="$(mib "$peak") (saved + params/grads/momentum)"
      elif [ "$who" = torch.compile ]; then
        label="PyTorch $torch_version torch.compile, inductor (E2E)"
        memory="- (not visible inside the compiled graph)"
      else
        label="infopro oneDNN $([ "$K" = 1 ] && echo E2E || echo "K=$K")"
        memory="$(mib "$peak") allocator-measured (planned $(mib "$planned"))"
      fi
      echo "| $name | $label | $(seconds "$ms") | $range | $(seconds "$fastest") | $vs |" \
        "$vs_fastest |" \
        "$memory | $(mib "$saved") | $(mib "$rss") |"
    done
  done
  echo
  echo "Batch $(awk -F '\t' 'NR == 2 { print $12 }' "$raw"), random data of each model's input shape (3x32x32 for the ResNets);" \
    "$(awk -F '\t' 'NR > 1 && $4 > r { r = $4 } END { print r }' "$raw") interleaved rounds," \
    "each run the median of its timed steps after warm-up; $threads threads;" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" \
    "(family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model" \
    "$(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')," \
    "$(grep -m1 -ow avx512f /proc/cpuinfo || echo 'no AVX-512'));" \
    "1-minute load average at the runs' starts $(awk -F '\t' 'NR > 1 { print $11 }' "$raw" |
      spread), at their ends $(awk -F '\t' 'NR > 1 && $16 != "" { print $16 }' "$raw" | spread);" \
    "other runnable processes at the runs' starts and ends" \
    "$(awk -F '\t' 'NR > 1 && $14 != "" { print $14; print $17 }' "$raw" | sort -n |
      awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%d-%d", lo, hi }')." \
    "$(disturbance_report)" \
    "Raw: $raw"
  roofline_report
}

# What the footer says of disturbance: from the CPU time others took during each run (columns 18-21:
# attempts, other processes' CPU seconds, stolen seconds, the run's wall seconds), or, in a raw
# file written before those were recorded, from the runnable processes alone.
disturbance_report() {
  awk -F '\t' -v share="$disturbed_share" 'NR > 1 && NF >= 21 {
      n++; if ($18 > 1) { repeated++; attempts += $18 - 1 }
      if ($19 + $20 > share * $21) still++
      if (!seen++ || $19 < lo) lo = $19; if ($19 > hi) hi = $19; if ($20 > steal) steal = $20 }
    NR > 1 && NF < 21 && ($14 > 0 || $17 > 0) { old = 1 }
    END {
      if (n == 0) {
        if (old) print "DISTURBED: other processes were runnable during some runs; the figures carry their load."
        else print "Undisturbed: no other runnable process seen at any run'"'"'s start or end."
        exit }
      printf "Other processes took %.2f-%.2f s of CPU during the kept runs, the hypervisor stole at most %.2f s;", lo, hi, steal
      printf " %d of %d runs were run again (%d more attempt%s) after others took more than %.0f%% of a core during them", repeated, n, attempts, attempts == 1 ? "" : "s", 100 * share
      if (still) printf "; DISTURBED: %d still were after the last attempt, and their figures carry it.", still
      else printf "; every kept run was undisturbed by them (other guests sharing the memory system are not seen by this).\n" }' \
    "$raw"
}

# The roofline lines, from $raw.roofline (model round conv_gflop conv_ms conv_gflops step_gflop).
roofline_report() {
  local name conv_ms conv_gflop conv_rate step_gflop e2e peak
  [ -s "$raw.roofline" ] || return 0
  echo
  for name in $(awk -F '\t' '!seen[$1]++ { print $1 }' "$raw.roofline"); do
    conv_gflop=$(awk -F '\t' -v m="$name" '$1 == m { print $3 }' "$raw.roofline" | median)
    conv_ms=$(awk -F '\t' -v m="$name" '$1 == m { print $4 }' "$raw.roofline" | median)
    conv_rate=$(awk -F '\t' -v m="$name" '$1 == m { print $5 }' "$raw.roofline" | median)
    step_gflop=$(awk -F '\t' -v m="$name" '$1 == m { print $6 }' "$raw.roofline" | median)
    e2e=$(column_of "$name" infopro 1 5 | median)
    awk -v m="$name" -v cg="$conv_gflop" -v cms="$conv_ms" -v cr="$conv_rate" -v sg="$step_gflop" \
      -v e="$e2e" 'BEGIN {
        printf "Roofline, %s: the E2E step'"'"'s convolutions, each kernel alone (bench/conv_roofline,", m
        printf " median of rounds): %.2f GFLOP in %.1f ms, %.0f GFLOP/s; the whole step, %.2f GFLOP", cg, cms, cr, sg
        if (e == "-" || e == 0) { print "."; exit }
        printf " in infopro'"'"'s E2E step of %.3f s: %.0f GFLOP/s, %.0f%% of the isolated", e / 1000, sg / (e / 1000), 100 * (sg / (e / 1000)) / cr
        printf " convolutions'"'"' rate (their time alone is %.0f%% of the step).\n", 100 * cms / e }'
  done
  [ -s "$raw.peak" ] || return 0
  for name in $(awk -F '\t' '!seen[$1]++ { print $1 }' "$raw.peak"); do
    peak=$(awk -F '\t' -v m="$name" '$1 == m { print $3 }' "$raw.peak" | median)
    conv_rate=$(awk -F '\t' -v m="$name" '$1 == m { print $5 }' "$raw.roofline" | median)
    awk -v m="$name" -v p="$peak" -v cr="$conv_rate" 'BEGIN {
      printf "FMA peak beside %s (bench/fma_peak: vector FMAs from registers on the same threads, median", m
      printf " of rounds): %.0f GFLOP/s; the isolated convolutions at %.0f%% of it (conv_roofline counts", p, 100 * cr / p
      printf " the direct algorithm'"'"'s FLOPs, the taps that meet the padding too: kernels that skip those or run"
      printf " Winograd'"'"'s algorithm can pass it).\n" }'
  done
}

if [ "${1:-}" = report ]; then
  raw=${2:?usage: training_step_vs_pytorch.sh report RAW.tsv}
  report
  exit 0
fi
if [ -z "$raw" ]; then raw=$(mktemp /tmp/training_step.XXXXXX.tsv); fi

echo "building $build (Release)" >&2
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$threads" --target infopro training_step conv_roofline fma_peak >/dev/null
bench=$build/bench/training_step
infopro=$build/infopro
export OMP_NUM_THREADS=$threads
"$python" -c "import torch, sys; sys.path.insert(0, '$root/models'); import export_models"

# The cuts `infopro plan` chooses for K modules, comma-separated.
plan_cuts() {
  "$infopro" plan "$root/models/$1.onnx" --batch "$batch" -K "$2" --json - |
    "$python" -c 'import json, sys; print(",".join(json.load(sys.stdin)["cuts"]))'
}

printf 'model\timpl\tK\tround\tstep_ms\tmin_ms\tmax_ms\tpeak_bytes\tplanned_bytes\tmaxrss_delta' \
  >"$raw"
: >"$raw.roofline"
printf '\tload1\tbatch\tsaved_bytes\trunning\tend_time\tend_load1\tend_running\tattempts' >>"$raw"
printf '\tothers_cpu_s\tstolen_s\twall_s\n' >>"$raw"
# fields before batch, fields after it (saved bytes), the load at the start, then the attempt's
# disturbance (attempts, others' CPU seconds, stolen seconds, wall seconds)
record() {
  local end
  end="$(date +%T)	$(load1)	$(running)"
  echo "$1	$batch	$2	$3	$end	$4" >>"$raw"
  echo "$1	$2	$3	$end	$4" >&2
}
clock_ticks=$(getconf CLK_TCK)
# CPU ticks of every process (user, nice, system, irq, softirq) and the ticks stolen, /proc/stat
cpu_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $9; exit }' /proc/stat; }
# Runs the command after it with its stdout in $output and sets $disturbance to "others stolen
# wall" (seconds) and $disturbed to 1 where those two add up to more than disturbed_share of a
# core's time over the run. The run's own CPU time is bash's `time` of it (its children included).
measured() {
  local before after timing TIMEFORMAT='%3R %3U %3S'
  read -r -a before < <(cpu_ticks)
  timing=$(mktemp)
  output=$({ time "$@" 2>&3; } 3>&2 2>"$timing") || true # a failed run leaves its figures empty
  read -r -a after < <(cpu_ticks)
  disturbance=$(awk -v b="${before[0]}" -v a="${after[0]}" -v sb="${before[1]}" -v sa="${after[1]}" \
    -v hz="$clock_ticks" '{ others = (a - b) / hz - ($2 + $3); if (others < 0) others = 0
      printf "%.2f\t%.2f\t%.2f", others, (sa - sb) / hz, $1 }' "$timing")
  rm -f "$timing"
  disturbed=$(awk -v d="$disturbance" -v s="$disturbed_share" 'BEGIN { split(d, f, "\t")
    print (f[1] + f[2] > s * f[3]) ? 1 : 0 }')
}
load1() { cut -d ' ' -f 1 /proc/loadavg; }
# runnable processes besides the one reading /proc/loadavg
running() { awk '{ split($4, r, "/"); print r[1] - 1 }' /proc/loadavg; }
impls="1 pytorch"
if [ "$compile" = 1 ]; then impls="$impls torch.compile"; fi

for entry in $models; do
  IFS=: read -r name infopro_steps torch_steps <<<"$entry"
  model=$root/models/$name.onnx
  declare -A cuts=()
  for K in $ks; do
    cuts[$K]=$(plan_cuts "$name" "$K")
    echo "$name K=$K cuts: ${cuts[$K]}" >&2
  done
  for round in $(seq 1 "$rounds"); do
    for impl in $impls $ks; do
      for attempt in $(seq 1 $((repeats + 1))); do
        load=$(load1)
        busy=$(running)
        if [ "$impl" = pytorch ] || [ "$impl" = torch.compile ]; then
          flags=(--warmup "$warmup")
          if [ "$impl" = torch.compile ]; then flags=(--compile --warmup $((warmup > 2 ? warmup : 2))); fi
          measured "$python" "$root/bench/training_step_pytorch.py" "$name" \
            --batch "$batch" --steps "$torch_steps" "${flags[@]}" --threads "$threads"
        else
          cut_args=()
          if [ "$impl" != 1 ]; then cut_args=(--cuts "${cuts[$impl]}"); fi
          measured "$bench" "$model" --batch "$batch" --steps "$infopro_steps" \
            --warmup "$warmup" "${cut_args[@]}" --tsv
        fi
        # a disturbed run is run again, up to `repeats` more times, the last attempt kept
        if [ "$disturbed" = 0 ] || [ "$attempt" -gt "$repeats" ]; then break; fi
        awk -v d="$disturbance" -v what="$name $impl round $round attempt $attempt" 'BEGIN {
          split(d, f, "\t")
          printf "%s: other processes took %s s of CPU and the hypervisor stole %s s in its %s s;", what, f[1], f[2], f[3]
          print " run again" }' >&2
      done
      IFS=$'\t' read -r -a f <<<"$(head -n 1 <<<"$output")"
      if [ "$impl" = pytorch ] || [ "$impl" = torch.compile ]; then
        # peak: saved + parameters + gradients + momentum; planned column: the saved bytes alone
        record "$name	$impl	1	$round	${f[4]}	${f[5]}	${f[6]}	${f[12]}	${f[7]}	${f[13]}	$load" \
          "${f[7]}" "$busy" "$attempt	$disturbance"
      else
        # peak: the counting allocator's measure (not the blocks the plan sized); planned beside it
        record "$name	infopro	${f[1]}	$round	${f[4]}	${f[5]}	${f[6]}	${f[12]}	${f[8]}	${f[10]}	$load" \
          "${f[11]}" "$busy" "$attempt	$disturbance"
      fi
    done
    f=()
    IFS=$'\t' read -r -a f < <("$build/bench/conv_roofline" "$model" --batch "$batch" --tsv) || true
    if ((${#f[@]} != 6)); then
      echo "$name roofline round $round: conv_roofline gave no figures; left out" >&2
      continue
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "${f[2]}" "${f[3]}" "${f[4]}" "${f[5]}" \
      >>"$raw.roofline"
    echo "$name roofline round $round: ${f[*]}" >&2
    f=()
    IFS=$'\t' read -r -a f < <("$build/bench/fma_peak" --tsv) || true
    if ((${#f[@]} == 3)); then
      printf '%s\t%s\t%s\n' "$name" "$round" "${f[0]}" >>"$raw.peak"
      echo "$name FMA peak round $round: ${f[*]}" >&2
    fi
  done
  unset cuts
done
report
