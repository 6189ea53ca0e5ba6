/* Op rows of the ops that only rearrange a tensor: Flatten, Reshape, Transpose, Squeeze and
 * Unsqueeze. Reshape's target shape is resolved at inference time (it is often computed from the
 * input's Shape), with the symbolic batch carried through; Reshape, Squeeze and Unsqueeze of a
 * constant fold into a constant, since they are also links of shape computations. */
#include <stdlib.h>
#include <string.h>

#include "ir/checked_size.h"
#include "op_helpers.h"
#include "op_rows.h"

/* The most elements a folded Transpose makes (the Swin Transformer's window masks). */
#define MAX_FOLDED_TRANSPOSE (1 << 20)

/* Product of dims[from..to): the symbolic batch when it is the only non-1 factor among them. */
static ipro_status group_product(const ipro_node *node, const int64_t *dims, int from, int to,
                                 int64_t *out, ipro_error *err) {
  int64_t product = 1;
  bool batch = false;
  for (int d = from; d < to; d++) {
    if (ipro_dim_is_batch(dims[d]))
      batch = true;
    else if (!ipro_checked_mul(product, dims[d], &product))
      return ipro_op_fail(err, node, "the product of dimensions %d..%d overflows", from, to - 1);
  }
  if (batch && product != 1)
    return ipro_op_batch_error(node, err, "merging the batch dimension with other dimensions");
  *out = batch ? IPRO_DIM_BATCH : product;
  return IPRO_OK;
}

/* Sets output 0 to the input's data under a new shape: folded when the input is a constant that
 * training cannot change (a parameter's stays a node, which trains it). */
static ipro_status relabel_output(ipro_graph *graph, ipro_node *node, const ipro_tensor *input,
                                  const ipro_shape *shape, ipro_error *err) {
  if (ipro_tensor_is_foldable(input)) {
    size_t bytes = (size_t)ipro_shape_elements(&input->shape) * ipro_dtype_size(input->dtype);
    return ipro_op_fold_output(graph, node, 0, input->dtype, shape, input->data, bytes, err);
  }
  return ipro_op_set_output(graph, node, 0, input->dtype, shape, err);
}

ipro_status ipro_flatten_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"axis:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_int(node, "axis", 1, err);
}

ipro_status ipro_flatten_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  int rank = x->shape.rank;
  /* Flatten's axis ranges over -rank..rank: rank puts everything into the first dimension. */
  int64_t axis = ipro_node_attr_int(node, "axis", 1);
  if (axis < -rank || axis > rank)
    return ipro_op_fail(err, node, "axis %lld is out of range for rank %d", (long long)axis, rank);
  if (axis < 0) axis += rank;
  ipro_shape shape = {.rank = 2};
  if (group_product(node, x->shape.dims, 0, (int)axis, &shape.dims[0], err) != IPRO_OK ||
      group_product(node, x->shape.dims, (int)axis, rank, &shape.dims[1], err) != IPRO_OK ||
      ipro_op_put_int(node, "axis", axis, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
}

ipro_status ipro_reshape_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"allowzero:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_int(node, "allowzero", 0, err);
}

/* Resolves the target (0 = copy, -1 = infer, IPRO_DIM_BATCH = the batch) against the input. */
static ipro_status resolve_reshape(const ipro_node *node, const ipro_tensor *x,
                                   const int64_t *target, int count, bool allow_zero,
                                   ipro_shape *out, ipro_error *err) {
  int inferred = -1, in_batch = 0, out_batch = 0;
  int64_t in_static = 1, out_static = 1;
  out->rank = count;
  for (int d = 0; d < x->shape.rank; d++) {
    if (ipro_dim_is_batch(x->shape.dims[d]))
      in_batch++;
    else if (!ipro_checked_mul(in_static, x->shape.dims[d], &in_static))
      return ipro_op_fail(err, node, "the element count of input '%s' overflows", x->name);
  }
  for (int i = 0; i < count; i++) {
    int64_t t = target[i];
    if (t == 0 && !allow_zero) {
      if (i >= x->shape.rank)
        return ipro_op_fail(err, node, "target dimension %d is 0 (copy) but the input has rank %d",
                            i, x->shape.rank);
      t = x->shape.dims[i];
    } else if (t == -1) {
      if (inferred >= 0) return ipro_op_fail(err, node, "the target shape has two -1 entries");
      inferred = i;
      continue;
    } else if (t < 0 && !ipro_dim_is_batch(t)) {
      return ipro_op_fail(err, node, "target dimension %d is %lld", i, (long long)t);
    }
    out->dims[i] = t;
    if (ipro_dim_is_batch(t))
      out_batch++;
    else if (!ipro_checked_mul(out_static, t, &out_static))
      return ipro_op_fail(err, node,
                          "the target shape's element count overflows (dimension %d is "
                          "%lld)",
                          i, (long long)t);
  }
  if (in_batch != out_batch) {
    /* [N, ...] -> [-1, ...] where the static parts match: the -1 is the batch. */
    if (inferred < 0 || in_batch != 1 || out_batch != 0 || in_static != out_static)
      return ipro_op_batch_error(node, err, "this reshape of the batch dimension");
    out->dims[inferred] = IPRO_DIM_BATCH;
    return IPRO_OK;
  }
  if (inferred >= 0) {
    if (out_static == 0 || in_static % out_static != 0)
      return ipro_op_fail(err, node,
                          "cannot infer the -1 of the target shape: %lld elements do "
                          "not divide into parts of %lld",
                          (long long)in_static, (long long)out_static);
    out->dims[inferred] = in_static / out_static;
  } else if (in_static != out_static) {
    char shape[128];
    return ipro_op_fail(err, node, "cannot reshape '%s' %s (%lld elements) to %lld elements",
                        x->name, ipro_shape_format(&x->shape, shape, sizeof shape),
                        (long long)in_static, (long long)out_static);
  }
  return IPRO_OK;
}

/* What Reshape, Squeeze and Unsqueeze take: the reals and int64 of shape data, and bool masks
 * (torch.export's adaptive pooling unsqueezes its windows' masks, folded). */
#define RESHAPED_DTYPES (IPRO_DTYPES_SHAPE_DATA | IPRO_DTYPES(IPRO_DTYPE_BOOL))

ipro_status ipro_reshape_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, RESHAPED_DTYPES, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t target[IPRO_MAX_RANK];
  int count;
  if (ipro_op_constant_ints(graph, node, 1, target, IPRO_MAX_RANK, &count, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape;
  bool allow_zero = ipro_node_attr_int(node, "allowzero", 0) != 0;
  if (resolve_reshape(node, x, target, count, allow_zero, &shape, err) != IPRO_OK ||
      ipro_op_put_ints(node, "shape", shape.dims, shape.rank, err) != IPRO_OK)
    return IPRO_ERROR;
  return relabel_output(graph, node, x, &shape, err);
}

ipro_status ipro_transpose_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"perm:I", NULL};
  return ipro_op_check_attributes(node, known, err);
}

ipro_status ipro_transpose_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL | IPRO_DTYPES_INDEX, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  int rank = x->shape.rank, count;
  const int64_t *given = ipro_node_attr_ints(node, "perm", &count);
  int64_t perm[IPRO_MAX_RANK];
  bool seen[IPRO_MAX_RANK] = {false};
  if (given && count != rank)
    return ipro_op_fail(err, node, "perm has %d entries for an input of rank %d", count, rank);
  ipro_shape shape = {.rank = rank};
  for (int i = 0; i < rank; i++) {
    perm[i] = given ? given[i] : rank - 1 - i;
    if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
      return ipro_op_fail(err, node, "perm is not a permutation of 0..%d", rank - 1);
    seen[perm[i]] = true;
    shape.dims[i] = x->shape.dims[perm[i]];
  }
  if (ipro_op_put_ints(node, "perm", perm, rank, err) != IPRO_OK) return IPRO_ERROR;
  int64_t elements = ipro_shape_elements(&x->shape);
  if (!ipro_tensor_is_foldable(x) || elements < 0 || elements > MAX_FOLDED_TRANSPOSE) {
    if (x->dtype != IPRO_DTYPE_FLOAT && x->dtype != IPRO_DTYPE_DOUBLE)
      return ipro_op_fail(err, node,
                          "'%s' is %s and computed at run time: integer tensors are transposed "
                          "only as constants (float32, float64 at run time)",
                          x->name, ipro_dtype_name(x->dtype));
    return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
  }
  size_t element = ipro_dtype_size(x->dtype);
  char *folded = malloc((size_t)(elements + 1) * element);
  if (!folded) return ipro_op_out_of_memory(err, node);
  ipro_transpose_copy(x->data, &x->shape, perm, folded, element);
  ipro_status status = ipro_op_fold_output(graph, node, 0, x->dtype, &shape, folded,
                                           (size_t)elements * element, err);
  free(folded);
  return status;
}

/* The constant axes input made the attribute "axes". */
static ipro_status axes_to_attribute(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  int64_t axes[IPRO_MAX_RANK];
  int count;
  if (ipro_op_constant_ints(graph, node, 1, axes, IPRO_MAX_RANK, &count, err) != IPRO_OK ||
      ipro_op_put_ints(node, "axes", axes, count, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_op_drop_input(node, 1);
  return IPRO_OK;
}

/* Squeeze and Unsqueeze: axes is an attribute before opset 13 and an input from 13 on. */
ipro_status ipro_squeeze_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  static const char *const known[] = {"axes:I", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  if (graph->opset < 13) {
    if (node->op == IPRO_OP_UNSQUEEZE && !ipro_node_attr(node, "axes"))
      return ipro_op_fail(err, node, "attribute 'axes' is required");
    return IPRO_OK;
  }
  if (ipro_node_attr(node, "axes"))
    return ipro_op_fail(err, node, "axes is an input from opset 13 on, not an attribute");
  if (!ipro_node_input(graph, node, 1)) {
    if (node->op == IPRO_OP_UNSQUEEZE) return ipro_op_fail(err, node, "input 'axes' is required");
    return IPRO_OK; /* Squeeze without axes: every dimension of size 1, found by inference */
  }
  /* axes computed by other nodes (torch.export's Range for a GroupNorm's scale and bias) are
   * read by inference, once those are folded */
  const ipro_tensor *given = ipro_node_input(graph, node, 1);
  if (!ipro_tensor_is_constant(given) && given->producer >= 0) return IPRO_OK;
  return axes_to_attribute(graph, node, err);
}

/* Normalises axes against rank into a sorted list without duplicates, as a set of flags. */
static ipro_status axis_set(const ipro_node *node, const int64_t *axes, int count, int rank,
                            bool *set, ipro_error *err) {
  memset(set, 0, sizeof(bool) * IPRO_MAX_RANK);
  for (int i = 0; i < count; i++) {
    int64_t axis;
    if (ipro_op_axis(node, "axis", axes[i], rank, &axis, err) != IPRO_OK) return IPRO_ERROR;
    if (set[axis]) return ipro_op_fail(err, node, "axis %lld is given twice", (long long)axis);
    set[axis] = true;
  }
  return IPRO_OK;
}

static ipro_status put_axis_set(ipro_node *node, const bool *set, int rank, ipro_error *err) {
  int64_t axes[IPRO_MAX_RANK];
  int count = 0;
  for (int d = 0; d < rank; d++)
    if (set[d]) axes[count++] = d;
  return ipro_op_put_ints(node, "axes", axes, count, err);
}

ipro_status ipro_squeeze_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, RESHAPED_DTYPES, &x, err) != IPRO_OK ||
      (ipro_node_input(graph, node, 1) && axes_to_attribute(graph, node, err) != IPRO_OK))
    return IPRO_ERROR;
  int rank = x->shape.rank, count;
  const int64_t *axes = ipro_node_attr_ints(node, "axes", &count);
  bool set[IPRO_MAX_RANK];
  if (axes) {
    if (axis_set(node, axes, count, rank, set, err) != IPRO_OK) return IPRO_ERROR;
  } else {
    for (int d = 0; d < rank; d++) {
      if (ipro_dim_is_batch(x->shape.dims[d]))
        return ipro_op_batch_error(node, err, "Squeeze without axes (is the batch 1?)");
      set[d] = x->shape.dims[d] == 1;
    }
  }
  ipro_shape shape = {.rank = 0};
  for (int d = 0; d < rank; d++) {
    if (!set[d]) {
      shape.dims[shape.rank++] = x->shape.dims[d];
    } else if (ipro_dim_is_batch(x->shape.dims[d])) {
      return ipro_op_batch_error(node, err, "squeezing the batch dimension");
    } else if (x->shape.dims[d] != 1) {
      return ipro_op_fail(err, node, "cannot squeeze axis %d of '%s', which has size %lld", d,
                          x->name, (long long)x->shape.dims[d]);
    }
  }
  if (put_axis_set(node, set, rank, err) != IPRO_OK) return IPRO_ERROR;
  return relabel_output(graph, node, x, &shape, err);
}

ipro_status ipro_unsqueeze_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, RESHAPED_DTYPES, &x, err) != IPRO_OK ||
      (ipro_node_input(graph, node, 1) && axes_to_attribute(graph, node, err) != IPRO_OK))
    return IPRO_ERROR;
  int count;
  const int64_t *axes = ipro_node_attr_ints(node, "axes", &count);
  int rank = x->shape.rank + count;
  if (rank > IPRO_MAX_RANK)
    return ipro_op_fail(err, node, "the result would have rank %d; at most %d is supported", rank,
                        IPRO_MAX_RANK);
  bool set[IPRO_MAX_RANK];
  if (axis_set(node, axes, count, rank, set, err) != IPRO_OK) return IPRO_ERROR;
  ipro_shape shape = {.rank = rank};
  for (int d = 0, source = 0; d < rank; d++)
    shape.dims[d] = set[d] ? 1 : x->shape.dims[source++];
  if (put_axis_set(node, set, rank, err) != IPRO_OK) return IPRO_ERROR;
  return relabel_output(graph, node, x, &shape, err);
}
