/* Choosing where to cut: the exact dynamic programme over cut points.
 *
 * Boundaries are numbered 0 (the network's input), 1..C (the C cut points in topological order)
 * and C+1 (the network's output); a module spans two boundaries a < b. Its cost, supplied by the
 * caller (the memory planner behind it), has two parts: transient bytes (its arena plus the
 * activations it receives and hands on, all of which live in one shared block whose size is the
 * largest module's) and persistent bytes (its parameters, gradients, optimizer state, heads).
 *
 * The peak of a plan is fixed_bytes + Σ persistent + max transient, and that sum is what is
 * minimised: for K modules the chosen cuts have the smallest peak of all C(n_cuts, K-1) cut
 * sets. With a budget, K grows from 1 until the smallest
 * peak for K fits, so as few modules as possible are used, and among those the peak is the
 * smallest. */
#ifndef IPRO_SPLIT_CHOICE_H
#define IPRO_SPLIT_CHOICE_H

#include <stddef.h>
#include <stdint.h>

#include "codegen/training_graph.h" /* IPRO_MAX_MODULES */
#include "ir/error.h"

typedef struct {
  uint64_t transient_bytes;
  uint64_t persistent_bytes;
} ipro_module_cost;

/* Cost of the module between boundaries a < b when it is module `module` (0-based) of K: the
 * position matters because the heads and their λ depend on it. IPRO_ERROR stops the search. */
typedef ipro_status (*ipro_module_cost_fn)(void *context, int module, int K, int a, int b,
                                           ipro_module_cost *out, ipro_error *err);

typedef struct {
  int K;
  int boundaries[IPRO_MAX_MODULES + 1]; /* 0 = b_0 < b_1 < ... < b_K = C+1 */
  uint64_t max_transient_bytes, persistent_bytes, peak_bytes;
} ipro_split;

/* The split into K modules with the smallest peak, of a network with n_cuts cut points. */
ipro_status ipro_split_smallest_peak(int n_cuts, int K, uint64_t fixed_bytes,
                                     ipro_module_cost_fn cost, void *context, ipro_split *out,
                                     ipro_error *err);
/* The fewest modules (up to max_K) whose smallest-peak split fits budget_bytes. When none does, the
 * error states the smallest peak found and its K. */
ipro_status ipro_split_for_budget(int n_cuts, int max_K, uint64_t fixed_bytes,
                                  uint64_t budget_bytes, ipro_module_cost_fn cost, void *context,
                                  ipro_split *out, ipro_error *err);
/* The split given by the boundaries (strictly increasing, from 0 to n_cuts+1), with its costs. */
ipro_status ipro_split_evaluate(int n_cuts, int K, const int *boundaries, uint64_t fixed_bytes,
                                ipro_module_cost_fn cost, void *context, ipro_split *out,
                                ipro_error *err);

#endif
