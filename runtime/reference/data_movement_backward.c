/* Reference kernels of ipro.Slice (codegen/internal_ops.md): a box cut out of a tensor, which is
 * the gradient of Concat (each input's part of dY) and of Pad in constant mode (dY without the
 * padding); and of ipro.GatherElementsGrad, GatherElements' gradient (dY added back at the
 * indices). Like data_movement.c it copies bytes, so any dtype of fixed size works, though the
 * training program only slices float32 gradients. */
#include <string.h>

#include "reference_ops.h"

/* T → R = T[starts[d] : starts[d] + shape[d]] on every axis d; R's shape is `shape` (checked
 * against the output tensor). */
IPRO_REFERENCE_KERNEL(ipro_reference_slice) {
  (void)context;
  ipro_shape t, r;
  if (ipro_reference_input_shape(graph, node, 0, &t, err) ||
      ipro_reference_output_shape(graph, node, 0, &r, err) ||
      ipro_reference_expect_dtype(graph, node, false, 0, ipro_node_input(graph, node, 0)->dtype,
                                  err) ||
      ipro_reference_check_shape_attribute(node, "shape", &r, err))
    return IPRO_ERROR;
  size_t size = ipro_dtype_size(ipro_node_input(graph, node, 0)->dtype);
  if (size == 0) return ipro_reference_fail(node, err, "the input's dtype has no fixed size");
  int count = 0;
  const int64_t *starts = ipro_node_attr_ints(node, "starts", &count);
  if (count != t.rank || r.rank != t.rank)
    return ipro_reference_fail(node, err, "starts has %d values and the output rank %d for rank %d",
                               count, r.rank, t.rank);
  int64_t offset = 0, t_strides[IPRO_MAX_RANK];
  ipro_reference_strides(&t, t_strides);
  for (int d = 0; d < t.rank; d++) {
    if (starts[d] < 0 || starts[d] + r.dims[d] > t.dims[d])
      return ipro_reference_fail(node, err, "axis %d: [%lld, %lld) is outside [0, %lld)", d,
                                 (long long)starts[d], (long long)(starts[d] + r.dims[d]),
                                 (long long)t.dims[d]);
    offset += starts[d] * t_strides[d];
  }
  /* Copied one innermost row at a time: R's rows are contiguous runs of T's. */
  int last = r.rank - 1;
  int64_t row = r.rank > 0 ? r.dims[last] : 1, total = ipro_shape_elements(&r);
  int64_t rows = row > 0 ? total / row : 0;
  const char *in = inputs[0];
  char *out = outputs[0];
  for (int64_t k = 0; k < rows; k++) {
    int64_t rest = k, from = offset;
    for (int d = last - 1; d >= 0; d--) {
      from += (rest % r.dims[d]) * t_strides[d];
      rest /= r.dims[d];
    }
    memcpy(out + (size_t)(k * row) * size, in + (size_t)from * size, (size_t)row * size);
  }
  return IPRO_OK;
}

/* dY (the indices' shape), indices → dX (input_shape): zeros, each dY added at the element of X
 * that GatherElements took it from (indices that repeat add up). */
IPRO_REFERENCE_KERNEL(ipro_reference_gather_elements_grad) {
  (void)context;
  ipro_shape dy, indices, dx;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_input_shape(graph, node, 1, &indices, err) ||
      ipro_reference_output_shape(graph, node, 0, &dx, err) ||
      ipro_reference_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  int axis = (int)ipro_node_attr_int(node, "axis", 0);
  if (!ipro_elements_fit(&indices, &dx, axis) || !ipro_shape_equal(&dy, &indices))
    return ipro_reference_fail(node, err, "dY, the indices and dX do not fit");
  ipro_dtype index_dtype = ipro_node_input(graph, node, 1)->dtype;
  const double *d = inputs[0];
  double *out = outputs[0];
  memset(out, 0, (size_t)ipro_shape_elements(&dx) * sizeof *out);
  int64_t count = ipro_shape_elements(&indices), index;
  for (int64_t p = 0; p < count; p++) {
    if (!ipro_element_index(inputs[1], index_dtype == IPRO_DTYPE_INT32, p, dx.dims[axis], &index))
      return ipro_reference_fail(node, err, "an index outside [-%lld, %lld)",
                                 (long long)dx.dims[axis], (long long)dx.dims[axis]);
    out[ipro_element_offset(&indices, &dx, axis, p, index)] += d[p];
  }
  return IPRO_OK;
}
