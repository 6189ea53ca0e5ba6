/* Time in `infopro plan`: every plan's report shows each module's expected step time and the
 * images/s of a pipeline of one module per process (runtime/mpi/pipeline.h), where the slowest
 * module sets the pace (`--balance time`, partitioner/plan_choice.c, chooses the K cuts that make
 * the slowest module's step the shortest). A module's time is its training
 * step's FLOPs (the costing's count: forward, heads, backward and update) at a FLOP rate, the
 * calibration --gflops gives (measured on a device with bench/pipeline_projection.sh), or with
 * --calibrate its time predicted from the network's kernels timed on this machine
 * (runtime/step_calibration.h). */
#include <stdio.h>
#include <string.h>

#include "plan.h"

/* A module's step: predicted from the measured profile with --calibrate, else its FLOPs at the
 * --gflops rate. */
static double step_seconds(const ipro_plan *r, const ipro_plan_module *m) {
  return r->calibrated ? m->step_seconds : (double)m->flops / (r->gflops * 1e9);
}

void ipro_plan_print_times(const ipro_plan *r) {
  double slowest = 0;
  int slowest_module = 0;
  if (r->calibrated)
    printf("time predicted from kernels measured on this machine (--calibrate), per training "
           "step:");
  else
    printf("time at %g GFLOP/s (--gflops), per training step:", r->gflops);
  for (int k = 0; k < r->K; k++) {
    double seconds = step_seconds(r, &r->modules[k]);
    printf("%s module %d %.1f ms", k ? "," : "", k + 1, 1e3 * seconds);
    if (seconds > slowest) slowest = seconds, slowest_module = k;
  }
  double e2e = step_seconds(r, &r->e2e_module), batch = (double)r->network->batch;
  printf("; end to end %.1f ms\n", 1e3 * e2e);
  if (r->K > 1 && slowest > 0 && e2e > 0)
    printf("pipeline of one module per process (mpirun -np %d): module %d sets the pace, %.0f "
           "images/s against %.0f end to end on one (%.2fx)\n",
           r->K, slowest_module + 1, batch / slowest, batch / e2e, e2e / slowest);
}
