/* The exact search of split_choice.h over B = n_cuts + 2 boundaries. The objective, fixed +
 * Σ persistent + max transient, mixes a sum and a maximum, so no single DP over prefixes is exact:
 * a prefix with a larger max but a smaller sum can win once a later module dominates the max, or
 * lose when none does. It becomes exact with the maximum fixed: for a threshold T, a min-sum DP
 * over the modules whose transient cost is <= T gives S(T), the smallest persistent total of any
 * split within T, and the smallest peak is the least fixed + S(T) + (that split's largest
 * transient) over the thresholds T among the modules' distinct transient costs.
 *
 * Thresholds are tried in increasing order, from M* (the smallest achievable largest transient, a
 * bottleneck DP: extending by a module takes the max, which is monotone, so it is exact) upward.
 * Every split not yet seen when T is reached has a largest transient >= T, hence a peak >=
 * fixed + T + S(∞); once that bound reaches the best peak found, no later threshold can win and
 * the search stops. Persistent bytes (parameters, optimizer state) are small beside activations
 * in the networks this serves, so it stops after a few thresholds. Each (module, a, b) cost is
 * asked of the caller once per search, through the callback. */
#include "split_choice.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ir/checked_size.h"

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

/* One DP pass. bottleneck: minimise the largest transient cost; otherwise minimise the
 * persistent sum over the modules whose transient cost is <= limit. value[k][b] holds the
 * objective, previous[k][b] the start of the last module; UINT64_MAX = unreachable. */
static ipro_status dynamic_programme(cost_cache *c, int K, bool bottleneck, uint64_t limit,
                                     uint64_t *value, int *previous, ipro_error *err) {
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
        if (bottleneck) {
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

/* The split that the last pass's previous[] describes, evaluated through the callback. */
static ipro_status trace_back(int n_cuts, int K, const int *previous, uint64_t fixed_bytes,
                              ipro_module_cost_fn cost, void *context, ipro_split *out,
                              ipro_error *err) {
  int B = n_cuts + 2;
  int boundaries[IPRO_MAX_MODULES + 1];
  boundaries[K] = B - 1;
  for (int k = K; k > 0; k--)
    boundaries[k - 1] = previous[k * B + boundaries[k]];
  return ipro_split_evaluate(n_cuts, K, boundaries, fixed_bytes, cost, context, out, err);
}

static int compare_bytes(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return (a > b) - (a < b);
}

/* The search once every usable cost is in the cache (after the bottleneck pass). */
static ipro_status smallest_peak(cost_cache *c, int n_cuts, int K, uint64_t bottleneck,
                                 uint64_t fixed_bytes, uint64_t *value, int *previous,
                                 ipro_split *out, ipro_error *err) {
  int B = c->B;
  size_t n_costs = (size_t)K * (size_t)B * (size_t)B, n_thresholds = 0;
  uint64_t *thresholds = malloc(sizeof(uint64_t) * n_costs);
  if (!thresholds) return ipro_error_set(err, "out of memory choosing a split");
  for (size_t i = 0; i < n_costs; i++)
    if (c->known[i] && c->costs[i].transient_bytes >= bottleneck)
      thresholds[n_thresholds++] = c->costs[i].transient_bytes;
  qsort(thresholds, n_thresholds, sizeof *thresholds, compare_bytes);
  ipro_status status = dynamic_programme(c, K, false, UINT64_MAX, value, previous, err);
  uint64_t least_persistent = value[K * B + B - 1];
  bool found = false;
  for (size_t t = 0; status == IPRO_OK && t < n_thresholds; t++) {
    uint64_t T = thresholds[t];
    if (t > 0 && T == thresholds[t - 1]) continue;
    if (found && fixed_bytes + T + least_persistent >= out->peak_bytes) break;
    status = dynamic_programme(c, K, false, T, value, previous, err);
    if (status != IPRO_OK || value[K * B + B - 1] == UINT64_MAX) continue;
    ipro_split candidate;
    status = trace_back(n_cuts, K, previous, fixed_bytes, c->cost, c->context, &candidate, err);
    if (status == IPRO_OK && (!found || candidate.peak_bytes < out->peak_bytes)) {
      *out = candidate;
      found = true;
    }
  }
  free(thresholds);
  if (status == IPRO_OK && !found)
    status = ipro_error_set(err, "no split of %d cut points into %d modules", n_cuts, K);
  return status;
}

ipro_status ipro_split_smallest_peak(int n_cuts, int K, uint64_t fixed_bytes,
                                     ipro_module_cost_fn cost, void *context, ipro_split *out,
                                     ipro_error *err) {
  int B = n_cuts + 2; /* boundaries 0..n_cuts+1 */
  memset(out, 0, sizeof *out);
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
  if (status == IPRO_OK) status = dynamic_programme(&cache, K, true, 0, value, previous, err);
  if (status == IPRO_OK)
    status = smallest_peak(&cache, n_cuts, K, value[K * B + B - 1], fixed_bytes, value, previous,
                           out, err);
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
    if (ipro_split_smallest_peak(n_cuts, K, fixed_bytes, cost, context, &split, err) != IPRO_OK)
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
