/* The ops that run as LLVM-generated PTX kernels (ir/kernel_library.h): Relu, Sigmoid, Clip,
 * LeakyRelu, HardSigmoid, HardSwish, Sqrt and Reciprocal with their gradients (ipro.UnaryGrad,
 * Tanh's too), Div, Dropout in training form, ipro.DropoutGrad and the optimizer updates. Tanh's
 * forward runs on cuDNN's activation. The backend loaded the PTX once; here each node only picks
 * its kernel and the pointers it reads.
 *
 * Dropout's mask comes from the reference's counter-based generator: the kernel takes seed and
 * step by value and draws element i's value from (seed, step, i), so the mask is the one the CPU
 * backends draw for the same step, bit for bit. The seed is the node's stream
 * (ipro_node_random_stream), as on every backend (the executor hands kernels the step alone).
 *
 * A generated kernel reads its scalar parameters through a device pointer. The optimizer
 * updates point it at the hyper-parameter tensor the trainer writes every step (AdamW's bias
 * corrections are computed from it on the device by a second generated kernel); constant
 * parameters fixed at prepare time (Clip's bounds, the dropout scale) are kernel constants,
 * copied into the workspace at the start of each run (cuda_internal.h). */
#include <math.h>

#include "cuda_internal.h"

static ipro_status run_elementwise(const ipro_cuda_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step,
                                   ipro_error *err) {
  (void)step;
  /* sizes[0]: count; sizes[1]: the generated kernel; sizes[2]: inputs read. */
  void *buffers[4] = {inputs[0], inputs[1], NULL, NULL};
  int n = (int)kernel->sizes[2];
  buffers[n] = outputs[0];
  return ipro_cuda_launch(kernel, (ipro_generated_kernel)kernel->sizes[1], buffers, n + 1,
                          kernel->constants_bytes ? workspace : NULL, kernel->sizes[0], 1, 1, err);
}

static ipro_status run_tanh(const ipro_cuda_kernel *kernel, void *const *inputs,
                            void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)workspace;
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  IPRO_CUDNN_CHECK(cudnnActivationForward(kernel->backend->cudnn, kernel->activation, &one,
                                          kernel->tensors[0], inputs[0], &zero, kernel->tensors[0],
                                          outputs[0]));
  return IPRO_OK;
}

/* The activation's attributes as kernel constants, with the reference's defaults
 * (runtime/reference/elementwise.c): LeakyRelu {alpha = 0.01}, HardSigmoid {alpha = 0.2,
 * beta = 0.5}; nothing for the others. */
static ipro_status activation_constants(ipro_cuda_kernel *kernel, const ipro_node *node, int op,
                                        ipro_error *err) {
  float values[2];
  switch (op) {
  case IPRO_OP_LEAKY_RELU:
    values[0] = ipro_node_attr_float(node, "alpha", 0.01f);
    return ipro_cuda_set_constants(kernel, values, sizeof(float), err);
  case IPRO_OP_HARD_SIGMOID:
    values[0] = ipro_node_attr_float(node, "alpha", 0.2f);
    values[1] = ipro_node_attr_float(node, "beta", 0.5f);
    return ipro_cuda_set_constants(kernel, values, sizeof values, err);
  default: return IPRO_OK;
  }
}

/* The Clip bounds as kernel constants ({min, max}, ±inf where absent). */
static ipro_status clip_constants(ipro_cuda_kernel *kernel, const ipro_node *node,
                                  ipro_error *err) {
  float bounds[2] = {-INFINITY, INFINITY};
  if (ipro_node_attr(node, "min")) bounds[0] = ipro_node_attr_float(node, "min", -INFINITY);
  if (ipro_node_attr(node, "max")) bounds[1] = ipro_node_attr_float(node, "max", INFINITY);
  return ipro_cuda_set_constants(kernel, bounds, sizeof bounds, err);
}

IPRO_CUDA_BUILD(ipro_cuda_build_activation) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  /* programs for this backend are built unfused (codegen/fusion.h): a SiLU here is refused */
  if (ipro_node_attr_int(node, "times_input", 0))
    return ipro_cuda_unsupported(err, "a Sigmoid fused with its Mul (SiLU)");
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 0);
  kernel->sizes[0] = ipro_cuda_elements(x);
  kernel->sizes[2] = 1;
  switch (node->op) {
  case IPRO_OP_RELU: kernel->sizes[1] = IPRO_GENERATED_RELU_FORWARD; break;
  case IPRO_OP_SIGMOID: kernel->sizes[1] = IPRO_GENERATED_SIGMOID_FORWARD; break;
  case IPRO_OP_CLIP:
    for (int i = 1; i < node->n_inputs; i++)
      if (node->inputs[i] >= 0)
        return ipro_cuda_unsupported(err, "Clip bounds given at run time (inputs that are "
                                          "not constants)");
    kernel->sizes[1] = IPRO_GENERATED_CLIP_FORWARD;
    if (clip_constants(kernel, node, err)) return IPRO_ERROR;
    break;
  case IPRO_OP_LEAKY_RELU: kernel->sizes[1] = IPRO_GENERATED_LEAKY_RELU_FORWARD; break;
  case IPRO_OP_HARD_SIGMOID: kernel->sizes[1] = IPRO_GENERATED_HARD_SIGMOID_FORWARD; break;
  case IPRO_OP_HARD_SWISH: kernel->sizes[1] = IPRO_GENERATED_HARD_SWISH_FORWARD; break;
  case IPRO_OP_SQRT: kernel->sizes[1] = IPRO_GENERATED_SQRT_FORWARD; break;
  case IPRO_OP_RECIPROCAL: kernel->sizes[1] = IPRO_GENERATED_RECIPROCAL_FORWARD; break;
  case IPRO_OP_TANH: {
    int64_t flat[1] = {kernel->sizes[0]};
    if (ipro_cuda_tensor(kernel, flat, 1, err) < 0) return IPRO_ERROR;
    IPRO_CUDNN_CHECK(cudnnCreateActivationDescriptor(&kernel->activation));
    IPRO_CUDNN_CHECK(cudnnSetActivationDescriptor(kernel->activation, CUDNN_ACTIVATION_TANH,
                                                  CUDNN_PROPAGATE_NAN, 0.0));
    kernel->run = run_tanh;
    return IPRO_OK;
  }
  default: return ipro_cuda_unsupported(err, "no generated kernel for %s", node->op_type);
  }
  if (activation_constants(kernel, node, node->op, err)) return IPRO_ERROR;
  kernel->run = run_elementwise;
  return IPRO_OK;
}

/* dY, T → dX. */
IPRO_CUDA_BUILD(ipro_cuda_build_unary_grad) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  int64_t forward = ipro_node_attr_int(node, "forward_op", -1);
  if (ipro_node_attr_int(node, "times_input", 0))
    return ipro_cuda_unsupported(err, "a SiLU's gradient (fused programs are not built for CUDA)");
  kernel->sizes[0] = ipro_cuda_elements(ipro_cuda_input_shape(graph, node, 0));
  kernel->sizes[2] = 2;
  if (!ipro_cuda_input_shape(graph, node, 1)) return ipro_cuda_unsupported(err, "T is absent");
  switch (forward) {
  case IPRO_OP_RELU: kernel->sizes[1] = IPRO_GENERATED_RELU_BACKWARD; break;
  case IPRO_OP_SIGMOID: kernel->sizes[1] = IPRO_GENERATED_SIGMOID_BACKWARD; break;
  case IPRO_OP_CLIP:
    kernel->sizes[1] = IPRO_GENERATED_CLIP_BACKWARD;
    if (clip_constants(kernel, node, err)) return IPRO_ERROR;
    break;
  case IPRO_OP_TANH: kernel->sizes[1] = IPRO_GENERATED_TANH_BACKWARD; break;
  case IPRO_OP_LEAKY_RELU: kernel->sizes[1] = IPRO_GENERATED_LEAKY_RELU_BACKWARD; break;
  case IPRO_OP_HARD_SIGMOID: kernel->sizes[1] = IPRO_GENERATED_HARD_SIGMOID_BACKWARD; break;
  case IPRO_OP_HARD_SWISH: kernel->sizes[1] = IPRO_GENERATED_HARD_SWISH_BACKWARD; break;
  case IPRO_OP_SQRT: kernel->sizes[1] = IPRO_GENERATED_SQRT_BACKWARD; break;
  case IPRO_OP_RECIPROCAL: kernel->sizes[1] = IPRO_GENERATED_RECIPROCAL_BACKWARD; break;
  default:
    return ipro_cuda_unsupported(err, "no generated gradient for forward op %lld",
                                 (long long)forward);
  }
  if (activation_constants(kernel, node, (int)forward, err)) return IPRO_ERROR;
  kernel->run = run_elementwise;
  return IPRO_OK;
}

/* dY, mask → dX = mask ? dY / (1 − ratio) : 0, the scale as the float the forward used. */
IPRO_CUDA_BUILD(ipro_cuda_build_dropout_grad) {
  if (ipro_cuda_expect_float(graph, node, 1u << 1, err)) return IPRO_ERROR;
  const ipro_tensor *mask = ipro_node_input(graph, node, 1);
  if (!mask || mask->dtype != IPRO_DTYPE_BOOL)
    return ipro_cuda_unsupported(err, "the mask must be bool");
  float ratio = ipro_node_attr_float(node, "ratio", 0.5f);
  if (!(ratio >= 0.0f && ratio < 1.0f))
    return ipro_error_set(err, "ratio %g outside [0, 1)", (double)ratio);
  float scale = 1.0f / (1.0f - ratio);
  if (ipro_cuda_set_constants(kernel, &scale, sizeof scale, err)) return IPRO_ERROR;
  kernel->sizes[0] = ipro_cuda_elements(ipro_cuda_input_shape(graph, node, 0));
  kernel->sizes[1] = IPRO_GENERATED_DROPOUT_GRAD;
  kernel->sizes[2] = 2;
  kernel->run = run_elementwise;
  return IPRO_OK;
}

/* X → Y, [mask]: dropout_forward with params {ratio} (the constants) and integers {stream,
 * step}. sizes[0]: count; sizes[1]: the node's stream (ipro_node_random_stream, the reference's
 * seed); offsets[0]: the mask in the workspace when the node has no mask output. */
static ipro_status run_dropout_training(const ipro_cuda_kernel *kernel, void *const *inputs,
                                        void *const *outputs, char *workspace, uint64_t step,
                                        ipro_error *err) {
  void *mask = outputs[1] ? outputs[1] : workspace + kernel->offsets[0];
  void *buffers[3] = {inputs[0], outputs[0], mask};
  const uint64_t integers[2] = {(uint64_t)kernel->sizes[1], step};
  return ipro_cuda_launch_with_integers(kernel, IPRO_GENERATED_DROPOUT_FORWARD, buffers, 3,
                                        workspace, kernel->sizes[0], 1, 1, integers, 2, err);
}

/* Dropout with training_mode 1 and a ratio in (0, 1); cuda_data_movement.c keeps the others. */
IPRO_CUDA_BUILD(ipro_cuda_build_dropout_training) {
  const ipro_tensor *x = ipro_node_input(graph, node, 0), *y = ipro_node_output(graph, node, 0);
  const ipro_tensor *mask = ipro_node_output(graph, node, 1);
  if (!x || !y || ipro_cuda_elements(&x->shape) != ipro_cuda_elements(&y->shape) ||
      (mask && ipro_cuda_elements(&mask->shape) != ipro_cuda_elements(&y->shape)))
    return ipro_error_set(err, "X, Y and the mask differ in size");
  float ratio = ipro_node_attr_float(node, "ratio", 0.5f);
  if (!(ratio >= 0.0f && ratio < 1.0f))
    return ipro_error_set(err, "ratio %g outside [0, 1)", (double)ratio);
  if (ipro_cuda_set_constants(kernel, &ratio, sizeof ratio, err)) return IPRO_ERROR;
  kernel->sizes[0] = ipro_cuda_elements(&y->shape);
  kernel->sizes[1] = (int64_t)ipro_node_random_stream(node);
  if (!mask) kernel->offsets[0] = ipro_cuda_reserve(kernel, (size_t)kernel->sizes[0]);
  kernel->run = run_dropout_training;
  return IPRO_OK;
}

/* ---- Div ---- */

/* How an operand of Div reaches the output's elements: the output's own shape, or one contiguous
 * run of the output's axes (the rest broadcast), read as a generated kernel's channel input. */
typedef struct {
  bool element;
  int64_t channels, inner;
} div_operand;

/* false when the operand broadcasts along axes on both sides of one it keeps. */
static bool div_layout(const ipro_shape *operand, const ipro_shape *y, div_operand *out) {
  int offset = y->rank - operand->rank, first = -1, last = -1;
  if (offset < 0) return false;
  for (int d = 0; d < y->rank; d++) {
    int64_t dim = d >= offset ? operand->dims[d - offset] : 1;
    if (dim != 1 && dim != y->dims[d]) return false;
    if (dim == y->dims[d] && dim != 1) {
      if (first < 0) first = d;
      last = d;
    }
  }
  *out = (div_operand){.element = true, .channels = 1, .inner = 1};
  for (int d = 0; d < y->rank; d++) {
    int64_t dim = d >= offset ? operand->dims[d - offset] : 1;
    if (dim != y->dims[d]) out->element = false;
    if (d >= first && d <= last && first >= 0) {
      if (dim != y->dims[d]) return false;
      out->channels *= y->dims[d];
    } else if (d > last) {
      out->inner *= y->dims[d];
    }
  }
  return true;
}

/* a, b → a / b. sizes[0]: count; sizes[1]: the kernel; sizes[2], sizes[3]: channels, inner. */
static ipro_status run_div(const ipro_cuda_kernel *kernel, void *const *inputs,
                           void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)workspace;
  (void)step;
  void *buffers[3] = {inputs[0], inputs[1], outputs[0]};
  return ipro_cuda_launch(kernel, (ipro_generated_kernel)kernel->sizes[1], buffers, 3, NULL,
                          kernel->sizes[0], kernel->sizes[2], kernel->sizes[3], err);
}

/* Float Div of operands of the output's shape, or with one of them broadcast along every axis but
 * one contiguous run (a scalar, a per-channel [1, C, 1, 1], a row or column vector). */
IPRO_CUDA_BUILD(ipro_cuda_build_div) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *a = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *b = ipro_cuda_input_shape(graph, node, 1);
  const ipro_shape *y = ipro_cuda_output_shape(graph, node, 0);
  div_operand da, db;
  if (!a || !b || !y) return ipro_cuda_unsupported(err, "an operand is absent");
  if (!div_layout(a, y, &da) || !div_layout(b, y, &db))
    return ipro_cuda_unsupported(err, "an operand broadcasts along axes on both sides of one it "
                                      "keeps");
  kernel->sizes[0] = ipro_cuda_elements(y);
  kernel->sizes[2] = 1, kernel->sizes[3] = 1;
  if (da.element && db.element) {
    kernel->sizes[1] = IPRO_GENERATED_DIV;
  } else if (da.element || db.element) {
    const div_operand *channel = da.element ? &db : &da;
    kernel->sizes[1] =
        da.element ? IPRO_GENERATED_DIV_CHANNEL_DIVISOR : IPRO_GENERATED_DIV_CHANNEL_DIVIDEND;
    kernel->sizes[2] = channel->channels, kernel->sizes[3] = channel->inner;
  } else {
    return ipro_cuda_unsupported(err, "both operands broadcast");
  }
  kernel->run = run_div;
  return IPRO_OK;
}

/* param, grad, velocity, hyper: in place, hyper as the kernel's params. */
static ipro_status run_sgd(const ipro_cuda_kernel *kernel, void *const *inputs,
                           void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)outputs;
  (void)workspace;
  (void)step;
  void *buffers[3] = {inputs[0], inputs[1], inputs[2]};
  return ipro_cuda_launch(kernel, IPRO_GENERATED_SGD_UPDATE, buffers, 3, inputs[3],
                          kernel->sizes[0], 1, 1, err);
}

/* Every operand float32; param, grad and the state the same size; hyper `hyper` values. */
static ipro_status check_update(const ipro_graph *graph, const ipro_node *node, int state,
                                int hyper, ipro_cuda_kernel *kernel, ipro_error *err) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  if (node->n_inputs != 3 + state) return ipro_error_set(err, "%d inputs", node->n_inputs);
  int64_t count = ipro_cuda_elements(ipro_cuda_input_shape(graph, node, 0));
  for (int i = 1; i < 2 + state; i++)
    if (!ipro_cuda_input_shape(graph, node, i) ||
        ipro_cuda_elements(ipro_cuda_input_shape(graph, node, i)) != count)
      return ipro_error_set(err, "input %d differs in size from the parameter", i);
  const ipro_shape *h = ipro_cuda_input_shape(graph, node, 2 + state);
  if (!h || ipro_cuda_elements(h) < hyper)
    return ipro_error_set(err, "the hyper-parameters hold fewer than %d values", hyper);
  kernel->sizes[0] = count;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_sgd_update) {
  if (check_update(graph, node, 1, 4, kernel, err)) return IPRO_ERROR;
  kernel->run = run_sgd;
  return IPRO_OK;
}

/* param, grad, m, v, hyper {lr, β1, β2, ε, wd, step}: the kernel's params are {lr, β1, β2, ε, wd,
 * 1 − β1^step, 1 − β2^step} in the workspace, the first five copied from hyper and the
 * corrections computed from it, all on the stream. */
static ipro_status run_adam(const ipro_cuda_kernel *kernel, void *const *inputs,
                            void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)outputs;
  (void)step;
  float *params = (float *)workspace;
  if (ipro_cuda_copy(kernel, params, inputs[4], 5 * sizeof(float), err)) return IPRO_ERROR;
  void *corrections[2] = {params + 5, params + 6};
  if (ipro_cuda_launch(kernel, IPRO_GENERATED_ADAM_BIAS_CORRECTIONS, corrections, 2, inputs[4], 1,
                       1, 1, err))
    return IPRO_ERROR;
  void *buffers[4] = {inputs[0], inputs[1], inputs[2], inputs[3]};
  return ipro_cuda_launch(kernel, IPRO_GENERATED_ADAM_UPDATE, buffers, 4, params, kernel->sizes[0],
                          1, 1, err);
}

IPRO_CUDA_BUILD(ipro_cuda_build_adam_update) {
  if (check_update(graph, node, 2, 6, kernel, err)) return IPRO_ERROR;
  ipro_cuda_reserve(kernel, 7 * sizeof(float));
  kernel->run = run_adam;
  return IPRO_OK;
}
