/* Reference kernels of the matrix products: Gemm (alpha, beta, transA, transB, C broadcast
 * one-way to the result) and MatMul (numpy semantics: batch dimensions broadcast, a 1-D first
 * operand is a row vector and a 1-D second operand a column vector, their unit dimension dropped
 * from the result). Dot products accumulate in double. */
#include <stdlib.h>

#include "reference_ops.h"

/* Y[m][n] = sum_k A[m][k] * B[k][n] for one matrix, with explicit strides for A and B so that
 * transposed operands need no copy. */
static void matrix_product(int64_t rows, int64_t columns, int64_t depth, const double *a,
                           int64_t a_row_stride, int64_t a_depth_stride, const double *b,
                           int64_t b_depth_stride, int64_t b_column_stride, double *y) {
  for (int64_t m = 0; m < rows; m++)
    for (int64_t n = 0; n < columns; n++) {
      double sum = 0.0;
      for (int64_t k = 0; k < depth; k++)
        sum += (double)a[m * a_row_stride + k * a_depth_stride] *
               (double)b[k * b_depth_stride + n * b_column_stride];
      y[m * columns + n] = sum;
    }
}

/* A (M, K) or (K, M) with transA, B (K, N) or (N, K) with transB, C broadcastable to (M, N). */
IPRO_REFERENCE_KERNEL(ipro_reference_gemm) {
  (void)context;
  ipro_shape a, b, y;
  for (int i = 0; i < 3; i++)
    if (ipro_node_input(graph, node, i) && ipro_reference_expect_real(graph, node, true, i, err))
      return IPRO_ERROR;
  if (ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &a, err) ||
      ipro_reference_input_shape(graph, node, 1, &b, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (a.rank != 2 || b.rank != 2 || y.rank != 2)
    return ipro_reference_fail(node, err, "A, B and Y must be matrices");
  bool trans_a = ipro_node_attr_int(node, "transA", 0) != 0;
  bool trans_b = ipro_node_attr_int(node, "transB", 0) != 0;
  double alpha = ipro_node_attr_float(node, "alpha", 1.0f);
  double beta = ipro_node_attr_float(node, "beta", 1.0f);
  int64_t rows = trans_a ? a.dims[1] : a.dims[0], depth = trans_a ? a.dims[0] : a.dims[1];
  int64_t columns = trans_b ? b.dims[0] : b.dims[1];
  if ((trans_b ? b.dims[1] : b.dims[0]) != depth || y.dims[0] != rows || y.dims[1] != columns)
    return ipro_reference_fail(node, err, "A, B and Y shapes do not agree");
  int64_t c_strides[IPRO_MAX_RANK] = {0};
  const ipro_tensor *c_tensor = ipro_node_input(graph, node, 2);
  if (c_tensor) {
    ipro_shape c;
    if (ipro_reference_shape_of(graph, node, c_tensor, &c, err) ||
        ipro_reference_broadcast_strides(node, &c, &y, c_strides, err))
      return IPRO_ERROR;
  }
  double *product = malloc((size_t)(rows * columns > 0 ? rows * columns : 1) * sizeof *product);
  if (!product) return ipro_reference_fail(node, err, "out of memory");
  const double *c_data = ipro_reference_optional(inputs, node->n_inputs, 2);
  double *out = outputs[0];
  matrix_product(rows, columns, depth, inputs[0], trans_a ? 1 : depth, trans_a ? rows : 1,
                 inputs[1], trans_b ? 1 : columns, trans_b ? depth : 1, product);
  for (int64_t i = 0; i < rows * columns; i++) {
    double value = alpha * product[i];
    if (c_data) value += beta * c_data[ipro_reference_offset(y.dims, 2, c_strides, i)];
    out[i] = value;
  }
  free(product);
  return IPRO_OK;
}

/* Splits a MatMul operand into its batch dimensions and its matrix (rows, columns); a 1-D operand
 * becomes a (1, K) row (first operand) or a (K, 1) column (second operand). */
static void split_operand(const ipro_shape *shape, bool first, ipro_shape *batch, int64_t *rows,
                          int64_t *columns) {
  if (shape->rank == 1) {
    batch->rank = 0;
    *rows = first ? 1 : shape->dims[0];
    *columns = first ? shape->dims[0] : 1;
    return;
  }
  batch->rank = shape->rank - 2;
  for (int d = 0; d < batch->rank; d++)
    batch->dims[d] = shape->dims[d];
  *rows = shape->dims[shape->rank - 2];
  *columns = shape->dims[shape->rank - 1];
}

IPRO_REFERENCE_KERNEL(ipro_reference_mat_mul) {
  (void)context;
  ipro_shape a, b, y;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, true, 1, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &a, err) ||
      ipro_reference_input_shape(graph, node, 1, &b, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (a.rank < 1 || b.rank < 1) return ipro_reference_fail(node, err, "scalar operand");
  ipro_shape a_batch, b_batch, batch;
  int64_t rows, depth, b_depth, columns;
  split_operand(&a, true, &a_batch, &rows, &depth);
  split_operand(&b, false, &b_batch, &b_depth, &columns);
  if (depth != b_depth)
    return ipro_reference_fail(node, err, "inner dimensions differ (%lld and %lld)",
                               (long long)depth, (long long)b_depth);
  /* The broadcast batch shape: the longer batch, with each 1 replaced by the other's extent. */
  batch.rank = a_batch.rank > b_batch.rank ? a_batch.rank : b_batch.rank;
  for (int d = 0; d < batch.rank; d++) {
    int ka = d - (batch.rank - a_batch.rank), kb = d - (batch.rank - b_batch.rank);
    int64_t da = ka < 0 ? 1 : a_batch.dims[ka], db = kb < 0 ? 1 : b_batch.dims[kb];
    batch.dims[d] = da == 1 ? db : da;
  }
  int64_t a_strides[IPRO_MAX_RANK], b_strides[IPRO_MAX_RANK];
  if (ipro_reference_broadcast_strides(node, &a_batch, &batch, a_strides, err) ||
      ipro_reference_broadcast_strides(node, &b_batch, &batch, b_strides, err))
    return IPRO_ERROR;
  int64_t batches = ipro_shape_elements(&batch), matrix = rows * columns;
  if (batches * matrix != ipro_shape_elements(&y))
    return ipro_reference_fail(node, err, "output shape does not match the operands");
  double *product = malloc((size_t)(matrix > 0 ? matrix : 1) * sizeof *product);
  if (!product) return ipro_reference_fail(node, err, "out of memory");
  const double *a_data = inputs[0], *b_data = inputs[1];
  double *out = outputs[0];
  for (int64_t i = 0; i < batches; i++) {
    /* The batch strides count whole matrices of the operand. */
    const double *a_matrix =
        a_data + ipro_reference_offset(batch.dims, batch.rank, a_strides, i) * rows * depth;
    const double *b_matrix =
        b_data + ipro_reference_offset(batch.dims, batch.rank, b_strides, i) * depth * columns;
    matrix_product(rows, columns, depth, a_matrix, depth, 1, b_matrix, columns, 1, product);
    for (int64_t j = 0; j < matrix; j++)
      out[i * matrix + j] = product[j];
  }
  free(product);
  return IPRO_OK;
}
