/* Reference kernels of the ops that normalise or rescale along an axis: BatchNormalization
 * (inference and training forms), Softmax, LogSoftmax, and Dropout with its counter-based mask. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference_ops.h"

void ipro_reference_channel_moments(const double *x, int64_t batch, int64_t channels, int64_t size,
                                    int64_t c, double *mean, double *variance) {
  double count = (double)(batch * size), sum = 0.0, squares = 0.0;
  for (int64_t n = 0; n < batch; n++)
    for (int64_t i = 0; i < size; i++)
      sum += x[(n * channels + c) * size + i];
  *mean = count > 0 ? sum / count : 0.0;
  for (int64_t n = 0; n < batch; n++)
    for (int64_t i = 0; i < size; i++) {
      double d = x[(n * channels + c) * size + i] - *mean;
      squares += d * d;
    }
  *variance = count > 0 ? squares / count : 0.0;
}

/* X (N, C, ...), scale, B, input_mean, input_var (C) → Y, [running_mean, running_var].
 * training_mode 0 normalises with the given statistics. training_mode 1 normalises with the
 * batch's mean and biased variance, and computes running = momentum * input + (1 - momentum) *
 * batch, exactly as ONNX specifies, into the optional outputs. Two attributes that only the
 * compiler sets (codegen/internal_ops.md) make it PyTorch's update for the training program:
 * running_stats_in_place writes the running statistics over inputs 3 and 4 instead of outputs 1
 * and 2, and unbiased_running_variance takes the unbiased batch variance (times m / (m - 1),
 * m = N * spatial) for the running variance; the normalisation always uses the biased one. With
 * saves_statistics (training only), outputs 3 and 4 receive the batch mean and the inverse
 * standard deviation 1 / sqrt(biased variance + epsilon) for the backward pass. With fused_relu
 * (codegen/fusion.h) Y is max(0, the normalised value) and output 5, if present, the mask of
 * where Y is positive (bool); with fused_add_relu Y is max(0, the normalised value + input 5). */
IPRO_REFERENCE_KERNEL(ipro_reference_batch_normalization) {
  (void)context;
  ipro_shape x;
  if (ipro_reference_input_shape(graph, node, 0, &x, err)) return IPRO_ERROR;
  for (int i = 0; i < 5; i++)
    if (ipro_reference_expect_real(graph, node, true, i, err)) return IPRO_ERROR;
  if (x.rank < 2) return ipro_reference_fail(node, err, "input of rank %d; >= 2 expected", x.rank);
  int64_t batch = x.dims[0], channels = x.dims[1], size = ipro_reference_product(x.dims, 2, x.rank);
  double epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  double momentum = ipro_node_attr_float(node, "momentum", 0.9f);
  bool training = ipro_node_attr_int(node, "training_mode", 0) != 0;
  bool in_place = ipro_node_attr_int(node, "running_stats_in_place", 0) != 0;
  bool unbiased = ipro_node_attr_int(node, "unbiased_running_variance", 0) != 0;
  const double *in = inputs[0], *scale = inputs[1], *shift = inputs[2];
  double *input_mean = inputs[3], *input_var = inputs[4];
  double *y = outputs[0];
  double *running_mean = ipro_reference_optional(outputs, node->n_outputs, 1);
  double *running_var = ipro_reference_optional(outputs, node->n_outputs, 2);
  bool saves = training && ipro_node_attr_int(node, "saves_statistics", 0) != 0;
  double *saved_mean = saves ? ipro_reference_optional(outputs, node->n_outputs, 3) : NULL;
  double *saved_inv_std = saves ? ipro_reference_optional(outputs, node->n_outputs, 4) : NULL;
  bool relu = ipro_node_attr_int(node, "fused_relu", 0) != 0;
  /* fused with the Add and ReLU after it (codegen/fusion.h): Y = max(0, normalised + input 5) */
  const double *added = NULL;
  if (ipro_node_attr_int(node, "fused_add_relu", 0)) {
    ipro_shape added_shape;
    if (node->n_inputs < 6 || node->inputs[5] < 0 ||
        ipro_reference_input_shape(graph, node, 5, &added_shape, err) ||
        !ipro_shape_equal(&added_shape, &x))
      return ipro_reference_fail(node, err, "fused_add_relu without an input 5 of X's shape");
    if (ipro_reference_expect_real(graph, node, true, 5, err)) return IPRO_ERROR;
    added = inputs[5];
  }
  /* the normalised value is rounded to Y's type before the Add, as the unfused program stores
   * it, so that the fused reference kernel gives the unfused program's bits */
  bool round_to_float = graph->tensors[node->outputs[0]].dtype == IPRO_DTYPE_FLOAT;
  bool *relu_mask = relu ? ipro_reference_optional(outputs, node->n_outputs, 5) : NULL;
  if (relu_mask && ipro_reference_expect_dtype(graph, node, false, 5, IPRO_DTYPE_BOOL, err))
    return IPRO_ERROR;
  if (in_place && (running_mean || running_var))
    return ipro_reference_fail(node, err,
                               "running_stats_in_place updates inputs 3 and 4; outputs 1 and 2 "
                               "must be absent");
  if (in_place && training) running_mean = input_mean, running_var = input_var;
  int64_t count = batch * size;
  if (training && unbiased && count < 2)
    return ipro_reference_fail(node, err,
                               "the unbiased variance needs more than one value per channel "
                               "(%lld)",
                               (long long)count);
  for (int64_t c = 0; c < channels; c++) {
    double mean = input_mean[c], var = input_var[c];
    if (training) {
      ipro_reference_channel_moments(in, batch, channels, size, c, &mean, &var);
      double running = unbiased ? var * (double)count / (double)(count - 1) : var;
      /* Both read input_* [c] before either writes it: with in_place they are the same array. */
      double new_mean = momentum * input_mean[c] + (1 - momentum) * mean;
      double new_var = momentum * input_var[c] + (1 - momentum) * running;
      if (running_mean) running_mean[c] = new_mean;
      if (running_var) running_var[c] = new_var;
    }
    if (saved_mean) saved_mean[c] = mean;
    if (saved_inv_std) saved_inv_std[c] = 1.0 / sqrt(var + epsilon);
    double factor = scale[c] / sqrt(var + epsilon);
    for (int64_t n = 0; n < batch; n++)
      for (int64_t i = 0; i < size; i++) {
        int64_t at = (n * channels + c) * size + i;
        double value = (in[at] - mean) * factor + shift[c];
        if (added) value = (round_to_float ? (double)(float)value : value) + added[at];
        if ((relu || added) && !(value > 0)) value = 0;
        y[at] = value;
        if (relu_mask) relu_mask[at] = value > 0;
      }
  }
  /* In inference form the optional outputs (if a graph has them) pass the statistics through. */
  if (!training) {
    if (running_mean) memcpy(running_mean, input_mean, (size_t)channels * sizeof(double));
    if (running_var) memcpy(running_var, input_var, (size_t)channels * sizeof(double));
  }
  return IPRO_OK;
}

ipro_status ipro_reference_softmax_layout(const ipro_node *node, const ipro_shape *x,
                                          int64_t *outer, int64_t *length, int64_t *inner,
                                          ipro_error *err) {
  int64_t axis = ipro_node_attr_int(node, "axis", x->rank - 1);
  if (axis < 0 || axis >= (x->rank > 0 ? x->rank : 1))
    return ipro_reference_fail(node, err, "axis %lld outside rank %d", (long long)axis, x->rank);
  bool coerce_2d = ipro_node_attr_int(node, "coerce_2d", 0) != 0;
  *outer = ipro_reference_product(x->dims, 0, (int)axis);
  *length = coerce_2d ? ipro_reference_product(x->dims, (int)axis, x->rank)
                      : ipro_reference_product(x->dims, (int)axis, (int)axis + 1);
  *inner = coerce_2d ? 1 : ipro_reference_product(x->dims, (int)axis + 1, x->rank);
  return IPRO_OK;
}

void ipro_reference_softmax_normalizer(const double *row, int64_t length, int64_t stride,
                                       double *maximum, double *sum) {
  *maximum = -INFINITY;
  *sum = 0.0;
  for (int64_t k = 0; k < length; k++)
    if (row[k * stride] > *maximum) *maximum = row[k * stride];
  for (int64_t k = 0; k < length; k++)
    *sum += exp(row[k * stride] - *maximum);
}

/* Softmax and LogSoftmax over `axis`, or with coerce_2d over the flattened dimensions axis..rank-1
 * (the pre-opset-13 form). The maximum is subtracted first so exp never overflows. */
static ipro_status softmax(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                           void *const *outputs, bool logarithm, ipro_error *err) {
  ipro_shape x;
  int64_t outer, length, inner;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_softmax_layout(node, &x, &outer, &length, &inner, err))
    return IPRO_ERROR;
  const double *in = inputs[0];
  double *y = outputs[0];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const double *row = in + o * length * inner + i;
      double *out = y + o * length * inner + i;
      double maximum, sum;
      ipro_reference_softmax_normalizer(row, length, inner, &maximum, &sum);
      for (int64_t k = 0; k < length; k++) {
        double shifted = row[k * inner] - maximum;
        out[k * inner] = (logarithm ? shifted - log(sum) : exp(shifted) / sum);
      }
    }
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_softmax) {
  (void)context;
  return softmax(graph, node, inputs, outputs, false, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_log_softmax) {
  (void)context;
  return softmax(graph, node, inputs, outputs, true, err);
}

static uint64_t splitmix64(uint64_t x) {
  x += UINT64_C(0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

float ipro_reference_dropout_uniform(uint64_t seed, uint64_t step, uint64_t index) {
  uint64_t bits = splitmix64(splitmix64(splitmix64(seed) ^ step) ^ index);
  return (float)(bits >> 40) * (1.0f / 16777216.0f);
}

/* X → Y, [mask (bool)]. training_mode 0 (or ratio 0): Y = X and the mask is all true. training_mode
 * 1: element i is kept when ipro_reference_dropout_uniform(seed, step, i) >= ratio, seed the
 * context's xor the node's stream (ipro_node_random_stream: each Dropout its own mask), and then
 * scaled
 * by 1 / (1 - ratio); dropped elements are 0. */
IPRO_REFERENCE_KERNEL(ipro_reference_dropout) {
  ipro_shape x;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &x, err))
    return IPRO_ERROR;
  bool *mask = ipro_reference_optional(outputs, node->n_outputs, 1);
  if (mask && ipro_reference_expect_dtype(graph, node, false, 1, IPRO_DTYPE_BOOL, err))
    return IPRO_ERROR;
  float ratio = ipro_node_attr_float(node, "ratio", 0.5f);
  bool training = ipro_node_attr_int(node, "training_mode", 0) != 0;
  if (ratio < 0.0f || ratio >= 1.0f)
    return ipro_reference_fail(node, err, "ratio %g outside [0, 1)", (double)ratio);
  uint64_t seed = (context ? context->seed : 0) ^ ipro_node_random_stream(node),
           step = context ? context->step : 0;
  int64_t count = ipro_shape_elements(&x);
  const double *in = inputs[0];
  double *y = outputs[0];
  double scale = 1.0 / (1.0 - (double)ratio);
  for (int64_t i = 0; i < count; i++) {
    bool keep = !training || ratio == 0.0f ||
                ipro_reference_dropout_uniform(seed, step, (uint64_t)i) >= ratio;
    y[i] = keep ? (training ? in[i] * scale : in[i]) : 0.0;
    if (mask) mask[i] = keep;
  }
  return IPRO_OK;
}

/* X (outer × inner, inner the dimensions from axis on) → Y = (X − mean)·inv·Scale + B per row,
 * inv = 1/√(var + epsilon) with the biased variance; Mean and InvStdDev when asked for. Scale and
 * B are read by their position within the row (their shape is the row's, leading 1s aside). */
/* Each row of `inner` values of in normalised with its own statistics, then times scale plus
 * bias: indexed by the element within the row (channels 0, LayerNormalization), or by the row's
 * channel, r mod channels (InstanceNormalization, whose rows are one channel of one image). */
static void normalize_rows(const double *in, int64_t outer, int64_t inner, double epsilon,
                           const double *scale, const double *bias, int64_t channels, double *y,
                           double *means, double *inverses) {
  for (int64_t r = 0; r < outer; r++) {
    const double *row = in + r * inner;
    double mean, var; /* the row as one channel of one image */
    ipro_reference_channel_moments(row, 1, 1, inner, 0, &mean, &var);
    double inverse = 1.0 / sqrt(var + epsilon);
    int64_t c = channels ? r % channels : 0;
    for (int64_t i = 0; i < inner; i++) {
      int64_t k = channels ? c : i;
      y[r * inner + i] = (row[i] - mean) * inverse * scale[k] + (bias ? bias[k] : 0.0);
    }
    if (means) means[r] = mean;
    if (inverses) inverses[r] = inverse;
  }
}

IPRO_REFERENCE_KERNEL(ipro_reference_layer_normalization) {
  (void)context;
  ipro_shape x;
  if (ipro_reference_input_shape(graph, node, 0, &x, err)) return IPRO_ERROR;
  int64_t axis = ipro_node_attr_int(node, "axis", -1);
  if (axis < 0) axis += x.rank;
  if (axis < 0 || axis >= x.rank)
    return ipro_reference_fail(node, err, "axis %lld outside rank %d", (long long)axis, x.rank);
  normalize_rows(inputs[0], ipro_reference_product(x.dims, 0, (int)axis),
                 ipro_reference_product(x.dims, (int)axis, x.rank),
                 ipro_node_attr_float(node, "epsilon", 1e-5f), inputs[1],
                 ipro_reference_optional(inputs, node->n_inputs, 2), 0, outputs[0],
                 ipro_reference_optional(outputs, node->n_outputs, 1),
                 ipro_reference_optional(outputs, node->n_outputs, 2));
  return IPRO_OK;
}

/* X [N, C, spatial...], scale [C], B [C] → Y: each channel of each image normalised over its
 * spatial positions, times scale[c] plus B[c]. */
IPRO_REFERENCE_KERNEL(ipro_reference_instance_normalization) {
  (void)context;
  ipro_shape x;
  if (ipro_reference_input_shape(graph, node, 0, &x, err)) return IPRO_ERROR;
  if (x.rank < 3) return ipro_reference_fail(node, err, "X of rank %d", x.rank);
  normalize_rows(inputs[0], x.dims[0] * x.dims[1], ipro_reference_product(x.dims, 2, x.rank),
                 ipro_node_attr_float(node, "epsilon", 1e-5f), inputs[1], inputs[2], x.dims[1],
                 outputs[0], NULL, NULL);
  return IPRO_OK;
}
