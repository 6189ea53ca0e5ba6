/* Op rows of the elementwise activations (Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSigmoid,
 * HardSwish) and of Softmax / LogSoftmax. All take one float32 tensor and give one of the same
 * shape; normalisation fills the attribute defaults, turns Clip's constant min/max inputs (opset
 * 11+) into attributes, and records Softmax's pre-opset-13 "flatten to 2-D" semantics as
 * coerce_2d. A min or max that is not a constant (a graph input, as in the ONNX node tests, or a
 * computed value) stays an input that the kernels read at run time: ONNX defines Clip's bounds as
 * tensors, so a model may choose them per run. */
#include <math.h>
#include <string.h>

#include "ir/elementwise_values.h"
#include "op_helpers.h"
#include "op_rows.h"

ipro_status ipro_leaky_relu_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"alpha:f", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_float(node, "alpha", 0.01f, err);
}

ipro_status ipro_hard_sigmoid_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"alpha:f", "beta:f", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK ||
      ipro_op_default_float(node, "alpha", 0.2f, err) != IPRO_OK ||
      ipro_op_default_float(node, "beta", 0.5f, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* Elu and Celu: alpha (default 1). */
ipro_status ipro_elu_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"alpha:f", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_float(node, "alpha", 1.0f, err);
}

/* Selu: alpha and gamma, by default the constants of Klambauer et al. (ONNX's, as float32). */
ipro_status ipro_selu_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"alpha:f", "gamma:f", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK ||
      ipro_op_default_float(node, "alpha", IPRO_SELU_ALPHA, err) != IPRO_OK ||
      ipro_op_default_float(node, "gamma", IPRO_SELU_GAMMA, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* PRelu: X and a slope that broadcasts to X one way (right-aligned, each of its dimensions 1 or
 * X's: nn.PReLU's [C, 1, 1], or [1] for one slope); Y has X's shape. */
ipro_status ipro_prelu_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *slope;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES(x->dtype), &slope, err) != IPRO_OK)
    return IPRO_ERROR;
  int shift = x->shape.rank - slope->shape.rank;
  if (shift < 0)
    return ipro_op_fail(err, node, "slope of rank %d above X's %d", slope->shape.rank,
                        x->shape.rank);
  for (int d = 0; d < slope->shape.rank; d++) {
    int64_t s = slope->shape.dims[d], extent = x->shape.dims[shift + d];
    if (s != 1 && s != extent)
      return ipro_op_fail(err, node, "slope dimension %d (%lld) does not broadcast to X's %lld", d,
                          (long long)s, (long long)extent);
  }
  return ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err);
}

/* Gelu (opset 20): approximate "none" (the error function) or "tanh". */
ipro_status ipro_gelu_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"approximate:s", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK ||
      ipro_op_default_string(node, "approximate", "none", err) != IPRO_OK)
    return IPRO_ERROR;
  const char *approximate = ipro_node_attr_string(node, "approximate", "none");
  if (strcmp(approximate, "none") != 0 && strcmp(approximate, "tanh") != 0)
    return ipro_op_fail(err, node, "approximate '%s' is not 'none' or 'tanh'", approximate);
  return IPRO_OK;
}

ipro_status ipro_clip_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  static const char *const known[] = {"min:f", "max:f", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  float min = ipro_node_attr_float(node, "min", -INFINITY);
  float max = ipro_node_attr_float(node, "max", INFINITY);
  if (graph->opset >= 11) {
    if (ipro_node_attr(node, "min") || ipro_node_attr(node, "max"))
      return ipro_op_fail(err, node, "min and max are inputs from opset 11 on, not attributes");
    float *bounds[2] = {&min, &max};
    for (int i = 1; i <= 2; i++) {
      const ipro_tensor *bound = ipro_node_input(graph, node, i);
      if (!bound || !ipro_tensor_is_constant(bound)) continue;
      if (ipro_op_constant_float(graph, node, i, bounds[i - 1], err) != IPRO_OK) return IPRO_ERROR;
      ipro_op_drop_input(node, i);
    }
  }
  if (ipro_op_put_float(node, "min", min, err) != IPRO_OK ||
      ipro_op_put_float(node, "max", max, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_unary_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, node->op == IPRO_OP_CLIP ? 3 : 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  /* Clip's bounds given at run time: one value each, of X's dtype. One computed from constants
   * (PyTorch's torch.export-based exporter: CastLike(Constant, X)) is folded by now and becomes
   * the attribute, as a constant input does at normalisation. */
  for (int i = 1; i < node->n_inputs; i++) {
    ipro_tensor *bound;
    if (node->inputs[i] < 0) continue;
    if (ipro_op_input(graph, node, i, IPRO_DTYPES(x->dtype), &bound, err) != IPRO_OK)
      return IPRO_ERROR;
    if (ipro_shape_elements(&bound->shape) != 1) {
      char shape[128];
      return ipro_op_fail(err, node, "bound '%s' has shape %s; one value is required", bound->name,
                          ipro_shape_format(&bound->shape, shape, sizeof shape));
    }
    float value;
    if (bound->kind == IPRO_TENSOR_CONSTANT && ipro_tensor_is_constant(bound)) {
      if (ipro_op_constant_float(graph, node, i, &value, err) != IPRO_OK ||
          ipro_op_put_float(node, i == 1 ? "min" : "max", value, err) != IPRO_OK)
        return IPRO_ERROR;
      ipro_op_drop_input(node, i);
    }
  }
  return ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err);
}

int64_t ipro_unary_flops(const ipro_graph *graph, const ipro_node *node) {
  return ipro_op_output_elements(graph, node, 0);
}

ipro_status ipro_softmax_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  static const char *const known[] = {"axis:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  bool before_13 = graph->opset < 13;
  if (ipro_op_default_int(node, "axis", before_13 ? 1 : -1, err) != IPRO_OK ||
      ipro_op_put_int(node, "coerce_2d", before_13, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_softmax_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 1, IPRO_MAX_RANK, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t axis;
  if (ipro_op_canonical_axis(node, -1, x->shape.rank, &axis, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err);
}

int64_t ipro_softmax_flops(const ipro_graph *graph, const ipro_node *node) {
  return 3 * ipro_op_output_elements(graph, node, 0);
}
