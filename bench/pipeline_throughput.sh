#!/usr/bin/env bash
# Training throughput of the MPI pipeline (runtime/mpi/pipeline.h) against one process, on this
# machine: ResNet-8 on Fashion-MNIST, one epoch of LIMIT images in batches of BATCH (test on 100
# images), for
#   - K = 2 in one process with 2 OpenMP threads, and as 2 ranks of 1 thread each;
#   - K = 2 in one process with 1 thread (the byte-equality reference);
#   - K = 4 in one process with 2 threads, as 4 ranks of 1 thread each, and as 2 ranks of 1
#     thread each (stages of several modules, grouped by FLOPs).
# Prints images/s of the epoch (its wall time includes the 100-image test) and, for the
# pipelines, each rank's time per step and the pace the slowest module sets.
#   bench/pipeline_throughput.sh [BUILD_DIR] [LIMIT] [BATCH]
set -euo pipefail
build=${1:-build}
limit=${2:-2048}
batch=${3:-64}
export OMP_WAIT_POLICY=PASSIVE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
common="train models/resnet8_fmnist.onnx --data fashion-mnist --limit $limit --batch $batch --epochs 1 --test-limit 100"
images=$(( limit / batch * batch ))

rate() { # the epoch line's seconds -> images/s
  awk -v n="$images" '/^epoch 1\/1  loss/ { print sprintf("%.1f images/s (epoch %s s)", n / $(NF-1), $(NF-1)) }'
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo -n "K=2 one process, 2 threads:  "; OMP_NUM_THREADS=2 "$build/infopro" $common -K 2 | rate
echo -n "K=2 one process, 1 thread:   "; OMP_NUM_THREADS=1 "$build/infopro" $common -K 2 | rate
out=$(OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$build/infopro" $common -K 2)
echo -n "K=2 two ranks, 1 thread each: "; echo "$out" | rate; echo "$out" | grep '^pipeline'
echo -n "K=4 one process, 2 threads:  "; OMP_NUM_THREADS=2 "$build/infopro" $common -K 4 | rate
out=$(OMP_NUM_THREADS=1 mpirun --oversubscribe -np 4 "$build/infopro" $common -K 4)
echo -n "K=4 four ranks, 1 thread each: "; echo "$out" | rate; echo "$out" | grep '^pipeline'
out=$(OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 "$build/infopro" $common -K 4)
echo -n "K=4 two ranks (stages), 1 thread each: "; echo "$out" | rate; echo "$out" | grep -E '^(MPI|pipeline)'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
