/* Reference kernels of the pools' gradients (codegen/internal_ops.md): ipro.MaxPoolGrad,
 * ipro.AveragePoolGrad and ipro.GlobalPoolGrad.
 *
 * Each is the adjoint of its forward kernel in pool.c and walks the same windows with the same
 * helpers (ipro_reference_pool_window, ipro_reference_pool_positions,
 * ipro_reference_first_maximum), so a gradient goes exactly to the input elements the forward
 * read, with the forward's divisor. Overlapping windows accumulate; dX is cleared first. */
#include <stdlib.h>
#include <string.h>

#include "reference_ops.h"

/* dX's shape from output 0 (checked against input_shape when the node has it) and dY's from
 * input 0; the window slides over dX with one position per element of dY. */
static ipro_status pool_grad_setup(const ipro_graph *graph, const ipro_node *node,
                                   ipro_reference_window *window, int64_t **positions,
                                   ipro_error *err) {
  ipro_shape dy, dx;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_output_shape(graph, node, 0, &dx, err) ||
      ipro_reference_check_shape_attribute(node, "input_shape", &dx, err) ||
      ipro_reference_pool_window(node, &dx, &dy, window, err))
    return IPRO_ERROR;
  *positions = malloc((size_t)window->kernel_size * sizeof **positions);
  if (!*positions) return ipro_reference_fail(node, err, "out of memory");
  return IPRO_OK;
}

/* dY, X → dX: each dY element goes to the first position of its window's maximum of X. */
IPRO_REFERENCE_KERNEL(ipro_reference_max_pool_grad) {
  (void)context;
  ipro_shape x, dx;
  if (ipro_reference_expect_real(graph, node, true, 1, err) ||
      ipro_reference_input_shape(graph, node, 1, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &dx, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &dx)) return ipro_reference_fail(node, err, "X and dX differ in shape");
  ipro_reference_window w;
  int64_t *positions;
  if (pool_grad_setup(graph, node, &w, &positions, err)) return IPRO_ERROR;
  const double *dy = inputs[0], *in = inputs[1];
  double *out = outputs[0];
  memset(out, 0, (size_t)(w.batch * w.in_channels * w.in_size) * sizeof *out);
  for (int64_t plane = 0; plane < w.batch * w.in_channels; plane++) {
    const double *x_plane = in + plane * w.in_size;
    double *dx_plane = out + plane * w.in_size;
    int64_t o[3];
    for (o[0] = 0; o[0] < w.out[0]; o[0]++)
      for (o[1] = 0; o[1] < w.out[1]; o[1]++)
        for (o[2] = 0; o[2] < w.out[2]; o[2]++) {
          int64_t found = ipro_reference_pool_positions(&w, o, false, positions, NULL);
          int64_t best = ipro_reference_first_maximum(x_plane, positions, found);
          if (best >= 0)
            dx_plane[best] += dy[plane * w.out_size + (o[0] * w.out[1] + o[1]) * w.out[2] + o[2]];
        }
  }
  free(positions);
  return IPRO_OK;
}

/* dY → dX: each dY element, divided by its window's divisor, goes to every input position of the
 * window. Accumulated in double per plane so the reference stays the more accurate side. */
IPRO_REFERENCE_KERNEL(ipro_reference_average_pool_grad) {
  (void)context;
  ipro_reference_window w;
  int64_t *positions;
  if (pool_grad_setup(graph, node, &w, &positions, err)) return IPRO_ERROR;
  double *plane_sum = malloc((size_t)(w.in_size > 0 ? w.in_size : 1) * sizeof *plane_sum);
  if (!plane_sum) {
    free(positions);
    return ipro_reference_fail(node, err, "out of memory");
  }
  bool include_pad = ipro_node_attr_int(node, "count_include_pad", 0) != 0;
  const double *dy = inputs[0];
  double *out = outputs[0];
  for (int64_t plane = 0; plane < w.batch * w.in_channels; plane++) {
    memset(plane_sum, 0, (size_t)w.in_size * sizeof *plane_sum);
    int64_t o[3];
    for (o[0] = 0; o[0] < w.out[0]; o[0]++)
      for (o[1] = 0; o[1] < w.out[1]; o[1]++)
        for (o[2] = 0; o[2] < w.out[2]; o[2]++) {
          int64_t divisor;
          int64_t found = ipro_reference_pool_positions(&w, o, include_pad, positions, &divisor);
          if (divisor == 0) continue;
          double share =
              dy[plane * w.out_size + (o[0] * w.out[1] + o[1]) * w.out[2] + o[2]] / (double)divisor;
          for (int64_t i = 0; i < found; i++)
            plane_sum[positions[i]] += share;
        }
    for (int64_t i = 0; i < w.in_size; i++)
      out[plane * w.in_size + i] = plane_sum[i];
  }
  free(plane_sum);
  free(positions);
  return IPRO_OK;
}

/* dY (N, C, 1...), [X] → dX (N, C, spatial...). forward_op says which pool: the average spreads
 * dY / size over the plane; the maximum sends dY to the plane's first maximum of X. */
IPRO_REFERENCE_KERNEL(ipro_reference_global_pool_grad) {
  (void)context;
  ipro_shape dx;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_output_shape(graph, node, 0, &dx, err) ||
      ipro_reference_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  if (dx.rank < 2) return ipro_reference_fail(node, err, "dX of rank %d; >= 2 expected", dx.rank);
  int64_t forward = ipro_node_attr_int(node, "forward_op", -1);
  bool maximum = forward == IPRO_OP_GLOBAL_MAX_POOL;
  if (!maximum && forward != IPRO_OP_GLOBAL_AVERAGE_POOL)
    return ipro_reference_fail(node, err, "forward_op %lld is not a global pool",
                               (long long)forward);
  const double *x = ipro_reference_optional(inputs, node->n_inputs, 1);
  if (maximum) {
    ipro_shape x_shape;
    if (!x) return ipro_reference_fail(node, err, "the maximum's gradient needs X (input 1)");
    if (ipro_reference_expect_real(graph, node, true, 1, err) ||
        ipro_reference_input_shape(graph, node, 1, &x_shape, err))
      return IPRO_ERROR;
    if (!ipro_shape_equal(&x_shape, &dx))
      return ipro_reference_fail(node, err, "X and dX differ in shape");
  }
  int64_t planes = dx.dims[0] * dx.dims[1], size = ipro_reference_product(dx.dims, 2, dx.rank);
  const double *dy = inputs[0];
  double *out = outputs[0];
  for (int64_t plane = 0; plane < planes; plane++) {
    double *dx_plane = out + plane * size;
    if (maximum) {
      memset(dx_plane, 0, (size_t)size * sizeof *dx_plane);
      int64_t best = ipro_reference_first_maximum(x + plane * size, NULL, size);
      if (best >= 0) dx_plane[best] = dy[plane];
    } else {
      double share = dy[plane] / (double)size;
      for (int64_t i = 0; i < size; i++)
        dx_plane[i] = share;
    }
  }
  return IPRO_OK;
}
