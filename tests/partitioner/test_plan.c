/* The plan object (partitioner/plan.h) with a backend that is not the runtime: a table of
 * pseudo-random module costs behind the costing interface (partitioner/module_coster.h), on the
 * bundled ResNet-8's real cut points (frontend only). The oracle is counted here, not by the
 * partitioner's search: every subset of K-1 cut points is enumerated and its peak (fixed +
 * Σ persistent + largest transient, from the table) summed directly.
 * - -K 3 with given heads: the plan's peak is the smallest of all subsets, its cuts are the cut
 *   tensors of its boundaries, its end-to-end peak is the one module's, chosen by "-K";
 * - --budget beside -K only checks: the same plan, not chosen for the budget;
 * - --cuts: the plan is at the given tensors, with that subset's peak;
 * - the JSON ipro_plan_write writes reads back (ipro_plan_read) with the plan's K, batch, peak
 *   and cut names, and jansson finds in it the end-to-end peak and each module's bytes as the
 *   table has them;
 * - --balance time: with the coster's FLOPs alone, the slowest module's FLOPs are the least any
 *   subset gives; with a measured step time (step_ns, what --calibrate provides) it is that
 *   time's least instead, and the two choose other cuts here (the first layers made slow). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partitioner/plan.h"
#include "partitioner/plan_file.h"
#include "support/check.h"

#define MAX_B 40
#define FIXED 1000

typedef struct {
  int B; /* boundaries 0..B-1 */
  ipro_module_cost cost[MAX_B][MAX_B];
} cost_table;

static ipro_status table_cost(void *context, int module, int K, int a, int b, ipro_module_cost *out,
                              ipro_error *err) {
  (void)module, (void)K, (void)err;
  *out = ((const cost_table *)context)->cost[a][b];
  return IPRO_OK;
}

static void no_limit(void *context, uint64_t limit) { (void)context, (void)limit; }

static ipro_status next_limit(void *context, int K, uint64_t limit, uint64_t *largest,
                              ipro_error *err) {
  (void)context, (void)K, (void)limit, (void)err;
  *largest = 0;
  return IPRO_OK;
}

static ipro_status given_heads(void *context, int module, int K, int a, int b,
                               ipro_head_choice *head, bool *limited, ipro_error *err) {
  (void)context, (void)module, (void)K, (void)a, (void)b, (void)err;
  *head = (ipro_head_choice){1, 2, IPRO_DECODER_PAPER};
  *limited = false;
  return IPRO_OK;
}

static ipro_status details(void *context, int module, int K, int a, int b,
                           ipro_planned_memory *memory, int64_t *flops, int64_t *parameters,
                           int64_t *head_parameters, ipro_error *err) {
  (void)module, (void)K, (void)err;
  const ipro_module_cost *c = &((const cost_table *)context)->cost[a][b];
  *memory = (ipro_planned_memory){.transient_bytes = c->transient_bytes,
                                  .persistent_bytes = c->persistent_bytes};
  *flops = 1000 * (b - a);
  *parameters = 10 * (b - a);
  *head_parameters = 0;
  return IPRO_OK;
}

/* Work per layer between boundaries: by FLOPs, every layer alike; by measured time, the first
 * three layers ten times slower (a decoder-heavy start that FLOPs do not see). */
static uint64_t layer_work(int layer, bool measured) {
  return measured && layer < 3 ? 10000 : 1000;
}

static uint64_t segment_work(int a, int b, bool measured) {
  uint64_t work = 0;
  for (int layer = a; layer < b; layer++)
    work += layer_work(layer, measured);
  return work;
}

static ipro_status table_flops(void *context, int module, int K, int a, int b, uint64_t *work,
                               ipro_error *err) {
  (void)context, (void)module, (void)K, (void)err;
  *work = segment_work(a, b, false);
  return IPRO_OK;
}

static ipro_status table_step_ns(void *context, int module, int K, int a, int b, uint64_t *work,
                                 ipro_error *err) {
  (void)context, (void)module, (void)K, (void)err;
  *work = segment_work(a, b, true);
  return IPRO_OK;
}

/* The least largest work of 3 modules over every subset, and its first cut. */
static uint64_t least_slowest(int B, bool measured, int *first_cut) {
  uint64_t least = UINT64_MAX;
  for (int c1 = 1; c1 < B - 1; c1++)
    for (int c2 = c1 + 1; c2 < B - 1; c2++) {
      uint64_t w[3] = {segment_work(0, c1, measured), segment_work(c1, c2, measured),
                       segment_work(c2, B - 1, measured)};
      uint64_t slowest = w[0] > w[1] ? w[0] : w[1];
      if (w[2] > slowest) slowest = w[2];
      if (slowest < least) least = slowest, *first_cut = c1;
    }
  return least;
}

static uint64_t plan_slowest(const ipro_plan *plan, bool measured) {
  uint64_t slowest = 0;
  for (int k = 0; k < plan->K; k++) {
    uint64_t w = segment_work(plan->split.boundaries[k], plan->split.boundaries[k + 1], measured);
    if (w > slowest) slowest = w;
  }
  return slowest;
}

static uint64_t fixed_bytes(const void *context) {
  (void)context;
  return FIXED;
}

static uint64_t subset_peak(const cost_table *t, const int *boundaries, int K) {
  uint64_t persistent = 0, transient = 0;
  for (int k = 0; k < K; k++) {
    const ipro_module_cost *c = &t->cost[boundaries[k]][boundaries[k + 1]];
    persistent += c->persistent_bytes;
    if (c->transient_bytes > transient) transient = c->transient_bytes;
  }
  return FIXED + persistent + transient;
}

/* The smallest peak of K modules over every subset of cut points, and its boundaries. */
static uint64_t brute_force(const cost_table *t, int K, int *best) {
  int n = t->B - 2, boundaries[4] = {0};
  uint64_t smallest = UINT64_MAX;
  for (int c1 = 1; c1 <= n; c1++)
    for (int c2 = c1 + 1; c2 <= n; c2++) {
      boundaries[1] = c1, boundaries[2] = c2, boundaries[3] = n + 1;
      uint64_t peak = subset_peak(t, boundaries, K);
      if (peak < smallest) smallest = peak, memcpy(best, boundaries, sizeof boundaries);
    }
  return smallest;
}

static void check_written(const ipro_plan *plan, const cost_table *table) {
  char path[] = "/tmp/ipro_test_plan_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  FILE *out = fdopen(fd, "w");
  ipro_plan_write(plan, out);
  fclose(out);
  ipro_plan_file read;
  ipro_error err = {{0}};
  CHECK_OK(ipro_plan_read(path, &read, &err), &err);
  CHECK_EQ_INT(read.K, plan->K);
  CHECK_EQ_INT(read.batch, plan->network->batch);
  CHECK(read.peak_bytes == plan->split.peak_bytes);
  for (int k = 0; k + 1 < plan->K; k++)
    CHECK_MSG(strcmp(read.cuts[k], plan->network->tensors[plan->cuts[k]].name) == 0,
              "cut %d: read '%s'", k + 1, read.cuts[k]);
  json_error_t error;
  json_t *root = json_load_file(path, 0, &error);
  CHECK(root != NULL);
  if (root) {
    CHECK(json_integer_value(json_object_get(root, "e2e_peak_bytes")) ==
          (json_int_t)plan->e2e.peak_bytes);
    CHECK_EQ_INT(json_array_size(json_object_get(root, "modules")), plan->K);
    for (int k = 0; k < plan->K; k++) {
      json_t *m = json_array_get(json_object_get(root, "modules"), (size_t)k);
      const ipro_module_cost *c =
          &table->cost[plan->split.boundaries[k]][plan->split.boundaries[k + 1]];
      CHECK(json_integer_value(json_object_get(m, "transient_bytes")) ==
            (json_int_t)c->transient_bytes);
      CHECK(json_integer_value(json_object_get(m, "persistent_bytes")) ==
            (json_int_t)c->persistent_bytes);
    }
    json_decref(root);
  }
  unlink(path);
}

int main(void) {
  char model[1024];
  ipro_test_path(model, sizeof model, "models/resnet8_fmnist.onnx");
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(model, 4, &network, &err), &err);
  if (!network) return ipro_test_finish();
  ipro_graph_cost cost = {0};
  CHECK_OK(ipro_graph_cost_compute(network, &cost, &err), &err);
  CHECK(cost.n_cut_points >= 3 && cost.n_cut_points + 2 <= MAX_B);
  if (cost.n_cut_points < 3 || cost.n_cut_points + 2 > MAX_B) return ipro_test_finish();

  static cost_table table;
  table.B = cost.n_cut_points + 2;
  srand(11);
  for (int a = 0; a < table.B; a++)
    for (int b = a + 1; b < table.B; b++)
      table.cost[a][b] = (ipro_module_cost){(uint64_t)(100 + rand() % 5000),
                                            (uint64_t)(50 * (b - a) + rand() % 3000)};
  ipro_module_coster backend = {.name = "table",
                                .cost = table_cost,
                                .bound_cost = table_cost,
                                .set_limit = no_limit,
                                .next_limit = next_limit,
                                .heads = given_heads,
                                .details = details,
                                .fixed_bytes = fixed_bytes,
                                .context = &table};
  ipro_plan_settings settings = {.split = {.K = 3}};
  ipro_local_settings_defaults(&settings.local);
  settings.local.choose_heads = false;
  settings.local.batch = 4;

  static ipro_plan plan;
  int best[4];
  uint64_t smallest = brute_force(&table, 3, best);
  CHECK_OK(ipro_plan_choose(network, &cost, &settings, &backend, &plan, &err), &err);
  CHECK_OK(ipro_plan_figures(&plan, &backend, &err), &err);
  CHECK_EQ_INT(plan.K, 3);
  CHECK_MSG(plan.split.peak_bytes == smallest, "peak %llu, brute force %llu",
            (unsigned long long)plan.split.peak_bytes, (unsigned long long)smallest);
  for (int k = 1; k < plan.K; k++)
    CHECK_EQ_INT(plan.cuts[k - 1], cost.cut_points[plan.split.boundaries[k] - 1]);
  const ipro_module_cost *whole = &table.cost[0][table.B - 1];
  CHECK(plan.e2e.peak_bytes == FIXED + whole->persistent_bytes + whole->transient_bytes);
  CHECK(strcmp(ipro_plan_chosen_by(&plan), "-K") == 0);
  CHECK(strcmp(plan.backend_name, "table") == 0);
  check_written(&plan, &table);

  /* --budget beside -K only checks the plan. */
  settings.split.budget_bytes = 1;
  static ipro_plan checked;
  CHECK_OK(ipro_plan_choose(network, &cost, &settings, &backend, &checked, &err), &err);
  CHECK(!checked.chosen_for_budget && checked.budget_bytes == 1);
  CHECK(checked.split.peak_bytes == smallest && checked.K == 3);

  /* --cuts: the plan is at the given tensors, the first two cut points. */
  const char *cuts[2] = {network->tensors[cost.cut_points[0]].name,
                         network->tensors[cost.cut_points[1]].name};
  settings.split = (ipro_split_request){.n_cut_names = 2, .cut_names = cuts};
  static ipro_plan given;
  CHECK_OK(ipro_plan_choose(network, &cost, &settings, &backend, &given, &err), &err);
  int boundaries[4] = {0, 1, 2, table.B - 1};
  CHECK_EQ_INT(given.K, 3);
  CHECK(given.split.peak_bytes == subset_peak(&table, boundaries, 3));
  CHECK_EQ_INT(given.cuts[0], cost.cut_points[0]);
  CHECK_EQ_INT(given.cuts[1], cost.cut_points[1]);
  CHECK(strcmp(ipro_plan_chosen_by(&given), "--cuts") == 0);

  /* --balance time, by FLOPs and by measured step time */
  int by_flops_cut = 0, by_time_cut = 0;
  uint64_t least_flops = least_slowest(table.B, false, &by_flops_cut);
  uint64_t least_time = least_slowest(table.B, true, &by_time_cut);
  CHECK_MSG(by_flops_cut != by_time_cut, "the table was meant to cut differently by time");
  settings.split = (ipro_split_request){.K = 3};
  settings.balance_time = true;
  backend.flops = table_flops;
  static ipro_plan by_flops, by_time;
  CHECK_OK(ipro_plan_choose(network, &cost, &settings, &backend, &by_flops, &err), &err);
  CHECK_MSG(plan_slowest(&by_flops, false) == least_flops,
            "by FLOPs: slowest module %llu, the least any split gives %llu",
            (unsigned long long)plan_slowest(&by_flops, false), (unsigned long long)least_flops);
  backend.step_ns = table_step_ns;
  CHECK_OK(ipro_plan_choose(network, &cost, &settings, &backend, &by_time, &err), &err);
  CHECK_MSG(plan_slowest(&by_time, true) == least_time,
            "by measured time: slowest module %llu, the least any split gives %llu",
            (unsigned long long)plan_slowest(&by_time, true), (unsigned long long)least_time);
  CHECK_MSG(by_time.split.boundaries[1] != by_flops.split.boundaries[1],
            "measured times chose the FLOPs' cuts (first at %d)", by_time.split.boundaries[1]);

  ipro_graph_cost_release(&cost);
  ipro_graph_free(network);
  return ipro_test_finish();
}
