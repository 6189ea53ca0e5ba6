/* Op rows of the matrix products: Gemm (2-D, optional transposes, bias C broadcast to [M, N]),
 * MatMul (numpy semantics: 1-D operands promoted, batch dimensions broadcast) and Einsum of one
 * or two operands (ir/einsum.h). M may be the symbolic batch; the inner dimension must be
 * concrete. */
#include "ir/checked_size.h"
#include "ir/einsum.h"
#include "op_helpers.h"
#include "op_rows.h"

ipro_status ipro_gemm_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"alpha:f", "beta:f", "transA:i", "transB:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK ||
      ipro_op_default_float(node, "alpha", 1.0f, err) != IPRO_OK ||
      ipro_op_default_float(node, "beta", 1.0f, err) != IPRO_OK ||
      ipro_op_default_int(node, "transA", 0, err) != IPRO_OK ||
      ipro_op_default_int(node, "transB", 0, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_gemm_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *a, *b, *c;
  if (ipro_op_check_arity(graph, node, 2, 3, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &a, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES(a->dtype), &b, err) != IPRO_OK ||
      ipro_op_optional_input(graph, node, 2, IPRO_DTYPES(a->dtype), &c, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 2, 2, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 1, 2, 2, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 2, 0, 2, err) != IPRO_OK ||
      ipro_op_require_concrete(graph, node, 1, 0, err) != IPRO_OK)
    return IPRO_ERROR;
  bool trans_a = ipro_node_attr_int(node, "transA", 0) != 0;
  bool trans_b = ipro_node_attr_int(node, "transB", 0) != 0;
  int64_t m = a->shape.dims[trans_a ? 1 : 0], k = a->shape.dims[trans_a ? 0 : 1];
  int64_t k_b = b->shape.dims[trans_b ? 1 : 0], n = b->shape.dims[trans_b ? 0 : 1];
  if (ipro_dim_is_batch(k)) return ipro_op_batch_error(node, err, "the inner dimension of Gemm");
  if (k != k_b)
    return ipro_op_fail(err, node,
                        "inner dimensions differ: '%s' gives K = %lld, '%s' gives K = %lld",
                        a->name, (long long)k, b->name, (long long)k_b);
  ipro_shape shape = {.rank = 2, .dims = {m, n}};
  if (c) {
    ipro_shape broadcast;
    if (ipro_op_broadcast(node, &shape, "A*B", &c->shape, c->name, &broadcast, err) != IPRO_OK)
      return IPRO_ERROR;
    if (!ipro_shape_equal(&broadcast, &shape)) {
      char cs[128], ys[128];
      return ipro_op_fail(err, node, "bias '%s' %s does not broadcast to the output %s", c->name,
                          ipro_shape_format(&c->shape, cs, sizeof cs),
                          ipro_shape_format(&shape, ys, sizeof ys));
    }
  }
  return ipro_op_set_output(graph, node, 0, a->dtype, &shape, err);
}

int64_t ipro_gemm_flops(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *a = ipro_node_input(graph, node, 0), *b = ipro_node_input(graph, node, 1);
  if (!a || !b || a->shape.rank != 2 || b->shape.rank != 2) return 0;
  bool trans_a = ipro_node_attr_int(node, "transA", 0) != 0;
  bool trans_b = ipro_node_attr_int(node, "transB", 0) != 0;
  int64_t m = ipro_op_dim(graph, a->shape.dims[trans_a ? 1 : 0]);
  int64_t k = ipro_op_dim(graph, a->shape.dims[trans_a ? 0 : 1]);
  int64_t n = ipro_op_dim(graph, b->shape.dims[trans_b ? 0 : 1]);
  int64_t flops, factors[] = {2, m, n, k}, bias[] = {ipro_node_input(graph, node, 2) ? m : 0, n};
  if (!ipro_checked_product(factors, 4, &flops) ||
      !ipro_checked_add(flops, ipro_product_or_overflow(bias, 2), &flops))
    return IPRO_SIZE_OVERFLOW;
  return flops;
}

ipro_status ipro_mat_mul_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *a, *b;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &a, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES(a->dtype), &b, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 1, IPRO_MAX_RANK, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 1, 1, IPRO_MAX_RANK, err) != IPRO_OK)
    return IPRO_ERROR;
  /* Promote 1-D operands to matrices, as numpy does, and remember to drop the added axis. */
  ipro_shape sa = a->shape, sb = b->shape;
  bool a_vector = sa.rank == 1, b_vector = sb.rank == 1;
  if (a_vector) sa = (ipro_shape){.rank = 2, .dims = {1, a->shape.dims[0]}};
  if (b_vector) sb = (ipro_shape){.rank = 2, .dims = {b->shape.dims[0], 1}};
  int64_t k = sa.dims[sa.rank - 1], k_b = sb.dims[sb.rank - 2];
  if (ipro_dim_is_batch(k) || ipro_dim_is_batch(k_b))
    return ipro_op_batch_error(node, err, "the inner dimension of MatMul");
  if (k != k_b)
    return ipro_op_fail(err, node,
                        "inner dimensions differ: '%s' has %lld columns, '%s' has %lld "
                        "rows",
                        a->name, (long long)k, b->name, (long long)k_b);
  ipro_shape batch_a = {.rank = sa.rank - 2}, batch_b = {.rank = sb.rank - 2}, shape;
  for (int d = 0; d < batch_a.rank; d++)
    batch_a.dims[d] = sa.dims[d];
  for (int d = 0; d < batch_b.rank; d++)
    batch_b.dims[d] = sb.dims[d];
  if (ipro_op_broadcast(node, &batch_a, a->name, &batch_b, b->name, &shape, err) != IPRO_OK)
    return IPRO_ERROR;
  if (shape.rank + 2 > IPRO_MAX_RANK)
    return ipro_op_fail(err, node, "the result's rank is too high");
  if (!a_vector) shape.dims[shape.rank++] = sa.dims[sa.rank - 2];
  if (!b_vector) shape.dims[shape.rank++] = sb.dims[sb.rank - 1];
  return ipro_op_set_output(graph, node, 0, a->dtype, &shape, err);
}

int64_t ipro_mat_mul_flops(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *a = ipro_node_input(graph, node, 0);
  if (!a || a->shape.rank < 1) return 0;
  /* batch x M x N output elements, each a dot product of length K */
  int64_t k = ipro_op_dim(graph, a->shape.dims[a->shape.rank - 1]);
  int64_t factors[] = {2, ipro_op_output_elements(graph, node, 0), k};
  return ipro_product_or_overflow(factors, 3);
}

ipro_status ipro_einsum_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"equation:s", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  ipro_einsum e;
  const char *wrong =
      ipro_einsum_parse(ipro_node_attr_string(node, "equation", ""), node->n_inputs, &e);
  if (wrong)
    return ipro_op_fail(err, node, "equation '%s': %s", ipro_node_attr_string(node, "equation", ""),
                        wrong);
  return IPRO_OK;
}

/* Each letter's extent, the same wherever it appears; the output's shape from its letters. */
ipro_status ipro_einsum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x[2] = {NULL, NULL};
  if (ipro_op_check_arity(graph, node, 1, 2, 1, 1, err) != IPRO_OK) return IPRO_ERROR;
  ipro_einsum e;
  const char *equation = ipro_node_attr_string(node, "equation", "");
  if (ipro_einsum_parse(equation, node->n_inputs, &e))
    return ipro_op_fail(err, node, "equation '%s' does not fit its %d operands", equation,
                        node->n_inputs);
  int64_t extent[128];
  bool known[128] = {false};
  for (int i = 0; i < e.n_operands; i++) {
    if (ipro_op_input(graph, node, i, IPRO_DTYPES_REAL, &x[i], err) != IPRO_OK) return IPRO_ERROR;
    if (x[i]->dtype != x[0]->dtype)
      return ipro_op_fail(err, node, "operands of dtypes %s and %s", ipro_dtype_name(x[0]->dtype),
                          ipro_dtype_name(x[i]->dtype));
    if (x[i]->shape.rank != e.rank[i])
      return ipro_op_fail(err, node, "operand %d has rank %d; the equation '%s' names %d axes", i,
                          x[i]->shape.rank, equation, e.rank[i]);
    for (int k = 0; k < e.rank[i]; k++) {
      int c = (unsigned char)e.operand[i][k];
      if (known[c] && extent[c] != x[i]->shape.dims[k])
        return ipro_op_fail(err, node, "letter '%c' has extents %lld and %lld", c,
                            (long long)extent[c], (long long)x[i]->shape.dims[k]);
      known[c] = true;
      extent[c] = x[i]->shape.dims[k];
    }
  }
  ipro_shape shape = {.rank = e.out_rank};
  for (int k = 0; k < e.out_rank; k++)
    shape.dims[k] = extent[(unsigned char)e.output[k]];
  return ipro_op_set_output(graph, node, 0, x[0]->dtype, &shape, err);
}

/* 2 FLOPs for each combination of the letters (every one a multiply-add). */
int64_t ipro_einsum_flops(const ipro_graph *graph, const ipro_node *node) {
  ipro_einsum e;
  if (ipro_einsum_parse(ipro_node_attr_string(node, "equation", ""), node->n_inputs, &e)) return 0;
  bool seen[128] = {false};
  int64_t combinations = 1;
  for (int i = 0; i < e.n_operands; i++) {
    const ipro_tensor *x = ipro_node_input(graph, node, i);
    for (int k = 0; x && k < e.rank[i]; k++) {
      int c = (unsigned char)e.operand[i][k];
      if (seen[c] || x->shape.dims[k] < 0) continue;
      seen[c] = true;
      if (!ipro_checked_mul(combinations, x->shape.dims[k], &combinations)) return INT64_MAX;
    }
  }
  return ipro_checked_mul(combinations, 2, &combinations) ? combinations : INT64_MAX;
}
