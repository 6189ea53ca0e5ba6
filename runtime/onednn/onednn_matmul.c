/* Gemm and MatMul on oneDNN's matmul primitive.
 *
 * Gemm: transA / transB are strides on the plain operands (no copy). alpha * A·B + beta * C is
 * the matmul's output scale alpha / beta, C added by a binary post-op (C's 0-, 1- or 2-D shape
 * broadcast to (M, N)), then scaled by beta with a linear post-op; with beta 1 (the usual case) the
 * scale is alpha and there is no linear step, and with beta 0 or no C, C is not read.
 *
 * MatMul: numpy semantics. A 1-D first operand is a (1, K) row and a 1-D second operand a (K, 1)
 * column; the unit dimension they add to the result does not change its row-major layout, so Y is
 * given to oneDNN with it. Batch dimensions are right-aligned and broadcast (oneDNN broadcasts a
 * batch dimension of 1 in either operand). */
#include "onednn_internal.h"

/* A 2-D descriptor of logical dimensions (rows, columns) stored transposed or not. */
static ipro_status matrix_md(dnnl_memory_desc_t *md, int64_t rows, int64_t columns, bool transposed,
                             ipro_error *err) {
  if (rows <= 0 || columns <= 0) return ipro_onednn_unsupported(err, "an empty matrix");
  dnnl_dims_t dims = {rows, columns};
  dnnl_dims_t strides = {transposed ? 1 : columns, transposed ? rows : 1};
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides));
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

/* oneDNN 2.6's f32 matmul (brgemm) reads a plain (K, N) B of many columns slowly: on this
 * project's AVX-512 machine, 2 threads, [544 x 768]·[768 x 3072] (ViT-B/16's MLP gradient at 64x64)
 * took 21 ms reading B as it lies and 8.7 ms reordering it into the transposed layout first,
 * reorder included (N = 3,072 at K = 384 to 2,048: 2.1 to 3.5 times; N = 2,304 and 3,000: 10 to
 * 16%; N = 4,096: within 4% either way; N = 2,048 and below, or fewer than 128 rows: no gain). Such
 * a B is staged: reordered into the kernel's workspace (K·N floats, planned like every
 * workspace), which the matmul then reads; the kernel without the copy is its frugal variant. */
#define STAGED_B_MIN_COLUMNS 2048
#define STAGED_B_MIN_ROWS 128

/* The matmul of A (rows x depth), B (depth x columns, plain unless b_transposed) and Y, whose
 * descriptors are given, as the kernel's last step: B staged as above where that pays, C (the
 * attr's post-op) bound by the caller. */
static ipro_status matmul_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *a_md,
                               const dnnl_memory_desc_t *b_md, const dnnl_memory_desc_t *y_md,
                               int64_t rows, int64_t depth, int64_t columns, bool b_transposed,
                               dnnl_primitive_attr_t attr, ipro_error *err) {
  bool stages = !b_transposed && columns > STAGED_B_MIN_COLUMNS && rows >= STAGED_B_MIN_ROWS;
  /* the staged copy is workspace the plan holds: like Winograd's scratchpad (onednn_conv.c), the
   * kernel has a frugal variant (B read as it lies), which the executor keeps where the copy
   * would grow the program's arena by much (executor.c) */
  if (stages) kernel->base.has_frugal_variant = true;
  bool staged = stages && !kernel->frugal;
  dnnl_memory_desc_t staged_md;
  size_t staged_at = 0;
  if (staged) {
    if (matrix_md(&staged_md, depth, columns, true, err)) return IPRO_ERROR;
    staged_at = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&staged_md));
    if (ipro_onednn_reorder_step(kernel, b_md, IPRO_ONEDNN_INPUT, 1, &staged_md,
                                 IPRO_ONEDNN_INTERMEDIATE, staged_at, err))
      return IPRO_ERROR;
  }
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0},
      {DNNL_ARG_WEIGHTS, staged ? IPRO_ONEDNN_INTERMEDIATE : IPRO_ONEDNN_INPUT,
       staged ? staged_at : 1},
      {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0},
  };
  dnnl_matmul_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_matmul_desc_init(&desc, a_md, staged ? &staged_md : b_md, NULL, y_md));
  return ipro_onednn_primitive_step(kernel, &desc, attr, NULL, arguments, 3, err);
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_build_gemm(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                   const ipro_node *node, ipro_error *err) {
  ipro_shape a, b, c, y;
  if (ipro_onednn_input_shape(graph, node, 0, &a, err) ||
      ipro_onednn_input_shape(graph, node, 1, &b, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (a.rank != 2 || b.rank != 2 || y.rank != 2)
    return ipro_onednn_unsupported(err, "A, B and Y must be matrices");
  bool trans_a = ipro_node_attr_int(node, "transA", 0) != 0;
  bool trans_b = ipro_node_attr_int(node, "transB", 0) != 0;
  float alpha = ipro_node_attr_float(node, "alpha", 1.0f);
  float beta = ipro_node_attr_float(node, "beta", 1.0f);
  int64_t rows = trans_a ? a.dims[1] : a.dims[0], depth = trans_a ? a.dims[0] : a.dims[1];
  int64_t columns = trans_b ? b.dims[0] : b.dims[1];
  if ((trans_b ? b.dims[1] : b.dims[0]) != depth || y.dims[0] != rows || y.dims[1] != columns)
    return ipro_onednn_unsupported(err, "A, B and Y shapes do not agree");
  bool add_c = ipro_node_input(graph, node, 2) != NULL && beta != 0.0f;
  int64_t c_dims[2] = {1, 1};
  if (add_c) {
    if (ipro_onednn_input_shape(graph, node, 2, &c, err)) return IPRO_ERROR;
    if (c.rank > 2) return ipro_onednn_unsupported(err, "C of rank %d", c.rank);
    for (int d = 0; d < c.rank; d++)
      c_dims[2 - c.rank + d] = c.dims[d];
    if ((c_dims[0] != 1 && c_dims[0] != rows) || (c_dims[1] != 1 && c_dims[1] != columns))
      return ipro_onednn_unsupported(err, "C does not broadcast to Y");
  }

  dnnl_memory_desc_t a_md, b_md, c_md, y_md;
  if (matrix_md(&a_md, rows, depth, trans_a, err) ||
      matrix_md(&b_md, depth, columns, trans_b, err) ||
      matrix_md(&y_md, rows, columns, false, err) ||
      (add_c && matrix_md(&c_md, c_dims[0], c_dims[1], false, err)))
    return IPRO_ERROR;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t post_ops = NULL;
  if (ipro_onednn_attr_create(&attr, err)) return IPRO_ERROR;
  float scale = add_c ? alpha / beta : alpha;
  if (scale != 1.0f) IPRO_ONEDNN_CHECK(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &scale));
  if (add_c) {
    IPRO_ONEDNN_CHECK(dnnl_post_ops_create(&post_ops));
    IPRO_ONEDNN_CHECK(dnnl_post_ops_append_binary(post_ops, dnnl_binary_add, &c_md));
    if (beta != 1.0f)
      IPRO_ONEDNN_CHECK(
          dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_linear, beta, 0.0f));
    IPRO_ONEDNN_CHECK(dnnl_primitive_attr_set_post_ops(attr, post_ops));
  }
  if (matmul_step(kernel, &a_md, &b_md, &y_md, rows, depth, columns, trans_b, attr, err) ||
      (add_c &&
       ipro_onednn_bind_md(kernel, &c_md, DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                           IPRO_ONEDNN_INPUT, 2, err)))
    goto fail;
  if (post_ops) dnnl_post_ops_destroy(post_ops);
  dnnl_primitive_attr_destroy(attr);
  return IPRO_OK;
fail:
  if (post_ops) dnnl_post_ops_destroy(post_ops);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return IPRO_ERROR;
}

/* Right-aligns an operand into rank dimensions: a 1-D operand becomes a row (first) or a column
 * (second), and missing batch dimensions become 1. */
static void operand_dims(const ipro_shape *shape, bool first, int rank, int64_t *dims) {
  int64_t matrix[IPRO_MAX_RANK];
  int matrix_rank = shape->rank;
  for (int d = 0; d < shape->rank; d++)
    matrix[d] = shape->dims[d];
  if (shape->rank == 1) {
    matrix_rank = 2;
    matrix[0] = first ? 1 : shape->dims[0];
    matrix[1] = first ? shape->dims[0] : 1;
  }
  int shift = rank - matrix_rank;
  for (int d = 0; d < rank; d++)
    dims[d] = d < shift ? 1 : matrix[d - shift];
}

ipro_status ipro_onednn_build_mat_mul(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                      const ipro_node *node, ipro_error *err) {
  ipro_shape a, b, y;
  if (ipro_onednn_input_shape(graph, node, 0, &a, err) ||
      ipro_onednn_input_shape(graph, node, 1, &b, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (a.rank < 1 || b.rank < 1) return ipro_onednn_unsupported(err, "a scalar operand");
  int rank = a.rank > b.rank ? a.rank : b.rank;
  if (rank < 2) rank = 2;
  int64_t a_dims[IPRO_MAX_RANK], b_dims[IPRO_MAX_RANK], y_dims[IPRO_MAX_RANK];
  operand_dims(&a, true, rank, a_dims);
  operand_dims(&b, false, rank, b_dims);
  if (a_dims[rank - 1] != b_dims[rank - 2])
    return ipro_onednn_unsupported(err, "inner dimensions differ");
  for (int d = 0; d < rank - 2; d++) {
    if (a_dims[d] != b_dims[d] && a_dims[d] != 1 && b_dims[d] != 1)
      return ipro_onednn_unsupported(err, "batch dimensions do not broadcast");
    y_dims[d] = a_dims[d] == 1 ? b_dims[d] : a_dims[d];
  }
  y_dims[rank - 2] = a_dims[rank - 2];
  y_dims[rank - 1] = b_dims[rank - 1];
  int64_t elements = 1;
  for (int d = 0; d < rank; d++)
    elements *= y_dims[d];
  if (elements != ipro_shape_elements(&y))
    return ipro_onednn_unsupported(err, "Y's size does not match the operands");
  /* B one matrix for every batch (a linear layer on sequences): A's rows are one matrix, and
   * oneDNN multiplies it as a GEMM rather than as a batch of small products (ViT-B/16's MLP:
   * 144 → 250 GFLOP/s) */
  bool one_b = true;
  for (int d = 0; d < rank - 2; d++)
    one_b = one_b && b_dims[d] == 1;
  if (one_b && rank > 2) {
    int64_t rows = 1;
    for (int d = 0; d < rank - 1; d++)
      rows *= a_dims[d];
    a_dims[0] = y_dims[0] = rows;
    a_dims[1] = a_dims[rank - 1];
    y_dims[1] = y_dims[rank - 1];
    b_dims[0] = b_dims[rank - 2];
    b_dims[1] = b_dims[rank - 1];
    rank = 2;
  }

  dnnl_memory_desc_t a_md, b_md, y_md;
  if (ipro_onednn_plain_md(&a_md, rank, a_dims, err) ||
      ipro_onednn_plain_md(&b_md, rank, b_dims, err) ||
      ipro_onednn_plain_md(&y_md, rank, y_dims, err))
    return IPRO_ERROR;
  if (rank == 2) /* a matrix product (a linear layer on sequences among them) */
    return matmul_step(kernel, &a_md, &b_md, &y_md, y_dims[0], a_dims[1], y_dims[1], false, NULL,
                       err);
  dnnl_matmul_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &y_md));
  return ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, ipro_onednn_weighted_arguments, 3,
                                    err);
fail:
  return IPRO_ERROR;
}
