/* The time-balanced split of split_time.h, through split_choice.c's exact search. */
#include "split_time.h"

#include <stdbool.h>
#include <string.h>

/* A transient cost beyond any real module's: a split holding a module over the work limit has a
 * peak above every split without one, and the peak's sum cannot overflow. */
#define OVER_THE_LIMIT (UINT64_C(1) << 60)

typedef struct {
  ipro_module_work_fn work;
  ipro_module_cost_fn cost;
  void *context;
  bool limited;   /* false in the first search: the work is the cost */
  uint64_t limit; /* the second's: the least slowest work */
} work_as_cost;

static ipro_status adapted_cost(void *context, int module, int K, int a, int b,
                                ipro_module_cost *out, ipro_error *err) {
  const work_as_cost *w = context;
  uint64_t work = 0;
  if (w->work(w->context, module, K, a, b, &work, err) != IPRO_OK) return IPRO_ERROR;
  if (!w->limited) {
    *out = (ipro_module_cost){.transient_bytes = work};
    return IPRO_OK;
  }
  if (work > w->limit) {
    *out = (ipro_module_cost){.transient_bytes = OVER_THE_LIMIT};
    return IPRO_OK;
  }
  return w->cost(w->context, module, K, a, b, out, err);
}

ipro_status ipro_split_fastest(int n_cuts, int K, ipro_module_work_fn work, uint64_t fixed_bytes,
                               ipro_module_cost_fn cost, void *context, ipro_balanced_split *out,
                               ipro_error *err) {
  memset(out, 0, sizeof *out);
  work_as_cost adapter = {.work = work, .cost = cost, .context = context};
  ipro_split fastest;
  if (ipro_split_smallest_peak(n_cuts, K, 0, adapted_cost, &adapter, &fastest, err) != IPRO_OK)
    return IPRO_ERROR;
  out->slowest_work = fastest.max_transient_bytes;
  adapter.limited = true;
  adapter.limit = out->slowest_work;
  ipro_split within;
  if (ipro_split_smallest_peak(n_cuts, K, fixed_bytes, adapted_cost, &adapter, &within, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  /* the same boundaries with their real costs (none is over the limit: the first search's split
   * is within it, so the second's peak is below OVER_THE_LIMIT) */
  return ipro_split_evaluate(n_cuts, K, within.boundaries, fixed_bytes, cost, context, &out->split,
                             err);
}
