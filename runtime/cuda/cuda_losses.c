/* The training losses on the GPU: SoftmaxCrossEntropyLoss and ipro.SoftmaxCrossEntropyGrad
 * (scores [N, C], int64 labels [N]), ipro.BinaryCrossEntropy and its gradient.
 *
 * Cross-entropy is built from library calls and generated element-wise kernels: the log-softmax
 * is cuDNN's (CUDNN_SOFTMAX_LOG over the classes); the labels become a one-hot matrix by
 * comparing them (as floats, exact below 2^24) with a constant matrix of class indices; the loss
 * is −Σ onehot · log_prob, scaled by 1/N for "mean", as a cudnnOpTensor product and a
 * cudnnReduceTensor sum. The gradient is scale · (softmax − onehot) (/N): cuDNN's softmax of the
 * log-probabilities (which is exp(log_prob)) and a cudnnAddTensor. Labels outside [0, C) give a
 * zero one-hot row here, where the reference reports them; class weights and ignore_index are
 * declined (training programs use neither).
 *
 * BCE's element terms and its gradient are generated kernels; the mean is a cuDNN reduction. */
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

/* What both cross-entropy kernels share: the class-index constants, the labels as floats and the
 * one-hot matrix in the workspace; tensors[0] the (N, C, 1, 1) scores. sizes[0] N, sizes[1] C;
 * offsets[0] the float labels, offsets[1] the one-hot matrix. */
static ipro_status prepare_one_hot(ipro_cuda_kernel *kernel, const ipro_graph *graph,
                                   const ipro_node *node, ipro_error *err) {
  if (ipro_cuda_expect_float(graph, node, 1u << 1, err)) return IPRO_ERROR;
  const ipro_shape *scores = ipro_cuda_input_shape(graph, node, 0);
  const ipro_tensor *labels = ipro_node_input(graph, node, 1);
  if (!labels || labels->dtype != IPRO_DTYPE_INT64)
    return ipro_cuda_unsupported(err, "labels that are not int64");
  if (scores->rank != 2 || labels->shape.rank != 1 || labels->shape.dims[0] != scores->dims[0])
    return ipro_cuda_unsupported(err, "scores other than [N, C] with labels [N]");
  if (node->n_inputs > 2 && node->inputs[2] >= 0)
    return ipro_cuda_unsupported(err, "class weights");
  if (ipro_node_attr(node, "ignore_index")) return ipro_cuda_unsupported(err, "ignore_index");
  int64_t n = scores->dims[0], c = scores->dims[1];
  if (c >= (1 << 24)) return ipro_cuda_unsupported(err, "more classes than floats count exactly");
  size_t count = (size_t)(n * c);
  float *indices = malloc((count ? count : 1) * sizeof(float));
  if (!indices) return ipro_error_set(err, "out of memory");
  for (size_t i = 0; i < count; i++)
    indices[i] = (float)(i % (size_t)c);
  ipro_status status = ipro_cuda_set_constants(kernel, indices, count * sizeof(float), err);
  free(indices);
  if (status) return IPRO_ERROR;
  int64_t dims[2] = {n, c};
  if (ipro_cuda_tensor(kernel, dims, 2, err) < 0) return IPRO_ERROR;
  kernel->sizes[0] = n;
  kernel->sizes[1] = c;
  kernel->offsets[0] = ipro_cuda_reserve(kernel, (size_t)n * sizeof(float));
  kernel->offsets[1] = ipro_cuda_reserve(kernel, count * sizeof(float));
  const char *reduction = ipro_node_attr_string(node, "reduction", "mean");
  bool mean = strcmp(reduction, "mean") == 0;
  if (!mean && strcmp(reduction, "sum") != 0)
    return ipro_cuda_unsupported(err, "reduction '%s'", reduction);
  kernel->values[0] = mean ? (float)(1.0 / (double)(n ? n : 1)) : 1.0f;
  return IPRO_OK;
}

static ipro_status one_hot(const ipro_cuda_kernel *kernel, const void *labels, char *workspace,
                           ipro_error *err) {
  int64_t n = kernel->sizes[0], c = kernel->sizes[1];
  void *as_float = workspace + kernel->offsets[0], *matrix = workspace + kernel->offsets[1];
  void *convert[2] = {(void *)labels, as_float};
  void *compare[3] = {as_float, workspace, matrix}; /* the class indices are at offset 0 */
  if (ipro_cuda_launch(kernel, IPRO_GENERATED_LABELS_TO_FLOAT, convert, 2, NULL, n, 1, 1, err) ||
      ipro_cuda_launch(kernel, IPRO_GENERATED_EQUAL_MASK, compare, 3, NULL, n * c, n, c, err))
    return IPRO_ERROR;
  return IPRO_OK;
}

/* scores, labels → loss, [log_prob]. tensors[1]: the scalar; offsets[2]: log_prob when absent;
 * offsets[3]: the products. */
static ipro_status run_cross_entropy(const ipro_cuda_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)step;
  const float one = 1.0f, zero = 0.0f, minus_scale = -kernel->values[0];
  cudnnHandle_t handle = kernel->backend->cudnn;
  void *log_prob = outputs[1] ? outputs[1] : workspace + kernel->offsets[2];
  void *products = workspace + kernel->offsets[3];
  IPRO_CUDNN_CHECK(cudnnSoftmaxForward(handle, CUDNN_SOFTMAX_LOG, CUDNN_SOFTMAX_MODE_CHANNEL, &one,
                                       kernel->tensors[0], inputs[0], &zero, kernel->tensors[0],
                                       log_prob));
  if (one_hot(kernel, inputs[1], workspace, err)) return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnOpTensor(handle, kernel->op_tensor, &minus_scale, kernel->tensors[0],
                                 workspace + kernel->offsets[1], &one, kernel->tensors[0], log_prob,
                                 &zero, kernel->tensors[0], products));
  IPRO_CUDNN_CHECK(cudnnReduceTensor(
      handle, kernel->reduce[0], NULL, 0,
      kernel->library_bytes ? workspace + kernel->library_offset : NULL, kernel->library_bytes,
      &one, kernel->tensors[0], products, &zero, kernel->tensors[1], outputs[0]));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_cross_entropy) {
  if (prepare_one_hot(kernel, graph, node, err)) return IPRO_ERROR;
  size_t bytes = (size_t)(kernel->sizes[0] * kernel->sizes[1]) * sizeof(float);
  if (!ipro_cuda_output_shape(graph, node, 1))
    kernel->offsets[2] = ipro_cuda_reserve(kernel, bytes);
  kernel->offsets[3] = ipro_cuda_reserve(kernel, bytes);
  int64_t scalar[1] = {1};
  if (ipro_cuda_tensor(kernel, scalar, 1, err) < 0) return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnCreateOpTensorDescriptor(&kernel->op_tensor));
  IPRO_CUDNN_CHECK(cudnnSetOpTensorDescriptor(kernel->op_tensor, CUDNN_OP_TENSOR_MUL,
                                              CUDNN_DATA_FLOAT, CUDNN_PROPAGATE_NAN));
  if (ipro_cuda_prepare_reduction(kernel, 0, CUDNN_REDUCE_TENSOR_ADD, 0, 1, err)) return IPRO_ERROR;
  if (kernel->library_bytes)
    kernel->library_offset = ipro_cuda_reserve(kernel, kernel->library_bytes);
  kernel->run = run_cross_entropy;
  return IPRO_OK;
}

/* log_prob, labels → dScores = s · (softmax(log_prob) − onehot), s = values[1]. */
static ipro_status run_cross_entropy_grad(const ipro_cuda_kernel *kernel, void *const *inputs,
                                          void *const *outputs, char *workspace, uint64_t step,
                                          ipro_error *err) {
  (void)step;
  const float one = 1.0f, zero = 0.0f, scale = kernel->values[1], minus_scale = -scale;
  cudnnHandle_t handle = kernel->backend->cudnn;
  IPRO_CUDNN_CHECK(cudnnSoftmaxForward(handle, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL,
                                       &one, kernel->tensors[0], inputs[0], &zero,
                                       kernel->tensors[0], outputs[0]));
  if (one_hot(kernel, inputs[1], workspace, err)) return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnAddTensor(handle, &minus_scale, kernel->tensors[0],
                                  workspace + kernel->offsets[1], &scale, kernel->tensors[0],
                                  outputs[0]));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_cross_entropy_grad) {
  if (prepare_one_hot(kernel, graph, node, err)) return IPRO_ERROR;
  kernel->values[1] =
      (float)((double)kernel->values[0] * (double)ipro_node_attr_float(node, "scale", 1.0f));
  kernel->run = run_cross_entropy_grad;
  return IPRO_OK;
}

/* ---- binary cross-entropy ---- */

/* Both operands float32 and equally shaped; sizes[0]: elements. */
static ipro_status bce_operands(ipro_cuda_kernel *kernel, const ipro_graph *graph,
                                const ipro_node *node, ipro_error *err) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *p = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *t = ipro_cuda_input_shape(graph, node, 1);
  if (!p || !t || ipro_cuda_elements(p) != ipro_cuda_elements(t))
    return ipro_error_set(err, "the prediction and the target differ in size");
  kernel->sizes[0] = ipro_cuda_elements(p);
  return IPRO_OK;
}

/* p, target → loss: the terms into the workspace (offsets[0]), then their mean. */
static ipro_status run_bce(const ipro_cuda_kernel *kernel, void *const *inputs,
                           void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)step;
  const float zero = 0.0f;
  void *buffers[3] = {inputs[0], inputs[1], workspace + kernel->offsets[0]};
  if (ipro_cuda_launch(kernel, IPRO_GENERATED_BCE_LOSS_TERMS, buffers, 3, NULL, kernel->sizes[0], 1,
                       1, err))
    return IPRO_ERROR;
  IPRO_CUDNN_CHECK(
      cudnnReduceTensor(kernel->backend->cudnn, kernel->reduce[0], NULL, 0,
                        kernel->library_bytes ? workspace + kernel->library_offset : NULL,
                        kernel->library_bytes, &kernel->values[0], kernel->tensors[0],
                        workspace + kernel->offsets[0], &zero, kernel->tensors[1], outputs[0]));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_binary_cross_entropy) {
  if (bce_operands(kernel, graph, node, err)) return IPRO_ERROR;
  int64_t n = kernel->sizes[0], flat[1] = {n > 0 ? n : 1}, scalar[1] = {1};
  if (ipro_cuda_elements(ipro_cuda_output_shape(graph, node, 0)) != 1)
    return ipro_error_set(err, "the loss must be a scalar");
  if (ipro_cuda_tensor(kernel, flat, 1, err) < 0 || ipro_cuda_tensor(kernel, scalar, 1, err) < 0)
    return IPRO_ERROR;
  kernel->values[0] = (float)(1.0 / (double)(n > 0 ? n : 1));
  kernel->offsets[0] = ipro_cuda_reserve(kernel, (size_t)flat[0] * sizeof(float));
  if (ipro_cuda_prepare_reduction(kernel, 0, CUDNN_REDUCE_TENSOR_ADD, 0, 1, err)) return IPRO_ERROR;
  if (kernel->library_bytes)
    kernel->library_offset = ipro_cuda_reserve(kernel, kernel->library_bytes);
  kernel->run = run_bce;
  return IPRO_OK;
}

/* p, target → dP, the factor scale / numel a constant. */
static ipro_status run_bce_grad(const ipro_cuda_kernel *kernel, void *const *inputs,
                                void *const *outputs, char *workspace, uint64_t step,
                                ipro_error *err) {
  (void)step;
  void *buffers[3] = {inputs[0], inputs[1], outputs[0]};
  return ipro_cuda_launch(kernel, IPRO_GENERATED_BCE_GRAD, buffers, 3, workspace, kernel->sizes[0],
                          1, 1, err);
}

IPRO_CUDA_BUILD(ipro_cuda_build_binary_cross_entropy_grad) {
  if (bce_operands(kernel, graph, node, err)) return IPRO_ERROR;
  int64_t n = kernel->sizes[0];
  float factor =
      (float)((double)ipro_node_attr_float(node, "scale", 1.0f) / (double)(n > 0 ? n : 1));
  if (ipro_cuda_set_constants(kernel, &factor, sizeof factor, err)) return IPRO_ERROR;
  kernel->run = run_bce_grad;
  return IPRO_OK;
}
