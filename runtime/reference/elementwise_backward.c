/* Reference kernels of the element-wise gradients (codegen/internal_ops.md): ipro.UnaryGrad, the
 * gradient of every activation in elementwise.c, and ipro.DropoutGrad.
 *
 * UnaryGrad reads the forward's attributes through ipro_reference_activation_attributes, so the
 * defaults (LeakyRelu's alpha 0.01, HardSigmoid's 0.2 and 0.5, Clip's ±inf) are the forward's.
 * Each derivative is the one internal_ops.md states, PyTorch's choice at the kinks included:
 * Relu and LeakyRelu take the left branch at 0, Clip and HardSigmoid pass no gradient at their
 * bounds, HardSwish takes the middle branch on [−3, 3]. */
#include <math.h>
#include <stdbool.h>

#include "reference_ops.h"

/* The derivative dY/dX at T (the forward's X or Y, as internal_ops.md says per op). */
typedef double (*derivative_fn)(double t, float alpha, float beta);

static double relu_derivative(double y, float alpha, float beta) {
  (void)alpha, (void)beta;
  return y > 0.0 ? 1.0 : 0.0;
}

static double sigmoid_derivative(double y, float alpha, float beta) {
  (void)alpha, (void)beta;
  return y * (1.0 - y);
}

/* σ(X), written so that exp never overflows. */
static double logistic(double x) {
  if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

/* SiLU's derivative at X: σ + X·σ·(1 − σ), σ computed as the forward does (no overflow). */
static double silu_derivative(double x, float alpha, float beta) {
  (void)alpha, (void)beta;
  double s = logistic(x);
  return s + x * s * (1.0 - s);
}

static double tanh_derivative(double y, float alpha, float beta) {
  (void)alpha, (void)beta;
  return 1.0 - y * y;
}

static double leaky_relu_derivative(double x, float alpha, float beta) {
  (void)beta;
  return x > 0.0 ? 1.0 : (double)alpha;
}

/* alpha = min, beta = max. */
static double clip_derivative(double x, float alpha, float beta) {
  return x > alpha && x < beta ? 1.0 : 0.0;
}

static double hard_sigmoid_derivative(double x, float alpha, float beta) {
  double y = (double)alpha * x + (double)beta;
  return y > 0.0 && y < 1.0 ? (double)alpha : 0.0;
}

static double hard_swish_derivative(double x, float alpha, float beta) {
  (void)alpha, (void)beta;
  return x < -3.0 ? 0.0 : (x > 3.0 ? 1.0 : (2.0 * x + 3.0) / 6.0);
}

/* Gelu's derivative at X: Φ(x) + x·φ(x); with alpha 1 (the tanh form, u = √(2/π)(x + 0.044715x³),
 * t = tanh(u)) (1 + t)/2 + x/2·(1 − t²)·√(2/π)(1 + 3·0.044715x²). */
static double gelu_derivative(double x, float alpha, float beta) {
  (void)beta;
  if (alpha != 0.0f) {
    double k = sqrt(2.0 / IPRO_REFERENCE_PI), t = tanh(k * (x + 0.044715 * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x);
  }
  return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2.0 * IPRO_REFERENCE_PI);
}

/* Erf's derivative at its input X: 2/√π · exp(−X²). */
static double erf_derivative(double x, float alpha, float beta) {
  (void)alpha, (void)beta;
  return 2.0 / sqrt(IPRO_REFERENCE_PI) * exp(-x * x);
}

/* Reciprocal's derivative at its input X: −1 / X². */
static double reciprocal_derivative(double x, float alpha, float beta) {
  (void)alpha, (void)beta;
  return -1.0 / (x * x);
}

/* Sqrt's derivative at its output Y: 1 / (2Y). */
static double sqrt_derivative(double y, float alpha, float beta) {
  (void)alpha, (void)beta;
  return 0.5 / y;
}

/* Exp's derivative at its output Y: Y. */
static double exp_derivative(double y, float alpha, float beta) {
  (void)alpha, (void)beta;
  return y;
}

/* Log's derivative at its input X: 1 / X. */
static double log_derivative(double x, float alpha, float beta) {
  (void)alpha, (void)beta;
  return 1.0 / x;
}

/* Softplus's derivative at X: σ(X). */
static double softplus_derivative(double x, float alpha, float beta) {
  (void)alpha, (void)beta;
  return logistic(x);
}

/* Elu's at X: 1 above 0, alpha·exp(X) at and below it (PyTorch's branch at 0); Selu's the same
 * times gamma (beta); Celu's exp(X / alpha) at and below 0. */
static double elu_derivative(double x, float alpha, float beta) {
  (void)beta;
  return x > 0.0 ? 1.0 : alpha * exp(x);
}

static double selu_derivative(double x, float alpha, float beta) {
  return beta * (x > 0.0 ? 1.0 : alpha * exp(x));
}

static double celu_derivative(double x, float alpha, float beta) {
  (void)beta;
  return x > 0.0 ? 1.0 : exp(x / alpha);
}

/* Mish's at X: tanh(s) + X·(1 − tanh²(s))·σ(X), s = softplus(X). */
static double mish_derivative(double x, float alpha, float beta) {
  (void)alpha, (void)beta;
  double s = x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x)), t = tanh(s);
  return t + x * (1.0 - t * t) * logistic(x);
}

/* Softsign's at X: 1 / (1 + |X|)². */
static double softsign_derivative(double x, float alpha, float beta) {
  (void)alpha, (void)beta;
  double d = 1.0 + fabs(x);
  return 1.0 / (d * d);
}

static derivative_fn derivative_of(int64_t op) {
  switch (op) {
  case IPRO_OP_RELU: return relu_derivative;
  case IPRO_OP_SIGMOID: return sigmoid_derivative;
  case IPRO_OP_TANH: return tanh_derivative;
  case IPRO_OP_LEAKY_RELU: return leaky_relu_derivative;
  case IPRO_OP_CLIP: return clip_derivative;
  case IPRO_OP_HARD_SIGMOID: return hard_sigmoid_derivative;
  case IPRO_OP_HARD_SWISH: return hard_swish_derivative;
  case IPRO_OP_GELU: return gelu_derivative;
  case IPRO_OP_SQRT: return sqrt_derivative;
  case IPRO_OP_ERF: return erf_derivative;
  case IPRO_OP_RECIPROCAL: return reciprocal_derivative;
  case IPRO_OP_EXP: return exp_derivative;
  case IPRO_OP_LOG: return log_derivative;
  case IPRO_OP_SOFTPLUS: return softplus_derivative;
  case IPRO_OP_ELU: return elu_derivative;
  case IPRO_OP_SELU: return selu_derivative;
  case IPRO_OP_CELU: return celu_derivative;
  case IPRO_OP_MISH: return mish_derivative;
  case IPRO_OP_SOFTSIGN: return softsign_derivative;
  default: return NULL;
  }
}

/* dY and a second input of the same shape (real, or a bool mask) → dX; dY and dX real. */
static ipro_status pair_setup(const ipro_graph *graph, const ipro_node *node, bool mask,
                              int64_t *count, ipro_error *err) {
  ipro_shape dy, t, dx;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      (mask ? ipro_reference_expect_dtype(graph, node, true, 1, IPRO_DTYPE_BOOL, err)
            : ipro_reference_expect_real(graph, node, true, 1, err)) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_input_shape(graph, node, 1, &t, err) ||
      ipro_reference_output_shape(graph, node, 0, &dx, err))
    return IPRO_ERROR;
  *count = ipro_shape_elements(&dy);
  if (ipro_shape_elements(&t) != *count || ipro_shape_elements(&dx) != *count)
    return ipro_reference_fail(node, err, "dY, its partner input and dX differ in size");
  return IPRO_OK;
}

/* dY, T → dX = dY · f'(T), f being the activation named by forward_op. With a third input (a
 * ReLU's gradient fused with the Sum that made its dY, codegen/fusion.h), dY is input 0 + input
 * 2, rounded to float32 when they are float32, as the unfused Sum stores it. */
IPRO_REFERENCE_KERNEL(ipro_reference_unary_grad) {
  (void)context;
  int64_t count;
  if (pair_setup(graph, node, false, &count, err)) return IPRO_ERROR;
  int64_t forward = ipro_node_attr_int(node, "forward_op", -1);
  derivative_fn derivative =
      forward == IPRO_OP_SIGMOID && ipro_node_attr_int(node, "times_input", 0)
          ? silu_derivative
          : derivative_of(forward);
  if (!derivative)
    return ipro_reference_fail(node, err, "forward_op %lld is not an activation with a gradient",
                               (long long)forward);
  float alpha, beta;
  ipro_reference_activation_attributes(node, (ipro_op)forward, &alpha, &beta);
  const double *dy = inputs[0], *t = inputs[1];
  const double *second = node->n_inputs == 3 ? inputs[2] : NULL;
  if (second && ipro_reference_expect_real(graph, node, true, 2, err)) return IPRO_ERROR;
  bool narrow = ipro_node_input(graph, node, 0)->dtype == IPRO_DTYPE_FLOAT;
  double *dx = outputs[0];
  for (int64_t i = 0; i < count; i++) {
    double gradient = second ? dy[i] + second[i] : dy[i];
    if (second && narrow) gradient = (float)gradient;
    dx[i] = gradient * derivative(t[i], alpha, beta);
  }
  return IPRO_OK;
}

/* dY, mask (bool, the forward Dropout's output 1: true = kept) → dX = dY · mask / (1 − ratio),
 * with the forward's scale, so a kept element's gradient is scaled exactly as its value. */
IPRO_REFERENCE_KERNEL(ipro_reference_dropout_grad) {
  (void)context;
  int64_t count;
  if (pair_setup(graph, node, true, &count, err)) return IPRO_ERROR;
  float ratio = ipro_node_attr_float(node, "ratio", 0.5f);
  if (ratio < 0.0f || ratio >= 1.0f)
    return ipro_reference_fail(node, err, "ratio %g outside [0, 1)", (double)ratio);
  double scale = 1.0 / (1.0 - (double)ratio);
  const double *dy = inputs[0];
  const bool *mask = inputs[1];
  double *dx = outputs[0];
  for (int64_t i = 0; i < count; i++)
    dx[i] = mask[i] ? dy[i] * scale : 0.0;
  return IPRO_OK;
}
