/* Reference kernels of the ops that make a tensor from a shape alone: ConstantOfShape (a fill in
 * any of its dtypes, moved as bytes) and RandomUniformLike (uniform noise, in double); and Range,
 * from its three bounds (normally folded by inference; this runs only when it was not). */
#include <string.h>

#include "reference_ops.h"

/* The normalised attributes (frontend/ops/random_fill.c): "fill" for reals and bool, "fill_int"
 * for integers, in the output's dtype. */
IPRO_REFERENCE_KERNEL(ipro_reference_constant_of_shape) {
  (void)inputs;
  (void)context;
  ipro_shape y;
  if (ipro_reference_output_shape(graph, node, 0, &y, err)) return IPRO_ERROR;
  ipro_dtype dtype = ipro_node_output(graph, node, 0)->dtype;
  float fill = ipro_node_attr_float(node, "fill", 0.0f);
  int64_t fill_int = ipro_node_attr_int(node, "fill_int", 0);
  unsigned char one[8];
  bool integer = dtype == IPRO_DTYPE_INT64 || dtype == IPRO_DTYPE_INT32;
  if (!(integer ? ipro_dtype_convert(&fill_int, IPRO_DTYPE_INT64, one, dtype, 1)
                : ipro_dtype_convert(&fill, IPRO_DTYPE_FLOAT, one, dtype, 1)))
    return ipro_reference_fail(node, err, "a fill of %s is not supported", ipro_dtype_name(dtype));
  size_t element = ipro_dtype_size(dtype);
  for (int64_t i = 0, count = ipro_shape_elements(&y); i < count; i++)
    memcpy((char *)outputs[0] + (size_t)i * element, one, element);
  return IPRO_OK;
}

/* low + (high − low)·u per element, u = ipro_reference_dropout_uniform(stream, step, element)
 * with the node's stream (ipro_node_random_stream): a value of [0, 1) on a 2⁻²⁴ grid, exact in
 * float32. */
IPRO_REFERENCE_KERNEL(ipro_reference_random_uniform_like) {
  (void)inputs; /* only its shape, which is the output's */
  ipro_shape y;
  if (ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  double low = ipro_node_attr_float(node, "low", 0.0f),
         high = ipro_node_attr_float(node, "high", 1.0f);
  uint64_t stream = (context ? context->seed : 0) ^ ipro_node_random_stream(node),
           step = context ? context->step : 0;
  double *out = outputs[0];
  for (int64_t i = 0, count = ipro_shape_elements(&y); i < count; i++)
    out[i] = low + (high - low) * (double)ipro_reference_dropout_uniform(stream, step, (uint64_t)i);
  return IPRO_OK;
}

/* start + i * delta for each of the output's elements (its length is inference's), in int64,
 * int32 or float as the bounds are. */
IPRO_REFERENCE_KERNEL(ipro_reference_range) {
  (void)context;
  ipro_shape y;
  if (ipro_reference_output_shape(graph, node, 0, &y, err)) return IPRO_ERROR;
  ipro_dtype dtype = ipro_node_output(graph, node, 0)->dtype;
  int64_t count = ipro_shape_elements(&y);
  for (int64_t i = 0; i < count; i++) {
    switch (dtype) {
    case IPRO_DTYPE_INT64:
      ((int64_t *)outputs[0])[i] =
          ((const int64_t *)inputs[0])[0] + i * ((const int64_t *)inputs[2])[0];
      break;
    case IPRO_DTYPE_INT32:
      ((int32_t *)outputs[0])[i] =
          (int32_t)(((const int32_t *)inputs[0])[0] + i * ((const int32_t *)inputs[2])[0]);
      break;
    case IPRO_DTYPE_FLOAT:
      ((float *)outputs[0])[i] =
          ((const float *)inputs[0])[0] + (float)i * ((const float *)inputs[2])[0];
      break;
    default:
      return ipro_reference_fail(node, err, "%s bounds; int64, int32 or float expected",
                                 ipro_dtype_name(dtype));
    }
  }
  return IPRO_OK;
}
