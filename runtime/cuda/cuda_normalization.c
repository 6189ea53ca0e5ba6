/* BatchNormalization, its gradient, Softmax / LogSoftmax and their gradient on cuDNN.
 *
 * Batch normalisation is cuDNN's spatial mode (one scale, shift and statistic per channel), with
 * the statistics as the reference keeps them (runtime/reference/normalization.c): ONNX's momentum
 * weighs the old running value (running = momentum · running + (1 − momentum) · batch) where
 * cuDNN's exponentialAverageFactor weighs the new one, so the factor is 1 − momentum. cuDNN
 * updates the running variance with the unbiased batch variance (× m/(m−1)), which is what the
 * training programs ask for (unbiased_running_variance = 1, PyTorch's rule); a node asking for
 * ONNX's biased update is declined. The normalisation itself uses the biased variance, as both
 * the reference and cuDNN do. The running statistics are updated in place (inputs 3 and 4,
 * running_stats_in_place) or, for the ONNX form, copied into outputs 1 and 2 and updated there.
 *
 * A training program's forward also saves the batch mean and inverse standard deviation
 * (saves_statistics: outputs 3 and 4, cuDNN's resultSaveMean and resultSaveInvVariance, which are
 * the reference's mean and 1 / sqrt(variance + epsilon)), and ipro.BatchNormGrad passes them
 * back to cuDNN (inputs 3 and 4); without them it recomputes the batch statistics from X (cuDNN
 * does when no saved mean and inverse variance are passed). */
#include <string.h>

#include "cuda_internal.h"

/* tensors[0]: X (and Y, dY, dX), tensors[1]: the per-channel (1, C, 1, ...) descriptor. */
static ipro_status describe_batch_norm(ipro_cuda_kernel *kernel, const ipro_shape *x,
                                       ipro_error *err) {
  if (x->rank < 2) return ipro_cuda_unsupported(err, "batch normalisation of rank %d", x->rank);
  int64_t channel_dims[IPRO_MAX_RANK] = {1, x->dims[1]};
  for (int d = 2; d < x->rank; d++)
    channel_dims[d] = 1;
  if (ipro_cuda_tensor(kernel, x->dims, x->rank, err) < 0 ||
      ipro_cuda_tensor(kernel, channel_dims, x->rank, err) < 0)
    return IPRO_ERROR;
  kernel->sizes[0] = x->dims[1];
  return IPRO_OK;
}

/* values[0]: epsilon; values[1]: 1 − momentum (cuDNN's factor); sizes[1]: training; sizes[2]:
 * running statistics in place; sizes[3]: saves the batch statistics into outputs 3 and 4. */
static ipro_status run_batch_norm(const ipro_cuda_kernel *kernel, void *const *inputs,
                                  void *const *outputs, char *workspace, uint64_t step,
                                  ipro_error *err) {
  (void)workspace;
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = kernel->backend->cudnn;
  double epsilon = kernel->values[0];
  size_t channel_bytes = (size_t)kernel->sizes[0] * sizeof(float);
  if (!kernel->sizes[1]) {
    IPRO_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
        handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, kernel->tensors[0], inputs[0],
        kernel->tensors[0], outputs[0], kernel->tensors[1], inputs[1], inputs[2], inputs[3],
        inputs[4], epsilon));
    /* The inference form passes the statistics through to outputs a graph may have. */
    for (int s = 1; s <= 2; s++)
      if (outputs[s] && ipro_cuda_copy(kernel, outputs[s], inputs[2 + s], channel_bytes, err))
        return IPRO_ERROR;
    return IPRO_OK;
  }
  void *running_mean = inputs[3], *running_var = inputs[4];
  if (!kernel->sizes[2]) {
    running_mean = outputs[1], running_var = outputs[2];
    if (running_mean && ipro_cuda_copy(kernel, running_mean, inputs[3], channel_bytes, err))
      return IPRO_ERROR;
    if (running_var && ipro_cuda_copy(kernel, running_var, inputs[4], channel_bytes, err))
      return IPRO_ERROR;
    /* cuDNN updates both statistics or neither. */
    if (!running_mean || !running_var) running_mean = running_var = NULL;
  }
  IPRO_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
      handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, kernel->tensors[0], inputs[0],
      kernel->tensors[0], outputs[0], kernel->tensors[1], inputs[1], inputs[2],
      (double)kernel->values[1], running_mean, running_var, epsilon,
      kernel->sizes[3] ? outputs[3] : NULL, kernel->sizes[3] ? outputs[4] : NULL));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_batch_normalization) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 0);
  for (int i = 1; i < 5; i++)
    if (!ipro_cuda_input_shape(graph, node, i))
      return ipro_cuda_unsupported(err, "input %d is absent", i);
  if (describe_batch_norm(kernel, x, err)) return IPRO_ERROR;
  float epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  float momentum = ipro_node_attr_float(node, "momentum", 0.9f);
  bool training = ipro_node_attr_int(node, "training_mode", 0) != 0;
  bool in_place = ipro_node_attr_int(node, "running_stats_in_place", 0) != 0;
  bool unbiased = ipro_node_attr_int(node, "unbiased_running_variance", 0) != 0;
  if (!(epsilon >= CUDNN_BN_MIN_EPSILON) || !(epsilon > 0))
    return ipro_cuda_unsupported(err, "epsilon %g is below cuDNN's minimum", (double)epsilon);
  bool updates = in_place || (node->n_outputs > 2 && node->outputs[1] >= 0);
  if (training && updates && !unbiased)
    return ipro_cuda_unsupported(err, "cuDNN updates the running variance with the unbiased "
                                      "batch variance; this node asks for the biased one");
  if (training && unbiased && ipro_cuda_elements(x) / x->dims[1] < 2)
    return ipro_cuda_unsupported(err, "the unbiased variance needs two values per channel");
  if (in_place && node->n_outputs > 1)
    for (int o = 1; o < node->n_outputs && o <= 2; o++)
      if (node->outputs[o] >= 0)
        return ipro_cuda_unsupported(err, "running statistics both in place and as outputs");
  /* cuDNN saves both statistics or neither. */
  bool saves = training && ipro_node_attr_int(node, "saves_statistics", 0) != 0 &&
               ipro_cuda_output_shape(graph, node, 3) && ipro_cuda_output_shape(graph, node, 4);
  kernel->values[0] = epsilon;
  /* As the reference computes momentum · old + (1 − momentum) · new in double. */
  kernel->values[1] = (float)(1.0 - (double)momentum);
  kernel->sizes[1] = training;
  kernel->sizes[2] = in_place;
  kernel->sizes[3] = saves;
  kernel->run = run_batch_norm;
  return IPRO_OK;
}

/* dY, X, scale, [saved mean, saved inverse standard deviation] → dX, [dScale], [dBias]; absent
 * parameter gradients go to the workspace. sizes[1]: the saved statistics are given. */
static ipro_status run_batch_norm_grad(const ipro_cuda_kernel *kernel, void *const *inputs,
                                       void *const *outputs, char *workspace, uint64_t step,
                                       ipro_error *err) {
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  size_t channel_bytes = (size_t)kernel->sizes[0] * sizeof(float);
  void *d_scale = outputs[1] ? outputs[1] : workspace + kernel->offsets[0];
  void *d_bias = outputs[2] ? outputs[2] : workspace + kernel->offsets[0] + channel_bytes;
  IPRO_CUDNN_CHECK(cudnnBatchNormalizationBackward(
      kernel->backend->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, kernel->tensors[0],
      inputs[1], kernel->tensors[0], inputs[0], kernel->tensors[0], outputs[0], kernel->tensors[1],
      inputs[2], d_scale, d_bias, (double)kernel->values[0], kernel->sizes[1] ? inputs[3] : NULL,
      kernel->sizes[1] ? inputs[4] : NULL));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_batch_norm_grad) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 1);
  if (!x || !ipro_cuda_input_shape(graph, node, 0) || !ipro_cuda_input_shape(graph, node, 2))
    return ipro_cuda_unsupported(err, "dY, X and scale must be present");
  if (describe_batch_norm(kernel, x, err)) return IPRO_ERROR;
  float epsilon = ipro_node_attr_float(node, "epsilon", 1e-5f);
  if (!(epsilon >= CUDNN_BN_MIN_EPSILON) || !(epsilon > 0))
    return ipro_cuda_unsupported(err, "epsilon %g is below cuDNN's minimum", (double)epsilon);
  kernel->values[0] = epsilon;
  kernel->sizes[1] = ipro_cuda_input_shape(graph, node, 3) && ipro_cuda_input_shape(graph, node, 4);
  if (!ipro_cuda_output_shape(graph, node, 1) || !ipro_cuda_output_shape(graph, node, 2))
    kernel->offsets[0] = ipro_cuda_reserve(kernel, 2 * (size_t)x->dims[1] * sizeof(float));
  kernel->run = run_batch_norm_grad;
  return IPRO_OK;
}

/* ---- Softmax and LogSoftmax over one axis (or the trailing axes with coerce_2d) ---- */

/* The softmax axis as cuDNN's channel axis of an (outer, length, inner, 1) tensor. */
static ipro_status describe_softmax(ipro_cuda_kernel *kernel, const ipro_node *node,
                                    const ipro_shape *x, ipro_error *err) {
  int64_t axis = ipro_node_attr_int(node, "axis", x->rank - 1);
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis >= (x->rank > 0 ? x->rank : 1))
    return ipro_cuda_unsupported(err, "axis outside the rank");
  bool coerce_2d = ipro_node_attr_int(node, "coerce_2d", 0) != 0;
  int64_t outer = 1, length = 1, inner = 1;
  for (int d = 0; d < x->rank; d++) {
    if (d < axis)
      outer *= x->dims[d];
    else if (d == axis || coerce_2d)
      length *= x->dims[d];
    else
      inner *= x->dims[d];
  }
  int64_t dims[4] = {outer, length, inner, 1};
  return ipro_cuda_tensor(kernel, dims, 4, err) < 0 ? IPRO_ERROR : IPRO_OK;
}

static ipro_status run_softmax(const ipro_cuda_kernel *kernel, void *const *inputs,
                               void *const *outputs, char *workspace, uint64_t step,
                               ipro_error *err) {
  (void)workspace;
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  IPRO_CUDNN_CHECK(cudnnSoftmaxForward(kernel->backend->cudnn,
                                       (cudnnSoftmaxAlgorithm_t)kernel->algorithm,
                                       CUDNN_SOFTMAX_MODE_CHANNEL, &one, kernel->tensors[0],
                                       inputs[0], &zero, kernel->tensors[0], outputs[0]));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_softmax) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  if (describe_softmax(kernel, node, ipro_cuda_input_shape(graph, node, 0), err)) return IPRO_ERROR;
  kernel->algorithm = node->op == IPRO_OP_LOG_SOFTMAX ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE;
  kernel->run = run_softmax;
  return IPRO_OK;
}

/* dY, Y → dX. */
static ipro_status run_softmax_grad(const ipro_cuda_kernel *kernel, void *const *inputs,
                                    void *const *outputs, char *workspace, uint64_t step,
                                    ipro_error *err) {
  (void)workspace;
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  IPRO_CUDNN_CHECK(
      cudnnSoftmaxBackward(kernel->backend->cudnn, (cudnnSoftmaxAlgorithm_t)kernel->algorithm,
                           CUDNN_SOFTMAX_MODE_CHANNEL, &one, kernel->tensors[0], inputs[1],
                           kernel->tensors[0], inputs[0], &zero, kernel->tensors[0], outputs[0]));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_softmax_grad) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  int64_t forward = ipro_node_attr_int(node, "forward_op", IPRO_OP_SOFTMAX);
  if (forward != IPRO_OP_SOFTMAX && forward != IPRO_OP_LOG_SOFTMAX)
    return ipro_cuda_unsupported(err, "forward_op %lld", (long long)forward);
  if (describe_softmax(kernel, node, ipro_cuda_input_shape(graph, node, 1), err)) return IPRO_ERROR;
  kernel->algorithm = forward == IPRO_OP_LOG_SOFTMAX ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE;
  kernel->run = run_softmax_grad;
  return IPRO_OK;
}
