/* Time in `infopro plan`: every plan's report shows each module's expected step time and the
 * images/s of a pipeline of one module per process (runtime/mpi/pipeline.h), where the slowest
 * module sets the pace (`--balance time`, partitioner/plan_choice.c, chooses the K cuts that make
 * the slowest module's step the shortest). A module's time is its training
 * step's FLOPs (the costing's count: forward, heads, backward and update) at a FLOP rate, the
 * calibration --gflops gives (measured on a device with bench/pipeline_projection.sh). */
#include <stdio.h>
#include <string.h>

#include "plan.h"

void ipro_plan_print_times(const ipro_plan *r) {
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
