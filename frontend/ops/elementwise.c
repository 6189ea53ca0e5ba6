/* Op rows of the broadcasting arithmetic ops: Add, Sub, Mul, Div (two inputs), Sum (one or
 * more), Mod (integers only), Max and Min, and Pow (reals). Inputs are float32 or float64 (all of
 * one type) and broadcast the numpy way. Integer arithmetic on shape values (an exporter's batch ×
 * heads for a Reshape target) is folded when both operands are constants and the batch is
 * concrete, and arithmetic on real constants training cannot change is folded too; on anything
 * else integers are reported as unsupported. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op_helpers.h"
#include "op_rows.h"

/* The most values an integer fold makes: shape vectors, and the index tensors torch.export
 * computes for as_strided (batch × channels: 786,432 at batch 1024 on 768 channels). */
#define MAX_FOLDED_INTEGERS (1 << 20)

/* One value of the fold: x op y into *r. */
static ipro_status fold_one(const ipro_node *node, int64_t x, int64_t y, int64_t *r,
                            ipro_error *err) {
  if (x == IPRO_DIM_BATCH || y == IPRO_DIM_BATCH)
    return ipro_op_batch_error(node, err, "arithmetic on the batch size (infer at a batch)");
  bool overflow = false;
  switch (node->op) {
  case IPRO_OP_ADD: overflow = __builtin_add_overflow(x, y, r); break;
  case IPRO_OP_SUB: overflow = __builtin_sub_overflow(x, y, r); break;
  case IPRO_OP_MUL: overflow = __builtin_mul_overflow(x, y, r); break;
  case IPRO_OP_MOD:
    if (y == 0) return ipro_op_fail(err, node, "an integer modulo by zero");
    *r = y == -1 ? 0 : x % y;
    /* fmod 0 (the default): the sign of the divisor, as Python's %; fmod 1: the dividend's */
    if (!ipro_node_attr_int(node, "fmod", 0) && *r != 0 && ((*r < 0) != (y < 0))) *r += y;
    break;
  default:
    if (y == 0) return ipro_op_fail(err, node, "an integer division by zero");
    overflow = x == INT64_MIN && y == -1;
    if (!overflow) *r = x / y;
    break;
  }
  if (overflow)
    return ipro_op_fail(err, node, "%lld and %lld overflow 64-bit integers", (long long)x,
                        (long long)y);
  return IPRO_OK;
}

/* Folds Add, Sub, Mul, Div or Mod of two constant int64 tensors (numpy broadcast; Div truncates, as
 * ONNX's integer Div does). IPRO_ERROR with a message for a value of the symbolic batch or a
 * division by zero. */
static ipro_status fold_integers(ipro_graph *graph, const ipro_node *node, const ipro_tensor *a,
                                 const ipro_tensor *b, ipro_error *err) {
  ipro_shape shape;
  if (ipro_op_broadcast(node, &a->shape, a->name, &b->shape, b->name, &shape, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&shape);
  if (count > MAX_FOLDED_INTEGERS)
    return ipro_op_fail(err, node, "integer arithmetic on %lld values is not supported",
                        (long long)count);
  size_t bytes = sizeof(int64_t) * (size_t)(count ? count : 1);
  int64_t *x = malloc(bytes), *y = malloc(bytes), *r = malloc(bytes);
  ipro_status status = x && y && r ? IPRO_OK : ipro_op_fail(err, node, "out of memory folding");
  if (status == IPRO_OK) {
    ipro_broadcast_copy(a->data, &a->shape, x, &shape, sizeof(int64_t));
    ipro_broadcast_copy(b->data, &b->shape, y, &shape, sizeof(int64_t));
  }
  for (int64_t i = 0; status == IPRO_OK && i < count; i++)
    status = fold_one(node, x[i], y[i], &r[i], err);
  if (status == IPRO_OK)
    status = ipro_op_fold_output(graph, node, 0, IPRO_DTYPE_INT64, &shape, r,
                                 sizeof(int64_t) * (size_t)count, err);
  free(x);
  free(y);
  free(r);
  return status;
}

/* Broadcasts every present input of node into *out, checking each has the first one's real
 * type, which is the output's (*dtype). */
static ipro_status broadcast_inputs(const ipro_graph *graph, const ipro_node *node, ipro_shape *out,
                                    ipro_dtype *dtype, ipro_error *err) {
  ipro_tensor *first;
  if (ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &first, err) != IPRO_OK) return IPRO_ERROR;
  ipro_shape shape = first->shape;
  *dtype = first->dtype;
  for (int i = 1; i < node->n_inputs; i++) {
    ipro_tensor *input;
    if (ipro_op_input(graph, node, i, IPRO_DTYPES(first->dtype), &input, err) != IPRO_OK ||
        ipro_op_broadcast(node, &shape, i == 1 ? first->name : "the inputs before it",
                          &input->shape, input->name, &shape, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  *out = shape;
  return IPRO_OK;
}

ipro_status ipro_binary_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_shape shape;
  ipro_dtype dtype;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK) return IPRO_ERROR;
  const ipro_tensor *a = ipro_node_input(graph, node, 0), *b = ipro_node_input(graph, node, 1);
  if (a && b && a->dtype == IPRO_DTYPE_INT64 && b->dtype == IPRO_DTYPE_INT64 &&
      ipro_tensor_is_constant(a) && ipro_tensor_is_constant(b))
    return fold_integers(graph, node, a, b, err);
  if (broadcast_inputs(graph, node, &shape, &dtype, err) != IPRO_OK) return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&shape);
  if (!ipro_tensor_is_foldable(a) || !ipro_tensor_is_foldable(b) || count < 0 ||
      count > MAX_FOLDED_INTEGERS)
    return ipro_op_set_output(graph, node, 0, dtype, &shape, err);
  /* reals: computed in double and rounded once, which is float32's own result for one +, -, ·
   * or / (the Swin Transformer's mask, the difference of two unsqueezed constants) */
  double *u = ipro_op_broadcast_doubles(graph, node, 0, &shape, err);
  double *v = u ? ipro_op_broadcast_doubles(graph, node, 1, &shape, err) : NULL;
  ipro_status status = u && v ? IPRO_OK : IPRO_ERROR;
  for (int64_t i = 0; status == IPRO_OK && i < count; i++)
    u[i] = node->op == IPRO_OP_ADD   ? u[i] + v[i]
           : node->op == IPRO_OP_SUB ? u[i] - v[i]
           : node->op == IPRO_OP_MUL ? u[i] * v[i]
                                     : u[i] / v[i];
  if (status == IPRO_OK) status = ipro_op_fold_doubles(graph, node, dtype, &shape, u, err);
  free(u);
  free(v);
  return status;
}

/* Mod: integers only (shape computations; TorchScript's exporter writes them for attention's head
 * sizes), folded when both are constants, else run. */
ipro_status ipro_mod_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"fmod:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_int(node, "fmod", 0, err);
}

ipro_status ipro_mod_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *a, *b;
  ipro_shape shape;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_INDEX, &a, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES(a->dtype), &b, err) != IPRO_OK)
    return IPRO_ERROR;
  if (a->dtype == IPRO_DTYPE_INT64 && ipro_tensor_is_constant(a) && ipro_tensor_is_constant(b))
    return fold_integers(graph, node, a, b, err);
  if (ipro_op_broadcast(node, &a->shape, a->name, &b->shape, b->name, &shape, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, a->dtype, &shape, err);
}

/* Max and Min of one or more tensors of one type, numpy broadcast: folded when every input is a
 * constant training cannot change (torch.export's Swin Transformer takes the Max of its relative
 * position index, an int64 buffer, for an Expand's target), else run on reals. They have no
 * gradient rule: on a trained path, autodiff names the node. */
ipro_status ipro_extremum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  if (ipro_op_check_arity(graph, node, 1, 64, 1, 1, err) != IPRO_OK) return IPRO_ERROR;
  ipro_tensor *first;
  if (ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL | IPRO_DTYPES_INT64, &first, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape = first->shape;
  bool foldable = true;
  for (int i = 0; i < node->n_inputs; i++) {
    ipro_tensor *x;
    if (ipro_op_input(graph, node, i, IPRO_DTYPES(first->dtype), &x, err) != IPRO_OK ||
        ipro_op_broadcast(node, &shape, "the inputs before it", &x->shape, x->name, &shape, err) !=
            IPRO_OK)
      return IPRO_ERROR;
    foldable = foldable && ipro_tensor_is_foldable(x);
  }
  int64_t count = ipro_shape_elements(&shape);
  if (!foldable || count < 0 || count > MAX_FOLDED_INTEGERS) {
    if (first->dtype == IPRO_DTYPE_INT64)
      return ipro_op_fail(err, node,
                          "int64 inputs computed at run time: integers are compared only as "
                          "constants");
    return ipro_op_set_output(graph, node, 0, first->dtype, &shape, err);
  }
  double *r = NULL;
  ipro_status status = IPRO_OK;
  for (int i = 0; status == IPRO_OK && i < node->n_inputs; i++) {
    double *v = ipro_op_broadcast_doubles(graph, node, i, &shape, err);
    if (!v) {
      status = IPRO_ERROR;
      break;
    }
    for (int64_t k = 0; r && k < count; k++)
      if (v[k] != v[k] || (node->op == IPRO_OP_MAX ? v[k] > r[k] : v[k] < r[k])) r[k] = v[k];
    if (!r) {
      r = v;
    } else {
      free(v);
    }
  }
  if (status == IPRO_OK) status = ipro_op_fold_doubles(graph, node, first->dtype, &shape, r, err);
  free(r);
  return status;
}

/* Pow(X, Y) of reals, numpy broadcast: folded when both are constants training cannot change
 * (TorchScript's attention scale, (C / heads) ** -0.5, from a Shape), else run with Y of X's type;
 * by a constant 2 it becomes X · X (oneDNN's Mul, and Mul's gradient). Its gradient is
 * codegen's for a constant scalar exponent. */
ipro_status ipro_pow_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *y;
  ipro_shape shape;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_REAL | IPRO_DTYPES_INDEX, &y, err) != IPRO_OK ||
      ipro_op_broadcast(node, &x->shape, x->name, &y->shape, y->name, &shape, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&shape);
  if (!ipro_tensor_is_foldable(x) && ipro_tensor_is_foldable(y) &&
      ipro_shape_elements(&y->shape) == 1) { /* of any type: x ** 2 is often an int64 2 */
    double k;
    ipro_dtype_convert(y->data, y->dtype, &k, IPRO_DTYPE_DOUBLE, 1);
    if (k == 2.0) { /* a variance's square (a LayerNorm an exporter spelled out): X · X */
      node->op = IPRO_OP_MUL;
      node->inputs[1] = node->inputs[0];
      return ipro_binary_infer(graph, node, err);
    }
  }
  if (!ipro_tensor_is_foldable(x) || !ipro_tensor_is_foldable(y) || count < 0 ||
      count > MAX_FOLDED_INTEGERS) {
    if (y->dtype != x->dtype)
      return ipro_op_fail(err, node,
                          "exponent '%s' is %s and base '%s' %s: at run time both must have one "
                          "type (exponents of another type are folded on constants only)",
                          y->name, ipro_dtype_name(y->dtype), x->name, ipro_dtype_name(x->dtype));
    return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
  }
  double *u = ipro_op_broadcast_doubles(graph, node, 0, &shape, err);
  double *v = u ? ipro_op_broadcast_doubles(graph, node, 1, &shape, err) : NULL;
  ipro_status status = u && v ? IPRO_OK : IPRO_ERROR;
  for (int64_t i = 0; status == IPRO_OK && i < count; i++)
    u[i] = pow(u[i], v[i]);
  if (status == IPRO_OK) status = ipro_op_fold_doubles(graph, node, x->dtype, &shape, u, err);
  free(u);
  free(v);
  return status;
}

int64_t ipro_binary_flops(const ipro_graph *graph, const ipro_node *node) {
  return ipro_op_output_elements(graph, node, 0);
}

ipro_status ipro_sum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_shape shape;
  ipro_dtype dtype;
  if (ipro_op_check_arity(graph, node, node->n_inputs > 0 ? node->n_inputs : 1, 64, 1, 1, err) !=
          IPRO_OK ||
      broadcast_inputs(graph, node, &shape, &dtype, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, dtype, &shape, err);
}

int64_t ipro_sum_flops(const ipro_graph *graph, const ipro_node *node) {
  int present = 0;
  for (int i = 0; i < node->n_inputs; i++)
    present += node->inputs[i] >= 0;
  return present > 1 ? (present - 1) * ipro_op_output_elements(graph, node, 0) : 0;
}
