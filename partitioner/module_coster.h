/* What a plan asks of a backend: the costing interface the plan (plan.h) chooses with. The
 * partitioner sits below the runtime, which builds each module's real training program on its
 * executor to know its bytes (runtime/module_costing.h); the runtime hands its costing in through
 * this struct of functions and its context, so the choice and its figures stay here. Modules are
 * named as in split_choice.h: boundaries a < b, position `module` (0-based) of K. */
#ifndef IPRO_MODULE_COSTER_H
#define IPRO_MODULE_COSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/planned_memory.h"
#include "partitioner/module_program.h"
#include "partitioner/split_choice.h"
#include "partitioner/split_time.h"

typedef struct {
  /* "onednn", "reference" or "cuda": whose programs the bytes are. */
  const char *name;
  /* With the heads chosen under the last limit set; bound_cost: with heads of zero cost. */
  ipro_module_cost_fn cost, bound_cost;
  /* --aux-head auto: the transient limit heads are chosen under (UINT64_MAX: none), and the
   * largest transient cost, at most limit, of the heads chosen under it over every local module
   * of K (partitioner/head_choice.h). */
  void (*set_limit)(void *context, uint64_t transient_limit);
  ipro_status (*next_limit)(void *context, int K, uint64_t limit, uint64_t *largest,
                            ipro_error *err);
  /* The heads a local module carries under the current limit; *limited: a more faithful one
   * exceeds it. */
  ipro_status (*heads)(void *context, int module, int K, int a, int b, ipro_head_choice *head,
                       bool *limited, ipro_error *err);
  /* The module's memory, its FLOPs per training step, its parameters and its heads'. */
  ipro_status (*details)(void *context, int module, int K, int a, int b,
                         ipro_planned_memory *memory, int64_t *flops, int64_t *parameters,
                         int64_t *head_parameters, ipro_error *err);
  /* Training FLOPs per step, the work of `--balance time` (split_time.h). */
  ipro_module_work_fn flops;
  /* With --calibrate: the module's step in nanoseconds predicted from a profile measured on this
   * machine, then the work of `--balance time` instead of flops; NULL without one. */
  ipro_module_work_fn step_ns;
  /* What every plan holds besides its modules: the image batch and the labels. */
  uint64_t (*fixed_bytes)(const void *context);
  void *context;
} ipro_module_coster;

#endif
