/* Reference kernels of the training program's loss: the ONNX op SoftmaxCrossEntropyLoss and its
 * gradient ipro.SoftmaxCrossEntropyGrad (codegen/internal_ops.md), and NegativeLogLikelihoodLoss,
 * the same loss on log-probabilities (what SoftmaxCrossEntropyLoss's ONNX expansion computes
 * after a LogSoftmax).
 *
 * Scores are (N, C, d1...) with the classes on axis 1 and labels (N, d1...), int64 or int32. The
 * log-softmax over the classes uses the forward Softmax's normaliser
 * (ipro_reference_softmax_normalizer), with the classes at stride D = d1 · d2 · ... The gradient
 * reads the log_prob the loss wrote rather than recomputing it. */
#include <math.h>
#include <string.h>

#include "reference_ops.h"

/* The scores' and labels' geometry: N, C, D = product of the trailing dimensions. */
typedef struct {
  int64_t batch, classes, inner;
  ipro_dtype label_dtype;
} class_layout;

/* Input 0 holds scores or log_prob (real, rank >= 2), input 1 the labels ((N, d1...), int64 or
 * int32). */
static ipro_status class_layout_of(const ipro_graph *graph, const ipro_node *node,
                                   class_layout *layout, ipro_error *err) {
  ipro_shape scores, labels;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &scores, err) ||
      ipro_reference_input_shape(graph, node, 1, &labels, err))
    return IPRO_ERROR;
  layout->label_dtype = ipro_node_input(graph, node, 1)->dtype;
  if (layout->label_dtype != IPRO_DTYPE_INT64 && layout->label_dtype != IPRO_DTYPE_INT32)
    return ipro_reference_fail(node, err, "%s labels; int64 or int32 expected",
                               ipro_dtype_name(layout->label_dtype));
  bool matches =
      scores.rank >= 2 && labels.rank == scores.rank - 1 && labels.dims[0] == scores.dims[0];
  for (int d = 2; matches && d < scores.rank; d++)
    matches = labels.dims[d - 1] == scores.dims[d];
  if (!matches)
    return ipro_reference_fail(node, err, "labels must be the scores' shape without axis 1");
  layout->batch = scores.dims[0];
  layout->classes = scores.dims[1];
  layout->inner = ipro_reference_product(scores.dims, 2, scores.rank);
  return IPRO_OK;
}

static int64_t label_at(const class_layout *layout, const void *labels, int64_t i) {
  return layout->label_dtype == IPRO_DTYPE_INT64 ? ((const int64_t *)labels)[i]
                                                 : ((const int32_t *)labels)[i];
}

/* scores, labels, [weights (C)] → loss, [log_prob]. Element (n, d) with label l has loss
 * −w[l] · log_prob[n, l, d] (w = 1 without weights); a label equal to ignore_index (when the node
 * has it) has loss 0 and weight 0. reduction "none" writes the element losses (N, d1...), "sum"
 * their sum, "mean" their sum divided by the sum of the weights of the elements not ignored,
 * which is the count of those elements without weights: ONNX's definition. With log_softmax the
 * scores are logits and log_prob their log-softmax over the classes (SoftmaxCrossEntropyLoss);
 * without, the scores are log_prob already (NegativeLogLikelihoodLoss, which has no output 1). */
static ipro_status class_loss(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                              void *const *outputs, bool log_softmax, ipro_error *err) {
  class_layout layout;
  if (class_layout_of(graph, node, &layout, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err))
    return IPRO_ERROR;
  const double *weights = ipro_reference_optional(inputs, node->n_inputs, 2);
  double *log_prob = ipro_reference_optional(outputs, node->n_outputs, 1);
  if (weights) {
    ipro_shape weight_shape;
    if (ipro_reference_expect_real(graph, node, true, 2, err) ||
        ipro_reference_input_shape(graph, node, 2, &weight_shape, err))
      return IPRO_ERROR;
    if (ipro_shape_elements(&weight_shape) != layout.classes)
      return ipro_reference_fail(node, err, "weights hold %lld values for %lld classes",
                                 (long long)ipro_shape_elements(&weight_shape),
                                 (long long)layout.classes);
  }
  if (log_prob && ipro_reference_expect_real(graph, node, false, 1, err)) return IPRO_ERROR;
  const char *reduction = ipro_node_attr_string(node, "reduction", "mean");
  bool none = strcmp(reduction, "none") == 0, mean = strcmp(reduction, "mean") == 0;
  if (!none && !mean && strcmp(reduction, "sum") != 0)
    return ipro_reference_fail(node, err, "reduction '%s' is not supported", reduction);
  bool has_ignore = ipro_node_attr(node, "ignore_index") != NULL;
  int64_t ignore_index = ipro_node_attr_int(node, "ignore_index", 0);
  const double *scores = inputs[0];
  const void *labels = inputs[1];
  double *loss = outputs[0];
  int64_t C = layout.classes, D = layout.inner;
  double total = 0.0, weight_total = 0.0;
  for (int64_t n = 0; n < layout.batch; n++)
    for (int64_t d = 0; d < D; d++) {
      const double *row = scores + n * C * D + d;
      double maximum, sum, log_sum = 0.0;
      if (log_softmax) {
        ipro_reference_softmax_normalizer(row, C, D, &maximum, &sum);
        log_sum = maximum + log(sum);
      }
      if (log_prob)
        for (int64_t k = 0; k < C; k++)
          log_prob[n * C * D + k * D + d] = (row[k * D] - log_sum);
      int64_t label = label_at(&layout, labels, n * D + d);
      double element = 0.0, weight = 0.0;
      if (!(has_ignore && label == ignore_index)) {
        if (label < 0 || label >= C)
          return ipro_reference_fail(node, err, "label %lld outside [0, %lld)", (long long)label,
                                     (long long)C);
        weight = weights ? (double)weights[label] : 1.0;
        element = -weight * (row[label * D] - log_sum);
      }
      if (none) loss[n * D + d] = element;
      total += element;
      weight_total += weight;
    }
  if (!none) loss[0] = (mean ? total / weight_total : total);
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_softmax_cross_entropy_loss) {
  (void)context;
  return class_loss(graph, node, inputs, outputs, true, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_negative_log_likelihood_loss) {
  (void)context;
  return class_loss(graph, node, inputs, outputs, false, err);
}

/* log_prob (N, C, d1...), labels (N, d1...) → dScores = scale · (exp(log_prob) − onehot(label)),
 * divided by N · D for "mean": the gradient of the unweighted loss without ignore_index, the
 * only form the training program uses. */
IPRO_REFERENCE_KERNEL(ipro_reference_softmax_cross_entropy_grad) {
  (void)context;
  class_layout layout;
  ipro_shape log_prob_shape, d_scores;
  if (class_layout_of(graph, node, &layout, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &log_prob_shape, err) ||
      ipro_reference_output_shape(graph, node, 0, &d_scores, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&log_prob_shape, &d_scores))
    return ipro_reference_fail(node, err, "log_prob and dScores differ in shape");
  const char *reduction = ipro_node_attr_string(node, "reduction", "mean");
  bool mean = strcmp(reduction, "mean") == 0;
  if (!mean && strcmp(reduction, "sum") != 0)
    return ipro_reference_fail(node, err, "reduction '%s' has no gradient kernel (mean, sum)",
                               reduction);
  int64_t C = layout.classes, D = layout.inner;
  double factor = ipro_node_attr_float(node, "scale", 1.0f);
  if (mean) factor /= (double)(layout.batch * D);
  const double *log_prob = inputs[0];
  const void *labels = inputs[1];
  double *out = outputs[0];
  for (int64_t n = 0; n < layout.batch; n++)
    for (int64_t d = 0; d < D; d++) {
      int64_t label = label_at(&layout, labels, n * D + d);
      if (label < 0 || label >= C)
        return ipro_reference_fail(node, err, "label %lld outside [0, %lld)", (long long)label,
                                   (long long)C);
      for (int64_t k = 0; k < C; k++) {
        int64_t at = n * C * D + k * D + d;
        out[at] = (factor * (exp((double)log_prob[at]) - (k == label ? 1.0 : 0.0)));
      }
    }
  return IPRO_OK;
}
