/* Op rows of pooling: MaxPool and AveragePool (any number of spatial axes, dilations, ceil_mode,
 * MaxPool's optional Indices output) and the global poolings. Inference fills the defaults and
 * resolves auto_pad into explicit pads. */
#include <string.h>

#include "op_helpers.h"
#include "op_rows.h"

static const char *const max_pool_attributes[] = {
    "auto_pad:s", "ceil_mode:i",     "dilations:I", "kernel_shape:I",
    "pads:I",     "storage_order:i", "strides:I",   NULL};
static const char *const average_pool_attributes[] = {
    "auto_pad:s",     "ceil_mode:i", "count_include_pad:i", "dilations:I",
    "kernel_shape:I", "pads:I",      "strides:I",           NULL};

static bool is_max_pool(const ipro_node *node) { return node->op == IPRO_OP_MAX_POOL; }

ipro_status ipro_pool_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  bool max = is_max_pool(node);
  if (ipro_op_check_attributes(node, max ? max_pool_attributes : average_pool_attributes, err) !=
          IPRO_OK ||
      ipro_op_check_auto_pad(node, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!ipro_node_attr(node, "kernel_shape"))
    return ipro_op_fail(err, node, "attribute 'kernel_shape' is required");
  int64_t ceil_mode = ipro_node_attr_int(node, "ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1)
    return ipro_op_fail(err, node, "ceil_mode %lld is invalid (0 or 1)", (long long)ceil_mode);
  if (ipro_op_default_int(node, "ceil_mode", 0, err) != IPRO_OK) return IPRO_ERROR;
  if (max) {
    int64_t order = ipro_node_attr_int(node, "storage_order", 0);
    if (order != 0 && order != 1)
      return ipro_op_fail(err, node, "storage_order %lld is invalid (0 or 1)", (long long)order);
    return ipro_op_default_int(node, "storage_order", 0, err);
  }
  int64_t include = ipro_node_attr_int(node, "count_include_pad", 0);
  if (include != 0 && include != 1)
    return ipro_op_fail(err, node, "count_include_pad %lld is invalid (0 or 1)",
                        (long long)include);
  return ipro_op_default_int(node, "count_include_pad", 0, err);
}

ipro_status ipro_pool_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  int max_outputs = is_max_pool(node) ? 2 : 1;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, max_outputs, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 3, IPRO_MAX_RANK, err) != IPRO_OK ||
      ipro_op_require_concrete(graph, node, 0, 1, err) != IPRO_OK)
    return IPRO_ERROR;
  int rank = x->shape.rank, n = rank - 2;
  ipro_window window;
  int64_t out[IPRO_MAX_RANK];
  bool ceil_mode = ipro_node_attr_int(node, "ceil_mode", 0) != 0;
  if (ipro_op_read_window(node, n, NULL, &window, err) != IPRO_OK ||
      ipro_op_window_output(node, &window, &x->shape.dims[2], ceil_mode, out, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape = x->shape;
  memcpy(&shape.dims[2], out, sizeof(int64_t) * (size_t)n);
  if (ipro_op_write_window(node, &window, err) != IPRO_OK ||
      ipro_op_set_output(graph, node, 0, x->dtype, &shape, err) != IPRO_OK)
    return IPRO_ERROR;
  /* MaxPool's Indices: flat positions into the input, as int64. */
  return ipro_op_set_output(graph, node, 1, IPRO_DTYPE_INT64, &shape, err);
}

int64_t ipro_pool_flops(const ipro_graph *graph, const ipro_node *node) {
  int count;
  const int64_t *kernel = ipro_node_attr_ints(node, "kernel_shape", &count);
  int64_t window = 1;
  for (int i = 0; i < count; i++)
    window *= kernel[i];
  return ipro_op_output_elements(graph, node, 0) * window;
}

ipro_status ipro_global_pool_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 3, IPRO_MAX_RANK, err) != IPRO_OK ||
      ipro_op_require_concrete(graph, node, 0, 1, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape = x->shape;
  for (int d = 2; d < shape.rank; d++)
    shape.dims[d] = 1;
  return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
}

int64_t ipro_global_pool_flops(const ipro_graph *graph, const ipro_node *node) {
  return ipro_op_input_elements(graph, node, 0);
}
