/* The scan over head limits of head_choice.h. */
#include "head_choice.h"

static ipro_status solve(int n_cuts, int K, const int *boundaries, uint64_t fixed_bytes,
                         const ipro_head_costs *costs, ipro_split *out, ipro_error *err) {
  if (boundaries)
    return ipro_split_evaluate(n_cuts, K, boundaries, fixed_bytes, costs->cost, costs->context, out,
                               err);
  return ipro_split_smallest_peak(n_cuts, K, fixed_bytes, costs->cost, costs->context, out, err);
}

ipro_status ipro_heads_choose_split(int n_cuts, int K, const int *boundaries, uint64_t fixed_bytes,
                                    uint64_t target_peak, const ipro_head_costs *costs,
                                    ipro_split *out, uint64_t *limit, ipro_error *err) {
  uint64_t current = UINT64_MAX;
  *limit = UINT64_MAX;
  costs->set_limit(costs->context, current);
  if (solve(n_cuts, K, boundaries, fixed_bytes, costs, out, err) != IPRO_OK) return IPRO_ERROR;
  /* A head that alone takes its module above target - fixed can be in no plan that meets the
   * target, so the scan starts there. */
  uint64_t start = target_peak > fixed_bytes ? target_peak - fixed_bytes : 0;
  while (out->peak_bytes > target_peak && K > 1) {
    if (current == UINT64_MAX) {
      current = start;
    } else {
      uint64_t largest;
      if (costs->next_limit(costs->context, K, current, &largest, err) != IPRO_OK)
        return IPRO_ERROR;
      if (largest == 0) break; /* every module already carries its cheapest head */
      current = largest - 1;
    }
    costs->set_limit(costs->context, current);
    ipro_split split;
    if (solve(n_cuts, K, boundaries, fixed_bytes, costs, &split, err) != IPRO_OK) return IPRO_ERROR;
    if (split.peak_bytes < out->peak_bytes || split.peak_bytes <= target_peak)
      *out = split, *limit = current;
  }
  costs->set_limit(costs->context, *limit);
  return IPRO_OK;
}

ipro_status ipro_heads_split_for_budget(int n_cuts, int max_K, uint64_t fixed_bytes,
                                        uint64_t budget_bytes, const ipro_head_costs *costs,
                                        ipro_split *out, uint64_t *limit, ipro_error *err) {
  ipro_split smallest = {0};
  uint64_t smallest_limit = UINT64_MAX;
  if (max_K > n_cuts + 1) max_K = n_cuts + 1;
  if (max_K > IPRO_MAX_MODULES) max_K = IPRO_MAX_MODULES;
  for (int K = 1; K <= max_K; K++) {
    ipro_split split;
    if (ipro_heads_choose_split(n_cuts, K, NULL, fixed_bytes, budget_bytes, costs, &split, limit,
                                err) != IPRO_OK)
      return IPRO_ERROR;
    if (split.peak_bytes <= budget_bytes) {
      *out = split;
      return IPRO_OK;
    }
    if (smallest.K == 0 || split.peak_bytes < smallest.peak_bytes)
      smallest = split, smallest_limit = *limit;
  }
  costs->set_limit(costs->context, smallest_limit);
  return ipro_error_set(err,
                        "no plan fits the budget of %llu bytes: the smallest peak is %llu bytes, "
                        "with K = %d and the cheapest heads",
                        (unsigned long long)budget_bytes, (unsigned long long)smallest.peak_bytes,
                        smallest.K);
}

uint64_t ipro_heads_target_peak(uint64_t e2e_peak, uint64_t bound_peak) {
  if (bound_peak >= e2e_peak) return bound_peak;
  return e2e_peak - (uint64_t)(IPRO_HEADS_KEEP_FRACTION * (double)(e2e_peak - bound_peak));
}
