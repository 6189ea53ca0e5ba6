/* Reference kernels of the optimizer steps (codegen/internal_ops.md): ipro.SgdUpdate and
 * ipro.AdamUpdate. They have no outputs: they update the parameter and its optimizer state in
 * place, in the input buffers. The hyper-parameters come as a small float tensor (a STATE tensor
 * the trainer writes before each step), so a learning-rate schedule needs no new program.
 *
 * The formulas are PyTorch's SGD (without dampening) and AdamW, evaluated per element in double and
 * rounded once per stored value. */
#include <math.h>

#include "reference_ops.h"

/* Checks that inputs 0..count-1 are real with one element count, and that input `count` (the
 * hyper-parameters) holds at least `hyper_count` floats: the training program gives both
 * optimizers one hyper-parameter tensor of the larger size, and SGD reads its first 4. */
static ipro_status update_setup(const ipro_graph *graph, const ipro_node *node, int count,
                                int hyper_count, int64_t *elements, ipro_error *err) {
  ipro_shape shape, hyper;
  for (int i = 0; i <= count; i++)
    if (ipro_reference_expect_real(graph, node, true, i, err)) return IPRO_ERROR;
  if (ipro_reference_input_shape(graph, node, 0, &shape, err) ||
      ipro_reference_input_shape(graph, node, count, &hyper, err))
    return IPRO_ERROR;
  *elements = ipro_shape_elements(&shape);
  for (int i = 1; i < count; i++) {
    ipro_shape other;
    if (ipro_reference_input_shape(graph, node, i, &other, err)) return IPRO_ERROR;
    if (ipro_shape_elements(&other) != *elements)
      return ipro_reference_fail(node, err, "input %d holds %lld values; the parameter %lld", i,
                                 (long long)ipro_shape_elements(&other), (long long)*elements);
  }
  if (ipro_shape_elements(&hyper) < hyper_count)
    return ipro_reference_fail(node, err, "the hyper-parameters hold %lld values; %d needed",
                               (long long)ipro_shape_elements(&hyper), hyper_count);
  return IPRO_OK;
}

/* param, grad, velocity, hyper {lr, momentum, weight_decay, nesterov} → (in place):
 *   g = grad + weight_decay · param;  velocity = momentum · velocity + g;
 *   param −= lr · (nesterov ? g + momentum · velocity : velocity).
 * With a zero-initialised velocity the first step gives velocity = g, which is PyTorch's buffer
 * initialisation. */
IPRO_REFERENCE_KERNEL(ipro_reference_sgd_update) {
  (void)outputs, (void)context;
  int64_t count;
  if (update_setup(graph, node, 3, 4, &count, err)) return IPRO_ERROR;
  double *param = inputs[0], *velocity = inputs[2];
  const double *grad = inputs[1], *hyper = inputs[3];
  double lr = hyper[0], momentum = hyper[1], weight_decay = hyper[2];
  bool nesterov = hyper[3] != 0.0;
  for (int64_t i = 0; i < count; i++) {
    double g = (double)grad[i] + weight_decay * param[i];
    double v = momentum * velocity[i] + g;
    velocity[i] = v;
    param[i] = (param[i] - lr * (nesterov ? g + momentum * v : v));
  }
  return IPRO_OK;
}

/* param, grad, m, v, hyper {lr, beta1, beta2, epsilon, weight_decay, step (1-based)} → (in
 * place), AdamW with decoupled weight decay:
 *   param −= lr · weight_decay · param;  m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²;
 *   param −= lr · (m / (1 − β1^step)) / (sqrt(v / (1 − β2^step)) + epsilon). */
IPRO_REFERENCE_KERNEL(ipro_reference_adam_update) {
  (void)outputs, (void)context;
  int64_t count;
  if (update_setup(graph, node, 4, 6, &count, err)) return IPRO_ERROR;
  double *param = inputs[0], *m = inputs[2], *v = inputs[3];
  const double *grad = inputs[1], *hyper = inputs[4];
  double lr = hyper[0], beta1 = hyper[1], beta2 = hyper[2], epsilon = hyper[3];
  double weight_decay = hyper[4], step = hyper[5];
  if (!(step >= 1.0) || step != floor(step))
    return ipro_reference_fail(node, err, "step %g is not a positive whole number", step);
  double correction1 = 1.0 - pow(beta1, step), correction2 = 1.0 - pow(beta2, step);
  for (int64_t i = 0; i < count; i++) {
    double g = grad[i], p = param[i] * (1.0 - lr * weight_decay);
    double first = beta1 * m[i] + (1.0 - beta1) * g;
    double second = beta2 * v[i] + (1.0 - beta2) * g * g;
    m[i] = first;
    v[i] = second;
    param[i] = (p - lr * (first / correction1) / (sqrt(second / correction2) + epsilon));
  }
  return IPRO_OK;
}
