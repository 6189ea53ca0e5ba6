/* Conv and its gradients on cuDNN: forward, backward-data (ipro.ConvGradInput: dY, W → dX) and
 * backward-filter (ipro.ConvGradWeight: dY, X → dW, [dB]) over 1 to 3 spatial dimensions, with
 * groups, strides and dilations. cuDNN pads symmetrically, so a node whose begin and end pads
 * differ is declined.
 *
 * Each node's workspace is a bound computed from its shapes alone, so that a program is planned
 * (costed, its arena laid out) on a machine without a GPU and runs with exactly that layout on
 * one: the bytes of the im2col matrix of the convolution (N · output pixels · C · kernel taps
 * floats, the same matrix in all three directions), at most IPRO_CUDA_CONV_WORKSPACE_LIMIT: room
 * for an explicit-GEMM lowering, while small convolutions do not reserve the limit's 256 MiB each;
 * the implicit-GEMM algorithms need little or no workspace. If no algorithm fits, the node is
 * declined at start-up with a message that says so. The algorithm is chosen where the
 * kernel is built on the GPU (the program's start-up): cuDNN's own heuristic choice
 * (cudnnGet*Algorithm_v7), the first FMA-math algorithm of its ranked list whose workspace,
 * confirmed by cuDNN's size query, fits the bound. The whole bound is reserved in the arena
 * whatever the choice needs, so the planned bytes are the bytes cudaMalloc'd. Convolutions
 * compute in float32 with FMA (CUDNN_FMA_MATH): no TF32 tensor cores, so the results stay within
 * the CPU's tolerance.
 *
 * ONNX weights (M, C/group, k...) are cuDNN's NCHW filter layout as they stand. */
#include "cuda_internal.h"
#include "ir/checked_size.h"

typedef enum { FORWARD, BACKWARD_DATA, BACKWARD_FILTER } direction;

/* The workspace bound of the file's opening comment: 4 · N · (output pixels) · C · (kernel
 * taps) bytes, at most IPRO_CUDA_CONV_WORKSPACE_LIMIT (saturating, so no product overflows). */
static size_t workspace_bound(const ipro_shape *x, const int64_t *w, const ipro_shape *y) {
  uint64_t bytes = sizeof(float), limit = IPRO_CUDA_CONV_WORKSPACE_LIMIT;
  int64_t factors[3 + 2 * 3] = {x->dims[0], x->dims[1]};
  int n = 2;
  for (int d = 2; d < x->rank; d++)
    factors[n++] = y->dims[d], factors[n++] = w[d];
  for (int f = 0; f < n && bytes <= limit; f++)
    bytes =
        factors[f] > 0 && (uint64_t)factors[f] <= limit ? bytes * (uint64_t)factors[f] : limit + 1;
  return bytes < limit ? (size_t)bytes : (size_t)limit;
}

/* Descriptors of X (tensors[0]), Y (tensors[1]), the filter and the convolution; the workspace
 * bound in library_bytes. */
static ipro_status describe(ipro_cuda_kernel *kernel, const ipro_node *node, const ipro_shape *x,
                            const int64_t *w, const ipro_shape *y, ipro_error *err) {
  int spatial = x->rank - 2;
  if (spatial < 1 || spatial > 3 || y->rank != x->rank)
    return ipro_cuda_unsupported(err, "convolution of rank %d", x->rank);
  int64_t group = ipro_node_attr_int(node, "group", 1);
  if (group < 1 || x->dims[1] % group || y->dims[1] % group || w[1] * group != x->dims[1] ||
      w[0] != y->dims[1])
    return ipro_cuda_unsupported(err, "weights and group do not match the channels");
  int count = 0, pad_count = 0;
  const int64_t *strides = ipro_node_attr_ints(node, "strides", &count);
  if (strides && count != spatial) return ipro_cuda_unsupported(err, "strides of wrong length");
  const int64_t *dilations = ipro_node_attr_ints(node, "dilations", &count);
  if (dilations && count != spatial) return ipro_cuda_unsupported(err, "dilations of wrong length");
  const int64_t *pads = ipro_node_attr_ints(node, "pads", &pad_count);
  if (pads && pad_count != 2 * spatial) return ipro_cuda_unsupported(err, "pads of wrong length");
  int pad[3], stride[3], dilation[3], filter[5];
  for (int s = 0; s < spatial; s++) {
    if (pads && pads[s] != pads[spatial + s])
      return ipro_cuda_unsupported(err, "asymmetric pads (cuDNN pads both sides alike)");
    if (!ipro_checked_int(pads ? pads[s] : 0, &pad[s]) ||
        !ipro_checked_int(strides ? strides[s] : 1, &stride[s]) ||
        !ipro_checked_int(dilations ? dilations[s] : 1, &dilation[s]))
      return ipro_cuda_unsupported(err, "a pad, stride or dilation beyond cuDNN's int");
  }
  for (int d = 0; d < x->rank; d++)
    if (!ipro_checked_int(w[d], &filter[d]))
      return ipro_cuda_unsupported(err, "a weight dimension beyond cuDNN's int");
  int64_t x_dims[IPRO_MAX_RANK], y_dims[IPRO_MAX_RANK];
  for (int d = 0; d < x->rank; d++)
    x_dims[d] = x->dims[d], y_dims[d] = y->dims[d];
  /* cuDNN's convolutions want at least 4 dimensions: 1-D becomes (N, C, 1, L). */
  int rank = x->rank;
  if (spatial == 1) {
    x_dims[3] = x_dims[2], x_dims[2] = 1, y_dims[3] = y_dims[2], y_dims[2] = 1;
    filter[3] = filter[2], filter[2] = 1;
    pad[1] = pad[0], pad[0] = 0, stride[1] = stride[0], stride[0] = 1;
    dilation[1] = dilation[0], dilation[0] = 1;
    rank = 4, spatial = 2;
  }
  if (ipro_cuda_tensor(kernel, x_dims, rank, err) < 0 ||
      ipro_cuda_tensor(kernel, y_dims, rank, err) < 0)
    return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnCreateFilterDescriptor(&kernel->filter));
  IPRO_CUDNN_CHECK(cudnnSetFilterNdDescriptor(kernel->filter, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                              rank, filter));
  IPRO_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&kernel->convolution));
  IPRO_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(kernel->convolution, spatial, pad, stride,
                                                   dilation, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT));
  IPRO_CUDNN_CHECK(cudnnSetConvolutionGroupCount(kernel->convolution, (int)group));
  IPRO_CUDNN_CHECK(cudnnSetConvolutionMathType(kernel->convolution, CUDNN_FMA_MATH));
  /* The output shape cuDNN derives must be the one the frontend inferred. */
  int derived[8];
  IPRO_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(kernel->convolution, kernel->tensors[0],
                                                         kernel->filter, rank, derived));
  for (int d = 0; d < rank; d++)
    if (derived[d] != (int)y_dims[d])
      return ipro_cuda_unsupported(err, "cuDNN derives output dimension %d = %d, not %lld", d,
                                   derived[d], (long long)y_dims[d]);
  kernel->library_bytes = workspace_bound(x, w, y);
  return IPRO_OK;
}

/* Room for every algorithm cuDNN ranks in one direction. */
#define RANKED_CAPACITY 16

/* One entry of cuDNN's ranked heuristic list, whatever the direction. */
typedef struct {
  cudnnStatus_t status;
  int algorithm;
  size_t memory;
  cudnnMathType_t math;
} ranked_algorithm;

/* The workspace the algorithm really needs, asked of cuDNN's own size query: the heuristics'
 * `memory` field is an estimate, and the planned workspace must be what the run then uses. */
static cudnnStatus_t confirmed_workspace(const ipro_cuda_kernel *kernel, direction which,
                                         int algorithm, size_t *bytes) {
  cudnnHandle_t handle = kernel->backend->cudnn;
  cudnnTensorDescriptor_t x = kernel->tensors[0], y = kernel->tensors[1];
  if (which == FORWARD)
    return cudnnGetConvolutionForwardWorkspaceSize(handle, x, kernel->filter, kernel->convolution,
                                                   y, (cudnnConvolutionFwdAlgo_t)algorithm, bytes);
  if (which == BACKWARD_DATA)
    return cudnnGetConvolutionBackwardDataWorkspaceSize(
        handle, kernel->filter, y, kernel->convolution, x, (cudnnConvolutionBwdDataAlgo_t)algorithm,
        bytes);
  return cudnnGetConvolutionBackwardFilterWorkspaceSize(
      handle, x, y, kernel->convolution, kernel->filter, (cudnnConvolutionBwdFilterAlgo_t)algorithm,
      bytes);
}

/* cuDNN's ranked list for the direction (the _v7 heuristics), copied into one entry type. */
static ipro_status ranked_list(const ipro_cuda_kernel *kernel, direction which,
                               ranked_algorithm *out, int capacity, int *returned,
                               ipro_error *err) {
  cudnnHandle_t handle = kernel->backend->cudnn;
  cudnnTensorDescriptor_t x = kernel->tensors[0], y = kernel->tensors[1];
  *returned = 0;
  if (which == FORWARD) {
    cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    IPRO_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
        handle, x, kernel->filter, kernel->convolution, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
        returned, results));
    for (int r = 0; r < *returned && r < capacity; r++)
      out[r] = (ranked_algorithm){results[r].status, (int)results[r].algo, results[r].memory,
                                  results[r].mathType};
  } else if (which == BACKWARD_DATA) {
    cudnnConvolutionBwdDataAlgoPerf_t results[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    IPRO_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
        handle, kernel->filter, y, kernel->convolution, x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
        returned, results));
    for (int r = 0; r < *returned && r < capacity; r++)
      out[r] = (ranked_algorithm){results[r].status, (int)results[r].algo, results[r].memory,
                                  results[r].mathType};
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t results[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    IPRO_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        handle, x, y, kernel->convolution, kernel->filter, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
        returned, results));
    for (int r = 0; r < *returned && r < capacity; r++)
      out[r] = (ranked_algorithm){results[r].status, (int)results[r].algo, results[r].memory,
                                  results[r].mathType};
  }
  if (*returned > capacity) *returned = capacity;
  return IPRO_OK;
}

/* Reserves the workspace bound (library_bytes, from describe) and, on a device, takes the first
 * algorithm of cuDNN's ranked list that computes in plain float32 FMA (entries with tensor-op
 * math would use TF32 and leave the CPU's tolerance) whose workspace, confirmed by cuDNN's size
 * query, fits the bound; CUDNN_DEFAULT_MATH entries are the second choice. A planning backend
 * has no device to ask: the layout is all it needs. */
static ipro_status choose_algorithm(ipro_cuda_kernel *kernel, direction which, ipro_error *err) {
  _Static_assert((int)CUDNN_CONVOLUTION_FWD_ALGO_COUNT <= RANKED_CAPACITY &&
                     (int)CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT <= RANKED_CAPACITY &&
                     (int)CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT <= RANKED_CAPACITY,
                 "room for every algorithm of a direction");
  size_t bound = kernel->library_bytes;
  kernel->library_offset = ipro_cuda_reserve(kernel, bound);
  if (kernel->backend->planning_only) return IPRO_OK;
  ranked_algorithm ranked[RANKED_CAPACITY];
  int returned = 0;
  if (ranked_list(kernel, which, ranked, RANKED_CAPACITY, &returned, err) != IPRO_OK)
    return IPRO_ERROR;
  const cudnnMathType_t preference[2] = {CUDNN_FMA_MATH, CUDNN_DEFAULT_MATH};
  for (int p = 0; p < 2; p++)
    for (int r = 0; r < returned; r++) {
      size_t bytes = 0;
      if (ranked[r].status != CUDNN_STATUS_SUCCESS || ranked[r].math != preference[p] ||
          confirmed_workspace(kernel, which, ranked[r].algorithm, &bytes) != CUDNN_STATUS_SUCCESS ||
          bytes > bound)
        continue;
      kernel->algorithm = ranked[r].algorithm;
      return IPRO_OK;
    }
  return ipro_cuda_unsupported(
      err, "cuDNN offers no float32 (FMA) algorithm within the %zu-byte workspace bound", bound);
}

static void *library_workspace(const ipro_cuda_kernel *kernel, char *workspace) {
  return kernel->library_bytes ? workspace + kernel->library_offset : NULL;
}

static ipro_status run_forward(const ipro_cuda_kernel *kernel, void *const *inputs,
                               void *const *outputs, char *workspace, uint64_t step,
                               ipro_error *err) {
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = kernel->backend->cudnn;
  IPRO_CUDNN_CHECK(cudnnConvolutionForward(
      handle, &one, kernel->tensors[0], inputs[0], kernel->filter, inputs[1], kernel->convolution,
      (cudnnConvolutionFwdAlgo_t)kernel->algorithm, library_workspace(kernel, workspace),
      kernel->library_bytes, &zero, kernel->tensors[1], outputs[0]));
  if (inputs[2])
    IPRO_CUDNN_CHECK(cudnnAddTensor(handle, &one, kernel->tensors[2], inputs[2], &one,
                                    kernel->tensors[1], outputs[0]));
  return IPRO_OK;
}

static ipro_status run_backward_data(const ipro_cuda_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  IPRO_CUDNN_CHECK(cudnnConvolutionBackwardData(
      kernel->backend->cudnn, &one, kernel->filter, inputs[1], kernel->tensors[1], inputs[0],
      kernel->convolution, (cudnnConvolutionBwdDataAlgo_t)kernel->algorithm,
      library_workspace(kernel, workspace), kernel->library_bytes, &zero, kernel->tensors[0],
      outputs[0]));
  return IPRO_OK;
}

static ipro_status run_backward_filter(const ipro_cuda_kernel *kernel, void *const *inputs,
                                       void *const *outputs, char *workspace, uint64_t step,
                                       ipro_error *err) {
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = kernel->backend->cudnn;
  IPRO_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
      handle, &one, kernel->tensors[0], inputs[1], kernel->tensors[1], inputs[0],
      kernel->convolution, (cudnnConvolutionBwdFilterAlgo_t)kernel->algorithm,
      library_workspace(kernel, workspace), kernel->library_bytes, &zero, kernel->filter,
      outputs[0]));
  if (outputs[1])
    IPRO_CUDNN_CHECK(cudnnConvolutionBackwardBias(handle, &one, kernel->tensors[1], inputs[0],
                                                  &zero, kernel->tensors[2], outputs[1]));
  return IPRO_OK;
}

/* A (1, M, 1, ...) descriptor for a bias of M values next to a tensor of the given rank. */
static ipro_status bias_descriptor(ipro_cuda_kernel *kernel, int64_t features, int rank,
                                   ipro_error *err) {
  int64_t dims[IPRO_MAX_RANK] = {1, features};
  for (int d = 2; d < rank; d++)
    dims[d] = 1;
  return ipro_cuda_tensor(kernel, dims, rank < 4 ? 4 : rank, err) < 0 ? IPRO_ERROR : IPRO_OK;
}

/* The int list attribute `name` as a shape. */
static ipro_status shape_attribute(const ipro_node *node, const char *name, ipro_shape *out,
                                   ipro_error *err) {
  int count = 0;
  const int64_t *values = ipro_node_attr_ints(node, name, &count);
  if (!values || count < 3 || count > IPRO_MAX_RANK)
    return ipro_error_set(err, "attribute %s missing or of wrong length", name);
  out->rank = count;
  for (int d = 0; d < count; d++)
    out->dims[d] = values[d];
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_conv) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *w = ipro_cuda_input_shape(graph, node, 1);
  const ipro_shape *y = ipro_cuda_output_shape(graph, node, 0);
  if (!x || !w || !y || w->rank != x->rank)
    return ipro_cuda_unsupported(err, "X, W and Y must be present with one rank");
  if (describe(kernel, node, x, w->dims, y, err)) return IPRO_ERROR;
  if (ipro_cuda_input_shape(graph, node, 2) && bias_descriptor(kernel, y->dims[1], y->rank, err))
    return IPRO_ERROR;
  kernel->run = run_forward;
  return choose_algorithm(kernel, FORWARD, err);
}

IPRO_CUDA_BUILD(ipro_cuda_build_conv_grad_input) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *dy = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *w = ipro_cuda_input_shape(graph, node, 1);
  const ipro_shape *dx = ipro_cuda_output_shape(graph, node, 0);
  if (!dy || !w || !dx || w->rank != dx->rank)
    return ipro_cuda_unsupported(err, "dY, W and dX must be present with one rank");
  if (describe(kernel, node, dx, w->dims, dy, err)) return IPRO_ERROR;
  kernel->run = run_backward_data;
  return choose_algorithm(kernel, BACKWARD_DATA, err);
}

IPRO_CUDA_BUILD(ipro_cuda_build_conv_grad_weight) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *dy = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 1);
  ipro_shape w;
  if (!dy || !x) return ipro_cuda_unsupported(err, "dY and X must be present");
  if (shape_attribute(node, "weight_shape", &w, err)) return IPRO_ERROR;
  if (w.rank != x->rank) return ipro_cuda_unsupported(err, "weight_shape of wrong rank");
  if (describe(kernel, node, x, w.dims, dy, err)) return IPRO_ERROR;
  if (ipro_cuda_output_shape(graph, node, 1) && bias_descriptor(kernel, dy->dims[1], dy->rank, err))
    return IPRO_ERROR;
  kernel->run = run_backward_filter;
  return choose_algorithm(kernel, BACKWARD_FILTER, err);
}
