/* InstanceNormalization and its gradient (ipro.LayerNormGrad with channel_scale) on oneDNN.
 *
 * X [N, C, spatial...] is seen as [N·C rows, spatial length], one row per channel of each image,
 * as oneDNN's layer normalisation sees a tensor: it normalises each row with its own mean and
 * biased variance. The scale and bias are per channel, not per row element as layer
 * normalisation's, so they are applied on our loops:
 * - forward: oneDNN's layer normalisation without scale or shift writes x̂ into Y, then a loop
 *   makes Y = x̂ · scale[c] + B[c] in place (c = row mod C);
 * - gradient (dY, X, scale → dX, dScale, dBias): a forward-training normalisation recomputes each
 *   row's mean and variance (into planned intermediates, 8 bytes a row) and x̂ (into dX as
 *   scratch, or an intermediate without dX); a loop sums dScale[c] = Σ dY · x̂ and dBias[c] = Σ dY
 *   over the rows of channel c (in double, as the reference kernels do), then writes
 *   g = dY · scale[c] over x̂ in dX; oneDNN's backward layer normalisation without scale turns g
 *   into dX in place (which it supports), dX = inv · (g − mean(g) − x̂ · mean(g · x̂)) per row
 *   (codegen/internal_ops.md). So the kernel plans no tensor-sized workspace.
 * Operands plain and float32; anything else is left to the reference kernels. */
#include "onednn_internal.h"

typedef struct {
  int64_t rows, length, channels;
  size_t x_hat, g; /* intermediates' offsets (x_hat: when dX is absent) */
  bool x_hat_in_dx, d_scale, d_bias;
} instance_norm_state;

/* The rows view of X: [N·C, spatial length]; false (with err) when the node is not one oneDNN
 * takes. */
static ipro_status rows_of(const ipro_graph *graph, const ipro_node *node, int x_input,
                           instance_norm_state *s, dnnl_memory_desc_t *md, ipro_error *err) {
  ipro_shape x;
  if (ipro_onednn_input_shape(graph, node, x_input, &x, err)) return IPRO_ERROR;
  if (x.rank < 3) return ipro_onednn_unsupported(err, "X of rank %d", x.rank);
  if (ipro_node_input(graph, node, x_input)->dtype != IPRO_DTYPE_FLOAT)
    return ipro_onednn_unsupported(err, "X is not float32");
  s->channels = x.dims[1];
  s->rows = x.dims[0] * x.dims[1];
  s->length = 1;
  for (int d = 2; d < x.rank; d++)
    s->length *= x.dims[d];
  int64_t dims[2] = {s->rows, s->length};
  return ipro_onednn_plain_md(md, 2, dims, err);
}

static ipro_status scale_and_shift(const ipro_onednn_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step,
                                   ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const instance_norm_state *s = kernel->state;
  const float *scale = inputs[1], *bias = inputs[2];
  float *y = outputs[0];
  IPRO_ONEDNN_PARALLEL_FOR(s->rows * s->length)
  for (int64_t r = 0; r < s->rows; r++) {
    float a = scale[r % s->channels], b = bias[r % s->channels];
    float *row = y + r * s->length;
    for (int64_t j = 0; j < s->length; j++)
      row[j] = row[j] * a + b;
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_build_instance_normalization(ipro_onednn_kernel *kernel,
                                                     const ipro_graph *graph, const ipro_node *node,
                                                     ipro_error *err) {
  instance_norm_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  dnnl_memory_desc_t md;
  if (!s || rows_of(graph, node, 0, s, &md, err)) return IPRO_ERROR;
  dnnl_layer_normalization_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_layer_normalization_forward_desc_init(
      &desc, dnnl_forward_inference, &md, NULL, ipro_node_attr_float(node, "epsilon", 1e-5f), 0u));
  const ipro_onednn_argument arguments[] = {{DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0},
                                            {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0}};
  if (ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, arguments, 2, err)) return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, scale_and_shift, err);
fail:
  return IPRO_ERROR;
}

/* dScale and dBias per channel from dY and x̂; then, with dX, g = dY · scale[c] over x̂ in dX. */
static ipro_status channel_sums(const ipro_onednn_kernel *kernel, void *const *inputs,
                                void *const *outputs, char *workspace, uint64_t step,
                                ipro_error *err) {
  (void)step, (void)err;
  const instance_norm_state *s = kernel->state;
  const float *dy = inputs[0], *scale = inputs[2];
  const float *x_hat = s->x_hat_in_dx ? outputs[0] : (const float *)(workspace + s->x_hat);
  int64_t images = s->rows / s->channels;
  if (s->d_scale || s->d_bias) {
    IPRO_ONEDNN_PARALLEL_FOR(s->rows * s->length)
    for (int64_t c = 0; c < s->channels; c++) {
      double d_scale = 0, d_bias = 0;
      for (int64_t n = 0; n < images; n++) {
        int64_t at = (n * s->channels + c) * s->length;
        for (int64_t j = 0; j < s->length; j++) {
          d_scale += (double)dy[at + j] * (double)x_hat[at + j];
          d_bias += dy[at + j];
        }
      }
      if (s->d_scale) ((float *)outputs[1])[c] = (float)d_scale;
      if (s->d_bias) ((float *)outputs[2])[c] = (float)d_bias;
    }
  }
  if (!s->x_hat_in_dx) return IPRO_OK;
  float *g = outputs[0];
  IPRO_ONEDNN_PARALLEL_FOR(s->rows * s->length)
  for (int64_t r = 0; r < s->rows; r++) {
    float a = scale[r % s->channels];
    for (int64_t j = 0; j < s->length; j++)
      g[r * s->length + j] = dy[r * s->length + j] * a;
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_build_instance_norm_grad(ipro_onednn_kernel *kernel,
                                                 const ipro_graph *graph, const ipro_node *node,
                                                 ipro_error *err) {
  instance_norm_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  dnnl_memory_desc_t md;
  if (!s || rows_of(graph, node, 1, s, &md, err)) return IPRO_ERROR;
  ipro_shape dy, x, scale;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &x, err) ||
      ipro_onednn_input_shape(graph, node, 2, &scale, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &dy)) return ipro_onednn_unsupported(err, "dY's shape differs");
  if (ipro_node_attr_int(node, "axis", -1) != 2 || ipro_shape_elements(&scale) != s->channels)
    return ipro_onednn_unsupported(err, "not one scale per channel over axes 2 on");
  bool present[3];
  for (int o = 0; o < 3; o++)
    present[o] = o < node->n_outputs && ipro_node_output(graph, node, o) != NULL;
  s->x_hat_in_dx = present[0];
  s->d_scale = present[1];
  s->d_bias = present[2];
  float epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  if (!present[0]) s->x_hat = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&md));
  size_t mean, variance;
  if (ipro_onednn_row_statistics_step(kernel, &md, epsilon,
                                      present[0] ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INTERMEDIATE,
                                      present[0] ? 0 : s->x_hat, &mean, &variance, err) ||
      ipro_onednn_add_loop_step(kernel, channel_sums, err))
    return IPRO_ERROR;
  if (!present[0]) return IPRO_OK;
  dnnl_layer_normalization_desc_t hint_desc, desc;
  dnnl_primitive_desc_t hint = NULL, pd = NULL;
  IPRO_ONEDNN_CHECK(dnnl_layer_normalization_forward_desc_init(&hint_desc, dnnl_forward_training,
                                                               &md, NULL, epsilon, 0u));
  IPRO_ONEDNN_CHECK(dnnl_layer_normalization_backward_desc_init(&desc, dnnl_backward_data, &md, &md,
                                                                NULL, epsilon, 0u));
  if (ipro_onednn_describe(kernel, &hint_desc, NULL, NULL, &hint, err) ||
      ipro_onednn_create_backward_pd(kernel, &desc, hint, &pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DIFF_DST, IPRO_ONEDNN_OUTPUT, 0, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 1, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_MEAN, IPRO_ONEDNN_INTERMEDIATE, mean, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_VARIANCE, IPRO_ONEDNN_INTERMEDIATE, variance, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DIFF_SRC, IPRO_ONEDNN_OUTPUT, 0, err))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_desc_destroy(hint);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (hint) dnnl_primitive_desc_destroy(hint);
  return IPRO_ERROR;
}
