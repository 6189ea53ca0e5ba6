/* The time-balanced split (partitioner/split_time.h) against brute force: the slowest module's
 * work of the split it returns equals the smallest, over all C(n, K-1) subsets of the cut
 * points, of the largest module's work, each subset's modules asked of the same work function;
 * and the returned boundaries do have that slowest module. Two sources of work:
 * - the bundled models with few enough cut points (ResNet-8, the MLP, the DenseNet-style net) at
 *   batch 4, each module's training FLOPs from the costing (runtime/module_costing.h, heads
 *   included, as `infopro plan --balance time` uses them), K = 1..4;
 * - random tables of work per (module, K, a, b), where a module's position changes its work as
 *   heads do, with ties (values drawn from a few), n = 0..9 cut points, K = 1..n+1 (up to 6).
 * Among the splits with that least slowest work, the one returned has the smallest peak (memory
 * from the costing, or random transient and persistent bytes for the tables), again equal to
 * the enumeration's. The oracle is the enumeration; it never runs the search. */
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

/* The largest module work of one split, and its peak; false when a callback failed. */
static bool measure(ipro_module_work_fn work, ipro_module_cost_fn cost, void *context,
                    uint64_t fixed, int n_cuts, int K, const int *boundaries, uint64_t *slowest,
                    uint64_t *peak) {
  ipro_error err = {{0}};
  *slowest = 0;
  for (int k = 0; k < K; k++) {
    uint64_t w = 0;
    if (work(context, k, K, boundaries[k], boundaries[k + 1], &w, &err) != IPRO_OK) {
      CHECK_MSG(false, "work of module %d of %d: %s", k + 1, K, err.message);
      return false;
    }
    if (w > *slowest) *slowest = w;
  }
  ipro_split split;
  CHECK_OK(ipro_split_evaluate(n_cuts, K, boundaries, fixed, cost, context, &split, &err), &err);
  *peak = split.peak_bytes;
  return true;
}

/* The smallest slowest-module work over every subset of K-1 of the n_cuts cut points, and the
 * smallest peak among the subsets with that work. */
static void brute_force(ipro_module_work_fn work, ipro_module_cost_fn cost, void *context,
                        uint64_t fixed, int n_cuts, int K, uint64_t *best_work,
                        uint64_t *best_peak) {
  *best_work = *best_peak = UINT64_MAX;
  for (unsigned mask = 0; mask < (1u << n_cuts); mask++) {
    if (__builtin_popcount(mask) != K - 1) continue;
    int boundaries[IPRO_MAX_MODULES + 1], k = 0;
    boundaries[k++] = 0;
    for (int c = 0; c < n_cuts; c++)
      if (mask & (1u << c)) boundaries[k++] = c + 1;
    boundaries[k] = n_cuts + 1;
    uint64_t slowest = 0, peak = 0;
    if (!measure(work, cost, context, fixed, n_cuts, K, boundaries, &slowest, &peak)) return;
    if (slowest < *best_work || (slowest == *best_work && peak < *best_peak)) {
      *best_work = slowest;
      *best_peak = peak;
    }
  }
}

static void check_search(ipro_module_work_fn work, ipro_module_cost_fn cost, void *context,
                         uint64_t fixed, int n_cuts, int K, const char *name) {
  ipro_error err = {{0}};
  ipro_balanced_split found;
  CHECK_OK(ipro_split_fastest(n_cuts, K, work, fixed, cost, context, &found, &err), &err);
  uint64_t best_work = 0, best_peak = 0;
  brute_force(work, cost, context, fixed, n_cuts, K, &best_work, &best_peak);
  const ipro_split *s = &found.split;
  CHECK_MSG(s->K == K && found.slowest_work == best_work && s->peak_bytes == best_peak,
            "%s, %d cut points, K = %d: the search's slowest module %llu with peak %llu, brute "
            "force %llu with peak %llu",
            name, n_cuts, K, (unsigned long long)found.slowest_work,
            (unsigned long long)s->peak_bytes, (unsigned long long)best_work,
            (unsigned long long)best_peak);
  uint64_t slowest = 0, peak = 0;
  CHECK_MSG(measure(work, cost, context, fixed, n_cuts, K, s->boundaries, &slowest, &peak) &&
                slowest == best_work && peak == best_peak,
            "%s, K = %d: the boundaries returned do not have the work and peak reported", name, K);
}

/* ---- work from the costing: each module's FLOPs per training step ---- */
static void check_model(const char *path, const char *name, void *context) {
  int *checked = context;
  ipro_test_costed_model model;
  if (!ipro_test_cost_model(path, BATCH, 2, MAX_CUTS, &model)) return;
  uint64_t fixed = ipro_module_costing_fixed_bytes(model.costing);
  for (int K = 1; K <= MAX_K && K <= model.n_cuts + 1; K++)
    check_search(ipro_module_costing_flops, ipro_module_costing_cost, model.costing, fixed,
                 model.n_cuts, K, name);
  ipro_test_costed_model_free(&model);
  (*checked)++;
}

/* ---- work from a random table ---- */
typedef struct {
  int B;
  /* [K][module][a][b], K and module up to IPRO_MAX_MODULES */
  uint64_t *work, *transient, *persistent;
} work_table;

static size_t entry(const work_table *t, int module, int K, int a, int b) {
  return (((size_t)K * IPRO_MAX_MODULES + (size_t)module) * (size_t)t->B + (size_t)a) *
             (size_t)t->B +
         (size_t)b;
}

static ipro_status table_work(void *context, int module, int K, int a, int b, uint64_t *work,
                              ipro_error *err) {
  const work_table *t = context;
  if (a < 0 || b <= a || b >= t->B)
    return ipro_error_set(err, "asked for a module from boundary %d to %d", a, b);
  *work = t->work[entry(t, module, K, a, b)];
  return IPRO_OK;
}

static ipro_status table_cost(void *context, int module, int K, int a, int b, ipro_module_cost *out,
                              ipro_error *err) {
  const work_table *t = context;
  if (a < 0 || b <= a || b >= t->B)
    return ipro_error_set(err, "asked for a module from boundary %d to %d", a, b);
  out->transient_bytes = t->transient[entry(t, module, K, a, b)];
  out->persistent_bytes = t->persistent[entry(t, module, K, a, b)];
  return IPRO_OK;
}

static void check_random_tables(void) {
  srand(16);
  for (int n_cuts = 0; n_cuts <= 9; n_cuts++) {
    int B = n_cuts + 2;
    size_t count = (size_t)(IPRO_MAX_MODULES + 1) * IPRO_MAX_MODULES * (size_t)B * (size_t)B;
    work_table table = {.B = B,
                        .work = malloc(sizeof(uint64_t) * count),
                        .transient = malloc(sizeof(uint64_t) * count),
                        .persistent = malloc(sizeof(uint64_t) * count)};
    for (int round = 0; table.work && table.transient && table.persistent && round < 4; round++) {
      /* few distinct work values in the first rounds (many splits tie on the slowest module,
       * the peak decides), a wide range in the others */
      int range = round < 2 ? 5 : 1000000;
      for (size_t i = 0; i < count; i++) {
        table.work[i] = (uint64_t)(rand() % range) + 1;
        table.transient[i] = (uint64_t)(rand() % 1000000);
        table.persistent[i] = (uint64_t)(rand() % 100000);
      }
      for (int K = 1; K <= n_cuts + 1 && K <= 6; K++)
        check_search(table_work, table_cost, &table, 1000, n_cuts, K, "random table");
    }
    free(table.work);
    free(table.transient);
    free(table.persistent);
  }
}

int main(void) {
  check_random_tables();
  int checked = 0;
  ipro_test_for_each_model(NULL, check_model, &checked);
  CHECK_MSG(checked >= 2, "only %d bundled models with 2..%d cut points", checked, MAX_CUTS);
  return ipro_test_finish();
}
