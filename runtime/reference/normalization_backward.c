/* Reference kernels of the normalisations' gradients (codegen/internal_ops.md):
 * ipro.BatchNormGrad (training-mode BatchNormalization) and ipro.SoftmaxGrad (Softmax and
 * LogSoftmax).
 *
 * Both recompute what they need from what the forward kept: BatchNormGrad the batch mean and
 * biased variance from X, with the forward's own ipro_reference_channel_moments, so the two agree
 * to the last bit (the mean and inverse standard deviation a training program's forward saves,
 * inputs 3 and 4, are the fast kernels' shortcut and are not read here: recomputed in double,
 * the reference checks them); SoftmaxGrad reads Y and lays the softmax axis out with the forward's
 * ipro_reference_softmax_layout (axis, or the flattened trailing axes under coerce_2d). */
#include <math.h>

#include "reference_ops.h"

/* dY at `at`, or 0 where a fused ReLU's mask (if any) is not set. */
static double masked(const double *dy, const bool *mask, int64_t at) {
  return mask && !mask[at] ? 0.0 : dy[at];
}

/* dY, X, scale → dX, [dScale], [dBias]. With x̂ = (x − mean) / sqrt(var + epsilon) and m the
 * number of elements per channel:
 *   dBias = Σ dY,  dScale = Σ dY · x̂,  dX = scale / sqrt(var + epsilon) · (dY − (dBias + x̂ ·
 * dScale) / m), the mean and variance being functions of X. With fused_relu (codegen/fusion.h)
 * input 0 is the gradient of the fused ReLU's output and input 5 its mask (bool): dY is input 0
 * where the mask is set and 0 elsewhere. */
IPRO_REFERENCE_KERNEL(ipro_reference_batch_norm_grad) {
  (void)context;
  ipro_shape dy, x, scale_shape;
  if (ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_input_shape(graph, node, 1, &x, err) ||
      ipro_reference_input_shape(graph, node, 2, &scale_shape, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err))
    return IPRO_ERROR;
  for (int i = 0; i < 3; i++)
    if (ipro_reference_expect_real(graph, node, true, i, err)) return IPRO_ERROR;
  double *d_scale = ipro_reference_optional(outputs, node->n_outputs, 1);
  double *d_bias = ipro_reference_optional(outputs, node->n_outputs, 2);
  for (int i = 1; i < 3; i++)
    if (ipro_reference_optional(outputs, node->n_outputs, i) &&
        ipro_reference_expect_real(graph, node, false, i, err))
      return IPRO_ERROR;
  if (x.rank < 2 || !ipro_shape_equal(&dy, &x) || ipro_shape_elements(&scale_shape) != x.dims[1])
    return ipro_reference_fail(node, err, "dY and X must be (N, C, ...) alike, scale (C)");
  int64_t batch = x.dims[0], channels = x.dims[1], size = ipro_reference_product(x.dims, 2, x.rank);
  double count = (double)(batch * size);
  double epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  const double *dy_data = inputs[0], *x_data = inputs[1], *scale = inputs[2];
  bool relu = ipro_node_attr_int(node, "fused_relu", 0) != 0;
  const bool *relu_mask = relu ? ipro_reference_optional(inputs, node->n_inputs, 5) : NULL;
  if (relu && !relu_mask) return ipro_reference_fail(node, err, "fused_relu without its mask");
  if (relu_mask && ipro_reference_expect_dtype(graph, node, true, 5, IPRO_DTYPE_BOOL, err))
    return IPRO_ERROR;
  double *dx = outputs[0];
  for (int64_t c = 0; c < channels; c++) {
    double mean, var;
    ipro_reference_channel_moments(x_data, batch, channels, size, c, &mean, &var);
    double inverse = 1.0 / sqrt(var + epsilon), sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t n = 0; n < batch; n++)
      for (int64_t i = 0; i < size; i++) {
        int64_t at = (n * channels + c) * size + i;
        sum_dy += masked(dy_data, relu_mask, at);
        sum_dy_xhat += masked(dy_data, relu_mask, at) * (x_data[at] - mean) * inverse;
      }
    if (d_scale) d_scale[c] = sum_dy_xhat;
    if (d_bias) d_bias[c] = sum_dy;
    if (count == 0) continue;
    double factor = scale[c] * inverse;
    for (int64_t n = 0; n < batch; n++)
      for (int64_t i = 0; i < size; i++) {
        int64_t at = (n * channels + c) * size + i;
        double x_hat = (x_data[at] - mean) * inverse;
        dx[at] =
            (factor * (masked(dy_data, relu_mask, at) - (sum_dy + x_hat * sum_dy_xhat) / count));
      }
  }
  return IPRO_OK;
}

/* dY, Y → dX along each softmax row. Softmax: dX = Y · (dY − Σ dY · Y). LogSoftmax (Y = log
 * softmax): dX = dY − exp(Y) · Σ dY. */
IPRO_REFERENCE_KERNEL(ipro_reference_softmax_grad) {
  (void)context;
  ipro_shape dy, y;
  int64_t outer, length, inner;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, true, 1, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_input_shape(graph, node, 1, &y, err) ||
      ipro_reference_softmax_layout(node, &y, &outer, &length, &inner, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&dy, &y)) return ipro_reference_fail(node, err, "dY and Y differ in shape");
  int64_t forward = ipro_node_attr_int(node, "forward_op", -1);
  bool logarithm = forward == IPRO_OP_LOG_SOFTMAX;
  if (!logarithm && forward != IPRO_OP_SOFTMAX)
    return ipro_reference_fail(node, err, "forward_op %lld is neither Softmax nor LogSoftmax",
                               (long long)forward);
  const double *dy_data = inputs[0], *y_data = inputs[1];
  double *dx = outputs[0];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * length * inner + i;
      double sum = 0.0;
      for (int64_t k = 0; k < length; k++) {
        int64_t at = base + k * inner;
        sum += logarithm ? (double)dy_data[at] : (double)dy_data[at] * y_data[at];
      }
      for (int64_t k = 0; k < length; k++) {
        int64_t at = base + k * inner;
        dx[at] = (logarithm ? dy_data[at] - exp((double)y_data[at]) * sum
                            : y_data[at] * (dy_data[at] - sum));
      }
    }
  return IPRO_OK;
}

/* dY, X, Scale → dX, dScale, dB of LayerNormalization over the dimensions from axis on: per row,
 * x̂ = (x − mean)·inv, g = dY·Scale, dX = inv·(g − mean(g) − x̂·mean(g·x̂)); dScale and dB sum
 * dY·x̂ and dY over the rows. */
IPRO_REFERENCE_KERNEL(ipro_reference_layer_norm_grad) {
  (void)context;
  ipro_shape x;
  if (ipro_reference_input_shape(graph, node, 1, &x, err)) return IPRO_ERROR;
  int64_t axis = ipro_node_attr_int(node, "axis", -1);
  if (axis < 1 || axis >= x.rank)
    return ipro_reference_fail(node, err, "axis %lld outside 1..%d", (long long)axis, x.rank - 1);
  int64_t outer = ipro_reference_product(x.dims, 0, (int)axis);
  int64_t inner = ipro_reference_product(x.dims, (int)axis, x.rank);
  /* channel_scale (InstanceNormalization's gradient): scale, dScale and dB per channel, a row
   * being one channel of one image (axis 2) */
  int64_t channels = ipro_node_attr_int(node, "channel_scale", 0) ? x.dims[1] : 0;
  if (channels && axis != 2)
    return ipro_reference_fail(node, err, "channel_scale with axis %lld", (long long)axis);
  const double *dy = inputs[0], *in = inputs[1], *scale = inputs[2];
  double *dx = ipro_reference_optional(outputs, node->n_outputs, 0);
  double *d_scale = ipro_reference_optional(outputs, node->n_outputs, 1);
  double *d_bias = ipro_reference_optional(outputs, node->n_outputs, 2);
  double epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  int64_t parameters = channels ? channels : inner;
  for (int64_t i = 0; d_scale && i < parameters; i++)
    d_scale[i] = 0.0;
  for (int64_t i = 0; d_bias && i < parameters; i++)
    d_bias[i] = 0.0;
  for (int64_t r = 0; r < outer; r++) {
    const double *row = in + r * inner, *g_row = dy + r * inner;
    double mean, var; /* the row as one channel of one image */
    ipro_reference_channel_moments(row, 1, 1, inner, 0, &mean, &var);
    double inverse = 1.0 / sqrt(var + epsilon), mean_g = 0.0, mean_g_hat = 0.0;
    int64_t c = channels ? r % channels : 0;
    for (int64_t i = 0; i < inner; i++) {
      int64_t k = channels ? c : i;
      double x_hat = (row[i] - mean) * inverse, g = g_row[i] * scale[k];
      mean_g += g;
      mean_g_hat += g * x_hat;
      if (d_scale) d_scale[k] += g_row[i] * x_hat;
      if (d_bias) d_bias[k] += g_row[i];
    }
    mean_g /= (double)inner;
    mean_g_hat /= (double)inner;
    for (int64_t i = 0; dx && i < inner; i++) {
      double x_hat = (row[i] - mean) * inverse;
      dx[r * inner + i] =
          inverse * (g_row[i] * scale[channels ? c : i] - mean_g - x_hat * mean_g_hat);
    }
  }
  return IPRO_OK;
}
