/* Choosing the heads with the cuts (--aux-head auto): the paper's heads where the plan can
 * afford them, cheaper ones (a smaller classifier head, then the reduced decoder) at the cuts
 * where they would eat the saving.
 *
 * The caller's costing prices a local module with the most faithful head whose transient bytes
 * stay within a limit L, and the cheapest when none does (module_costing.h); for a fixed L the
 * split DP (split_choice.h) is exact, giving plan(L). The choice is plan(L*) for the largest L*
 * whose peak is at most the target. plan(L) changes only where L falls below the transient cost
 * of a head chosen under it. The scan tries no limit first (the paper's heads everywhere); then,
 * since a head that alone takes its module above target − fixed bytes is in no plan that meets
 * the target, L = target − fixed; then it steps to just below the largest cost of a head chosen
 * under L over every candidate module, which visits each distinct plan once, from the most
 * faithful down, and builds cheaper heads only for the modules refused the more faithful ones.
 * L* is thus no limit, or the largest L ≤ target − fixed whose plan meets the target. When no
 * limit meets the target, the plan with the
 * smallest peak (the largest such). The target of -K is the end-to-end peak less 80% of what the
 * same K saves with heads of zero cost (the "bound"); of --budget, the budget. */
#ifndef IPRO_HEAD_CHOICE_H
#define IPRO_HEAD_CHOICE_H

#include "partitioner/split_choice.h"

typedef struct {
  ipro_module_cost_fn cost;       /* each local module's head chosen under the last limit set */
  ipro_module_cost_fn bound_cost; /* heads of zero cost */
  void (*set_limit)(void *context, uint64_t transient_limit);
  /* The largest transient cost, at most limit, of the heads chosen under limit over every
   * module that can be a local module of K (0 when every one already has its cheapest). */
  ipro_status (*next_limit)(void *context, int K, uint64_t limit, uint64_t *largest,
                            ipro_error *err);
  void *context;
} ipro_head_costs;

/* The share of the bound's saving a -K plan must keep before heads are made cheaper. */
#define IPRO_HEADS_KEEP_FRACTION 0.8

/* K modules (balanced, or at the given boundaries when boundaries is not NULL) with the most
 * faithful heads whose peak is at most target_peak. Leaves the costing's limit at the one the
 * returned split was costed with, and writes it to *limit (UINT64_MAX: none). */
ipro_status ipro_heads_choose_split(int n_cuts, int K, const int *boundaries, uint64_t fixed_bytes,
                                    uint64_t target_peak, const ipro_head_costs *costs,
                                    ipro_split *out, uint64_t *limit, ipro_error *err);

/* The fewest modules (up to max_K) whose split with heads chosen for target budget_bytes fits
 * it; the error, when none does, states the smallest peak found and its K. */
ipro_status ipro_heads_split_for_budget(int n_cuts, int max_K, uint64_t fixed_bytes,
                                        uint64_t budget_bytes, const ipro_head_costs *costs,
                                        ipro_split *out, uint64_t *limit, ipro_error *err);

/* The -K target: e2e_peak − IPRO_HEADS_KEEP_FRACTION · (e2e_peak − bound_peak), or bound_peak
 * when the cuts save nothing even with free heads. */
uint64_t ipro_heads_target_peak(uint64_t e2e_peak, uint64_t bound_peak);

#endif
