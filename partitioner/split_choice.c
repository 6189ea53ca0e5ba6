/* The dynamic programme of split_choice.h, in two exact passes over B = n_cuts + 2 boundaries:
 *
 * 1. best[k][b] = the smallest possible largest transient cost of covering boundaries 0..b with
 *    k modules (a bottleneck DP: extending by a module takes the max, which is monotone, so the
 *    optimum of a prefix extends to an optimum of the whole). This gives M*, the balanced peak.
 * 2. Among the splits whose every module stays within M*, the smallest total persistent cost
 *    (a min-sum DP restricted to the modules with transient cost <= M*).
 *
 * A single lexicographic DP would not be exact: a prefix with a larger max but a smaller sum can
 * win once a later module dominates the max. Each (module, a, b) cost is asked of the caller
 * once per search. */
#include "split_choice.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/checked_size.h"

ipro_status ipro_split_evaluate(int n_cuts, int K, const int *boundaries, uint64_t fixed_bytes,
                                ipro_module_cost_fn cost, void *context, ipro_split *out,
                                ipro_error *err) {
  memset(out, 0, sizeof *out);
  if (K < 1 || K > IPRO_MAX_MODULES || boundaries[0] != 0 || boundaries[K] != n_cuts + 1)
    return ipro_error_set(err, "a split needs 1 to %d modules from the input to the output",
                          IPRO_MAX_MODULES);
  out->K = K;
  for (int k = 0; k <= K; k++) {
    if (k > 0 && boundaries[k] <= boundaries[k - 1])
      return ipro_error_set(err, "the cuts of a split must be in topological order");
    out->boundaries[k] = boundaries[k];
  }
  for (int k = 0; k < K; k++) {
    ipro_module_cost c;
    if (cost(context, k, K, boundaries[k], boundaries[k + 1], &c, err) != IPRO_OK)
      return IPRO_ERROR;
    if (c.transient_bytes > out->max_transient_bytes) out->max_transient_bytes = c.transient_bytes;
    if (!ipro_checked_add_u64(out->persistent_bytes, c.persistent_bytes, &out->persistent_bytes))
      return ipro_error_set(err, "the persistent bytes of module %d overflow the plan's sum",
                            k + 1);
  }
  if (!ipro_checked_add_u64(fixed_bytes, out->persistent_bytes, &out->peak_bytes) ||
      !ipro_checked_add_u64(out->peak_bytes, out->max_transient_bytes, &out->peak_bytes))
    return ipro_error_set(err, "the plan's peak memory overflows a 64-bit byte count");
  return IPRO_OK;
}

typedef struct {
  int B, K;
  ipro_module_cost *costs; /* [module][a][b] */
  bool *known;
  ipro_module_cost_fn cost;
  void *context;
} cost_cache;

static ipro_status cached_cost(cost_cache *c, int module, int a, int b,
                               const ipro_module_cost **out, ipro_error *err) {
  int i = (module * c->B + a) * c->B + b;
  if (!c->known[i]) {
    if (c->cost(c->context, module, c->K, a, b, &c->costs[i], err) != IPRO_OK) return IPRO_ERROR;
    c->known[i] = true;
  }
  *out = &c->costs[i];
  return IPRO_OK;
}

/* One DP pass. limit == UINT64_MAX: minimise the largest transient cost; otherwise minimise the
 * persistent sum over modules within limit. value[k][b] holds the objective, previous[k][b] the
 * start of the last module; UINT64_MAX = unreachable. */
static ipro_status dynamic_programme(cost_cache *c, int K, uint64_t limit, uint64_t *value,
                                     int *previous, ipro_error *err) {
  int B = c->B;
  for (int i = 0; i < (K + 1) * B; i++)
    value[i] = UINT64_MAX;
  value[0] = 0;
  for (int k = 1; k <= K; k++) {
    for (int b = k; b < B; b++) {
      if (k == K && b != B - 1) continue; /* the last module ends at the output */
      for (int a = k - 1; a < b; a++) {
        uint64_t prefix = value[(k - 1) * B + a];
        if (prefix == UINT64_MAX) continue;
        const ipro_module_cost *m;
        if (cached_cost(c, k - 1, a, b, &m, err) != IPRO_OK) return IPRO_ERROR;
        uint64_t candidate;
        if (limit == UINT64_MAX) {
          candidate = prefix > m->transient_bytes ? prefix : m->transient_bytes;
        } else {
          if (m->transient_bytes > limit) continue;
          if (!ipro_checked_add_u64(prefix, m->persistent_bytes, &candidate)) continue;
        }
        if (candidate < value[k * B + b]) {
          value[k * B + b] = candidate;
          previous[k * B + b] = a;
        }
      }
    }
  }
  return IPRO_OK;
}

ipro_status ipro_split_balanced(int n_cuts, int K, uint64_t fixed_bytes, ipro_module_cost_fn cost,
                                void *context, ipro_split *out, ipro_error *err) {
  int B = n_cuts + 2; /* boundaries 0..n_cuts+1 */
  if (K < 1 || K > IPRO_MAX_MODULES || K > B - 1)
    return ipro_error_set(err, "cannot cut a network with %d cut points into %d modules", n_cuts,
                          K);
  cost_cache cache = {.B = B, .K = K, .cost = cost, .context = context};
  cache.costs = malloc(sizeof *cache.costs * (size_t)K * (size_t)B * (size_t)B);
  cache.known = calloc((size_t)K * (size_t)B * (size_t)B, sizeof(bool));
  uint64_t *value = malloc(sizeof(uint64_t) * (size_t)(K + 1) * (size_t)B);
  int *previous = calloc((size_t)(K + 1) * (size_t)B, sizeof(int));
  ipro_status status = IPRO_OK;
  if (!cache.costs || !cache.known || !value || !previous)
    status = ipro_error_set(err, "out of memory choosing a split");
  if (status == IPRO_OK) status = dynamic_programme(&cache, K, UINT64_MAX, value, previous, err);
  if (status == IPRO_OK) {
    uint64_t balanced = value[K * B + B - 1];
    status = dynamic_programme(&cache, K, balanced, value, previous, err);
  }
  if (status == IPRO_OK) {
    int boundaries[IPRO_MAX_MODULES + 1];
    boundaries[K] = B - 1;
    for (int k = K; k > 0; k--)
      boundaries[k - 1] = previous[k * B + boundaries[k]];
    status = ipro_split_evaluate(n_cuts, K, boundaries, fixed_bytes, cost, context, out, err);
  }
  free(cache.costs);
  free(cache.known);
  free(value);
  free(previous);
  return status;
}

ipro_status ipro_split_for_budget(int n_cuts, int max_K, uint64_t fixed_bytes,
                                  uint64_t budget_bytes, ipro_module_cost_fn cost, void *context,
                                  ipro_split *out, ipro_error *err) {
  ipro_split smallest = {0};
  if (max_K > n_cuts + 1) max_K = n_cuts + 1;
  if (max_K > IPRO_MAX_MODULES) max_K = IPRO_MAX_MODULES;
  for (int K = 1; K <= max_K; K++) {
    ipro_split split;
    if (ipro_split_balanced(n_cuts, K, fixed_bytes, cost, context, &split, err) != IPRO_OK)
      return IPRO_ERROR;
    if (split.peak_bytes <= budget_bytes) {
      *out = split;
      return IPRO_OK;
    }
    if (smallest.K == 0 || split.peak_bytes < smallest.peak_bytes) smallest = split;
  }
  return ipro_error_set(err,
                        "no plan fits the budget of %llu bytes: the smallest peak is %llu bytes, "
                        "with K = %d",
                        (unsigned long long)budget_bytes, (unsigned long long)smallest.peak_bytes,
                        smallest.K);
}
