/* Descriptions of the generated kernels (kernel_library.h): the element-wise ops, the fused chains
 * the scheduler forms (BN-apply + ReLU, Add + ReLU), the element-wise parts of the InfoPro losses
 * and the optimizer updates. Each comment gives the signature as inputs; params [; integers] →
 * outputs. */
#include <assert.h>
#include <stdbool.h>

#include "ir/kernel_library.h"

static int load(ipro_kernel_desc *desc, int input) { return ipro_kernel_load(desc, input); }
static int param(ipro_kernel_desc *desc, int index) { return ipro_kernel_param(desc, index); }
static int constant(ipro_kernel_desc *desc, double value) {
  return ipro_kernel_constant(desc, value);
}
static int add(ipro_kernel_desc *desc, int a, int b) {
  return ipro_kernel_binary(desc, IPRO_KERNEL_ADD, a, b);
}
static int sub(ipro_kernel_desc *desc, int a, int b) {
  return ipro_kernel_binary(desc, IPRO_KERNEL_SUB, a, b);
}
static int mul(ipro_kernel_desc *desc, int a, int b) {
  return ipro_kernel_binary(desc, IPRO_KERNEL_MUL, a, b);
}
static int divide(ipro_kernel_desc *desc, int a, int b) {
  return ipro_kernel_binary(desc, IPRO_KERNEL_DIV, a, b);
}
static int maximum(ipro_kernel_desc *desc, int a, int b) {
  return ipro_kernel_binary(desc, IPRO_KERNEL_MAX, a, b);
}

static int element(ipro_kernel_desc *desc) {
  return ipro_kernel_add_input(desc, IPRO_KERNEL_ELEMENT);
}

/* x → y = x > 0 ? x : 0. */
static void relu_forward(ipro_kernel_desc *desc) {
  ipro_kernel_add_output(desc, ipro_kernel_relu(desc, load(desc, element(desc))));
}

/* dY, Y → dX = Y > 0 ? dY : 0 (ipro.UnaryGrad of Relu). */
static void relu_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), y = load(desc, element(desc)), zero = constant(desc, 0);
  ipro_kernel_add_output(desc,
                         ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, y, zero, dy, zero));
}

/* dY₁, Y, dY₂ → dX = Y > 0 ? dY₁ + dY₂ : 0 (ipro.UnaryGrad of Relu fused with the Sum of its
 * gradient's two terms, codegen/fusion.h). */
static void relu_backward_sum(ipro_kernel_desc *desc) {
  int first = load(desc, element(desc)), y = load(desc, element(desc));
  int second = load(desc, element(desc)), zero = constant(desc, 0);
  ipro_kernel_add_output(desc, ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, y, zero,
                                                  add(desc, first, second), zero));
}

/* x → y = sigmoid(x). */
static void sigmoid_forward(ipro_kernel_desc *desc) {
  ipro_kernel_add_output(desc, ipro_kernel_sigmoid(desc, load(desc, element(desc))));
}

/* dY, Y → dX = dY · Y(1 − Y) (ipro.UnaryGrad of Sigmoid). */
static void sigmoid_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), y = load(desc, element(desc));
  int slope = mul(desc, y, sub(desc, constant(desc, 1), y));
  ipro_kernel_add_output(desc, mul(desc, dy, slope));
}

/* a, b → y = relu(a + b): a residual block's join. */
static void add_relu(ipro_kernel_desc *desc) {
  int a = load(desc, element(desc)), b = load(desc, element(desc));
  ipro_kernel_add_output(desc, ipro_kernel_relu(desc, add(desc, a, b)));
}

/* x, scale, shift → y = relu(x · scale + shift): batch normalisation folded into one scale and
 * shift (γ/√(σ²+ε), β − μ·scale), then ReLU. scale and shift are per element or, with
 * `per_channel`, per channel of an NCHW tensor. */
static void bn_apply_relu(ipro_kernel_desc *desc, bool per_channel) {
  ipro_kernel_input_kind kind = per_channel ? IPRO_KERNEL_CHANNEL : IPRO_KERNEL_ELEMENT;
  int x = load(desc, element(desc));
  int scale = load(desc, ipro_kernel_add_input(desc, kind));
  int shift = load(desc, ipro_kernel_add_input(desc, kind));
  ipro_kernel_add_output(desc, ipro_kernel_relu(desc, add(desc, mul(desc, x, scale), shift)));
}

/* p, target; {scale / numel} → dP = (scale / numel) · (p − t) / max(p(1 − p), 1e-12), the
 * gradient of PyTorch's BCELoss (ipro.BinaryCrossEntropyGrad). */
static void bce_grad(ipro_kernel_desc *desc) {
  int p = load(desc, element(desc)), t = load(desc, element(desc));
  int variance = mul(desc, p, sub(desc, constant(desc, 1), p));
  int numerator = mul(desc, param(desc, 0), sub(desc, p, t));
  ipro_kernel_add_output(desc,
                         divide(desc, numerator, maximum(desc, variance, constant(desc, 1e-12))));
}

/* p, target → ℓ = −(t · max(log p, −100) + (1 − t) · max(log(1 − p), −100)), the terms whose mean
 * is BCELoss. */
static void bce_loss_terms(ipro_kernel_desc *desc) {
  int p = load(desc, element(desc)), t = load(desc, element(desc));
  int one = constant(desc, 1), floor = constant(desc, -100);
  int log_p = maximum(desc, ipro_kernel_unary(desc, IPRO_KERNEL_LOG, p), floor);
  int log_q = maximum(desc, ipro_kernel_unary(desc, IPRO_KERNEL_LOG, sub(desc, one, p)), floor);
  int sum = add(desc, mul(desc, t, log_p), mul(desc, sub(desc, one, t), log_q));
  ipro_kernel_add_output(desc, ipro_kernel_unary(desc, IPRO_KERNEL_NEG, sum));
}

/* dY, mask (bool); {1 / (1 − ratio), as the float the forward used} → dX = mask ? dY · scale : 0
 * (ipro.DropoutGrad). */
static void dropout_grad(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc));
  int mask = load(desc, ipro_kernel_add_input(desc, IPRO_KERNEL_MASK));
  int zero = constant(desc, 0);
  ipro_kernel_add_output(desc, ipro_kernel_select(desc, IPRO_KERNEL_SELECT_NOT_EQUAL, mask, zero,
                                                  mul(desc, dy, param(desc, 0)), zero));
}

/* param, grad, velocity; {lr, momentum, weight_decay, nesterov (0/1)} → param, velocity in place
 * (ipro.SgdUpdate, in double as the reference):
 *   g = grad + wd·param;  v = momentum·velocity + g;
 *   param −= lr · (nesterov ? g + momentum·v : v). */
static void sgd_update(ipro_kernel_desc *desc) {
  int weights = element(desc), gradient = element(desc), velocity = element(desc);
  int w = load(desc, weights), lr = param(desc, 0), momentum = param(desc, 1);
  int g = add(desc, load(desc, gradient), mul(desc, param(desc, 2), w));
  int v = add(desc, mul(desc, momentum, load(desc, velocity)), g);
  int step = ipro_kernel_select(desc, IPRO_KERNEL_SELECT_NOT_EQUAL, param(desc, 3),
                                constant(desc, 0), add(desc, g, mul(desc, momentum, v)), v);
  ipro_kernel_add_output_in_place(desc, sub(desc, w, mul(desc, lr, step)), weights);
  ipro_kernel_add_output_in_place(desc, v, velocity);
}

/* param, grad, m, v; {lr, β1, β2, ε, weight_decay, 1 − β1^step, 1 − β2^step} → param, m, v in
 * place (ipro.AdamUpdate, AdamW, in double as the reference). The bias corrections come as
 * params, computed once per step by the caller, where the reference takes the step number:
 *   p = param·(1 − lr·wd);  m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g·g;
 *   param = p − lr·(m / c1) / (√(v / c2) + ε). */
static void adam_update(ipro_kernel_desc *desc) {
  int weights = element(desc), gradient = element(desc), first = element(desc);
  int second = element(desc);
  int lr = param(desc, 0), beta1 = param(desc, 1), beta2 = param(desc, 2);
  int one = constant(desc, 1), g = load(desc, gradient);
  int decayed = mul(desc, load(desc, weights), sub(desc, one, mul(desc, lr, param(desc, 4))));
  int m = add(desc, mul(desc, beta1, load(desc, first)), mul(desc, sub(desc, one, beta1), g));
  int v = add(desc, mul(desc, beta2, load(desc, second)),
              mul(desc, mul(desc, sub(desc, one, beta2), g), g));
  int root = ipro_kernel_unary(desc, IPRO_KERNEL_SQRT, divide(desc, v, param(desc, 6)));
  int step =
      divide(desc, mul(desc, lr, divide(desc, m, param(desc, 5))), add(desc, root, param(desc, 3)));
  ipro_kernel_add_output_in_place(desc, sub(desc, decayed, step), weights);
  ipro_kernel_add_output_in_place(desc, m, first);
  ipro_kernel_add_output_in_place(desc, v, second);
}

/* x; {min, max} → y = min(max(x, min), max): Clip, max applied last as the reference does. */
static void clip_forward(ipro_kernel_desc *desc) {
  int x = load(desc, element(desc));
  int low = maximum(desc, x, param(desc, 0));
  ipro_kernel_add_output(desc, ipro_kernel_binary(desc, IPRO_KERNEL_MIN, low, param(desc, 1)));
}

/* dY, X; {min, max} → dX = min < X < max ? dY : 0 (ipro.UnaryGrad of Clip, strict bounds). */
static void clip_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), x = load(desc, element(desc)), zero = constant(desc, 0);
  int below = ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, param(desc, 1), x, dy, zero);
  ipro_kernel_add_output(
      desc, ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, x, param(desc, 0), below, zero));
}

/* labels (int64) → the same values as float, for the comparisons below. */
static void labels_to_float(ipro_kernel_desc *desc) {
  ipro_kernel_add_output(desc, load(desc, ipro_kernel_add_input(desc, IPRO_KERNEL_LABEL)));
}

/* a (per channel), b → a != b ? 0 : 1. With a = labels [N] (channels N, inner M) and b an
 * [N, M] matrix it marks where row n's label equals b: a one-hot matrix when b holds the class
 * indices, the same-label pairs when b holds the labels again along the rows. */
static void equal_mask(ipro_kernel_desc *desc) {
  int a = load(desc, ipro_kernel_add_input(desc, IPRO_KERNEL_CHANNEL));
  int b = load(desc, element(desc));
  ipro_kernel_add_output(desc, ipro_kernel_select(desc, IPRO_KERNEL_SELECT_NOT_EQUAL, a, b,
                                                  constant(desc, 0), constant(desc, 1)));
}

/* f, norm (per row: channels N, inner D) → z = f / max(norm, 1e-12), SupCon's normalisation. */
static void normalize_rows(ipro_kernel_desc *desc) {
  int f = load(desc, element(desc));
  int norm = load(desc, ipro_kernel_add_input(desc, IPRO_KERNEL_CHANNEL));
  ipro_kernel_add_output(desc, divide(desc, f, maximum(desc, norm, constant(desc, 1e-12))));
}

/* a, b → a / max(b, 1): SupCon's per-anchor mean over its positives (0 when it has none). */
static void ratio_floor_one(ipro_kernel_desc *desc) {
  int a = load(desc, element(desc)), b = load(desc, element(desc));
  ipro_kernel_add_output(desc, divide(desc, a, maximum(desc, b, constant(desc, 1))));
}

/* softmax, positives, count (per row: channels N, inner N) → G = count > 0 ? softmax −
 * positives / count : 0: N times the gradient of SupCon's loss with respect to the similarities
 * (the caller folds 1/N into the next product). */
static void sup_con_similarity_grad(ipro_kernel_desc *desc) {
  int softmax = load(desc, element(desc)), positives = load(desc, element(desc));
  int count = load(desc, ipro_kernel_add_input(desc, IPRO_KERNEL_CHANNEL));
  int zero = constant(desc, 0);
  int value = sub(desc, softmax, divide(desc, positives, count));
  ipro_kernel_add_output(
      desc, ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, count, zero, value, zero));
}

/* dz, z, radial, norm (radial and norm per row: channels N, inner D) → dF = (dz − radial·z) /
 * max(norm, 1e-12), the radial part dropped where the norm was clamped: the gradient through
 * z = f / max(‖f‖, 1e-12). */
static void sup_con_features_grad(ipro_kernel_desc *desc) {
  int dz = load(desc, element(desc)), z = load(desc, element(desc));
  int radial = load(desc, ipro_kernel_add_input(desc, IPRO_KERNEL_CHANNEL));
  int norm = load(desc, ipro_kernel_add_input(desc, IPRO_KERNEL_CHANNEL));
  int floor = constant(desc, 1e-12);
  int kept =
      ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, norm, floor, radial, constant(desc, 0));
  ipro_kernel_add_output(
      desc, divide(desc, sub(desc, dz, mul(desc, kept, z)), maximum(desc, norm, floor)));
}

/* (no inputs; count 1) {lr, β1, β2, ε, weight_decay, step} → 1 − β1^step, 1 − β2^step, the bias
 * corrections adam_update takes as params, computed on the device from the hyper-parameter
 * tensor so that no value has to cross to the host. */
static void adam_bias_corrections(ipro_kernel_desc *desc) {
  int one = constant(desc, 1), step = param(desc, 5);
  for (int b = 1; b <= 2; b++) {
    int log_beta = ipro_kernel_unary(desc, IPRO_KERNEL_LOG, param(desc, b));
    int power = ipro_kernel_unary(desc, IPRO_KERNEL_EXP, mul(desc, step, log_beta));
    ipro_kernel_add_output(desc, sub(desc, one, power));
  }
}

/* x; {ratio}; integers {seed, step} → y, mask (bool): Dropout in training form, in double as the
 * reference: element i is kept when u = ipro_reference_dropout_uniform(seed, step, i) >= ratio,
 * y = kept ? x · (1 / (1 − ratio)) : 0 with the scale computed in double from the float ratio.
 * u >= ratio is written !(ratio > u), the same for the u and ratio in [0, 1) Dropout has; u and
 * the widened ratio are exact, so the mask is the reference's bit for bit. */
static void dropout_forward(ipro_kernel_desc *desc) {
  int x = load(desc, element(desc)), ratio = param(desc, 0);
  int u = ipro_kernel_counter_uniform(desc, 0);
  int zero = constant(desc, 0), one = constant(desc, 1);
  int scale = divide(desc, one, sub(desc, one, ratio));
  ipro_kernel_add_output(desc, ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, ratio, u, zero,
                                                  mul(desc, x, scale)));
  ipro_kernel_add_mask_output(
      desc, ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, ratio, u, zero, one));
}

/* The activations and gradients below follow runtime/reference/elementwise.c and
 * elementwise_backward.c operation for operation; a gradient is dY times the derivative, as the
 * reference multiplies (so dY · 0 keeps its sign and NaN). The float kernels give the reference's
 * double result rounded once: a product of two floats is exact in double. */

/* x; {alpha} → y = x >= 0 ? x : alpha · x (written !(0 > x), the same at NaN and −0). */
static void leaky_relu_forward(ipro_kernel_desc *desc) {
  int x = load(desc, element(desc)), zero = constant(desc, 0);
  ipro_kernel_add_output(desc, ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, zero, x,
                                                  mul(desc, param(desc, 0), x), x));
}

/* dY, X; {alpha} → dX = dY · (X > 0 ? 1 : alpha) (ipro.UnaryGrad of LeakyRelu). */
static void leaky_relu_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), x = load(desc, element(desc));
  int slope = ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, x, constant(desc, 0),
                                 constant(desc, 1), param(desc, 0));
  ipro_kernel_add_output(desc, mul(desc, dy, slope));
}

/* v → v < 0 ? 0 : (v > 1 ? 1 : v), NaN passing through. */
static int clamp_unit(ipro_kernel_desc *desc, int v) {
  int zero = constant(desc, 0), one = constant(desc, 1);
  int high = ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, v, one, one, v);
  return ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, zero, v, zero, high);
}

/* x; {alpha, beta} → y = clamp(alpha · x + beta, 0, 1), in double. */
static void hard_sigmoid_forward(ipro_kernel_desc *desc) {
  int x = load(desc, element(desc));
  ipro_kernel_add_output(desc,
                         clamp_unit(desc, add(desc, mul(desc, param(desc, 0), x), param(desc, 1))));
}

/* dY, X; {alpha, beta} → dX = dY · (0 < alpha · X + beta < 1 ? alpha : 0), in double
 * (ipro.UnaryGrad of HardSigmoid). */
static void hard_sigmoid_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), x = load(desc, element(desc));
  int alpha = param(desc, 0), zero = constant(desc, 0);
  int v = add(desc, mul(desc, alpha, x), param(desc, 1));
  int inside =
      ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, constant(desc, 1), v, alpha, zero);
  int slope = ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, v, zero, inside, zero);
  ipro_kernel_add_output(desc, mul(desc, dy, slope));
}

/* x → y = x · clamp(x / 6 + 1/2, 0, 1), in double. */
static void hard_swish_forward(ipro_kernel_desc *desc) {
  int x = load(desc, element(desc));
  int gate = add(desc, divide(desc, x, constant(desc, 6)), constant(desc, 0.5));
  ipro_kernel_add_output(desc, mul(desc, x, clamp_unit(desc, gate)));
}

/* dY, X → dX = dY · (X < −3 ? 0 : X > 3 ? 1 : (2X + 3) / 6), in double (ipro.UnaryGrad of
 * HardSwish). */
static void hard_swish_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), x = load(desc, element(desc));
  int three = constant(desc, 3);
  int middle = divide(desc, add(desc, mul(desc, constant(desc, 2), x), three), constant(desc, 6));
  int upper =
      ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, x, three, constant(desc, 1), middle);
  int slope = ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, constant(desc, -3), x,
                                 constant(desc, 0), upper);
  ipro_kernel_add_output(desc, mul(desc, dy, slope));
}

/* dY, Y → dX = dY · (1 − Y·Y), in double (ipro.UnaryGrad of Tanh). */
static void tanh_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), y = load(desc, element(desc));
  ipro_kernel_add_output(desc, mul(desc, dy, sub(desc, constant(desc, 1), mul(desc, y, y))));
}

/* x → √x, in double (Sqrt). */
static void sqrt_forward(ipro_kernel_desc *desc) {
  ipro_kernel_add_output(desc,
                         ipro_kernel_unary(desc, IPRO_KERNEL_SQRT, load(desc, element(desc))));
}

/* dY, Y → dX = dY · 0.5 / Y, in double (ipro.UnaryGrad of Sqrt, through its output). */
static void sqrt_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), y = load(desc, element(desc));
  ipro_kernel_add_output(desc, mul(desc, dy, divide(desc, constant(desc, 0.5), y)));
}

/* x → 1 / x, in double (Reciprocal). */
static void reciprocal_forward(ipro_kernel_desc *desc) {
  ipro_kernel_add_output(desc, divide(desc, constant(desc, 1), load(desc, element(desc))));
}

/* dY, X → dX = dY · (−1 / (X · X)), in double (ipro.UnaryGrad of Reciprocal, through X). */
static void reciprocal_backward(ipro_kernel_desc *desc) {
  int dy = load(desc, element(desc)), x = load(desc, element(desc));
  ipro_kernel_add_output(desc, mul(desc, dy, divide(desc, constant(desc, -1), mul(desc, x, x))));
}

/* a, b → a / b: Div of equally shaped operands, or with one operand per channel (kinds), which
 * covers every operand broadcast along all axes but one contiguous run (a scalar, a row or
 * column vector, an NCHW per-channel tensor). Float division rounds as the reference's double
 * division rounded to float (53 >= 2·24 + 2, so double rounding is innocuous). */
static void quotient(ipro_kernel_desc *desc, ipro_kernel_input_kind a_kind,
                     ipro_kernel_input_kind b_kind) {
  int a = load(desc, ipro_kernel_add_input(desc, a_kind));
  int b = load(desc, ipro_kernel_add_input(desc, b_kind));
  ipro_kernel_add_output(desc, divide(desc, a, b));
}

void ipro_kernel_library_describe(ipro_generated_kernel which, ipro_kernel_desc *desc) {
  static const struct {
    const char *name;
    ipro_kernel_precision precision;
  } kernels[IPRO_GENERATED_COUNT] = {
      [IPRO_GENERATED_RELU_FORWARD] = {"relu_forward", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_RELU_BACKWARD] = {"relu_backward", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_SIGMOID_FORWARD] = {"sigmoid_forward", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_SIGMOID_BACKWARD] = {"sigmoid_backward", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_ADD_RELU] = {"add_relu", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_BN_APPLY_RELU] = {"bn_apply_relu", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_BN_APPLY_RELU_CHANNEL] = {"bn_apply_relu_channel", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_BCE_GRAD] = {"bce_grad", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_BCE_LOSS_TERMS] = {"bce_loss_terms", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_DROPOUT_GRAD] = {"dropout_grad", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_SGD_UPDATE] = {"sgd_update", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_ADAM_UPDATE] = {"adam_update", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_CLIP_FORWARD] = {"clip_forward", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_CLIP_BACKWARD] = {"clip_backward", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_LABELS_TO_FLOAT] = {"labels_to_float", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_EQUAL_MASK] = {"equal_mask", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_NORMALIZE_ROWS] = {"normalize_rows", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_RATIO_FLOOR_ONE] = {"ratio_floor_one", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_SUP_CON_SIMILARITY_GRAD] = {"sup_con_similarity_grad", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_SUP_CON_FEATURES_GRAD] = {"sup_con_features_grad", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_ADAM_BIAS_CORRECTIONS] = {"adam_bias_corrections", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_DROPOUT_FORWARD] = {"dropout_forward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_LEAKY_RELU_FORWARD] = {"leaky_relu_forward", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_LEAKY_RELU_BACKWARD] = {"leaky_relu_backward", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_HARD_SIGMOID_FORWARD] = {"hard_sigmoid_forward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_HARD_SIGMOID_BACKWARD] = {"hard_sigmoid_backward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_HARD_SWISH_FORWARD] = {"hard_swish_forward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_HARD_SWISH_BACKWARD] = {"hard_swish_backward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_TANH_BACKWARD] = {"tanh_backward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_DIV] = {"div", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_DIV_CHANNEL_DIVISOR] = {"div_channel_divisor", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_DIV_CHANNEL_DIVIDEND] = {"div_channel_dividend", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_RELU_BACKWARD_SUM] = {"relu_backward_sum", IPRO_KERNEL_FLOAT},
      [IPRO_GENERATED_SQRT_FORWARD] = {"sqrt_forward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_SQRT_BACKWARD] = {"sqrt_backward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_RECIPROCAL_FORWARD] = {"reciprocal_forward", IPRO_KERNEL_DOUBLE},
      [IPRO_GENERATED_RECIPROCAL_BACKWARD] = {"reciprocal_backward", IPRO_KERNEL_DOUBLE},
  };
  assert((int)which >= 0 && which < IPRO_GENERATED_COUNT);
  ipro_kernel_desc_init(desc, kernels[which].name, kernels[which].precision);
  switch (which) {
  case IPRO_GENERATED_RELU_FORWARD: relu_forward(desc); break;
  case IPRO_GENERATED_RELU_BACKWARD: relu_backward(desc); break;
  case IPRO_GENERATED_SIGMOID_FORWARD: sigmoid_forward(desc); break;
  case IPRO_GENERATED_SIGMOID_BACKWARD: sigmoid_backward(desc); break;
  case IPRO_GENERATED_ADD_RELU: add_relu(desc); break;
  case IPRO_GENERATED_BN_APPLY_RELU: bn_apply_relu(desc, false); break;
  case IPRO_GENERATED_BN_APPLY_RELU_CHANNEL: bn_apply_relu(desc, true); break;
  case IPRO_GENERATED_BCE_GRAD: bce_grad(desc); break;
  case IPRO_GENERATED_BCE_LOSS_TERMS: bce_loss_terms(desc); break;
  case IPRO_GENERATED_DROPOUT_GRAD: dropout_grad(desc); break;
  case IPRO_GENERATED_SGD_UPDATE: sgd_update(desc); break;
  case IPRO_GENERATED_ADAM_UPDATE: adam_update(desc); break;
  case IPRO_GENERATED_CLIP_FORWARD: clip_forward(desc); break;
  case IPRO_GENERATED_CLIP_BACKWARD: clip_backward(desc); break;
  case IPRO_GENERATED_LABELS_TO_FLOAT: labels_to_float(desc); break;
  case IPRO_GENERATED_EQUAL_MASK: equal_mask(desc); break;
  case IPRO_GENERATED_NORMALIZE_ROWS: normalize_rows(desc); break;
  case IPRO_GENERATED_RATIO_FLOOR_ONE: ratio_floor_one(desc); break;
  case IPRO_GENERATED_SUP_CON_SIMILARITY_GRAD: sup_con_similarity_grad(desc); break;
  case IPRO_GENERATED_SUP_CON_FEATURES_GRAD: sup_con_features_grad(desc); break;
  case IPRO_GENERATED_ADAM_BIAS_CORRECTIONS: adam_bias_corrections(desc); break;
  case IPRO_GENERATED_DROPOUT_FORWARD: dropout_forward(desc); break;
  case IPRO_GENERATED_LEAKY_RELU_FORWARD: leaky_relu_forward(desc); break;
  case IPRO_GENERATED_LEAKY_RELU_BACKWARD: leaky_relu_backward(desc); break;
  case IPRO_GENERATED_HARD_SIGMOID_FORWARD: hard_sigmoid_forward(desc); break;
  case IPRO_GENERATED_HARD_SIGMOID_BACKWARD: hard_sigmoid_backward(desc); break;
  case IPRO_GENERATED_HARD_SWISH_FORWARD: hard_swish_forward(desc); break;
  case IPRO_GENERATED_HARD_SWISH_BACKWARD: hard_swish_backward(desc); break;
  case IPRO_GENERATED_TANH_BACKWARD: tanh_backward(desc); break;
  case IPRO_GENERATED_DIV: quotient(desc, IPRO_KERNEL_ELEMENT, IPRO_KERNEL_ELEMENT); break;
  case IPRO_GENERATED_DIV_CHANNEL_DIVISOR:
    quotient(desc, IPRO_KERNEL_ELEMENT, IPRO_KERNEL_CHANNEL);
    break;
  case IPRO_GENERATED_DIV_CHANNEL_DIVIDEND:
    quotient(desc, IPRO_KERNEL_CHANNEL, IPRO_KERNEL_ELEMENT);
    break;
  case IPRO_GENERATED_RELU_BACKWARD_SUM: relu_backward_sum(desc); break;
  case IPRO_GENERATED_SQRT_FORWARD: sqrt_forward(desc); break;
  case IPRO_GENERATED_SQRT_BACKWARD: sqrt_backward(desc); break;
  case IPRO_GENERATED_RECIPROCAL_FORWARD: reciprocal_forward(desc); break;
  case IPRO_GENERATED_RECIPROCAL_BACKWARD: reciprocal_backward(desc); break;
  default: break;
  }
}

void ipro_kernel_library_describe_all(ipro_kernel_desc descs[IPRO_GENERATED_COUNT]) {
  for (int k = 0; k < IPRO_GENERATED_COUNT; k++)
    ipro_kernel_library_describe((ipro_generated_kernel)k, &descs[k]);
}
