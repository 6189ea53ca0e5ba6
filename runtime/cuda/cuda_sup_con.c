/* ipro.SupConLoss and ipro.SupConGrad on the GPU, from cuDNN and cuBLAS building blocks and
 * generated element-wise kernels (the formulas are the reference's, runtime/reference/
 * infopro_losses.c):
 *
 *   norm_i = ‖f_i‖ (cudnnReduceTensor NORM2), z = f / max(norm, 1e-12) (generated),
 *   S = z zᵀ / T (cublasSgemm), P_ij = [y_i = y_j, i ≠ j] (labels compared as floats, the
 *   diagonal cleared with a strided memset), |P(i)| = Σ_j P_ij (reduction).
 *
 * The softmax denominators leave out a = i: S's diagonal is overwritten with a very negative
 * finite value (the byte pattern 0xFE, −1.7e38) before cuDNN's row softmax, so exp() makes it
 * exactly 0 there. The loss is −(1/N) Σ_i Σ_j P_ij log_softmax_ij / max(|P(i)|, 1), anchors
 * without positives adding 0 as in the reference.
 *
 * The gradient: G = softmax − P/|P(i)| (0 for anchors without positives; the reference's 1/N is
 * folded into the next product), dz = (scale/(T·N)) (G + Gᵀ) z (cublasSgeam, cublasSgemm), and
 * through the normalisation dF = (dz − (z·dz) z) / max(norm, 1e-12), the radial term dropped
 * where the norm was clamped (generated). Everything runs in float32 where the reference uses
 * double; the tolerance of the GPU tests allows for it. */
#include <stdlib.h>

#include "cuda_internal.h"
#include "ir/checked_size.h"

enum { F, ROWS, SQUARE, LABEL_ROW, SCALAR };                              /* tensors */
enum { NORM, Z, SIMILARITY, LABELS, SCRATCH, POSITIVES, COUNT, SOFTMAX }; /* offsets */
/* grad only: dz and the products z·dz reuse SCRATCH-sized room at offsets kept in state. */
typedef struct {
  size_t dz, products, radial, row_sums, terms;
} extra_offsets;

#define NEGATIVE_BYTE 0xFE /* 0xFEFEFEFE as float: −1.69e38, finite */

static float *at(char *workspace, size_t offset) { return (float *)(workspace + offset); }

/* Steps shared by loss and gradient: z, S (diagonal masked), P, |P(i)|. */
static ipro_status similarities(const ipro_cuda_kernel *kernel, void *const *inputs,
                                char *workspace, ipro_error *err) {
  int64_t n = kernel->sizes[0], d = kernel->sizes[1];
  const size_t *o = kernel->offsets;
  cudnnHandle_t handle = kernel->backend->cudnn;
  cudaStream_t stream = kernel->backend->stream;
  const float one = 1.0f, zero = 0.0f;
  void *reduction = kernel->library_bytes ? workspace + kernel->library_offset : NULL;
  IPRO_CUDNN_CHECK(cudnnReduceTensor(handle, kernel->reduce[0], NULL, 0, reduction,
                                     kernel->library_bytes, &one, kernel->tensors[F], inputs[0],
                                     &zero, kernel->tensors[ROWS], at(workspace, o[NORM])));
  void *normalize[3] = {inputs[0], at(workspace, o[NORM]), at(workspace, o[Z])};
  if (ipro_cuda_launch(kernel, IPRO_GENERATED_NORMALIZE_ROWS, normalize, 3, NULL, n * d, n, d, err))
    return IPRO_ERROR;
  if (ipro_cuda_bind_cublas(kernel, workspace, err) ||
      ipro_cuda_row_major_gemm(kernel, false, true, n, n, d, kernel->values[0], at(workspace, o[Z]),
                               at(workspace, o[Z]), 0.0f, at(workspace, o[SIMILARITY]), 1, 0, 0, 0,
                               err))
    return IPRO_ERROR;
  void *convert[2] = {inputs[1], at(workspace, o[LABELS])};
  if (ipro_cuda_launch(kernel, IPRO_GENERATED_LABELS_TO_FLOAT, convert, 2, NULL, n, 1, 1, err))
    return IPRO_ERROR;
  /* SCRATCH[i][j] = y_j, then P_ij = (y_i == SCRATCH[i][j]). */
  IPRO_CUDNN_CHECK(cudnnAddTensor(handle, &one, kernel->tensors[LABEL_ROW],
                                  at(workspace, o[LABELS]), &zero, kernel->tensors[SQUARE],
                                  at(workspace, o[SCRATCH])));
  void *compare[3] = {at(workspace, o[LABELS]), at(workspace, o[SCRATCH]),
                      at(workspace, o[POSITIVES])};
  if (ipro_cuda_launch(kernel, IPRO_GENERATED_EQUAL_MASK, compare, 3, NULL, n * n, n, n, err))
    return IPRO_ERROR;
  size_t diagonal = (size_t)(n + 1) * sizeof(float);
  IPRO_CUDA_CHECK(cudaMemset2DAsync(at(workspace, o[POSITIVES]), diagonal, 0, sizeof(float),
                                    (size_t)n, stream));
  IPRO_CUDNN_CHECK(cudnnReduceTensor(handle, kernel->reduce[1], NULL, 0, reduction,
                                     kernel->library_bytes, &one, kernel->tensors[SQUARE],
                                     at(workspace, o[POSITIVES]), &zero, kernel->tensors[ROWS],
                                     at(workspace, o[COUNT])));
  IPRO_CUDA_CHECK(cudaMemset2DAsync(at(workspace, o[SIMILARITY]), diagonal, NEGATIVE_BYTE,
                                    sizeof(float), (size_t)n, stream));
  return IPRO_OK;
}

static ipro_status run_loss(const ipro_cuda_kernel *kernel, void *const *inputs,
                            void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)step;
  const size_t *o = kernel->offsets;
  const extra_offsets *extra = kernel->state;
  cudnnHandle_t handle = kernel->backend->cudnn;
  const float one = 1.0f, zero = 0.0f, minus_mean = -kernel->values[1];
  void *reduction = kernel->library_bytes ? workspace + kernel->library_offset : NULL;
  if (similarities(kernel, inputs, workspace, err)) return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnSoftmaxForward(handle, CUDNN_SOFTMAX_LOG, CUDNN_SOFTMAX_MODE_CHANNEL, &one,
                                       kernel->tensors[SQUARE], at(workspace, o[SIMILARITY]), &zero,
                                       kernel->tensors[SQUARE], at(workspace, o[SOFTMAX])));
  IPRO_CUDNN_CHECK(cudnnOpTensor(handle, kernel->op_tensor, &one, kernel->tensors[SQUARE],
                                 at(workspace, o[POSITIVES]), &one, kernel->tensors[SQUARE],
                                 at(workspace, o[SOFTMAX]), &zero, kernel->tensors[SQUARE],
                                 at(workspace, o[SCRATCH])));
  IPRO_CUDNN_CHECK(cudnnReduceTensor(handle, kernel->reduce[1], NULL, 0, reduction,
                                     kernel->library_bytes, &one, kernel->tensors[SQUARE],
                                     at(workspace, o[SCRATCH]), &zero, kernel->tensors[ROWS],
                                     at(workspace, extra->row_sums)));
  void *ratio[3] = {at(workspace, extra->row_sums), at(workspace, o[COUNT]),
                    at(workspace, extra->terms)};
  if (ipro_cuda_launch(kernel, IPRO_GENERATED_RATIO_FLOOR_ONE, ratio, 3, NULL, kernel->sizes[0], 1,
                       1, err))
    return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnReduceTensor(handle, kernel->reduce[1], NULL, 0, reduction,
                                     kernel->library_bytes, &minus_mean, kernel->tensors[ROWS],
                                     at(workspace, extra->terms), &zero, kernel->tensors[SCALAR],
                                     outputs[0]));
  return IPRO_OK;
}

static ipro_status run_grad(const ipro_cuda_kernel *kernel, void *const *inputs,
                            void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)step;
  int64_t n = kernel->sizes[0], d = kernel->sizes[1];
  const size_t *o = kernel->offsets;
  const extra_offsets *extra = kernel->state;
  cudnnHandle_t handle = kernel->backend->cudnn;
  const float one = 1.0f, zero = 0.0f;
  void *reduction = kernel->library_bytes ? workspace + kernel->library_offset : NULL;
  if (similarities(kernel, inputs, workspace, err)) return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnSoftmaxForward(handle, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL,
                                       &one, kernel->tensors[SQUARE], at(workspace, o[SIMILARITY]),
                                       &zero, kernel->tensors[SQUARE], at(workspace, o[SOFTMAX])));
  void *g[4] = {at(workspace, o[SOFTMAX]), at(workspace, o[POSITIVES]), at(workspace, o[COUNT]),
                at(workspace, o[SCRATCH])};
  if (ipro_cuda_launch(kernel, IPRO_GENERATED_SUP_CON_SIMILARITY_GRAD, g, 4, NULL, n * n, n, n,
                       err))
    return IPRO_ERROR;
  /* W = G + Gᵀ into the softmax's room (symmetric, so the column-major view is the same). */
  if (ipro_cuda_bind_cublas(kernel, workspace, err)) return IPRO_ERROR;
  IPRO_CUBLAS_CHECK(cublasSgeam(kernel->backend->cublas, CUBLAS_OP_N, CUBLAS_OP_T, (int)n, (int)n,
                                &one, at(workspace, o[SCRATCH]), (int)n, &one,
                                at(workspace, o[SCRATCH]), (int)n, at(workspace, o[SOFTMAX]),
                                (int)n));
  if (ipro_cuda_row_major_gemm(kernel, false, false, n, d, n, kernel->values[1],
                               at(workspace, o[SOFTMAX]), at(workspace, o[Z]), 0.0f,
                               at(workspace, extra->dz), 1, 0, 0, 0, err))
    return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnOpTensor(handle, kernel->op_tensor, &one, kernel->tensors[F],
                                 at(workspace, o[Z]), &one, kernel->tensors[F],
                                 at(workspace, extra->dz), &zero, kernel->tensors[F],
                                 at(workspace, extra->products)));
  IPRO_CUDNN_CHECK(cudnnReduceTensor(handle, kernel->reduce[1], NULL, 0, reduction,
                                     kernel->library_bytes, &one, kernel->tensors[F],
                                     at(workspace, extra->products), &zero, kernel->tensors[ROWS],
                                     at(workspace, extra->radial)));
  void *features[5] = {at(workspace, extra->dz), at(workspace, o[Z]), at(workspace, extra->radial),
                       at(workspace, o[NORM]), outputs[0]};
  return ipro_cuda_launch(kernel, IPRO_GENERATED_SUP_CON_FEATURES_GRAD, features, 5, NULL, n * d, n,
                          d, err);
}

/* sizes: N, D; values[0]: 1/T; values[1]: −1/N's magnitude (loss) or scale/(T·N) (grad). */
static ipro_status prepare(ipro_cuda_kernel *kernel, const ipro_graph *graph, const ipro_node *node,
                           ipro_error *err) {
  if (ipro_cuda_expect_float(graph, node, 1u << 1, err)) return IPRO_ERROR;
  const ipro_shape *f = ipro_cuda_input_shape(graph, node, 0);
  const ipro_tensor *labels = ipro_node_input(graph, node, 1);
  if (!labels || labels->dtype != IPRO_DTYPE_INT64)
    return ipro_cuda_unsupported(err, "labels that are not int64");
  if (f->rank != 2 || labels->shape.rank != 1 || labels->shape.dims[0] != f->dims[0])
    return ipro_error_set(err, "features must be [N, D] and labels [N]");
  double temperature = ipro_node_attr_float(node, "temperature", 0.07f);
  if (!(temperature > 0.0)) return ipro_error_set(err, "temperature %g", temperature);
  int64_t n = f->dims[0], d = f->dims[1];
  kernel->sizes[0] = n;
  kernel->sizes[1] = d;
  kernel->values[0] = (float)(1.0 / temperature);
  int64_t f_dims[2] = {n, d}, rows[2] = {n, 1}, square[2] = {n, n}, label_row[2] = {1, n};
  int64_t scalar[1] = {1};
  if (ipro_cuda_tensor(kernel, f_dims, 2, err) < 0 || ipro_cuda_tensor(kernel, rows, 2, err) < 0 ||
      ipro_cuda_tensor(kernel, square, 2, err) < 0 ||
      ipro_cuda_tensor(kernel, label_row, 2, err) < 0 ||
      ipro_cuda_tensor(kernel, scalar, 1, err) < 0)
    return IPRO_ERROR;
  if (ipro_cuda_prepare_reduction(kernel, 0, CUDNN_REDUCE_TENSOR_NORM2, F, ROWS, err) ||
      ipro_cuda_prepare_reduction(kernel, 1, CUDNN_REDUCE_TENSOR_ADD, SQUARE, ROWS, err) ||
      ipro_cuda_prepare_reduction(kernel, 1, CUDNN_REDUCE_TENSOR_ADD, F, ROWS, err) ||
      ipro_cuda_prepare_reduction(kernel, 1, CUDNN_REDUCE_TENSOR_ADD, ROWS, SCALAR, err))
    return IPRO_ERROR;
  IPRO_CUDNN_CHECK(cudnnCreateOpTensorDescriptor(&kernel->op_tensor));
  IPRO_CUDNN_CHECK(cudnnSetOpTensorDescriptor(kernel->op_tensor, CUDNN_OP_TENSOR_MUL,
                                              CUDNN_DATA_FLOAT, CUDNN_PROPAGATE_NAN));
  int64_t matrix_elements;
  if (!ipro_checked_mul(n, n, &matrix_elements) || matrix_elements > IPRO_MAX_TENSOR_ELEMENTS)
    return ipro_error_set(err,
                          "%s: the %lld x %lld similarity matrix of the contrast loss is larger "
                          "than one tensor may be",
                          kernel->label, (long long)n, (long long)n);
  size_t vector = (size_t)n * sizeof(float), matrix = (size_t)matrix_elements * sizeof(float);
  size_t features = (size_t)(n * d) * sizeof(float);
  size_t sizes[8] = {vector, features, matrix, vector, matrix, matrix, vector, matrix};
  for (int i = 0; i < 8; i++)
    kernel->offsets[i] = ipro_cuda_reserve(kernel, sizes[i]);
  extra_offsets *extra = calloc(1, sizeof *extra);
  if (!extra) return ipro_error_set(err, "out of memory");
  kernel->state = extra;
  if (node->op == IPRO_OP_SUP_CON_GRAD) {
    extra->dz = ipro_cuda_reserve(kernel, features);
    extra->products = ipro_cuda_reserve(kernel, features);
    extra->radial = ipro_cuda_reserve(kernel, vector);
  } else {
    extra->row_sums = ipro_cuda_reserve(kernel, vector);
    extra->terms = ipro_cuda_reserve(kernel, vector);
  }
  if (kernel->library_bytes)
    kernel->library_offset = ipro_cuda_reserve(kernel, kernel->library_bytes);
  ipro_cuda_reserve_cublas(kernel);
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_sup_con_loss) {
  if (prepare(kernel, graph, node, err)) return IPRO_ERROR;
  if (ipro_cuda_elements(ipro_cuda_output_shape(graph, node, 0)) != 1)
    return ipro_error_set(err, "the loss must be a scalar");
  kernel->values[1] = (float)(1.0 / (double)(kernel->sizes[0] > 0 ? kernel->sizes[0] : 1));
  kernel->run = run_loss;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_sup_con_grad) {
  if (prepare(kernel, graph, node, err)) return IPRO_ERROR;
  double temperature = ipro_node_attr_float(node, "temperature", 0.07f);
  double scale = ipro_node_attr_float(node, "scale", 1.0f);
  int64_t n = kernel->sizes[0] > 0 ? kernel->sizes[0] : 1;
  kernel->values[1] = (float)(scale / (temperature * (double)n));
  kernel->run = run_grad;
  return IPRO_OK;
}
