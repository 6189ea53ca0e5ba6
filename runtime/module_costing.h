/* The partitioner's memory costs, measured the only trustworthy way: for a candidate module the
 * exact training program the trainer would run is built (partitioner/module_program.h), its
 * kernels are prepared on the backend (so library workspaces are known), the arena is planned,
 * and nothing is allocated. The result goes through the same formula the trainer allocates with
 * (module_memory.h). Costs are cached per (first cut, last cut, which heads it carries). */
#ifndef IPRO_MODULE_COSTING_H
#define IPRO_MODULE_COSTING_H

#include "partitioner/module_coster.h"
#include "partitioner/module_program.h"
#include "partitioner/split_choice.h"
#include "partitioner/split_time.h"
#include "runtime/backend.h"
#include "runtime/module_memory.h"
#include "runtime/step_calibration.h"

typedef struct ipro_module_costing ipro_module_costing;

/* network: normalised and inferred at settings->batch; cut_points: its cut tensors in order. */
ipro_status ipro_module_costing_create(const ipro_graph *network, const int *cut_points, int n_cuts,
                                       const ipro_local_settings *settings, bool reference,
                                       ipro_module_costing **out, ipro_error *err);
/* The same on a chosen device: library workspaces (cuDNN's convolutions) depend on it, so a plan
 * for the GPU is costed on the CUDA backend's planning form, which needs no GPU
 * (ipro_backend_create_cuda_planning). */
ipro_status ipro_module_costing_create_on(const ipro_graph *network, const int *cut_points,
                                          int n_cuts, const ipro_local_settings *settings,
                                          ipro_device device, bool reference,
                                          ipro_module_costing **out, ipro_error *err);
/* An ipro_module_cost_fn (context: the costing). */
ipro_status ipro_module_costing_cost(void *context, int module, int K, int a, int b,
                                     ipro_module_cost *out, ipro_error *err);
/* The same with the heads of zero cost: every local module carries only the least a local loss
 * needs (a global average pool and one linear layer, cross-entropy), so a split costed by it is
 * the bound of what the cuts alone save. */
ipro_status ipro_module_costing_bound_cost(void *context, int module, int K, int a, int b,
                                           ipro_module_cost *out, ipro_error *err);
/* With --aux-head auto: a local module carries the most faithful head whose transient bytes stay
 * within transient_limit (UINT64_MAX at creation: always the paper's 1c2f), else the cheapest. */
void ipro_module_costing_set_head_limit(void *context, uint64_t transient_limit);
/* An ipro_head_costs.next_limit: the largest transient cost, at most limit, of the heads
 * chosen under limit over every local module of K (0 when each has its cheapest already). */
ipro_status ipro_module_costing_next_limit(void *context, int K, uint64_t limit, uint64_t *largest,
                                           ipro_error *err);
/* The heads the module carries under the current limit; *limited: a more faithful one exists
 * but exceeds the limit. */
ipro_status ipro_module_costing_heads(ipro_module_costing *costing, int module, int K, int a, int b,
                                      ipro_head_choice *head, bool *limited, ipro_error *err);
/* The same module's full memory picture and its FLOPs per training step. */
ipro_status ipro_module_costing_details(ipro_module_costing *costing, int module, int K, int a,
                                        int b, ipro_module_memory *memory, int64_t *flops,
                                        int64_t *parameters, int64_t *head_parameters,
                                        ipro_error *err);
/* An ipro_module_work_fn (partitioner/split_time.h; context: the costing): the module's training
 * FLOPs per step (forward, heads, backward and update), the time model of `--balance time`. */
ipro_status ipro_module_costing_flops(void *context, int module, int K, int a, int b,
                                      uint64_t *work, ipro_error *err);
/* --calibrate: measures the network's training programs on this machine (step_calibration.h,
 * steps timed steps) and from then on predicts every module's step time from that profile. */
ipro_status ipro_module_costing_calibrate(ipro_module_costing *costing, int steps, ipro_error *err);
/* The calibration, or NULL without one. */
const ipro_step_calibration *ipro_module_costing_calibration(const ipro_module_costing *costing);
/* An ipro_module_work_fn after ipro_module_costing_calibrate: the module's predicted step in
 * nanoseconds (the calibrated time model of `--balance time`). */
ipro_status ipro_module_costing_step_ns(void *context, int module, int K, int a, int b,
                                        uint64_t *work, ipro_error *err);
/* What every plan holds besides its modules: the image batch and the labels. */
uint64_t ipro_module_costing_fixed_bytes(const ipro_module_costing *costing);
/* How many distinct programs were built so far. */
int ipro_module_costing_programs_built(const ipro_module_costing *costing);
void ipro_module_costing_free(ipro_module_costing *costing);

/* The name of the backend whose programs the costing builds ("onednn", "reference", "cuda"). */
const char *ipro_module_costing_backend_name(const ipro_module_costing *costing);

/* The costing as the plan's backend (partitioner/module_coster.h, module_coster.c), named after
 * the backend it costs on. Valid while the costing is. */
ipro_module_coster ipro_module_costing_coster(ipro_module_costing *costing);

#endif
