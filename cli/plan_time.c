/* Time in `infopro plan`: every plan's report shows each module's expected step time and the
 * images/s of a pipeline of one module per process (runtime/mpi/pipeline.h), where the slowest
 * module sets the pace, and of fewer processes, each a stage of several modules (`--balance time`,
 * partitioner/plan_choice.c, chooses the K cuts that make the slowest module's step the shortest).
 * A module's time is its training step's FLOPs (the costing's count: forward, heads, backward and
 * update) at a FLOP rate, the calibration --gflops gives (measured on a device with
 * bench/pipeline_projection.sh), or with
 * --calibrate its time predicted from the network's kernels timed on this machine
 * (runtime/step_calibration.h). */
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "runtime/pipeline_stages.h"

/* A module's step: predicted from the measured profile with --calibrate, else its FLOPs at the
 * --gflops rate. */
static double step_seconds(const ipro_plan *r, const ipro_plan_module *m) {
  return r->calibrated ? m->step_seconds : (double)m->flops / (r->gflops * 1e9);
}

/* On fewer processes than modules, each trains a stage of modules, grouped as `mpirun ...
 * infopro train` groups them (runtime/pipeline_stages.h: by these step times, which are FLOPs at
 * one rate without --calibrate): for each count of processes, the stages and their pace. */
static void print_stages(const ipro_plan *r, double batch, double e2e) {
  uint64_t work[IPRO_MAX_MODULES];
  for (int k = 0; k < r->K; k++)
    work[k] = (uint64_t)(1e9 * step_seconds(r, &r->modules[k]) + 0.5);
  printf("pipeline of fewer processes, each a stage of modules as mpirun groups them:");
  for (int S = 2; S < r->K; S++) {
    ipro_pipeline_stages stages = ipro_pipeline_stages_balanced(work, r->K, S);
    int slowest_stage = 0;
    double slowest = 1e-9 * (double)ipro_pipeline_stages_slowest(&stages, work, &slowest_stage);
    printf("%s -np %d (", S > 2 ? ";" : "", S);
    for (int s = 0; s < S; s++) {
      int first = stages.first[s] + 1, last = stages.first[s + 1];
      if (first == last)
        printf("%s%d", s ? " | " : "", first);
      else
        printf("%s%d-%d", s ? " | " : "", first, last);
    }
    if (slowest > 0)
      printf(") %.0f images/s (%.2fx)", batch / slowest, e2e / slowest);
    else
      printf(")");
  }
  printf("\n");
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
  if (r->K > 2 && e2e > 0) print_stages(r, batch, e2e);
}
