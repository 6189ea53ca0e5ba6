/* Op rows of Pad (constant mode) and ReduceMean, whose opset-dependent inputs (Pad's pads,
 * constant_value and axes from opsets 11 and 18; ReduceMean's axes from opset 18) become
 * attributes. Inference expands Pad's per-axis pads to all axes and normalises the axes of
 * ReduceMean. */
#include <string.h>

#include "op_helpers.h"
#include "op_rows.h"

/* Opset 11's inputs pads, constant_value and axes (18), constants, as the attributes "pads",
 * "value" and "axes". */
static ipro_status pad_inputs_to_attributes(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  int64_t pads[2 * IPRO_MAX_RANK], axes[IPRO_MAX_RANK];
  int n_pads, n_axes;
  float value = 0.0f;
  if (ipro_op_constant_ints(graph, node, 1, pads, 2 * IPRO_MAX_RANK, &n_pads, err) != IPRO_OK ||
      ipro_op_put_ints(node, "pads", pads, n_pads, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_op_drop_input(node, 1);
  if (ipro_node_input(graph, node, 2)) {
    if (ipro_op_constant_float(graph, node, 2, &value, err) != IPRO_OK) return IPRO_ERROR;
    ipro_op_drop_input(node, 2);
  }
  if (ipro_node_input(graph, node, 3)) {
    /* Kept as an attribute until inference knows the rank and expands pads to every axis. */
    if (ipro_op_constant_ints(graph, node, 3, axes, IPRO_MAX_RANK, &n_axes, err) != IPRO_OK ||
        ipro_op_put_ints(node, "axes", axes, n_axes, err) != IPRO_OK)
      return IPRO_ERROR;
    ipro_op_drop_input(node, 3);
  }
  return ipro_op_put_float(node, "value", value, err);
}

ipro_status ipro_pad_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  static const char *const known[] = {"mode:s", "pads:I", "value:f", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  const char *mode = ipro_node_attr_string(node, "mode", "constant");
  if (strcmp(mode, "constant") != 0)
    return ipro_op_fail(err, node, "mode '%s' is not supported (only 'constant')", mode);
  if (ipro_op_put_string(node, "mode", "constant", err) != IPRO_OK) return IPRO_ERROR;
  if (graph->opset < 11) {
    if (!ipro_node_attr(node, "pads"))
      return ipro_op_fail(err, node, "attribute 'pads' is required");
    return ipro_op_default_float(node, "value", 0.0f, err);
  }
  if (ipro_node_attr(node, "pads") || ipro_node_attr(node, "value"))
    return ipro_op_fail(err, node, "pads and value are inputs from opset 11 on, not attributes");
  /* pads computed by other nodes (TorchScript's Swin Transformer pads each window from the
   * input's Shape) are read by inference, once those are folded */
  for (int i = 1; i < node->n_inputs && i < 4; i++) {
    const ipro_tensor *given = ipro_node_input(graph, node, i);
    if (given && !ipro_tensor_is_constant(given) && given->producer >= 0) return IPRO_OK;
  }
  return pad_inputs_to_attributes(graph, node, err);
}

ipro_status ipro_pad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 4, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  if (graph->opset >= 11 && ipro_node_input(graph, node, 1) &&
      pad_inputs_to_attributes(graph, node, err) != IPRO_OK)
    return IPRO_ERROR;
  for (int i = 1; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0)
      return ipro_op_fail(err, node,
                          "input '%s' should have become an attribute (was the graph "
                          "normalised?)",
                          ipro_op_input_name(graph, node, i));
  int rank = x->shape.rank, n_pads, n_axes;
  const int64_t *given = ipro_node_attr_ints(node, "pads", &n_pads);
  const int64_t *axes = ipro_node_attr_ints(node, "axes", &n_axes);
  int64_t pads[2 * IPRO_MAX_RANK] = {0};
  if (axes) {
    if (n_pads != 2 * n_axes)
      return ipro_op_fail(err, node, "%d pads for %d axes; 2 per axis expected", n_pads, n_axes);
    bool seen[IPRO_MAX_RANK] = {false};
    for (int i = 0; i < n_axes; i++) {
      int64_t axis;
      if (ipro_op_axis(node, "axis", axes[i], rank, &axis, err) != IPRO_OK) return IPRO_ERROR;
      if (seen[axis]) return ipro_op_fail(err, node, "axis %lld is given twice", (long long)axis);
      seen[axis] = true;
      pads[axis] = given[i];
      pads[rank + axis] = given[n_axes + i];
    }
  } else {
    if (n_pads != 2 * rank)
      return ipro_op_fail(err, node, "%d pads for an input of rank %d; %d expected", n_pads, rank,
                          2 * rank);
    if (n_pads) memcpy(pads, given, sizeof(int64_t) * (size_t)n_pads);
  }
  ipro_shape shape = x->shape;
  for (int d = 0; d < rank; d++) {
    if (pads[d] < 0 || pads[rank + d] < 0)
      return ipro_op_fail(err, node, "negative pads (cropping) are not supported");
    if (pads[d] == 0 && pads[rank + d] == 0) continue;
    if (ipro_dim_is_batch(shape.dims[d]))
      return ipro_op_batch_error(node, err, "padding the batch dimension");
    shape.dims[d] += pads[d] + pads[rank + d];
  }
  if (ipro_op_put_ints(node, "pads", pads, 2 * rank, err) != IPRO_OK) return IPRO_ERROR;
  ipro_node_remove_attr(node, "axes");
  return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
}

/* Opset 18's axes input, a constant, as the attribute "axes". */
static ipro_status take_axes_input(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  int64_t axes[IPRO_MAX_RANK];
  int count = 0;
  if (ipro_op_constant_ints(graph, node, 1, axes, IPRO_MAX_RANK, &count, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_op_drop_input(node, 1);
  return ipro_op_put_ints(node, "axes", axes, count, err);
}

ipro_status ipro_reduce_mean_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  static const char *const known[] = {"axes:I", "keepdims:i", "noop_with_empty_axes:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  int64_t axes[IPRO_MAX_RANK];
  int count = 0;
  /* ReduceSum took axes as an input from opset 13, the other reductions from 18 */
  int64_t axes_input_from = node->op == IPRO_OP_REDUCE_SUM ? 13 : 18;
  if (graph->opset >= axes_input_from) {
    if (ipro_node_attr(node, "axes"))
      return ipro_op_fail(err, node, "axes is an input from opset %lld on, not an attribute",
                          (long long)axes_input_from);
    /* computed from constants (PyTorch's torch.export-based exporter reshapes a Constant):
     * inference folds it, and takes it then */
    const ipro_tensor *given = ipro_node_input(graph, node, 1);
    if (given && !ipro_tensor_is_constant(given)) {
      if (ipro_op_default_int(node, "keepdims", 1, err) != IPRO_OK) return IPRO_ERROR;
      return ipro_op_default_int(node, "noop_with_empty_axes", 0, err);
    }
    if (given && take_axes_input(graph, node, err) != IPRO_OK) return IPRO_ERROR;
    const int64_t *taken = ipro_node_attr_ints(node, "axes", &count);
    if (count) memcpy(axes, taken, sizeof(int64_t) * (size_t)count);
  } else {
    const int64_t *given = ipro_node_attr_ints(node, "axes", &count);
    if (count > IPRO_MAX_RANK) return ipro_op_fail(err, node, "too many axes");
    if (count) memcpy(axes, given, sizeof(int64_t) * (size_t)count);
  }
  if (ipro_op_put_ints(node, "axes", axes, count, err) != IPRO_OK ||
      ipro_op_default_int(node, "keepdims", 1, err) != IPRO_OK ||
      ipro_op_default_int(node, "noop_with_empty_axes", 0, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_reduce_mean_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  if (ipro_node_input(graph, node, 1) && take_axes_input(graph, node, err) != IPRO_OK)
    return IPRO_ERROR;
  int rank = x->shape.rank, count;
  const int64_t *given = ipro_node_attr_ints(node, "axes", &count);
  bool reduce[IPRO_MAX_RANK] = {false};
  int64_t axes[IPRO_MAX_RANK];
  for (int i = 0; i < count; i++) {
    if (ipro_op_axis(node, "axis", given[i], rank, &axes[i], err) != IPRO_OK) return IPRO_ERROR;
    if (reduce[axes[i]])
      return ipro_op_fail(err, node, "axis %lld is given twice", (long long)axes[i]);
    reduce[axes[i]] = true;
  }
  bool noop = ipro_node_attr_int(node, "noop_with_empty_axes", 0) != 0;
  /* ONNX's reference gives the ops that transform their elements (|X|, X², ...) different values
   * without a reduction; only a copy is supported */
  bool copies = node->op == IPRO_OP_REDUCE_MEAN || node->op == IPRO_OP_REDUCE_SUM ||
                node->op == IPRO_OP_REDUCE_MAX || node->op == IPRO_OP_REDUCE_MIN;
  if (count == 0 && noop && !copies)
    return ipro_op_fail(err, node,
                        "noop_with_empty_axes without axes is supported only where it "
                        "copies X (ReduceMean, ReduceSum, ReduceMax, ReduceMin)");
  if (count == 0)
    for (int d = 0; d < rank; d++)
      reduce[d] = !noop;
  bool keepdims = ipro_node_attr_int(node, "keepdims", 1) != 0;
  ipro_shape shape = {.rank = 0};
  for (int d = 0; d < rank; d++) {
    if (!reduce[d])
      shape.dims[shape.rank++] = x->shape.dims[d];
    else if (keepdims)
      shape.dims[shape.rank++] = 1;
  }
  if (ipro_op_put_ints(node, "axes", axes, count, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
}

int64_t ipro_reduce_mean_flops(const ipro_graph *graph, const ipro_node *node) {
  return ipro_op_input_elements(graph, node, 0);
}
