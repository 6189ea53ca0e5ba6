/* Reference kernels of the unary element-wise ops: Relu, LeakyRelu, Sigmoid, Tanh, Clip,
 * HardSigmoid, HardSwish, Gelu, Erf, Softplus, Elu, Selu, Celu, Mish, Softsign, PRelu, and the real
 * unary ops Sqrt, Reciprocal, Abs, Neg, Floor, Ceil, Sign, Sin, Cos, Exp and Log. Each reads its
 * canonical attributes once, then maps every element of X to Y (same shape), in double. */
#include <math.h>
#include <string.h>

#include "ir/elementwise_values.h"
#include "reference_ops.h"

/* Attributes of the activation, read once per node (ipro_reference_activation_attributes, shared
 * with ipro.UnaryGrad so both sides fill in the same defaults). */
typedef struct {
  float alpha, beta;
  ipro_op op; /* the real unary ops' (ir/elementwise_values.h) */
} activation_params;

typedef double (*activation_fn)(double x, const activation_params *params);

static ipro_status map_elements(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                                void *const *outputs, activation_fn function,
                                const activation_params *params, ipro_error *err) {
  ipro_shape shape;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &shape, err))
    return IPRO_ERROR;
  const double *x = inputs[0];
  double *y = outputs[0];
  int64_t count = ipro_shape_elements(&shape);
  for (int64_t i = 0; i < count; i++)
    y[i] = function(x[i], params);
  return IPRO_OK;
}

static double relu(double x, const activation_params *params) {
  (void)params;
  return x > 0.0 ? x : 0.0;
}

static double leaky_relu(double x, const activation_params *params) {
  return x >= 0.0 ? x : params->alpha * x;
}

/* Written so that exp never overflows: for negative x, exp(x) / (1 + exp(x)). */
static double sigmoid(double x, const activation_params *params) {
  (void)params;
  if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

/* SiLU: X·σ(X), a Sigmoid with times_input (codegen/fusion.h). */
static double silu(double x, const activation_params *params) { return x * sigmoid(x, params); }

static double hyperbolic_tangent(double x, const activation_params *params) {
  (void)params;
  return tanh(x);
}

/* max is applied last, as numpy.clip does, so that min > max gives max everywhere. */
static double clip_between(double x, double low, double high) {
  double y = x < low ? low : x;
  return y > high ? high : y;
}

static double hard_sigmoid(double x, const activation_params *params) {
  double y = params->alpha * x + params->beta;
  return y < 0.0 ? 0.0 : (y > 1.0 ? 1.0 : y);
}

/* ONNX's Gelu: x·Φ(x) = x/2·(1 + erf(x/√2)), or with alpha 1 its tanh approximation
 * x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
static double gelu(double x, const activation_params *params) {
  if (params->alpha != 0.0f)
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / IPRO_REFERENCE_PI) * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

static double error_function(double x, const activation_params *params) {
  (void)params;
  return erf(x);
}

static double hard_swish(double x, const activation_params *params) {
  (void)params;
  double gate = x / 6.0 + 0.5;
  gate = gate < 0.0 ? 0.0 : (gate > 1.0 ? 1.0 : gate);
  return x * gate;
}

/* ONNX's Softplus, log(1 + exp(x)), written so that exp never overflows. */
static double softplus(double x) { return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

/* Softplus, Elu (alpha), Selu (alpha, gamma in beta), Celu (alpha), Mish and Softsign. */
static double smooth_activation(double x, const activation_params *params) {
  double alpha = params->alpha;
  switch (params->op) {
  case IPRO_OP_SOFTPLUS: return softplus(x);
  case IPRO_OP_ELU: return x > 0.0 ? x : alpha * expm1(x);
  case IPRO_OP_SELU: return params->beta * (x > 0.0 ? x : alpha * expm1(x));
  case IPRO_OP_CELU: return x > 0.0 ? x : alpha * expm1(x / alpha);
  case IPRO_OP_MISH: return x * tanh(softplus(x));
  case IPRO_OP_SOFTSIGN: return x / (1.0 + fabs(x));
  default: return NAN;
  }
}

void ipro_reference_activation_attributes(const ipro_node *node, ipro_op op, float *alpha,
                                          float *beta) {
  *alpha = *beta = 0.0f;
  switch (op) {
  case IPRO_OP_GELU: /* alpha 1: the tanh approximation */
    *alpha = strcmp(ipro_node_attr_string(node, "approximate", "none"), "tanh") == 0 ? 1.0f : 0.0f;
    break;
  case IPRO_OP_LEAKY_RELU: *alpha = ipro_node_attr_float(node, "alpha", 0.01f); break;
  case IPRO_OP_CLIP:
    *alpha = ipro_node_attr_float(node, "min", -INFINITY);
    *beta = ipro_node_attr_float(node, "max", INFINITY);
    break;
  case IPRO_OP_HARD_SIGMOID:
    *alpha = ipro_node_attr_float(node, "alpha", 0.2f);
    *beta = ipro_node_attr_float(node, "beta", 0.5f);
    break;
  case IPRO_OP_ELU:
  case IPRO_OP_CELU: *alpha = ipro_node_attr_float(node, "alpha", 1.0f); break;
  case IPRO_OP_SELU: /* beta: gamma */
    *alpha = ipro_node_attr_float(node, "alpha", IPRO_SELU_ALPHA);
    *beta = ipro_node_attr_float(node, "gamma", IPRO_SELU_GAMMA);
    break;
  default: break;
  }
}

/* The kernel of an activation whose attributes ipro_reference_activation_attributes reads. */
static ipro_status activation(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                              void *const *outputs, activation_fn function, ipro_error *err) {
  activation_params params = {.op = node->op};
  ipro_reference_activation_attributes(node, node->op, &params.alpha, &params.beta);
  return map_elements(graph, node, inputs, outputs, function, &params, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_relu) {
  (void)context;
  return activation(graph, node, inputs, outputs, relu, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_leaky_relu) {
  (void)context;
  return activation(graph, node, inputs, outputs, leaky_relu, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_sigmoid) {
  (void)context;
  bool times_input = ipro_node_attr_int(node, "times_input", 0) != 0;
  return activation(graph, node, inputs, outputs, times_input ? silu : sigmoid, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_tanh) {
  (void)context;
  return activation(graph, node, inputs, outputs, hyperbolic_tangent, err);
}

/* X, [min], [max] → Y, with the attributes min and max (±inf when absent). A bound given as an
 * input (one value, read at run time: see frontend/ops/activation.c) takes the place of the
 * attribute, in the input's own precision. */
IPRO_REFERENCE_KERNEL(ipro_reference_clip) {
  (void)context;
  float low_attribute, high_attribute;
  ipro_reference_activation_attributes(node, node->op, &low_attribute, &high_attribute);
  const double *low_input = ipro_reference_optional(inputs, node->n_inputs, 1);
  const double *high_input = ipro_reference_optional(inputs, node->n_inputs, 2);
  ipro_shape shape;
  if ((low_input && ipro_reference_expect_real(graph, node, true, 1, err)) ||
      (high_input && ipro_reference_expect_real(graph, node, true, 2, err)) ||
      ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &shape, err))
    return IPRO_ERROR;
  double low = low_input ? low_input[0] : low_attribute;
  double high = high_input ? high_input[0] : high_attribute;
  const double *x = inputs[0];
  double *y = outputs[0];
  int64_t count = ipro_shape_elements(&shape);
  for (int64_t i = 0; i < count; i++)
    y[i] = clip_between(x[i], low, high);
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_hard_sigmoid) {
  (void)context;
  return activation(graph, node, inputs, outputs, hard_sigmoid, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_hard_swish) {
  (void)context;
  return activation(graph, node, inputs, outputs, hard_swish, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_gelu) {
  (void)context;
  return activation(graph, node, inputs, outputs, gelu, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_erf) {
  (void)context;
  return activation(graph, node, inputs, outputs, error_function, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_smooth_activation) {
  (void)context;
  return activation(graph, node, inputs, outputs, smooth_activation, err);
}

/* X, slope → Y = X where X ≥ 0, slope · X below, the slope broadcast to X one way. */
IPRO_REFERENCE_KERNEL(ipro_reference_prelu) {
  (void)context;
  ipro_shape x, slope;
  int64_t strides[IPRO_MAX_RANK];
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, true, 1, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_input_shape(graph, node, 1, &slope, err) ||
      ipro_reference_broadcast_strides(node, &slope, &x, strides, err))
    return IPRO_ERROR;
  const double *values = inputs[0], *slopes = inputs[1];
  double *y = outputs[0];
  int64_t count = ipro_shape_elements(&x);
  for (int64_t i = 0; i < count; i++)
    y[i] = values[i] < 0.0 ? slopes[ipro_reference_offset(x.dims, x.rank, strides, i)] * values[i]
                           : values[i];
  return IPRO_OK;
}

/* Sqrt, Reciprocal, Abs, Neg, Floor, Ceil, Sign, Sin, Cos, Exp and Log: the values the frontend
 * folds them to on constants (ir/elementwise_values.h). */
static double real_unary(double x, const activation_params *params) {
  return ipro_real_unary_value(params->op, x);
}

IPRO_REFERENCE_KERNEL(ipro_reference_real_unary) {
  (void)context;
  const activation_params params = {.op = node->op};
  return map_elements(graph, node, inputs, outputs, real_unary, &params, err);
}

/* CumSum along the attribute "axis" (its inference made the axis input one), as folded
 * (ir/elementwise_values.h). */
IPRO_REFERENCE_KERNEL(ipro_reference_cum_sum) {
  (void)context;
  ipro_shape shape;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &shape, err))
    return IPRO_ERROR;
  int64_t axis = ipro_node_attr_int(node, "axis", -1);
  if (axis < 0 || axis >= shape.rank)
    return ipro_reference_fail(node, err, "axis %lld is outside the input's rank %d",
                               (long long)axis, shape.rank);
  ipro_cumulative_sums(inputs[0], &shape, (int)axis, ipro_node_attr_int(node, "exclusive", 0) != 0,
                       ipro_node_attr_int(node, "reverse", 0) != 0, outputs[0]);
  return IPRO_OK;
}
