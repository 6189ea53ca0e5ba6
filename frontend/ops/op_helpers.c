/* The shared pieces of the op rows (see op_helpers.h). */
#include "op_helpers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/checked_size.h"

ipro_status ipro_op_fail(ipro_error *err, const ipro_node *node, const char *format, ...) {
  if (!err) return IPRO_ERROR;
  char detail[sizeof err->message];
  va_list args;
  va_start(args, format);
  vsnprintf(detail, sizeof detail, format, args);
  va_end(args);
  return ipro_error_set(err, "node '%s' (%s): %s", node->name, node->op_type, detail);
}

ipro_status ipro_op_out_of_memory(ipro_error *err, const ipro_node *node) {
  return ipro_op_fail(err, node, "out of memory");
}

const char *ipro_op_input_name(const ipro_graph *graph, const ipro_node *node, int i) {
  const ipro_tensor *tensor = ipro_node_input(graph, node, i);
  return tensor ? tensor->name : "";
}

const char *ipro_op_output_name(const ipro_graph *graph, const ipro_node *node, int i) {
  const ipro_tensor *tensor = ipro_node_output(graph, node, i);
  return tensor ? tensor->name : "";
}

static const char *attr_kind_name(char kind) {
  switch (kind) {
  case 'i': return "an int";
  case 'f': return "a float";
  case 's': return "a string";
  case 'I': return "a list of ints";
  case 'F': return "a list of floats";
  case 't': return "a tensor";
  default: return "?";
  }
}

static char attr_kind_code(ipro_attr_kind kind) {
  switch (kind) {
  case IPRO_ATTR_INT: return 'i';
  case IPRO_ATTR_FLOAT: return 'f';
  case IPRO_ATTR_STRING: return 's';
  case IPRO_ATTR_INTS: return 'I';
  case IPRO_ATTR_FLOATS: return 'F';
  case IPRO_ATTR_TENSOR: return 't';
  }
  return '?';
}

ipro_status ipro_op_check_attributes(const ipro_node *node, const char *const *known,
                                     ipro_error *err) {
  for (int a = 0; a < node->n_attrs; a++) {
    const ipro_attr *attr = &node->attrs[a];
    size_t length = strlen(attr->name);
    char expected = 0;
    for (const char *const *k = known; *k && !expected; k++)
      if (strncmp(*k, attr->name, length) == 0 && (*k)[length] == ':') expected = (*k)[length + 1];
    if (!expected)
      return ipro_op_fail(err, node, "attribute '%s' is not supported by infopro for this op",
                          attr->name);
    /* A list attribute written with one element by some exporters is still a list; an int list
     * given where a float is expected is not something we guess about. */
    if (attr_kind_code(attr->kind) != expected)
      return ipro_op_fail(err, node, "attribute '%s' should be %s", attr->name,
                          attr_kind_name(expected));
  }
  return IPRO_OK;
}

ipro_status ipro_op_check_arity(const ipro_graph *graph, const ipro_node *node, int min_inputs,
                                int max_inputs, int min_outputs, int max_outputs, ipro_error *err) {
  (void)graph;
  if (node->n_inputs > max_inputs)
    return ipro_op_fail(err, node, "has %d inputs; at most %d are allowed", node->n_inputs,
                        max_inputs);
  if (node->n_outputs > max_outputs)
    return ipro_op_fail(err, node, "has %d outputs; at most %d are allowed", node->n_outputs,
                        max_outputs);
  for (int i = 0; i < min_inputs; i++)
    if (i >= node->n_inputs || node->inputs[i] < 0)
      return ipro_op_fail(err, node, "input %d is required but missing", i);
  for (int i = 0; i < min_outputs; i++)
    if (i >= node->n_outputs || node->outputs[i] < 0)
      return ipro_op_fail(err, node, "output %d is required but missing", i);
  return IPRO_OK;
}

/* Writes the names of the dtypes in mask, comma-separated. */
static void format_dtypes(unsigned mask, char *buffer, size_t size) {
  size_t used = 0;
  buffer[0] = '\0';
  for (int d = 0; d < 32 && used < size; d++) {
    if (!(mask & (1u << d))) continue;
    used += (size_t)snprintf(buffer + used, size - used, "%s%s", used ? ", " : "",
                             ipro_dtype_name((ipro_dtype)d));
  }
}

static ipro_status check_input(const ipro_graph *graph, const ipro_node *node, int i,
                               unsigned dtypes, ipro_tensor *tensor, ipro_error *err) {
  if (tensor->dtype <= 0 || tensor->dtype >= 32 || !(dtypes & (1u << tensor->dtype))) {
    char supported[128];
    format_dtypes(dtypes, supported, sizeof supported);
    return ipro_op_fail(err, node,
                        "input '%s' has dtype %s, which infopro does not support (supported: %s)",
                        tensor->name, ipro_dtype_name(tensor->dtype), supported);
  }
  if (tensor->shape.rank < 0)
    return ipro_op_fail(err, node, "the shape of input '%s' is unknown",
                        ipro_op_input_name(graph, node, i));
  return IPRO_OK;
}

ipro_status ipro_op_input(const ipro_graph *graph, const ipro_node *node, int i, unsigned dtypes,
                          ipro_tensor **out, ipro_error *err) {
  ipro_tensor *tensor = ipro_node_input(graph, node, i);
  *out = NULL;
  if (!tensor) return ipro_op_fail(err, node, "input %d is required but missing", i);
  if (check_input(graph, node, i, dtypes, tensor, err) != IPRO_OK) return IPRO_ERROR;
  *out = tensor;
  return IPRO_OK;
}

ipro_status ipro_op_optional_input(const ipro_graph *graph, const ipro_node *node, int i,
                                   unsigned dtypes, ipro_tensor **out, ipro_error *err) {
  ipro_tensor *tensor = ipro_node_input(graph, node, i);
  *out = NULL;
  if (!tensor) return IPRO_OK;
  if (check_input(graph, node, i, dtypes, tensor, err) != IPRO_OK) return IPRO_ERROR;
  *out = tensor;
  return IPRO_OK;
}

ipro_status ipro_op_check_rank(const ipro_graph *graph, const ipro_node *node, int i, int min_rank,
                               int max_rank, ipro_error *err) {
  const ipro_tensor *tensor = ipro_node_input(graph, node, i);
  if (!tensor) return IPRO_OK;
  int rank = tensor->shape.rank;
  if (rank >= min_rank && (max_rank < 0 || rank <= max_rank)) return IPRO_OK;
  char shape[128];
  ipro_shape_format(&tensor->shape, shape, sizeof shape);
  if (max_rank < 0)
    return ipro_op_fail(err, node, "input '%s' has shape %s; rank %d or more is required",
                        tensor->name, shape, min_rank);
  if (min_rank == max_rank)
    return ipro_op_fail(err, node, "input '%s' has shape %s; rank %d is required", tensor->name,
                        shape, min_rank);
  return ipro_op_fail(err, node, "input '%s' has shape %s; a rank from %d to %d is required",
                      tensor->name, shape, min_rank, max_rank);
}

ipro_status ipro_op_batch_error(const ipro_node *node, ipro_error *err, const char *what) {
  return ipro_op_fail(err, node,
                      "%s involves the symbolic batch dimension; a concrete batch size is needed "
                      "(give one with --batch)",
                      what);
}

ipro_status ipro_op_require_concrete(const ipro_graph *graph, const ipro_node *node, int i,
                                     int from, ipro_error *err) {
  const ipro_tensor *tensor = ipro_node_input(graph, node, i);
  if (!tensor) return IPRO_OK;
  for (int d = from; d < tensor->shape.rank; d++) {
    if (!ipro_dim_is_batch(tensor->shape.dims[d])) continue;
    char what[300];
    snprintf(what, sizeof what, "dimension %d of input '%s'", d, tensor->name);
    return ipro_op_batch_error(node, err, what);
  }
  return IPRO_OK;
}

ipro_status ipro_op_axis(const ipro_node *node, const char *what, int64_t axis, int rank,
                         int64_t *out, ipro_error *err) {
  if (axis < -rank || axis >= rank)
    return ipro_op_fail(err, node, "%s %lld is out of range for rank %d", what, (long long)axis,
                        rank);
  *out = axis < 0 ? axis + rank : axis;
  return IPRO_OK;
}

ipro_status ipro_op_canonical_axis(ipro_node *node, int64_t fallback, int rank, int64_t *axis,
                                   ipro_error *err) {
  if (ipro_op_axis(node, "axis", ipro_node_attr_int(node, "axis", fallback), rank, axis, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_put_int(node, "axis", *axis, err);
}

ipro_status ipro_op_broadcast(const ipro_node *node, const ipro_shape *a, const char *a_name,
                              const ipro_shape *b, const char *b_name, ipro_shape *out,
                              ipro_error *err) {
  int rank = a->rank > b->rank ? a->rank : b->rank;
  ipro_shape result = {.rank = rank};
  for (int d = 0; d < rank; d++) {
    int da = d - (rank - a->rank), db = d - (rank - b->rank);
    int64_t x = da >= 0 ? a->dims[da] : 1, y = db >= 0 ? b->dims[db] : 1;
    if (x == y || y == 1) {
      result.dims[d] = x;
    } else if (x == 1) {
      result.dims[d] = y;
    } else {
      char sa[128], sb[128];
      ipro_shape_format(a, sa, sizeof sa);
      ipro_shape_format(b, sb, sizeof sb);
      if (ipro_dim_is_batch(x) || ipro_dim_is_batch(y)) {
        char what[400];
        snprintf(what, sizeof what, "broadcasting '%s' %s with '%s' %s", a_name, sa, b_name, sb);
        return ipro_op_batch_error(node, err, what);
      }
      return ipro_op_fail(err, node, "inputs '%s' %s and '%s' %s cannot be broadcast together",
                          a_name, sa, b_name, sb);
    }
  }
  *out = result;
  return IPRO_OK;
}

bool ipro_tensor_is_constant(const ipro_tensor *tensor) {
  if (tensor->kind == IPRO_TENSOR_ACTIVATION || tensor->shape.rank < 0) return false;
  int64_t elements = ipro_shape_elements(&tensor->shape);
  if (elements < 0) return false;
  return elements == 0 ||
         (tensor->data && tensor->data_bytes >= (size_t)elements * ipro_dtype_size(tensor->dtype));
}

bool ipro_tensor_is_foldable(const ipro_tensor *tensor) {
  bool parameter = tensor->kind == IPRO_TENSOR_INITIALIZER &&
                   (tensor->dtype == IPRO_DTYPE_FLOAT || tensor->dtype == IPRO_DTYPE_DOUBLE);
  return ipro_tensor_is_constant(tensor) && !parameter;
}

/* The constant input i with its element count, or an error naming the node and input. */
static ipro_status constant_input(const ipro_graph *graph, const ipro_node *node, int i,
                                  unsigned dtypes, int max, const ipro_tensor **out, int64_t *count,
                                  ipro_error *err) {
  const ipro_tensor *tensor = ipro_node_input(graph, node, i);
  if (!tensor) return ipro_op_fail(err, node, "input %d is required but missing", i);
  if (!ipro_tensor_is_constant(tensor))
    return ipro_op_fail(err, node,
                        "input '%s' (input %d) must be a constant (an initializer or a Constant "
                        "node's output): infopro reads its value at compile time",
                        tensor->name, i);
  ipro_tensor *mutable_tensor = (ipro_tensor *)tensor;
  if (check_input(graph, node, i, dtypes, mutable_tensor, err) != IPRO_OK) return IPRO_ERROR;
  *count = ipro_shape_elements(&tensor->shape);
  if (*count > max)
    return ipro_op_fail(err, node, "input '%s' has %lld values; at most %d are allowed",
                        tensor->name, (long long)*count, max);
  *out = tensor;
  return IPRO_OK;
}

ipro_status ipro_op_constant_ints(const ipro_graph *graph, const ipro_node *node, int i,
                                  int64_t *values, int max, int *count, ipro_error *err) {
  const ipro_tensor *tensor = NULL;
  int64_t n = 0;
  if (constant_input(graph, node, i, IPRO_DTYPES_INDEX, max, &tensor, &n, err) != IPRO_OK)
    return IPRO_ERROR;
  for (int64_t k = 0; k < n; k++) {
    if (tensor->dtype == IPRO_DTYPE_INT64) {
      memcpy(&values[k], (const char *)tensor->data + 8 * k, 8);
    } else {
      int32_t v;
      memcpy(&v, (const char *)tensor->data + 4 * k, 4);
      values[k] = v;
    }
  }
  *count = (int)n;
  return IPRO_OK;
}

ipro_status ipro_op_constant_floats(const ipro_graph *graph, const ipro_node *node, int i,
                                    float *values, int max, int *count, ipro_error *err) {
  const ipro_tensor *tensor = NULL;
  int64_t n = 0;
  if (constant_input(graph, node, i, IPRO_DTYPES_FLOAT, max, &tensor, &n, err) != IPRO_OK)
    return IPRO_ERROR;
  if (n) memcpy(values, tensor->data, sizeof(float) * (size_t)n);
  *count = (int)n;
  return IPRO_OK;
}

ipro_status ipro_op_constant_float(const ipro_graph *graph, const ipro_node *node, int i,
                                   float *value, ipro_error *err) {
  int count;
  if (ipro_op_constant_floats(graph, node, i, value, 1, &count, err) != IPRO_OK) return IPRO_ERROR;
  if (count != 1)
    return ipro_op_fail(err, node, "input '%s' must hold one value",
                        ipro_op_input_name(graph, node, i));
  return IPRO_OK;
}

ipro_status ipro_op_constant_bool(const ipro_graph *graph, const ipro_node *node, int i,
                                  bool *value, ipro_error *err) {
  const ipro_tensor *tensor = NULL;
  int64_t n = 0;
  if (constant_input(graph, node, i, IPRO_DTYPES(IPRO_DTYPE_BOOL), 1, &tensor, &n, err) != IPRO_OK)
    return IPRO_ERROR;
  if (n != 1) return ipro_op_fail(err, node, "input '%s' must hold one value", tensor->name);
  *value = ((const uint8_t *)tensor->data)[0] != 0;
  return IPRO_OK;
}

void ipro_op_drop_input(ipro_node *node, int i) {
  if (i < node->n_inputs) node->inputs[i] = -1;
  /* omitted inputs at the end are no inputs: n_inputs counts up to the last present one, so
   * that a kernel taking "X alone" sees one input */
  while (node->n_inputs > 1 && node->inputs[node->n_inputs - 1] < 0)
    node->n_inputs--;
}

ipro_status ipro_op_put_int(ipro_node *node, const char *name, int64_t value, ipro_error *err) {
  if (ipro_node_set_int(node, name, value) != IPRO_OK) return ipro_op_out_of_memory(err, node);
  return IPRO_OK;
}

ipro_status ipro_op_put_float(ipro_node *node, const char *name, float value, ipro_error *err) {
  if (ipro_node_set_float(node, name, value) != IPRO_OK) return ipro_op_out_of_memory(err, node);
  return IPRO_OK;
}

ipro_status ipro_op_put_string(ipro_node *node, const char *name, const char *value,
                               ipro_error *err) {
  /* value may be the attribute's own string, which replacing the attribute frees. */
  size_t size = strlen(value) + 1;
  char *copy = malloc(size);
  if (!copy) return ipro_op_out_of_memory(err, node);
  memcpy(copy, value, size);
  ipro_status status = ipro_node_set_string(node, name, copy);
  free(copy);
  if (status != IPRO_OK) return ipro_op_out_of_memory(err, node);
  return IPRO_OK;
}

/* The list writers copy first, since values may point into the attribute being replaced. */
ipro_status ipro_op_put_ints(ipro_node *node, const char *name, const int64_t *values, int count,
                             ipro_error *err) {
  int64_t *copy = malloc(sizeof(int64_t) * (size_t)(count > 0 ? count : 1));
  if (!copy) return ipro_op_out_of_memory(err, node);
  if (count > 0) memcpy(copy, values, sizeof(int64_t) * (size_t)count);
  ipro_status status = ipro_node_set_ints(node, name, copy, count);
  free(copy);
  if (status != IPRO_OK) return ipro_op_out_of_memory(err, node);
  return IPRO_OK;
}

ipro_status ipro_op_put_floats(ipro_node *node, const char *name, const float *values, int count,
                               ipro_error *err) {
  float *copy = malloc(sizeof(float) * (size_t)(count > 0 ? count : 1));
  if (!copy) return ipro_op_out_of_memory(err, node);
  if (count > 0) memcpy(copy, values, sizeof(float) * (size_t)count);
  ipro_status status = ipro_node_set_floats(node, name, copy, count);
  free(copy);
  if (status != IPRO_OK) return ipro_op_out_of_memory(err, node);
  return IPRO_OK;
}

ipro_status ipro_op_default_int(ipro_node *node, const char *name, int64_t value, ipro_error *err) {
  if (ipro_node_attr(node, name)) return IPRO_OK;
  return ipro_op_put_int(node, name, value, err);
}

ipro_status ipro_op_default_float(ipro_node *node, const char *name, float value, ipro_error *err) {
  if (ipro_node_attr(node, name)) return IPRO_OK;
  return ipro_op_put_float(node, name, value, err);
}

ipro_status ipro_op_default_string(ipro_node *node, const char *name, const char *value,
                                   ipro_error *err) {
  if (ipro_node_attr(node, name)) return IPRO_OK;
  return ipro_op_put_string(node, name, value, err);
}

/* Every tensor shape inference writes passes through here, so this is where an impossible size
 * (a Reshape to 2^40 elements, a batch too large for a layer) stops, naming the node. */
static ipro_status check_output_size(const ipro_graph *graph, const ipro_node *node,
                                     const ipro_tensor *tensor, const ipro_shape *shape,
                                     ipro_error *err) {
  if (ipro_shape_size(shape, graph->batch, NULL)) return IPRO_OK;
  char text[160];
  return ipro_op_fail(err, node,
                      "output '%s' %s at batch %lld would hold more than %lld elements, the most "
                      "one tensor may hold",
                      tensor->name, ipro_shape_format(shape, text, sizeof text),
                      (long long)(graph->batch > 0 ? graph->batch : 1),
                      (long long)IPRO_MAX_TENSOR_ELEMENTS);
}

ipro_status ipro_op_set_output(ipro_graph *graph, const ipro_node *node, int i, ipro_dtype dtype,
                               const ipro_shape *shape, ipro_error *err) {
  ipro_tensor *tensor = ipro_node_output(graph, node, i);
  if (!tensor) return IPRO_OK;
  if (check_output_size(graph, node, tensor, shape, err) != IPRO_OK) return IPRO_ERROR;
  if (tensor->kind == IPRO_TENSOR_CONSTANT) {
    free(tensor->data);
    tensor->data = NULL;
    tensor->data_bytes = 0;
    tensor->kind = IPRO_TENSOR_ACTIVATION;
  }
  tensor->dtype = dtype;
  tensor->shape = *shape;
  return IPRO_OK;
}

ipro_status ipro_op_fold_output(ipro_graph *graph, const ipro_node *node, int i, ipro_dtype dtype,
                                const ipro_shape *shape, const void *bytes, size_t size,
                                ipro_error *err) {
  ipro_tensor *tensor = ipro_node_output(graph, node, i);
  if (!tensor) return IPRO_OK;
  if (check_output_size(graph, node, tensor, shape, err) != IPRO_OK) return IPRO_ERROR;
  tensor->dtype = dtype;
  tensor->shape = *shape;
  tensor->kind = IPRO_TENSOR_CONSTANT;
  if (ipro_tensor_set_data(tensor, bytes, size, err) != IPRO_OK)
    return ipro_op_out_of_memory(err, node);
  return IPRO_OK;
}

ipro_shape ipro_shape_vector(int64_t length) {
  ipro_shape shape = {.rank = 1};
  shape.dims[0] = length;
  return shape;
}

ipro_shape ipro_shape_scalar(void) { return (ipro_shape){.rank = 0}; }

int64_t ipro_op_dim(const ipro_graph *graph, int64_t dim) {
  if (ipro_dim_is_batch(dim)) return graph->batch > 0 ? graph->batch : 1;
  return dim;
}

int64_t ipro_op_elements(const ipro_graph *graph, const ipro_shape *shape) {
  if (shape->rank < 0) return 0;
  int64_t count = 1;
  for (int d = 0; d < shape->rank; d++) {
    int64_t dim = ipro_op_dim(graph, shape->dims[d]);
    if (dim < 0) return 0;
    count *= dim;
  }
  return count;
}

int64_t ipro_op_input_elements(const ipro_graph *graph, const ipro_node *node, int i) {
  const ipro_tensor *tensor = ipro_node_input(graph, node, i);
  return tensor ? ipro_op_elements(graph, &tensor->shape) : 0;
}

int64_t ipro_op_output_elements(const ipro_graph *graph, const ipro_node *node, int i) {
  const ipro_tensor *tensor = ipro_node_output(graph, node, i);
  return tensor ? ipro_op_elements(graph, &tensor->shape) : 0;
}

int64_t ipro_op_zero_flops(const ipro_graph *graph, const ipro_node *node) {
  (void)graph;
  (void)node;
  return 0;
}

double *ipro_op_broadcast_doubles(const ipro_graph *graph, const ipro_node *node, int i,
                                  const ipro_shape *shape, ipro_error *err) {
  const ipro_tensor *input = ipro_node_input(graph, node, i);
  int64_t elements = ipro_shape_elements(&input->shape), count = ipro_shape_elements(shape);
  double *values = malloc(sizeof(double) * (size_t)(elements + 1));
  double *broadcast = malloc(sizeof(double) * (size_t)(count + 1));
  ipro_status status = values && broadcast ? IPRO_OK : ipro_op_out_of_memory(err, node);
  if (status == IPRO_OK)
    ipro_dtype_convert(input->data, input->dtype, values, IPRO_DTYPE_DOUBLE, elements);
  for (int64_t k = 0; status == IPRO_OK && k < elements; k++)
    if (input->dtype == IPRO_DTYPE_INT64 && values[k] == (double)IPRO_DIM_BATCH)
      status = ipro_op_batch_error(node, err, "arithmetic on the batch size (infer at a batch)");
  if (status == IPRO_OK) ipro_broadcast_copy(values, &input->shape, broadcast, shape, sizeof(double));
  free(values);
  if (status == IPRO_OK) return broadcast;
  free(broadcast);
  return NULL;
}

ipro_status ipro_op_fold_doubles(ipro_graph *graph, const ipro_node *node, ipro_dtype dtype,
                                 const ipro_shape *shape, const double *values, ipro_error *err) {
  int64_t count = ipro_shape_elements(shape);
  char *folded = malloc((size_t)(count + 1) * ipro_dtype_size(dtype));
  if (!folded) return ipro_op_out_of_memory(err, node);
  ipro_dtype_convert(values, IPRO_DTYPE_DOUBLE, folded, dtype, count);
  ipro_status status = ipro_op_fold_output(graph, node, 0, dtype, shape, folded,
                                           (size_t)count * ipro_dtype_size(dtype), err);
  free(folded);
  return status;
}
