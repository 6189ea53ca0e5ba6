/* Tensor arithmetic on cuDNN: Add, Sub and Mul with numpy broadcasting of one operand
 * (cudnnOpTensor), Sum of equally shaped tensors (gradient accumulation), and
 * ipro.ReduceToShape (cudnnReduceTensor), the sum of a gradient over the axes its forward operand
 * was broadcast along; ReduceMean (the same reduction, scaled by the count averaged), and the
 * broadcasts of Expand and ReduceMean's gradient (cudnnAddTensor with β = 0: A broadcast into C,
 * which cuDNN does not read then).
 *
 * cudnnOpTensor computes C = op(α1·A, α2·B) with A shaped as C and every dimension of B equal to
 * C's or 1. When the first operand is the broadcast one, Add and Mul swap their operands and Sub
 * becomes (−1)·B + A; two operands that both broadcast are declined. Div has no cuDNN op: it runs
 * as a generated kernel (cuda_generated.c). */
#include "cuda_internal.h"
#include "runtime/reference/reference_ops.h"

/* shape right-aligned against rank `rank` (leading 1s). */
static void aligned(const ipro_shape *shape, int rank, int64_t *dims) {
  for (int d = 0; d < rank; d++) {
    int from = d - (rank - shape->rank);
    dims[d] = from >= 0 ? shape->dims[from] : 1;
  }
}

static bool broadcasts(const int64_t *dims, const ipro_shape *to) {
  for (int d = 0; d < to->rank; d++)
    if (dims[d] != 1 && dims[d] != to->dims[d]) return false;
  return true;
}

static bool equal(const int64_t *dims, const ipro_shape *to) {
  for (int d = 0; d < to->rank; d++)
    if (dims[d] != to->dims[d]) return false;
  return true;
}

/* tensors: [0] A (full), [1] B (broadcast), [2] C; sizes[0]: whether the operands were swapped;
 * values: α1, α2. */
static ipro_status run_binary(const ipro_cuda_kernel *kernel, void *const *inputs,
                              void *const *outputs, char *workspace, uint64_t step,
                              ipro_error *err) {
  (void)workspace;
  (void)step;
  const float zero = 0.0f;
  void *a = kernel->sizes[0] ? inputs[1] : inputs[0], *b = kernel->sizes[0] ? inputs[0] : inputs[1];
  IPRO_CUDNN_CHECK(cudnnOpTensor(kernel->backend->cudnn, kernel->op_tensor, &kernel->values[0],
                                 kernel->tensors[0], a, &kernel->values[1], kernel->tensors[1], b,
                                 &zero, kernel->tensors[2], outputs[0]));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_binary) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *x0 = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *x1 = ipro_cuda_input_shape(graph, node, 1);
  const ipro_shape *y = ipro_cuda_output_shape(graph, node, 0);
  if (!x0 || !x1 || x0->rank > y->rank || x1->rank > y->rank)
    return ipro_cuda_unsupported(err, "operands of rank beyond the output's");
  if (y->rank > IPRO_CUDA_ARITHMETIC_MAX_RANK)
    return ipro_cuda_unsupported(err, "rank %d (cudnnOpTensor takes at most %d dimensions)",
                                 y->rank, IPRO_CUDA_ARITHMETIC_MAX_RANK);
  int rank = y->rank > 0 ? y->rank : 1;
  int64_t d0[8], d1[8], dy[8];
  ipro_shape y_shape = *y;
  if (y->rank == 0) y_shape.rank = 1, y_shape.dims[0] = 1;
  aligned(x0, rank, d0);
  aligned(x1, rank, d1);
  aligned(&y_shape, rank, dy);
  bool swap = false;
  if (!equal(d0, &y_shape)) {
    if (!equal(d1, &y_shape))
      return ipro_cuda_unsupported(err, "both operands broadcast (cuDNN broadcasts one)");
    swap = true;
  }
  if (!broadcasts(swap ? d0 : d1, &y_shape))
    return ipro_error_set(err, "operands do not broadcast to the output");
  cudnnOpTensorOp_t op = node->op == IPRO_OP_MUL ? CUDNN_OP_TENSOR_MUL : CUDNN_OP_TENSOR_ADD;
  kernel->values[0] = 1.0f;
  kernel->values[1] = node->op == IPRO_OP_SUB ? -1.0f : 1.0f;
  if (swap && node->op == IPRO_OP_SUB) kernel->values[0] = -1.0f, kernel->values[1] = 1.0f;
  kernel->sizes[0] = swap;
  if (ipro_cuda_tensor(kernel, swap ? d1 : d0, rank, err) < 0 ||
      ipro_cuda_tensor(kernel, swap ? d0 : d1, rank, err) < 0 ||
      ipro_cuda_tensor(kernel, dy, rank, err) < 0)
    return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnCreateOpTensorDescriptor(&kernel->op_tensor));
  IPRO_CUDNN_CHECK(
      cudnnSetOpTensorDescriptor(kernel->op_tensor, op, CUDNN_DATA_FLOAT, CUDNN_PROPAGATE_NAN));
  kernel->run = run_binary;
  return IPRO_OK;
}

/* sizes[0]: inputs; sizes[1]: bytes. */
static ipro_status run_sum(const ipro_cuda_kernel *kernel, void *const *inputs,
                           void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)workspace;
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  int n = (int)kernel->sizes[0];
  if (n == 1) return ipro_cuda_copy(kernel, outputs[0], inputs[0], (size_t)kernel->sizes[1], err);
  IPRO_CUDNN_CHECK(cudnnOpTensor(kernel->backend->cudnn, kernel->op_tensor, &one,
                                 kernel->tensors[0], inputs[0], &one, kernel->tensors[0], inputs[1],
                                 &zero, kernel->tensors[0], outputs[0]));
  for (int i = 2; i < n; i++)
    IPRO_CUDNN_CHECK(cudnnAddTensor(kernel->backend->cudnn, &one, kernel->tensors[0], inputs[i],
                                    &one, kernel->tensors[0], outputs[0]));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_sum) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *y = ipro_cuda_output_shape(graph, node, 0);
  if (node->n_inputs < 1) return ipro_error_set(err, "Sum of nothing");
  for (int i = 0; i < node->n_inputs; i++) {
    const ipro_shape *x = ipro_cuda_input_shape(graph, node, i);
    if (!x || !ipro_shape_equal(x, y)) return ipro_cuda_unsupported(err, "Sum with broadcasting");
  }
  int64_t flat[1] = {ipro_cuda_elements(y)};
  if (ipro_cuda_tensor(kernel, flat, 1, err) < 0) return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnCreateOpTensorDescriptor(&kernel->op_tensor));
  IPRO_CUDNN_CHECK(cudnnSetOpTensorDescriptor(kernel->op_tensor, CUDNN_OP_TENSOR_ADD,
                                              CUDNN_DATA_FLOAT, CUDNN_PROPAGATE_NAN));
  kernel->sizes[0] = node->n_inputs;
  kernel->sizes[1] = flat[0] * (int64_t)sizeof(float);
  kernel->run = run_sum;
  return IPRO_OK;
}

/* tensors: [0] T, [1] R (aligned to T's rank); values[0]: scale; sizes[0]: reduce (else a
 * scaled copy). */
static ipro_status run_reduce_to_shape(const ipro_cuda_kernel *kernel, void *const *inputs,
                                       void *const *outputs, char *workspace, uint64_t step,
                                       ipro_error *err) {
  (void)step;
  const float zero = 0.0f;
  if (!kernel->sizes[0]) {
    IPRO_CUDNN_CHECK(cudnnTransformTensor(kernel->backend->cudnn, &kernel->values[0],
                                          kernel->tensors[0], inputs[0], &zero, kernel->tensors[1],
                                          outputs[0]));
    return IPRO_OK;
  }
  IPRO_CUDNN_CHECK(cudnnReduceTensor(
      kernel->backend->cudnn, kernel->reduce[0], NULL, 0,
      kernel->library_bytes ? workspace + kernel->library_offset : NULL, kernel->library_bytes,
      &kernel->values[0], kernel->tensors[0], inputs[0], &zero, kernel->tensors[1], outputs[0]));
  return IPRO_OK;
}

/* A float reduction descriptor in kernel->reduce[slot] (made on the first call for the slot) and
 * the workspace bound from tensors a to c, kept as library_bytes when larger: the bytes of the
 * reduced tensor, which cuDNN's size query (asked where a device exists) must fit, so that a
 * program planned without a GPU reserves what it will run with. */
ipro_status ipro_cuda_prepare_reduction(ipro_cuda_kernel *kernel, int slot,
                                        cudnnReduceTensorOp_t op, int a, int c, ipro_error *err) {
  if (!kernel->reduce[slot]) {
    IPRO_CUDNN_CHECK(cudnnCreateReduceTensorDescriptor(&kernel->reduce[slot]));
    IPRO_CUDNN_CHECK(cudnnSetReduceTensorDescriptor(
        kernel->reduce[slot], op, CUDNN_DATA_FLOAT, CUDNN_PROPAGATE_NAN,
        CUDNN_REDUCE_TENSOR_NO_INDICES, CUDNN_32BIT_INDICES));
  }
  size_t bound = 0;
  IPRO_CUDNN_CHECK(cudnnGetTensorSizeInBytes(kernel->tensors[a], &bound));
  if (!kernel->backend->planning_only) {
    size_t bytes = 0;
    IPRO_CUDNN_CHECK(cudnnGetReductionWorkspaceSize(kernel->backend->cudnn, kernel->reduce[slot],
                                                    kernel->tensors[a], kernel->tensors[c],
                                                    &bytes));
    if (bytes > bound)
      return ipro_cuda_unsupported(err,
                                   "cuDNN's reduction wants a %zu-byte workspace, beyond the "
                                   "%zu-byte bound the program was planned with",
                                   bytes, bound);
  }
  if (bound > kernel->library_bytes) kernel->library_bytes = bound;
  return IPRO_OK;
}

/* T (t_dims) reduced to R (r_dims, T's rank, 1 along the reduced axes) and scaled, or copied
 * scaled where no axis is reduced: the kernel of ipro.ReduceToShape and ReduceMean. */
static ipro_status build_reduction(ipro_cuda_kernel *kernel, const int64_t *t_dims,
                                   const int64_t *r_dims, int rank, float scale, ipro_error *err) {
  bool reduce = false;
  for (int d = 0; d < rank; d++) {
    if (r_dims[d] != 1 && r_dims[d] != t_dims[d])
      return ipro_error_set(err, "R's shape does not broadcast to T's");
    reduce = reduce || r_dims[d] != t_dims[d];
  }
  kernel->values[0] = scale;
  kernel->sizes[0] = reduce;
  if (ipro_cuda_tensor(kernel, t_dims, rank, err) < 0 ||
      ipro_cuda_tensor(kernel, r_dims, rank, err) < 0)
    return IPRO_ERROR;
  if (reduce) {
    if (ipro_cuda_prepare_reduction(kernel, 0, CUDNN_REDUCE_TENSOR_ADD, 0, 1, err))
      return IPRO_ERROR;
    if (kernel->library_bytes)
      kernel->library_offset = ipro_cuda_reserve(kernel, kernel->library_bytes);
  }
  kernel->run = run_reduce_to_shape;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_reduce_to_shape) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *t = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *r = ipro_cuda_output_shape(graph, node, 0);
  if (t->rank > 8 || r->rank > t->rank)
    return ipro_cuda_unsupported(err, "ranks %d to %d", t->rank, r->rank);
  int rank = t->rank > 0 ? t->rank : 1;
  int64_t t_dims[8] = {1}, r_dims[8];
  for (int d = 0; d < t->rank; d++)
    t_dims[d] = t->dims[d];
  aligned(r, rank, r_dims);
  return build_reduction(kernel, t_dims, r_dims, rank, ipro_node_attr_float(node, "scale", 1.0f),
                         err);
}

/* X's dims (at least one) and the dims a ReduceMean of node's axes keeps of them: the reference
 * kernels' reduced shape (1 along each reduced axis, every axis without axes), or X's own with
 * noop_with_empty_axes and no axes. The number of axes, or -1 (err set) where an axis lies
 * outside X or X has more than 8. */
static int reduced_dims(const ipro_node *node, const ipro_shape *x, int64_t *x_dims, int64_t *kept,
                        ipro_error *err) {
  if (x->rank > 8) {
    ipro_cuda_unsupported(err, "rank %d (at most 8)", x->rank);
    return -1;
  }
  int count = 0;
  ipro_node_attr_ints(node, "axes", &count);
  ipro_shape kept_shape = *x;
  if ((count > 0 || !ipro_node_attr_int(node, "noop_with_empty_axes", 0)) &&
      ipro_reference_reduced_shape(node, x, &kept_shape, err) != IPRO_OK)
    return -1;
  int rank = x->rank > 0 ? x->rank : 1;
  x_dims[0] = kept[0] = 1;
  for (int d = 0; d < x->rank; d++)
    x_dims[d] = x->dims[d], kept[d] = kept_shape.dims[d];
  return rank;
}

static int64_t product(const int64_t *dims, int rank) {
  int64_t p = 1;
  for (int d = 0; d < rank; d++)
    p *= dims[d];
  return p;
}

IPRO_CUDA_BUILD(ipro_cuda_build_reduce_mean) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *y = ipro_cuda_output_shape(graph, node, 0);
  int64_t x_dims[8], kept[8];
  int rank = x ? reduced_dims(node, x, x_dims, kept, err) : -1;
  if (rank < 0) return IPRO_ERROR;
  if (product(kept, rank) != ipro_cuda_elements(y))
    return ipro_error_set(err, "Y holds %lld values; the reduction leaves %lld",
                          (long long)ipro_cuda_elements(y), (long long)product(kept, rank));
  int64_t kept_count = product(kept, rank);
  float scale = kept_count > 0 ? (float)((double)kept_count / (double)product(x_dims, rank)) : 1.0f;
  return build_reduction(kernel, x_dims, kept, rank, scale, err);
}

/* tensors: [0] A (aligned to C's rank), [1] C; values[0]: α. */
static ipro_status run_broadcast(const ipro_cuda_kernel *kernel, void *const *inputs,
                                 void *const *outputs, char *workspace, uint64_t step,
                                 ipro_error *err) {
  (void)workspace;
  (void)step;
  const float zero = 0.0f;
  IPRO_CUDNN_CHECK(cudnnAddTensor(kernel->backend->cudnn, &kernel->values[0], kernel->tensors[0],
                                  inputs[0], &zero, kernel->tensors[1], outputs[0]));
  return IPRO_OK;
}

/* Expand (input 0 broadcast to the output's shape) and ReduceMean's gradient (dY, of the shape
 * the reduction kept, spread over input_shape and divided by the count each value averaged). */
IPRO_CUDA_BUILD(ipro_cuda_build_broadcast) {
  /* Expand's second input is the int64 shape, which the output's shape already says */
  if (ipro_cuda_expect_float(graph, node, node->op == IPRO_OP_EXPAND ? 1u << 1 : 0, err))
    return IPRO_ERROR;
  const ipro_shape *a = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *c = ipro_cuda_output_shape(graph, node, 0);
  if (!a || c->rank > IPRO_CUDA_ARITHMETIC_MAX_RANK || a->rank > c->rank)
    return ipro_cuda_unsupported(err, "rank %d to %d (cudnnAddTensor takes at most %d dimensions)",
                                 a ? a->rank : -1, c->rank, IPRO_CUDA_ARITHMETIC_MAX_RANK);
  int64_t a_dims[8], c_dims[8];
  int rank = c->rank > 0 ? c->rank : 1;
  float alpha = 1.0f;
  if (node->op == IPRO_OP_REDUCE_MEAN_GRAD) {
    if (reduced_dims(node, c, c_dims, a_dims, err) < 0) return IPRO_ERROR;
    if (product(a_dims, rank) != ipro_cuda_elements(a))
      return ipro_error_set(err, "dY holds %lld values; the reduction leaves %lld",
                            (long long)ipro_cuda_elements(a), (long long)product(a_dims, rank));
    alpha = (float)((double)product(a_dims, rank) / (double)product(c_dims, rank));
  } else {
    ipro_shape c_shape = *c;
    if (c->rank == 0) c_shape.rank = 1, c_shape.dims[0] = 1;
    aligned(a, rank, a_dims);
    aligned(&c_shape, rank, c_dims);
    if (!broadcasts(a_dims, &c_shape))
      return ipro_error_set(err, "X does not broadcast to Y's shape");
  }
  kernel->values[0] = alpha;
  if (ipro_cuda_tensor(kernel, a_dims, rank, err) < 0 ||
      ipro_cuda_tensor(kernel, c_dims, rank, err) < 0)
    return IPRO_ERROR;
  kernel->run = run_broadcast;
  return IPRO_OK;
}
