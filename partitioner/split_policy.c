/* The split policy of split_policy.h: names to boundaries, and which search a request means. */
#include "split_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/cost.h"
#include "partitioner/plan_file.h"

/* Index of name among the cut points, or an error naming it. */
static ipro_status cut_boundary(const ipro_graph *network, const char *name, const int *cut_points,
                                int n_cut_points, int *boundary, ipro_error *err) {
  int tensor = ipro_graph_find_tensor(network, name);
  if (tensor < 0) return ipro_error_set(err, "the network has no tensor '%s'", name);
  for (int c = 0; c < n_cut_points; c++)
    if (cut_points[c] == tensor) {
      *boundary = c + 1;
      return IPRO_OK;
    }
  char why[512];
  ipro_graph_explain_not_cut(network, tensor, why, sizeof why);
  return ipro_error_set(err, "'%s' is not a cut point (%s); see `infopro inspect`", name, why);
}

typedef struct {
  const int *cut_points;
  int n_cut_points;
  uint64_t fixed_bytes;
  ipro_module_cost_fn cost;
  void *context;
} costed_cuts;

static ipro_status split_from_names(const ipro_graph *network, char names[][IPRO_PLAN_NAME_BYTES],
                                    int n_names, const costed_cuts *c, ipro_split_choice *out,
                                    ipro_error *err) {
  const int *cut_points = c->cut_points;
  int n_cut_points = c->n_cut_points;
  int boundaries[IPRO_MAX_MODULES + 1];
  if (n_names + 1 > IPRO_MAX_MODULES)
    return ipro_error_set(err, "at most %d modules", IPRO_MAX_MODULES);
  boundaries[0] = 0;
  for (int k = 0; k < n_names; k++) {
    if (cut_boundary(network, names[k], cut_points, n_cut_points, &boundaries[k + 1], err) !=
        IPRO_OK)
      return IPRO_ERROR;
    if (boundaries[k + 1] <= boundaries[k])
      return ipro_error_set(err, "the cuts must be distinct and in network order ('%s')", names[k]);
  }
  boundaries[n_names + 1] = n_cut_points + 1;
  return ipro_split_evaluate(n_cut_points, n_names + 1, boundaries, c->fixed_bytes, c->cost,
                             c->context, &out->split, err);
}

ipro_status ipro_split_choose(const ipro_graph *network, const ipro_split_request *o,
                              const int *cut_points, int n_cut_points, uint64_t fixed,
                              ipro_module_cost_fn cost, void *context, ipro_split_choice *out,
                              const char **why, ipro_error *err) {
  memset(out, 0, sizeof *out);
  if (why) *why = NULL;
  costed_cuts costed = {cut_points, n_cut_points, fixed, cost, context};
  ipro_status status;
  ipro_plan_file *plan = calloc(1, sizeof *plan); /* holds the names of --plan or --cuts */
  if (!plan) return ipro_error_set(err, "out of memory choosing a split");
  char(*names)[IPRO_PLAN_NAME_BYTES] = plan->cuts;
  int n_names = 0;
  out->head_limit = UINT64_MAX;
  if (o->plan_path) {
    status = ipro_plan_read(o->plan_path, plan, err);
    n_names = plan->K - 1;
    out->head_limit = plan->head_limit_bytes;
    out->plan_batch = plan->batch;
    memcpy(out->module_seconds, plan->module_seconds, sizeof out->module_seconds);
    /* a plan made for another model names tensors this one lacks: say whose plan it is */
    if (status == IPRO_OK &&
        split_from_names(network, names, n_names, &costed, out, err) != IPRO_OK)
      status = ipro_error_prefix(err, "the plan %s, made for %s, does not fit this network",
                                 o->plan_path, plan->model);
  } else if (o->n_cut_names >= IPRO_MAX_MODULES) {
    status = ipro_error_set(err, "%d cuts make %d modules; at most %d", o->n_cut_names,
                            o->n_cut_names + 1, IPRO_MAX_MODULES);
  } else if (o->n_cut_names) {
    for (; n_names < o->n_cut_names; n_names++)
      snprintf(names[n_names], IPRO_PLAN_NAME_BYTES, "%s", o->cut_names[n_names]);
    status = split_from_names(network, names, n_names, &costed, out, err);
  } else if (o->budget_bytes) {
    status = ipro_split_for_budget(n_cut_points, IPRO_MAX_MODULES, fixed, o->budget_bytes, cost,
                                   context, &out->split, err);
  } else {
    int K = o->K ? o->K : 1;
    if (K > 1 && n_cut_points == 0) {
      if (why)
        *why = "the network has no cut point (no activation is ever the only one alive), so it "
               "trains end to end";
      K = 1;
    }
    if (K - 1 > n_cut_points)
      status = ipro_error_set(err, "-K %d needs %d cut points; the network has %d", K, K - 1,
                              n_cut_points);
    else
      status = ipro_split_smallest_peak(n_cut_points, K, fixed, cost, context, &out->split, err);
  }
  free(plan);
  if (status != IPRO_OK) return status;
  out->K = out->split.K;
  return IPRO_OK;
}
