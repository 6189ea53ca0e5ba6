/* Reference kernels of the ops that move data without arithmetic: the reshaping copies (Identity,
 * Flatten, Reshape, Squeeze, Unsqueeze), Transpose, Concat, Gather, Shape, Constant, Pad, Slice,
 * ScatterND, GatherND, Expand, Tile, CastLike and Cast (a conversion of each element), Where (a
 * choice of each element) and Not. They work on any dtype of fixed size, element by element in
 * bytes, because unfolded shape computations bring int64 (and Gather int32 indices) next to the
 * float32 activations. */
#include <stdlib.h>
#include <string.h>

#include "reference_ops.h"

/* Element size of the node's i-th input or output, failing for dtypes without a fixed size. */
static ipro_status element_size(const ipro_graph *graph, const ipro_node *node, bool is_input,
                                int i, size_t *size, ipro_error *err) {
  const ipro_tensor *tensor =
      is_input ? ipro_node_input(graph, node, i) : ipro_node_output(graph, node, i);
  if (!tensor)
    return ipro_reference_fail(node, err, "%s %d is missing", is_input ? "input" : "output", i);
  *size = ipro_dtype_size(tensor->dtype);
  if (*size == 0)
    return ipro_reference_fail(node, err, "tensor '%s' has dtype %s, which has no fixed size",
                               tensor->name, ipro_dtype_name(tensor->dtype));
  return IPRO_OK;
}

/* The data of the output is the data of the input; only the shape differs. */
IPRO_REFERENCE_KERNEL(ipro_reference_copy) {
  (void)context;
  ipro_shape x, y;
  size_t size;
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      ipro_reference_expect_dtype(graph, node, false, 0, ipro_node_input(graph, node, 0)->dtype,
                                  err) ||
      element_size(graph, node, true, 0, &size, err))
    return IPRO_ERROR;
  if (ipro_shape_elements(&x) != ipro_shape_elements(&y))
    return ipro_reference_fail(node, err, "input has %lld elements but output %lld",
                               (long long)ipro_shape_elements(&x),
                               (long long)ipro_shape_elements(&y));
  if (outputs[0] != inputs[0])
    memmove(outputs[0], inputs[0], (size_t)ipro_shape_elements(&x) * size);
  return IPRO_OK;
}

/* Output dimension k is input dimension perm[k] (reversed when perm is absent). */
IPRO_REFERENCE_KERNEL(ipro_reference_transpose) {
  (void)context;
  ipro_shape x, y;
  size_t size;
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      element_size(graph, node, true, 0, &size, err))
    return IPRO_ERROR;
  int count = 0;
  const int64_t *perm = ipro_node_attr_ints(node, "perm", &count);
  int64_t axes[IPRO_MAX_RANK];
  if (perm && count != x.rank)
    return ipro_reference_fail(node, err, "perm has %d values for rank %d", count, x.rank);
  for (int k = 0; k < x.rank; k++) {
    axes[k] = perm ? perm[k] : x.rank - 1 - k;
    if (axes[k] < 0 || axes[k] >= x.rank || y.dims[k] != x.dims[axes[k]])
      return ipro_reference_fail(node, err, "perm does not match the input and output shapes");
  }
  ipro_transpose_copy(inputs[0], &x, axes, outputs[0], size);
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_concat) {
  (void)context;
  ipro_shape y;
  size_t size;
  if (ipro_reference_output_shape(graph, node, 0, &y, err) ||
      element_size(graph, node, false, 0, &size, err))
    return IPRO_ERROR;
  int64_t axis = ipro_node_attr_int(node, "axis", 0);
  if (axis < 0 || axis >= y.rank)
    return ipro_reference_fail(node, err, "axis %lld outside rank %d", (long long)axis, y.rank);
  int64_t outer = ipro_reference_product(y.dims, 0, (int)axis);
  size_t out_row = (size_t)ipro_reference_product(y.dims, (int)axis, y.rank) * size;
  size_t placed = 0; /* bytes of each output row filled by the inputs before this one */
  for (int k = 0; k < node->n_inputs; k++) {
    ipro_shape x;
    if (ipro_reference_input_shape(graph, node, k, &x, err) ||
        ipro_reference_expect_dtype(graph, node, true, k, ipro_node_output(graph, node, 0)->dtype,
                                    err))
      return IPRO_ERROR;
    if (x.rank != y.rank)
      return ipro_reference_fail(node, err, "input %d has rank %d; %d expected", k, x.rank, y.rank);
    size_t chunk = (size_t)ipro_reference_product(x.dims, (int)axis, x.rank) * size;
    if (placed + chunk > out_row)
      return ipro_reference_fail(node, err, "inputs exceed the output along the axis");
    for (int64_t o = 0; o < outer; o++)
      if (chunk)
        memcpy((char *)outputs[0] + (size_t)o * out_row + placed,
               (const char *)inputs[k] + (size_t)o * chunk, chunk);
    placed += chunk;
  }
  if (placed != out_row)
    return ipro_reference_fail(node, err, "inputs do not fill the output along the axis");
  return IPRO_OK;
}

/* X → one piece per output along axis, of the extents in "split" (canonical form). */
IPRO_REFERENCE_KERNEL(ipro_reference_split) {
  (void)context;
  ipro_shape x;
  size_t size;
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      element_size(graph, node, true, 0, &size, err))
    return IPRO_ERROR;
  int64_t axis = ipro_node_attr_int(node, "axis", 0);
  int count = 0;
  const int64_t *split = ipro_node_attr_ints(node, "split", &count);
  if (axis < 0 || axis >= x.rank || !split || count != node->n_outputs)
    return ipro_reference_fail(node, err, "axis %lld and %d extents for %d outputs",
                               (long long)axis, count, node->n_outputs);
  int64_t outer = ipro_reference_product(x.dims, 0, (int)axis);
  size_t inner = (size_t)ipro_reference_product(x.dims, (int)axis + 1, x.rank) * size;
  size_t in_row = (size_t)x.dims[axis] * inner, taken = 0;
  for (int o = 0; o < node->n_outputs; o++) {
    size_t chunk = (size_t)split[o] * inner;
    if (taken + chunk > in_row)
      return ipro_reference_fail(node, err, "the pieces exceed X along the axis");
    for (int64_t r = 0; outputs[o] && chunk && r < outer; r++)
      memcpy((char *)outputs[o] + (size_t)r * chunk,
             (const char *)inputs[0] + (size_t)r * in_row + taken, chunk);
    taken += chunk;
  }
  return IPRO_OK;
}

/* data (d0..dr-1), indices (any shape, int32 or int64, negative counting from the end) →
 * data[:axis] + indices + data[axis+1:]. */
IPRO_REFERENCE_KERNEL(ipro_reference_gather) {
  (void)context;
  ipro_shape data, indices;
  size_t size;
  if (ipro_reference_input_shape(graph, node, 0, &data, err) ||
      ipro_reference_input_shape(graph, node, 1, &indices, err) ||
      element_size(graph, node, true, 0, &size, err))
    return IPRO_ERROR;
  ipro_dtype index_dtype = ipro_node_input(graph, node, 1)->dtype;
  if (index_dtype != IPRO_DTYPE_INT64 && index_dtype != IPRO_DTYPE_INT32)
    return ipro_reference_fail(node, err, "%s indices; int32 or int64 expected",
                               ipro_dtype_name(index_dtype));
  int64_t axis = ipro_node_attr_int(node, "axis", 0);
  if (axis < 0 || axis >= data.rank)
    return ipro_reference_fail(node, err, "axis %lld outside rank %d", (long long)axis, data.rank);
  int64_t outer = ipro_reference_product(data.dims, 0, (int)axis), length = data.dims[axis];
  size_t inner = (size_t)ipro_reference_product(data.dims, (int)axis + 1, data.rank) * size;
  int64_t count = ipro_shape_elements(&indices);
  const char *in = inputs[0];
  char *out = outputs[0];
  for (int64_t j = 0; j < count; j++) {
    int64_t index = index_dtype == IPRO_DTYPE_INT64 ? ((const int64_t *)inputs[1])[j]
                                                    : ((const int32_t *)inputs[1])[j];
    if (index < -length || index >= length)
      return ipro_reference_fail(node, err, "index %lld outside [-%lld, %lld)", (long long)index,
                                 (long long)length, (long long)length);
    if (index < 0) index += length;
    for (int64_t o = 0; o < outer; o++)
      memcpy(out + ((size_t)o * (size_t)count + (size_t)j) * inner,
             in + ((size_t)o * (size_t)length + (size_t)index) * inner, inner);
  }
  return IPRO_OK;
}

/* What GatherElements and ScatterElements read first: data (input 0) and the indices (input 1),
 * of one rank, data's element size and the axis. */
static ipro_status elements_operands(const ipro_graph *graph, const ipro_node *node,
                                     ipro_shape *data, ipro_shape *indices, size_t *size, int *axis,
                                     ipro_error *err) {
  if (ipro_reference_input_shape(graph, node, 0, data, err) ||
      ipro_reference_input_shape(graph, node, 1, indices, err) ||
      element_size(graph, node, true, 0, size, err))
    return IPRO_ERROR;
  *axis = (int)ipro_node_attr_int(node, "axis", 0);
  if (!ipro_elements_fit(indices, data, *axis))
    return ipro_reference_fail(node, err, "indices that do not address data along axis %d", *axis);
  return IPRO_OK;
}

/* GatherElements: Y at each position of the indices is data's element there, its coordinate
 * along axis replaced by the index. */
IPRO_REFERENCE_KERNEL(ipro_reference_gather_elements) {
  (void)context;
  ipro_shape data, indices;
  size_t size;
  int axis;
  if (elements_operands(graph, node, &data, &indices, &size, &axis, err)) return IPRO_ERROR;
  ipro_dtype index_dtype = ipro_node_input(graph, node, 1)->dtype;
  const char *in = inputs[0];
  char *out = outputs[0];
  int64_t count = ipro_shape_elements(&indices), index;
  for (int64_t p = 0; p < count; p++) {
    if (!ipro_element_index(inputs[1], index_dtype == IPRO_DTYPE_INT32, p, data.dims[axis], &index))
      return ipro_reference_fail(node, err, "an index outside [-%lld, %lld)",
                                 (long long)data.dims[axis], (long long)data.dims[axis]);
    int64_t from = ipro_element_offset(&indices, &data, axis, p, index);
    memcpy(out + (size_t)p * size, in + (size_t)from * size, size);
  }
  return IPRO_OK;
}

/* ScatterElements without reduction (ir/graph.h's ipro_scatter_elements; the frontend folds it on
 * constants, the only place it runs in a model), elements of any fixed size. */
IPRO_REFERENCE_KERNEL(ipro_reference_scatter_elements) {
  (void)context;
  ipro_shape data, indices;
  size_t size;
  int axis;
  if (elements_operands(graph, node, &data, &indices, &size, &axis, err)) return IPRO_ERROR;
  const char *wrong = ipro_scatter_elements(
      inputs[0], &data, size, inputs[1], ipro_node_input(graph, node, 1)->dtype == IPRO_DTYPE_INT32,
      &indices, inputs[2], axis, outputs[0]);
  return wrong ? ipro_reference_fail(node, err, "%s data", wrong) : IPRO_OK;
}

/* ScatterND without reduction and GatherND with batch_dims 0 (ir/graph.h's ipro_scatter_nd and
 * ipro_gather_nd), elements of any fixed size. */
static ipro_status nd_indexing(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                               void *const *outputs, ipro_error *err) {
  ipro_shape data, indices;
  size_t size;
  if (ipro_reference_input_shape(graph, node, 0, &data, err) ||
      ipro_reference_input_shape(graph, node, 1, &indices, err) ||
      element_size(graph, node, true, 0, &size, err))
    return IPRO_ERROR;
  if (ipro_node_input(graph, node, 1)->dtype != IPRO_DTYPE_INT64)
    return ipro_reference_fail(node, err, "indices must be int64");
  if (indices.rank < 1 || indices.dims[indices.rank - 1] > data.rank)
    return ipro_reference_fail(node, err, "indices of shape rank %d do not address data of rank %d",
                               indices.rank, data.rank);
  const char *wrong =
      node->op == IPRO_OP_SCATTER_ND
          ? ipro_scatter_nd(inputs[0], &data, size, inputs[1], &indices, inputs[2], outputs[0])
          : ipro_gather_nd(inputs[0], &data, size, inputs[1], &indices, outputs[0]);
  return wrong ? ipro_reference_fail(node, err, "%s", wrong) : IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_scatter_nd) {
  (void)context;
  return nd_indexing(graph, node, inputs, outputs, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_gather_nd) {
  (void)context;
  return nd_indexing(graph, node, inputs, outputs, err);
}

/* The int64 dimensions start..end-1 of X (normally folded into a constant by shape inference;
 * this runs only when it was not). start and end count from the end when negative and are
 * clamped to [0, rank]. */
IPRO_REFERENCE_KERNEL(ipro_reference_shape) {
  (void)inputs;
  (void)context;
  ipro_shape x, y;
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      ipro_reference_expect_dtype(graph, node, false, 0, IPRO_DTYPE_INT64, err))
    return IPRO_ERROR;
  int64_t start = ipro_node_attr_int(node, "start", 0);
  int64_t end = ipro_node_attr_int(node, "end", x.rank);
  if (start < 0) start += x.rank;
  if (end < 0) end += x.rank;
  start = start < 0 ? 0 : (start > x.rank ? x.rank : start);
  end = end < 0 ? 0 : (end > x.rank ? x.rank : end);
  int64_t count = end > start ? end - start : 0;
  if (ipro_shape_elements(&y) != count)
    return ipro_reference_fail(node, err, "output holds %lld values; %lld expected",
                               (long long)ipro_shape_elements(&y), (long long)count);
  int64_t *out = outputs[0];
  for (int64_t i = 0; i < count; i++)
    out[i] = x.dims[start + i];
  return IPRO_OK;
}

/* The output tensor already holds the value (the loader made it a CONSTANT). */
IPRO_REFERENCE_KERNEL(ipro_reference_constant) {
  (void)inputs;
  (void)context;
  const ipro_tensor *tensor = ipro_node_output(graph, node, 0);
  if (!tensor || (!tensor->data && tensor->data_bytes > 0))
    return ipro_reference_fail(node, err, "the output has no value");
  if (outputs[0] != tensor->data && tensor->data_bytes > 0)
    memcpy(outputs[0], tensor->data, tensor->data_bytes);
  return IPRO_OK;
}

/* Writes the pad value, converted to dtype, into bytes. */
static ipro_status pad_value_bytes(const ipro_node *node, ipro_dtype dtype, float value,
                                   unsigned char *bytes, ipro_error *err) {
  switch (dtype) {
  case IPRO_DTYPE_FLOAT: memcpy(bytes, &value, sizeof value); return IPRO_OK;
  case IPRO_DTYPE_DOUBLE: {
    double v = value;
    memcpy(bytes, &v, sizeof v);
    return IPRO_OK;
  }
  case IPRO_DTYPE_INT64: {
    int64_t v = (int64_t)value;
    memcpy(bytes, &v, sizeof v);
    return IPRO_OK;
  }
  case IPRO_DTYPE_INT32: {
    int32_t v = (int32_t)value;
    memcpy(bytes, &v, sizeof v);
    return IPRO_OK;
  }
  default:
    return ipro_reference_fail(node, err,
                               "%s data is not supported (float32, float64, int32, int64)",
                               ipro_dtype_name(dtype));
  }
}

/* Maps output coordinate `at` of a dimension padded by `begin` to an input coordinate in
 * [0, length), or returns -1 for the constant value. */
static int64_t pad_source(const char *mode, int64_t at, int64_t begin, int64_t length) {
  int64_t i = at - begin;
  if (i >= 0 && i < length) return i;
  if (strcmp(mode, "edge") == 0) return i < 0 ? 0 : length - 1;
  if (strcmp(mode, "wrap") == 0) return ((i % length) + length) % length;
  if (strcmp(mode, "reflect") == 0) {
    if (length == 1) return 0;
    int64_t period = 2 * (length - 1);
    int64_t r = ((i % period) + period) % period;
    return r < length ? r : period - r;
  }
  return -1;
}

/* X → Y with pads (begins then ends, one pair per axis; negative crops) in mode constant (value),
 * edge, reflect or wrap. */
IPRO_REFERENCE_KERNEL(ipro_reference_pad) {
  (void)context;
  ipro_shape x, y;
  size_t size;
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      element_size(graph, node, true, 0, &size, err))
    return IPRO_ERROR;
  int count = 0;
  const int64_t *pads = ipro_node_attr_ints(node, "pads", &count);
  if (count != 2 * x.rank || y.rank != x.rank)
    return ipro_reference_fail(node, err, "pads has %d values for rank %d", count, x.rank);
  const char *mode = ipro_node_attr_string(node, "mode", "constant");
  bool constant = strcmp(mode, "constant") == 0;
  if (!constant && strcmp(mode, "edge") != 0 && strcmp(mode, "reflect") != 0 &&
      strcmp(mode, "wrap") != 0)
    return ipro_reference_fail(node, err, "mode '%s' is not supported", mode);
  unsigned char value[8] = {0};
  if (constant && pad_value_bytes(node, ipro_node_input(graph, node, 0)->dtype,
                                  ipro_node_attr_float(node, "value", 0.0f), value, err))
    return IPRO_ERROR;
  for (int d = 0; d < x.rank; d++)
    if (y.dims[d] != x.dims[d] + pads[d] + pads[x.rank + d] || (!constant && x.dims[d] == 0))
      return ipro_reference_fail(node, err, "output dimension %d does not match the pads", d);
  int64_t in_strides[IPRO_MAX_RANK];
  ipro_reference_strides(&x, in_strides);
  const char *in = inputs[0];
  char *out = outputs[0];
  int64_t total = ipro_shape_elements(&y);
  for (int64_t i = 0; i < total; i++) {
    int64_t rest = i, from = 0;
    for (int d = y.rank - 1; d >= 0 && from >= 0; d--) {
      int64_t source = pad_source(mode, rest % y.dims[d], pads[d], x.dims[d]);
      rest /= y.dims[d];
      from = source < 0 ? -1 : from + source * in_strides[d];
    }
    memcpy(out + (size_t)i * size, from < 0 ? (const char *)value : in + (size_t)from * size, size);
  }
  return IPRO_OK;
}

/* Expand: Y is X broadcast to Y's shape (numpy's rules); Tile: X repeated whole along each axis. */
IPRO_REFERENCE_KERNEL(ipro_reference_expand) {
  (void)context;
  ipro_shape x, y;
  size_t size;
  int64_t strides[IPRO_MAX_RANK];
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      ipro_reference_expect_dtype(graph, node, false, 0, ipro_node_input(graph, node, 0)->dtype,
                                  err) ||
      element_size(graph, node, true, 0, &size, err))
    return IPRO_ERROR;
  if (node->op == IPRO_OP_TILE) { /* each of Y's dimensions a whole multiple of X's */
    for (int d = 0; d < y.rank; d++)
      if (x.rank != y.rank || x.dims[d] == 0 || y.dims[d] % x.dims[d] != 0)
        return ipro_reference_fail(node, err, "Y's dimension %d is not X's repeated", d);
  } else if (ipro_reference_broadcast_strides(node, &x, &y, strides, err)) {
    return IPRO_ERROR;
  }
  ipro_broadcast_copy(inputs[0], &x, outputs[0], &y, size);
  return IPRO_OK;
}

/* Y is X converted to Y's dtype (CastLike: the second input's; Cast: its `to`), element by
 * element. */
IPRO_REFERENCE_KERNEL(ipro_reference_cast_like) {
  (void)context;
  ipro_shape x, y;
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &y))
    return ipro_reference_fail(node, err, "the output's shape is not the input's");
  ipro_dtype from = ipro_node_input(graph, node, 0)->dtype,
             to = ipro_node_output(graph, node, 0)->dtype;
  if (!ipro_dtype_convert(inputs[0], from, outputs[0], to, ipro_shape_elements(&x)))
    return ipro_reference_fail(node, err, "%s to %s is not supported", ipro_dtype_name(from),
                               ipro_dtype_name(to));
  return IPRO_OK;
}

/* ONNX's Slice: data, starts, ends, [axes], [steps] (int64 or int32 vectors) → the slice. */
IPRO_REFERENCE_KERNEL(ipro_reference_slice_onnx) {
  (void)context;
  ipro_shape data, y;
  size_t size;
  if (ipro_reference_input_shape(graph, node, 0, &data, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      element_size(graph, node, true, 0, &size, err))
    return IPRO_ERROR;
  int64_t values[4][IPRO_MAX_RANK];
  int n = -1;
  for (int i = 1; i < 5; i++) {
    const ipro_tensor *t = ipro_node_input(graph, node, i);
    if (!t) continue;
    int64_t count = ipro_shape_elements(&t->shape);
    if (count > IPRO_MAX_RANK || (n >= 0 && count != n) ||
        (t->dtype != IPRO_DTYPE_INT64 && t->dtype != IPRO_DTYPE_INT32))
      return ipro_reference_fail(node, err,
                                 "starts, ends, axes and steps must be int vectors of "
                                 "one length, at most the rank");
    n = (int)count;
    for (int64_t k = 0; k < count; k++)
      values[i - 1][k] = t->dtype == IPRO_DTYPE_INT64 ? ((const int64_t *)inputs[i])[k]
                                                      : ((const int32_t *)inputs[i])[k];
  }
  ipro_slice slice;
  const char *bad =
      ipro_slice_of(&data, values[0], values[1], ipro_node_input(graph, node, 3) ? values[2] : NULL,
                    ipro_node_input(graph, node, 4) ? values[3] : NULL, n < 0 ? 0 : n, &slice);
  if (bad) return ipro_reference_fail(node, err, "%s", bad);
  if (!ipro_shape_equal(&slice.shape, &y))
    return ipro_reference_fail(node, err, "the slice's shape is not the output's");
  ipro_slice_copy(&slice, &data, inputs[0], outputs[0], size);
  return IPRO_OK;
}

/* Where(condition, X, Y): each element of X where the condition holds, else Y's, the three
 * broadcast to the output's shape (copied so, then chosen), of any fixed-size dtype. */
IPRO_REFERENCE_KERNEL(ipro_reference_where) {
  (void)context;
  ipro_shape c, x, y, out;
  size_t size;
  if (ipro_reference_input_shape(graph, node, 0, &c, err) ||
      ipro_reference_input_shape(graph, node, 1, &x, err) ||
      ipro_reference_input_shape(graph, node, 2, &y, err) ||
      ipro_reference_output_shape(graph, node, 0, &out, err) ||
      ipro_reference_expect_dtype(graph, node, true, 0, IPRO_DTYPE_BOOL, err) ||
      element_size(graph, node, true, 1, &size, err))
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&out);
  uint8_t *chosen = malloc(count ? (size_t)count : 1);
  char *other = malloc(count ? (size_t)count * size : 1);
  if (!chosen || !other) {
    free(chosen);
    free(other);
    return ipro_reference_fail(node, err, "out of memory");
  }
  ipro_broadcast_copy(inputs[0], &c, chosen, &out, 1);
  ipro_broadcast_copy(inputs[1], &x, outputs[0], &out, size);
  ipro_broadcast_copy(inputs[2], &y, other, &out, size);
  for (int64_t i = 0; i < count; i++)
    if (!chosen[i]) memcpy((char *)outputs[0] + (size_t)i * size, other + (size_t)i * size, size);
  free(chosen);
  free(other);
  return IPRO_OK;
}

/* Not of a bool tensor (inference folds it on constants). */
IPRO_REFERENCE_KERNEL(ipro_reference_not) {
  (void)context;
  ipro_shape x, y;
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      ipro_reference_expect_dtype(graph, node, true, 0, IPRO_DTYPE_BOOL, err) ||
      ipro_reference_expect_dtype(graph, node, false, 0, IPRO_DTYPE_BOOL, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &y)) return ipro_reference_fail(node, err, "X and Y differ in shape");
  const uint8_t *in = inputs[0];
  uint8_t *out = outputs[0];
  for (int64_t i = 0, count = ipro_shape_elements(&x); i < count; i++)
    out[i] = !in[i];
  return IPRO_OK;
}
