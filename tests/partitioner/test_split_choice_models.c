/* The split search on real costs, against brute force: for the bundled models with few enough
 * cut points (ResNet-8, the MLP, the DenseNet-style net) at batch 4, every module is costed by
 * the memory planner (runtime/module_costing.h), and
 * - -K N: for K = 1..4 the chosen split's peak equals the smallest peak over all C(n, K-1)
 *   subsets of the cut points, each evaluated through the same costing;
 * - --budget: with the budget set to each K's smallest peak (and one byte below it), the search
 *   returns the fewest modules whose smallest peak fits, with that peak, or an error when none
 *   does.
 * The oracle is the enumeration, not the search: it never runs a DP. */
#include <stdlib.h>
#include <string.h>

#include "frontend/cost.h"
#include "runtime/module_costing.h"
#include "support/bundled_models.h"
#include "support/check.h"

#define BATCH 4
#define MAX_K 4
#define MAX_CUTS 12

/* The smallest peak over every subset of K-1 cut points, by enumeration. */
static uint64_t brute_force_peak(ipro_module_costing *costing, int n_cuts, int K) {
  uint64_t best = UINT64_MAX;
  ipro_error err = {{0}};
  for (unsigned mask = 0; mask < (1u << n_cuts); mask++) {
    if (__builtin_popcount(mask) != K - 1) continue;
    int boundaries[IPRO_MAX_MODULES + 1], k = 0;
    boundaries[k++] = 0;
    for (int c = 0; c < n_cuts; c++)
      if (mask & (1u << c)) boundaries[k++] = c + 1;
    boundaries[k] = n_cuts + 1;
    ipro_split split;
    CHECK_OK(ipro_split_evaluate(n_cuts, K, boundaries, ipro_module_costing_fixed_bytes(costing),
                                 ipro_module_costing_cost, costing, &split, &err),
             &err);
    if (split.peak_bytes < best) best = split.peak_bytes;
  }
  return best;
}

static void check_model(const char *path, const char *name, void *context) {
  int *checked = context;
  ipro_error err = {{0}};
  ipro_test_costed_model model;
  if (!ipro_test_cost_model(path, BATCH, 2, MAX_CUTS, &model)) return;
  ipro_module_costing *costing = model.costing;
  int n_cuts = model.n_cuts;
  uint64_t fixed = ipro_module_costing_fixed_bytes(costing);
  uint64_t best[MAX_K + 1] = {0};
  for (int K = 1; costing && K <= MAX_K && K <= n_cuts + 1; K++) {
    best[K] = brute_force_peak(costing, n_cuts, K);
    ipro_split split;
    CHECK_OK(
        ipro_split_smallest_peak(n_cuts, K, fixed, ipro_module_costing_cost, costing, &split, &err),
        &err);
    CHECK_MSG(split.peak_bytes == best[K], "%s -K %d: chosen peak %llu, brute force %llu", name, K,
              (unsigned long long)split.peak_bytes, (unsigned long long)best[K]);
  }
  for (int K = 1; costing && K <= MAX_K && K <= n_cuts + 1; K++) {
    for (int below = 0; below <= 1; below++) {
      uint64_t budget = best[K] - (uint64_t)below;
      int expected_K = 0;
      for (int k = 1; k <= MAX_K && k <= n_cuts + 1 && !expected_K; k++)
        if (best[k] <= budget) expected_K = k;
      ipro_split chosen;
      ipro_status status = ipro_split_for_budget(n_cuts, MAX_K, fixed, budget,
                                                 ipro_module_costing_cost, costing, &chosen, &err);
      if (expected_K) {
        CHECK_MSG(status == IPRO_OK && chosen.K == expected_K &&
                      chosen.peak_bytes == best[expected_K],
                  "%s --budget %llu: K %d peak %llu, brute force K %d peak %llu", name,
                  (unsigned long long)budget, chosen.K, (unsigned long long)chosen.peak_bytes,
                  expected_K, (unsigned long long)best[expected_K]);
      } else {
        CHECK_MSG(status == IPRO_ERROR, "%s --budget %llu fits nothing, yet a split came back",
                  name, (unsigned long long)budget);
      }
    }
  }
  ipro_test_costed_model_free(&model);
  (*checked)++;
}

int main(void) {
  int checked = 0;
  ipro_test_for_each_model(NULL, check_model, &checked);
  CHECK_MSG(checked >= 2, "only %d bundled models with 2..%d cut points", checked, MAX_CUTS);
  return ipro_test_finish();
}
