/* BatchNormalization, Softmax and LogSoftmax on oneDNN, and their gradients.
 *
 * BatchNormalization's scale, B, mean and var arrive as four separate tensors, which oneDNN 2.6
 * takes as separate arguments (dnnl_use_scale | dnnl_use_shift). Inference form (training_mode 0)
 * normalises with the given statistics (dnnl_use_global_stats); its optional running outputs, if a
 * graph has them, are copies of the inputs (reorders). Training form normalises with the batch's
 * mean and biased variance, which oneDNN writes into planned intermediates; the running statistics
 * are then momentum * input + (1 - momentum) * batch, one sum primitive each, into the optional
 * outputs 1 and 2, or, in a training program (running_stats_in_place, codegen/internal_ops.md),
 * over inputs 3 and 4 themselves (oneDNN's sum may write over its first source). With
 * unbiased_running_variance the batch variance's scale also carries PyTorch's m / (m - 1).
 *
 * ipro.BatchNormGrad (dY, X, scale, [mean, inverse std] → dX, dScale, dBias) is oneDNN's backward
 * batch normalization, which needs the batch mean and variance. A training program's forward
 * saves them (saves_statistics: outputs 3 and 4, the mean and 1 / sqrt(variance + epsilon),
 * written by a loop from the primitive's intermediates), and the gradient reads the mean where
 * it lies and turns the inverse standard deviation back into the variance (a loop over the
 * channels). Without them the kernel first runs a forward-training normalisation of X without
 * scale and shift, whose mean and (biased) variance land in planned intermediates and whose Y
 * lands in dX, which the backward then overwrites.
 *
 * In plain NCHW oneDNN normalises with a slow generic kernel; where the channels are a multiple
 * of 16 (and there are spatial axes), both kernels therefore work on channel-blocked copies
 * (nChw16c and the like) in the workspace: the forward normalises the copy of X in place and
 * reorders it into Y, the gradient computes dX over the copy of dY in place and reorders it out;
 * a tensor carried channel-blocked between kernels (onednn_layouts.c) is read or written where
 * it lies instead.
 *
 * Softmax and LogSoftmax see the tensor as (outer, length, inner) with the reduction over the
 * middle axis: length is the axis's extent, or with coerce_2d the product of the axes from `axis`
 * on (inner is then 1). ipro.SoftmaxGrad (dY, Y → dX) is softmax_v2's backward on that layout.
 *
 * LayerNormalization sees X as [rows, row length], the row being the dimensions from axis on, and
 * normalises each row with its own statistics, which the forward does not keep. ipro.LayerNormGrad
 * (dY, X, scale → dX, dScale, dBias) therefore first runs a forward-training normalisation of X
 * without scale and shift, whose per-row mean and biased variance land in planned intermediates
 * (2 × 4 bytes a row) and whose Y lands in dX as scratch, then oneDNN's backward layer
 * normalisation, which overwrites dX and sums dScale and dBias over the rows. With channel_scale
 * (InstanceNormalization's gradient) it is onednn_instance_norm.c's. */
#include <math.h>

#include "onednn_internal.h"

/* A reorder from the node's input to its output: a plain copy of `md`. */
static ipro_status copy_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *md, int input,
                             int output, ipro_error *err) {
  return ipro_onednn_reorder_step(kernel, md, IPRO_ONEDNN_INPUT, (size_t)input, md,
                                  IPRO_ONEDNN_OUTPUT, (size_t)output, err);
}

/* running = momentum * input + batch_scale * the batch statistic at `batch_offset`, written to
 * output `output`, or over the input itself when output < 0. */
static ipro_status running_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *md,
                                float momentum, float batch_scale, int input, size_t batch_offset,
                                int output, ipro_error *err) {
  const float scales[2] = {momentum, batch_scale};
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_MULTIPLE_SRC, IPRO_ONEDNN_INPUT, (size_t)input},
      {DNNL_ARG_MULTIPLE_SRC + 1, IPRO_ONEDNN_INTERMEDIATE, batch_offset},
      {DNNL_ARG_DST, output < 0 ? IPRO_ONEDNN_INPUT : IPRO_ONEDNN_OUTPUT,
       (size_t)(output < 0 ? input : output)},
  };
  return ipro_onednn_sum_step(kernel, md, 2, scales, arguments, err);
}

/* The channels' batch statistics at `mean` and `variance` in the workspace (the primitive's
 * intermediates), for the loops below. */
typedef struct {
  int64_t channels;
  float epsilon;
  size_t mean, variance;
} statistics_at;

static statistics_at *statistics_state(ipro_onednn_kernel *kernel, int64_t channels, float epsilon,
                                       size_t mean, size_t variance, ipro_error *err) {
  statistics_at *at = ipro_onednn_state_create(kernel, sizeof *at, err);
  if (at) *at = (statistics_at){channels, epsilon, mean, variance};
  return at;
}

/* A training BatchNormalization's outputs 3 and 4 (saves_statistics): the batch mean, and
 * 1 / sqrt(variance + epsilon), what ipro.BatchNormGrad then takes instead of computing them. */
static ipro_status save_statistics(const ipro_onednn_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step,
                                   ipro_error *err) {
  (void)inputs, (void)step, (void)err;
  const statistics_at *at = kernel->state;
  const float *mean = (const float *)(workspace + at->mean);
  const float *variance = (const float *)(workspace + at->variance);
  float *saved_mean = outputs[3], *saved_inv_std = outputs[4];
  for (int64_t c = 0; c < at->channels; c++) {
    saved_mean[c] = mean[c];
    saved_inv_std[c] = 1.0f / sqrtf(variance[c] + at->epsilon);
  }
  return IPRO_OK;
}

/* ipro.BatchNormGrad given the saved statistics: the variance oneDNN's backward takes, from the
 * saved 1 / sqrt(variance + epsilon) (the backward only uses variance + epsilon). */
static ipro_status restore_variance(const ipro_onednn_kernel *kernel, void *const *inputs,
                                    void *const *outputs, char *workspace, uint64_t step,
                                    ipro_error *err) {
  (void)outputs, (void)step, (void)err;
  const statistics_at *at = kernel->state;
  const float *inv_std = inputs[4];
  float *variance = (float *)(workspace + at->variance);
  for (int64_t c = 0; c < at->channels; c++)
    variance[c] = 1.0f / (inv_std[c] * inv_std[c]) - at->epsilon;
  return IPRO_OK;
}

/* Whether a normalisation (forward or gradient) works on channel-blocked data: fused with its ReLU
 * (mask >= 0), exactly when its mask is in the blocked form, so that the two agree on the
 * mask's form; otherwise when the channels fill their blocks or one of its data operands (the
 * graph's tensors) lies channel-blocked already. */
static bool normalises_blocked(const ipro_onednn_kernel *kernel, int64_t channels,
                               const int *operands, int count, int mask) {
  if (mask >= 0) return ipro_onednn_blocked_relu_mask(kernel, mask);
  bool blocked = ipro_onednn_fills_blocks(channels);
  for (int i = 0; i < count; i++)
    blocked = blocked || ipro_onednn_carried(kernel, operands[i]);
  return blocked;
}

/* A fused normalisation's workspace, the ReLU's mask, bound to the node's input or output
 * `index` (the tensor `mask`), once it is known to fit the bytes planned for the mask: those of
 * oneDNN's workspace where the mask lies in the blocked normalisation's form
 * (ipro_onednn_relu_mask_bytes), one per element otherwise (the bool tensor's own bytes). */
static ipro_status bind_relu_mask(ipro_onednn_kernel *kernel, const ipro_graph *graph, int mask,
                                  const_dnnl_primitive_desc_t pd, ipro_onednn_source source,
                                  size_t index, ipro_error *err) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
  size_t needed = md ? dnnl_memory_desc_get_size(md) : 0;
  size_t planned = ipro_onednn_blocked_relu_mask(kernel, mask)
                       ? ipro_onednn_relu_mask_bytes(kernel->engine, graph, mask)
                       : 0;
  if (planned == 0) planned = (size_t)ipro_tensor_bytes(&graph->tensors[mask]);
  if (needed == 0 || needed > planned)
    return ipro_onednn_unsupported(err, "the ReLU's mask takes %zu bytes; %zu are planned", needed,
                                   planned);
  return ipro_onednn_bind(kernel, pd, DNNL_ARG_WORKSPACE, source, index, err);
}

size_t ipro_onednn_relu_mask_bytes(dnnl_engine_t engine, const ipro_graph *graph, int mask) {
  const ipro_tensor *t = &graph->tensors[mask];
  if (t->producer < 0) return 0;
  const ipro_node *node = &graph->nodes[t->producer];
  ipro_shape x;
  dnnl_memory_desc_t plain, blocked;
  dnnl_batch_normalization_desc_t desc;
  dnnl_primitive_desc_t pd = NULL;
  ipro_error err;
  unsigned flags = dnnl_use_scale | dnnl_use_shift | dnnl_fuse_norm_relu;
  if (ipro_onednn_input_shape(graph, node, 0, &x, &err) ||
      ipro_onednn_plain_md(&plain, x.rank, x.dims, &err) ||
      ipro_onednn_channel_blocked_md(&plain, &blocked, &err) ||
      dnnl_batch_normalization_forward_desc_init(&desc, dnnl_forward_training, &blocked,
                                                 ipro_node_attr_float(node, "epsilon", 1e-5f),
                                                 flags) != dnnl_success ||
      dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL) != dnnl_success)
    return 0;
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
  size_t bytes = md ? dnnl_memory_desc_get_size(md) : 0;
  dnnl_primitive_desc_destroy(pd);
  return bytes;
}

ipro_status ipro_onednn_build_batch_normalization(ipro_onednn_kernel *kernel,
                                                  const ipro_graph *graph, const ipro_node *node,
                                                  ipro_error *err) {
  ipro_shape x, y, parameter;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (x.rank < 2 || x.rank > 5 || !ipro_shape_equal(&x, &y))
    return ipro_onednn_unsupported(err, "input of rank %d (2 to 5 supported)", x.rank);
  for (int i = 1; i < 5; i++) {
    if (ipro_onednn_input_shape(graph, node, i, &parameter, err)) return IPRO_ERROR;
    if (parameter.rank != 1 || parameter.dims[0] != x.dims[1])
      return ipro_onednn_unsupported(err, "input %d is not a vector of the channels", i);
  }
  bool training = ipro_node_attr_int(node, "training_mode", 0) != 0;
  float epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  float momentum = ipro_node_attr_float(node, "momentum", 0.9f);
  bool running_mean = ipro_node_output(graph, node, 1) != NULL;
  bool running_var = ipro_node_output(graph, node, 2) != NULL;
  bool in_place = ipro_node_attr_int(node, "running_stats_in_place", 0) != 0;
  bool unbiased = ipro_node_attr_int(node, "unbiased_running_variance", 0) != 0;
  int64_t count = x.dims[1] > 0 ? ipro_shape_elements(&x) / x.dims[1] : 0;
  if (in_place && (running_mean || running_var))
    return ipro_onednn_unsupported(err, "running_stats_in_place with outputs 1 and 2");
  if (training && unbiased && count < 2)
    return ipro_onednn_unsupported(err, "the unbiased variance of %lld value per channel",
                                   (long long)count);
  /* Where the running statistics go: outputs 1 and 2, over inputs 3 and 4, or nowhere (-2). */
  int mean_output = in_place ? -1 : running_mean ? 1 : -2;
  int var_output = in_place ? -1 : running_var ? 2 : -2;
  double variance_scale = 1.0 - momentum;
  if (unbiased) variance_scale *= (double)count / (double)(count - 1);

  /* Fused with the ReLU after it (codegen/fusion.h): oneDNN's dnnl_fuse_norm_relu, whose
   * workspace (the ReLU's mask, which the fused gradient reads) is output 5. */
  bool relu = ipro_node_attr_int(node, "fused_relu", 0) != 0;
  if (relu && (!training || !ipro_node_output(graph, node, 5)))
    return ipro_onednn_unsupported(err, "fused_relu outside training or without its mask");
  /* Fused with the Add and ReLU after it: a loop of our own (cpu_norm_add_relu.c), or oneDNN's
   * normalisation followed by the Add and ReLU in place (at the end) */
  bool add_relu = ipro_node_attr_int(node, "fused_add_relu", 0) != 0;
  if (add_relu) {
    ipro_shape added;
    if (ipro_onednn_input_shape(graph, node, 5, &added, err)) return IPRO_ERROR;
    if (relu || !training || !ipro_shape_equal(&added, &x))
      return ipro_onednn_unsupported(err, "fused_add_relu with fused_relu, outside training or "
                                          "with an added tensor of another shape");
    bool saves = ipro_node_attr_int(node, "saves_statistics", 0) &&
                 ipro_node_output(graph, node, 3) && ipro_node_output(graph, node, 4);
    ipro_onednn_norm_settings settings = {training,       saves,       epsilon,   momentum,
                                          variance_scale, mean_output, var_output};
    bool built;
    if (ipro_onednn_build_norm_add_relu_blocked(kernel, graph, node, &settings, &built, err))
      return IPRO_ERROR;
    if (built) return IPRO_OK;
  }
  dnnl_memory_desc_t x_md, data_md, channel_md;
  /* channel-blocked by normalises_blocked's rule over X and Y */
  if (ipro_onednn_plain_md(&x_md, x.rank, x.dims, err) ||
      ipro_onednn_plain_md(&channel_md, 1, &x.dims[1], err))
    return IPRO_ERROR;
  data_md = x_md;
  const int operands[2] = {node->inputs[0], node->outputs[0]};
  if (normalises_blocked(kernel, x.dims[1], operands, 2, relu ? node->outputs[5] : -1) &&
      ipro_onednn_channel_blocked_md(&x_md, &data_md, err))
    return IPRO_ERROR;
  /* Channel-blocked: X, unless it lies channel-blocked already (onednn_layouts.c), is reordered
   * into an intermediate and normalised there in place, and the result reordered into Y, unless
   * Y is carried channel-blocked, which is then written directly. */
  bool blocked = !dnnl_memory_desc_equal(&data_md, &x_md);
  bool x_in_place = !blocked || ipro_onednn_carried(kernel, node->inputs[0]);
  bool y_in_place = !blocked || ipro_onednn_carried(kernel, node->outputs[0]);
  size_t staged = x_in_place && y_in_place
                      ? 0
                      : ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&data_md));
  if (!x_in_place && ipro_onednn_reorder_step(kernel, &x_md, IPRO_ONEDNN_INPUT, 0, &data_md,
                                              IPRO_ONEDNN_INTERMEDIATE, staged, err))
    return IPRO_ERROR;
  unsigned flags = dnnl_use_scale | dnnl_use_shift |
                   (training ? 0u : (unsigned)dnnl_use_global_stats) |
                   (relu ? (unsigned)dnnl_fuse_norm_relu : 0u);
  dnnl_batch_normalization_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_batch_normalization_forward_desc_init(
      &desc, training ? dnnl_forward_training : dnnl_forward_inference, &data_md, epsilon, flags));
  size_t channel_bytes = (size_t)x.dims[1] * sizeof(float);
  size_t mean = training ? ipro_onednn_reserve(kernel, channel_bytes) : 0;
  size_t variance = training ? ipro_onednn_reserve(kernel, channel_bytes) : 0;
  ipro_onednn_source statistics = training ? IPRO_ONEDNN_INTERMEDIATE : IPRO_ONEDNN_INPUT;
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC, x_in_place ? IPRO_ONEDNN_INPUT : IPRO_ONEDNN_INTERMEDIATE,
       x_in_place ? 0 : staged},
      {DNNL_ARG_DST, y_in_place ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INTERMEDIATE,
       y_in_place ? 0 : staged},
      {DNNL_ARG_SCALE, IPRO_ONEDNN_INPUT, 1},
      {DNNL_ARG_SHIFT, IPRO_ONEDNN_INPUT, 2},
      {DNNL_ARG_MEAN, statistics, training ? mean : 3},
      {DNNL_ARG_VARIANCE, statistics, training ? variance : 4},
  };
  dnnl_primitive_desc_t pd = NULL;
  if (ipro_onednn_describe(kernel, &desc, NULL, NULL, &pd, err)) return IPRO_ERROR;
  ipro_status status = ipro_onednn_add_bound_step(kernel, pd, arguments, 6, err);
  if (status == IPRO_OK && relu)
    status = bind_relu_mask(kernel, graph, node->outputs[5], pd, IPRO_ONEDNN_OUTPUT, 5, err);
  dnnl_primitive_desc_destroy(pd);
  if (status != IPRO_OK ||
      (!y_in_place && ipro_onednn_reorder_step(kernel, &data_md, IPRO_ONEDNN_INTERMEDIATE, staged,
                                               &x_md, IPRO_ONEDNN_OUTPUT, 0, err)))
    goto fail;
  if (training && ipro_node_attr_int(node, "saves_statistics", 0) &&
      ipro_node_output(graph, node, 3) && ipro_node_output(graph, node, 4) &&
      (!statistics_state(kernel, x.dims[1], epsilon, mean, variance, err) ||
       ipro_onednn_add_loop_step(kernel, save_statistics, err)))
    goto fail;
  if (!training) {
    if ((running_mean && copy_step(kernel, &channel_md, 3, 1, err)) ||
        (running_var && copy_step(kernel, &channel_md, 4, 2, err)))
      goto fail;
  } else if ((mean_output != -2 && running_step(kernel, &channel_md, momentum, 1.0f - momentum, 3,
                                                mean, mean_output, err)) ||
             (var_output != -2 && running_step(kernel, &channel_md, momentum, (float)variance_scale,
                                               4, variance, var_output, err))) {
    goto fail;
  }
  if (add_relu) return ipro_onednn_build_add_relu_after_norm(kernel, graph, node, err);
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_softmax_md(const ipro_node *node, const ipro_shape *x,
                                   dnnl_memory_desc_t *md, ipro_error *err) {
  int rank = x->rank > 0 ? x->rank : 1;
  int64_t axis = ipro_node_attr_int(node, "axis", rank - 1);
  if (axis < 0 || axis >= rank)
    return ipro_onednn_unsupported(err, "axis %lld outside rank %d", (long long)axis, x->rank);
  bool coerce_2d = ipro_node_attr_int(node, "coerce_2d", 0) != 0;
  int64_t dims[3] = {1, 1, 1};
  for (int d = 0; d < x->rank; d++) {
    int part = d < axis ? 0 : (d == axis || coerce_2d) ? 1 : 2;
    dims[part] *= x->dims[d];
  }
  return ipro_onednn_plain_md(md, 3, dims, err);
}

ipro_status ipro_onednn_build_softmax(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                      const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &y)) return ipro_onednn_unsupported(err, "Y's shape differs from X's");
  dnnl_memory_desc_t md;
  if (ipro_onednn_softmax_md(node, &x, &md, err)) return IPRO_ERROR;
  dnnl_alg_kind_t algorithm =
      node->op == IPRO_OP_LOG_SOFTMAX ? dnnl_softmax_log : dnnl_softmax_accurate;
  dnnl_softmax_v2_desc_t desc;
  IPRO_ONEDNN_CHECK(
      dnnl_softmax_v2_forward_desc_init(&desc, dnnl_forward_inference, algorithm, &md, &md, 1));
  return ipro_onednn_forward_step(kernel, &desc, err);
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_build_layer_normalization(ipro_onednn_kernel *kernel,
                                                  const ipro_graph *graph, const ipro_node *node,
                                                  ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &y)) return ipro_onednn_unsupported(err, "Y's shape differs from X's");
  for (int o = 1; o < node->n_outputs; o++)
    if (node->outputs[o] >= 0)
      return ipro_onednn_unsupported(err, "Mean and InvStdDev are asked for");
  int64_t axis = ipro_node_attr_int(node, "axis", -1);
  if (axis < 1 || axis >= x.rank) return ipro_onednn_unsupported(err, "axis %lld", (long long)axis);
  if (ipro_node_attr_int(node, "channel_scale", 0))
    return ipro_onednn_unsupported(err, "a scale per channel (InstanceNormalization's)");
  int64_t rows[2] = {1, 1};
  for (int d = 0; d < x.rank; d++)
    rows[d < axis ? 0 : 1] *= x.dims[d];
  bool shift = ipro_node_input(graph, node, 2) != NULL;
  dnnl_memory_desc_t md;
  if (ipro_onednn_plain_md(&md, 2, rows, err)) return IPRO_ERROR;
  /* the statistics of each row are computed, not given: inference's propagation is the
   * training forward without its statistics as outputs (ipro.LayerNormGrad computes them again) */
  dnnl_layer_normalization_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_layer_normalization_forward_desc_init(
      &desc, dnnl_forward_inference, &md, NULL, ipro_node_attr_float(node, "epsilon", 1e-5f),
      dnnl_use_scale | (shift ? dnnl_use_shift : 0)));
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0},
      {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0},
      {DNNL_ARG_SCALE, IPRO_ONEDNN_INPUT, 1},
      {DNNL_ARG_SHIFT, IPRO_ONEDNN_INPUT, 2},
  };
  return ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, arguments, shift ? 4 : 3, err);
fail:
  return IPRO_ERROR;
}

/* dY, X, scale → dX, [dScale], [dBias]; absent outputs go to intermediates. */
ipro_status ipro_onednn_build_batch_norm_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                              const ipro_node *node, ipro_error *err) {
  ipro_shape dy, x, scale, dx, parameter;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &x, err) ||
      ipro_onednn_input_shape(graph, node, 2, &scale, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err))
    return IPRO_ERROR;
  if (x.rank < 2 || x.rank > 5 || !ipro_shape_equal(&x, &dy) || !ipro_shape_equal(&x, &dx) ||
      ipro_shape_elements(&scale) != x.dims[1])
    return ipro_onednn_unsupported(err, "dY, X and dX must be (N, C, ...) alike, scale (C)");
  for (int i = 1; i < 3; i++)
    if (ipro_node_output(graph, node, i) &&
        (ipro_onednn_output_shape(graph, node, i, &parameter, err) ||
         ipro_shape_elements(&parameter) != x.dims[1]))
      return ipro_onednn_unsupported(err, "output %d is not a vector of the channels", i);
  /* The mean and inverse standard deviation the forward saved (inputs 3 and 4), or none; fused
   * with the forward's ReLU (codegen/fusion.h), its mask (input 5, the forward's workspace). */
  bool saved = node->n_inputs >= 5;
  bool relu = ipro_node_attr_int(node, "fused_relu", 0) != 0;
  if (relu && node->n_inputs != 6)
    return ipro_onednn_unsupported(err, "fused_relu without the saved statistics and mask");
  for (int i = 3; saved && i < 5; i++)
    if (ipro_onednn_input_shape(graph, node, i, &parameter, err) ||
        ipro_shape_elements(&parameter) != x.dims[1])
      return ipro_onednn_unsupported(err, "input %d is not a vector of the channels", i);
  float epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  dnnl_memory_desc_t x_md, data_md;
  if (ipro_onednn_plain_md(&x_md, x.rank, x.dims, err)) return IPRO_ERROR;
  /* channel-blocked by the forward's rule (ipro_onednn_build_batch_normalization), over this
   * kernel's own operands: each kernel reorders what does not lie that way */
  data_md = x_md;
  const int operands[3] = {node->inputs[0], node->inputs[1], node->outputs[0]};
  if (normalises_blocked(kernel, x.dims[1], operands, 3, relu ? node->inputs[5] : -1) &&
      ipro_onednn_channel_blocked_md(&x_md, &data_md, err))
    return IPRO_ERROR;
  size_t channel_bytes = (size_t)x.dims[1] * sizeof(float);
  size_t mean = saved ? 0 : ipro_onednn_reserve(kernel, channel_bytes);
  size_t variance = ipro_onednn_reserve(kernel, channel_bytes);
  /* Channel-blocked: X and dY are reordered into intermediates, unless they lie channel-blocked
   * already (onednn_layouts.c); dX is written directly when it is carried channel-blocked, else
   * computed over dY's intermediate (in place, or its own when dY needed none) and reordered
   * out. */
  bool blocked = !dnnl_memory_desc_equal(&data_md, &x_md);
  bool x_staged = blocked && !ipro_onednn_carried(kernel, node->inputs[1]);
  bool dy_staged = blocked && !ipro_onednn_carried(kernel, node->inputs[0]);
  bool dx_staged = blocked && !ipro_onednn_carried(kernel, node->outputs[0]);
  size_t data_bytes = dnnl_memory_desc_get_size(&data_md);
  size_t x_at = x_staged ? ipro_onednn_reserve(kernel, data_bytes) : 1;
  size_t dy_at = dy_staged ? ipro_onednn_reserve(kernel, data_bytes) : 0;
  size_t dx_at = !dx_staged ? 0 : dy_staged ? dy_at : ipro_onednn_reserve(kernel, data_bytes);
  if ((x_staged && ipro_onednn_reorder_step(kernel, &x_md, IPRO_ONEDNN_INPUT, 1, &data_md,
                                            IPRO_ONEDNN_INTERMEDIATE, x_at, err)) ||
      (dy_staged && ipro_onednn_reorder_step(kernel, &x_md, IPRO_ONEDNN_INPUT, 0, &data_md,
                                             IPRO_ONEDNN_INTERMEDIATE, dy_at, err)))
    return IPRO_ERROR;
  ipro_onednn_source x_source = x_staged ? IPRO_ONEDNN_INTERMEDIATE : IPRO_ONEDNN_INPUT;
  ipro_onednn_source dy_source = dy_staged ? IPRO_ONEDNN_INTERMEDIATE : IPRO_ONEDNN_INPUT;
  ipro_onednn_source dx_source = dx_staged ? IPRO_ONEDNN_INTERMEDIATE : IPRO_ONEDNN_OUTPUT;

  dnnl_primitive_desc_t hint = NULL, pd = NULL;
  dnnl_batch_normalization_desc_t statistics_desc, hint_desc, desc;
  unsigned flags = dnnl_use_scale | dnnl_use_shift | (relu ? (unsigned)dnnl_fuse_norm_relu : 0u);
  if (saved) {
    /* The forward's mean is read where it lies; its variance comes back from the saved inverse
     * standard deviation. */
    if (!statistics_state(kernel, x.dims[1], epsilon, 0, variance, err) ||
        ipro_onednn_add_loop_step(kernel, restore_variance, err))
      goto fail;
  } else {
    /* The batch statistics: a forward-training pass whose Y is scratch in dX, or in an
     * intermediate when padded blocks are larger than a plain dX. */
    bool scratch_fits = !dx_staged || data_bytes <= dnnl_memory_desc_get_size(&x_md);
    size_t scratch = scratch_fits ? 0 : ipro_onednn_reserve(kernel, data_bytes);
    IPRO_ONEDNN_CHECK(dnnl_batch_normalization_forward_desc_init(
        &statistics_desc, dnnl_forward_training, &data_md, epsilon, 0u));
    const ipro_onednn_argument statistics[] = {
        {DNNL_ARG_SRC, x_source, x_at},
        {DNNL_ARG_DST, scratch_fits ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INTERMEDIATE, scratch},
        {DNNL_ARG_MEAN, IPRO_ONEDNN_INTERMEDIATE, mean},
        {DNNL_ARG_VARIANCE, IPRO_ONEDNN_INTERMEDIATE, variance},
    };
    if (ipro_onednn_primitive_step(kernel, &statistics_desc, NULL, NULL, statistics, 4, err))
      goto fail;
  }
  IPRO_ONEDNN_CHECK(dnnl_batch_normalization_forward_desc_init(&hint_desc, dnnl_forward_training,
                                                               &data_md, epsilon, flags));
  IPRO_ONEDNN_CHECK(dnnl_batch_normalization_backward_desc_init(&desc, dnnl_backward, &data_md,
                                                                &data_md, epsilon, flags));
  if (ipro_onednn_describe(kernel, &hint_desc, NULL, NULL, &hint, err) ||
      ipro_onednn_create_backward_pd(kernel, &desc, hint, &pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DIFF_DST, dy_source, dy_at, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SRC, x_source, x_at, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SCALE, IPRO_ONEDNN_INPUT, 2, err) ||
      /* oneDNN 2.6 insists on a shift with use_shift, though no gradient depends on it: it is
       * given the scale, which is at hand and of the same shape. */
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SHIFT, IPRO_ONEDNN_INPUT, 2, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_MEAN,
                       saved ? IPRO_ONEDNN_INPUT : IPRO_ONEDNN_INTERMEDIATE, saved ? 3 : mean,
                       err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_VARIANCE, IPRO_ONEDNN_INTERMEDIATE, variance, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DIFF_SRC, dx_source, dx_at, err) ||
      (relu &&
       bind_relu_mask(kernel, graph, node->inputs[5], pd, IPRO_ONEDNN_INPUT, 5, err) != IPRO_OK))
    goto fail;
  const int diff_args[2] = {DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT};
  for (int i = 1; i < 3; i++) {
    bool present = ipro_node_output(graph, node, i) != NULL;
    size_t where = present ? (size_t)i : ipro_onednn_reserve(kernel, channel_bytes);
    if (ipro_onednn_bind(kernel, pd, diff_args[i - 1],
                         present ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INTERMEDIATE, where, err))
      goto fail;
  }
  if (dx_staged && ipro_onednn_reorder_step(kernel, &data_md, IPRO_ONEDNN_INTERMEDIATE, dx_at,
                                            &x_md, IPRO_ONEDNN_OUTPUT, 0, err))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_desc_destroy(hint);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (hint) dnnl_primitive_desc_destroy(hint);
  return IPRO_ERROR;
}

/* dY, Y → dX; forward_op says Softmax or LogSoftmax. */
ipro_status ipro_onednn_build_softmax_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                           const ipro_node *node, ipro_error *err) {
  ipro_shape dy, y, dx;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &y, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&dy, &y) || !ipro_shape_equal(&dx, &y))
    return ipro_onednn_unsupported(err, "dY, Y and dX differ in shape");
  int64_t forward = ipro_node_attr_int(node, "forward_op", -1);
  if (forward != IPRO_OP_SOFTMAX && forward != IPRO_OP_LOG_SOFTMAX)
    return ipro_onednn_unsupported(err, "forward_op %lld is neither Softmax nor LogSoftmax",
                                   (long long)forward);
  dnnl_alg_kind_t algorithm =
      forward == IPRO_OP_LOG_SOFTMAX ? dnnl_softmax_log : dnnl_softmax_accurate;
  dnnl_memory_desc_t md;
  if (ipro_onednn_softmax_md(node, &y, &md, err)) return IPRO_ERROR;
  dnnl_softmax_v2_desc_t forward_desc, desc;
  IPRO_ONEDNN_CHECK(dnnl_softmax_v2_forward_desc_init(&forward_desc, dnnl_forward_training,
                                                      algorithm, &md, &md, 1));
  IPRO_ONEDNN_CHECK(dnnl_softmax_v2_backward_desc_init(&desc, algorithm, &md, &md, &md, 1));
  dnnl_primitive_desc_t hint = NULL;
  if (ipro_onednn_describe(kernel, &forward_desc, NULL, NULL, &hint, err)) return IPRO_ERROR;
  bool reference = ipro_onednn_reference_only(kernel, &desc, hint);
  dnnl_primitive_desc_destroy(hint);
  /* IPRO_ONEDNN_SOFTMAX_GRAD_LOOP=0 keeps oneDNN's reference kernel, =1 takes the loop anyway */
  if (reference ? !ipro_onednn_switched_off("IPRO_ONEDNN_SOFTMAX_GRAD_LOOP")
                : ipro_onednn_switched_on("IPRO_ONEDNN_SOFTMAX_GRAD_LOOP"))
    return ipro_onednn_build_softmax_grad_loop(kernel, &md, forward == IPRO_OP_LOG_SOFTMAX, err);
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_DIFF_DST, IPRO_ONEDNN_INPUT, 0},
      {DNNL_ARG_DST, IPRO_ONEDNN_INPUT, 1},
      {DNNL_ARG_DIFF_SRC, IPRO_ONEDNN_OUTPUT, 0},
  };
  return ipro_onednn_backward_step(kernel, &forward_desc, &desc, arguments, 3, err);
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_row_statistics_step(ipro_onednn_kernel *kernel,
                                            const dnnl_memory_desc_t *md, float epsilon,
                                            ipro_onednn_source x_hat, size_t x_hat_index,
                                            size_t *mean, size_t *variance, ipro_error *err) {
  size_t row_bytes = (size_t)md->dims[0] * sizeof(float);
  *mean = ipro_onednn_reserve(kernel, row_bytes);
  *variance = ipro_onednn_reserve(kernel, row_bytes);
  dnnl_layer_normalization_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_layer_normalization_forward_desc_init(&desc, dnnl_forward_training, md,
                                                               NULL, epsilon, 0u));
  const ipro_onednn_argument statistics[] = {
      {DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 1},
      {DNNL_ARG_DST, x_hat, x_hat_index},
      {DNNL_ARG_MEAN, IPRO_ONEDNN_INTERMEDIATE, *mean},
      {DNNL_ARG_VARIANCE, IPRO_ONEDNN_INTERMEDIATE, *variance},
  };
  return ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, statistics, 4, err);
fail:
  return IPRO_ERROR;
}

/* Whether pd takes argument arg (DNNL_ARG_*). */
static bool takes_argument(const_dnnl_primitive_desc_t pd, int arg) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
  return md && md->ndims > 0;
}

/* dY, X, scale → [dX], [dScale], [dBias] over the dimensions from axis on, the tensors seen as
 * [rows, row length] as the forward sees them (the scale's leading 1s aside, its values lie as the
 * row's). */
ipro_status ipro_onednn_build_layer_norm_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                              const ipro_node *node, ipro_error *err) {
  if (ipro_node_attr_int(node, "channel_scale", 0))
    return ipro_onednn_build_instance_norm_grad(kernel, graph, node, err);
  ipro_shape dy, x, scale, output;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &x, err) ||
      ipro_onednn_input_shape(graph, node, 2, &scale, err))
    return IPRO_ERROR;
  int64_t axis = ipro_node_attr_int(node, "axis", -1);
  if (axis < 1 || axis >= x.rank) return ipro_onednn_unsupported(err, "axis %lld", (long long)axis);
  if (!ipro_shape_equal(&x, &dy))
    return ipro_onednn_unsupported(err, "dY's shape differs from X's");
  int64_t rows[2] = {1, 1};
  for (int d = 0; d < x.rank; d++)
    rows[d < axis ? 0 : 1] *= x.dims[d];
  if (ipro_shape_elements(&scale) != rows[1])
    return ipro_onednn_unsupported(err, "scale does not hold one value per row element");
  bool present[3];
  for (int o = 0; o < 3; o++) {
    present[o] = o < node->n_outputs && ipro_node_output(graph, node, o) != NULL;
    if (present[o] && ipro_onednn_output_shape(graph, node, o, &output, err)) return IPRO_ERROR;
    if (present[o] &&
        (o == 0 ? !ipro_shape_equal(&output, &x) : ipro_shape_elements(&output) != rows[1]))
      return ipro_onednn_unsupported(err, "output %d is not shaped as %s", o,
                                     o == 0 ? "X" : "the scale");
  }
  float epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  dnnl_memory_desc_t md;
  if (ipro_onednn_plain_md(&md, 2, rows, err)) return IPRO_ERROR;
  /* Each row's mean and biased variance, which the forward does not keep: a forward-training
   * normalisation of X without scale and shift writes them into intermediates, and its Y into dX
   * as scratch (the backward then overwrites it). An absent dX or dScale is computed into an
   * intermediate and dropped; without dBias the backward leaves the shift out. */
  size_t dx_at = present[0] ? 0 : ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&md));
  size_t d_scale_at = present[1] ? 1 : ipro_onednn_reserve(kernel, (size_t)rows[1] * sizeof(float));
  ipro_onednn_source dx_source = present[0] ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INTERMEDIATE;
  dnnl_layer_normalization_desc_t hint_desc, desc;
  dnnl_primitive_desc_t hint = NULL, pd = NULL;
  size_t mean, variance;
  if (ipro_onednn_row_statistics_step(kernel, &md, epsilon, dx_source, dx_at, &mean, &variance,
                                      err))
    return IPRO_ERROR;
  unsigned flags = dnnl_use_scale | (present[2] ? (unsigned)dnnl_use_shift : 0u);
  IPRO_ONEDNN_CHECK(dnnl_layer_normalization_forward_desc_init(&hint_desc, dnnl_forward_training,
                                                               &md, NULL, epsilon, flags));
  IPRO_ONEDNN_CHECK(dnnl_layer_normalization_backward_desc_init(&desc, dnnl_backward, &md, &md,
                                                                NULL, epsilon, flags));
  if (ipro_onednn_describe(kernel, &hint_desc, NULL, NULL, &hint, err) ||
      ipro_onednn_create_backward_pd(kernel, &desc, hint, &pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DIFF_DST, IPRO_ONEDNN_INPUT, 0, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 1, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SCALE, IPRO_ONEDNN_INPUT, 2, err) ||
      /* as for BatchNormGrad, a shift is asked for with use_shift though no gradient depends on
       * it: it is given the scale, which is at hand and of the same shape */
      (takes_argument(pd, DNNL_ARG_SHIFT) &&
       ipro_onednn_bind(kernel, pd, DNNL_ARG_SHIFT, IPRO_ONEDNN_INPUT, 2, err)) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_MEAN, IPRO_ONEDNN_INTERMEDIATE, mean, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_VARIANCE, IPRO_ONEDNN_INTERMEDIATE, variance, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DIFF_SRC, dx_source, dx_at, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DIFF_SCALE,
                       present[1] ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INTERMEDIATE, d_scale_at,
                       err) ||
      (present[2] && ipro_onednn_bind(kernel, pd, DNNL_ARG_DIFF_SHIFT, IPRO_ONEDNN_OUTPUT, 2, err)))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_desc_destroy(hint);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (hint) dnnl_primitive_desc_destroy(hint);
  return IPRO_ERROR;
}
