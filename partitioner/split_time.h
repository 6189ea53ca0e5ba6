/* Balancing a split for time rather than memory. A pipeline of modules on separate devices
 * (runtime/mpi/pipeline.h) runs at the pace of its slowest module, so for K modules the best
 * split is the one whose slowest module's step is the shortest: a bottleneck objective over the
 * same boundaries as split_choice.h, whose exact search it reuses (a module's work as its only,
 * transient, cost, with nothing persistent and nothing fixed, makes the smallest peak the
 * smallest maximum). The work of a module is the caller's measure of its step time: `infopro
 * plan --balance time` gives each module's training FLOPs (heads, backward and update included),
 * its time at a calibrated FLOP rate. */
#ifndef IPRO_SPLIT_TIME_H
#define IPRO_SPLIT_TIME_H

#include "partitioner/split_choice.h"

/* The work of the module between boundaries a < b as module `module` (0-based) of K. */
typedef ipro_status (*ipro_module_work_fn)(void *context, int module, int K, int a, int b,
                                           uint64_t *work, ipro_error *err);

typedef struct {
  int K;
  int boundaries[IPRO_MAX_MODULES + 1]; /* 0 = b_0 < b_1 < ... < b_K = n_cuts + 1 */
  uint64_t slowest_work;                /* the largest module's work */
} ipro_balanced_split;

/* The split into K modules whose largest module's work is the smallest possible. */
ipro_status ipro_split_fastest(int n_cuts, int K, ipro_module_work_fn work, void *context,
                               ipro_balanced_split *out, ipro_error *err);

#endif
