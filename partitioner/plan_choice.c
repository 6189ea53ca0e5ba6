/* Choosing the plan (plan.h): the split policy's split, --balance time's cuts, the heads of
 * --aux-head auto, the zero-cost-head bound and the end-to-end peak, all costed by the backend. */
#include "plan.h"

#include <stdio.h>
#include <string.h>

#include "partitioner/head_choice.h"

/* The backend's costing as the head choice asks for it (head_choice.h). */
static ipro_head_costs head_costs(const ipro_module_coster *backend) {
  return (ipro_head_costs){backend->cost, backend->bound_cost, backend->set_limit,
                           backend->next_limit, backend->context};
}

/* K > 1 modules, at the given boundaries or with the smallest peak, with the most faithful heads
 * that keep IPRO_HEADS_KEEP_FRACTION of the zero-cost-head bound's saving (--aux-head auto). */
static ipro_status split_with_heads(const ipro_module_coster *backend, int n_cut_points, int K,
                                    const int *boundaries, ipro_plan *out, ipro_error *err) {
  uint64_t fixed = backend->fixed_bytes(backend->context);
  ipro_head_costs costs = head_costs(backend);
  ipro_split bound;
  ipro_status status = boundaries
                           ? ipro_split_evaluate(n_cut_points, K, boundaries, fixed,
                                                 backend->bound_cost, backend->context, &bound, err)
                           : ipro_split_smallest_peak(n_cut_points, K, fixed, backend->bound_cost,
                                                      backend->context, &bound, err);
  if (status != IPRO_OK) return status;
  uint64_t target = ipro_heads_target_peak(out->e2e.peak_bytes, bound.peak_bytes);
  return ipro_heads_choose_split(n_cut_points, K, boundaries, fixed, target, &costs, &out->split,
                                 &out->head_limit, err);
}

/* Each local module's heads under the limit the split was chosen with, and the zero-cost-head
 * bound of the same K (with the smallest peak, or at the user's own cuts when given). */
static ipro_status describe_heads(const ipro_module_coster *backend, int n_cut_points, bool given,
                                  ipro_plan *out, ipro_error *err) {
  const ipro_split *s = &out->split;
  for (int k = 0; k + 1 < s->K; k++)
    if (backend->heads(backend->context, k, s->K, s->boundaries[k], s->boundaries[k + 1],
                       &out->heads[k], &out->heads_limited[k], err) != IPRO_OK)
      return IPRO_ERROR;
  if (s->K == 1) return IPRO_OK;
  uint64_t fixed = backend->fixed_bytes(backend->context);
  if (given)
    return ipro_split_evaluate(n_cut_points, s->K, s->boundaries, fixed, backend->bound_cost,
                               backend->context, &out->bound, err);
  return ipro_split_smallest_peak(n_cut_points, s->K, fixed, backend->bound_cost, backend->context,
                                  &out->bound, err);
}

/* The split and heads of request (partitioner/split_policy.h, then head_choice.h); with
 * balanced (--balance time's split), that split, taken as given cuts are. */
static ipro_status choose_split(const ipro_graph *network, const ipro_split_request *o,
                                const ipro_split *balanced, bool choose_heads,
                                const ipro_module_coster *backend, const int *cut_points,
                                int n_cut_points, ipro_plan *out, ipro_error *err) {
  out->head_limit = UINT64_MAX;
  backend->set_limit(backend->context, UINT64_MAX);
  uint64_t fixed = backend->fixed_bytes(backend->context);
  bool given = o->plan_path || o->n_cut_names || balanced;
  ipro_status status = IPRO_OK;
  if (choose_heads && o->budget_bytes && !given && !o->K) {
    /* The fewest modules that fit with heads chosen for the budget: a split the paper's heads
     * cannot fit may fit with cheaper ones. */
    ipro_head_costs costs = head_costs(backend);
    status = ipro_heads_split_for_budget(n_cut_points, IPRO_MAX_MODULES, fixed, o->budget_bytes,
                                         &costs, &out->split, &out->head_limit, err);
  } else {
    /* The policy reads the plan file or the cuts, or chooses them, with the paper's heads;
     * --aux-head auto then chooses the heads with the cuts. */
    if (balanced) {
      out->split = *balanced;
    } else {
      ipro_split_choice chosen;
      status = ipro_split_choose(network, o, cut_points, n_cut_points, fixed, backend->cost,
                                 backend->context, &chosen, &out->note, err);
      if (status != IPRO_OK) return status;
      out->split = chosen.split;
      out->plan_batch = chosen.plan_batch;
      memcpy(out->plan_module_seconds, chosen.module_seconds, sizeof out->plan_module_seconds);
      if (o->plan_path && choose_heads && out->split.K > 1) {
        /* the plan file's heads: chosen again under the limit they were chosen under, and the
         * split costed with them */
        int boundaries[IPRO_MAX_MODULES + 1];
        memcpy(boundaries, out->split.boundaries, sizeof(int) * (size_t)(out->split.K + 1));
        out->head_limit = chosen.head_limit;
        backend->set_limit(backend->context, chosen.head_limit);
        status = ipro_split_evaluate(n_cut_points, out->split.K, boundaries, fixed, backend->cost,
                                     backend->context, &out->split, err);
      }
    }
    int K = out->split.K;
    if (status == IPRO_OK && choose_heads && K > 1 && !o->plan_path) {
      int boundaries[IPRO_MAX_MODULES + 1];
      memcpy(boundaries, out->split.boundaries, sizeof(int) * (size_t)(K + 1));
      status = split_with_heads(backend, n_cut_points, K, given ? boundaries : NULL, out, err);
    }
  }
  if (status != IPRO_OK) return status;
  out->K = out->split.K;
  for (int k = 1; k < out->K; k++)
    out->cuts[k - 1] = cut_points[out->split.boundaries[k] - 1];
  return describe_heads(backend, n_cut_points, given, out, err);
}

ipro_status ipro_plan_choose(const ipro_graph *network, const ipro_graph_cost *cost,
                             const ipro_plan_settings *settings, const ipro_module_coster *backend,
                             ipro_plan *plan, ipro_error *err) {
  memset(plan, 0, sizeof *plan);
  const ipro_split_request *asked = &settings->split;
  const ipro_head_options *heads = &settings->local.heads;
  plan->network = network;
  plan->cost = cost;
  plan->settings = *settings;
  plan->backend_name = backend->name;
  plan->optimizer_name = settings->local.optimizer == IPRO_OPTIMIZER_ADAMW ? "adamw" : "sgd";
  snprintf(plan->head_shape, sizeof plan->head_shape, "%dc%df", heads->convs, heads->fcs);
  plan->budget_bytes = asked->budget_bytes;
  plan->balanced_for_time = settings->balance_time;
  plan->fixed_bytes = backend->fixed_bytes(backend->context);
  /* With -K, --cuts or --plan the budget is only checked; alone, it chooses K. */
  ipro_split_request request = *asked;
  plan->chosen_for_budget =
      asked->budget_bytes && !asked->K && !asked->n_cut_names && !asked->plan_path;
  if (!plan->chosen_for_budget) request.budget_bytes = 0;
  /* The end-to-end peak first: the heads of --aux-head auto are chosen against it. */
  const int e2e_boundaries[2] = {0, cost->n_cut_points + 1};
  ipro_status status = ipro_split_evaluate(cost->n_cut_points, 1, e2e_boundaries, plan->fixed_bytes,
                                           backend->cost, backend->context, &plan->e2e, err);
  /* --balance time: the K modules of the least largest work (split_time.h, each module's work
   * its step time predicted from a measured profile with --calibrate, else its training FLOPs),
   * then taken as given cuts are (heads chosen for them as for --cuts). A K the network's cut
   * points cannot give is left to the split policy, which says what it does. */
  ipro_balanced_split balanced;
  bool balance = settings->balance_time && asked->K > 1 && asked->K - 1 <= cost->n_cut_points;
  if (status == IPRO_OK && balance)
    status = ipro_split_fastest(cost->n_cut_points, asked->K,
                                backend->step_ns ? backend->step_ns : backend->flops,
                                plan->fixed_bytes, backend->cost, backend->context, &balanced, err);
  if (status == IPRO_OK)
    status = choose_split(network, &request, balance ? &balanced.split : NULL,
                          settings->local.choose_heads, backend, cost->cut_points,
                          cost->n_cut_points, plan, err);
  return status;
}
