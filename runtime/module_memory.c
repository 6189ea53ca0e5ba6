/* The module memory formula of module_memory.h. */
#include "module_memory.h"

static size_t aligned(int64_t bytes, size_t alignment) {
  size_t b = bytes > 0 ? (size_t)bytes : 0;
  if (alignment < IPRO_ARENA_ALIGNMENT) alignment = IPRO_ARENA_ALIGNMENT;
  return ipro_memory_aligned(b, alignment);
}

void ipro_module_memory_of(const ipro_graph *module, const ipro_forward_program *program,
                           bool first, bool last, ipro_module_memory *out) {
  /* The program's alignment, so that the arena starts aligned in the block after the input. */
  size_t alignment = program->alignment;
  out->input_bytes =
      first ? 0 : aligned(ipro_tensor_bytes(&module->tensors[module->inputs[0]]), alignment);
  out->output_bytes =
      last ? 0 : aligned(ipro_tensor_bytes(&module->tensors[module->outputs[0]]), alignment);
  out->arena_bytes = program->arena_bytes;
  out->transient_bytes = out->input_bytes + out->arena_bytes + out->output_bytes;
  out->persistent_bytes = program->parameter_bytes + program->persistent_bytes;
  out->largest_workspace_bytes = 0;
  for (int s = 0; s < program->n_steps; s++)
    if (program->steps[s].workspace_bytes > out->largest_workspace_bytes)
      out->largest_workspace_bytes = program->steps[s].workspace_bytes;
}
