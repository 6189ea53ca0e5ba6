/* Reference kernels of ReduceMean, ReduceSum, ReduceL2, ReduceMax and ReduceMin: the mean, the
 * sum, the square root of the sum of squares, the largest or the smallest value over `axes` (all
 * axes when empty, unless noop_with_empty_axes, which makes it a copy). A NaN in a slice makes its
 * largest and smallest value NaN (as PyTorch's amax and amin). keepdims changes only the output's
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
static ipro_status slice_extremum(const ipro_node *node, const double *x, const ipro_shape *x_shape,
                                  const ipro_shape *kept, double *out, ipro_error *err) {
  int64_t strides[IPRO_MAX_RANK];
  if (ipro_reference_broadcast_strides(node, kept, x_shape, strides, err)) return IPRO_ERROR;
  bool largest = node->op == IPRO_OP_REDUCE_MAX;
  int64_t total = ipro_shape_elements(x_shape), kept_count = ipro_shape_elements(kept);
  for (int64_t i = 0; i < kept_count; i++)
    out[i] = largest ? -INFINITY : INFINITY;
  for (int64_t i = 0; i < total; i++) {
    double *at = &out[ipro_reference_offset(x_shape->dims, x_shape->rank, strides, i)];
    if (x[i] != x[i] || (largest ? x[i] > *at : x[i] < *at)) *at = x[i];
  }
  return IPRO_OK;
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
  bool l2 = node->op == IPRO_OP_REDUCE_L2;
  if (node->op == IPRO_OP_REDUCE_MAX || node->op == IPRO_OP_REDUCE_MIN)
    return slice_extremum(node, inputs[0], &x, &kept, outputs[0], err);
  double *sum = calloc((size_t)(reduced_count > 0 ? reduced_count : 1), sizeof *sum);
  if (!sum) return ipro_reference_fail(node, err, "out of memory");
  ipro_status summed = IPRO_OK;
  if (l2) { /* the squares summed where they are made: nothing of X's size beside it */
    int64_t strides[IPRO_MAX_RANK];
    const double *values = inputs[0];
    summed = ipro_reference_broadcast_strides(node, &kept, &x, strides, err);
    for (int64_t i = 0; summed == IPRO_OK && i < total; i++)
      sum[ipro_reference_offset(x.dims, x.rank, strides, i)] += values[i] * values[i];
  } else {
    summed = ipro_reference_sum_to_shape(node, inputs[0], &x, &kept, sum, err);
  }
  if (summed != IPRO_OK) {
    free(sum);
    return IPRO_ERROR;
  }
  double group = reduced_count > 0 ? (double)total / (double)reduced_count : 0.0;
  double *out = outputs[0];
  for (int64_t i = 0; i < reduced_count; i++)
    out[i] = node->op == IPRO_OP_REDUCE_MEAN ? sum[i] / group : l2 ? sqrt(sum[i]) : sum[i];
  free(sum);
  return IPRO_OK;
}
