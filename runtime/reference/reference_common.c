/* Helpers shared by the reference kernels (see reference_ops.h): error messages that name the node,
 * concrete shapes at the graph's batch size, and the index arithmetic of numpy broadcasting. */
#include <stdarg.h>
#include <stdio.h>

#include "reference_ops.h"

ipro_status ipro_reference_fail(const ipro_node *node, ipro_error *err, const char *format, ...) {
  char detail[768];
  va_list args;
  va_start(args, format);
  vsnprintf(detail, sizeof detail, format, args);
  va_end(args);
  return ipro_error_set(err, "node '%s' (%s): %s", node->name ? node->name : "",
                        node->op_type ? node->op_type : "?", detail);
}

ipro_status ipro_reference_shape_of(const ipro_graph *graph, const ipro_node *node,
                                    const ipro_tensor *tensor, ipro_shape *shape, ipro_error *err) {
  *shape = tensor->shape;
  if (graph->batch > 0) ipro_shape_bind_batch(shape, graph->batch);
  if (ipro_shape_elements(shape) < 0) {
    char text[160];
    return ipro_reference_fail(node, err,
                               "tensor '%s' has no concrete shape (%s); bind the batch "
                               "size with ipro_graph_infer_shapes first",
                               tensor->name, ipro_shape_format(&tensor->shape, text, sizeof text));
  }
  return IPRO_OK;
}

ipro_status ipro_reference_input_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                       ipro_shape *shape, ipro_error *err) {
  const ipro_tensor *tensor = ipro_node_input(graph, node, i);
  if (!tensor) return ipro_reference_fail(node, err, "input %d is missing", i);
  return ipro_reference_shape_of(graph, node, tensor, shape, err);
}

ipro_status ipro_reference_output_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                        ipro_shape *shape, ipro_error *err) {
  const ipro_tensor *tensor = ipro_node_output(graph, node, i);
  if (!tensor) return ipro_reference_fail(node, err, "output %d is missing", i);
  return ipro_reference_shape_of(graph, node, tensor, shape, err);
}

ipro_status ipro_reference_expect_dtype(const ipro_graph *graph, const ipro_node *node,
                                        bool is_input, int i, ipro_dtype dtype, ipro_error *err) {
  const ipro_tensor *tensor =
      is_input ? ipro_node_input(graph, node, i) : ipro_node_output(graph, node, i);
  if (!tensor)
    return ipro_reference_fail(node, err, "%s %d is missing", is_input ? "input" : "output", i);
  if (tensor->dtype != dtype)
    return ipro_reference_fail(node, err, "%s '%s' is %s; the reference kernel takes %s",
                               is_input ? "input" : "output", tensor->name,
                               ipro_dtype_name(tensor->dtype), ipro_dtype_name(dtype));
  return IPRO_OK;
}

ipro_status ipro_reference_expect_real(const ipro_graph *graph, const ipro_node *node,
                                       bool is_input, int i, ipro_error *err) {
  const ipro_tensor *tensor =
      is_input ? ipro_node_input(graph, node, i) : ipro_node_output(graph, node, i);
  if (!tensor)
    return ipro_reference_fail(node, err, "%s %d is missing", is_input ? "input" : "output", i);
  if (tensor->dtype != IPRO_DTYPE_FLOAT && tensor->dtype != IPRO_DTYPE_DOUBLE)
    return ipro_reference_fail(node, err,
                               "%s '%s' is %s; the reference kernel takes float32 or "
                               "float64",
                               is_input ? "input" : "output", tensor->name,
                               ipro_dtype_name(tensor->dtype));
  return IPRO_OK;
}

int64_t ipro_reference_product(const int64_t *dims, int begin, int end) {
  int64_t product = 1;
  for (int i = begin; i < end; i++)
    product *= dims[i];
  return product;
}

void ipro_reference_strides(const ipro_shape *shape, int64_t strides[IPRO_MAX_RANK]) {
  int64_t stride = 1;
  for (int i = shape->rank - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape->dims[i];
  }
}

ipro_status ipro_reference_broadcast_strides(const ipro_node *node, const ipro_shape *input,
                                             const ipro_shape *output,
                                             int64_t strides[IPRO_MAX_RANK], ipro_error *err) {
  if (input->rank > output->rank)
    return ipro_reference_fail(node, err, "an input of rank %d does not broadcast to rank %d",
                               input->rank, output->rank);
  int64_t input_strides[IPRO_MAX_RANK];
  ipro_reference_strides(input, input_strides);
  int shift = output->rank - input->rank;
  for (int d = 0; d < output->rank; d++) {
    int k = d - shift;
    if (k < 0) {
      strides[d] = 0;
    } else if (input->dims[k] == output->dims[d]) {
      strides[d] = input->dims[k] == 1 ? 0 : input_strides[k];
    } else if (input->dims[k] == 1) {
      strides[d] = 0;
    } else {
      return ipro_reference_fail(node, err,
                                 "dimension %d of an input (%lld) does not broadcast to %lld", k,
                                 (long long)input->dims[k], (long long)output->dims[d]);
    }
  }
  return IPRO_OK;
}

int64_t ipro_reference_offset(const int64_t *dims, int rank, const int64_t *strides,
                              int64_t linear) {
  int64_t offset = 0;
  for (int d = rank - 1; d >= 0; d--) {
    offset += (linear % dims[d]) * strides[d];
    linear /= dims[d];
  }
  return offset;
}

int64_t ipro_reference_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t ipro_reference_ceil_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a > 0) ? q + 1 : q;
}

/* Reads an INTS attribute of exactly `count` values into values, or leaves the defaults. */
static ipro_status read_spatial_ints(const ipro_node *node, const char *name, int count,
                                     int64_t *values, ipro_error *err) {
  int found = 0;
  const int64_t *attr = ipro_node_attr_ints(node, name, &found);
  if (!attr) return IPRO_OK;
  if (found != count)
    return ipro_reference_fail(node, err, "attribute %s has %d values; %d expected", name, found,
                               count);
  for (int i = 0; i < count; i++)
    values[i] = attr[i];
  return IPRO_OK;
}

ipro_status ipro_reference_window_of(const ipro_graph *graph, const ipro_node *node,
                                     const int64_t *kernel, ipro_reference_window *window,
                                     ipro_error *err) {
  ipro_shape x, y;
  if (ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  return ipro_reference_window_from_shapes(node, &x, &y, kernel, window, err);
}

ipro_status ipro_reference_window_from_shapes(const ipro_node *node, const ipro_shape *x_shape,
                                              const ipro_shape *y_shape, const int64_t *kernel,
                                              ipro_reference_window *window, ipro_error *err) {
  const ipro_shape x = *x_shape, y = *y_shape;
  int spatial = x.rank - 2;
  if (spatial < 1 || spatial > 3 || y.rank != x.rank)
    return ipro_reference_fail(node, err, "input of rank %d: 1 to 3 spatial dimensions supported",
                               x.rank);
  int64_t strides[3] = {1, 1, 1}, dilations[3] = {1, 1, 1}, pads[6] = {0};
  if (read_spatial_ints(node, "strides", spatial, strides, err) ||
      read_spatial_ints(node, "dilations", spatial, dilations, err) ||
      read_spatial_ints(node, "pads", 2 * spatial, pads, err))
    return IPRO_ERROR;
  window->batch = x.dims[0];
  window->in_channels = x.dims[1];
  window->out_channels = y.dims[1];
  int shift = 3 - spatial;
  for (int s = 0; s < 3; s++) {
    int k = s - shift; /* the spatial dimension in this slot, or < 0 for an unused slot */
    window->in[s] = k < 0 ? 1 : x.dims[2 + k];
    window->out[s] = k < 0 ? 1 : y.dims[2 + k];
    window->kernel[s] = k < 0 ? 1 : kernel[k];
    window->stride[s] = k < 0 ? 1 : strides[k];
    window->dilation[s] = k < 0 ? 1 : dilations[k];
    window->pad_begin[s] = k < 0 ? 0 : pads[k];
    window->pad_end[s] = k < 0 ? 0 : pads[spatial + k];
    if (window->stride[s] < 1 || window->dilation[s] < 1 || window->kernel[s] < 1)
      return ipro_reference_fail(node, err, "strides, dilations and kernel extents must be >= 1");
  }
  window->in_size = window->in[0] * window->in[1] * window->in[2];
  window->out_size = window->out[0] * window->out[1] * window->out[2];
  window->kernel_size = window->kernel[0] * window->kernel[1] * window->kernel[2];
  return IPRO_OK;
}

void ipro_reference_valid_range(int64_t offset, int64_t stride, int64_t limit, int64_t count,
                                int64_t *lo, int64_t *hi) {
  int64_t first = ipro_reference_ceil_div(-offset, stride);
  int64_t end = ipro_reference_floor_div(limit - 1 - offset, stride) + 1;
  *lo = first > 0 ? first : 0;
  *hi = end < count ? end : count;
  if (*hi < *lo) *hi = *lo;
}

ipro_status ipro_reference_check_shape_attribute(const ipro_node *node, const char *name,
                                                 const ipro_shape *shape, ipro_error *err) {
  if (!ipro_node_attr(node, name)) return IPRO_OK;
  int count = 0;
  const int64_t *dims = ipro_node_attr_ints(node, name, &count);
  bool equal = count == shape->rank;
  for (int d = 0; equal && d < count; d++)
    equal = dims[d] == shape->dims[d] || dims[d] == IPRO_DIM_BATCH;
  if (!equal) {
    char text[160];
    return ipro_reference_fail(node, err, "attribute %s does not match the tensor's shape %s", name,
                               ipro_shape_format(shape, text, sizeof text));
  }
  return IPRO_OK;
}
