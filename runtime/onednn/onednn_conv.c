/* Conv on oneDNN: one convolution primitive over 1 to 3 spatial dimensions, with groups
 * (depthwise included), strides, dilations, asymmetric pads (padding_l / padding_r) and the
 * optional bias.
 *
 * Source, weights and destination stay in the plain layouts the interface uses. ONNX's weights
 * (M, C/group, k...) are, byte for byte, oneDNN's grouped weights (group, M/group, C/group, k...),
 * so groups need only a different descriptor. Weights change between runs while training, so they
 * are read in place every run rather than reordered once into a blocked layout. */
#include "onednn_internal.h"

ipro_status ipro_onednn_build_conv(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                   const ipro_node *node, ipro_error *err) {
  ipro_shape x, w, y, b;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_input_shape(graph, node, 1, &w, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  bool has_bias = ipro_node_input(graph, node, 2) != NULL;
  if (has_bias && ipro_onednn_input_shape(graph, node, 2, &b, err)) return IPRO_ERROR;
  int spatial = x.rank - 2;
  if (w.rank != x.rank || y.rank != x.rank || spatial < 1)
    return ipro_onednn_unsupported(err, "X, W and Y ranks differ (%d, %d, %d)", x.rank, w.rank,
                                   y.rank);
  int64_t group = ipro_node_attr_int(node, "group", 1);
  int64_t channels = x.dims[1], features = y.dims[1];
  if (group < 1 || channels % group != 0 || features % group != 0 || w.dims[0] != features ||
      w.dims[1] != channels / group || (has_bias && (b.rank != 1 || b.dims[0] != features)))
    return ipro_onednn_unsupported(err, "weights, bias and group do not match the channels");

  dnnl_dims_t strides, dilations, pads_begin, pads_end;
  if (ipro_onednn_read_window(node, spatial, strides, dilations, pads_begin, pads_end, err))
    return IPRO_ERROR;
  int count = 0;
  const int64_t *kernel_shape = ipro_node_attr_ints(node, "kernel_shape", &count);
  for (int s = 0; kernel_shape && s < spatial && count == spatial; s++)
    if (kernel_shape[s] != w.dims[2 + s])
      return ipro_onednn_unsupported(err, "kernel_shape disagrees with the weights");

  dnnl_memory_desc_t x_md, w_md, b_md, y_md;
  int64_t grouped[IPRO_MAX_RANK + 1] = {group, features / group, channels / group};
  for (int s = 0; s < spatial; s++)
    grouped[3 + s] = w.dims[2 + s];
  if (ipro_onednn_plain_md(&x_md, x.rank, x.dims, err) ||
      ipro_onednn_plain_md(&y_md, y.rank, y.dims, err) ||
      (group == 1 ? ipro_onednn_plain_md(&w_md, w.rank, w.dims, err)
                  : ipro_onednn_plain_md(&w_md, w.rank + 1, grouped, err)) ||
      (has_bias && ipro_onednn_plain_md(&b_md, 1, b.dims, err)))
    return IPRO_ERROR;

  dnnl_primitive_desc_t pd = NULL;
  dnnl_convolution_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_dilated_convolution_forward_desc_init(
      &desc, dnnl_forward_inference, dnnl_convolution_direct, &x_md, &w_md, has_bias ? &b_md : NULL,
      &y_md, strides, dilations, pads_begin, pads_end));
  if (ipro_onednn_create_pd(kernel, &desc, NULL, &pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_WEIGHTS, IPRO_ONEDNN_INPUT, 1, err) ||
      (has_bias && ipro_onednn_bind(kernel, pd, DNNL_ARG_BIAS, IPRO_ONEDNN_INPUT, 2, err)) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0, err))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return IPRO_ERROR;
}
