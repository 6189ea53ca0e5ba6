/* Op rows of the ops that make up shape computations: Shape, Gather, Concat, Identity, Constant,
 * Range and Where. Exporters compute reshape targets with them (Shape -> Gather -> Unsqueeze ->
 * Concat
 * -> Reshape); inference folds each into a constant as soon as its inputs are known, with the
 * symbolic batch carried as the value IPRO_DIM_BATCH. Gather and Concat also work on float32
 * activations, where they are ordinary ops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/elementwise_values.h"
#include "op_helpers.h"
#include "op_rows.h"

/* The most elements a folded Expand, CastLike, Tile or integer Concat may produce (a bias, a shape
 * vector, indices); beyond, the op runs instead. */
#define MAX_FOLDED_ELEMENTS (1 << 20)

#define ANY_DTYPE                                                                                  \
  (IPRO_DTYPES_REAL | IPRO_DTYPES_INT64 | IPRO_DTYPES(IPRO_DTYPE_INT32) |                          \
   IPRO_DTYPES(IPRO_DTYPE_BOOL))

ipro_status ipro_shape_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"start:i", "end:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_int(node, "start", 0, err);
}

static int64_t clamp_index(int64_t index, int rank) {
  if (index < 0) index += rank;
  return index < 0 ? 0 : index > rank ? rank : index;
}

ipro_status ipro_shape_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, ANY_DTYPE, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  int rank = x->shape.rank;
  int64_t start = clamp_index(ipro_node_attr_int(node, "start", 0), rank);
  int64_t end = clamp_index(ipro_node_attr_int(node, "end", rank), rank);
  if (end < start) end = start;
  if (ipro_op_put_int(node, "start", start, err) != IPRO_OK ||
      ipro_op_put_int(node, "end", end, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape = ipro_shape_vector(end - start);
  return ipro_op_fold_output(graph, node, 0, IPRO_DTYPE_INT64, &shape, &x->shape.dims[start],
                             sizeof(int64_t) * (size_t)(end - start), err);
}

ipro_status ipro_gather_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"axis:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_int(node, "axis", 0, err);
}

/* Copies the gathered slices of constant data into out. */
static ipro_status fold_gather(const ipro_node *node, const ipro_tensor *data,
                               const int64_t *indices, int64_t n_indices, int axis, char *out,
                               ipro_error *err) {
  size_t element = ipro_dtype_size(data->dtype);
  int64_t outer = 1, inner = 1, dim = data->shape.dims[axis];
  for (int d = 0; d < axis; d++)
    outer *= data->shape.dims[d];
  for (int d = axis + 1; d < data->shape.rank; d++)
    inner *= data->shape.dims[d];
  size_t slice = (size_t)inner * element;
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t k = 0; k < n_indices; k++) {
      int64_t index = indices[k] < 0 ? indices[k] + dim : indices[k];
      if (index < 0 || index >= dim)
        return ipro_op_fail(err, node, "index %lld is out of range for a dimension of %lld",
                            (long long)indices[k], (long long)dim);
      memcpy(out, (const char *)data->data + ((size_t)(o * dim + index)) * slice, slice);
      out += slice;
    }
  }
  return IPRO_OK;
}

ipro_status ipro_gather_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *data, *indices;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_SHAPE_DATA, &data, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INDEX, &indices, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 1, IPRO_MAX_RANK, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t axis;
  if (ipro_op_canonical_axis(node, 0, data->shape.rank, &axis, err) != IPRO_OK) return IPRO_ERROR;
  int rank = data->shape.rank - 1 + indices->shape.rank;
  if (rank > IPRO_MAX_RANK)
    return ipro_op_fail(err, node, "the result would have rank %d; at most %d is supported", rank,
                        IPRO_MAX_RANK);
  ipro_shape shape = {.rank = 0};
  for (int d = 0; d < axis; d++)
    shape.dims[shape.rank++] = data->shape.dims[d];
  for (int d = 0; d < indices->shape.rank; d++)
    shape.dims[shape.rank++] = indices->shape.dims[d];
  for (int d = (int)axis + 1; d < data->shape.rank; d++)
    shape.dims[shape.rank++] = data->shape.dims[d];
  /* Folding is for shape vectors; a large constant (an embedding table) is left to run time, and
   * so is a parameter (trained through the op). Constant indices are checked either way. */
  enum { MAX_FOLD = 4096 };
  int64_t index_values[MAX_FOLD];
  int count = 0;
  bool few = ipro_shape_elements(&indices->shape) <= MAX_FOLD;
  if (ipro_tensor_is_constant(indices)) { /* every one, however many (as_strided's are 2^20) */
    int64_t dim = data->shape.dims[axis], n = ipro_shape_elements(&indices->shape);
    for (int64_t i = 0; i < n && !ipro_dim_is_batch(dim); i++) {
      int64_t index = indices->dtype == IPRO_DTYPE_INT64 ? ((const int64_t *)indices->data)[i]
                                                         : ((const int32_t *)indices->data)[i];
      if (index < -dim || index >= dim)
        return ipro_op_fail(err, node, "index %lld is out of range for a dimension of %lld",
                            (long long)index, (long long)dim);
    }
  }
  if (ipro_tensor_is_constant(indices) && few &&
      ipro_op_constant_ints(graph, node, 1, index_values, MAX_FOLD, &count, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t elements = ipro_shape_elements(&shape);
  if (!ipro_tensor_is_foldable(data) || !ipro_tensor_is_constant(indices) || !few ||
      elements > MAX_FOLD)
    return ipro_op_set_output(graph, node, 0, data->dtype, &shape, err);
  char folded[MAX_FOLD * sizeof(int64_t)];
  if (fold_gather(node, data, index_values, count, (int)axis, folded, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_fold_output(graph, node, 0, data->dtype, &shape, folded,
                             (size_t)elements * ipro_dtype_size(data->dtype), err);
}

ipro_status ipro_concat_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"axis:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  if (!ipro_node_attr(node, "axis")) return ipro_op_fail(err, node, "attribute 'axis' is required");
  return IPRO_OK;
}

/* Concatenates the constant inputs' data along axis into a freshly folded output: up to 4096
 * elements of floats (shape-sized work), and integers up to MAX_FOLDED_ELEMENTS, which cannot run
 * (TinyViT's attention-bias indices, 196 × 196, concatenated on their way to a GatherND). */
static ipro_status fold_concat(ipro_graph *graph, const ipro_node *node, int axis,
                               const ipro_shape *shape, ipro_dtype dtype, ipro_error *err) {
  size_t element = ipro_dtype_size(dtype);
  int64_t elements = ipro_shape_elements(shape);
  bool integers = dtype == IPRO_DTYPE_INT64 || dtype == IPRO_DTYPE_INT32;
  if (elements < 0 || elements > (integers ? MAX_FOLDED_ELEMENTS : 4096))
    return ipro_op_set_output(graph, node, 0, dtype, shape, err);
  char *folded = malloc((size_t)(elements + 1) * element);
  if (!folded) return ipro_op_out_of_memory(err, node);
  int64_t outer = 1;
  for (int d = 0; d < axis; d++)
    outer *= shape->dims[d];
  char *out = folded;
  for (int64_t o = 0; o < outer; o++) {
    for (int i = 0; i < node->n_inputs; i++) {
      const ipro_tensor *input = ipro_node_input(graph, node, i);
      int64_t block = 1;
      for (int d = axis; d < input->shape.rank; d++)
        block *= input->shape.dims[d];
      size_t bytes = (size_t)block * element;
      if (bytes) memcpy(out, (const char *)input->data + (size_t)o * bytes, bytes);
      out += bytes;
    }
  }
  ipro_status status =
      ipro_op_fold_output(graph, node, 0, dtype, shape, folded, (size_t)elements * element, err);
  free(folded);
  return status;
}

ipro_status ipro_concat_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *first;
  if (ipro_op_check_arity(graph, node, node->n_inputs > 0 ? node->n_inputs : 1, 64, 1, 1, err) !=
          IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_SHAPE_DATA, &first, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 1, IPRO_MAX_RANK, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t axis;
  if (ipro_op_canonical_axis(node, 0, first->shape.rank, &axis, err) != IPRO_OK) return IPRO_ERROR;
  ipro_shape shape = first->shape;
  bool all_constant = ipro_tensor_is_foldable(first);
  for (int i = 1; i < node->n_inputs; i++) {
    ipro_tensor *input;
    if (ipro_op_input(graph, node, i, IPRO_DTYPES(first->dtype), &input, err) != IPRO_OK)
      return IPRO_ERROR;
    all_constant = all_constant && ipro_tensor_is_foldable(input);
    bool same = input->shape.rank == shape.rank;
    for (int d = 0; d < shape.rank && same; d++)
      if (d != axis && input->shape.dims[d] != shape.dims[d]) same = false;
    if (!same) {
      char a[128], b[128];
      return ipro_op_fail(err, node, "input '%s' %s does not match '%s' %s outside axis %lld",
                          input->name, ipro_shape_format(&input->shape, a, sizeof a), first->name,
                          ipro_shape_format(&first->shape, b, sizeof b), (long long)axis);
    }
    if (ipro_dim_is_batch(shape.dims[axis]) || ipro_dim_is_batch(input->shape.dims[axis]))
      return ipro_op_batch_error(node, err, "concatenating along the batch dimension");
    shape.dims[axis] += input->shape.dims[axis];
  }
  if (all_constant) return fold_concat(graph, node, (int)axis, &shape, first->dtype, err);
  return ipro_op_set_output(graph, node, 0, first->dtype, &shape, err);
}

ipro_status ipro_identity_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, ANY_DTYPE, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  if (ipro_tensor_is_foldable(x)) {
    size_t bytes = (size_t)ipro_shape_elements(&x->shape) * ipro_dtype_size(x->dtype);
    return ipro_op_fold_output(graph, node, 0, x->dtype, &x->shape, x->data, bytes, err);
  }
  return ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err);
}

ipro_status ipro_constant_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"value:t",     "value_float:f", "value_floats:F",
                                      "value_int:i", "value_ints:I",  NULL};
  return ipro_op_check_attributes(node, known, err);
}

ipro_status ipro_constant_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  if (ipro_op_check_arity(graph, node, 0, 0, 1, 1, err) != IPRO_OK) return IPRO_ERROR;
  const ipro_tensor *value = ipro_node_output(graph, node, 0);
  if (!ipro_tensor_is_constant(value))
    return ipro_op_fail(err, node, "output '%s' has no value", value->name);
  if (value->dtype <= 0 || value->dtype >= 32 || !(ANY_DTYPE & IPRO_DTYPES(value->dtype)))
    return ipro_op_fail(err, node,
                        "output '%s' has dtype %s, which infopro does not support (supported: "
                        "float32, int64, int32, bool)",
                        value->name, ipro_dtype_name(value->dtype));
  return IPRO_OK;
}

/* ---- Expand, CastLike and Cast ----
 * PyTorch's torch.export-based exporter builds a convolution's absent bias as
 * Expand(CastLike(0.0, x), Shape(W)[0:1]): constants all the way, which fold here. On computed
 * tensors they are ordinary ops (the reference kernels run them). */

/* Sets output 0 (dtype, shape) from input 0's data converted and broadcast: folded when input 0
 * is foldable and the result small enough, else an activation. */
static ipro_status fold_or_set(ipro_graph *graph, const ipro_node *node, const ipro_tensor *x,
                               ipro_dtype dtype, const ipro_shape *shape, ipro_error *err) {
  int64_t elements = ipro_shape_elements(shape);
  bool symbolic = false;
  for (int d = 0; d < shape->rank; d++)
    symbolic |= ipro_dim_is_batch(shape->dims[d]);
  /* a shape past int64 (elements -1) or the largest tensor is refused by ipro_op_set_output */
  if (!ipro_tensor_is_foldable(x) || symbolic || elements < 0 || elements > MAX_FOLDED_ELEMENTS)
    return ipro_op_set_output(graph, node, 0, dtype, shape, err);
  size_t element = ipro_dtype_size(dtype);
  char *converted = malloc((size_t)(ipro_shape_elements(&x->shape) + 1) * element);
  char *folded = malloc((size_t)(elements + 1) * element);
  ipro_status status = IPRO_OK;
  if (!converted || !folded)
    status = ipro_op_out_of_memory(err, node);
  else if (!ipro_dtype_convert(x->data, x->dtype, converted, dtype, ipro_shape_elements(&x->shape)))
    status = ipro_op_fail(err, node, "%s to %s is not supported", ipro_dtype_name(x->dtype),
                          ipro_dtype_name(dtype));
  if (status == IPRO_OK) {
    ipro_broadcast_copy(converted, &x->shape, folded, shape, element);
    status =
        ipro_op_fold_output(graph, node, 0, dtype, shape, folded, (size_t)elements * element, err);
  }
  free(converted);
  free(folded);
  return status;
}

ipro_status ipro_expand_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *target;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, ANY_DTYPE, &x, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INT64, &target, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape wanted = {.rank = 0};
  if (ipro_op_constant_ints(graph, node, 1, wanted.dims, IPRO_MAX_RANK, &wanted.rank, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape;
  if (ipro_op_broadcast(node, &x->shape, x->name, &wanted, target->name, &shape, err) != IPRO_OK)
    return IPRO_ERROR;
  return fold_or_set(graph, node, x, x->dtype, &shape, err);
}

/* Tile: each dimension of X repeated whole `repeats` times (a constant input, computed ones folded
 * by now). A repeat of the symbolic batch (`x.repeat(x.shape[0], 1)`) is allowed where X's
 * dimension is 1, and X's batch repeated once; folded on a constant, as Expand. */
ipro_status ipro_tile_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *repeats;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, ANY_DTYPE, &x, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INT64, &repeats, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t times[IPRO_MAX_RANK];
  int count = 0;
  if (ipro_op_constant_ints(graph, node, 1, times, IPRO_MAX_RANK, &count, err) != IPRO_OK)
    return IPRO_ERROR;
  if (count != x->shape.rank)
    return ipro_op_fail(err, node, "%d repeats for X of rank %d", count, x->shape.rank);
  ipro_shape shape = x->shape;
  for (int d = 0; d < count; d++) {
    int64_t extent = x->shape.dims[d];
    if (ipro_dim_is_batch(times[d]) && extent == 1) {
      shape.dims[d] = times[d];
    } else if (ipro_dim_is_batch(times[d]) || ipro_dim_is_batch(extent)) {
      if (times[d] != 1) return ipro_op_batch_error(node, err, "tiling the batch dimension");
    } else if (times[d] < 0) {
      return ipro_op_fail(err, node, "repeat %lld along axis %d", (long long)times[d], d);
    } else if (times[d] > 0 && extent > INT64_MAX / times[d]) {
      return ipro_op_fail(err, node, "axis %d: %lld repeated %lld times overflows", d,
                          (long long)extent, (long long)times[d]);
    } else {
      shape.dims[d] = extent * times[d];
    }
  }
  return fold_or_set(graph, node, x, x->dtype, &shape, err);
}

ipro_status ipro_cast_like_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"saturate:i", NULL}; /* float8 targets only */
  return ipro_op_check_attributes(node, known, err);
}

/* The dtypes Cast and CastLike convert between (ipro_dtype_convert). */
#define CASTABLE (IPRO_DTYPES_REAL | IPRO_DTYPES_INDEX | IPRO_DTYPES(IPRO_DTYPE_BOOL))

ipro_status ipro_cast_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"to:i", "saturate:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  if (!ipro_node_attr(node, "to")) return ipro_op_fail(err, node, "attribute 'to' is required");
  return IPRO_OK;
}

/* Cast and CastLike of x to dtype: folded on a constant training cannot change; a cast of a
 * computed tensor to its own type (torch.export's `type_as` in RMSNorm) is the Identity it is, a
 * view of the arena on every backend (the CUDA backend has no Cast). */
static ipro_status cast_or_identity(ipro_graph *graph, ipro_node *node, const ipro_tensor *x,
                                    ipro_dtype dtype, ipro_error *err) {
  if (!ipro_tensor_is_foldable(x) && x->dtype == dtype) {
    node->op = IPRO_OP_IDENTITY;
    if (node->n_inputs > 1) ipro_op_drop_input(node, 1);
    return ipro_op_set_output(graph, node, 0, dtype, &x->shape, err);
  }
  return fold_or_set(graph, node, x, dtype, &x->shape, err);
}

ipro_status ipro_cast_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, CASTABLE, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t to = ipro_node_attr_int(node, "to", 0);
  if (to <= 0 || to >= 32 || !(CASTABLE & IPRO_DTYPES(to)))
    return ipro_op_fail(
        err, node, "a cast to %s is not supported (float32, float64, int64, int32, bool are)",
        to > 0 && to < IPRO_DTYPE_COUNT_ ? ipro_dtype_name((ipro_dtype)to) : "an unknown type");
  return cast_or_identity(graph, node, x, (ipro_dtype)to, err);
}

ipro_status ipro_cast_like_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *like;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, CASTABLE, &x, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, CASTABLE, &like, err) != IPRO_OK)
    return IPRO_ERROR;
  return cast_or_identity(graph, node, x, like->dtype, err);
}

/* Sqrt, Reciprocal, Abs, Neg, Floor, Ceil, Sign, Sin and Cos of reals: activation ops, folded on a
 * constant training cannot change (the exporter's scale of attention, √(head size), from CastLike
 * of a Shape; torch.export's integer division of index arithmetic, Sign(q) · Floor(Abs(q)), as in
 * an adaptive pooling whose windows do not divide the map). */
ipro_status ipro_real_unary_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t elements = ipro_shape_elements(&x->shape);
  if (!ipro_tensor_is_foldable(x) || elements > MAX_FOLDED_ELEMENTS)
    return ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err);
  double *values = malloc(sizeof(double) * (size_t)(elements + 1));
  if (!values) return ipro_op_out_of_memory(err, node);
  ipro_dtype_convert(x->data, x->dtype, values, IPRO_DTYPE_DOUBLE, elements);
  for (int64_t i = 0; i < elements; i++)
    values[i] = ipro_real_unary_value(node->op, values[i]);
  ipro_status status = ipro_op_fold_doubles(graph, node, x->dtype, &x->shape, values, err);
  free(values);
  return status;
}

/* ---- CumSum ----
 * The running sums along an axis (exclusive: of the elements before; reverse: from the end). Its
 * axis, a constant input, becomes the attribute "axis". On a constant training cannot change it
 * is folded (torch.export's positional encodings count rows and columns by summing a mask of ones
 * the size of the batch's maps: timm's EdgeNeXt); else it runs (the reference kernels), its
 * gradient the running sums of dY the other way. */
ipro_status ipro_cum_sum_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"exclusive:i", "reverse:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK ||
      ipro_op_default_int(node, "exclusive", 0, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_default_int(node, "reverse", 0, err);
}

ipro_status ipro_cum_sum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  int rank = x->shape.rank;
  if (ipro_node_input(graph, node, 1)) {
    int64_t given;
    int count = 0;
    if (ipro_op_constant_ints(graph, node, 1, &given, 1, &count, err) != IPRO_OK) return IPRO_ERROR;
    if (count != 1) return ipro_op_fail(err, node, "axis must be one value");
    if (ipro_op_put_int(node, "axis", given < 0 ? given + rank : given, err) != IPRO_OK)
      return IPRO_ERROR;
    ipro_op_drop_input(node, 1);
  }
  int64_t axis = ipro_node_attr_int(node, "axis", -1);
  if (axis < 0 || axis >= rank)
    return ipro_op_fail(err, node, "axis %lld is outside the input's rank %d", (long long)axis,
                        rank);
  int64_t elements = ipro_shape_elements(&x->shape);
  if (!ipro_tensor_is_foldable(x) || elements < 0 || elements > MAX_FOLDED_ELEMENTS)
    return ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err);
  double *values = malloc(sizeof(double) * (size_t)(elements + 1));
  double *sums = malloc(sizeof(double) * (size_t)(elements + 1));
  ipro_status status = values && sums ? IPRO_OK : ipro_op_out_of_memory(err, node);
  if (status == IPRO_OK) {
    ipro_dtype_convert(x->data, x->dtype, values, IPRO_DTYPE_DOUBLE, elements);
    ipro_cumulative_sums(values, &x->shape, (int)axis,
                         ipro_node_attr_int(node, "exclusive", 0) != 0,
                         ipro_node_attr_int(node, "reverse", 0) != 0, sums);
    status = ipro_op_fold_doubles(graph, node, x->dtype, &x->shape, sums, err);
  }
  free(values);
  free(sums);
  return status;
}

/* ONNX's Slice, starts, ends, axes and steps constant: folded on a constant training cannot
 * change (a Shape's dimensions, in the shape computations exporters write), else an op that runs
 * (the reference kernels), whose gradient with steps of 1 is a constant Pad of dY back to X's
 * shape (ShuffleNet's channel split). */
ipro_status ipro_slice_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *data;
  if (ipro_op_check_arity(graph, node, 3, 5, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, ANY_DTYPE, &data, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t starts[IPRO_MAX_RANK], ends[IPRO_MAX_RANK], axes[IPRO_MAX_RANK], steps[IPRO_MAX_RANK];
  int n_starts, n_ends, n_axes = 0, n_steps = 0;
  if (ipro_op_constant_ints(graph, node, 1, starts, IPRO_MAX_RANK, &n_starts, err) != IPRO_OK ||
      ipro_op_constant_ints(graph, node, 2, ends, IPRO_MAX_RANK, &n_ends, err) != IPRO_OK ||
      (ipro_node_input(graph, node, 3) &&
       ipro_op_constant_ints(graph, node, 3, axes, IPRO_MAX_RANK, &n_axes, err) != IPRO_OK) ||
      (ipro_node_input(graph, node, 4) &&
       ipro_op_constant_ints(graph, node, 4, steps, IPRO_MAX_RANK, &n_steps, err) != IPRO_OK))
    return IPRO_ERROR;
  if (n_starts != n_ends || (n_axes && n_axes != n_starts) || (n_steps && n_steps != n_starts))
    return ipro_op_fail(err, node, "starts, ends, axes and steps differ in length");
  /* A symbolic batch has no extent to clamp against, but the whole of it needs none: PyTorch's
   * `x[:, :, None]` through torch.export slices every axis from 0 to INT64_MAX. Such a slice of the
   * batch is left out; any other slice of it needs a concrete batch. */
  int kept = 0;
  for (int i = 0; i < n_starts; i++) {
    int64_t axis = n_axes ? axes[i] : i;
    if (axis < 0) axis += data->shape.rank;
    bool batch = axis >= 0 && axis < data->shape.rank && ipro_dim_is_batch(data->shape.dims[axis]);
    bool whole = starts[i] == 0 && ends[i] >= INT32_MAX && (!n_steps || steps[i] == 1);
    if (batch && !whole) return ipro_op_batch_error(node, err, "slicing the batch dimension");
    if (batch) continue;
    starts[kept] = starts[i], ends[kept] = ends[i], axes[kept] = n_axes ? axes[i] : i;
    steps[kept++] = n_steps ? steps[i] : 1;
  }
  ipro_slice slice;
  const char *bad = ipro_slice_of(&data->shape, starts, ends, axes, steps, kept, &slice);
  if (bad) return ipro_op_fail(err, node, "%s", bad);
  /* where each axis starts and its step, for the gradient (codegen/gradient_rules.c) */
  if (ipro_op_put_ints(node, "slice_first", slice.first, data->shape.rank, err) != IPRO_OK ||
      ipro_op_put_ints(node, "slice_step", slice.step, data->shape.rank, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!ipro_tensor_is_foldable(data))
    return ipro_op_set_output(graph, node, 0, data->dtype, &slice.shape, err);
  int64_t elements = ipro_shape_elements(&slice.shape);
  size_t element = ipro_dtype_size(data->dtype);
  char *folded = malloc((size_t)(elements + 1) * element);
  if (!folded) return ipro_op_out_of_memory(err, node);
  ipro_slice_copy(&slice, &data->shape, data->data, folded, element);
  ipro_shape shape = slice.shape;
  ipro_status status = ipro_op_fold_output(graph, node, 0, data->dtype, &shape, folded,
                                           (size_t)elements * element, err);
  free(folded);
  return status;
}

/* The most elements a Range may have: it is folded, always (torch.export writes it for the axes
 * of an Unsqueeze, GroupNorm's, and for the indices of as_strided). */
#define MAX_RANGE 4096

/* Range(start, limit, delta): max(ceil((limit - start) / delta), 0) values start + i * delta, of
 * the inputs' dtype (ONNX's definition). Its bounds must be constants once the graph is inferred
 * at a batch; at the symbolic batch, Range(0, batch, 1) is a vector of the batch's length. */
ipro_status ipro_range_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *bound[3];
  static const unsigned dtypes = IPRO_DTYPES_INDEX | IPRO_DTYPES_FLOAT;
  if (ipro_op_check_arity(graph, node, 3, 3, 1, 1, err) != IPRO_OK) return IPRO_ERROR;
  for (int i = 0; i < 3; i++) {
    if (ipro_op_input(graph, node, i, dtypes, &bound[i], err) != IPRO_OK) return IPRO_ERROR;
    if (ipro_shape_elements(&bound[i]->shape) != 1 || bound[i]->shape.rank > 1)
      return ipro_op_fail(err, node, "input '%s' must be a scalar", bound[i]->name);
    if (bound[i]->dtype != bound[0]->dtype)
      return ipro_op_fail(err, node, "start, limit and delta must have one dtype");
  }
  ipro_dtype dtype = bound[0]->dtype;
  bool known = ipro_tensor_is_foldable(bound[0]) && ipro_tensor_is_foldable(bound[1]) &&
               ipro_tensor_is_foldable(bound[2]);
  if (dtype == IPRO_DTYPE_FLOAT) {
    float v[3];
    for (int i = 0; i < 3 && known; i++)
      if (ipro_op_constant_float(graph, node, i, &v[i], err) != IPRO_OK) return IPRO_ERROR;
    if (!known)
      return ipro_op_fail(err, node,
                          "its bounds are computed at run time; infopro folds Range, "
                          "whose bounds must be constants");
    if (v[2] == 0 || !isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]))
      return ipro_op_fail(err, node,
                          "delta must be finite and not 0 (start %g, limit %g, "
                          "delta %g)",
                          v[0], v[1], v[2]);
    double count = ceil(((double)v[1] - (double)v[0]) / (double)v[2]);
    if (count > MAX_RANGE)
      return ipro_op_fail(err, node, "%.0f elements; at most %d are supported", count, MAX_RANGE);
    int64_t n = count > 0 ? (int64_t)count : 0;
    float values[MAX_RANGE];
    for (int64_t k = 0; k < n; k++)
      values[k] = v[0] + (float)k * v[2];
    ipro_shape shape = ipro_shape_vector(n);
    return ipro_op_fold_output(graph, node, 0, dtype, &shape, values, sizeof(float) * (size_t)n,
                               err);
  }
  int64_t v[3];
  for (int i = 0; i < 3 && known; i++) {
    int count = 0;
    if (ipro_op_constant_ints(graph, node, i, &v[i], 1, &count, err) != IPRO_OK) return IPRO_ERROR;
  }
  if (known && ipro_dim_is_batch(v[1]) && v[0] == 0 && v[2] == 1) {
    ipro_shape shape = ipro_shape_vector(IPRO_DIM_BATCH);
    return ipro_op_set_output(graph, node, 0, dtype, &shape, err);
  }
  if (!known || ipro_dim_is_batch(v[0]) || ipro_dim_is_batch(v[1]) || ipro_dim_is_batch(v[2]))
    return ipro_op_fail(err, node,
                        "its bounds are computed at run time; infopro folds Range, "
                        "whose bounds must be constants");
  if (v[2] == 0) return ipro_op_fail(err, node, "delta must not be 0");
  /* ceil((limit - start) / delta) in integers */
  int64_t span = 0;
  if (__builtin_sub_overflow(v[1], v[0], &span))
    return ipro_op_fail(err, node, "limit - start overflows (start %lld, limit %lld)",
                        (long long)v[0], (long long)v[1]);
  /* INT64_MIN / -1 traps: that range has 2^63 elements */
  int64_t count = span == INT64_MIN && v[2] == -1
                      ? INT64_MAX
                      : span / v[2] + ((span % v[2]) != 0 && ((span > 0) == (v[2] > 0)));
  if (count > MAX_RANGE)
    return ipro_op_fail(err, node, "more than %d elements (start %lld, limit %lld, delta %lld)",
                        MAX_RANGE, (long long)v[0], (long long)v[1], (long long)v[2]);
  int64_t n = count > 0 ? (int64_t)count : 0;
  int64_t values[MAX_RANGE];
  for (int64_t k = 0; k < n; k++)
    values[k] = v[0] + k * v[2];
  ipro_shape shape = ipro_shape_vector(n);
  if (dtype == IPRO_DTYPE_INT64)
    return ipro_op_fold_output(graph, node, 0, dtype, &shape, values, sizeof(int64_t) * (size_t)n,
                               err);
  int32_t narrow[MAX_RANGE];
  for (int64_t k = 0; k < n; k++)
    narrow[k] = (int32_t)values[k];
  return ipro_op_fold_output(graph, node, 0, dtype, &shape, narrow, sizeof(int32_t) * (size_t)n,
                             err);
}

/* Where(condition, X, Y), numpy-broadcast over the three: folded when all are constants training
 * cannot change (TorchScript's Expand targets, Where(Equal(shape, -1), 1, shape)), else run. */
ipro_status ipro_where_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *condition, *x, *y;
  ipro_shape shape;
  if (ipro_op_check_arity(graph, node, 3, 3, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES(IPRO_DTYPE_BOOL), &condition, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_SHAPE_DATA, &x, err) != IPRO_OK ||
      ipro_op_input(graph, node, 2, IPRO_DTYPES(x->dtype), &y, err) != IPRO_OK ||
      ipro_op_broadcast(node, &condition->shape, condition->name, &x->shape, x->name, &shape,
                        err) != IPRO_OK ||
      ipro_op_broadcast(node, &shape, "the condition and X", &y->shape, y->name, &shape, err) !=
          IPRO_OK)
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&shape);
  if (!ipro_tensor_is_foldable(condition) || !ipro_tensor_is_foldable(x) ||
      !ipro_tensor_is_foldable(y) || count < 0 || count > MAX_FOLDED_ELEMENTS)
    return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
  size_t element = ipro_dtype_size(x->dtype);
  uint8_t *chosen = malloc((size_t)count + 1);
  char *a = malloc(((size_t)count + 1) * element), *b = malloc(((size_t)count + 1) * element);
  ipro_status status = chosen && a && b ? IPRO_OK : ipro_op_out_of_memory(err, node);
  if (status == IPRO_OK) {
    ipro_broadcast_copy(condition->data, &condition->shape, chosen, &shape, 1);
    ipro_broadcast_copy(x->data, &x->shape, a, &shape, element);
    ipro_broadcast_copy(y->data, &y->shape, b, &shape, element);
    for (int64_t i = 0; i < count; i++)
      if (!chosen[i]) memcpy(a + (size_t)i * element, b + (size_t)i * element, element);
    status = ipro_op_fold_output(graph, node, 0, x->dtype, &shape, a, (size_t)count * element, err);
  }
  free(chosen);
  free(a);
  free(b);
  return status;
}
