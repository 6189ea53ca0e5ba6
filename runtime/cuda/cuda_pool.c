/* Pooling on cuDNN: MaxPool, AveragePool, their global forms, and the gradients
 * (ipro.MaxPoolGrad, ipro.AveragePoolGrad, ipro.GlobalPoolGrad).
 *
 * cuDNN pads symmetrically, rounds output sizes down and has no dilation, so a node is declined
 * when its pads differ between the two sides, when it has dilations other than 1, or when the
 * output size cuDNN derives is not the inferred one (ceil_mode windows). Padded positions never
 * win a maximum; AveragePool divides by the window with or without padding (count_include_pad),
 * as cuDNN's two average modes do.
 *
 * cuDNN's pooling backward takes the forward output Y: the max-pool gradients recompute it into
 * the workspace from X (the training program keeps only X). The average-pool gradient does not
 * depend on X or Y values, so dX's buffer stands in for X and dY for Y. ties: a gradient goes to
 * one maximum of its window, as the reference's (the first) where values are distinct. */
#include "cuda_internal.h"
#include "ir/checked_size.h"

/* X (tensors[0], spatial rank 2 or 3; 1-D pools become (N, C, 1, L)), Y (tensors[1]) and the
 * pooling descriptor from the window attributes. */
static ipro_status describe_pool(ipro_cuda_kernel *kernel, const ipro_node *node,
                                 cudnnPoolingMode_t mode, const ipro_shape *x, const ipro_shape *y,
                                 const int64_t *window, ipro_error *err) {
  int spatial = x->rank - 2;
  if (spatial < 1 || spatial > 3 || y->rank != x->rank || y->dims[1] != x->dims[1] ||
      y->dims[0] != x->dims[0])
    return ipro_cuda_unsupported(err, "pooling of X rank %d into Y rank %d", x->rank, y->rank);
  int count = 0, pad_count = 0;
  const int64_t *strides = ipro_node_attr_ints(node, "strides", &count);
  if (strides && count != spatial) return ipro_cuda_unsupported(err, "strides of wrong length");
  const int64_t *dilations = ipro_node_attr_ints(node, "dilations", &count);
  const int64_t *pads = ipro_node_attr_ints(node, "pads", &pad_count);
  if (pads && pad_count != 2 * spatial) return ipro_cuda_unsupported(err, "pads of wrong length");
  int64_t x_dims[IPRO_MAX_RANK], y_dims[IPRO_MAX_RANK];
  int extent[3], pad[3], stride[3];
  for (int d = 0; d < x->rank; d++)
    x_dims[d] = x->dims[d], y_dims[d] = y->dims[d];
  for (int s = 0; s < spatial; s++) {
    if (dilations && dilations[s] != 1)
      return ipro_cuda_unsupported(err, "dilated pooling (cuDNN has none)");
    if (pads && pads[s] != pads[spatial + s])
      return ipro_cuda_unsupported(err, "asymmetric pads (cuDNN pads both sides alike)");
    if (!ipro_checked_int(window[s], &extent[s]) ||
        !ipro_checked_int(pads ? pads[s] : 0, &pad[s]) ||
        !ipro_checked_int(strides ? strides[s] : 1, &stride[s]))
      return ipro_cuda_unsupported(err, "a window, pad or stride beyond cuDNN's int");
  }
  int rank = x->rank;
  if (spatial == 1) {
    x_dims[3] = x_dims[2], x_dims[2] = 1, y_dims[3] = y_dims[2], y_dims[2] = 1;
    extent[1] = extent[0], extent[0] = 1, pad[1] = pad[0], pad[0] = 0;
    stride[1] = stride[0], stride[0] = 1;
    rank = 4, spatial = 2;
  }
  if (ipro_cuda_tensor(kernel, x_dims, rank, err) < 0 ||
      ipro_cuda_tensor(kernel, y_dims, rank, err) < 0)
    return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&kernel->pooling));
  IPRO_CUDNN_CHECK(cudnnSetPoolingNdDescriptor(kernel->pooling, mode, CUDNN_PROPAGATE_NAN, spatial,
                                               extent, pad, stride));
  int derived[8];
  IPRO_CUDNN_CHECK(
      cudnnGetPoolingNdForwardOutputDim(kernel->pooling, kernel->tensors[0], rank, derived));
  for (int d = 0; d < rank; d++)
    if (derived[d] != (int)y_dims[d])
      return ipro_cuda_unsupported(err,
                                   "cuDNN derives output dimension %d = %d, not %lld (ceil "
                                   "mode?)",
                                   d, derived[d], (long long)y_dims[d]);
  kernel->sizes[0] = ipro_cuda_elements(y);
  return IPRO_OK;
}

static cudnnPoolingMode_t mode_of(const ipro_node *node, ipro_op op) {
  if (op == IPRO_OP_MAX_POOL || op == IPRO_OP_GLOBAL_MAX_POOL)
    return CUDNN_POOLING_MAX_DETERMINISTIC;
  if (op == IPRO_OP_GLOBAL_AVERAGE_POOL) return CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
  return ipro_node_attr_int(node, "count_include_pad", 0) != 0
             ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
             : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
}

static ipro_status run_pool(const ipro_cuda_kernel *kernel, void *const *inputs,
                            void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)workspace;
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  IPRO_CUDNN_CHECK(cudnnPoolingForward(kernel->backend->cudnn, kernel->pooling, &one,
                                       kernel->tensors[0], inputs[0], &zero, kernel->tensors[1],
                                       outputs[0]));
  return IPRO_OK;
}

static ipro_status window_of(const ipro_node *node, int spatial, int64_t *window, ipro_error *err) {
  int count = 0;
  const int64_t *kernel_shape = ipro_node_attr_ints(node, "kernel_shape", &count);
  if (!kernel_shape || count != spatial)
    return ipro_cuda_unsupported(err, "kernel_shape has %d values for %d spatial dimensions", count,
                                 spatial);
  for (int s = 0; s < spatial; s++)
    window[s] = kernel_shape[s];
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_pool) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  if (node->n_outputs > 1 && node->outputs[1] >= 0)
    return ipro_cuda_unsupported(err, "MaxPool's Indices output");
  if (ipro_node_attr_int(node, "ceil_mode", 0) != 0)
    return ipro_cuda_unsupported(err, "ceil_mode (cuDNN rounds output sizes down)");
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 0);
  int64_t window[3];
  if (window_of(node, x->rank - 2, window, err) ||
      describe_pool(kernel, node, mode_of(node, node->op), x,
                    ipro_cuda_output_shape(graph, node, 0), window, err))
    return IPRO_ERROR;
  kernel->run = run_pool;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_global_pool) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 0);
  int64_t window[3] = {1, 1, 1};
  for (int s = 0; s + 2 < x->rank && s < 3; s++)
    window[s] = x->dims[2 + s];
  if (describe_pool(kernel, node, mode_of(node, node->op), x,
                    ipro_cuda_output_shape(graph, node, 0), window, err))
    return IPRO_ERROR;
  kernel->run = run_pool;
  return IPRO_OK;
}

/* dY, [X] → dX. sizes[1]: whether Y is recomputed from X (max); offsets[0]: Y's place. */
static ipro_status run_pool_grad(const ipro_cuda_kernel *kernel, void *const *inputs,
                                 void *const *outputs, char *workspace, uint64_t step,
                                 ipro_error *err) {
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = kernel->backend->cudnn;
  const void *x = outputs[0], *y = inputs[0];
  if (kernel->sizes[1]) {
    x = inputs[1];
    y = workspace + kernel->offsets[0];
    IPRO_CUDNN_CHECK(cudnnPoolingForward(handle, kernel->pooling, &one, kernel->tensors[0], x,
                                         &zero, kernel->tensors[1], (void *)y));
  }
  IPRO_CUDNN_CHECK(cudnnPoolingBackward(handle, kernel->pooling, &one, kernel->tensors[1], y,
                                        kernel->tensors[1], inputs[0], kernel->tensors[0], x, &zero,
                                        kernel->tensors[0], outputs[0]));
  return IPRO_OK;
}

/* The int list attribute input_shape as a shape. */
static ipro_status input_shape_of(const ipro_node *node, ipro_shape *out, ipro_error *err) {
  int count = 0;
  const int64_t *values = ipro_node_attr_ints(node, "input_shape", &count);
  if (!values || count < 3 || count > IPRO_MAX_RANK)
    return ipro_error_set(err, "attribute input_shape missing or of wrong length");
  out->rank = count;
  for (int d = 0; d < count; d++)
    out->dims[d] = values[d];
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_pool_grad) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  if (ipro_node_attr_int(node, "ceil_mode", 0) != 0)
    return ipro_cuda_unsupported(err, "ceil_mode (cuDNN rounds output sizes down)");
  bool max = node->op == IPRO_OP_MAX_POOL_GRAD;
  const ipro_shape *dy = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *dx = ipro_cuda_output_shape(graph, node, 0);
  if (max && !ipro_cuda_input_shape(graph, node, 1))
    return ipro_cuda_unsupported(err, "MaxPoolGrad without X");
  int64_t window[3];
  if (window_of(node, dx->rank - 2, window, err) ||
      describe_pool(kernel, node, mode_of(node, max ? IPRO_OP_MAX_POOL : IPRO_OP_AVERAGE_POOL), dx,
                    dy, window, err))
    return IPRO_ERROR;
  kernel->sizes[1] = max;
  if (max) kernel->offsets[0] = ipro_cuda_reserve(kernel, (size_t)kernel->sizes[0] * sizeof(float));
  kernel->run = run_pool_grad;
  return IPRO_OK;
}

/* Global average: dX = dY / (spatial size), broadcast (cudnnAddTensor, C = αA + 0·C). */
static ipro_status run_global_average_grad(const ipro_cuda_kernel *kernel, void *const *inputs,
                                           void *const *outputs, char *workspace, uint64_t step,
                                           ipro_error *err) {
  (void)workspace;
  (void)step;
  const float zero = 0.0f;
  IPRO_CUDNN_CHECK(cudnnAddTensor(kernel->backend->cudnn, &kernel->values[0], kernel->tensors[1],
                                  inputs[0], &zero, kernel->tensors[0], outputs[0]));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_global_pool_grad) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  int64_t forward = ipro_node_attr_int(node, "forward_op", -1);
  if (forward != IPRO_OP_GLOBAL_AVERAGE_POOL && forward != IPRO_OP_GLOBAL_MAX_POOL)
    return ipro_cuda_unsupported(err, "forward_op %lld", (long long)forward);
  const ipro_shape *dy = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *dx = ipro_cuda_output_shape(graph, node, 0);
  ipro_shape declared;
  if (input_shape_of(node, &declared, err)) return IPRO_ERROR;
  if (!ipro_shape_equal(&declared, dx))
    return ipro_error_set(err, "input_shape disagrees with dX's shape");
  if (forward == IPRO_OP_GLOBAL_AVERAGE_POOL) {
    if (dx->rank > IPRO_CUDA_ARITHMETIC_MAX_RANK)
      return ipro_cuda_unsupported(err, "rank %d (cudnnAddTensor takes at most %d dimensions)",
                                   dx->rank, IPRO_CUDA_ARITHMETIC_MAX_RANK);
    if (ipro_cuda_tensor(kernel, dx->dims, dx->rank, err) < 0 ||
        ipro_cuda_tensor(kernel, dy->dims, dy->rank, err) < 0)
      return IPRO_ERROR;
    int64_t spatial = ipro_cuda_elements(dx) / (dx->dims[0] * dx->dims[1]);
    kernel->values[0] = (float)(1.0 / (double)spatial);
    kernel->run = run_global_average_grad;
    return IPRO_OK;
  }
  if (!ipro_cuda_input_shape(graph, node, 1))
    return ipro_cuda_unsupported(err, "the max gradient needs X");
  int64_t window[3] = {1, 1, 1};
  for (int s = 0; s + 2 < dx->rank && s < 3; s++)
    window[s] = dx->dims[2 + s];
  if (describe_pool(kernel, node, CUDNN_POOLING_MAX_DETERMINISTIC, dx, dy, window, err))
    return IPRO_ERROR;
  kernel->sizes[1] = 1;
  kernel->offsets[0] = ipro_cuda_reserve(kernel, (size_t)kernel->sizes[0] * sizeof(float));
  kernel->run = run_pool_grad;
  return IPRO_OK;
}
