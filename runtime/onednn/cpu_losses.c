/* The InfoPro local losses (codegen/internal_ops.md, "The InfoPro losses") as kernels of the CPU
 * backend: ipro.BinaryCrossEntropy(+Grad), the decoder's reconstruction loss, and
 * ipro.SupConLoss / ipro.SupConGrad, the contrastive head's. The formulas, clamps and
 * conventions are the reference's (runtime/reference/infopro_losses.c, whose comment derives
 * them); these kernels compute in float where the reference uses double, accumulate sums in
 * double, and split SupCon's loops over threads.
 *
 * BinaryCrossEntropy's element-wise parts are generated kernels (cpu_generated.c,
 * ir/kernel_library.c: the loss terms and the gradient, in float with a vectorised log),
 * measured several times faster than the scalar loops they replaced. The loss sums its terms in a
 * fixed number of chunks, each in double (the chunks split over threads), and then the chunks in
 * order, so the loss does not depend on how the work is split or on the number of threads.
 *
 * SupCon works on z = f / max(‖f‖, 1e-12). The similarities z·zᵀ are a oneDNN matmul (the one
 * O(N²·D) part of the loss); the loss then needs per anchor the log-sum-exp of its row over
 * a ≠ i (after subtracting the row's maximum) and the sum over its positives. The gradient
 * overwrites the similarities with G (∂loss/∂s), adds its transpose (H = G + Gᵀ, so that
 * ∂loss/∂z = H·z / T is a second matmul) and takes dz through the normalisation. The workspace
 * holds z, the norms, the N×N similarities (and H) and dz. */
#include <math.h>
#include <string.h>

#include "ir/checked_size.h"
#include "onednn_internal.h"

#define NORM_EPSILON 1e-12
#define BCE_CHUNKS 64

/* ---- BinaryCrossEntropy ---- */

typedef struct {
  int64_t count;
  float factor;                    /* the gradient's scale / count */
  ipro_onednn_generated_fn kernel; /* the generated loss terms or gradient */
} bce_state;

/* The generated kernel writes the terms of BCE_BLOCK elements at a time into a buffer on the stack
 * (no workspace), which is then summed in double. */
#define BCE_BLOCK 1024

static ipro_status bce_loss_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                void *const *outputs, char *workspace, uint64_t step,
                                ipro_error *err) {
  (void)step, (void)workspace, (void)err;
  const bce_state *s = kernel->state;
  const float *p = inputs[0], *target = inputs[1];
  double partial[BCE_CHUNKS];
  IPRO_ONEDNN_PARALLEL_FOR(2 * s->count)
  for (int c = 0; c < BCE_CHUNKS; c++) {
    int64_t begin = s->count * c / BCE_CHUNKS, end = s->count * (c + 1) / BCE_CHUNKS;
    double sum = 0.0;
    float terms[BCE_BLOCK];
    for (int64_t block = begin; block < end; block += BCE_BLOCK) {
      int64_t n = end - block < BCE_BLOCK ? end - block : BCE_BLOCK;
      s->kernel.entry((const void *const[]){p + block, target + block}, (void *const[]){terms},
                      NULL, n, 1, n, NULL);
      for (int64_t i = 0; i < n; i++)
        sum += terms[i];
    }
    partial[c] = sum;
  }
  double total = 0.0;
  for (int c = 0; c < BCE_CHUNKS; c++)
    total += partial[c];
  ((float *)outputs[0])[0] = (float)(s->count > 0 ? total / (double)s->count : 0.0);
  return IPRO_OK;
}

static ipro_status bce_grad_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                void *const *outputs, char *workspace, uint64_t step,
                                ipro_error *err) {
  (void)step, (void)workspace, (void)err;
  const bce_state *s = kernel->state;
  ipro_onednn_generated_run(&s->kernel, (const void *const[]){inputs[0], inputs[1]}, outputs,
                            &s->factor, s->count, NULL);
  return IPRO_OK;
}

/* p and target of one shape; loss a scalar, or dP of p's shape. */
static ipro_status build_bce(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                             const ipro_node *node, bool gradient, ipro_error *err) {
  ipro_shape p, target, out;
  if (ipro_onednn_input_shape(graph, node, 0, &p, err) ||
      ipro_onednn_input_shape(graph, node, 1, &target, err) ||
      ipro_onednn_output_shape(graph, node, 0, &out, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&p, &target))
    return ipro_onednn_unsupported(err, "prediction and target differ in shape");
  if (gradient ? !ipro_shape_equal(&p, &out) : ipro_shape_elements(&out) != 1)
    return ipro_onednn_unsupported(err, "the output's shape does not fit");
  bce_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->count = ipro_shape_elements(&p);
  s->factor = (float)((double)ipro_node_attr_float(node, "scale", 1.0f) /
                      (double)(s->count ? s->count : 1));
  ipro_generated_kernel which = gradient ? IPRO_GENERATED_BCE_GRAD : IPRO_GENERATED_BCE_LOSS_TERMS;
  if (ipro_onednn_generated_kernel(which, kernel->backend, &s->kernel, err)) return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, gradient ? bce_grad_run : bce_loss_run, err);
}

ipro_status ipro_onednn_build_binary_cross_entropy(ipro_onednn_kernel *kernel,
                                                   const ipro_graph *graph, const ipro_node *node,
                                                   ipro_error *err) {
  return build_bce(kernel, graph, node, false, err);
}

ipro_status ipro_onednn_build_binary_cross_entropy_grad(ipro_onednn_kernel *kernel,
                                                        const ipro_graph *graph,
                                                        const ipro_node *node, ipro_error *err) {
  return build_bce(kernel, graph, node, true, err);
}

/* ---- SupCon ---- */

typedef struct {
  int64_t n, d;
  float temperature, scale;
  bool wide_labels;                    /* int64 (else int32) */
  size_t z, norm, similarity, sum, dz; /* workspace offsets */
} sup_con_state;

static int64_t label_at(const sup_con_state *s, const void *labels, int64_t i) {
  return s->wide_labels ? ((const int64_t *)labels)[i] : ((const int32_t *)labels)[i];
}

/* z and the norms from the features. */
static ipro_status sup_con_normalize(const ipro_onednn_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)step, (void)outputs, (void)err;
  const sup_con_state *s = kernel->state;
  const float *f = inputs[0];
  float *z = (float *)(workspace + s->z), *norm = (float *)(workspace + s->norm);
  IPRO_ONEDNN_PARALLEL_FOR(s->n * s->d)
  for (int64_t i = 0; i < s->n; i++) {
    const float *row = f + i * s->d;
    double squares = 0.0;
    for (int64_t k = 0; k < s->d; k++)
      squares += (double)row[k] * row[k];
    double length = fmax(sqrt(squares), NORM_EPSILON);
    norm[i] = (float)length;
    for (int64_t k = 0; k < s->d; k++)
      z[i * s->d + k] = (float)(row[k] / length);
  }
  return IPRO_OK;
}

/* Anchor i's |P(i)|, and (for an anchor with positives) the log of its softmax denominator
 * log Σ_{a≠i} exp(s_ia), s = similarity / T, and the sum of its positives' s. */
static int64_t sup_con_row(const sup_con_state *s, const float *similarity, const void *labels,
                           int64_t i, double *log_sum, double *positive_sum) {
  const float *row = similarity + i * s->n;
  int64_t label = label_at(s, labels, i), positives = 0;
  float maximum = -INFINITY;
  double positive = 0.0;
  for (int64_t a = 0; a < s->n; a++) {
    if (a == i) continue;
    float value = row[a] / s->temperature;
    maximum = fmaxf(maximum, value);
    if (label_at(s, labels, a) == label) positives++, positive += value;
  }
  if (positives == 0) return 0;
  double sum = 0.0;
  for (int64_t a = 0; a < s->n; a++)
    if (a != i) sum += expf(row[a] / s->temperature - maximum);
  *log_sum = (double)maximum + log(sum);
  *positive_sum = positive;
  return positives;
}

static ipro_status sup_con_loss_rows(const ipro_onednn_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)step, (void)err;
  const sup_con_state *s = kernel->state;
  const float *similarity = (const float *)(workspace + s->similarity);
  double *terms = (double *)(workspace + s->sum);
  IPRO_ONEDNN_PARALLEL_FOR(s->n * s->n)
  for (int64_t i = 0; i < s->n; i++) {
    double log_sum = 0.0, positive_sum = 0.0;
    int64_t positives = sup_con_row(s, similarity, inputs[1], i, &log_sum, &positive_sum);
    terms[i] = positives ? log_sum - positive_sum / (double)positives : 0.0;
  }
  double total = 0.0;
  for (int64_t i = 0; i < s->n; i++)
    total += terms[i];
  ((float *)outputs[0])[0] = (float)(s->n > 0 ? total / (double)s->n : 0.0);
  return IPRO_OK;
}

/* G over the similarities (row i of G needs only row i), then H = G + Gᵀ beside it. */
static ipro_status sup_con_grad_rows(const ipro_onednn_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)step, (void)outputs, (void)err;
  const sup_con_state *s = kernel->state;
  int64_t n = s->n;
  float *g = (float *)(workspace + s->similarity), *h = g + n * n;
  IPRO_ONEDNN_PARALLEL_FOR(n * n)
  for (int64_t i = 0; i < n; i++) {
    float *row = g + i * n;
    double log_sum = 0.0, positive_sum = 0.0;
    int64_t positives = sup_con_row(s, g, inputs[1], i, &log_sum, &positive_sum);
    int64_t label = label_at(s, inputs[1], i);
    double per_positive = positives ? 1.0 / ((double)positives * (double)n) : 0.0;
    for (int64_t j = 0; j < n; j++) {
      if (j == i || positives == 0) {
        row[j] = 0.0f;
        continue;
      }
      double softmax = exp((double)(row[j] / s->temperature) - log_sum);
      double positive = label_at(s, inputs[1], j) == label ? 1.0 : 0.0;
      row[j] = (float)(per_positive * ((double)positives * softmax - positive));
    }
  }
  IPRO_ONEDNN_PARALLEL_FOR(n * n)
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++)
      h[i * n + j] = g[i * n + j] + g[j * n + i];
  return IPRO_OK;
}

/* dF_i = scale / T · (dz_i − z_i (z_i·dz_i)) / ‖f_i‖, dz = H·z. */
static ipro_status sup_con_grad_out(const ipro_onednn_kernel *kernel, void *const *inputs,
                                    void *const *outputs, char *workspace, uint64_t step,
                                    ipro_error *err) {
  (void)step, (void)inputs, (void)err;
  const sup_con_state *s = kernel->state;
  const float *z = (const float *)(workspace + s->z), *dz = (const float *)(workspace + s->dz);
  const float *norm = (const float *)(workspace + s->norm);
  float *out = outputs[0];
  double factor = (double)s->scale / (double)s->temperature;
  IPRO_ONEDNN_PARALLEL_FOR(s->n * s->d)
  for (int64_t i = 0; i < s->n; i++) {
    const float *zi = z + i * s->d, *dzi = dz + i * s->d;
    double radial = 0.0;
    if (norm[i] > NORM_EPSILON)
      for (int64_t k = 0; k < s->d; k++)
        radial += (double)zi[k] * dzi[k];
    for (int64_t k = 0; k < s->d; k++)
      out[i * s->d + k] = (float)(factor * (dzi[k] - radial * zi[k]) / norm[i]);
  }
  return IPRO_OK;
}

/* A matmul step dst = a · b over workspace intermediates; b_transposed reads b's storage
 * (columns × inner, row-major) as its transpose. */
static ipro_status matmul_step(ipro_onednn_kernel *kernel, int64_t rows, int64_t inner,
                               int64_t columns, size_t a, size_t b, bool b_transposed, size_t dst,
                               ipro_error *err) {
  dnnl_memory_desc_t a_md, b_md, dst_md;
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_dims_t a_dims = {rows, inner}, b_dims = {inner, columns}, dst_dims = {rows, columns};
  dnnl_dims_t a_strides = {inner, 1}, dst_strides = {columns, 1};
  dnnl_dims_t b_strides = {b_transposed ? 1 : columns, b_transposed ? inner : 1};
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dnnl_f32, a_strides));
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_strides(&b_md, 2, b_dims, dnnl_f32, b_strides));
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_strides(&dst_md, 2, dst_dims, dnnl_f32, dst_strides));
  IPRO_ONEDNN_CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &dst_md));
  if (ipro_onednn_create_pd(kernel, &desc, NULL, &pd, err) ||
      ipro_onednn_bind_md(kernel, &a_md, DNNL_ARG_SRC, IPRO_ONEDNN_INTERMEDIATE, a, err) ||
      ipro_onednn_bind_md(kernel, &b_md, DNNL_ARG_WEIGHTS, IPRO_ONEDNN_INTERMEDIATE, b, err) ||
      ipro_onednn_bind_md(kernel, &dst_md, DNNL_ARG_DST, IPRO_ONEDNN_INTERMEDIATE, dst, err))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return IPRO_ERROR;
}

/* features [N, D] float32, labels [N] int64 or int32; loss a scalar, or dFeatures [N, D]. */
static ipro_status build_sup_con(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                 const ipro_node *node, bool gradient, ipro_error *err) {
  ipro_shape features, labels, out;
  if (ipro_onednn_input_shape(graph, node, 0, &features, err) ||
      ipro_onednn_input_shape(graph, node, 1, &labels, err) ||
      ipro_onednn_output_shape(graph, node, 0, &out, err))
    return IPRO_ERROR;
  ipro_dtype label_dtype = ipro_node_input(graph, node, 1)->dtype;
  if (label_dtype != IPRO_DTYPE_INT64 && label_dtype != IPRO_DTYPE_INT32)
    return ipro_onednn_unsupported(err, "%s labels", ipro_dtype_name(label_dtype));
  if (features.rank != 2 || labels.rank != 1 || labels.dims[0] != features.dims[0] ||
      features.dims[0] < 1 || features.dims[1] < 1)
    return ipro_onednn_unsupported(err, "features must be [N, D] and labels [N]");
  if (gradient ? !ipro_shape_equal(&features, &out) : ipro_shape_elements(&out) != 1)
    return ipro_onednn_unsupported(err, "the output's shape does not fit");
  float temperature = ipro_node_attr_float(node, "temperature", 0.07f);
  if (!(temperature > 0.0f))
    return ipro_onednn_unsupported(err, "temperature %g is not positive", (double)temperature);
  sup_con_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  int64_t n = s->n = features.dims[0], d = s->d = features.dims[1], square;
  if (!ipro_checked_mul(n, n, &square) || square > IPRO_MAX_TENSOR_ELEMENTS / 2)
    return ipro_error_set(err,
                          "node '%s' (%s): the %lld x %lld similarity matrix of the contrast loss "
                          "is larger than one tensor may be; use a batch of at most 32767",
                          node->name, node->op_type, (long long)n, (long long)n);
  s->temperature = temperature;
  s->scale = ipro_node_attr_float(node, "scale", 1.0f);
  s->wide_labels = label_dtype == IPRO_DTYPE_INT64;
  s->z = ipro_onednn_reserve(kernel, (size_t)(n * d) * sizeof(float));
  s->norm = ipro_onednn_reserve(kernel, (size_t)n * sizeof(float));
  /* the similarities, and for the gradient H after them */
  s->similarity = ipro_onednn_reserve(kernel, (size_t)((gradient ? 2 : 1) * n * n) * sizeof(float));
  if (!gradient) {
    s->sum = ipro_onednn_reserve(kernel, (size_t)n * sizeof(double));
    return ipro_onednn_add_loop_step(kernel, sup_con_normalize, err) ||
                   matmul_step(kernel, n, d, n, s->z, s->z, true, s->similarity, err) ||
                   ipro_onednn_add_loop_step(kernel, sup_con_loss_rows, err)
               ? IPRO_ERROR
               : IPRO_OK;
  }
  s->dz = ipro_onednn_reserve(kernel, (size_t)(n * d) * sizeof(float));
  size_t h = s->similarity + (size_t)(n * n) * sizeof(float);
  return ipro_onednn_add_loop_step(kernel, sup_con_normalize, err) ||
                 matmul_step(kernel, n, d, n, s->z, s->z, true, s->similarity, err) ||
                 ipro_onednn_add_loop_step(kernel, sup_con_grad_rows, err) ||
                 matmul_step(kernel, n, n, d, h, s->z, false, s->dz, err) ||
                 ipro_onednn_add_loop_step(kernel, sup_con_grad_out, err)
             ? IPRO_ERROR
             : IPRO_OK;
}

ipro_status ipro_onednn_build_sup_con_loss(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                           const ipro_node *node, ipro_error *err) {
  return build_sup_con(kernel, graph, node, false, err);
}

ipro_status ipro_onednn_build_sup_con_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                           const ipro_node *node, ipro_error *err) {
  return build_sup_con(kernel, graph, node, true, err);
}
