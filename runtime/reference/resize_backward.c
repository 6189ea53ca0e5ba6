/* Reference kernel of ipro.ResizeGrad (codegen/internal_ops.md), the adjoint of Resize: every
 * output element of the forward adds its dY, times each corner's interpolation weight, into the
 * input elements it read. The corners and weights come from resize.c's plan
 * (ipro_reference_resize_plan_make, ipro_reference_resize_corners), so every mode, nearest_mode
 * and coordinate_transformation_mode the forward supports has its exact adjoint here; elements
 * that took extrapolation_value (tf_crop_and_resize) read nothing and pass no gradient. */
#include <stdlib.h>

#include "reference_ops.h"

/* dY (Resize's output shape) → dX (input_shape, Resize's input). */
IPRO_REFERENCE_KERNEL(ipro_reference_resize_grad) {
  (void)context;
  ipro_shape dy, dx;
  ipro_reference_resize_plan plan;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_output_shape(graph, node, 0, &dx, err) ||
      ipro_reference_check_shape_attribute(node, "input_shape", &dx, err) ||
      ipro_reference_resize_plan_make(node, &dx, &dy, &plan, err))
    return IPRO_ERROR;
  int64_t in_total = ipro_shape_elements(&dx), out_total = ipro_shape_elements(&dy);
  double *sum = calloc((size_t)(in_total > 0 ? in_total : 1), sizeof *sum);
  if (!sum) {
    ipro_reference_resize_plan_free(&plan);
    return ipro_reference_fail(node, err, "out of memory");
  }
  const double *gradient = inputs[0];
  int64_t offsets[IPRO_REFERENCE_RESIZE_MAX_CORNERS];
  double weights[IPRO_REFERENCE_RESIZE_MAX_CORNERS];
  for (int64_t i = 0; i < out_total; i++) {
    int corners = ipro_reference_resize_corners(&plan, i, offsets, weights);
    for (int c = 0; c < corners; c++)
      sum[offsets[c]] += weights[c] * (double)gradient[i];
  }
  double *out = outputs[0];
  for (int64_t i = 0; i < in_total; i++)
    out[i] = sum[i];
  free(sum);
  ipro_reference_resize_plan_free(&plan);
  return IPRO_OK;
}
