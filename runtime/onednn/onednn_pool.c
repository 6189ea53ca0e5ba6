/* MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool on oneDNN's pooling_v2 (which has
 * dilations), over 1 to 3 spatial dimensions in the plain layout.
 *
 * ceil_mode only changes the output extent, which shape inference already chose; oneDNN gets it as
 * a right padding adjusted so that its output-size formula gives the same extent (where the last
 * window stops short of the input's end, the padding would be negative: oneDNN then sees X
 * through a shorter submemory view instead). That extra
 * padding is never counted: MaxPool ignores padding, and AveragePool's exclude_padding divides by
 * the taps inside the input. With count_include_pad, ONNX counts the declared pads but not the
 * extra ceil_mode positions, which oneDNN cannot express, so such a node is declined. MaxPool's
 * optional Indices output is declined too (oneDNN's workspace is not ONNX's flat indices). */
#include "onednn_internal.h"

/* Appends the pooling step for X (input 0) → Y (output 0). */
static ipro_status pool_step(ipro_onednn_kernel *kernel, const ipro_shape *x, const ipro_shape *y,
                             dnnl_alg_kind_t algorithm, const dnnl_dims_t kernel_dims,
                             const dnnl_dims_t strides, const dnnl_dims_t dilations,
                             const dnnl_dims_t pads_begin, const dnnl_dims_t pads_end,
                             ipro_error *err) {
  dnnl_memory_desc_t x_md, y_md;
  if (ipro_onednn_plain_md(&x_md, x->rank, x->dims, err) ||
      ipro_onednn_plain_md(&y_md, y->rank, y->dims, err))
    return IPRO_ERROR;
  dnnl_primitive_desc_t pd = NULL;
  /* A negative right padding means the windows never reach the last positions: X is then seen
   * through a shorter view of itself (a submemory), and the padding becomes 0. */
  dnnl_dims_t view_dims, offsets = {0}, view_pads_end;
  bool view = false;
  for (int d = 0; d < x->rank; d++)
    view_dims[d] = x->dims[d];
  for (int s = 0; s < x->rank - 2; s++) {
    view_pads_end[s] = pads_end[s] < 0 ? 0 : pads_end[s];
    if (pads_end[s] < 0) view_dims[2 + s] += pads_end[s], view = true;
  }
  if (view) {
    dnnl_memory_desc_t whole = x_md;
    IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_submemory(&x_md, &whole, view_dims, offsets));
  }
  dnnl_pooling_v2_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, algorithm,
                                                      &x_md, &y_md, strides, kernel_dims, dilations,
                                                      pads_begin, view_pads_end));
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

static ipro_status pool_shapes(const ipro_graph *graph, const ipro_node *node, ipro_shape *x,
                               ipro_shape *y, ipro_error *err) {
  if (ipro_onednn_input_shape(graph, node, 0, x, err) ||
      ipro_onednn_output_shape(graph, node, 0, y, err))
    return IPRO_ERROR;
  if (x->rank < 3 || x->rank > 5 || y->rank != x->rank || y->dims[0] != x->dims[0] ||
      y->dims[1] != x->dims[1])
    return ipro_onednn_unsupported(err, "input of rank %d (3 to 5 supported)", x->rank);
  return IPRO_OK;
}

ipro_status ipro_onednn_build_pool(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                   const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (pool_shapes(graph, node, &x, &y, err)) return IPRO_ERROR;
  if (ipro_node_output(graph, node, 1))
    return ipro_onednn_unsupported(err, "MaxPool's Indices output");
  int spatial = x.rank - 2, count = 0;
  const int64_t *kernel_shape = ipro_node_attr_ints(node, "kernel_shape", &count);
  if (!kernel_shape || count != spatial)
    return ipro_onednn_unsupported(err, "kernel_shape has %d values for %d spatial dimensions",
                                   count, spatial);
  dnnl_dims_t kernel_dims, strides, dilations, pads_begin, pads_end;
  if (ipro_onednn_read_window(node, spatial, strides, dilations, pads_begin, pads_end, err))
    return IPRO_ERROR;
  bool average = node->op == IPRO_OP_AVERAGE_POOL;
  bool include_pad = average && ipro_node_attr_int(node, "count_include_pad", 0) != 0;
  for (int s = 0; s < spatial; s++) {
    kernel_dims[s] = kernel_shape[s];
    if (kernel_dims[s] < 1)
      return ipro_onednn_unsupported(err, "kernel extent %lld", (long long)kernel_dims[s]);
    int64_t extent = (kernel_dims[s] - 1) * (dilations[s] + 1) + 1;
    /* The right padding with which oneDNN's floor formula yields the inferred extent. */
    int64_t end = (y.dims[2 + s] - 1) * strides[s] + extent - x.dims[2 + s] - pads_begin[s];
    if (include_pad && end > pads_end[s])
      return ipro_onednn_unsupported(err, "count_include_pad with ceil_mode windows past the pads");
    pads_end[s] = end;
  }
  dnnl_alg_kind_t algorithm = !average      ? dnnl_pooling_max
                              : include_pad ? dnnl_pooling_avg_include_padding
                                            : dnnl_pooling_avg_exclude_padding;
  return pool_step(kernel, &x, &y, algorithm, kernel_dims, strides, dilations, pads_begin, pads_end,
                   err);
}

/* The global pools: one window the size of the spatial extent. */
ipro_status ipro_onednn_build_global_pool(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (pool_shapes(graph, node, &x, &y, err)) return IPRO_ERROR;
  dnnl_dims_t kernel_dims, strides, dilations, pads_begin, pads_end;
  for (int s = 0; s < x.rank - 2; s++) {
    if (y.dims[2 + s] != 1) return ipro_onednn_unsupported(err, "output extent is not 1");
    kernel_dims[s] = x.dims[2 + s];
    strides[s] = 1;
    dilations[s] = pads_begin[s] = pads_end[s] = 0;
  }
  dnnl_alg_kind_t algorithm =
      node->op == IPRO_OP_GLOBAL_MAX_POOL ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;
  return pool_step(kernel, &x, &y, algorithm, kernel_dims, strides, dilations, pads_begin, pads_end,
                   err);
}
