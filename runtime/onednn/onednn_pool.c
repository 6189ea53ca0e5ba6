/* MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool, and their gradients, on oneDNN's
 * pooling_v2 (which has dilations), over 1 to 3 spatial dimensions in the plain layout.
 *
 * ceil_mode only changes the output extent, which shape inference already chose; oneDNN gets it as
 * a right padding adjusted so that its output-size formula gives the same extent (where the last
 * window stops short of the input's end, the padding would be negative: the forward then sees X
 * through a shorter submemory view, the gradients give oneDNN a right padding of 0, whose floor
 * division yields the same extent and windows, and which lets oneDNN write every element of dX).
 * That extra padding is never counted: MaxPool ignores padding, and AveragePool's exclude_padding
 * divides by the taps inside the input. With count_include_pad, ONNX counts the declared pads but
 * not the extra ceil_mode positions, which oneDNN cannot express, so such a node is declined.
 * MaxPool's optional Indices output is declined too (oneDNN's workspace is not ONNX's flat
 * indices).
 *
 * The gradients (ipro.MaxPoolGrad, ipro.AveragePoolGrad, ipro.GlobalPoolGrad) are oneDNN's
 * pooling backward, created against a forward-training pd of the same window. Max pooling's
 * backward needs the forward's workspace (which window position held the maximum); the forward
 * node is a separate step of the program and kept nothing, so the gradient kernel runs the
 * forward again on X into planned intermediates (Y and the workspace), then the backward. oneDNN
 * keeps a position only when it is strictly greater than the maximum so far, scanning the window
 * row-major: the first maximum, as the reference and internal_ops.md have it. */
#include "onednn_internal.h"

/* The window of a whole plane. */
ipro_status ipro_onednn_global_pool_geometry_of(bool maximum, const ipro_shape *x,
                                                const ipro_shape *y,
                                                ipro_onednn_pool_geometry *geometry,
                                                ipro_error *err) {
  for (int s = 0; s < x->rank - 2; s++) {
    if (y->dims[2 + s] != 1) return ipro_onednn_unsupported(err, "output extent is not 1");
    geometry->kernel[s] = x->dims[2 + s];
    geometry->strides[s] = 1;
    geometry->dilations[s] = geometry->pads_begin[s] = geometry->pads_end[s] = 0;
  }
  geometry->algorithm = maximum ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;
  return IPRO_OK;
}

ipro_status ipro_onednn_pool_geometry_of(const ipro_node *node, ipro_op op, const ipro_shape *x,
                                         const ipro_shape *y, ipro_onednn_pool_geometry *geometry,
                                         ipro_error *err) {
  int spatial = x->rank - 2, count = 0;
  const int64_t *kernel_shape = ipro_node_attr_ints(node, "kernel_shape", &count);
  if (!kernel_shape || count != spatial)
    return ipro_onednn_unsupported(err, "kernel_shape has %d values for %d spatial dimensions",
                                   count, spatial);
  ipro_onednn_pool_geometry *g = geometry;
  if (ipro_onednn_read_window(node, spatial, g->strides, g->dilations, g->pads_begin, g->pads_end,
                              err))
    return IPRO_ERROR;
  bool average = op == IPRO_OP_AVERAGE_POOL;
  bool include_pad = average && ipro_node_attr_int(node, "count_include_pad", 0) != 0;
  for (int s = 0; s < spatial; s++) {
    g->kernel[s] = kernel_shape[s];
    if (g->kernel[s] < 1)
      return ipro_onednn_unsupported(err, "kernel extent %lld", (long long)g->kernel[s]);
    int64_t extent = (g->kernel[s] - 1) * (g->dilations[s] + 1) + 1;
    /* The right padding with which oneDNN's floor formula yields the inferred extent. */
    int64_t end = (y->dims[2 + s] - 1) * g->strides[s] + extent - x->dims[2 + s] - g->pads_begin[s];
    if (include_pad && end > g->pads_end[s])
      return ipro_onednn_unsupported(err, "count_include_pad with ceil_mode windows past the pads");
    g->pads_end[s] = end;
  }
  g->algorithm = !average      ? dnnl_pooling_max
                 : include_pad ? dnnl_pooling_avg_include_padding
                               : dnnl_pooling_avg_exclude_padding;
  return IPRO_OK;
}

/* X and Y as they lie: a global average pool's X (the graph's tensor x) may be carried
 * channel-blocked (onednn_layouts.c); its Y, one value per channel, then has the same bytes in
 * the blocked layout as in the plain one, and is described in the blocked one too, which
 * oneDNN's pooling wants of a blocked source. */
static ipro_status pool_mds(const ipro_onednn_kernel *kernel, int x_tensor, const ipro_shape *x,
                            const ipro_shape *y, dnnl_memory_desc_t *x_md, dnnl_memory_desc_t *y_md,
                            ipro_error *err) {
  /* Y takes X's layout: x_tensor decides both */
  if (ipro_onednn_plain_md(x_md, x->rank, x->dims, err) ||
      ipro_onednn_plain_md(y_md, y->rank, y->dims, err) ||
      ipro_onednn_layout_md(kernel, x_tensor, x_md, x_md, err) ||
      ipro_onednn_layout_md(kernel, x_tensor, y_md, y_md, err))
    return IPRO_ERROR;
  return IPRO_OK;
}

/* Appends the pooling step for X (input 0, the graph's tensor x_tensor) → Y (output 0). */
static ipro_status pool_step(ipro_onednn_kernel *kernel, int x_tensor, const ipro_shape *x,
                             const ipro_shape *y, const ipro_onednn_pool_geometry *g,
                             ipro_error *err) {
  dnnl_memory_desc_t x_md, y_md;
  if (pool_mds(kernel, x_tensor, x, y, &x_md, &y_md, err)) return IPRO_ERROR;
  /* A negative right padding means the windows never reach the last positions: X is then seen
   * through a shorter view of itself (a submemory), and the padding becomes 0. */
  dnnl_dims_t view_dims, offsets = {0}, view_pads_end;
  bool view = false;
  for (int d = 0; d < x->rank; d++)
    view_dims[d] = x->dims[d];
  for (int s = 0; s < x->rank - 2; s++) {
    view_pads_end[s] = g->pads_end[s] < 0 ? 0 : g->pads_end[s];
    if (g->pads_end[s] < 0) view_dims[2 + s] += g->pads_end[s], view = true;
  }
  if (view) {
    dnnl_memory_desc_t whole = x_md;
    IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_submemory(&x_md, &whole, view_dims, offsets));
  }
  dnnl_pooling_v2_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, g->algorithm,
                                                      &x_md, &y_md, g->strides, g->kernel,
                                                      g->dilations, g->pads_begin, view_pads_end));
  return ipro_onednn_forward_step(kernel, &desc, err);
fail:
  return IPRO_ERROR;
}

/* x and y: the (N, C, spatial...) shapes of the pool's X and Y. */
static ipro_status check_pool_shapes(const ipro_shape *x, const ipro_shape *y, ipro_error *err) {
  if (x->rank < 3 || x->rank > 5 || y->rank != x->rank || y->dims[0] != x->dims[0] ||
      y->dims[1] != x->dims[1])
    return ipro_onednn_unsupported(err, "input of rank %d (3 to 5 supported)", x->rank);
  return IPRO_OK;
}

ipro_status ipro_onednn_build_pool(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                   const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err) || check_pool_shapes(&x, &y, err))
    return IPRO_ERROR;
  if (ipro_node_output(graph, node, 1))
    return ipro_onednn_unsupported(err, "MaxPool's Indices output");
  ipro_onednn_pool_geometry g;
  if (ipro_onednn_pool_geometry_of(node, node->op, &x, &y, &g, err)) return IPRO_ERROR;
  return pool_step(kernel, -1, &x, &y, &g, err);
}

/* The global pools: one window the size of the spatial extent. */
ipro_status ipro_onednn_build_global_pool(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  ipro_onednn_pool_geometry g;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err) || check_pool_shapes(&x, &y, err) ||
      ipro_onednn_global_pool_geometry_of(node->op == IPRO_OP_GLOBAL_MAX_POOL, &x, &y, &g, err))
    return IPRO_ERROR;
  return pool_step(kernel, node->inputs[0], &x, &y, &g, err);
}

/* ---- gradients ---- */

/* Appends the steps of dY (input 0), [X (input x_input) for the maximum] → dX (output 0, the
 * graph's tensor dx_tensor, which a global average pool's gradient may write channel-blocked:
 * pool_mds), for a pool from x to y (dX's and dY's shapes). */
static ipro_status pool_grad_steps(ipro_onednn_kernel *kernel, int dx_tensor, const ipro_shape *x,
                                   const ipro_shape *y, const ipro_onednn_pool_geometry *g,
                                   int x_input, ipro_error *err) {
  dnnl_memory_desc_t x_md, y_md;
  if (pool_mds(kernel, dx_tensor, x, y, &x_md, &y_md, err)) return IPRO_ERROR;
  dnnl_dims_t pads_end;
  for (int s = 0; s < x->rank - 2; s++)
    pads_end[s] = g->pads_end[s] < 0 ? 0 : g->pads_end[s];
  bool maximum = g->algorithm == dnnl_pooling_max;
  dnnl_primitive_desc_t forward = NULL;
  dnnl_pooling_v2_desc_t forward_desc, desc;
  IPRO_ONEDNN_CHECK(dnnl_pooling_v2_forward_desc_init(
      &forward_desc, dnnl_forward_training, g->algorithm, &x_md, &y_md, g->strides, g->kernel,
      g->dilations, g->pads_begin, pads_end));
  size_t y_offset = 0, workspace_offset = 0;
  if (maximum) {
    /* The forward again, for its workspace; Y goes to an intermediate nobody reads. */
    if (ipro_onednn_create_pd(kernel, &forward_desc, NULL, &forward, err)) goto fail;
    const dnnl_memory_desc_t *workspace =
        dnnl_primitive_desc_query_md(forward, dnnl_query_workspace_md, 0);
    if (!workspace || workspace->ndims == 0) {
      ipro_error_set(err, "oneDNN's max pooling has no workspace");
      goto fail;
    }
    y_offset = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&y_md));
    workspace_offset = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(workspace));
    if (ipro_onednn_bind(kernel, forward, DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, (size_t)x_input, err) ||
        ipro_onednn_bind(kernel, forward, DNNL_ARG_DST, IPRO_ONEDNN_INTERMEDIATE, y_offset, err) ||
        ipro_onednn_bind(kernel, forward, DNNL_ARG_WORKSPACE, IPRO_ONEDNN_INTERMEDIATE,
                         workspace_offset, err))
      goto fail;
  } else if (ipro_onednn_describe(kernel, &forward_desc, NULL, NULL, &forward, err)) {
    goto fail;
  }
  IPRO_ONEDNN_CHECK(dnnl_pooling_v2_backward_desc_init(&desc, g->algorithm, &x_md, &y_md,
                                                       g->strides, g->kernel, g->dilations,
                                                       g->pads_begin, pads_end));
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_DIFF_DST, IPRO_ONEDNN_INPUT, 0},
      {DNNL_ARG_DIFF_SRC, IPRO_ONEDNN_OUTPUT, 0},
      {DNNL_ARG_WORKSPACE, IPRO_ONEDNN_INTERMEDIATE, workspace_offset},
  };
  if (ipro_onednn_primitive_step(kernel, &desc, NULL, forward, arguments, maximum ? 3 : 2, err))
    goto fail;
  dnnl_primitive_desc_destroy(forward);
  return IPRO_OK;
fail:
  if (forward) dnnl_primitive_desc_destroy(forward);
  return IPRO_ERROR;
}

/* dY, X → dX. */
ipro_status ipro_onednn_build_max_pool_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                            const ipro_node *node, ipro_error *err) {
  ipro_shape dy, x, dx;
  ipro_onednn_pool_geometry g;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) || check_pool_shapes(&dx, &dy, err) ||
      ipro_onednn_pool_geometry_of(node, IPRO_OP_MAX_POOL, &dx, &dy, &g, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &dx)) return ipro_onednn_unsupported(err, "X and dX differ in shape");
  return pool_grad_steps(kernel, -1, &dx, &dy, &g, 1, err);
}

/* dY → dX. */
ipro_status ipro_onednn_build_average_pool_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                                const ipro_node *node, ipro_error *err) {
  ipro_shape dy, dx;
  ipro_onednn_pool_geometry g;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) ||
      ipro_onednn_check_shape_attribute(node, "input_shape", &dx, err) ||
      check_pool_shapes(&dx, &dy, err) ||
      ipro_onednn_pool_geometry_of(node, IPRO_OP_AVERAGE_POOL, &dx, &dy, &g, err))
    return IPRO_ERROR;
  return pool_grad_steps(kernel, -1, &dx, &dy, &g, -1, err);
}

/* dY (N, C, 1...), [X] → dX; forward_op says which global pool. */
ipro_status ipro_onednn_build_global_pool_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                               const ipro_node *node, ipro_error *err) {
  ipro_shape dy, dx, x;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) ||
      ipro_onednn_check_shape_attribute(node, "input_shape", &dx, err) ||
      check_pool_shapes(&dx, &dy, err))
    return IPRO_ERROR;
  int64_t forward = ipro_node_attr_int(node, "forward_op", -1);
  bool maximum = forward == IPRO_OP_GLOBAL_MAX_POOL;
  if (!maximum && forward != IPRO_OP_GLOBAL_AVERAGE_POOL)
    return ipro_onednn_unsupported(err, "forward_op %lld is not a global pool", (long long)forward);
  if (maximum && (ipro_onednn_input_shape(graph, node, 1, &x, err) || !ipro_shape_equal(&x, &dx)))
    return ipro_onednn_unsupported(err, "the maximum's gradient needs X of dX's shape");
  ipro_onednn_pool_geometry g;
  if (ipro_onednn_global_pool_geometry_of(maximum, &dx, &dy, &g, err)) return IPRO_ERROR;
  return pool_grad_steps(kernel, node->outputs[0], &dx, &dy, &g, 1, err);
}

/* ---- ReduceMean over the spatial axes ----
 * A mean over every axis after the channels is a global average pool:
 * how torch.export writes a squeeze-and-excitation's mean and an adaptive average pool to 1×1
 * (EfficientNet on the reference kernels spent 44% of its step there). X and Y stay plain. */

/* Whether node (ReduceMean, or its gradient, with the normalised attributes: non-negative axes)
 * reduces exactly axes 2 .. rank-1 of a rank-3 to rank-5 tensor. Without keepdims its [N, C] has
 * the bytes of the pool's [N, C, 1, ...] (both plain): pooled_shape gives the pool's shape. */
static bool is_spatial_mean(const ipro_node *node, int rank) {
  int count = 0;
  const int64_t *axes = ipro_node_attr_ints(node, "axes", &count);
  if (rank < 3 || rank > 5 || !axes || count != rank - 2) return false;
  bool seen[IPRO_MAX_RANK] = {false};
  for (int i = 0; i < count; i++) {
    if (axes[i] < 2 || axes[i] >= rank || seen[axes[i]]) return false;
    seen[axes[i]] = true;
  }
  return true;
}

/* The pool's output shape for input x: [N, C, 1, ...]. */
static ipro_shape pooled_shape(const ipro_shape *x) {
  ipro_shape y = *x;
  for (int d = 2; d < y.rank; d++)
    y.dims[d] = 1;
  return y;
}

ipro_status ipro_onednn_build_reduce_mean(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  ipro_onednn_pool_geometry g;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (!is_spatial_mean(node, x.rank) || ipro_shape_elements(&y) != x.dims[0] * x.dims[1])
    return ipro_onednn_build_reduce_axes(kernel, graph, node, err); /* (cpu_reduce.c) */
  y = pooled_shape(&x);
  if (check_pool_shapes(&x, &y, err) || ipro_onednn_global_pool_geometry_of(false, &x, &y, &g, err))
    return IPRO_ERROR;
  return pool_step(kernel, -1, &x, &y, &g, err);
}

/* dY (N, C, 1...) → dX, each element dY / (the spatial extent). */
ipro_status ipro_onednn_build_reduce_mean_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                               const ipro_node *node, ipro_error *err) {
  ipro_shape dy, dx;
  ipro_onednn_pool_geometry g;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) ||
      ipro_onednn_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  if (!is_spatial_mean(node, dx.rank) || ipro_shape_elements(&dy) != dx.dims[0] * dx.dims[1])
    return ipro_onednn_build_reduce_mean_grad_loop(kernel, graph, node, err); /* (cpu_reduce.c) */
  dy = pooled_shape(&dx);
  if (check_pool_shapes(&dx, &dy, err) ||
      ipro_onednn_global_pool_geometry_of(false, &dx, &dy, &g, err))
    return IPRO_ERROR;
  return pool_grad_steps(kernel, -1, &dx, &dy, &g, -1, err);
}
