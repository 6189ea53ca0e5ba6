/* The runtime's module costing (module_costing.h) handed to the partitioner's plan as its backend
 * (partitioner/module_coster.h): the same functions, the memory in the plan's own terms. */
#include "module_costing.h"

static ipro_status details(void *context, int module, int K, int a, int b,
                           ipro_planned_memory *memory, int64_t *flops, int64_t *parameters,
                           int64_t *head_parameters, ipro_error *err) {
  return ipro_module_costing_details(context, module, K, a, b, memory, flops, parameters,
                                     head_parameters, err);
}

static ipro_status heads(void *context, int module, int K, int a, int b, ipro_head_choice *head,
                         bool *limited, ipro_error *err) {
  return ipro_module_costing_heads(context, module, K, a, b, head, limited, err);
}

static uint64_t fixed_bytes(const void *context) {
  return ipro_module_costing_fixed_bytes(context);
}

ipro_module_coster ipro_module_costing_coster(ipro_module_costing *costing) {
  return (ipro_module_coster){
      .name = ipro_module_costing_backend_name(costing),
      .cost = ipro_module_costing_cost,
      .bound_cost = ipro_module_costing_bound_cost,
      .set_limit = ipro_module_costing_set_head_limit,
      .next_limit = ipro_module_costing_next_limit,
      .heads = heads,
      .details = details,
      .flops = ipro_module_costing_flops,
      .step_ns = ipro_module_costing_calibration(costing) ? ipro_module_costing_step_ns : NULL,
      .fixed_bytes = fixed_bytes,
      .context = costing};
}
