/* The frontend's pass drivers: normalisation (each op into its canonical form, once after
 * loading) and shape inference with constant folding (again for every batch size). The op
 * specifics live in the op table; these loops only walk the nodes in topological order. */
#include <stdio.h>
#include <stdlib.h>

#include "ir/checked_size.h"
#include "op_table.h"
#include "stochastic_depth.h"

static ipro_status check_supported(const ipro_graph *graph, const ipro_node *node,
                                   ipro_error *err) {
  (void)graph;
  if (node->op == IPRO_OP_COUNT)
    return ipro_error_set(err, "node '%s' uses op '%s', which infopro does not support", node->name,
                          node->op_type);
  return IPRO_OK;
}

ipro_status ipro_graph_normalize(ipro_graph *graph, ipro_error *err) {
  for (int i = 0; i < graph->n_nodes; i++) {
    ipro_node *node = &graph->nodes[i];
    if (check_supported(graph, node, err) != IPRO_OK) return IPRO_ERROR;
    const ipro_op_info *info = ipro_op_info_of(node->op);
    if (info->normalize && info->normalize(graph, node, err) != IPRO_OK) return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* Forgets everything a previous inference derived, so that a new batch size starts clean:
 * activation shapes and the constants that folding produced (Constant nodes' values stay). */
static void reset_derived(ipro_graph *graph) {
  for (int t = 0; t < graph->n_tensors; t++) {
    ipro_tensor *tensor = &graph->tensors[t];
    bool folded = tensor->kind == IPRO_TENSOR_CONSTANT && tensor->producer >= 0 &&
                  graph->nodes[tensor->producer].op != IPRO_OP_CONSTANT;
    if (folded) {
      free(tensor->data);
      tensor->data = NULL;
      tensor->data_bytes = 0;
      tensor->kind = IPRO_TENSOR_ACTIVATION;
    }
    if (tensor->kind == IPRO_TENSOR_ACTIVATION && !tensor->is_graph_input) {
      tensor->shape.rank = -1;
      tensor->dtype = IPRO_DTYPE_UNDEFINED;
    }
  }
}

ipro_status ipro_graph_infer_shapes(ipro_graph *graph, int64_t batch, ipro_error *err) {
  if (batch < 0) return ipro_error_set(err, "the batch size must be positive");
  reset_derived(graph);
  graph->batch = batch;
  for (int i = 0; i < graph->n_inputs; i++) {
    ipro_tensor *input = &graph->tensors[graph->inputs[i]];
    if (input->declared_shape) input->shape = *input->declared_shape;
    if (!ipro_shape_size(&input->shape, batch, NULL))
      return ipro_error_set(err,
                            "graph input '%s' at batch %lld would hold more than %lld elements",
                            input->name, (long long)batch, (long long)IPRO_MAX_TENSOR_ELEMENTS);
    if (batch > 0) ipro_shape_bind_batch(&input->shape, batch);
  }
  for (int i = 0; i < graph->n_nodes; i++) {
    ipro_node *node = &graph->nodes[i];
    if (check_supported(graph, node, err) != IPRO_OK) return IPRO_ERROR;
    if (ipro_op_info_of(node->op)->infer(graph, node, err) != IPRO_OK) return IPRO_ERROR;
  }
  for (int i = 0; i < graph->n_outputs; i++) {
    const ipro_tensor *output = &graph->tensors[graph->outputs[i]];
    if (output->shape.rank < 0)
      return ipro_error_set(err, "the shape of graph output '%s' could not be inferred",
                            output->name);
  }
  return IPRO_OK;
}

int64_t ipro_graph_max_batch(const ipro_graph *graph, int *limiting_tensor) {
  int64_t best = INT64_MAX;
  if (limiting_tensor) *limiting_tensor = -1;
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    if (tensor->shape.rank < 0) continue;
    int64_t most = ipro_shape_max_batch(&tensor->shape);
    if (most < best) {
      best = most;
      if (limiting_tensor) *limiting_tensor = t;
    }
  }
  return best;
}

ipro_status ipro_graph_check_batch(ipro_graph *graph, int64_t batch, ipro_error *err) {
  /* Some models infer only at a concrete batch (an op that computes with it); for those the
   * size checks of the concrete inference, which name the node, are the bound. */
  ipro_error ignored;
  if (ipro_graph_infer_shapes(graph, 0, &ignored) != IPRO_OK) return IPRO_OK;
  int limiting;
  int64_t most = ipro_graph_max_batch(graph, &limiting);
  if (batch <= most) return IPRO_OK;
  char shape[160];
  const ipro_tensor *tensor = &graph->tensors[limiting];
  return ipro_error_set(
      err,
      "batch %lld is too large: tensor '%s' %s would hold more than %lld "
      "elements, the most one tensor may hold; the largest batch possible is %lld",
      (long long)batch, tensor->name, ipro_shape_format(&tensor->shape, shape, sizeof shape),
      (long long)IPRO_MAX_TENSOR_ELEMENTS, (long long)most);
}

ipro_status ipro_graph_open(const char *path, int64_t batch, ipro_graph **out, ipro_error *err) {
  ipro_graph *graph = NULL;
  if (ipro_graph_load(path, &graph, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_graph_normalize(graph, err) != IPRO_OK ||
      (batch > 0 && ipro_graph_check_batch(graph, batch, err) != IPRO_OK) ||
      ipro_graph_infer_shapes(graph, batch, err) != IPRO_OK) {
    ipro_error_prefix(err, "%s", path);
    ipro_graph_free(graph);
    *out = NULL;
    return IPRO_ERROR;
  }
  *out = graph;
  return IPRO_OK;
}

ipro_status ipro_graph_set_inference_mode(ipro_graph *graph, ipro_error *err) {
  ipro_stochastic_depth_to_inference(graph);
  for (int n = 0; n < graph->n_nodes; n++) {
    ipro_node *node = &graph->nodes[n];
    if (node->op == IPRO_OP_DROPOUT && ipro_dropout_to_identity(graph, n)) continue;
    if (node->op != IPRO_OP_BATCH_NORMALIZATION && node->op != IPRO_OP_DROPOUT) continue;
    if (ipro_node_set_int(node, "training_mode", 0) != IPRO_OK)
      return ipro_error_set(err, "out of memory");
    for (int o = 1; o < node->n_outputs; o++) {
      int t = node->outputs[o];
      if (t < 0 || ipro_graph_tensor_is_read(graph, t)) continue;
      graph->tensors[t].producer = -1;
      node->outputs[o] = -1;
    }
  }
  return IPRO_OK;
}
