/* Reference kernels of the reductions that gradients need (codegen/internal_ops.md):
 * ipro.ReduceToShape, the adjoint of numpy broadcasting (the gradient of a broadcast operand of
 * Add, Sub, Mul, Div, Sum, Gemm's C), ipro.ReduceMeanGrad, the adjoint of ReduceMean,
 * ipro.ReduceExtremumGrad, ReduceMax's and ReduceMin's gradient, and ipro.ReduceProdGrad,
 * ReduceProd's.
 *
 * They are the broadcasting index arithmetic of reduce.c run the other way: ReduceToShape sums
 * with ipro_reference_sum_to_shape; ReduceMeanGrad finds the reduced shape with
 * ipro_reference_reduced_shape and reads dY through broadcast strides, as ReduceExtremumGrad reads
 * dY and Y and ReduceProdGrad dY. */
#include <stdlib.h>
#include <string.h>

#include "reference_ops.h"

/* T → R = scale · (T summed over the axes broadcasting expanded from R's shape to T's). R's shape
 * (the `shape` attribute, checked against the output tensor) is right-aligned against T's;
 * missing leading axes count as 1, so a rank-0 R is the sum of everything. */
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_to_shape) {
  (void)context;
  ipro_shape t, r;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &t, err) ||
      ipro_reference_output_shape(graph, node, 0, &r, err) ||
      ipro_reference_check_shape_attribute(node, "shape", &r, err))
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&r);
  double scale = ipro_node_attr_float(node, "scale", 1.0f);
  double *sum = malloc((size_t)(count > 0 ? count : 1) * sizeof *sum);
  if (!sum) return ipro_reference_fail(node, err, "out of memory");
  if (ipro_reference_sum_to_shape(node, inputs[0], &t, &r, sum, err)) {
    free(sum);
    return IPRO_ERROR;
  }
  double *out = outputs[0];
  for (int64_t i = 0; i < count; i++)
    out[i] = (scale * sum[i]);
  free(sum);
  return IPRO_OK;
}

/* What ReduceMeanGrad and ReduceExtremumGrad share (dY their input 0, dX their output 0): with
 * empty axes and noop_with_empty_axes, dY copied into dX and *copied set; else the kept shape (dX's
 * with every reduced axis 1), which dY must hold, and the strides that find each dX element's
 * slice in it. */
static ipro_status reduction_of(const ipro_node *node, const ipro_shape *dy, const ipro_shape *dx,
                                void *const *inputs, void *const *outputs, ipro_shape *kept,
                                int64_t *strides, bool *copied, ipro_error *err) {
  int64_t total = ipro_shape_elements(dx);
  int count = 0;
  ipro_node_attr_ints(node, "axes", &count);
  *copied = count == 0 && ipro_node_attr_int(node, "noop_with_empty_axes", 0) != 0;
  if (*copied) {
    if (ipro_shape_elements(dy) != total)
      return ipro_reference_fail(node, err, "dY and dX differ in size");
    if (outputs[0] != inputs[0]) memmove(outputs[0], inputs[0], (size_t)total * sizeof(double));
    return IPRO_OK;
  }
  if (ipro_reference_reduced_shape(node, dx, kept, err) ||
      ipro_reference_broadcast_strides(node, kept, dx, strides, err))
    return IPRO_ERROR;
  int64_t reduced_count = ipro_shape_elements(kept);
  if (ipro_shape_elements(dy) != reduced_count)
    return ipro_reference_fail(node, err, "dY holds %lld values; the reduction leaves %lld",
                               (long long)ipro_shape_elements(dy), (long long)reduced_count);
  return IPRO_OK;
}

/* dY (the reduced shape, with or without keepdims) → dX (input_shape): every dX element is its
 * dY element divided by the number of elements that were averaged into it. */
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_mean_grad) {
  (void)context;
  ipro_shape dy, dx, kept;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_output_shape(graph, node, 0, &dx, err) ||
      ipro_reference_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  int64_t total = ipro_shape_elements(&dx), strides[IPRO_MAX_RANK];
  bool copied = false;
  if (reduction_of(node, &dy, &dx, inputs, outputs, &kept, strides, &copied, err))
    return IPRO_ERROR;
  if (copied) return IPRO_OK;
  int64_t reduced_count = ipro_shape_elements(&kept);
  double group = reduced_count > 0 ? (double)total / (double)reduced_count : 1.0;
  const double *in = inputs[0];
  double *out = outputs[0];
  for (int64_t i = 0; i < total; i++)
    out[i] = (in[ipro_reference_offset(dx.dims, dx.rank, strides, i)] / group);
  return IPRO_OK;
}

/* What ReduceExtremumGrad and ReduceProdGrad share: dY (input 0) and X (input 1) → dX of X's size
 * (input_shape), reduction_of's kept shape, strides and copy. */
static ipro_status element_gradient_of(const ipro_graph *graph, const ipro_node *node,
                                       void *const *inputs, void *const *outputs, ipro_shape *dx,
                                       ipro_shape *kept, int64_t *strides, bool *copied,
                                       ipro_error *err) {
  ipro_shape dy, x;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_input_shape(graph, node, 1, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, dx, err) ||
      ipro_reference_check_shape_attribute(node, "input_shape", dx, err))
    return IPRO_ERROR;
  if (ipro_shape_elements(&x) != ipro_shape_elements(dx))
    return ipro_reference_fail(node, err, "X and dX differ in size");
  return reduction_of(node, &dy, dx, inputs, outputs, kept, strides, copied, err);
}

/* dY, X, Y (ReduceMax's or ReduceMin's, the reduced shape with or without keepdims) → dX
 * (input_shape): each slice's dY shared equally by the X elements equal to its extremum Y (as
 * PyTorch's amax and amin share it among ties), 0 elsewhere. */
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_extremum_grad) {
  (void)context;
  ipro_shape y, dx, kept;
  int64_t strides[IPRO_MAX_RANK];
  bool copied = false;
  if (element_gradient_of(graph, node, inputs, outputs, &dx, &kept, strides, &copied, err) ||
      ipro_reference_input_shape(graph, node, 2, &y, err))
    return IPRO_ERROR;
  if (copied) return IPRO_OK;
  int64_t total = ipro_shape_elements(&dx);
  int64_t reduced_count = ipro_shape_elements(&kept);
  if (ipro_shape_elements(&y) != reduced_count)
    return ipro_reference_fail(node, err, "Y holds %lld values; the reduction leaves %lld",
                               (long long)ipro_shape_elements(&y), (long long)reduced_count);
  const double *d = inputs[0], *values = inputs[1], *extremum = inputs[2];
  double *ties = calloc((size_t)(reduced_count > 0 ? reduced_count : 1), sizeof *ties);
  if (!ties) return ipro_reference_fail(node, err, "out of memory");
  for (int64_t i = 0; i < total; i++) {
    int64_t k = ipro_reference_offset(dx.dims, dx.rank, strides, i);
    ties[k] += values[i] == extremum[k];
  }
  double *out = outputs[0];
  for (int64_t i = 0; i < total; i++) {
    int64_t k = ipro_reference_offset(dx.dims, dx.rank, strides, i);
    out[i] = values[i] == extremum[k] ? d[k] / ties[k] : 0.0;
  }
  free(ties);
  return IPRO_OK;
}

/* dY, X (ReduceProd's) → dX (input_shape): each element's dY times the product of the other
 * elements of its slice, exactly where the slice holds zeros (as PyTorch's prod differentiates):
 * with none, the slice's product divided by the element; with one, the product of the others at
 * the zero and 0 elsewhere; with more, 0. */
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_prod_grad) {
  (void)context;
  ipro_shape dx, kept;
  int64_t strides[IPRO_MAX_RANK];
  bool copied = false;
  if (element_gradient_of(graph, node, inputs, outputs, &dx, &kept, strides, &copied, err))
    return IPRO_ERROR;
  if (copied) return IPRO_OK;
  int64_t total = ipro_shape_elements(&dx);
  size_t slices = (size_t)(ipro_shape_elements(&kept) > 0 ? ipro_shape_elements(&kept) : 1);
  /* each slice's product of its nonzero elements and its count of zeros */
  double *nonzero = malloc(slices * sizeof *nonzero), *zeros = calloc(slices, sizeof *zeros);
  if (!nonzero || !zeros) {
    free(nonzero), free(zeros);
    return ipro_reference_fail(node, err, "out of memory");
  }
  for (size_t k = 0; k < slices; k++)
    nonzero[k] = 1.0;
  const double *d = inputs[0], *values = inputs[1];
  for (int64_t i = 0; i < total; i++) {
    int64_t k = ipro_reference_offset(dx.dims, dx.rank, strides, i);
    if (values[i] == 0.0)
      zeros[k] += 1.0;
    else
      nonzero[k] *= values[i];
  }
  double *out = outputs[0];
  for (int64_t i = 0; i < total; i++) {
    int64_t k = ipro_reference_offset(dx.dims, dx.rank, strides, i);
    double others = zeros[k] == 0.0   ? nonzero[k] / values[i]
                    : zeros[k] == 1.0 ? (values[i] == 0.0 ? nonzero[k] : 0.0)
                                      : 0.0;
    out[i] = d[k] * others;
  }
  free(nonzero), free(zeros);
  return IPRO_OK;
}
