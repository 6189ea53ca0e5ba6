/* BatchNormalization, Softmax and LogSoftmax on oneDNN.
 *
 * BatchNormalization's scale, B, mean and var arrive as four separate tensors, which oneDNN 2.6
 * takes as separate arguments (dnnl_use_scale | dnnl_use_shift). Inference form (training_mode 0)
 * normalises with the given statistics (dnnl_use_global_stats); its optional running outputs, if a
 * graph has them, are copies of the inputs (reorders). Training form normalises with the batch's
 * mean and biased variance, which oneDNN writes into planned intermediates; the optional running
 * outputs are then momentum * input + (1 - momentum) * batch, one sum primitive each.
 *
 * Softmax and LogSoftmax see the tensor as (outer, length, inner) with the reduction over the
 * middle axis: length is the axis's extent, or with coerce_2d the product of the axes from `axis`
 * on (inner is then 1). */
#include "onednn_internal.h"

/* A reorder from the node's input to its output: a plain copy of `md`. */
static ipro_status copy_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *md, int input,
                             int output, ipro_error *err) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  if (ipro_onednn_attr_create(&attr, err)) return IPRO_ERROR;
  IPRO_ONEDNN_CHECK(
      dnnl_reorder_primitive_desc_create(&pd, md, kernel->engine, md, kernel->engine, attr));
  if (ipro_onednn_add_step(kernel, pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_FROM, IPRO_ONEDNN_INPUT, (size_t)input, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_TO, IPRO_ONEDNN_OUTPUT, (size_t)output, err))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return IPRO_ERROR;
}

/* output = momentum * input + (1 - momentum) * the batch statistic at `batch_offset`. */
static ipro_status running_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *md,
                                float momentum, int input, size_t batch_offset, int output,
                                ipro_error *err) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  const float scales[2] = {momentum, 1.0f - momentum};
  const dnnl_memory_desc_t sources[2] = {*md, *md};
  if (ipro_onednn_attr_create(&attr, err)) return IPRO_ERROR;
  IPRO_ONEDNN_CHECK(
      dnnl_sum_primitive_desc_create(&pd, md, 2, scales, sources, attr, kernel->engine));
  if (ipro_onednn_add_step(kernel, pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_MULTIPLE_SRC, IPRO_ONEDNN_INPUT, (size_t)input, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_MULTIPLE_SRC + 1, IPRO_ONEDNN_INTERMEDIATE,
                       batch_offset, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, (size_t)output, err))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return IPRO_ERROR;
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

  dnnl_memory_desc_t x_md, channel_md;
  if (ipro_onednn_plain_md(&x_md, x.rank, x.dims, err) ||
      ipro_onednn_plain_md(&channel_md, 1, &x.dims[1], err))
    return IPRO_ERROR;
  unsigned flags =
      dnnl_use_scale | dnnl_use_shift | (training ? 0u : (unsigned)dnnl_use_global_stats);
  dnnl_primitive_desc_t pd = NULL;
  dnnl_batch_normalization_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_batch_normalization_forward_desc_init(
      &desc, training ? dnnl_forward_training : dnnl_forward_inference, &x_md, epsilon, flags));
  if (ipro_onednn_create_pd(kernel, &desc, NULL, &pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SCALE, IPRO_ONEDNN_INPUT, 1, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SHIFT, IPRO_ONEDNN_INPUT, 2, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0, err))
    goto fail;
  size_t channel_bytes = (size_t)x.dims[1] * sizeof(float);
  if (!training) {
    if (ipro_onednn_bind(kernel, pd, DNNL_ARG_MEAN, IPRO_ONEDNN_INPUT, 3, err) ||
        ipro_onednn_bind(kernel, pd, DNNL_ARG_VARIANCE, IPRO_ONEDNN_INPUT, 4, err) ||
        (running_mean && copy_step(kernel, &channel_md, 3, 1, err)) ||
        (running_var && copy_step(kernel, &channel_md, 4, 2, err)))
      goto fail;
  } else {
    size_t mean = ipro_onednn_reserve(kernel, channel_bytes);
    size_t variance = ipro_onednn_reserve(kernel, channel_bytes);
    if (ipro_onednn_bind(kernel, pd, DNNL_ARG_MEAN, IPRO_ONEDNN_INTERMEDIATE, mean, err) ||
        ipro_onednn_bind(kernel, pd, DNNL_ARG_VARIANCE, IPRO_ONEDNN_INTERMEDIATE, variance, err) ||
        (running_mean && running_step(kernel, &channel_md, momentum, 3, mean, 1, err)) ||
        (running_var && running_step(kernel, &channel_md, momentum, 4, variance, 2, err)))
      goto fail;
  }
  dnnl_primitive_desc_destroy(pd);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return IPRO_ERROR;
}

ipro_status ipro_onednn_build_softmax(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                      const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &y)) return ipro_onednn_unsupported(err, "Y's shape differs from X's");
  int rank = x.rank > 0 ? x.rank : 1;
  int64_t axis = ipro_node_attr_int(node, "axis", rank - 1);
  if (axis < 0 || axis >= rank)
    return ipro_onednn_unsupported(err, "axis %lld outside rank %d", (long long)axis, x.rank);
  bool coerce_2d = ipro_node_attr_int(node, "coerce_2d", 0) != 0;
  int64_t dims[3] = {1, 1, 1};
  for (int d = 0; d < x.rank; d++) {
    int part = d < axis ? 0 : (d == axis || coerce_2d) ? 1 : 2;
    dims[part] *= x.dims[d];
  }
  dnnl_memory_desc_t md;
  if (ipro_onednn_plain_md(&md, 3, dims, err)) return IPRO_ERROR;
  dnnl_alg_kind_t algorithm =
      node->op == IPRO_OP_LOG_SOFTMAX ? dnnl_softmax_log : dnnl_softmax_accurate;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_softmax_v2_desc_t desc;
  IPRO_ONEDNN_CHECK(
      dnnl_softmax_v2_forward_desc_init(&desc, dnnl_forward_inference, algorithm, &md, &md, 1));
  if (ipro_onednn_create_pd(kernel, &desc, NULL, &pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0, err))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return IPRO_ERROR;
}
