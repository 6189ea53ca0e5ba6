/* Op rows of the ops that make a tensor from a shape alone: ConstantOfShape (filled with one
 * value) and RandomUniformLike (uniform noise shaped like its input), and of the comparisons and
 * Not that make masks of them. Exporters build stochastic
 * depth (torchvision's EfficientNet, timm's drop_path) from them: noise of [N, 1, 1, 1], compared
 * with the survival probability p, cast, divided by p and multiplied into a residual branch
 * (passes.c puts that back into inference form). ConstantOfShape of a known shape folds; of one
 * that holds the symbolic batch it is an op like any other. */
#include <stdlib.h>
#include <string.h>

#include "ir/elementwise_values.h"
#include "op_helpers.h"
#include "op_rows.h"

/* The most elements a folded ConstantOfShape may have. */
#define MAX_FOLDED_FILL (1 << 20)

/* The dtypes ConstantOfShape fills. */
#define FILLABLE                                                                                   \
  (IPRO_DTYPES_REAL | IPRO_DTYPES_INT64 | IPRO_DTYPES(IPRO_DTYPE_INT32) |                          \
   IPRO_DTYPES(IPRO_DTYPE_BOOL))

/* The tensor attribute `value` (one element, float32 by default with value 0) becomes the
 * canonical attributes "dtype" and "fill" (the value as a double's bits would lose nothing, but
 * every fillable value fits a float or an int64: "fill" for reals and bool, "fill_int" for
 * integers). */
ipro_status ipro_constant_of_shape_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  static const char *const known[] = {"value:t", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  const ipro_attr *value = ipro_node_attr(node, "value");
  ipro_dtype dtype = IPRO_DTYPE_FLOAT;
  double fill = 0;
  int64_t fill_int = 0;
  if (value) {
    const ipro_tensor *t = &graph->tensors[value->i];
    if (ipro_shape_elements(&t->shape) != 1 || !t->data)
      return ipro_op_fail(err, node, "attribute 'value' must hold one element");
    if (t->dtype <= 0 || t->dtype >= 32 || !(FILLABLE & IPRO_DTYPES(t->dtype)))
      return ipro_op_fail(err, node, "a fill of %s is not supported", ipro_dtype_name(t->dtype));
    dtype = t->dtype;
    if (dtype == IPRO_DTYPE_INT64 || dtype == IPRO_DTYPE_INT32)
      ipro_dtype_convert(t->data, dtype, &fill_int, IPRO_DTYPE_INT64, 1);
    else
      ipro_dtype_convert(t->data, dtype, &fill, IPRO_DTYPE_DOUBLE, 1);
    ipro_node_remove_attr(node, "value");
  }
  if (ipro_op_put_int(node, "dtype", dtype, err) != IPRO_OK ||
      ipro_op_put_float(node, "fill", (float)fill, err) != IPRO_OK ||
      ipro_op_put_int(node, "fill_int", fill_int, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* One element of the fill, in dtype, into one. */
static void fill_value(const ipro_node *node, ipro_dtype dtype, void *one) {
  float fill = ipro_node_attr_float(node, "fill", 0.0f);
  int64_t fill_int = ipro_node_attr_int(node, "fill_int", 0);
  if (dtype == IPRO_DTYPE_INT64 || dtype == IPRO_DTYPE_INT32)
    ipro_dtype_convert(&fill_int, IPRO_DTYPE_INT64, one, dtype, 1);
  else
    ipro_dtype_convert(&fill, IPRO_DTYPE_FLOAT, one, dtype, 1);
}

ipro_status ipro_constant_of_shape_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *shape_input;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_INDEX, &shape_input, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape = {.rank = 0};
  if (ipro_op_constant_ints(graph, node, 0, shape.dims, IPRO_MAX_RANK, &shape.rank, err) != IPRO_OK)
    return IPRO_ERROR;
  bool symbolic = false;
  for (int d = 0; d < shape.rank; d++) {
    symbolic |= ipro_dim_is_batch(shape.dims[d]);
    if (shape.dims[d] < 0 && !ipro_dim_is_batch(shape.dims[d]))
      return ipro_op_fail(err, node, "dimension %d of the shape is %lld", d,
                          (long long)shape.dims[d]);
  }
  ipro_dtype dtype = (ipro_dtype)ipro_node_attr_int(node, "dtype", IPRO_DTYPE_FLOAT);
  int64_t elements = ipro_shape_elements(&shape);
  /* a shape past int64 (elements -1) or the largest tensor is refused by ipro_op_set_output */
  if (symbolic || elements < 0 || elements > MAX_FOLDED_FILL)
    return ipro_op_set_output(graph, node, 0, dtype, &shape, err);
  size_t bytes = (size_t)elements * ipro_dtype_size(dtype);
  void *filled = malloc(bytes ? bytes : 1);
  if (!filled) return ipro_op_out_of_memory(err, node);
  unsigned char one[8];
  fill_value(node, dtype, one);
  ipro_shape scalar = ipro_shape_scalar();
  ipro_broadcast_copy(one, &scalar, filled, &shape, ipro_dtype_size(dtype));
  ipro_status status = ipro_op_fold_output(graph, node, 0, dtype, &shape, filled, bytes, err);
  free(filled);
  return status;
}

ipro_status ipro_random_uniform_like_normalize(ipro_graph *graph, ipro_node *node,
                                               ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"dtype:i", "high:f", "low:f", "seed:f", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK ||
      ipro_op_default_float(node, "high", 1.0f, err) != IPRO_OK ||
      ipro_op_default_float(node, "low", 0.0f, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!(ipro_node_attr_float(node, "low", 0) <= ipro_node_attr_float(node, "high", 1)))
    return ipro_op_fail(err, node, "low %g is above high %g",
                        (double)ipro_node_attr_float(node, "low", 0),
                        (double)ipro_node_attr_float(node, "high", 1));
  return IPRO_OK;
}

/* Never folded: each run draws new values (the kernels: a counter-based hash of the node's stream,
 * the step and the element, so that every run of the same training draws the same). */
ipro_status ipro_random_uniform_like_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *like;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, FILLABLE, &like, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t dtype = ipro_node_attr_int(node, "dtype", like->dtype);
  if (dtype <= 0 || dtype >= 32 || !(IPRO_DTYPES_REAL & IPRO_DTYPES(dtype)))
    return ipro_op_fail(err, node, "uniform values of %s are not supported (float32, float64 are)",
                        dtype < IPRO_DTYPE_COUNT_ ? ipro_dtype_name((ipro_dtype)dtype) : "?");
  return ipro_op_set_output(graph, node, 0, (ipro_dtype)dtype, &like->shape, err);
}

/* A comparison of two int64 values. The symbolic batch (at least 1) equals itself and no value
 * below 1 (TorchScript's Expand targets compare a shape with -1); any other comparison with it
 * needs a concrete batch. */
static ipro_status compare_ints(const ipro_node *node, int64_t x, int64_t y, uint8_t *r,
                                ipro_error *err) {
  bool bx = ipro_dim_is_batch(x), by = ipro_dim_is_batch(y);
  if (bx != by && (node->op != IPRO_OP_EQUAL || (bx ? y : x) >= 1))
    return ipro_op_batch_error(node, err, "comparing the batch size with a size");
  switch (node->op) {
  case IPRO_OP_LESS: *r = x < y; break;
  case IPRO_OP_GREATER: *r = x > y; break;
  case IPRO_OP_LESS_OR_EQUAL: *r = x <= y; break;
  case IPRO_OP_GREATER_OR_EQUAL: *r = x >= y; break;
  default: *r = x == y; break;
  }
  return IPRO_OK;
}

/* A comparison of two constant int64 tensors, folded into bool (shapes, and torch.export's index
 * arithmetic: an adaptive pooling's windows, Range >= their starts). */
static ipro_status fold_compare_ints(ipro_graph *graph, const ipro_node *node, const ipro_tensor *a,
                                     const ipro_tensor *b, const ipro_shape *shape,
                                     ipro_error *err) {
  enum { MAX_FOLD = 4096 };
  int64_t count = ipro_shape_elements(shape);
  if (count > MAX_FOLD)
    return ipro_op_fail(err, node, "integer comparison of %lld values is not supported",
                        (long long)count);
  int64_t x[MAX_FOLD], y[MAX_FOLD];
  uint8_t r[MAX_FOLD];
  ipro_broadcast_copy(a->data, &a->shape, x, shape, sizeof(int64_t));
  ipro_broadcast_copy(b->data, &b->shape, y, shape, sizeof(int64_t));
  for (int64_t i = 0; i < count; i++)
    if (compare_ints(node, x[i], y[i], &r[i], err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_fold_output(graph, node, 0, IPRO_DTYPE_BOOL, shape, r, (size_t)count, err);
}

/* Less, Greater, Equal, LessOrEqual or GreaterOrEqual of two constant real tensors training cannot
 * change, folded into bool
 * (TorchScript's Swin Transformer masks its shifted windows where a mask built from zeros is
 * not 0). */
static ipro_status fold_compare_reals(ipro_graph *graph, const ipro_node *node,
                                      const ipro_shape *shape, ipro_error *err) {
  int64_t count = ipro_shape_elements(shape);
  double *u = ipro_op_broadcast_doubles(graph, node, 0, shape, err);
  double *v = u ? ipro_op_broadcast_doubles(graph, node, 1, shape, err) : NULL;
  uint8_t *r = u && v ? malloc((size_t)count + 1) : NULL;
  ipro_status status = r ? IPRO_OK : u && v ? ipro_op_out_of_memory(err, node) : IPRO_ERROR;
  if (status == IPRO_OK) {
    for (int64_t i = 0; i < count; i++)
      r[i] = ipro_compare_values(node->op, u[i], v[i]);
    status = ipro_op_fold_output(graph, node, 0, IPRO_DTYPE_BOOL, shape, r, (size_t)count, err);
  }
  free(u);
  free(v);
  free(r);
  return status;
}

/* ---- Less, Greater, Equal, LessOrEqual and GreaterOrEqual ----
 * Numpy-broadcast comparisons of two real tensors into bool, the mask of stochastic depth (folded
 * on constants); each also of int64 values, folded (TorchScript's Expand targets:
 * Where(Equal(shape, -1), 1, shape); torch.export's index arithmetic). */
ipro_status ipro_compare_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *a, *b;
  ipro_shape shape;
  unsigned dtypes = IPRO_DTYPES_REAL | IPRO_DTYPES_INT64;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, dtypes, &a, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES(a->dtype), &b, err) != IPRO_OK ||
      ipro_op_broadcast(node, &a->shape, a->name, &b->shape, b->name, &shape, err) != IPRO_OK)
    return IPRO_ERROR;
  if (a->dtype == IPRO_DTYPE_INT64) {
    if (!ipro_tensor_is_constant(a) || !ipro_tensor_is_constant(b))
      return ipro_op_fail(err, node,
                          "integer comparison of values computed at run time is not "
                          "supported");
    return fold_compare_ints(graph, node, a, b, &shape, err);
  }
  int64_t count = ipro_shape_elements(&shape);
  if (ipro_tensor_is_foldable(a) && ipro_tensor_is_foldable(b) && count >= 0 &&
      count <= MAX_FOLDED_FILL)
    return fold_compare_reals(graph, node, &shape, err);
  return ipro_op_set_output(graph, node, 0, IPRO_DTYPE_BOOL, &shape, err);
}

/* Not of a bool tensor: folded on a constant (the masks above), else run. */
ipro_status ipro_not_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES(IPRO_DTYPE_BOOL), &x, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&x->shape);
  if (!ipro_tensor_is_constant(x) || count < 0 || count > MAX_FOLDED_FILL)
    return ipro_op_set_output(graph, node, 0, IPRO_DTYPE_BOOL, &x->shape, err);
  uint8_t *r = malloc((size_t)count + 1);
  if (!r) return ipro_op_out_of_memory(err, node);
  for (int64_t i = 0; i < count; i++)
    r[i] = !((const uint8_t *)x->data)[i];
  ipro_status status =
      ipro_op_fold_output(graph, node, 0, IPRO_DTYPE_BOOL, &x->shape, r, (size_t)count, err);
  free(r);
  return status;
}
