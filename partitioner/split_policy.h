/* The split policy: which split a user's request means, on a network with its cut points found.
 * One of, in this order of precedence:
 *   --plan FILE    the cuts of a plan file (plan_file.h), checked against this network;
 *   --cuts T1,...  the user's own tensors, each a cut point, in network order;
 *   --budget B     the fewest modules whose smallest peak fits B (split_choice.h);
 *   -K N           the smallest peak for N modules; nothing: N = 1 (end to end).
 * Costs come through the callback (the runtime's module costing behind it for `infopro plan`
 * and `infopro train`), so this stays below the runtime. */
#ifndef IPRO_SPLIT_POLICY_H
#define IPRO_SPLIT_POLICY_H

#include <stdint.h>

#include "ir/graph.h"
#include "partitioner/split_choice.h"

typedef struct {
  int K;                 /* 0: not given */
  uint64_t budget_bytes; /* 0: not given */
  const char *plan_path; /* NULL: not given */
  /* The user's own cuts (--cuts, or a checkpoint's), whole tensor names in network order; 0:
   * not given */
  int n_cut_names;
  const char *const *cut_names;
} ipro_split_request;

typedef struct {
  int K;
  ipro_split split; /* boundaries among the network's cut points, costs, peak */
  /* With --plan FILE: the limit the file's heads were chosen under (UINT64_MAX: none);
   * otherwise UINT64_MAX. */
  uint64_t head_limit;
  /* With --plan FILE: the batch the file was made at (its cuts are costed again at the network's
   * batch here; the head limit is kept as written); otherwise 0. */
  int64_t plan_batch;
  /* With --plan FILE made with --calibrate: each module's calibrated step seconds; otherwise 0. */
  double module_seconds[IPRO_MAX_MODULES];
} ipro_split_choice;

/* cut_points: the network's cut tensors in order. A network without cut points asked for K > 1
 * trains end to end, and *why (if not NULL) says so. */
ipro_status ipro_split_choose(const ipro_graph *network, const ipro_split_request *request,
                              const int *cut_points, int n_cut_points, uint64_t fixed_bytes,
                              ipro_module_cost_fn cost, void *context, ipro_split_choice *out,
                              const char **why, ipro_error *err);

#endif
