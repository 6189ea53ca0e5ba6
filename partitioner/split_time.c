/* The time-balanced split of split_time.h, through split_choice.c's exact search. */
#include "split_time.h"

#include <string.h>

typedef struct {
  ipro_module_work_fn work;
  void *context;
} work_as_cost;

static ipro_status cost_of_work(void *context, int module, int K, int a, int b,
                                ipro_module_cost *out, ipro_error *err) {
  const work_as_cost *w = context;
  out->persistent_bytes = 0;
  return w->work(w->context, module, K, a, b, &out->transient_bytes, err);
}

ipro_status ipro_split_fastest(int n_cuts, int K, ipro_module_work_fn work, void *context,
                               ipro_balanced_split *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  work_as_cost adapter = {.work = work, .context = context};
  ipro_split split;
  if (ipro_split_smallest_peak(n_cuts, K, 0, cost_of_work, &adapter, &split, err) != IPRO_OK)
    return IPRO_ERROR;
  out->K = split.K;
  memcpy(out->boundaries, split.boundaries, sizeof out->boundaries);
  out->slowest_work = split.max_transient_bytes;
  return IPRO_OK;
}
