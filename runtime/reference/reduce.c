/* Reference kernels of ONNX's reductions over `axes` (all axes when empty, unless
 * noop_with_empty_axes, which makes it a copy): ReduceMean, ReduceSum, ReduceL2 (the square root
 * of the sum of squares), ReduceMax and ReduceMin (the largest or the smallest value; a NaN in a
 * slice makes it NaN, as PyTorch's amax and amin), ReduceL1 (the sum of absolute values),
 * ReduceSumSquare, ReduceLogSum (the log of the sum), ReduceLogSumExp (the log of the sum of
 * exponentials, summed after the slice's largest value is taken out, as torch.logsumexp does: no
 * overflow, and a slice of -inf gives -inf) and ReduceProd. keepdims changes only the output's
 * shape, not its data layout, so the kernel ignores it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference_ops.h"

ipro_status ipro_reference_reduced_shape(const ipro_node *node, const ipro_shape *x,
                                         ipro_shape *kept, ipro_error *err) {
  int count = 0;
  const int64_t *axes = ipro_node_attr_ints(node, "axes", &count);
  *kept = *x;
  for (int i = 0; i < count; i++) {
    if (axes[i] < 0 || axes[i] >= x->rank)
      return ipro_reference_fail(node, err, "axis %lld outside rank %d", (long long)axes[i],
                                 x->rank);
    kept->dims[axes[i]] = 1;
  }
  if (count == 0)
    for (int d = 0; d < x->rank; d++)
      kept->dims[d] = 1;
  return IPRO_OK;
}

ipro_status ipro_reference_sum_to_shape(const ipro_node *node, const double *x,
                                        const ipro_shape *x_shape, const ipro_shape *kept,
                                        double *sum, ipro_error *err) {
  int64_t strides[IPRO_MAX_RANK];
  if (ipro_reference_broadcast_strides(node, kept, x_shape, strides, err)) return IPRO_ERROR;
  int64_t total = ipro_shape_elements(x_shape), kept_count = ipro_shape_elements(kept);
  for (int64_t i = 0; i < kept_count; i++)
    sum[i] = 0.0;
  for (int64_t i = 0; i < total; i++)
    sum[ipro_reference_offset(x_shape->dims, x_shape->rank, strides, i)] += x[i];
  return IPRO_OK;
}

/* The largest (ReduceMax) or smallest (ReduceMin) value of each slice of x into out (kept's
 * elements). */
static ipro_status slice_extremum(const ipro_node *node, bool largest, const double *x,
                                  const ipro_shape *x_shape, const ipro_shape *kept, double *out,
                                  ipro_error *err) {
  int64_t strides[IPRO_MAX_RANK];
  if (ipro_reference_broadcast_strides(node, kept, x_shape, strides, err)) return IPRO_ERROR;
  int64_t total = ipro_shape_elements(x_shape), kept_count = ipro_shape_elements(kept);
  for (int64_t i = 0; i < kept_count; i++)
    out[i] = largest ? -INFINITY : INFINITY;
  for (int64_t i = 0; i < total; i++) {
    double *at = &out[ipro_reference_offset(x_shape->dims, x_shape->rank, strides, i)];
    if (x[i] != x[i] || (largest ? x[i] > *at : x[i] < *at)) *at = x[i];
  }
  return IPRO_OK;
}

/* The term an element adds to its slice's accumulator (shift: ReduceLogSumExp's slice maximum). */
static double term_of(ipro_op op, double x, double shift) {
  switch (op) {
  case IPRO_OP_REDUCE_L2:
  case IPRO_OP_REDUCE_SUM_SQUARE: return x * x;
  case IPRO_OP_REDUCE_L1: return fabs(x);
  case IPRO_OP_REDUCE_LOG_SUM_EXP: return exp(x - shift);
  default: return x;
  }
}

/* A slice's value from its accumulated terms (group: the elements it took). */
static double finished(ipro_op op, double sum, double group, double shift) {
  switch (op) {
  case IPRO_OP_REDUCE_MEAN: return sum / group;
  case IPRO_OP_REDUCE_L2: return sqrt(sum);
  case IPRO_OP_REDUCE_LOG_SUM: return log(sum);
  case IPRO_OP_REDUCE_LOG_SUM_EXP: return shift + log(sum);
  default: return sum;
  }
}

IPRO_REFERENCE_KERNEL(ipro_reference_reduce) {
  (void)context;
  ipro_shape x, y, kept;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  int count = 0;
  ipro_node_attr_ints(node, "axes", &count);
  int64_t total = ipro_shape_elements(&x);
  if (count == 0 && ipro_node_attr_int(node, "noop_with_empty_axes", 0) != 0) {
    if (outputs[0] != inputs[0]) memmove(outputs[0], inputs[0], (size_t)total * sizeof(double));
    return IPRO_OK;
  }
  /* The output seen with keepdims: the input's shape with every reduced axis set to 1. Each input
   * element is accumulated into the output element it broadcasts from. */
  if (ipro_reference_reduced_shape(node, &x, &kept, err)) return IPRO_ERROR;
  int64_t reduced_count = ipro_shape_elements(&kept);
  if (reduced_count != ipro_shape_elements(&y))
    return ipro_reference_fail(node, err, "output shape does not match the reduced axes");
  ipro_op op = node->op;
  if (op == IPRO_OP_REDUCE_MAX || op == IPRO_OP_REDUCE_MIN)
    return slice_extremum(node, op == IPRO_OP_REDUCE_MAX, inputs[0], &x, &kept, outputs[0], err);
  int64_t strides[IPRO_MAX_RANK];
  if (ipro_reference_broadcast_strides(node, &kept, &x, strides, err)) return IPRO_ERROR;
  size_t slices = (size_t)(reduced_count > 0 ? reduced_count : 1);
  double *sum = malloc(slices * sizeof *sum), *shift = calloc(slices, sizeof *shift);
  if (!sum || !shift) {
    free(sum), free(shift);
    return ipro_reference_fail(node, err, "out of memory");
  }
  bool log_sum_exp = op == IPRO_OP_REDUCE_LOG_SUM_EXP, product = op == IPRO_OP_REDUCE_PROD;
  /* ReduceLogSumExp: each slice's largest value, or 0 where it is not finite (a slice of -inf
   * sums exp(-inf) = 0 and gives -inf; one holding +inf or NaN gives that) */
  ipro_status shifted = IPRO_OK;
  if (log_sum_exp) {
    shifted = slice_extremum(node, true, inputs[0], &x, &kept, shift, err);
    for (int64_t i = 0; i < reduced_count; i++)
      if (!isfinite(shift[i])) shift[i] = 0.0;
  }
  for (int64_t i = 0; i < reduced_count; i++)
    sum[i] = product ? 1.0 : 0.0;
  const double *values = inputs[0];
  for (int64_t i = 0; shifted == IPRO_OK && i < total; i++) {
    int64_t at = ipro_reference_offset(x.dims, x.rank, strides, i);
    if (product)
      sum[at] *= values[i];
    else
      sum[at] += term_of(op, values[i], shift[at]);
  }
  double group = reduced_count > 0 ? (double)total / (double)reduced_count : 0.0;
  double *out = outputs[0];
  for (int64_t i = 0; shifted == IPRO_OK && i < reduced_count; i++)
    out[i] = finished(op, sum[i], group, shift[i]);
  free(sum), free(shift);
  return shifted;
}
