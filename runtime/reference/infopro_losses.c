/* Reference kernels of the InfoPro local losses (codegen/internal_ops.md, "The InfoPro losses"):
 * the decoder's reconstruction loss ipro.BinaryCrossEntropy and the contrastive head's
 * ipro.SupConLoss, each with its gradient kernel.
 *
 * BinaryCrossEntropy follows PyTorch's BCELoss to the letter (each log clamped below at −100, the
 * gradient's denominator p(1−p) clamped below at 1e-12), so that a reconstruction loss and its
 * gradient match the paper's reference code even where the decoder's Sigmoid saturates.
 *
 * SupConLoss (Khosla et al. 2020, every sample an anchor, base temperature = temperature) works on
 * z = f / max(‖f‖, 1e-12) per row. With s_ij = z_i·z_j / T, P(i) the other samples of i's class
 * and m_i = max(|P(i)|, 1), anchor i contributes
 *     L_i = |P(i)|/m_i · log Σ_{a≠i} exp(s_ia) − 1/m_i · Σ_{p∈P(i)} s_ip
 * and the loss is the mean of L_i over all N anchors (an anchor alone in its class contributes 0
 * but still counts in the mean). The log-sum-exp subtracts the row's maximum first, since
 * |s_ij| ≤ 1/T ≈ 14 and exp(14·k) overflows float long before double.
 *
 * The gradient goes through the similarities: ∂loss/∂s_ij = G_ij with
 *     G_ij = (|P(i)| · softmax_i(j) − [j ∈ P(i)]) / (m_i · N)   for j ≠ i, G_ii = 0,
 * softmax_i taken over a ≠ i, so ∂loss/∂z_i = Σ_j (G_ij + G_ji) z_j / T, and then through the
 * normalisation ∂loss/∂f_i = (g_i − z_i (z_i·g_i)) / ‖f_i‖ (g_i / 1e-12 where the norm is clamped,
 * as PyTorch's F.normalize differentiates its clamp). Everything is O(N²·D) in double. */
#include <math.h>
#include <stdlib.h>

#include "reference_ops.h"

#define BCE_LOG_FLOOR -100.0
#define BCE_GRAD_EPSILON 1e-12
#define NORM_EPSILON 1e-12

/* ---- BinaryCrossEntropy ---- */

/* p and target: real, of one shape; returns their element count through *count. */
static ipro_status bce_operands(const ipro_graph *graph, const ipro_node *node, int64_t *count,
                                ipro_error *err) {
  ipro_shape p, target;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, true, 1, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &p, err) ||
      ipro_reference_input_shape(graph, node, 1, &target, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&p, &target))
    return ipro_reference_fail(node, err, "prediction and target differ in shape");
  *count = ipro_shape_elements(&p);
  return IPRO_OK;
}

/* p, target → loss = −mean(t·max(log p, −100) + (1−t)·max(log(1−p), −100)). */
IPRO_REFERENCE_KERNEL(ipro_reference_binary_cross_entropy) {
  (void)context;
  int64_t count = 0;
  ipro_shape loss_shape;
  if (bce_operands(graph, node, &count, err) ||
      ipro_reference_output_shape(graph, node, 0, &loss_shape, err))
    return IPRO_ERROR;
  if (ipro_shape_elements(&loss_shape) != 1)
    return ipro_reference_fail(node, err, "the loss must be a scalar");
  const double *p = inputs[0], *target = inputs[1];
  double total = 0.0;
  for (int64_t i = 0; i < count; i++) {
    double log_p = fmax(log((double)p[i]), BCE_LOG_FLOOR);
    double log_q = fmax(log(1.0 - (double)p[i]), BCE_LOG_FLOOR);
    total -= (double)target[i] * log_p + (1.0 - (double)target[i]) * log_q;
  }
  ((double *)outputs[0])[0] = (count > 0 ? total / (double)count : 0.0);
  return IPRO_OK;
}

/* p, target → dP = scale · (p − t) / max(p(1−p), 1e-12) / numel. */
IPRO_REFERENCE_KERNEL(ipro_reference_binary_cross_entropy_grad) {
  (void)context;
  int64_t count = 0;
  ipro_shape p_shape, dp_shape;
  if (bce_operands(graph, node, &count, err) ||
      ipro_reference_input_shape(graph, node, 0, &p_shape, err) ||
      ipro_reference_output_shape(graph, node, 0, &dp_shape, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&p_shape, &dp_shape))
    return ipro_reference_fail(node, err, "dP and the prediction differ in shape");
  double factor = (double)ipro_node_attr_float(node, "scale", 1.0f) / (double)(count ? count : 1);
  const double *p = inputs[0], *target = inputs[1];
  double *dp = outputs[0];
  for (int64_t i = 0; i < count; i++) {
    double pi = p[i];
    dp[i] = (factor * (pi - (double)target[i]) / fmax(pi * (1.0 - pi), BCE_GRAD_EPSILON));
  }
  return IPRO_OK;
}

/* ---- SupConLoss ---- */

/* What both SupCon kernels compute first: the normalised rows, their norms, the similarity
 * matrix and, per anchor, the size of its positive set and the log of its softmax denominator. */
typedef struct {
  int64_t n, d;
  double temperature;
  double *z;          /* n x d, rows of unit length (or f / 1e-12) */
  double *norm;       /* n: max(‖f_i‖, 1e-12) */
  double *similarity; /* n x n: z_i·z_j / T */
  int64_t *label;     /* n: the labels, widened */
  int64_t *positives; /* n: |P(i)| */
  double *log_sum;    /* n: log Σ_{a≠i} exp(s_ia), for anchors with positives */
} sup_con;

static void sup_con_free(sup_con *s) {
  free(s->z), free(s->norm), free(s->similarity), free(s->label), free(s->positives);
  free(s->log_sum);
}

/* Reads features (real [N, D]) and labels (int64 or int32 [N]) and fills s. */
static ipro_status sup_con_prepare(const ipro_graph *graph, const ipro_node *node,
                                   void *const *inputs, sup_con *s, ipro_error *err) {
  *s = (sup_con){0};
  ipro_shape features, labels;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &features, err) ||
      ipro_reference_input_shape(graph, node, 1, &labels, err))
    return IPRO_ERROR;
  ipro_dtype label_dtype = ipro_node_input(graph, node, 1)->dtype;
  if (label_dtype != IPRO_DTYPE_INT64 && label_dtype != IPRO_DTYPE_INT32)
    return ipro_reference_fail(node, err, "%s labels; int64 or int32 expected",
                               ipro_dtype_name(label_dtype));
  if (features.rank != 2 || labels.rank != 1 || labels.dims[0] != features.dims[0])
    return ipro_reference_fail(node, err, "features must be [N, D] and labels [N]");
  s->temperature = ipro_node_attr_float(node, "temperature", 0.07f);
  if (!(s->temperature > 0.0))
    return ipro_reference_fail(node, err, "temperature %g is not positive", s->temperature);
  int64_t n = s->n = features.dims[0], d = s->d = features.dims[1];
  size_t rows = (size_t)(n > 0 ? n : 1);
  s->z = malloc(rows * (size_t)(d > 0 ? d : 1) * sizeof *s->z);
  s->norm = malloc(rows * sizeof *s->norm);
  s->similarity = malloc(rows * rows * sizeof *s->similarity);
  s->label = malloc(rows * sizeof *s->label);
  s->positives = calloc(rows, sizeof *s->positives);
  s->log_sum = calloc(rows, sizeof *s->log_sum);
  if (!s->z || !s->norm || !s->similarity || !s->label || !s->positives || !s->log_sum) {
    sup_con_free(s);
    return ipro_reference_fail(node, err, "out of memory");
  }
  const double *f = inputs[0];
  for (int64_t i = 0; i < n; i++)
    s->label[i] = label_dtype == IPRO_DTYPE_INT64 ? ((const int64_t *)inputs[1])[i]
                                                  : ((const int32_t *)inputs[1])[i];
  for (int64_t i = 0; i < n; i++) {
    double squares = 0.0;
    for (int64_t k = 0; k < d; k++)
      squares += (double)f[i * d + k] * f[i * d + k];
    s->norm[i] = fmax(sqrt(squares), NORM_EPSILON);
    for (int64_t k = 0; k < d; k++)
      s->z[i * d + k] = f[i * d + k] / s->norm[i];
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      double dot = 0.0;
      for (int64_t k = 0; k < d; k++)
        dot += s->z[i * d + k] * s->z[j * d + k];
      s->similarity[i * n + j] = dot / s->temperature;
      if (j != i && s->label[j] == s->label[i]) s->positives[i]++;
    }
  for (int64_t i = 0; i < n; i++) {
    if (s->positives[i] == 0) continue; /* then there is another sample to sum over */
    const double *row = s->similarity + i * n;
    double maximum = -INFINITY, sum = 0.0;
    for (int64_t a = 0; a < n; a++)
      if (a != i) maximum = fmax(maximum, row[a]);
    for (int64_t a = 0; a < n; a++)
      if (a != i) sum += exp(row[a] - maximum);
    s->log_sum[i] = maximum + log(sum);
  }
  return IPRO_OK;
}

/* features, labels → loss (scalar). */
IPRO_REFERENCE_KERNEL(ipro_reference_sup_con_loss) {
  (void)context;
  sup_con s;
  ipro_shape loss_shape;
  if (ipro_reference_output_shape(graph, node, 0, &loss_shape, err) ||
      sup_con_prepare(graph, node, inputs, &s, err))
    return IPRO_ERROR;
  if (ipro_shape_elements(&loss_shape) != 1) {
    sup_con_free(&s);
    return ipro_reference_fail(node, err, "the loss must be a scalar");
  }
  double total = 0.0;
  for (int64_t i = 0; i < s.n; i++) {
    if (s.positives[i] == 0) continue;
    double positive_sum = 0.0;
    for (int64_t j = 0; j < s.n; j++)
      if (j != i && s.label[j] == s.label[i]) positive_sum += s.similarity[i * s.n + j];
    total += s.log_sum[i] - positive_sum / (double)s.positives[i];
  }
  ((double *)outputs[0])[0] = (s.n > 0 ? total / (double)s.n : 0.0);
  sup_con_free(&s);
  return IPRO_OK;
}

/* features, labels → dFeatures = scale · ∂loss/∂features. */
IPRO_REFERENCE_KERNEL(ipro_reference_sup_con_grad) {
  (void)context;
  sup_con s;
  ipro_shape features_shape, gradient_shape;
  if (ipro_reference_input_shape(graph, node, 0, &features_shape, err) ||
      ipro_reference_output_shape(graph, node, 0, &gradient_shape, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&features_shape, &gradient_shape))
    return ipro_reference_fail(node, err, "dFeatures and the features differ in shape");
  if (sup_con_prepare(graph, node, inputs, &s, err)) return IPRO_ERROR;
  int64_t n = s.n, d = s.d;
  /* G, the gradient of the loss with respect to the similarities, overwrites them row by row:
   * row i of G only needs row i of s. */
  double *g = s.similarity;
  for (int64_t i = 0; i < n; i++) {
    double *row = g + i * n;
    if (s.positives[i] == 0) {
      for (int64_t j = 0; j < n; j++)
        row[j] = 0.0;
      continue;
    }
    double per_positive = 1.0 / ((double)s.positives[i] * (double)n);
    for (int64_t j = 0; j < n; j++) {
      if (j == i) {
        row[j] = 0.0;
        continue;
      }
      double softmax = exp(row[j] - s.log_sum[i]);
      double positive = s.label[j] == s.label[i] ? 1.0 : 0.0;
      row[j] = per_positive * ((double)s.positives[i] * softmax - positive);
    }
  }
  double factor = (double)ipro_node_attr_float(node, "scale", 1.0f) / s.temperature;
  double *dz = malloc((size_t)(d > 0 ? d : 1) * sizeof *dz);
  if (!dz) {
    sup_con_free(&s);
    return ipro_reference_fail(node, err, "out of memory");
  }
  double *out = outputs[0];
  for (int64_t i = 0; i < n; i++) {
    for (int64_t k = 0; k < d; k++)
      dz[k] = 0.0;
    for (int64_t j = 0; j < n; j++) {
      double weight = g[i * n + j] + g[j * n + i];
      if (weight == 0.0) continue;
      for (int64_t k = 0; k < d; k++)
        dz[k] += weight * s.z[j * d + k];
    }
    const double *zi = s.z + i * d;
    double radial = 0.0;
    bool clamped = s.norm[i] <= NORM_EPSILON;
    if (!clamped)
      for (int64_t k = 0; k < d; k++)
        radial += zi[k] * dz[k];
    for (int64_t k = 0; k < d; k++)
      out[i * d + k] = (factor * (dz[k] - radial * zi[k]) / s.norm[i]);
  }
  free(dz);
  sup_con_free(&s);
  return IPRO_OK;
}
