/* The reference interpreter (see reference_interpreter.h): binds every tensor to data, allocates
 * each activation when its producer runs, and calls the reference kernel of every node in order. */
#include "reference_interpreter.h"

#include <stdlib.h>

#include "reference_ops.h"

/* The tensors whose data ipro_reference_run allocates (and ipro_reference_release frees). */
static bool allocated_by_run(const ipro_tensor *tensor) {
  return tensor->kind == IPRO_TENSOR_ACTIVATION && !tensor->is_graph_input;
}

void ipro_reference_release(const ipro_graph *graph, void **tensor_data) {
  for (int t = 0; t < graph->n_tensors; t++)
    if (allocated_by_run(&graph->tensors[t])) {
      free(tensor_data[t]);
      tensor_data[t] = NULL;
    }
}

static bool all_outputs_constant(const ipro_graph *graph, const ipro_node *node) {
  for (int i = 0; i < node->n_outputs; i++) {
    const ipro_tensor *tensor = ipro_node_output(graph, node, i);
    if (tensor && tensor->kind == IPRO_TENSOR_ACTIVATION) return false;
  }
  return true;
}

/* A zeroed buffer for the value of tensor at the graph's batch size. */
static ipro_status allocate_value(const ipro_graph *graph, const ipro_node *node,
                                  const ipro_tensor *tensor, void **data, ipro_error *err) {
  ipro_shape shape;
  if (ipro_reference_shape_of(graph, node, tensor, &shape, err)) return IPRO_ERROR;
  size_t element = ipro_dtype_size(tensor->dtype);
  if (element == 0)
    return ipro_reference_fail(node, err, "output '%s' has dtype %s, which has no fixed size",
                               tensor->name, ipro_dtype_name(tensor->dtype));
  size_t bytes = (size_t)ipro_shape_elements(&shape) * element;
  *data = calloc(bytes > 0 ? bytes : 1, 1);
  if (!*data)
    return ipro_reference_fail(node, err, "out of memory for output '%s' (%zu bytes)", tensor->name,
                               bytes);
  return IPRO_OK;
}

/* Binds the node's inputs and outputs, runs its kernel, and frees the scratch buffers that stand
 * in for constant outputs (a node that also has activation outputs recomputes them harmlessly). */
static ipro_status run_node(const ipro_graph *graph, const ipro_node *node, void **tensor_data,
                            void **inputs, void **outputs, void **scratch,
                            const ipro_kernel_context *context, ipro_error *err) {
  if ((int)node->op < 0 || node->op >= IPRO_OP_COUNT)
    return ipro_reference_fail(node, err, "op '%s' has no reference kernel", node->op_type);
  for (int i = 0; i < node->n_inputs; i++) {
    int t = node->inputs[i];
    inputs[i] = t < 0 ? NULL : tensor_data[t];
    if (t >= 0 && !inputs[i])
      return ipro_reference_fail(node, err, "input '%s' has no value (no earlier node produced it)",
                                 graph->tensors[t].name);
  }
  ipro_status status = IPRO_OK;
  for (int i = 0; i < node->n_outputs; i++) {
    int t = node->outputs[i];
    scratch[i] = outputs[i] = NULL;
    if (t < 0 || status != IPRO_OK) continue;
    const ipro_tensor *tensor = &graph->tensors[t];
    if (!allocated_by_run(tensor)) {
      status = allocate_value(graph, node, tensor, &scratch[i], err);
      outputs[i] = scratch[i];
    } else if (tensor_data[t]) {
      status = ipro_reference_fail(node, err, "output '%s' was already produced", tensor->name);
    } else {
      status = allocate_value(graph, node, tensor, &tensor_data[t], err);
      outputs[i] = tensor_data[t];
    }
  }
  if (status == IPRO_OK)
    status = ipro_reference_forward_table()[node->op](graph, node, inputs, outputs, context, err);
  for (int i = 0; i < node->n_outputs; i++)
    free(scratch[i]);
  return status;
}

ipro_status ipro_reference_run(const ipro_graph *graph, void **tensor_data,
                               const ipro_kernel_context *context, ipro_error *err) {
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    if (tensor->kind != IPRO_TENSOR_ACTIVATION) {
      tensor_data[t] = tensor->data;
    } else if (tensor->is_graph_input) {
      if (!tensor_data[t]) return ipro_error_set(err, "graph input '%s' has no data", tensor->name);
    } else {
      tensor_data[t] = NULL;
    }
  }
  int most_inputs = 1, most_outputs = 1;
  for (int n = 0; n < graph->n_nodes; n++) {
    if (graph->nodes[n].n_inputs > most_inputs) most_inputs = graph->nodes[n].n_inputs;
    if (graph->nodes[n].n_outputs > most_outputs) most_outputs = graph->nodes[n].n_outputs;
  }
  void **inputs = malloc((size_t)most_inputs * sizeof *inputs);
  void **outputs = malloc((size_t)most_outputs * sizeof *outputs);
  void **scratch = malloc((size_t)most_outputs * sizeof *scratch);
  ipro_status status = IPRO_OK;
  if (!inputs || !outputs || !scratch) status = ipro_error_set(err, "out of memory");
  for (int n = 0; n < graph->n_nodes && status == IPRO_OK; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (all_outputs_constant(graph, node)) continue;
    status = run_node(graph, node, tensor_data, inputs, outputs, scratch, context, err);
  }
  free(inputs);
  free(outputs);
  free(scratch);
  if (status != IPRO_OK) ipro_reference_release(graph, tensor_data);
  return status;
}
