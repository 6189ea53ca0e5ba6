/* The time-balanced split (partitioner/split_time.h) against brute force: the slowest module's
 * work of the split it returns equals the smallest, over all C(n, K-1) subsets of the cut
 * points, of the largest module's work, each subset's modules asked of the same work function;
 * and the returned boundaries do have that slowest module. Two sources of work:
 * - the bundled models with few enough cut points (ResNet-8, the MLP, the DenseNet-style net) at
 *   batch 4, each module's training FLOPs from the costing (runtime/module_costing.h, heads
 *   included, as `infopro plan --balance time` uses them), K = 1..4;
 * - random tables of work per (module, K, a, b), where a module's position changes its work as
 *   heads do, with ties (values drawn from a few), n = 0..9 cut points, K = 1..n+1 (up to 6).
 * The oracle is the enumeration; it never runs the search. */
#include <stdlib.h>
#include <string.h>

#include "frontend/cost.h"
#include "partitioner/split_time.h"
#include "runtime/module_costing.h"
#include "support/bundled_models.h"
#include "support/check.h"

#define BATCH 4
#define MAX_K 4
#define MAX_CUTS 12

/* The largest module work of one split; UINT64_MAX when the work function failed. */
static uint64_t slowest_of(ipro_module_work_fn work, void *context, int K, const int *boundaries) {
  uint64_t slowest = 0;
  ipro_error err = {{0}};
  for (int k = 0; k < K; k++) {
    uint64_t w = 0;
    if (work(context, k, K, boundaries[k], boundaries[k + 1], &w, &err) != IPRO_OK) {
      CHECK_MSG(false, "work of module %d of %d: %s", k + 1, K, err.message);
      return UINT64_MAX;
    }
    if (w > slowest) slowest = w;
  }
  return slowest;
}

/* The smallest slowest-module work over every subset of K-1 of the n_cuts cut points. */
static uint64_t brute_force(ipro_module_work_fn work, void *context, int n_cuts, int K) {
  uint64_t best = UINT64_MAX;
  for (unsigned mask = 0; mask < (1u << n_cuts); mask++) {
    if (__builtin_popcount(mask) != K - 1) continue;
    int boundaries[IPRO_MAX_MODULES + 1], k = 0;
    boundaries[k++] = 0;
    for (int c = 0; c < n_cuts; c++)
      if (mask & (1u << c)) boundaries[k++] = c + 1;
    boundaries[k] = n_cuts + 1;
    uint64_t slowest = slowest_of(work, context, K, boundaries);
    if (slowest < best) best = slowest;
  }
  return best;
}

static void check_search(ipro_module_work_fn work, void *context, int n_cuts, int K,
                         const char *name) {
  ipro_error err = {{0}};
  ipro_balanced_split split;
  CHECK_OK(ipro_split_fastest(n_cuts, K, work, context, &split, &err), &err);
  uint64_t best = brute_force(work, context, n_cuts, K);
  CHECK_MSG(split.K == K && split.slowest_work == best,
            "%s, %d cut points, K = %d: the search's slowest module %llu, brute force %llu", name,
            n_cuts, K, (unsigned long long)split.slowest_work, (unsigned long long)best);
  bool ordered = split.boundaries[0] == 0 && split.boundaries[K] == n_cuts + 1;
  for (int k = 1; k <= K; k++)
    ordered = ordered && split.boundaries[k] > split.boundaries[k - 1];
  CHECK_MSG(ordered && slowest_of(work, context, K, split.boundaries) == best,
            "%s, K = %d: the boundaries returned do not have the slowest module reported", name, K);
}

/* ---- work from the costing: each module's FLOPs per training step ---- */
static ipro_status flops_work(void *context, int module, int K, int a, int b, uint64_t *work,
                              ipro_error *err) {
  ipro_module_memory memory;
  int64_t flops = 0, parameters = 0, head_parameters = 0;
  if (ipro_module_costing_details(context, module, K, a, b, &memory, &flops, &parameters,
                                  &head_parameters, err) != IPRO_OK)
    return IPRO_ERROR;
  *work = (uint64_t)flops;
  return IPRO_OK;
}

static void check_model(const char *path, const char *name, void *context) {
  int *checked = context;
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(path, BATCH, &network, &err), &err);
  if (!network) return;
  int *cut_points = malloc(sizeof(int) * (size_t)(network->n_nodes + 1));
  int n_cuts = ipro_graph_find_cut_points(network, cut_points);
  if (n_cuts >= 2 && n_cuts <= MAX_CUTS) {
    ipro_local_settings settings = ipro_test_local_settings(network, BATCH);
    ipro_module_costing *costing = NULL;
    CHECK_OK(
        ipro_module_costing_create(network, cut_points, n_cuts, &settings, false, &costing, &err),
        &err);
    for (int K = 1; costing && K <= MAX_K && K <= n_cuts + 1; K++)
      check_search(flops_work, costing, n_cuts, K, name);
    ipro_module_costing_free(costing);
    (*checked)++;
  }
  free(cut_points);
  ipro_graph_free(network);
}

/* ---- work from a random table ---- */
typedef struct {
  int B;
  uint64_t *work; /* [K][module][a][b], K and module up to IPRO_MAX_MODULES */
} work_table;

static ipro_status table_work(void *context, int module, int K, int a, int b, uint64_t *work,
                              ipro_error *err) {
  const work_table *t = context;
  if (a < 0 || b <= a || b >= t->B)
    return ipro_error_set(err, "asked for a module from boundary %d to %d", a, b);
  *work = t->work[(((size_t)K * IPRO_MAX_MODULES + (size_t)module) * (size_t)t->B + (size_t)a) *
                      (size_t)t->B +
                  (size_t)b];
  return IPRO_OK;
}

static void check_random_tables(void) {
  srand(16);
  for (int n_cuts = 0; n_cuts <= 9; n_cuts++) {
    int B = n_cuts + 2;
    size_t count = (size_t)(IPRO_MAX_MODULES + 1) * IPRO_MAX_MODULES * (size_t)B * (size_t)B;
    work_table table = {.B = B, .work = malloc(sizeof(uint64_t) * count)};
    if (!table.work) return;
    for (int round = 0; round < 4; round++) {
      /* few distinct values in the first rounds (ties), a wide range in the others */
      int range = round < 2 ? 5 : 1000000;
      for (size_t i = 0; i < count; i++)
        table.work[i] = (uint64_t)(rand() % range) + 1;
      for (int K = 1; K <= n_cuts + 1 && K <= 6; K++)
        check_search(table_work, &table, n_cuts, K, "random table");
    }
    free(table.work);
  }
}

int main(void) {
  check_random_tables();
  int checked = 0;
  ipro_test_for_each_model(NULL, check_model, &checked);
  CHECK_MSG(checked >= 2, "only %d bundled models with 2..%d cut points", checked, MAX_CUTS);
  return ipro_test_finish();
}
