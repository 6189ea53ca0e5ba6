/* Gemm and MatMul on cuBLAS, and the row-major product the other CUDA op files build on.
 *
 * cuBLAS is column-major; a row-major matrix is the column-major view of its transpose, so the
 * row-major C = op(A)·op(B) is computed as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: the same call
 * with the operands swapped and the dimensions read the other way, and no data moved.
 *
 * Gemm's C (any shape that broadcasts to Y) is first spread into Y by cudnnAddTensor with factor
 * beta, and the product then accumulates onto it. MatMul multiplies the trailing two dimensions
 * with one strided batched call, a batch dimension of one side repeating against the other
 * (stride 0); vector operands and more general broadcasts are declined. Products compute in
 * float32 without TF32 (the backend sets CUBLAS_DEFAULT_MATH). */
#include "cuda_internal.h"
#include "ir/checked_size.h"

ipro_status ipro_cuda_row_major_gemm(const ipro_cuda_kernel *kernel, bool transpose_a,
                                     bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
                                     const float *a, const float *b, float beta, float *c,
                                     int64_t batch, int64_t stride_a, int64_t stride_b,
                                     int64_t stride_c, ipro_error *err) {
  /* cuBLAS takes int sizes: checked here, since the gemm is set up from tensor shapes. */
  int m32, n32, k32, batch32;
  if (!ipro_checked_int(m, &m32) || !ipro_checked_int(n, &n32) || !ipro_checked_int(k, &k32) ||
      !ipro_checked_int(batch, &batch32))
    return ipro_error_set(err, "%s: gemm sizes %lld x %lld x %lld (batch %lld) exceed cuBLAS's int",
                          kernel->label, (long long)m, (long long)n, (long long)k,
                          (long long)batch);
  /* Row-major leading dimensions: A is (m, k) or, transposed, (k, m); B (k, n) or (n, k). */
  int lda = transpose_a ? m32 : k32, ldb = transpose_b ? k32 : n32, ldc = n32;
  cublasOperation_t op_a = transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_b = transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasHandle_t handle = kernel->backend->cublas;
  if (batch == 1)
    IPRO_CUBLAS_CHECK(
        cublasSgemm(handle, op_b, op_a, n32, m32, k32, &alpha, b, ldb, a, lda, &beta, c, ldc));
  else
    IPRO_CUBLAS_CHECK(cublasSgemmStridedBatched(handle, op_b, op_a, n32, m32, k32, &alpha, b, ldb,
                                                stride_b, a, lda, stride_a, &beta, c, ldc, stride_c,
                                                batch32));
  return IPRO_OK;
}

static bool fits_int(int64_t value) { return value >= 0 && value <= 0x7fffffff; }

/* sizes: m, n, k, batch, stride_a, stride_b, transpose_a, transpose_b; values: alpha, beta;
 * sizes of C: tensors[0] (C as broadcast), tensors[1] (Y) when Gemm has C. */
static ipro_status run_product(const ipro_cuda_kernel *kernel, void *const *inputs,
                               void *const *outputs, char *workspace, uint64_t step,
                               ipro_error *err) {
  (void)step;
  const int64_t *s = kernel->sizes;
  float beta = 0.0f;
  if (kernel->n_tensors == 2 && inputs[2]) {
    const float zero = 0.0f;
    IPRO_CUDNN_CHECK(cudnnAddTensor(kernel->backend->cudnn, &kernel->values[1], kernel->tensors[0],
                                    inputs[2], &zero, kernel->tensors[1], outputs[0]));
    beta = 1.0f;
  }
  if (ipro_cuda_bind_cublas(kernel, workspace, err)) return IPRO_ERROR;
  return ipro_cuda_row_major_gemm(kernel, s[6] != 0, s[7] != 0, s[0], s[1], s[2], kernel->values[0],
                                  inputs[0], inputs[1], beta, outputs[0], s[3], s[4], s[5],
                                  s[0] * s[1], err);
}

IPRO_CUDA_BUILD(ipro_cuda_build_gemm) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *a = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *b = ipro_cuda_input_shape(graph, node, 1);
  const ipro_shape *c = ipro_cuda_input_shape(graph, node, 2);
  const ipro_shape *y = ipro_cuda_output_shape(graph, node, 0);
  if (!a || !b || a->rank != 2 || b->rank != 2 || y->rank != 2)
    return ipro_cuda_unsupported(err, "Gemm of ranks other than 2");
  bool ta = ipro_node_attr_int(node, "transA", 0) != 0;
  bool tb = ipro_node_attr_int(node, "transB", 0) != 0;
  int64_t m = ta ? a->dims[1] : a->dims[0], k = ta ? a->dims[0] : a->dims[1];
  int64_t n = tb ? b->dims[0] : b->dims[1], kb = tb ? b->dims[1] : b->dims[0];
  if (k != kb || y->dims[0] != m || y->dims[1] != n)
    return ipro_error_set(err, "Gemm operand shapes disagree");
  if (!fits_int(m) || !fits_int(n) || !fits_int(k))
    return ipro_cuda_unsupported(err, "a dimension beyond cuBLAS's int");
  kernel->values[0] = ipro_node_attr_float(node, "alpha", 1.0f);
  kernel->values[1] = ipro_node_attr_float(node, "beta", 1.0f);
  if (c) {
    if (c->rank > 2) return ipro_cuda_unsupported(err, "C of rank %d", c->rank);
    /* C right-aligned against Y, each dimension equal or 1. */
    int64_t c_dims[2] = {1, 1};
    for (int d = 0; d < c->rank; d++)
      c_dims[2 - c->rank + d] = c->dims[d];
    for (int d = 0; d < 2; d++)
      if (c_dims[d] != 1 && c_dims[d] != y->dims[d])
        return ipro_error_set(err, "C does not broadcast to Y");
    if (ipro_cuda_tensor(kernel, c_dims, 2, err) < 0 ||
        ipro_cuda_tensor(kernel, y->dims, 2, err) < 0)
      return IPRO_ERROR;
  }
  int64_t sizes[8] = {m, n, k, 1, 0, 0, ta, tb};
  for (int i = 0; i < 8; i++)
    kernel->sizes[i] = sizes[i];
  ipro_cuda_reserve_cublas(kernel);
  kernel->run = run_product;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_mat_mul) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *a = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *b = ipro_cuda_input_shape(graph, node, 1);
  const ipro_shape *y = ipro_cuda_output_shape(graph, node, 0);
  if (a->rank < 2 || b->rank < 2) return ipro_cuda_unsupported(err, "MatMul with a vector operand");
  int64_t m = a->dims[a->rank - 2], k = a->dims[a->rank - 1], n = b->dims[b->rank - 1];
  if (b->dims[b->rank - 2] != k) return ipro_error_set(err, "MatMul inner dimensions disagree");
  int64_t batch_a = ipro_cuda_elements(a) / (m * k), batch_b = ipro_cuda_elements(b) / (k * n);
  int64_t batch = ipro_cuda_elements(y) / (m * n);
  /* One side's batch must be the output's, laid out alike; the other the same or one. */
  bool same_a = batch_a == batch && a->rank == y->rank,
       same_b = batch_b == batch && b->rank == y->rank;
  for (int d = 0; same_a && d + 2 < y->rank; d++)
    same_a = a->dims[d] == y->dims[d];
  for (int d = 0; same_b && d + 2 < y->rank; d++)
    same_b = b->dims[d] == y->dims[d];
  if (!(same_a || batch_a == 1) || !(same_b || batch_b == 1))
    return ipro_cuda_unsupported(err, "MatMul batch broadcast beyond a batch of one");
  if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(batch))
    return ipro_cuda_unsupported(err, "a dimension beyond cuBLAS's int");
  int64_t sizes[8] = {m, n, k, batch, batch_a == 1 ? 0 : m * k, batch_b == 1 ? 0 : k * n, 0, 0};
  for (int i = 0; i < 8; i++)
    kernel->sizes[i] = sizes[i];
  kernel->values[0] = 1.0f;
  ipro_cuda_reserve_cublas(kernel);
  kernel->run = run_product;
  return IPRO_OK;
}
