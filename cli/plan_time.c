/* Time in `infopro plan`: `--balance time` chooses the K cuts whose slowest module's training
 * step is the shortest (partitioner/split_time.h), for a pipeline of one module per process
 * (runtime/mpi/pipeline.h), where the slowest module sets the pace; and every plan's report shows
 * each module's expected step time and the pipeline's images/s. A module's time is its training
 * step's FLOPs (the costing's count: forward, heads, backward and update) at a FLOP rate, the
 * calibration --gflops gives (measured on a device with bench/pipeline_projection.sh). */
#include <stdio.h>
#include <string.h>

#include "plan.h"

ipro_status ipro_plan_time_balance(const ipro_graph *network, ipro_module_costing *costing,
                                   const int *cut_points, int n_cut_points, int K, char *cuts_text,
                                   size_t size, ipro_error *err) {
  if (K > n_cut_points + 1)
    return ipro_error_set(err, "%s has %d cut points: at most %d modules", network->path,
                          n_cut_points, n_cut_points + 1);
  ipro_balanced_split balanced;
  if (ipro_split_fastest(n_cut_points, K, ipro_module_costing_flops,
                         ipro_module_costing_fixed_bytes(costing), ipro_module_costing_cost,
                         costing, &balanced, err) != IPRO_OK)
    return IPRO_ERROR;
  const ipro_split *split = &balanced.split;
  size_t used = 0;
  cuts_text[0] = '\0';
  for (int k = 1; k < K; k++) {
    const char *name = network->tensors[cut_points[split->boundaries[k] - 1]].name;
    int n = snprintf(cuts_text + used, size - used, "%s%s", k > 1 ? "," : "", name);
    if (n < 0 || (size_t)n >= size - used)
      return ipro_error_set(err, "the names of the time-balanced cuts are too long");
    used += (size_t)n;
  }
  return IPRO_OK;
}

void ipro_plan_print_times(const ipro_plan_report *r) {
  double rate = r->gflops * 1e9, slowest = 0;
  int slowest_module = 0;
  printf("time at %g GFLOP/s (--gflops), per training step:", r->gflops);
  for (int k = 0; k < r->K; k++) {
    double seconds = (double)r->modules[k].flops / rate;
    printf("%s module %d %.1f ms", k ? "," : "", k + 1, 1e3 * seconds);
    if (seconds > slowest) slowest = seconds, slowest_module = k;
  }
  double e2e = (double)r->e2e_module.flops / rate, batch = (double)r->network->batch;
  printf("; end to end %.1f ms\n", 1e3 * e2e);
  if (r->K > 1 && slowest > 0 && e2e > 0)
    printf("pipeline of one module per process (mpirun -np %d): module %d sets the pace, %.0f "
           "images/s against %.0f end to end on one (%.2fx)\n",
           r->K, slowest_module + 1, batch / slowest, batch / e2e, e2e / slowest);
}
