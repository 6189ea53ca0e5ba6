/* The plan: where a network is cut into gradient-isolated modules, with which heads, and what
 * each module and the whole cost, beside end-to-end training of the same network. `infopro plan`,
 * `infopro train` and `infopro compile` all choose through ipro_plan_choose, so the split a plan
 * shows is the split training uses.
 *
 * The choice is the split policy's (split_policy.h: --plan FILE, --cuts, --budget, -K), with
 * --balance time's cuts (split_time.h) taken as given, then the heads (head_choice.h, with
 * --aux-head auto). The bytes come from the backend (module_coster.h): the runtime's costing,
 * which builds and plans each module's real training program. The plan is written as JSON
 * (schemas/plan.schema.json) by ipro_plan_write and read back by ipro_plan_read
 * (plan_file.h). */
#ifndef IPRO_PLAN_H
#define IPRO_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/cost.h"
#include "partitioner/module_coster.h"
#include "partitioner/split_policy.h"

typedef struct {
  ipro_split_request split;  /* -K, --budget, --cuts, --plan; --budget beside one of the others
                                only checks its peak */
  ipro_local_settings local; /* the heads (choose_heads: --aux-head auto), loss, λ, optimizer */
  bool balance_time;         /* --balance time: with -K N, the cuts whose slowest module's step
                                is the shortest */
  const char *made_by;       /* what wrote the plan (`infopro --version`'s first line), written
                                as "infopro" when not NULL */
} ipro_plan_settings;

typedef struct {
  int first_node, last_node; /* indices into the network's nodes */
  int output_tensor;         /* the cut it hands on, or the network's output for the last */
  ipro_planned_memory memory;
  int64_t flops, parameters, head_parameters;
  /* With --calibrate: the step time predicted from the profile measured on this machine; 0
   * otherwise. */
  double step_seconds;
  /* For every module but the last: the peak of the same plan without the cut that ends this
   * module (K-1 modules), to tell whether that cut's heads cost more than the cut saves. */
  uint64_t peak_without_cut_bytes;
} ipro_plan_module;

typedef struct {
  const ipro_graph *network;
  const ipro_graph_cost *cost; /* per-node facts of the network: its cut points, saved bytes */
  ipro_plan_settings settings;
  const char *backend_name, *optimizer_name;
  char head_shape[16];
  int K;
  int cuts[IPRO_MAX_MODULES]; /* tensor indices of the network, K-1 of them */
  ipro_split split;           /* the chosen plan */
  ipro_split e2e;             /* the same network trained end to end (K = 1) */
  uint64_t fixed_bytes;
  uint64_t budget_bytes;  /* 0: no budget */
  bool chosen_for_budget; /* the budget chose K (no -K, --cuts or --plan) */
  /* Each local module's heads, whether --aux-head auto refused a more faithful one for its
   * memory, the transient limit it was chosen under (UINT64_MAX: none), and the same K's peak
   * with heads of zero cost (bound.K is 0 for K = 1). */
  ipro_head_choice heads[IPRO_MAX_MODULES];
  bool heads_limited[IPRO_MAX_MODULES];
  uint64_t head_limit;
  int64_t plan_batch; /* --plan FILE: the batch it was made at (split_policy.h); otherwise 0 */
  /* --plan FILE made with --calibrate: its modules' calibrated step seconds; otherwise 0 */
  double plan_module_seconds[IPRO_MAX_MODULES];
  ipro_split bound;
  bool balanced_for_time; /* --balance time chose the cuts */
  /* Why the plan is not what was asked (a network without cut points asked for K > 1), or
   * NULL. */
  const char *note;
  /* Filled in by ipro_plan_figures: each module's figures and the end-to-end module's. */
  ipro_plan_module e2e_module;
  ipro_plan_module modules[IPRO_MAX_MODULES];
  int largest_module; /* 0-based index of the module with the largest transient bytes */
  bool calibrated;    /* the step times are --calibrate's (step_seconds), not --gflops' */
  double gflops;      /* the caller's: the FLOP rate module times are shown at */
} ipro_plan;

/* The split settings ask for on network (normalised and inferred at settings->local.batch, cost
 * its per-node facts), costed by backend, with its heads, bound and end-to-end peak. With no
 * split option, K = 1. network, cost and backend must outlive the plan's use. */
ipro_status ipro_plan_choose(const ipro_graph *network, const ipro_graph_cost *cost,
                             const ipro_plan_settings *settings, const ipro_module_coster *backend,
                             ipro_plan *plan, ipro_error *err);
/* Each module's figures (plan_figures.c): memory, FLOPs, parameters, the peak without its cut,
 * and the whole network's as the one module of end-to-end training. */
ipro_status ipro_plan_figures(ipro_plan *plan, const ipro_module_coster *backend, ipro_error *err);
/* The plan with its figures as JSON (schemas/plan.schema.json). */
void ipro_plan_write(const ipro_plan *plan, FILE *out);

/* Which option chose the split: "--balance time", "--plan", "--cuts", "--budget", "-K" or
 * "default". */
const char *ipro_plan_chosen_by(const ipro_plan *plan);
/* 1 - peak / e2e peak. */
double ipro_plan_reduction(const ipro_plan *plan);
/* The share of the zero-cost-head bound's saving that the plan keeps: (e2e - peak) / (e2e -
 * bound); 0 when the bound saves nothing. */
double ipro_plan_bound_kept(const ipro_plan *plan);
/* Why local module k got its heads, in one sentence, into buffer. */
const char *ipro_plan_head_reason(const ipro_plan *plan, int k, char *buffer, size_t size);
/* "1,234,567" into buffer. */
const char *ipro_plan_grouped(uint64_t value, char *buffer, size_t size);

#endif
