/* Balancing a split for time rather than memory. A pipeline of modules on separate devices
 * (runtime/mpi/pipeline.h) runs at the pace of its slowest module, so for K modules the best
 * split is the one whose slowest module's step is the shortest: a bottleneck objective over the
 * same boundaries as split_choice.h, whose exact search it reuses twice. First with a module's
 * work as its only (transient) cost, nothing persistent and nothing fixed, which makes the
 * smallest peak the smallest slowest work W; then, since many splits often share W (the module
 * holding the network's widest layer sets it whatever the other cuts), among the splits whose
 * every module's work is at most W, the one with the smallest memory peak: modules over W are
 * given a transient cost no split within W can reach. The work of a module is the caller's
 * measure of its step time: `infopro plan --balance time` gives each module's training FLOPs
 * (heads, backward and update included), its time at a calibrated FLOP rate. */
#ifndef IPRO_SPLIT_TIME_H
#define IPRO_SPLIT_TIME_H

#include "partitioner/split_choice.h"

/* The work of the module between boundaries a < b as module `module` (0-based) of K. */
typedef ipro_status (*ipro_module_work_fn)(void *context, int module, int K, int a, int b,
                                           uint64_t *work, ipro_error *err);

typedef struct {
  ipro_split split;      /* boundaries and memory, as split_choice.h evaluates them */
  uint64_t slowest_work; /* the largest module's work */
} ipro_balanced_split;

/* The split into K modules whose largest module's work is the smallest possible and, among
 * those, whose peak (fixed_bytes and `cost`, as in split_choice.h) is the smallest. Both
 * callbacks get `context`. */
ipro_status ipro_split_fastest(int n_cuts, int K, ipro_module_work_fn work, uint64_t fixed_bytes,
                               ipro_module_cost_fn cost, void *context, ipro_balanced_split *out,
                               ipro_error *err);

#endif
