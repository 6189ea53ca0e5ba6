/* What `infopro plan` has worked out about one split of a network, shared by its text and JSON
 * output (plan.c) and its HTML page (plan_html.c). Everything here is filled in by plan.c from the
 * partitioner's costing; the writers only present it. */
#ifndef IPRO_CLI_PLAN_H
#define IPRO_CLI_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/cost.h"
#include "local_options.h"
#include "partitioner/split_time.h"

typedef struct {
  int first_node, last_node; /* indices into the network's nodes */
  int output_tensor;         /* the cut it hands on, or the network's output for the last */
  ipro_module_memory memory;
  int64_t flops, parameters, head_parameters;
  /* For every module but the last: the peak of the same plan without the cut that ends this
   * module (K-1 modules), to tell whether that cut's heads cost more than the cut saves. */
  uint64_t peak_without_cut_bytes;
} ipro_plan_module;

typedef struct {
  const ipro_graph *network;
  const ipro_graph_cost *cost; /* per-node facts of the network (saved bytes for the chart) */
  const ipro_cli_local_options *options;
  const char *backend_name, *optimizer_name;
  char head_shape[16];
  int K;
  ipro_split split; /* the chosen plan */
  ipro_split e2e;   /* the same network trained end to end (K = 1) */
  ipro_plan_module e2e_module;
  ipro_plan_module modules[IPRO_MAX_MODULES];
  int largest_module; /* 0-based index of the module with the largest transient bytes */
  uint64_t fixed_bytes;
  uint64_t budget_bytes;  /* 0: no budget */
  bool chosen_for_budget; /* the budget chose K (no -K, --cuts or --plan) */
  /* Each local module's heads, whether --aux-head auto refused a more faithful one for its
   * memory, the transient limit it was chosen under, and the same K's peak with heads of zero
   * cost (bound.K is 0 for K = 1). */
  ipro_head_choice heads[IPRO_MAX_MODULES];
  bool heads_limited[IPRO_MAX_MODULES];
  uint64_t head_limit;
  ipro_split bound;
  bool balanced_for_time; /* --balance time chose the cuts */
  double gflops;          /* the FLOP rate module times are shown at (plan_time.c) */
} ipro_plan_report;

/* 1 - peak / e2e peak. */
double ipro_plan_reduction(const ipro_plan_report *report);
/* The share of the zero-cost-head bound's saving that the plan keeps: (e2e - peak) / (e2e -
 * bound); 0 when the bound saves nothing. */
double ipro_plan_bound_kept(const ipro_plan_report *report);
/* Why local module k got its heads, in one sentence, into buffer. */
const char *ipro_plan_head_reason(const ipro_plan_report *report, int k, char *buffer, size_t size);
/* "1,234,567" into buffer. */
const char *ipro_plan_grouped(uint64_t value, char *buffer, size_t size);
/* plan_time.c: --balance time's K cuts (partitioner/split_time.h, each module's work its
 * training FLOPs) as "T1,T2,..." into cuts_text, for the split policy to take as given cuts. */
ipro_status ipro_plan_time_balance(const ipro_graph *network, ipro_module_costing *costing,
                                   const int *cut_points, int n_cut_points, int K, char *cuts_text,
                                   size_t size, ipro_error *err);
/* Each module's expected step time at report->gflops, and the pipeline's images/s. */
void ipro_plan_print_times(const ipro_plan_report *report);
/* The report as one self-contained HTML page (inline CSS and SVG, no scripts, no fetches). */
void ipro_plan_html_write(const ipro_plan_report *report, FILE *out);

#endif
