/* Building a forward program: steps, tensor lifetimes, views, and the arena plan
 * (see forward_program.h). */
#include "ir/forward_program.h"

#include <stdlib.h>
#include <string.h>

#include "ir/checked_size.h"

/* Places a tensor of `bytes` at the end of a block: its offset, the block's new size. */
static ipro_status append_to_block(size_t *block_bytes, size_t bytes, size_t alignment,
                                   ipro_tensor_slot *slot, const ipro_tensor *tensor,
                                   ipro_error *err) {
  slot->bytes = bytes;
  slot->offset = *block_bytes;
  if (bytes > SIZE_MAX - alignment ||
      !ipro_checked_add_size(*block_bytes, ipro_memory_aligned(bytes, alignment), block_bytes))
    return ipro_error_set(err, "tensor '%s' (%zu bytes) overflows the size of its memory block",
                          tensor->name, bytes);
  return IPRO_OK;
}

bool ipro_node_is_computed(const ipro_graph *graph, const ipro_node *node) {
  bool any_output = false;
  for (int o = 0; o < node->n_outputs; o++) {
    const ipro_tensor *output = ipro_node_output(graph, node, o);
    if (!output) continue;
    any_output = true;
    if (output->kind == IPRO_TENSOR_ACTIVATION || output->kind == IPRO_TENSOR_STATE) return true;
  }
  return !any_output;
}

bool ipro_node_is_view(const ipro_graph *graph, const ipro_node *node) {
  switch (node->op) {
  case IPRO_OP_RESHAPE:
  case IPRO_OP_FLATTEN:
  case IPRO_OP_SQUEEZE:
  case IPRO_OP_UNSQUEEZE:
  case IPRO_OP_IDENTITY: break;
  default: return false;
  }
  const ipro_tensor *input = ipro_node_input(graph, node, 0);
  const ipro_tensor *output = ipro_node_output(graph, node, 0);
  /* Only an activation in the arena can be shared; a view of a graph input or a constant would
   * make a graph output point outside the arena, and one written to training state (a
   * parameter's gradient a Reshape gives its shape) would leave the state's own slot unwritten. */
  return input && output && input->kind == IPRO_TENSOR_ACTIVATION && !input->is_graph_input &&
         output->kind == IPRO_TENSOR_ACTIVATION && !output->is_graph_output &&
         ipro_tensor_bytes(input) == ipro_tensor_bytes(output);
}

ipro_status ipro_forward_program_build(const ipro_graph *graph, const size_t *workspace_bytes,
                                       ipro_forward_program *out, ipro_error *err) {
  return ipro_forward_program_build_aligned(graph, workspace_bytes, IPRO_ARENA_ALIGNMENT, NULL,
                                            false, out, err);
}

ipro_status ipro_forward_program_build_aligned(const ipro_graph *graph,
                                               const size_t *workspace_bytes, size_t alignment,
                                               const size_t *tensor_bytes, bool output0_outside,
                                               ipro_forward_program *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  if (alignment < IPRO_ARENA_ALIGNMENT) alignment = IPRO_ARENA_ALIGNMENT;
  if (alignment % IPRO_ARENA_ALIGNMENT)
    return ipro_error_set(err, "an arena alignment of %zu bytes is not a multiple of %d", alignment,
                          IPRO_ARENA_ALIGNMENT);
  out->alignment = alignment;
  int n_tensors = graph->n_tensors, n_nodes = graph->n_nodes;
  out->steps = calloc((size_t)n_nodes + 1, sizeof *out->steps);
  out->slots = calloc((size_t)n_tensors + 1, sizeof *out->slots);
  /* root[t]: the tensor whose buffer t uses (itself unless t is a view). */
  int *root = malloc(sizeof(int) * ((size_t)n_tensors + 1));
  int *first = malloc(sizeof(int) * ((size_t)n_tensors + 1));
  int *last = malloc(sizeof(int) * ((size_t)n_tensors + 1));
  ipro_planned_buffer *buffers = calloc((size_t)(n_tensors + n_nodes) + 1, sizeof *buffers);
  int *buffer_of = malloc(sizeof(int) * ((size_t)(n_tensors + n_nodes) + 1));
  ipro_status status = IPRO_OK;
  if (!out->steps || !out->slots || !root || !first || !last || !buffers || !buffer_of) {
    status = ipro_error_set(err, "out of memory building a program");
    goto done;
  }
  for (int t = 0; t < n_tensors; t++) {
    root[t] = t;
    first[t] = -1;
    last[t] = -1;
  }
  /* Steps, views and lifetimes (a step's index is its position in the program). */
  for (int n = 0; n < n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (!ipro_node_is_computed(graph, node)) continue;
    int step = out->n_steps++;
    out->steps[step].node = n;
    out->steps[step].is_view = ipro_node_is_view(graph, node);
    out->steps[step].workspace_bytes = workspace_bytes ? workspace_bytes[n] : 0;
    if (out->steps[step].is_view) root[node->outputs[0]] = root[node->inputs[0]];
    for (int i = 0; i < node->n_inputs; i++) {
      int t = node->inputs[i];
      if (t < 0) continue;
      last[root[t]] = step;
      if (first[root[t]] < 0) first[root[t]] = step;
    }
    for (int o = 0; o < node->n_outputs; o++) {
      int t = node->outputs[o];
      if (t < 0) continue;
      if (first[root[t]] < 0) first[root[t]] = step;
      if (last[root[t]] < step) last[root[t]] = step;
    }
  }
  for (int i = 0; i < graph->n_outputs; i++)
    last[root[graph->outputs[i]]] = out->n_steps;

  /* Slots: parameters and inputs in their blocks, output 0 where asked, activations as arena
   * buffers. */
  int outside = output0_outside && graph->n_outputs > 0 ? graph->outputs[0] : -1;
  int n_buffers = 0;
  for (int t = 0; t < n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    ipro_tensor_slot *slot = &out->slots[t];
    buffer_of[t] = -1;
    if (t == outside && tensor->kind == IPRO_TENSOR_ACTIVATION && !tensor->is_graph_input &&
        root[t] == t && first[t] >= 0) {
      *slot = (ipro_tensor_slot){IPRO_SLOT_OUTPUT, 0,      (size_t)ipro_tensor_bytes(tensor), t,
                                 first[t],         last[t]};
    } else if (tensor->kind == IPRO_TENSOR_STATE) {
      slot->kind = IPRO_SLOT_PERSISTENT;
      status = append_to_block(&out->persistent_bytes, (size_t)ipro_tensor_bytes(tensor), alignment,
                               slot, tensor, err);
    } else if (tensor->kind != IPRO_TENSOR_ACTIVATION) {
      slot->kind = IPRO_SLOT_PARAMETER;
      status =
          append_to_block(&out->parameter_bytes, tensor->data_bytes, alignment, slot, tensor, err);
    } else if (tensor->is_graph_input) {
      slot->kind = IPRO_SLOT_INPUT;
      status = append_to_block(&out->input_bytes, (size_t)ipro_tensor_bytes(tensor), alignment,
                               slot, tensor, err);
    } else if (first[root[t]] >= 0 && root[t] == t) {
      slot->kind = IPRO_SLOT_ARENA;
      slot->bytes =
          tensor_bytes && tensor_bytes[t] ? tensor_bytes[t] : (size_t)ipro_tensor_bytes(tensor);
      buffers[n_buffers] = (ipro_planned_buffer){slot->bytes, first[t], last[t], 0};
      buffer_of[t] = n_buffers++;
    }
    if (status != IPRO_OK) goto done;
  }
  for (int s = 0; s < out->n_steps; s++) {
    if (out->steps[s].workspace_bytes == 0) continue;
    buffers[n_buffers] = (ipro_planned_buffer){out->steps[s].workspace_bytes, s, s, 0};
    buffer_of[n_tensors + s] = n_buffers++;
  }
  ipro_memory_plan_summary summary;
  status = ipro_memory_plan_aligned(buffers, n_buffers, alignment, &summary, err);
  if (status != IPRO_OK) goto done;
  out->arena_bytes = summary.arena_bytes;
  out->arena_lower_bound_bytes = summary.lower_bound_bytes;
  for (int t = 0; t < n_tensors; t++)
    if (buffer_of[t] >= 0)
      out->slots[t] = (ipro_tensor_slot){
          IPRO_SLOT_ARENA, buffers[buffer_of[t]].offset, out->slots[t].bytes, t, first[t], last[t]};
  for (int t = 0; t < n_tensors; t++) {
    if (root[t] == t || graph->tensors[t].kind != IPRO_TENSOR_ACTIVATION) continue;
    out->slots[t] = out->slots[root[t]];
    out->slots[t].bytes = (size_t)ipro_tensor_bytes(&graph->tensors[t]);
  }
  for (int s = 0; s < out->n_steps; s++)
    if (out->steps[s].workspace_bytes)
      out->steps[s].workspace_offset = buffers[buffer_of[n_tensors + s]].offset;
done:
  free(root);
  free(first);
  free(last);
  free(buffers);
  free(buffer_of);
  if (status != IPRO_OK) ipro_forward_program_release(out);
  return status;
}

ipro_status ipro_forward_program_widen_workspaces(const ipro_graph *graph,
                                                  ipro_forward_program *program,
                                                  const size_t *wanted, size_t arena_limit,
                                                  bool *widened, ipro_error *err) {
  int n_tensors = graph->n_tensors, n_steps = program->n_steps;
  /* the arena's buffers: each tensor that owns one, then every step's workspace */
  ipro_planned_buffer *buffers = calloc((size_t)(n_tensors + n_steps) + 1, sizeof *buffers);
  if (!buffers) return ipro_error_set(err, "out of memory widening a program's workspaces");
  int count = 0;
  for (int t = 0; t < n_tensors; t++) {
    const ipro_tensor_slot *slot = &program->slots[t];
    if (slot->kind == IPRO_SLOT_ARENA && slot->owner == t)
      buffers[count++] =
          (ipro_planned_buffer){slot->bytes, slot->first_step, slot->last_step, slot->offset};
  }
  int first_workspace = count;
  for (int s = 0; s < n_steps; s++)
    buffers[count++] = (ipro_planned_buffer){program->steps[s].workspace_bytes, s, s,
                                             program->steps[s].workspace_offset};
  ipro_status status = IPRO_OK;
  for (int s = 0; s < n_steps && status == IPRO_OK; s++) {
    ipro_program_step *step = &program->steps[s];
    if (wanted[step->node] <= step->workspace_bytes) continue;
    bool fitted = false;
    status = ipro_memory_plan_refit(buffers, count, first_workspace + s, wanted[step->node],
                                    program->alignment, arena_limit, &fitted, err);
    if (status != IPRO_OK || !fitted) continue;
    step->workspace_bytes = wanted[step->node];
    step->workspace_offset = buffers[first_workspace + s].offset;
    size_t end =
        step->workspace_offset + ipro_memory_aligned(step->workspace_bytes, program->alignment);
    if (end > program->arena_bytes) program->arena_bytes = end;
    widened[step->node] = true;
  }
  if (status == IPRO_OK)
    status = ipro_memory_plan_lower_bound(buffers, count, program->alignment,
                                          &program->arena_lower_bound_bytes, err);
  free(buffers);
  return status;
}

void ipro_forward_program_release(ipro_forward_program *program) {
  free(program->steps);
  free(program->slots);
  program->steps = NULL;
  program->slots = NULL;
}
