/* IPRO_CUDA_PROFILE=1: where a CUDA program's device time goes, by op type (cuda_internal.h).
 *
 * Each kernel records a pair of CUDA events around its node's work on the stream, with no
 * synchronisation added: the pair of one run is read when the node runs again (by then the
 * trainer has waited for the step's loss, so the events have completed) and when the kernel is
 * destroyed. The elapsed times are the GPU's own clock between the node's first and last piece of
 * work, so host launch gaps between nodes are left out; the report says how much of the device's
 * busy time each op type took. Printed on stderr when the backend is destroyed. */
#include <stdio.h>

#include "cuda_internal.h"
#include "ir/op_names.h"

/* Folds a completed event pair of the kernel into its backend's table. */
static void collect(ipro_cuda_kernel *kernel) {
  if (!kernel->profile_pending) return;
  kernel->profile_pending = false;
  float ms = 0;
  if (cudaEventSynchronize(kernel->profile_stop) != cudaSuccess ||
      cudaEventElapsedTime(&ms, kernel->profile_start, kernel->profile_stop) != cudaSuccess)
    return;
  ipro_cuda_backend *backend = kernel->backend;
  backend->profile_ms[kernel->op] += ms;
  backend->profile_runs[kernel->op]++;
}

void ipro_cuda_profile_begin(ipro_cuda_kernel *kernel) {
  ipro_cuda_backend *backend = kernel->backend;
  if (!backend->profile) return;
  if (!kernel->profile_start && (cudaEventCreate(&kernel->profile_start) != cudaSuccess ||
                                 cudaEventCreate(&kernel->profile_stop) != cudaSuccess))
    return;
  collect(kernel);
  cudaEventRecord(kernel->profile_start, backend->stream);
}

void ipro_cuda_profile_end(ipro_cuda_kernel *kernel) {
  if (!kernel->backend->profile || !kernel->profile_stop) return;
  cudaEventRecord(kernel->profile_stop, kernel->backend->stream);
  kernel->profile_pending = true;
}

void ipro_cuda_profile_release(ipro_cuda_kernel *kernel) {
  if (!kernel->profile_start) return;
  collect(kernel);
  cudaEventDestroy(kernel->profile_start);
  if (kernel->profile_stop) cudaEventDestroy(kernel->profile_stop);
}

void ipro_cuda_profile_report(const ipro_cuda_backend *backend) {
  if (!backend->profile) return;
  double total = 0;
  int order[IPRO_OP_COUNT], n = 0;
  for (int op = 0; op < IPRO_OP_COUNT; op++)
    if (backend->profile_runs[op]) order[n++] = op, total += backend->profile_ms[op];
  if (n == 0) return;
  for (int i = 1; i < n; i++) /* largest first */
    for (int j = i; j > 0 && backend->profile_ms[order[j]] > backend->profile_ms[order[j - 1]];
         j--) {
      int swap = order[j];
      order[j] = order[j - 1];
      order[j - 1] = swap;
    }
  fprintf(stderr, "IPRO_CUDA_PROFILE: device time by op type, %.1f ms in all\n", total);
  for (int i = 0; i < n; i++) {
    int op = order[i];
    fprintf(stderr, "  %-28s %8ld runs %10.1f ms %5.1f%%\n", ipro_op_name((ipro_op)op),
            backend->profile_runs[op], backend->profile_ms[op],
            100.0 * backend->profile_ms[op] / total);
  }
}
