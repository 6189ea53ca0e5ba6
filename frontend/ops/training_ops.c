/* Op-table rows for the training ops: the ONNX loss SoftmaxCrossEntropyLoss, and the compiler's
 * internal ops of codegen/internal_ops.md (backward kernels, optimizer updates, the InfoPro local
 * losses). The internal ops are only ever built by autodiff with concrete shapes in their
 * attributes, so their inference mostly copies a shape; it still checks what it reads, since a
 * wrong shape here would be a wrong program. */
#include <string.h>

#include "ir/checked_size.h"
#include "op_helpers.h"
#include "op_rows.h"

/* ---- SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss ----
 * Both take (N, C, d1...) scores (log-probabilities for NegativeLogLikelihoodLoss), labels
 * (N, d1...), optional per-class weights, and the attributes reduction and ignore_index; only
 * SoftmaxCrossEntropyLoss has the second output, log_prob. */

ipro_status ipro_softmax_cross_entropy_normalize(ipro_graph *graph, ipro_node *node,
                                                 ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"reduction:s", "ignore_index:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  const char *reduction = ipro_node_attr_string(node, "reduction", "mean");
  if (strcmp(reduction, "mean") != 0 && strcmp(reduction, "sum") != 0 &&
      strcmp(reduction, "none") != 0)
    return ipro_op_fail(err, node, "reduction '%s' is not one of mean, sum, none", reduction);
  return ipro_op_default_string(node, "reduction", "mean", err);
}

ipro_status ipro_softmax_cross_entropy_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *scores, *labels, *weights;
  int max_outputs = node->op == IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS ? 2 : 1;
  if (ipro_op_check_arity(graph, node, 2, 3, 1, max_outputs, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &scores, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INDEX, &labels, err) != IPRO_OK ||
      ipro_op_optional_input(graph, node, 2, IPRO_DTYPES_REAL, &weights, err) != IPRO_OK)
    return IPRO_ERROR;
  const ipro_shape *s = &scores->shape, *l = &labels->shape;
  if (s->rank < 2 || l->rank != s->rank - 1)
    return ipro_op_fail(err, node, "scores '%s' must be [N, C, ...] and labels '%s' [N, ...]",
                        scores->name, labels->name);
  for (int d = 0; d < l->rank; d++) {
    int64_t want = s->dims[d == 0 ? 0 : d + 1];
    if (l->dims[d] != want)
      return ipro_op_fail(err, node, "labels '%s' do not match the shape of scores '%s'",
                          labels->name, scores->name);
  }
  if (weights && (weights->shape.rank != 1 || weights->shape.dims[0] != s->dims[1]))
    return ipro_op_fail(err, node, "weights '%s' must have one value per class", weights->name);
  ipro_shape loss = {.rank = 0};
  if (strcmp(ipro_node_attr_string(node, "reduction", "mean"), "none") == 0) loss = *l;
  if (ipro_op_set_output(graph, node, 0, scores->dtype, &loss, err) != IPRO_OK) return IPRO_ERROR;
  if (max_outputs == 1) return IPRO_OK;
  return ipro_op_set_output(graph, node, 1, scores->dtype, s, err);
}

int64_t ipro_softmax_cross_entropy_flops(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *scores = ipro_node_input(graph, node, 0);
  int64_t n = scores ? ipro_shape_elements(&scores->shape) : 0;
  return n > 0 ? 4 * n : 0;
}

/* ---- internal ops ---- */

/* Output i takes the shape in the int list attribute `name`, and input 0's real type (the
 * gradient flowing in: a gradient has the type of the tensor it differentiates). */
static ipro_status output_from_attribute(ipro_graph *graph, ipro_node *node, int i,
                                         const char *name, ipro_error *err) {
  int count = 0;
  const int64_t *dims = ipro_node_attr_ints(node, name, &count);
  if (!dims || count > IPRO_MAX_RANK)
    return ipro_op_fail(err, node, "attribute '%s' (a shape) is missing", name);
  ipro_shape shape = {.rank = count};
  for (int d = 0; d < count; d++) {
    if (dims[d] < 0)
      return ipro_op_fail(err, node, "attribute '%s' has a negative dimension", name);
    shape.dims[d] = dims[d];
  }
  return ipro_op_set_output(graph, node, i, ipro_node_input(graph, node, 0)->dtype, &shape, err);
}

/* Checks that inputs 0..n-1 are real (float32 or float64) with known shapes. */
static ipro_status float_inputs(ipro_graph *graph, ipro_node *node, int n, ipro_error *err) {
  ipro_tensor *unused;
  for (int i = 0; i < n; i++)
    if (ipro_op_input(graph, node, i, IPRO_DTYPES_REAL, &unused, err) != IPRO_OK) return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_shape_from_attribute_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  const char *attribute = "input_shape";
  switch (node->op) {
  case IPRO_OP_REDUCE_TO_SHAPE:
  case IPRO_OP_SLICE: attribute = "shape"; break;
  default: break;
  }
  if (float_inputs(graph, node, 1, err) != IPRO_OK) return IPRO_ERROR;
  return output_from_attribute(graph, node, 0, attribute, err);
}

ipro_status ipro_conv_grad_weight_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  if (float_inputs(graph, node, 2, err) != IPRO_OK ||
      output_from_attribute(graph, node, 0, "weight_shape", err) != IPRO_OK)
    return IPRO_ERROR;
  const ipro_tensor *dw = ipro_node_output(graph, node, 0);
  ipro_shape bias = {.rank = 1, .dims = {dw->shape.dims[0]}};
  return ipro_op_set_output(graph, node, 1, dw->dtype, &bias, err);
}

/* dY, X, Scale → dX, dScale, dB (axis: the first normalised dimension). */
ipro_status ipro_layer_norm_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  if (node->n_inputs != 3) return ipro_op_fail(err, node, "%d inputs; 3 expected", node->n_inputs);
  if (float_inputs(graph, node, 3, err) != IPRO_OK) return IPRO_ERROR;
  const ipro_tensor *dy = ipro_node_input(graph, node, 0), *x = ipro_node_input(graph, node, 1);
  const ipro_tensor *scale = ipro_node_input(graph, node, 2);
  int64_t axis = ipro_node_attr_int(node, "axis", -1);
  if (!ipro_shape_equal(&dy->shape, &x->shape) || axis < 1 || axis >= x->shape.rank)
    return ipro_op_fail(err, node, "gradient and input shapes or the axis do not agree");
  if (ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err) != IPRO_OK ||
      ipro_op_set_output(graph, node, 1, scale->dtype, &scale->shape, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 2, scale->dtype, &scale->shape, err);
}

ipro_status ipro_batch_norm_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  /* dY, X, scale, and optionally the saved mean and inverse standard deviation; fused with the
   * ReLU after the forward (codegen/fusion.h), also the ReLU's mask */
  bool fused = ipro_node_attr_int(node, "fused_relu", 0) != 0;
  if (fused ? node->n_inputs != 6 : node->n_inputs != 3 && node->n_inputs != 5)
    return ipro_op_fail(err, node, "%d inputs; %s expected", node->n_inputs,
                        fused ? "6" : "3 or 5");
  if (float_inputs(graph, node, fused ? 5 : node->n_inputs, err) != IPRO_OK) return IPRO_ERROR;
  ipro_tensor *mask = NULL;
  if (fused && ipro_op_input(graph, node, 5, IPRO_DTYPES(IPRO_DTYPE_BOOL), &mask, err) != IPRO_OK)
    return IPRO_ERROR;
  const ipro_tensor *dy = ipro_node_input(graph, node, 0), *x = ipro_node_input(graph, node, 1);
  const ipro_tensor *scale = ipro_node_input(graph, node, 2);
  if (!ipro_shape_equal(&dy->shape, &x->shape) || x->shape.rank < 2 || scale->shape.rank != 1 ||
      scale->shape.dims[0] != x->shape.dims[1])
    return ipro_op_fail(err, node, "gradient, input and scale shapes do not agree");
  if (mask && !ipro_shape_equal(&mask->shape, &x->shape))
    return ipro_op_fail(err, node, "the ReLU's mask and the input differ in shape");
  for (int i = 3; i < 5 && i < node->n_inputs; i++)
    if (!ipro_shape_equal(&ipro_node_input(graph, node, i)->shape, &scale->shape))
      return ipro_op_fail(err, node, "saved statistic %d is not a vector of the channels", i);
  if (ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err) != IPRO_OK ||
      ipro_op_set_output(graph, node, 1, scale->dtype, &scale->shape, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 2, scale->dtype, &scale->shape, err);
}

/* dX has the shape of input `like` (dY for elementwise gradients, X for pooling). */
static ipro_status output_like_input(ipro_graph *graph, ipro_node *node, int like,
                                     ipro_error *err) {
  ipro_tensor *source;
  if (ipro_op_input(graph, node, like, IPRO_DTYPES_REAL, &source, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, source->dtype, &source->shape, err);
}

ipro_status ipro_elementwise_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *dy, *other;
  bool mask = node->op == IPRO_OP_DROPOUT_GRAD;
  unsigned other_dtypes = mask ? IPRO_DTYPES(IPRO_DTYPE_BOOL) : IPRO_DTYPES_REAL;
  if (ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &dy, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, other_dtypes, &other, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!ipro_shape_equal(&dy->shape, &other->shape))
    return ipro_op_fail(err, node, "'%s' and '%s' must have the same shape", dy->name, other->name);
  /* a ReLU's gradient fused with the Sum that made its dY (codegen/fusion.h): dY's second term */
  if (node->n_inputs == 3 && node->op == IPRO_OP_UNARY_GRAD) {
    ipro_tensor *second;
    if (ipro_op_input(graph, node, 2, IPRO_DTYPES(dy->dtype), &second, err) != IPRO_OK)
      return IPRO_ERROR;
    if (!ipro_shape_equal(&dy->shape, &second->shape))
      return ipro_op_fail(err, node, "'%s' and '%s' must have the same shape", dy->name,
                          second->name);
  } else if (node->n_inputs != 2) {
    return ipro_op_fail(err, node, "%d inputs; 2%s expected", node->n_inputs,
                        node->op == IPRO_OP_UNARY_GRAD ? " or 3" : "");
  }
  return output_like_input(graph, node, 0, err);
}

ipro_status ipro_max_pool_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  if (float_inputs(graph, node, 2, err) != IPRO_OK) return IPRO_ERROR;
  return output_like_input(graph, node, 1, err);
}

ipro_status ipro_global_pool_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  if (float_inputs(graph, node, 1, err) != IPRO_OK) return IPRO_ERROR;
  return output_from_attribute(graph, node, 0, "input_shape", err);
}

ipro_status ipro_softmax_cross_entropy_grad_infer(ipro_graph *graph, ipro_node *node,
                                                  ipro_error *err) {
  ipro_tensor *log_prob, *labels;
  if (ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &log_prob, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INDEX, &labels, err) != IPRO_OK)
    return IPRO_ERROR;
  return output_like_input(graph, node, 0, err);
}

/* Optimizer updates write their inputs in place and have no outputs. */
ipro_status ipro_optimizer_update_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  int n = node->op == IPRO_OP_ADAM_UPDATE ? 5 : 4;
  if (ipro_op_check_arity(graph, node, n, n, 0, 0, err) != IPRO_OK ||
      float_inputs(graph, node, n, err) != IPRO_OK)
    return IPRO_ERROR;
  const ipro_tensor *param = ipro_node_input(graph, node, 0);
  for (int i = 1; i < n - 1; i++)
    if (!ipro_shape_equal(&param->shape, &ipro_node_input(graph, node, i)->shape))
      return ipro_op_fail(err, node, "parameter '%s' and its state differ in shape", param->name);
  return IPRO_OK;
}

/* ---- InfoPro losses (codegen/internal_ops.md, "The InfoPro losses") ---- */

/* The temperature attribute of the SupCon ops, which divides the similarities: positive. */
static ipro_status check_temperature(const ipro_node *node, ipro_error *err) {
  float temperature = ipro_node_attr_float(node, "temperature", 0.07f);
  if (!(temperature > 0.0f))
    return ipro_op_fail(err, node, "temperature %g is not positive", (double)temperature);
  return IPRO_OK;
}

/* p, target → loss (scalar), or → dP with p's shape for the gradient. */
ipro_status ipro_binary_cross_entropy_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *p, *target;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &p, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_REAL, &target, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!ipro_shape_equal(&p->shape, &target->shape))
    return ipro_op_fail(err, node, "prediction '%s' and target '%s' must have the same shape",
                        p->name, target->name);
  if (node->op == IPRO_OP_BINARY_CROSS_ENTROPY_GRAD)
    return ipro_op_set_output(graph, node, 0, p->dtype, &p->shape, err);
  ipro_shape loss = ipro_shape_scalar();
  return ipro_op_set_output(graph, node, 0, p->dtype, &loss, err);
}

/* features [N, D], labels [N] → loss (scalar), or → dFeatures [N, D] for the gradient. */
ipro_status ipro_sup_con_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *features, *labels;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &features, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INDEX, &labels, err) != IPRO_OK ||
      check_temperature(node, err) != IPRO_OK)
    return IPRO_ERROR;
  if (features->shape.rank != 2)
    return ipro_op_fail(err, node, "features '%s' must be [N, D], not of rank %d", features->name,
                        features->shape.rank);
  if (labels->shape.rank != 1 || labels->shape.dims[0] != features->shape.dims[0])
    return ipro_op_fail(err, node, "labels '%s' must be [N], one per row of features '%s'",
                        labels->name, features->name);
  if (node->op == IPRO_OP_SUP_CON_GRAD)
    return ipro_op_set_output(graph, node, 0, features->dtype, &features->shape, err);
  ipro_shape loss = ipro_shape_scalar();
  return ipro_op_set_output(graph, node, 0, features->dtype, &loss, err);
}

/* The N x N similarity matrix costs 2·N²·D; the gradient multiplies it back into the features,
 * as much again. */
int64_t ipro_sup_con_flops(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *features = ipro_node_input(graph, node, 0);
  if (!features || features->shape.rank != 2) return 0;
  int64_t n = ipro_op_dim(graph, features->shape.dims[0]), d = features->shape.dims[1];
  if (n < 0 || d < 0) return 0;
  int64_t factors[] = {node->op == IPRO_OP_SUP_CON_GRAD ? 4 : 2, n, n, d};
  return ipro_product_or_overflow(factors, 4);
}

/* Backward FLOPs: a convolution gradient costs what the forward did; everything else touches
 * each output element once. */
int64_t ipro_training_op_flops(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *dy = ipro_node_input(graph, node, 0);
  int64_t elements = dy ? ipro_shape_elements(&dy->shape) : 0;
  if (elements < 0) return 0;
  if (node->op == IPRO_OP_CONV_GRAD_INPUT || node->op == IPRO_OP_CONV_GRAD_WEIGHT) {
    int n_kernel = 0, n_shape = 0;
    const int64_t *kernel = ipro_node_attr_ints(node, "kernel_shape", &n_kernel);
    bool weight = node->op == IPRO_OP_CONV_GRAD_WEIGHT;
    const int64_t *shape =
        ipro_node_attr_ints(node, weight ? "weight_shape" : "input_shape", &n_shape);
    if (n_shape < 2) return 0;
    int64_t group = ipro_node_attr_int(node, "group", 1);
    /* input channels per group: W is [Cout, Cin/group, k...], X is [N, Cin, ...] */
    int64_t per_output = weight ? shape[1] : shape[1] / (group > 0 ? group : 1);
    int64_t factors[] = {2, elements, per_output, ipro_product_or_overflow(kernel, n_kernel)};
    return factors[3] < 0 ? IPRO_SIZE_OVERFLOW : ipro_product_or_overflow(factors, 4);
  }
  return elements;
}
