/* The gradient rules: for each op that can sit in a trainable network, the backward nodes it
 * contributes (see autodiff.h for the contract and codegen/internal_ops.md for the internal ops
 * they use). Where ONNX ops express a gradient exactly (Gemm, MatMul, Transpose, Reshape, Mul,
 * Div) they are reused, so those gradients run on the same kernels as the forward pass. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "frontend/op_table.h"
#include "ir/einsum.h"

#define RULE(name)                                                                                 \
  static ipro_status name(ipro_autodiff *ad, int n, const int *dy, const bool *wanted, int *dx,    \
                          ipro_error *err)

/* Rules emit nodes and tensors, which may move the node and tensor arrays: a pointer to a
 * forward node or tensor is only used before the rule's next emit, or fetched again (shapes are
 * copied by value). */
static const ipro_node *forward_node(ipro_autodiff *ad, int n) {
  return &ipro_autodiff_graph(ad)->nodes[n];
}

static const ipro_tensor *input_tensor(ipro_autodiff *ad, int n, int i) {
  return ipro_node_input(ipro_autodiff_graph(ad), forward_node(ad, n), i);
}

static int input_index(ipro_autodiff *ad, int n, int i) { return forward_node(ad, n)->inputs[i]; }
static int output_index(ipro_autodiff *ad, int n, int o) { return forward_node(ad, n)->outputs[o]; }

/* Sets an int-list attribute on the last emitted node to a tensor's shape. */
static ipro_status set_shape_attribute(ipro_autodiff *ad, int node, const char *name,
                                       const ipro_shape *shape, ipro_error *err) {
  ipro_node *emitted = &ipro_autodiff_graph(ad)->nodes[node];
  if (ipro_node_set_ints(emitted, name, shape->dims, shape->rank) != IPRO_OK)
    return ipro_error_set(err, "out of memory building the backward pass");
  return IPRO_OK;
}

/* Emits a one-output node and returns its output tensor, or -1 with err set. */
static int emit1(ipro_autodiff *ad, int n, ipro_op op, const int *inputs, int n_inputs,
                 bool copy_attributes, ipro_error *err, int *node_out) {
  int out = -1;
  int node = ipro_autodiff_emit(ad, n, op, inputs, n_inputs, 1, &out, copy_attributes, err);
  if (node_out) *node_out = node;
  return node < 0 ? -1 : out;
}

/* The gradient g, which has the shape of the forward node's output (the broadcast result),
 * summed back to the shape of input i, times scale. */
/* g summed to *target (broadcasting's reverse: ipro.ReduceToShape), times scale. -1 on error. */
static int reduced_to(ipro_autodiff *ad, int n, int g, const ipro_shape *target, float scale,
                      ipro_error *err) {
  int node;
  int r = emit1(ad, n, IPRO_OP_REDUCE_TO_SHAPE, &g, 1, false, err, &node);
  if (r < 0 || set_shape_attribute(ad, node, "shape", target, err) != IPRO_OK) return -1;
  if (ipro_node_set_float(&ipro_autodiff_graph(ad)->nodes[node], "scale", scale) != IPRO_OK) {
    ipro_error_set(err, "out of memory");
    return -1;
  }
  return r;
}

static int reduce_to_input(ipro_autodiff *ad, int n, int g, int i, float scale, ipro_error *err) {
  /* shapes by value: emitting may move the tensor array */
  ipro_shape target = input_tensor(ad, n, i)->shape;
  ipro_shape have = ipro_autodiff_graph(ad)->tensors[output_index(ad, n, 0)].shape;
  if (scale == 1.0f && ipro_shape_equal(&have, &target)) return g;
  return reduced_to(ad, n, g, &target, scale, err);
}

/* A binary elementwise node between two tensors (broadcasting), for composite gradients. */
static int binary(ipro_autodiff *ad, int n, ipro_op op, int a, int b, ipro_error *err) {
  int inputs[2] = {a, b};
  return emit1(ad, n, op, inputs, 2, false, err, NULL);
}

/* A constant scalar of dtype holding value (a factor, an exponent, a zero). -1 on error. */
static int scalar_constant(ipro_autodiff *ad, int n, const char *what, ipro_dtype dtype,
                           double value, ipro_error *err) {
  char typed[sizeof(double)];
  ipro_dtype_convert(&value, IPRO_DTYPE_DOUBLE, typed, dtype, 1);
  ipro_shape scalar = {.rank = 0};
  return ipro_autodiff_constant(ad, n, what, dtype, &scalar, typed, err);
}

/* g (of shape *shape) made shape: a Reshape. -1 on error. */
static int reshape_to(ipro_autodiff *ad, int n, int g, const ipro_shape *shape, ipro_error *err) {
  int target = ipro_autodiff_constant_ints(ad, n, shape->dims, shape->rank, err), e;
  int inputs[2] = {g, target};
  int r = target < 0 ? -1 : emit1(ad, n, IPRO_OP_RESHAPE, inputs, 2, false, err, &e);
  if (r < 0 || set_shape_attribute(ad, e, "shape", shape, err) != IPRO_OK) return -1;
  return r;
}

/* g with zeros around it: a constant Pad by pads (begins, then ends, of rank axes). -1 on error. */
static int zero_padded(ipro_autodiff *ad, int n, int g, const int64_t *pads, int rank,
                       ipro_error *err) {
  int e, r = emit1(ad, n, IPRO_OP_PAD, &g, 1, false, err, &e);
  if (r < 0) return -1;
  ipro_node *pad = &ipro_autodiff_graph(ad)->nodes[e];
  if (ipro_node_set_string(pad, "mode", "constant") != IPRO_OK ||
      ipro_node_set_ints(pad, "pads", pads, 2 * rank) != IPRO_OK ||
      ipro_node_set_float(pad, "value", 0.0f) != IPRO_OK) {
    ipro_error_set(err, "out of memory");
    return -1;
  }
  return r;
}

RULE(conv_gradient) {
  const ipro_node *node = forward_node(ad, n);
  bool has_bias = node->n_inputs > 2 && node->inputs[2] >= 0;
  if (wanted[0]) {
    int inputs[2] = {dy[0], input_index(ad, n, 1)}, e;
    dx[0] = emit1(ad, n, IPRO_OP_CONV_GRAD_INPUT, inputs, 2, true, err, &e);
    if (dx[0] < 0 ||
        set_shape_attribute(ad, e, "input_shape", &input_tensor(ad, n, 0)->shape, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  if (wanted[1] || (has_bias && wanted[2])) {
    int inputs[2] = {dy[0], input_index(ad, n, 0)}, outputs[2];
    int e = ipro_autodiff_emit(ad, n, IPRO_OP_CONV_GRAD_WEIGHT, inputs, 2, has_bias ? 2 : 1,
                               outputs, true, err);
    if (e < 0 ||
        set_shape_attribute(ad, e, "weight_shape", &input_tensor(ad, n, 1)->shape, err) != IPRO_OK)
      return IPRO_ERROR;
    dx[1] = outputs[0];
    if (has_bias) dx[2] = outputs[1];
  }
  return IPRO_OK;
}

/* The inference form (running statistics, which --freeze-statistics keeps as loaded: PyTorch's
 * bn.eval()) is an affine map per channel, Y = (X - mean) · s + B with s = Scale / √(var + ε):
 *   dX = dY · s,   dB = Σ dY,   dScale = Σ dY · (X - mean) / √(var + ε),
 * the sums over every axis but the channel's (1), built from elementwise nodes on the per-channel
 * vectors seen as [1, C, 1, ..] so that they broadcast against [N, C, ..]. */
static ipro_status inference_batch_norm_gradient(ipro_autodiff *ad, int n, const int *dy,
                                                 const bool *wanted, int *dx, ipro_error *err) {
  const ipro_tensor *x = input_tensor(ad, n, 0);
  int rank = x->shape.rank;
  if (rank < 2)
    return ipro_error_set(err, "node '%s' (BatchNormalization): input of rank %d",
                          forward_node(ad, n)->name, rank);
  float epsilon = ipro_node_attr_float(forward_node(ad, n), "epsilon", 1e-5f);
  ipro_shape vector = {.rank = 1, .dims = {x->shape.dims[1]}}, channel = {.rank = rank};
  for (int d = 0; d < rank; d++)
    channel.dims[d] = d == 1 ? x->shape.dims[1] : 1;
  ipro_shape scalar = {.rank = 0};
  int eps = ipro_autodiff_constant(ad, n, "epsilon", IPRO_DTYPE_FLOAT, &scalar, &epsilon, err);
  int var = eps < 0 ? -1 : reshape_to(ad, n, input_index(ad, n, 4), &channel, err);
  int shifted = var < 0 ? -1 : binary(ad, n, IPRO_OP_ADD, var, eps, err);
  int deviation = shifted < 0 ? -1 : emit1(ad, n, IPRO_OP_SQRT, &shifted, 1, false, err, NULL);
  if (deviation < 0) return IPRO_ERROR;
  if (wanted[0]) {
    int scale = reshape_to(ad, n, input_index(ad, n, 1), &channel, err);
    int factor = scale < 0 ? -1 : binary(ad, n, IPRO_OP_DIV, scale, deviation, err);
    dx[0] = factor < 0 ? -1 : binary(ad, n, IPRO_OP_MUL, dy[0], factor, err);
    if (dx[0] < 0) return IPRO_ERROR;
  }
  /* Σ over the batch and spatial axes: ReduceToShape to [1, C, 1, ..], then the vector [C] */
  for (int i = 1; i < 3; i++) {
    if (!wanted[i]) continue;
    int g = dy[0];
    if (i == 1) {
      int mean = reshape_to(ad, n, input_index(ad, n, 3), &channel, err);
      int centred = mean < 0 ? -1 : binary(ad, n, IPRO_OP_SUB, input_index(ad, n, 0), mean, err);
      int normalised = centred < 0 ? -1 : binary(ad, n, IPRO_OP_DIV, centred, deviation, err);
      g = normalised < 0 ? -1 : binary(ad, n, IPRO_OP_MUL, dy[0], normalised, err);
      if (g < 0) return IPRO_ERROR;
    }
    int summed = reduced_to(ad, n, g, &channel, 1.0f, err);
    dx[i] = summed < 0 ? -1 : reshape_to(ad, n, summed, &vector, err);
    if (dx[i] < 0) return IPRO_ERROR;
  }
  return IPRO_OK;
}

RULE(batch_normalization_gradient) {
  const ipro_node *node = forward_node(ad, n);
  if (ipro_node_attr_int(node, "training_mode", 0) != 1)
    return inference_batch_norm_gradient(ad, n, dy, wanted, dx, err);
  float epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  int inputs[5] = {dy[0], input_index(ad, n, 0), input_index(ad, n, 1), -1, -1}, outputs[3];
  /* The batch mean and inverse standard deviation the forward saved (internal_ops.md), which
   * spare the gradient a pass over X to compute them again. */
  bool saved = ipro_node_attr_int(node, "saves_statistics", 0) != 0 && node->n_outputs >= 5 &&
               node->outputs[3] >= 0 && node->outputs[4] >= 0;
  if (saved) inputs[3] = output_index(ad, n, 3), inputs[4] = output_index(ad, n, 4);
  /* emitting may move the node array: no forward node pointer is used after this */
  int e = ipro_autodiff_emit(ad, n, IPRO_OP_BATCH_NORM_GRAD, inputs, saved ? 5 : 3, 3, outputs,
                             false, err);
  if (e < 0) return IPRO_ERROR;
  if (ipro_node_set_float(&ipro_autodiff_graph(ad)->nodes[e], "epsilon", epsilon) != IPRO_OK)
    return ipro_error_set(err, "out of memory");
  dx[0] = outputs[0];
  dx[1] = outputs[1];
  dx[2] = outputs[2];
  return IPRO_OK;
}

/* dX, dScale, dB from ipro.LayerNormGrad(dY, X, Scale), which recomputes each row's statistics;
 * InstanceNormalization's rows are one channel of one image (axis 2) and its Scale and B per
 * channel (channel_scale). */
RULE(layer_normalization_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  float epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  bool instance = node->op == IPRO_OP_INSTANCE_NORMALIZATION;
  int64_t axis = instance ? 2 : ipro_node_attr_int(node, "axis", -1);
  int inputs[3] = {dy[0], input_index(ad, n, 0), input_index(ad, n, 1)}, outputs[3];
  /* emitting may move the node array: no forward node pointer is used after this */
  int e = ipro_autodiff_emit(ad, n, IPRO_OP_LAYER_NORM_GRAD, inputs, 3, 3, outputs, false, err);
  if (e < 0) return IPRO_ERROR;
  ipro_node *grad = &ipro_autodiff_graph(ad)->nodes[e];
  if (ipro_node_set_float(grad, "epsilon", epsilon) != IPRO_OK ||
      ipro_node_set_int(grad, "axis", axis) != IPRO_OK ||
      (instance && ipro_node_set_int(grad, "channel_scale", 1) != IPRO_OK))
    return ipro_error_set(err, "out of memory");
  dx[0] = outputs[0];
  dx[1] = outputs[1];
  dx[2] = outputs[2];
  return IPRO_OK;
}

/* Relu, Sigmoid and Tanh differentiate through their output, the others through their input
 * (the op table's saved masks say which, and this keeps the two in step). */
RULE(unary_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  /* ipro.UnaryGrad takes Clip's bounds as attributes: bounds read at run time have none. */
  if (node->op == IPRO_OP_CLIP && (input_tensor(ad, n, 1) || input_tensor(ad, n, 2)))
    return ipro_error_set(err,
                          "node '%s' (Clip): min and max are given at run time; training needs "
                          "them as constants (initializers)",
                          node->name);
  /* a SiLU (a Sigmoid with times_input, codegen/fusion.h) differentiates through X */
  bool through_output = (ipro_op_info_of(node->op)->saved_outputs & 1u) &&
                        !ipro_node_attr_int(node, "times_input", 0);
  int saved = through_output ? output_index(ad, n, 0) : input_index(ad, n, 0);
  int inputs[2] = {dy[0], saved}, e;
  ipro_op forward_op = node->op;
  dx[0] = emit1(ad, n, IPRO_OP_UNARY_GRAD, inputs, 2, true, err, &e);
  if (dx[0] < 0) return IPRO_ERROR;
  if (ipro_node_set_int(&ipro_autodiff_graph(ad)->nodes[e], "forward_op", forward_op) != IPRO_OK)
    return ipro_error_set(err, "out of memory");
  return IPRO_OK;
}

/* Pow(X, k) with a constant scalar exponent k (Pow by 2 was made a Mul at inference): dX = dY · k
 * · X^(k − 1). The exponent is not trained. */
RULE(pow_gradient) {
  const ipro_node *node = forward_node(ad, n);
  const ipro_tensor *exponent = input_tensor(ad, n, 1);
  if (wanted[1] || !exponent->data || exponent->kind == IPRO_TENSOR_ACTIVATION ||
      ipro_shape_elements(&exponent->shape) != 1)
    return ipro_error_set(err,
                          "node '%s' (Pow): gradients are implemented for a constant scalar "
                          "exponent only",
                          node->name);
  double k;
  ipro_dtype_convert(exponent->data, exponent->dtype, &k, IPRO_DTYPE_DOUBLE, 1);
  ipro_dtype dtype = input_tensor(ad, n, 0)->dtype;
  int lowered = scalar_constant(ad, n, "exponent", dtype, k - 1, err);
  int factor = lowered < 0 ? -1 : scalar_constant(ad, n, "factor", dtype, k, err);
  int power = factor < 0 ? -1 : binary(ad, n, IPRO_OP_POW, input_index(ad, n, 0), lowered, err);
  int slope = power < 0 ? -1 : binary(ad, n, IPRO_OP_MUL, power, factor, err);
  dx[0] = slope < 0 ? -1 : binary(ad, n, IPRO_OP_MUL, dy[0], slope, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

RULE(add_sub_gradient) {
  bool subtract = forward_node(ad, n)->op == IPRO_OP_SUB;
  if (wanted[0] && (dx[0] = reduce_to_input(ad, n, dy[0], 0, 1.0f, err)) < 0) return IPRO_ERROR;
  if (wanted[1] && (dx[1] = reduce_to_input(ad, n, dy[0], 1, subtract ? -1.0f : 1.0f, err)) < 0)
    return IPRO_ERROR;
  return IPRO_OK;
}

RULE(sum_gradient) {
  for (int i = 0; i < forward_node(ad, n)->n_inputs; i++)
    if (wanted[i] && (dx[i] = reduce_to_input(ad, n, dy[0], i, 1.0f, err)) < 0) return IPRO_ERROR;
  return IPRO_OK;
}

RULE(mul_gradient) {
  int a = input_index(ad, n, 0), b = input_index(ad, n, 1);
  for (int i = 0; i < 2; i++) {
    if (!wanted[i]) continue;
    int product = binary(ad, n, IPRO_OP_MUL, dy[0], i == 0 ? b : a, err);
    if (product < 0 || (dx[i] = reduce_to_input(ad, n, product, i, 1.0f, err)) < 0)
      return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* y = a / b: da = dy / b, db = -dy · a / b². */
RULE(div_gradient) {
  int a = input_index(ad, n, 0), b = input_index(ad, n, 1);
  if (wanted[0]) {
    int quotient = binary(ad, n, IPRO_OP_DIV, dy[0], b, err);
    if (quotient < 0 || (dx[0] = reduce_to_input(ad, n, quotient, 0, 1.0f, err)) < 0)
      return IPRO_ERROR;
  }
  if (wanted[1]) {
    int numerator = binary(ad, n, IPRO_OP_MUL, dy[0], a, err);
    int square = numerator < 0 ? -1 : binary(ad, n, IPRO_OP_MUL, b, b, err);
    int quotient = square < 0 ? -1 : binary(ad, n, IPRO_OP_DIV, numerator, square, err);
    if (quotient < 0 || (dx[1] = reduce_to_input(ad, n, quotient, 1, -1.0f, err)) < 0)
      return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* The gradient node op of inputs (dY first) carrying the forward's attributes, its input shape
 * and its op. */
static ipro_status shaped_gradient_of(ipro_autodiff *ad, int n, ipro_op op, const int *inputs,
                                      int count, int *dx, ipro_error *err) {
  int e;
  dx[0] = emit1(ad, n, op, inputs, count, true, err, &e);
  if (dx[0] < 0 ||
      set_shape_attribute(ad, e, "input_shape", &input_tensor(ad, n, 0)->shape, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_op forward_op = forward_node(ad, n)->op;
  if (ipro_node_set_int(&ipro_autodiff_graph(ad)->nodes[e], "forward_op", forward_op) != IPRO_OK)
    return ipro_error_set(err, "out of memory");
  return IPRO_OK;
}

/* Gradients that need only dY (and the forward input shape), or dY and X. */
static ipro_status shaped_gradient(ipro_autodiff *ad, int n, ipro_op op, int second_input,
                                   const int *dy, int *dx, ipro_error *err) {
  int inputs[2] = {dy[0], second_input};
  return shaped_gradient_of(ad, n, op, inputs, second_input >= 0 ? 2 : 1, dx, err);
}

RULE(max_pool_gradient) {
  (void)wanted;
  return shaped_gradient(ad, n, IPRO_OP_MAX_POOL_GRAD, input_index(ad, n, 0), dy, dx, err);
}

RULE(average_pool_gradient) {
  (void)wanted;
  return shaped_gradient(ad, n, IPRO_OP_AVERAGE_POOL_GRAD, -1, dy, dx, err);
}

RULE(global_pool_gradient) {
  (void)wanted;
  bool max = forward_node(ad, n)->op == IPRO_OP_GLOBAL_MAX_POOL;
  return shaped_gradient(ad, n, IPRO_OP_GLOBAL_POOL_GRAD, max ? input_index(ad, n, 0) : -1, dy, dx,
                         err);
}

RULE(resize_gradient) {
  (void)wanted;
  return shaped_gradient(ad, n, IPRO_OP_RESIZE_GRAD, -1, dy, dx, err);
}

RULE(reduce_mean_gradient) {
  (void)wanted;
  return shaped_gradient(ad, n, IPRO_OP_REDUCE_MEAN_GRAD, -1, dy, dx, err);
}

/* g broadcast to shape (an Expand to a constant target). -1 on error. */
static int expanded_to(ipro_autodiff *ad, int n, int g, const ipro_shape *shape, ipro_error *err) {
  int target = g < 0 ? -1 : ipro_autodiff_constant_ints(ad, n, shape->dims, shape->rank, err);
  int inputs[2] = {g, target};
  return target < 0 ? -1 : emit1(ad, n, IPRO_OP_EXPAND, inputs, 2, false, err, NULL);
}

/* g, of a reduction's output shape, spread back over X's shape, each element its slice's value:
 * a Reshape to X's shape with the reduced axes 1 (a view, keepdims or not) and an Expand, exact
 * (no division by the slice's size and multiplication back). -1 on error. */
static int spread_over_input(ipro_autodiff *ad, int n, int g, ipro_error *err) {
  const ipro_node *node = forward_node(ad, n);
  ipro_shape x = input_tensor(ad, n, 0)->shape, kept = x;
  int count = 0;
  const int64_t *axes = ipro_node_attr_ints(node, "axes", &count);
  bool copy = count == 0 && ipro_node_attr_int(node, "noop_with_empty_axes", 0) != 0;
  for (int d = 0; d < x.rank && count == 0 && !copy; d++)
    kept.dims[d] = 1;
  for (int i = 0; i < count; i++)
    if (axes[i] >= 0 && axes[i] < x.rank) kept.dims[axes[i]] = 1;
  return expanded_to(ad, n, reshape_to(ad, n, g, &kept, err), &x, err);
}

/* The reductions that sum a term of each element, their gradient dY (or dY / max(Y, FLT_MIN) for
 * ReduceL2, dY / exp(Y) for ReduceLogSum: over the slice's sum) spread back over X, times the
 * term's derivative: 1 for ReduceSum and ReduceLogSum, X for ReduceL2, 2·X for ReduceSumSquare,
 * Sign(X) for ReduceL1 (0 at 0, as PyTorch's), exp(X − Y) for ReduceLogSumExp (Y spread the same
 * way). ReduceL2's all-zero slice (Y = 0) gets 0, as PyTorch differentiates such a norm, where
 * X · dY / Y would be 0 · ∞, NaN. */
RULE(summed_reduction_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  ipro_op op = node->op;
  int x = node->inputs[0], y = output_index(ad, n, 0);
  ipro_dtype dtype = ipro_autodiff_graph(ad)->tensors[x].dtype;
  int g = dy[0];
  if (op == IPRO_OP_REDUCE_L2) {
    int smallest = scalar_constant(ad, n, "smallest_norm", dtype, FLT_MIN, err);
    int divisor = smallest < 0 ? -1 : binary(ad, n, IPRO_OP_MAX, y, smallest, err);
    g = divisor < 0 ? -1 : binary(ad, n, IPRO_OP_DIV, dy[0], divisor, err);
  } else if (op == IPRO_OP_REDUCE_LOG_SUM) {
    int sum = emit1(ad, n, IPRO_OP_EXP, &y, 1, false, err, NULL);
    g = sum < 0 ? -1 : binary(ad, n, IPRO_OP_DIV, dy[0], sum, err);
  }
  int spread = g < 0 ? -1 : spread_over_input(ad, n, g, err);
  bool unit = op == IPRO_OP_REDUCE_SUM || op == IPRO_OP_REDUCE_LOG_SUM; /* a term's slope of 1 */
  int slope = x;
  if (op == IPRO_OP_REDUCE_SUM_SQUARE) {
    int twice = scalar_constant(ad, n, "two", dtype, 2.0, err);
    slope = twice < 0 ? -1 : binary(ad, n, IPRO_OP_MUL, x, twice, err);
  } else if (op == IPRO_OP_REDUCE_L1) {
    slope = emit1(ad, n, IPRO_OP_SIGN, &x, 1, false, err, NULL);
  } else if (op == IPRO_OP_REDUCE_LOG_SUM_EXP) {
    int y_spread = spread_over_input(ad, n, y, err);
    int shifted = y_spread < 0 ? -1 : binary(ad, n, IPRO_OP_SUB, x, y_spread, err);
    slope = shifted < 0 ? -1 : emit1(ad, n, IPRO_OP_EXP, &shifted, 1, false, err, NULL);
  }
  if (spread < 0 || (!unit && slope < 0)) return IPRO_ERROR;
  dx[0] = unit ? spread : binary(ad, n, IPRO_OP_MUL, spread, slope, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* ReduceProd: dY times the product of the slice's other elements (ipro.ReduceProdGrad, exact
 * where the slice holds zeros). */
RULE(reduce_prod_gradient) {
  (void)wanted;
  int inputs[2] = {dy[0], input_index(ad, n, 0)};
  return shaped_gradient_of(ad, n, IPRO_OP_REDUCE_PROD_GRAD, inputs, 2, dx, err);
}

/* ReduceMax, ReduceMin: dY shared among the X elements equal to their slice's Y
 * (ipro.ReduceExtremumGrad, with the forward's axes, keepdims and noop_with_empty_axes). */
RULE(reduce_extremum_gradient) {
  (void)wanted;
  int inputs[3] = {dy[0], input_index(ad, n, 0), output_index(ad, n, 0)};
  return shaped_gradient_of(ad, n, IPRO_OP_REDUCE_EXTREMUM_GRAD, inputs, 3, dx, err);
}

RULE(softmax_gradient) {
  (void)wanted;
  int inputs[2] = {dy[0], output_index(ad, n, 0)}, e;
  ipro_op forward_op = forward_node(ad, n)->op;
  dx[0] = emit1(ad, n, IPRO_OP_SOFTMAX_GRAD, inputs, 2, true, err, &e);
  if (dx[0] < 0) return IPRO_ERROR;
  if (ipro_node_set_int(&ipro_autodiff_graph(ad)->nodes[e], "forward_op", forward_op) != IPRO_OK)
    return ipro_error_set(err, "out of memory");
  return IPRO_OK;
}

/* Gemm: Y = alpha·op(A)·op(B) + beta·C, each gradient one more Gemm (or a reduction for C). */
/* Gemm(a, b) with transA ta, transB tb, alpha and beta 1: a product whose operands oneDNN reads
 * transposed through strides, with no copy. -1 on error. */
static int gemm(ipro_autodiff *ad, int n, int a, int b, int64_t ta, int64_t tb, float alpha,
                ipro_error *err) {
  int inputs[2] = {a, b}, e;
  int y = emit1(ad, n, IPRO_OP_GEMM, inputs, 2, false, err, &e);
  if (y < 0) return -1;
  ipro_node *g = &ipro_autodiff_graph(ad)->nodes[e];
  if (ipro_node_set_float(g, "alpha", alpha) != IPRO_OK ||
      ipro_node_set_float(g, "beta", 1.0f) != IPRO_OK ||
      ipro_node_set_int(g, "transA", ta) != IPRO_OK ||
      ipro_node_set_int(g, "transB", tb) != IPRO_OK) {
    ipro_error_set(err, "out of memory");
    return -1;
  }
  return y;
}

RULE(gemm_gradient) {
  const ipro_node *node = forward_node(ad, n);
  float alpha = ipro_node_attr_float(node, "alpha", 1.0f),
        beta = ipro_node_attr_float(node, "beta", 1.0f);
  int64_t trans_a = ipro_node_attr_int(node, "transA", 0),
          trans_b = ipro_node_attr_int(node, "transB", 0);
  int a = input_index(ad, n, 0), b = input_index(ad, n, 1);
  bool has_c = node->n_inputs > 2 && node->inputs[2] >= 0;
  for (int i = 0; i < 2; i++) {
    if (!wanted[i]) continue;
    int inputs[2];
    int64_t ta, tb;
    if (i == 0 && !trans_a)
      inputs[0] = dy[0], inputs[1] = b, ta = 0, tb = !trans_b;
    else if (i == 0)
      inputs[0] = b, inputs[1] = dy[0], ta = trans_b, tb = 1;
    else if (!trans_b)
      inputs[0] = a, inputs[1] = dy[0], ta = !trans_a, tb = 0;
    else
      inputs[0] = dy[0], inputs[1] = a, ta = 1, tb = trans_a;
    if ((dx[i] = gemm(ad, n, inputs[0], inputs[1], ta, tb, alpha, err)) < 0) return IPRO_ERROR;
  }
  if (has_c && wanted[2] && (dx[2] = reduce_to_input(ad, n, dy[0], 2, beta, err)) < 0)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* MatMul of two matrices: dA = dY·Bᵀ, dB = Aᵀ·dY (higher ranks are not differentiated yet). */
/* tensor (of rank `rank`) with its axes a and b swapped. -1 on error. */
static int swapped(ipro_autodiff *ad, int n, int tensor, int rank, int a, int b, ipro_error *err) {
  int e, t = emit1(ad, n, IPRO_OP_TRANSPOSE, &tensor, 1, false, err, &e);
  int64_t swap[IPRO_MAX_RANK];
  for (int d = 0; d < rank; d++)
    swap[d] = d;
  swap[a] = b, swap[b] = a;
  if (t < 0 ||
      ipro_node_set_ints(&ipro_autodiff_graph(ad)->nodes[e], "perm", swap, rank) != IPRO_OK) {
    if (t >= 0) ipro_error_set(err, "out of memory");
    return -1;
  }
  return t;
}

/* tensor (of rank `rank`) with its last two dimensions swapped, for the products below. */
static int transposed(ipro_autodiff *ad, int n, int tensor, int rank, ipro_error *err) {
  return swapped(ad, n, tensor, rank, rank - 2, rank - 1, err);
}

/* tensor (of `shape`) reshaped to [rows, columns], the rows every leading dimension. */
static int as_matrix(ipro_autodiff *ad, int n, int tensor, ipro_shape shape, ipro_error *err) {
  ipro_shape matrix = {.rank = 2, .dims = {1, shape.dims[shape.rank - 1]}};
  for (int d = 0; d < shape.rank - 1; d++)
    matrix.dims[0] *= shape.dims[d];
  return reshape_to(ad, n, tensor, &matrix, err);
}

/* A (2-D, or N-D: a linear layer applied to every row of a batch of sequences) times B (2-D):
 * dA = dY·Bᵀ; dB = Aᵀ·dY with A and dY as matrices of all their rows. A and B of one rank above 2
 * with the same leading dimensions (attention's batched products): dA = dY·Bᵀ, dB = Aᵀ·dY, each
 * matrix of the batch transposed. */
/* Whether operand x of a batched MatMul has Y's batch dimensions (its rank and each of them). */
static bool same_batch(const ipro_shape *x, const ipro_shape *y) {
  if (x->rank != y->rank) return false;
  for (int d = 0; d < x->rank - 2; d++)
    if (x->dims[d] != y->dims[d]) return false;
  return true;
}

RULE(mat_mul_gradient) {
  /* shapes by value: emitting may move the tensor array */
  ipro_shape a = input_tensor(ad, n, 0)->shape, b = input_tensor(ad, n, 1)->shape;
  ipro_shape y = ipro_autodiff_graph(ad)->tensors[output_index(ad, n, 0)].shape;
  if (a.rank < 2 || b.rank < 2)
    return ipro_error_set(err,
                          "node '%s' (MatMul): gradients are implemented for operands of rank 2 "
                          "or more only (this one has ranks %d and %d)",
                          forward_node(ad, n)->name, a.rank, b.rank);
  int a_index = input_index(ad, n, 0), b_index = input_index(ad, n, 1);
  if (b.rank == 2) {
    /* a linear layer (A of any rank as the matrix of its rows): dA = dY·Bᵀ and dB = Aᵀ·dY as
     * Gemms reading the transposed operand through strides, no Transpose copied */
    int dy_rows = a.rank == 2 ? dy[0] : as_matrix(ad, n, dy[0], y, err);
    if (dy_rows < 0) return IPRO_ERROR;
    if (wanted[0]) {
      int rows = gemm(ad, n, dy_rows, b_index, 0, 1, 1.0f, err);
      dx[0] = rows < 0 || a.rank == 2 ? rows : reshape_to(ad, n, rows, &a, err);
      if (dx[0] < 0) return IPRO_ERROR;
    }
    if (wanted[1]) {
      int a_rows = a.rank == 2 ? a_index : as_matrix(ad, n, a_index, a, err);
      dx[1] = a_rows < 0 ? -1 : gemm(ad, n, a_rows, dy_rows, 1, 0, 1.0f, err);
      if (dx[1] < 0) return IPRO_ERROR;
    }
    return IPRO_OK;
  }
  /* batched, the batch dimensions broadcast as numpy's: each product over Y's batch, summed back
   * over the dimensions an operand was broadcast along (LambdaNetworks' positional lambdas) */
  if (wanted[0]) {
    int bt = transposed(ad, n, b_index, b.rank, err);
    int g = bt < 0 ? -1 : binary(ad, n, IPRO_OP_MAT_MUL, dy[0], bt, err);
    dx[0] = g < 0 || same_batch(&a, &y) ? g : reduced_to(ad, n, g, &a, 1.0f, err);
    if (dx[0] < 0) return IPRO_ERROR;
  }
  if (wanted[1]) {
    int at = transposed(ad, n, a_index, a.rank, err);
    int g = at < 0 ? -1 : binary(ad, n, IPRO_OP_MAT_MUL, at, dy[0], err);
    dx[1] = g < 0 || same_batch(&b, &y) ? g : reduced_to(ad, n, g, &b, 1.0f, err);
    if (dx[1] < 0) return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* Flatten, Reshape, Squeeze, Unsqueeze: the gradient is dY reshaped to the input's shape. */
RULE(reshape_gradient) {
  (void)wanted;
  ipro_shape shape = input_tensor(ad, n, 0)->shape;
  dx[0] = reshape_to(ad, n, dy[0], &shape, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

RULE(identity_gradient) {
  (void)ad, (void)n, (void)wanted, (void)err;
  dx[0] = dy[0];
  return IPRO_OK;
}

/* dX: dY summed over the broadcast dimensions back to X's shape. */
RULE(expand_gradient) {
  (void)wanted;
  dx[0] = reduce_to_input(ad, n, dy[0], 0, 1.0f, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* Tile: each element of X gets the sum of dY over its copies: dY seen as [r0, x0, r1, x1, ...]
 * (a Reshape, r the repeats) summed to [1, x0, 1, x1, ...] (ipro.ReduceToShape) and reshaped to
 * X's shape. A Tile that repeats only dimensions of 1 is an Expand, and so is its gradient. */
RULE(tile_gradient) {
  (void)wanted;
  ipro_shape x = input_tensor(ad, n, 0)->shape;
  ipro_shape y = ipro_autodiff_graph(ad)->tensors[output_index(ad, n, 0)].shape;
  bool expands = true;
  for (int d = 0; d < x.rank; d++)
    expands &= x.dims[d] == y.dims[d] || x.dims[d] == 1;
  if (expands) {
    dx[0] = reduce_to_input(ad, n, dy[0], 0, 1.0f, err);
    return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
  }
  if (2 * x.rank > IPRO_MAX_RANK)
    return ipro_error_set(err,
                          "node '%s' (Tile): the gradient of a Tile of rank %d needs rank %d, "
                          "above the %d infopro supports",
                          forward_node(ad, n)->name, x.rank, 2 * x.rank, IPRO_MAX_RANK);
  ipro_shape copies = {.rank = 2 * x.rank}, summed = {.rank = 2 * x.rank};
  for (int d = 0; d < x.rank; d++) {
    copies.dims[2 * d] = x.dims[d] ? y.dims[d] / x.dims[d] : 0;
    copies.dims[2 * d + 1] = summed.dims[2 * d + 1] = x.dims[d];
    summed.dims[2 * d] = 1;
  }
  int g = reshape_to(ad, n, dy[0], &copies, err);
  g = g < 0 ? -1 : reduced_to(ad, n, g, &summed, 1.0f, err);
  dx[0] = g < 0 ? -1 : reshape_to(ad, n, g, &x, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* GatherElements: dData is zeros with dY added at the elements the indices took
 * (ipro.GatherElementsGrad, the forward's axis and input shape); the indices get none. */
RULE(gather_elements_gradient) {
  if (!wanted[0]) return IPRO_OK;
  int inputs[2] = {dy[0], input_index(ad, n, 1)};
  return shaped_gradient_of(ad, n, IPRO_OP_GATHER_ELEMENTS_GRAD, inputs, 2, dx, err);
}

/* Einsum: each operand's gradient is the Einsum of dY with the other operand back to its letters
 * ("ab,bc->ac": dA by "ac,bc->ab", dB by "ab,ac->bc"; one operand: dY spread back, "ab->a" has
 * dA by "a->ab" only where the other letters come from somewhere, so a letter only one operand has
 * and the output lacks, summed over, is refused). */
RULE(einsum_gradient) {
  const ipro_node *node = forward_node(ad, n);
  ipro_einsum e;
  if (ipro_einsum_parse(ipro_node_attr_string(node, "equation", ""), node->n_inputs, &e))
    return ipro_error_set(err, "node '%s' (Einsum): an equation it cannot read", node->name);
  for (int i = 0; i < e.n_operands; i++) {
    if (!wanted[i]) continue;
    int other = 1 - i;
    bool has_other = e.n_operands == 2;
    for (int k = 0; k < e.rank[i]; k++)
      if (!memchr(e.output, e.operand[i][k], (size_t)e.out_rank) &&
          !(has_other && memchr(e.operand[other], e.operand[i][k], (size_t)e.rank[other])))
        return ipro_error_set(err,
                              "node '%s' (Einsum): the gradient of a letter one operand alone "
                              "sums over ('%c') is not supported",
                              node->name, e.operand[i][k]);
    char equation[64];
    ipro_einsum_format(e.output, e.out_rank, has_other ? e.operand[other] : "",
                       has_other ? e.rank[other] : -1, e.operand[i], e.rank[i], equation,
                       sizeof equation);
    int inputs[2] = {dy[0], has_other ? input_index(ad, n, other) : -1}, emitted;
    dx[i] = emit1(ad, n, IPRO_OP_EINSUM, inputs, has_other ? 2 : 1, false, err, &emitted);
    if (dx[i] < 0) return IPRO_ERROR;
    if (ipro_node_set_string(&ipro_autodiff_graph(ad)->nodes[emitted], "equation", equation) !=
        IPRO_OK)
      return ipro_error_set(err, "out of memory");
  }
  return IPRO_OK;
}

/* LSTM, GRU and RNN: one ipro.RecurrentGrad (forward_op says which) takes the forward's inputs
 * and the gradients of Y, Y_h and Y_c (absent where none reaches them), recomputes the steps and
 * gives every input's gradient but sequence_lens'. */
RULE(recurrent_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  ipro_op forward_op = node->op;
  int inputs[11], count = 0;
  for (int i = 0; i < 8; i++)
    inputs[i] = i < node->n_inputs ? node->inputs[i] : -1;
  for (int o = 0; o < 3; o++)
    inputs[8 + o] = o < node->n_outputs && node->outputs[o] >= 0 ? dy[o] : -1;
  for (int i = 0; i < 11; i++)
    if (inputs[i] >= 0) count = i + 1;
  bool lstm = forward_op == IPRO_OP_LSTM;
  int outputs[7];
  /* emitting may move the node array: no forward node pointer is used after this */
  int e = ipro_autodiff_emit(ad, n, IPRO_OP_RECURRENT_GRAD, inputs, count, lstm ? 7 : 5, outputs,
                             true, err);
  if (e < 0) return IPRO_ERROR;
  if (ipro_node_set_int(&ipro_autodiff_graph(ad)->nodes[e], "forward_op", forward_op) != IPRO_OK)
    return ipro_error_set(err, "out of memory");
  /* dX, dW, dR, dB, dInitial_h, then LSTM's dInitial_c and dP; sequence_lens (4) has none */
  static const int input_of[7] = {0, 1, 2, 3, 5, 6, 7};
  for (int o = 0; o < (lstm ? 7 : 5); o++)
    if (inputs[input_of[o]] >= 0) dx[input_of[o]] = outputs[o];
  return IPRO_OK;
}

/* Col2Im: dX is dY read back at each value's pixel (ipro.Col2ImGrad, an Im2Col: the window's
 * attributes, X's shape), 0 for the values that fell in the padding. */
RULE(col2im_gradient) {
  if (!wanted[0]) return IPRO_OK;
  return shaped_gradient_of(ad, n, IPRO_OP_COL2IM_GRAD, dy, 1, dx, err);
}

/* Cast and CastLike. dX: dY converted back to X's dtype (only real inputs ask for one). */
RULE(cast_like_gradient) {
  (void)wanted;
  ipro_dtype from = input_tensor(ad, n, 0)->dtype;
  if (from == ipro_autodiff_graph(ad)->tensors[output_index(ad, n, 0)].dtype) {
    dx[0] = dy[0];
    return IPRO_OK;
  }
  int inputs[2] = {dy[0], forward_node(ad, n)->inputs[0]};
  dx[0] = emit1(ad, n, IPRO_OP_CAST_LIKE, inputs, 2, false, err, NULL);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

RULE(transpose_gradient) {
  (void)wanted;
  int count = 0;
  const int64_t *perm = ipro_node_attr_ints(forward_node(ad, n), "perm", &count);
  int64_t inverse[IPRO_MAX_RANK];
  if (!perm || count > IPRO_MAX_RANK) return ipro_error_set(err, "Transpose without perm");
  for (int i = 0; i < count; i++)
    inverse[perm[i]] = i;
  int e;
  dx[0] = emit1(ad, n, IPRO_OP_TRANSPOSE, dy, 1, false, err, &e);
  if (dx[0] < 0 ||
      ipro_node_set_ints(&ipro_autodiff_graph(ad)->nodes[e], "perm", inverse, count) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* A slice of dY with the shape of input i, starting at `starts`. */
static int slice_of(ipro_autodiff *ad, int n, int g, int i, const int64_t *starts,
                    ipro_error *err) {
  ipro_shape shape = input_tensor(ad, n, i)->shape;
  int e;
  int r = emit1(ad, n, IPRO_OP_SLICE, &g, 1, false, err, &e);
  if (r < 0 || set_shape_attribute(ad, e, "shape", &shape, err) != IPRO_OK ||
      ipro_node_set_ints(&ipro_autodiff_graph(ad)->nodes[e], "starts", starts, shape.rank) !=
          IPRO_OK)
    return -1;
  return r;
}

/* The i-th of constant indices, counted from 0 along an axis of extent dim. */
static int64_t index_at(const ipro_tensor *indices, int64_t i, int64_t dim) {
  int64_t v = indices->dtype == IPRO_DTYPE_INT64 ? ((const int64_t *)indices->data)[i]
                                                 : ((const int32_t *)indices->data)[i];
  return v < 0 ? v + dim : v;
}

/* The most entries of the table of a Gather's gradient at repeated indices (rows of X times the
 * most indices that read one row). */
#define MAX_SEGMENT_TABLE (1 << 22)

/* Gather along axis 0 with constant indices that may repeat or leave rows out (the Swin
 * Transformer's relative position bias, a [169, heads] table read at 2,401 indices), and GatherND
 * at constant indices, whose first k axes are one axis of rows here: each row of dX is the sum of
 * dY's rows at the indices that read it. With dY seen as [indices, the rest] and a zero row
 * appended, a constant table [rows of X, most readers] lists each row's readers (padded with the
 * zero row): Gather by it, then sum over the readers (ipro.ReduceToShape), and that made X's shape.
 * The table holds the indices once more (int64) and nothing of X's size. row[j], the row index j
 * reads, is within 0..rows-1 (the callers check). */
static ipro_status segment_sum_gradient(ipro_autodiff *ad, int n, const int64_t *row, int64_t count,
                                        int64_t rows, const ipro_shape *x, const int *dy, int *dx,
                                        ipro_error *err) {
  const ipro_node *node = forward_node(ad, n);
  ipro_dtype dtype = input_tensor(ad, n, 0)->dtype; /* float32, or float64 in the tests */
  int64_t readers = 1, rest = ipro_shape_elements(x) / (rows ? rows : 1);
  int64_t *filled = calloc((size_t)rows + 1, sizeof(int64_t));
  if (!filled) return ipro_error_set(err, "out of memory building the backward pass");
  for (int64_t j = 0; j < count; j++) {
    int64_t r = ++filled[row[j]];
    if (r > readers) readers = r;
  }
  int64_t *table = readers <= MAX_SEGMENT_TABLE / (rows ? rows : 1)
                       ? malloc(sizeof(int64_t) * (size_t)(rows * readers + 1))
                       : NULL;
  void *zeros = calloc((size_t)rest + 1, ipro_dtype_size(dtype));
  if (!table || !zeros) {
    free(filled);
    free(table);
    free(zeros);
    if (readers > MAX_SEGMENT_TABLE / (rows ? rows : 1))
      return ipro_error_set(err,
                            "node '%s' (%s): its gradient, %lld rows each read up to %lld "
                            "times, is over infopro's limit of %d entries",
                            node->name, node->op_type, (long long)rows, (long long)readers,
                            MAX_SEGMENT_TABLE);
    return ipro_error_set(err, "out of memory building the backward pass");
  }
  for (int64_t k = 0; k < rows * readers; k++)
    table[k] = count; /* the zero row */
  memset(filled, 0, sizeof(int64_t) * (size_t)rows);
  for (int64_t j = 0; j < count; j++)
    table[row[j] * readers + filled[row[j]]++] = j;
  ipro_shape zero_shape = {.rank = 2, .dims = {1, rest}};
  ipro_shape table_shape = {.rank = 2, .dims = {rows, readers}};
  int zero = ipro_autodiff_constant(ad, n, "zero_row", dtype, &zero_shape, zeros, err);
  int readers_of = zero < 0 ? -1
                            : ipro_autodiff_constant(ad, n, "readers", IPRO_DTYPE_INT64,
                                                     &table_shape, table, err);
  free(filled);
  free(table);
  free(zeros);
  ipro_shape dy_rows = {.rank = 2, .dims = {count, rest}};
  int g = readers_of < 0 ? -1 : reshape_to(ad, n, dy[0], &dy_rows, err), e;
  int rows_and_zero[2] = {g, zero};
  g = g < 0 ? -1 : emit1(ad, n, IPRO_OP_CONCAT, rows_and_zero, 2, false, err, &e);
  if (g < 0 || ipro_node_set_int(&ipro_autodiff_graph(ad)->nodes[e], "axis", 0) != IPRO_OK)
    return g < 0 ? IPRO_ERROR : ipro_error_set(err, "out of memory");
  int gather[2] = {g, readers_of};
  g = emit1(ad, n, IPRO_OP_GATHER, gather, 2, false, err, &e);
  if (g < 0 || ipro_node_set_int(&ipro_autodiff_graph(ad)->nodes[e], "axis", 0) != IPRO_OK)
    return g < 0 ? IPRO_ERROR : ipro_error_set(err, "out of memory");
  ipro_shape summed = {.rank = 3, .dims = {rows, 1, rest}};
  g = emit1(ad, n, IPRO_OP_REDUCE_TO_SHAPE, &g, 1, false, err, &e);
  if (g < 0 || set_shape_attribute(ad, e, "shape", &summed, err) != IPRO_OK) return IPRO_ERROR;
  dx[0] = reshape_to(ad, n, g, x, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* Gather at constant indices that repeat or leave slices out: segment_sum_gradient along axis 0;
 * along another axis the same between two transposes, dY seen as [before, indices, after] with
 * the indices first (F.unfold as torch.export writes it: VOLO's outlook attention). */
static ipro_status rows_gradient(ipro_autodiff *ad, int n, const ipro_tensor *indices,
                                 const ipro_shape *x, int axis, const int *dy, int *dx,
                                 ipro_error *err) {
  const ipro_node *node = forward_node(ad, n);
  int64_t rows = x->dims[axis], count = ipro_shape_elements(&indices->shape);
  int64_t *row = malloc(sizeof(int64_t) * (size_t)(count + 1));
  if (!row) return ipro_error_set(err, "out of memory building the backward pass");
  for (int64_t j = 0; j < count; j++) {
    row[j] = index_at(indices, j, rows);
    if (row[j] < 0 || row[j] >= rows) { /* inference checked them; a gradient is not a crash */
      free(row);
      return ipro_error_set(err, "node '%s' (Gather): an index is outside its %lld slices",
                            node->name, (long long)rows);
    }
  }
  if (axis == 0) {
    ipro_status status = segment_sum_gradient(ad, n, row, count, rows, x, dy, dx, err);
    free(row);
    return status;
  }
  int64_t before = 1, after = 1;
  for (int d = 0; d < axis; d++)
    before *= x->dims[d];
  for (int d = axis + 1; d < x->rank; d++)
    after *= x->dims[d];
  ipro_shape seen = {.rank = 3, .dims = {before, count, after}};
  ipro_shape moved = {.rank = 3, .dims = {rows, before, after}};
  int g = reshape_to(ad, n, dy[0], &seen, err), summed = -1;
  g = g < 0 ? -1 : swapped(ad, n, g, 3, 0, 1, err);
  ipro_status status =
      g < 0 ? IPRO_ERROR : segment_sum_gradient(ad, n, row, count, rows, &moved, &g, &summed, err);
  free(row);
  if (status != IPRO_OK) return IPRO_ERROR;
  g = swapped(ad, n, summed, 3, 0, 1, err);
  dx[0] = g < 0 ? -1 : reshape_to(ad, n, g, x, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* ScatterND (reduction none) at constant indices: dData is dY with zeros where the updates were
 * written (a ScatterND of zeros into dY), dUpdates dY read back there (a GatherND). torchvision's
 * Swin-V2 zeroes the k part of its qkv bias in the forward pass so (`bias[n:2n].zero_()`). */
RULE(scatter_nd_gradient) {
  const ipro_node *node = forward_node(ad, n);
  const ipro_tensor *indices = input_tensor(ad, n, 1);
  if (!indices->data || indices->kind == IPRO_TENSOR_ACTIVATION)
    return ipro_error_set(err,
                          "node '%s' (ScatterND): gradients are implemented for constant indices "
                          "only",
                          node->name);
  int index = input_index(ad, n, 1);
  if (wanted[0]) {
    /* zeros of the updates' shape: one zero expanded, not a constant of that size */
    ipro_shape shape = input_tensor(ad, n, 2)->shape;
    int zero =
        expanded_to(ad, n, scalar_constant(ad, n, "zero", input_tensor(ad, n, 2)->dtype, 0.0, err),
                    &shape, err);
    int inputs[3] = {dy[0], index, zero};
    dx[0] = zero < 0 ? -1 : emit1(ad, n, IPRO_OP_SCATTER_ND, inputs, 3, false, err, NULL);
    if (dx[0] < 0) return IPRO_ERROR;
  }
  if (wanted[2]) {
    int inputs[2] = {dy[0], index};
    dx[2] = emit1(ad, n, IPRO_OP_GATHER_ND, inputs, 2, false, err, NULL);
    if (dx[2] < 0) return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* GatherND (batch_dims 0) at constant indices [..., k]: each index reads one row of data seen as
 * [d0 · ... · d(k-1), the rest] (its position in the first k axes, row-major), so dData is
 * segment_sum_gradient's over those rows (an adaptive average pooling whose windows do not divide
 * the map, which torch.export writes as a GatherND of the map at 2-axis indices; a row read by
 * several windows sums their gradients). */
RULE(gather_nd_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  const ipro_tensor *indices = input_tensor(ad, n, 1);
  ipro_shape x = input_tensor(ad, n, 0)->shape;
  const ipro_shape *q = &indices->shape;
  int64_t k = q->rank >= 1 ? q->dims[q->rank - 1] : 0;
  if (!indices->data || indices->kind == IPRO_TENSOR_ACTIVATION || k < 1 || k > x.rank)
    return ipro_error_set(err,
                          "node '%s' (GatherND): gradients are implemented for constant indices "
                          "only",
                          node->name);
  int64_t rows = 1, count = ipro_shape_elements(q) / k;
  for (int64_t a = 0; a < k; a++)
    rows *= x.dims[a];
  int64_t *row = malloc(sizeof(int64_t) * (size_t)(count + 1));
  if (!row) return ipro_error_set(err, "out of memory building the backward pass");
  const int64_t *at = indices->data; /* int64, as inference requires */
  for (int64_t j = 0; j < count; j++) {
    int64_t r = 0;
    for (int64_t a = 0; a < k; a++) {
      int64_t v = at[j * k + a] < 0 ? at[j * k + a] + x.dims[a] : at[j * k + a];
      if (v < 0 || v >= x.dims[a]) {
        free(row);
        return ipro_error_set(err, "node '%s' (GatherND): an index is outside axis %lld's %lld",
                              node->name, (long long)a, (long long)x.dims[a]);
      }
      r = r * x.dims[a] + v;
    }
    row[j] = r;
  }
  ipro_status status = segment_sum_gradient(ad, n, row, count, rows, &x, dy, dx, err);
  free(row);
  return status;
}

/* Gather with constant indices that take each of the axis's dim slices exactly once (torch.export
 * writes as_strided so, its indices computed from Ranges: a permutation, in order where the view
 * is contiguous): dY has the axis's slices in the indices' shape; made the input's shape again it
 * is dX in the gathered order, which the inverse permutation puts back (in order: nothing). */
static ipro_status permutation_gradient(ipro_autodiff *ad, int n, const ipro_tensor *indices,
                                        const ipro_shape *x, int64_t axis, const int *dy, int *dx,
                                        ipro_error *err) {
  int64_t dim = x->dims[axis], count = ipro_shape_elements(&indices->shape);
  int64_t *inverse = count == dim && dim > 0 ? malloc(sizeof(int64_t) * (size_t)dim) : NULL;
  bool permutation = inverse != NULL, in_order = true;
  for (int64_t i = 0; permutation && i < dim; i++)
    inverse[i] = -1;
  for (int64_t i = 0; permutation && i < count; i++) {
    int64_t at = index_at(indices, i, dim);
    permutation = at >= 0 && at < dim && inverse[at] < 0;
    if (permutation) inverse[at] = i;
    in_order = in_order && at == i;
  }
  if (!permutation) {
    free(inverse);
    return rows_gradient(ad, n, indices, x, (int)axis, dy, dx, err);
  }
  int reshaped = reshape_to(ad, n, dy[0], x, err);
  if (reshaped < 0) {
    free(inverse);
    return IPRO_ERROR;
  }
  if (in_order) {
    free(inverse);
    dx[0] = reshaped;
    return IPRO_OK;
  }
  int order = ipro_autodiff_constant_ints(ad, n, inverse, (int)dim, err);
  free(inverse);
  int gather_inputs[2] = {reshaped, order};
  dx[0] = order < 0 ? -1 : emit1(ad, n, IPRO_OP_GATHER, gather_inputs, 2, true, err, NULL);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* Gather with one constant index (a scalar: the axis goes): dX is dY with the axis put back and
 * zeros padded around it, where the index took its slice from (attention's q, k, v taken from one
 * projection); with constant indices that permute the axis, permutation_gradient. */
RULE(gather_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  const ipro_tensor *indices = input_tensor(ad, n, 1);
  ipro_shape x = input_tensor(ad, n, 0)->shape;
  int64_t axis = ipro_node_attr_int(node, "axis", 0);
  if (!indices->data || indices->kind == IPRO_TENSOR_ACTIVATION || axis < 0 || axis >= x.rank)
    return ipro_error_set(err,
                          "node '%s' (Gather): gradients are implemented for constant indices "
                          "only",
                          node->name);
  if (indices->shape.rank != 0) return permutation_gradient(ad, n, indices, &x, axis, dy, dx, err);
  int64_t index = indices->dtype == IPRO_DTYPE_INT64 ? *(const int64_t *)indices->data
                                                     : *(const int32_t *)indices->data;
  if (index < 0) index += x.dims[axis]; /* within range: Gather's inference checked it */
  ipro_shape kept = x;                  /* dY's shape with the axis back, of extent 1 */
  kept.dims[axis] = 1;
  int unsqueezed = reshape_to(ad, n, dy[0], &kept, err);
  int64_t pads[2 * IPRO_MAX_RANK] = {0};
  pads[axis] = index;
  pads[x.rank + axis] = x.dims[axis] - index - 1;
  dx[0] = unsqueezed < 0 ? -1 : zero_padded(ad, n, unsqueezed, pads, x.rank, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

RULE(concat_gradient) {
  const ipro_node *node = forward_node(ad, n);
  int64_t axis = ipro_node_attr_int(node, "axis", 0), offset = 0;
  int n_inputs = node->n_inputs;
  for (int i = 0; i < n_inputs; i++) {
    const ipro_tensor *x = input_tensor(ad, n, i);
    int64_t starts[IPRO_MAX_RANK] = {0};
    starts[axis] = offset;
    offset += x->shape.dims[axis];
    if (wanted[i] && (dx[i] = slice_of(ad, n, dy[0], i, starts, err)) < 0) return IPRO_ERROR;
  }
  return IPRO_OK;
}

RULE(pad_gradient) {
  (void)wanted;
  int count = 0;
  const ipro_node *node = forward_node(ad, n);
  const int64_t *pads = ipro_node_attr_ints(node, "pads", &count);
  int rank = input_tensor(ad, n, 0)->shape.rank;
  if (!pads || count != 2 * rank) return ipro_error_set(err, "Pad without pads");
  /* The gradient of constant padding is a slice; edge/reflect/wrap padding and cropping (negative
   * pads) would need more than that. */
  bool slice = strcmp(ipro_node_attr_string(node, "mode", "constant"), "constant") == 0;
  for (int i = 0; i < count; i++)
    slice = slice && pads[i] >= 0;
  if (!slice)
    return ipro_error_set(err,
                          "node '%s' (Pad): gradients are implemented for constant padding with "
                          "non-negative pads only",
                          node->name);
  dx[0] = slice_of(ad, n, dy[0], 0, pads, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

RULE(dropout_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  if (ipro_node_attr_int(node, "training_mode", 0) == 0) {
    dx[0] = dy[0];
    return IPRO_OK;
  }
  if (node->n_outputs < 2 || node->outputs[1] < 0)
    return ipro_error_set(err, "node '%s' (Dropout) keeps no mask for its gradient", node->name);
  int inputs[2] = {dy[0], node->outputs[1]};
  dx[0] = emit1(ad, n, IPRO_OP_DROPOUT_GRAD, inputs, 2, true, err, NULL);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* The gradient g of a slice with a step k > 1 along axis d (*shape: g's shape, m along d) spread
 * to every k-th place of the span from the slice's first element to its last, zeros between:
 * seen as [.., m, 1, ..], padded to [.., m, k, ..], seen as [.., m·k, ..] and cut to the
 * (m - 1)·k + 1 places of the span. -1 on error. */
static int spread_along(ipro_autodiff *ad, int n, int g, ipro_shape *shape, int d, int64_t k,
                        ipro_error *err) {
  int rank = shape->rank;
  int64_t m = shape->dims[d];
  if (rank + 1 > IPRO_MAX_RANK) {
    ipro_error_set(err, "node '%s' (Slice): a step of %lld at rank %d has no gradient in infopro",
                   forward_node(ad, n)->name, (long long)k, rank);
    return -1;
  }
  ipro_shape split = {.rank = rank + 1};
  for (int a = 0; a < rank; a++)
    split.dims[a + (a > d)] = shape->dims[a];
  split.dims[d + 1] = 1;
  int64_t pads[2 * IPRO_MAX_RANK] = {0};
  pads[rank + 1 + d + 1] = k - 1;
  ipro_shape spread = *shape, span = *shape;
  spread.dims[d] = m * k;
  span.dims[d] = (m - 1) * k + 1;
  int r = reshape_to(ad, n, g, &split, err);
  r = r < 0 ? -1 : zero_padded(ad, n, r, pads, rank + 1, err);
  r = r < 0 ? -1 : reshape_to(ad, n, r, &spread, err);
  int e;
  r = r < 0 ? -1 : emit1(ad, n, IPRO_OP_SLICE, &r, 1, false, err, &e);
  int64_t starts[IPRO_MAX_RANK] = {0};
  if (r < 0 || set_shape_attribute(ad, e, "shape", &span, err) != IPRO_OK ||
      ipro_node_set_ints(&ipro_autodiff_graph(ad)->nodes[e], "starts", starts, rank) != IPRO_OK)
    return -1;
  *shape = span;
  return r;
}

/* ONNX's Slice with positive steps: dY put back where the slice came from, zeros around it, a
 * constant Pad (the slice's first element per axis and its extent, written by shape inference),
 * after dY is spread to every k-th place along an axis of step k (the Swin Transformer's patch
 * merging takes x[:, 0::2, 1::2, :]). */
RULE(slice_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  ipro_shape x = input_tensor(ad, n, 0)->shape;
  ipro_shape y = ipro_autodiff_graph(ad)->tensors[output_index(ad, n, 0)].shape;
  int n_first = 0, n_step = 0;
  const int64_t *first = ipro_node_attr_ints(node, "slice_first", &n_first);
  const int64_t *step = ipro_node_attr_ints(node, "slice_step", &n_step);
  if (!first || !step || n_first != x.rank || n_step != x.rank || y.rank != x.rank)
    return ipro_error_set(err, "node '%s' (Slice) has no slice to differentiate", node->name);
  int64_t pads[2 * IPRO_MAX_RANK], steps[IPRO_MAX_RANK], starts[IPRO_MAX_RANK];
  for (int d = 0; d < x.rank; d++) {
    if (step[d] < 1)
      return ipro_error_set(err,
                            "node '%s' (Slice): a step of %lld has no gradient in infopro "
                            "(positive steps have)",
                            node->name, (long long)step[d]);
    steps[d] = step[d]; /* emitting may move the node's attributes */
    starts[d] = first[d];
  }
  int g = dy[0];
  ipro_shape shape = y;
  for (int d = 0; g >= 0 && d < x.rank; d++)
    if (steps[d] > 1 && shape.dims[d] > 1) g = spread_along(ad, n, g, &shape, d, steps[d], err);
  if (g < 0) return IPRO_ERROR;
  for (int d = 0; d < x.rank; d++) {
    bool whole = x.dims[d] == shape.dims[d]; /* the batch among them, which is never sliced */
    pads[d] = whole ? 0 : starts[d];
    pads[x.rank + d] = whole ? 0 : x.dims[d] - starts[d] - shape.dims[d];
  }
  dx[0] = zero_padded(ad, n, g, pads, x.rank, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* Split: the pieces' gradients side by side along the axis again, one Concat where every piece
 * has one; else each piece that has one padded with zeros to X's shape, and those summed. */
RULE(split_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  int64_t axis = ipro_node_attr_int(node, "axis", 0);
  int pieces = node->n_outputs, count = 0, present = 0;
  const int64_t *split = ipro_node_attr_ints(node, "split", &count);
  ipro_shape x = input_tensor(ad, n, 0)->shape;
  if (!split || count != pieces || pieces > 64 || axis < 0 || axis >= x.rank)
    return ipro_error_set(err, "node '%s' (Split) has no pieces to differentiate", node->name);
  int64_t split_copy[64];
  for (int o = 0; o < pieces; o++) {
    split_copy[o] = split[o]; /* emitting may move the node's attributes */
    present += dy[o] >= 0;
  }
  int e;
  if (present == pieces) {
    dx[0] = emit1(ad, n, IPRO_OP_CONCAT, dy, pieces, false, err, &e);
    if (dx[0] < 0) return IPRO_ERROR;
    if (ipro_node_set_int(&ipro_autodiff_graph(ad)->nodes[e], "axis", axis) != IPRO_OK)
      return ipro_error_set(err, "out of memory");
    return IPRO_OK;
  }
  int terms[64], n_terms = 0;
  int64_t offset = 0;
  for (int o = 0; o < pieces; o++) {
    if (dy[o] >= 0) {
      int64_t pads[2 * IPRO_MAX_RANK] = {0};
      pads[axis] = offset;
      pads[x.rank + axis] = x.dims[axis] - offset - split_copy[o];
      terms[n_terms] = zero_padded(ad, n, dy[o], pads, x.rank, err);
      if (terms[n_terms] < 0) return IPRO_ERROR;
      n_terms++;
    }
    offset += split_copy[o];
  }
  dx[0] = n_terms == 1 ? terms[0] : emit1(ad, n, IPRO_OP_SUM, terms, n_terms, false, err, NULL);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* Where(condition, X, Y): dX = Where(condition, dY, 0) and dY = Where(condition, 0, dY), each
 * summed back over what it was broadcast along; the bool condition takes none (torch.export's
 * masked_fill, an adaptive pooling's windows masked to their extents). */
RULE(where_gradient) {
  int zero =
      scalar_constant(ad, n, "zero", ipro_autodiff_graph(ad)->tensors[dy[0]].dtype, 0.0, err);
  if (zero < 0) return IPRO_ERROR;
  for (int i = 1; i <= 2; i++) {
    if (!wanted[i]) continue;
    int condition = forward_node(ad, n)->inputs[0];
    int chosen[3] = {condition, i == 1 ? dy[0] : zero, i == 1 ? zero : dy[0]};
    int g = emit1(ad, n, IPRO_OP_WHERE, chosen, 3, false, err, NULL);
    dx[i] = g < 0 ? -1 : reduce_to_input(ad, n, g, i, 1.0f, err);
    if (dx[i] < 0) return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* Abs: dX = dY · Sign(X) (0 at 0, as PyTorch's). */
RULE(abs_gradient) {
  (void)wanted;
  int x = forward_node(ad, n)->inputs[0];
  int sign = emit1(ad, n, IPRO_OP_SIGN, &x, 1, false, err, NULL);
  dx[0] = sign < 0 ? -1 : binary(ad, n, IPRO_OP_MUL, dy[0], sign, err);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* PRelu: dX = dY where X > 0, slope · dY elsewhere (PyTorch's branch at 0); dSlope = X · dY where
 * X ≤ 0, summed back to the slope's shape: a Greater, Wheres and Muls (the CPU backend's loops and
 * oneDNN's binary primitive). */
RULE(prelu_gradient) {
  const ipro_node *node = forward_node(ad, n);
  int x = node->inputs[0], slope = node->inputs[1];
  ipro_dtype dtype = ipro_autodiff_graph(ad)->tensors[x].dtype;
  int zero = scalar_constant(ad, n, "zero", dtype, 0.0, err);
  int positive = zero < 0 ? -1 : binary(ad, n, IPRO_OP_GREATER, x, zero, err);
  if (positive < 0) return IPRO_ERROR;
  if (wanted[0]) {
    int scaled = binary(ad, n, IPRO_OP_MUL, dy[0], slope, err);
    int chosen[3] = {positive, dy[0], scaled};
    dx[0] = scaled < 0 ? -1 : emit1(ad, n, IPRO_OP_WHERE, chosen, 3, false, err, NULL);
    if (dx[0] < 0) return IPRO_ERROR;
  }
  if (wanted[1]) {
    int product = binary(ad, n, IPRO_OP_MUL, dy[0], x, err);
    int chosen[3] = {positive, zero, product};
    int g = product < 0 ? -1 : emit1(ad, n, IPRO_OP_WHERE, chosen, 3, false, err, NULL);
    dx[1] = g < 0 ? -1 : reduce_to_input(ad, n, g, 1, 1.0f, err);
    if (dx[1] < 0) return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* Sin: dX = dY · Cos(X); Cos: dX = -dY · Sin(X). */
RULE(sin_cos_gradient) {
  (void)wanted;
  const ipro_node *node = forward_node(ad, n);
  bool sine = node->op == IPRO_OP_SIN;
  int x = node->inputs[0];
  int slope = emit1(ad, n, sine ? IPRO_OP_COS : IPRO_OP_SIN, &x, 1, false, err, NULL);
  int g = slope < 0 ? -1 : binary(ad, n, IPRO_OP_MUL, dy[0], slope, err);
  dx[0] = sine || g < 0 ? g : emit1(ad, n, IPRO_OP_NEG, &g, 1, false, err, NULL);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* CumSum: dX is dY's running sums the other way (reverse flipped, exclusive kept). */
RULE(cum_sum_gradient) {
  (void)wanted;
  int e;
  dx[0] = emit1(ad, n, IPRO_OP_CUM_SUM, dy, 1, true, err, &e);
  if (dx[0] < 0) return IPRO_ERROR;
  ipro_node *sums = &ipro_autodiff_graph(ad)->nodes[e];
  if (ipro_node_set_int(sums, "reverse", ipro_node_attr_int(sums, "reverse", 0) ? 0 : 1) != IPRO_OK)
    return ipro_error_set(err, "out of memory");
  return IPRO_OK;
}

/* Neg: dX = -dY. */
RULE(neg_gradient) {
  (void)wanted;
  dx[0] = emit1(ad, n, IPRO_OP_NEG, dy, 1, false, err, NULL);
  return dx[0] < 0 ? IPRO_ERROR : IPRO_OK;
}

/* RandomUniformLike reads only its input's shape and type: its values pass nothing back; nor do
 * Floor, Ceil and Sign, constant between their steps (PyTorch's gradient of them is 0). */
RULE(no_gradient) {
  (void)ad, (void)n, (void)dy, (void)wanted, (void)dx, (void)err;
  return IPRO_OK;
}

static const ipro_gradient_rule rules[IPRO_OP_COUNT] = {
    [IPRO_OP_RANDOM_UNIFORM_LIKE] = no_gradient,
    [IPRO_OP_FLOOR] = no_gradient,
    [IPRO_OP_CEIL] = no_gradient,
    [IPRO_OP_SIGN] = no_gradient,
    [IPRO_OP_ABS] = abs_gradient,
    [IPRO_OP_NEG] = neg_gradient,
    [IPRO_OP_SIN] = sin_cos_gradient,
    [IPRO_OP_CUM_SUM] = cum_sum_gradient,
    [IPRO_OP_COS] = sin_cos_gradient,
    [IPRO_OP_SLICE_ONNX] = slice_gradient,
    [IPRO_OP_SPLIT] = split_gradient,
    [IPRO_OP_INSTANCE_NORMALIZATION] = layer_normalization_gradient,
    [IPRO_OP_CONV] = conv_gradient,
    [IPRO_OP_BATCH_NORMALIZATION] = batch_normalization_gradient,
    [IPRO_OP_RELU] = unary_gradient,
    [IPRO_OP_LEAKY_RELU] = unary_gradient,
    [IPRO_OP_SIGMOID] = unary_gradient,
    [IPRO_OP_TANH] = unary_gradient,
    [IPRO_OP_CLIP] = unary_gradient,
    [IPRO_OP_HARD_SIGMOID] = unary_gradient,
    [IPRO_OP_HARD_SWISH] = unary_gradient,
    [IPRO_OP_GELU] = unary_gradient,
    [IPRO_OP_SQRT] = unary_gradient,
    [IPRO_OP_ERF] = unary_gradient,
    [IPRO_OP_RECIPROCAL] = unary_gradient,
    [IPRO_OP_EXP] = unary_gradient,
    [IPRO_OP_LOG] = unary_gradient,
    [IPRO_OP_SOFTPLUS] = unary_gradient,
    [IPRO_OP_ELU] = unary_gradient,
    [IPRO_OP_SELU] = unary_gradient,
    [IPRO_OP_CELU] = unary_gradient,
    [IPRO_OP_MISH] = unary_gradient,
    [IPRO_OP_SOFTSIGN] = unary_gradient,
    [IPRO_OP_PRELU] = prelu_gradient,
    [IPRO_OP_POW] = pow_gradient,
    [IPRO_OP_LAYER_NORMALIZATION] = layer_normalization_gradient,
    [IPRO_OP_SOFTMAX] = softmax_gradient,
    [IPRO_OP_LOG_SOFTMAX] = softmax_gradient,
    [IPRO_OP_ADD] = add_sub_gradient,
    [IPRO_OP_SUB] = add_sub_gradient,
    [IPRO_OP_MUL] = mul_gradient,
    [IPRO_OP_DIV] = div_gradient,
    [IPRO_OP_SUM] = sum_gradient,
    [IPRO_OP_MAX_POOL] = max_pool_gradient,
    [IPRO_OP_AVERAGE_POOL] = average_pool_gradient,
    [IPRO_OP_GLOBAL_AVERAGE_POOL] = global_pool_gradient,
    [IPRO_OP_GLOBAL_MAX_POOL] = global_pool_gradient,
    [IPRO_OP_GEMM] = gemm_gradient,
    [IPRO_OP_MAT_MUL] = mat_mul_gradient,
    [IPRO_OP_FLATTEN] = reshape_gradient,
    [IPRO_OP_RESHAPE] = reshape_gradient,
    [IPRO_OP_SQUEEZE] = reshape_gradient,
    [IPRO_OP_UNSQUEEZE] = reshape_gradient,
    [IPRO_OP_IDENTITY] = identity_gradient,
    [IPRO_OP_TRANSPOSE] = transpose_gradient,
    [IPRO_OP_CONCAT] = concat_gradient,
    [IPRO_OP_GATHER] = gather_gradient,
    [IPRO_OP_GATHER_ND] = gather_nd_gradient,
    [IPRO_OP_SCATTER_ND] = scatter_nd_gradient,
    [IPRO_OP_WHERE] = where_gradient,
    [IPRO_OP_DROPOUT] = dropout_gradient,
    [IPRO_OP_PAD] = pad_gradient,
    [IPRO_OP_RESIZE] = resize_gradient,
    [IPRO_OP_REDUCE_MEAN] = reduce_mean_gradient,
    [IPRO_OP_REDUCE_SUM] = summed_reduction_gradient,
    [IPRO_OP_REDUCE_L2] = summed_reduction_gradient,
    [IPRO_OP_REDUCE_L1] = summed_reduction_gradient,
    [IPRO_OP_REDUCE_SUM_SQUARE] = summed_reduction_gradient,
    [IPRO_OP_REDUCE_LOG_SUM] = summed_reduction_gradient,
    [IPRO_OP_REDUCE_LOG_SUM_EXP] = summed_reduction_gradient,
    [IPRO_OP_REDUCE_PROD] = reduce_prod_gradient,
    [IPRO_OP_REDUCE_MAX] = reduce_extremum_gradient,
    [IPRO_OP_REDUCE_MIN] = reduce_extremum_gradient,
    [IPRO_OP_EXPAND] = expand_gradient,
    [IPRO_OP_TILE] = tile_gradient,
    [IPRO_OP_GATHER_ELEMENTS] = gather_elements_gradient,
    [IPRO_OP_COL2IM] = col2im_gradient,
    [IPRO_OP_LSTM] = recurrent_gradient,
    [IPRO_OP_GRU] = recurrent_gradient,
    [IPRO_OP_RNN] = recurrent_gradient,
    [IPRO_OP_EINSUM] = einsum_gradient,
    [IPRO_OP_CAST_LIKE] = cast_like_gradient,
    [IPRO_OP_CAST] = cast_like_gradient,
};

const ipro_gradient_rule *ipro_gradient_rules(void) { return rules; }
