/* The plan's figures (plan.h): each module's memory, FLOPs and parameters as the backend costs
 * them, the peak without each cut, the end-to-end module, and the sentences and ratios the
 * writers show. */
#include "plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "partitioner/head_choice.h"

const char *ipro_plan_grouped(uint64_t value, char *buffer, size_t size) {
  char digits[32];
  snprintf(digits, sizeof digits, "%" PRIu64, value);
  size_t length = strlen(digits), used = 0;
  for (size_t i = 0; i < length && used + 2 < size; i++) {
    if (i > 0 && (length - i) % 3 == 0) buffer[used++] = ',';
    buffer[used++] = digits[i];
  }
  buffer[used] = '\0';
  return buffer;
}

double ipro_plan_reduction(const ipro_plan *r) {
  return r->e2e.peak_bytes ? 1.0 - (double)r->split.peak_bytes / (double)r->e2e.peak_bytes : 0.0;
}

double ipro_plan_bound_kept(const ipro_plan *r) {
  if (r->bound.K == 0 || r->bound.peak_bytes >= r->e2e.peak_bytes) return 0.0;
  return ((double)r->e2e.peak_bytes - (double)r->split.peak_bytes) /
         ((double)r->e2e.peak_bytes - (double)r->bound.peak_bytes);
}

const char *ipro_plan_head_reason(const ipro_plan *r, int k, char *buffer, size_t size) {
  char limit[32];
  if (!r->settings.local.choose_heads)
    snprintf(buffer, size, "given (--aux-head %s)", r->head_shape);
  else if (r->settings.split.plan_path && r->head_limit == UINT64_MAX)
    snprintf(buffer, size, "the plan file's: the most faithful, under no limit");
  else if (r->settings.split.plan_path)
    snprintf(buffer, size,
             "the plan file's: the most faithful within its limit of %s transient "
             "bytes",
             ipro_plan_grouped(r->head_limit, limit, sizeof limit));
  else if (!r->heads_limited[k] && r->head_limit == UINT64_MAX && r->chosen_for_budget)
    snprintf(buffer, size, "the most faithful: with it the plan fits the budget");
  else if (!r->heads_limited[k] && r->head_limit == UINT64_MAX &&
           ipro_plan_bound_kept(r) >= IPRO_HEADS_KEEP_FRACTION - 1e-9)
    snprintf(buffer, size,
             "the most faithful: with it the plan keeps %.0f%% of the zero-cost-head saving",
             100.0 * IPRO_HEADS_KEEP_FRACTION);
  else if (!r->heads_limited[k] && r->head_limit == UINT64_MAX)
    snprintf(buffer, size, "the most faithful: no cheaper head lowers the peak");
  else if (!r->heads_limited[k])
    snprintf(buffer, size,
             "the most faithful that keeps this module within %s transient bytes, the limit that "
             "%s",
             ipro_plan_grouped(r->head_limit, limit, sizeof limit),
             r->chosen_for_budget ? "fits the budget" : "keeps the plan profitable");
  else
    snprintf(buffer, size,
             "a more faithful head would take this module above %s transient bytes, the limit "
             "that %s",
             ipro_plan_grouped(r->head_limit, limit, sizeof limit),
             r->chosen_for_budget ? "fits the budget" : "keeps the plan profitable");
  return buffer;
}

/* The module between boundaries a < b holds the nodes after the producer of cut a up to the
 * producer of cut b (network order); constant-folded nodes at its start are skipped in the name. */
static void module_nodes(const ipro_graph *network, const int *cut_points, int n_cut_points, int a,
                         int b, ipro_plan_module *m) {
  int output = b == n_cut_points + 1 ? network->outputs[0] : cut_points[b - 1];
  m->output_tensor = output;
  m->last_node = network->tensors[output].producer;
  m->first_node = a == 0 ? 0 : network->tensors[cut_points[a - 1]].producer + 1;
  while (m->first_node < m->last_node &&
         ipro_node_is_folded(network, &network->nodes[m->first_node]))
    m->first_node++;
}

static ipro_status module_details(const ipro_module_coster *backend, int module, int K, int a,
                                  int b, ipro_plan_module *m, ipro_error *err) {
  uint64_t ns = 0;
  if (backend->step_ns && backend->step_ns(backend->context, module, K, a, b, &ns, err) != IPRO_OK)
    return IPRO_ERROR;
  m->step_seconds = 1e-9 * (double)ns;
  return backend->details(backend->context, module, K, a, b, &m->memory, &m->flops, &m->parameters,
                          &m->head_parameters, err);
}

ipro_status ipro_plan_figures(ipro_plan *r, const ipro_module_coster *backend, ipro_error *err) {
  r->calibrated = backend->step_ns != NULL;
  const ipro_graph *network = r->network;
  const int *cut_points = r->cost->cut_points;
  int n = r->cost->n_cut_points;
  const ipro_split *s = &r->split;
  for (int k = 0; k < s->K; k++) {
    ipro_plan_module *m = &r->modules[k];
    module_nodes(network, cut_points, n, s->boundaries[k], s->boundaries[k + 1], m);
    if (module_details(backend, k, s->K, s->boundaries[k], s->boundaries[k + 1], m, err) != IPRO_OK)
      return IPRO_ERROR;
    if (m->memory.transient_bytes > r->modules[r->largest_module].memory.transient_bytes)
      r->largest_module = k;
  }
  for (int k = 0; k + 1 < s->K; k++) {
    int boundaries[IPRO_MAX_MODULES + 1], K = 0;
    for (int i = 0; i <= s->K; i++)
      if (i != k + 1) boundaries[K++] = s->boundaries[i];
    ipro_split without;
    if (ipro_split_evaluate(n, K - 1, boundaries, r->fixed_bytes, backend->cost, backend->context,
                            &without, err) != IPRO_OK)
      return IPRO_ERROR;
    r->modules[k].peak_without_cut_bytes = without.peak_bytes;
  }
  /* r->e2e, its split, is ipro_plan_choose's. */
  module_nodes(network, cut_points, n, 0, n + 1, &r->e2e_module);
  return module_details(backend, 0, 1, 0, n + 1, &r->e2e_module, err);
}

const char *ipro_plan_chosen_by(const ipro_plan *r) {
  const ipro_split_request *o = &r->settings.split;
  if (r->balanced_for_time) return "--balance time";
  if (o->plan_path) return "--plan";
  if (o->n_cut_names) return "--cuts";
  if (r->chosen_for_budget) return "--budget";
  if (o->K) return "-K";
  return "default";
}
