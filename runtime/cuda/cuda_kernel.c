/* Helpers every CUDA op file uses (cuda_internal.h): descriptors, the workspace layout, constants
 * and the launch of generated kernels. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

/* Threads per block for the generated kernels (a grid-stride loop inside each, so the grid only
 * has to cover the device); blocks are capped where more would only wait. */
#define LAUNCH_THREADS 256
#define LAUNCH_MAX_BLOCKS 65536

ipro_status ipro_cuda_unsupported(ipro_error *err, const char *format, ...) {
  char text[768];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  return ipro_error_set(err, "unsupported: %s", text);
}

const char *ipro_cudnn_failure_text(cudnnStatus_t status, char *buffer, size_t size) {
  char detail[384] = "";
  cudnnGetLastErrorString(detail, sizeof detail);
  if (detail[0])
    snprintf(buffer, size, "%s; cuDNN says: %s", cudnnGetErrorString(status), detail);
  else
    snprintf(buffer, size, "%s", cudnnGetErrorString(status));
  return buffer;
}

const ipro_shape *ipro_cuda_input_shape(const ipro_graph *graph, const ipro_node *node, int i) {
  const ipro_tensor *t = ipro_node_input(graph, node, i);
  return t ? &t->shape : NULL;
}

const ipro_shape *ipro_cuda_output_shape(const ipro_graph *graph, const ipro_node *node, int i) {
  const ipro_tensor *t = ipro_node_output(graph, node, i);
  return t ? &t->shape : NULL;
}

int64_t ipro_cuda_elements(const ipro_shape *shape) { return ipro_shape_elements(shape); }

ipro_status ipro_cuda_expect_float(const ipro_graph *graph, const ipro_node *node,
                                   unsigned skip_inputs, ipro_error *err) {
  for (int i = 0; i < node->n_inputs + node->n_outputs; i++) {
    bool input = i < node->n_inputs;
    if (input && i < 32 && (skip_inputs >> i) & 1u) continue;
    const ipro_tensor *t =
        input ? ipro_node_input(graph, node, i) : ipro_node_output(graph, node, i - node->n_inputs);
    if (!t) continue;
    if (t->dtype != IPRO_DTYPE_FLOAT)
      return ipro_cuda_unsupported(err, "%s '%s' is %s, not float32", input ? "input" : "output",
                                   t->name, ipro_dtype_name(t->dtype));
    if (t->shape.rank < 0) return ipro_error_set(err, "tensor '%s' has no inferred shape", t->name);
  }
  return IPRO_OK;
}

int ipro_cuda_tensor_strided(ipro_cuda_kernel *kernel, const int64_t *dims, const int64_t *strides,
                             int rank, ipro_error *err) {
  if (kernel->n_tensors == IPRO_CUDA_MAX_TENSORS) {
    ipro_error_set(err, "%s: more than %d tensor descriptors", kernel->label,
                   IPRO_CUDA_MAX_TENSORS);
    return -1;
  }
  if (rank > 8) {
    ipro_cuda_unsupported(err, "rank %d (cuDNN takes at most 8 dimensions)", rank);
    return -1;
  }
  int n = rank < 4 ? 4 : rank, dim_values[8], stride_values[8];
  for (int d = 0; d < n; d++) {
    int64_t size = d < rank ? dims[d] : 1, stride = d < rank ? strides[d] : 1;
    if (size < 1 || size > INT_MAX || stride > INT_MAX) {
      ipro_cuda_unsupported(err, "dimension %d of size %lld does not fit cuDNN's int", d,
                            (long long)size);
      return -1;
    }
    dim_values[d] = (int)size;
    stride_values[d] = (int)stride;
  }
  cudnnTensorDescriptor_t *slot = &kernel->tensors[kernel->n_tensors];
  if (cudnnCreateTensorDescriptor(slot) != CUDNN_STATUS_SUCCESS) {
    *slot = NULL;
    ipro_error_set(err, "cudnnCreateTensorDescriptor failed");
    return -1;
  }
  kernel->n_tensors++;
  cudnnStatus_t status =
      cudnnSetTensorNdDescriptor(*slot, CUDNN_DATA_FLOAT, n, dim_values, stride_values);
  if (status != CUDNN_STATUS_SUCCESS) {
    ipro_cuda_unsupported(err, "cudnnSetTensorNdDescriptor: %s", cudnnGetErrorString(status));
    return -1;
  }
  return kernel->n_tensors - 1;
}

int ipro_cuda_tensor(ipro_cuda_kernel *kernel, const int64_t *dims, int rank, ipro_error *err) {
  int64_t strides[8] = {0};
  if (rank > 8) return ipro_cuda_tensor_strided(kernel, dims, strides, rank, err);
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= dims[d];
  }
  return ipro_cuda_tensor_strided(kernel, dims, strides, rank, err);
}

size_t ipro_cuda_reserve(ipro_cuda_kernel *kernel, size_t bytes) {
  size_t offset = kernel->reserved_bytes;
  kernel->reserved_bytes +=
      (bytes + IPRO_CUDA_ALIGNMENT - 1) / IPRO_CUDA_ALIGNMENT * IPRO_CUDA_ALIGNMENT;
  return offset;
}

ipro_status ipro_cuda_set_constants(ipro_cuda_kernel *kernel, const void *data, size_t bytes,
                                    ipro_error *err) {
  if (kernel->constants || kernel->reserved_bytes)
    return ipro_error_set(err, "%s: constants must be set once, before the workspace layout",
                          kernel->label);
  /* Pinned memory needs a device; a planning kernel only needs the size. */
  if (kernel->backend->planning_only) {
    kernel->constants = malloc(bytes ? bytes : 1);
    if (!kernel->constants) return ipro_error_set(err, "out of memory");
  } else {
    IPRO_CUDA_CHECK(cudaMallocHost(&kernel->constants, bytes ? bytes : 1));
  }
  memcpy(kernel->constants, data, bytes);
  kernel->constants_bytes = bytes;
  ipro_cuda_reserve(kernel, bytes);
  return IPRO_OK;
}

ipro_status ipro_cuda_launch(const ipro_cuda_kernel *kernel, ipro_generated_kernel which,
                             void *const *buffers, int n_buffers, const void *params, int64_t count,
                             int64_t channels, int64_t inner, ipro_error *err) {
  return ipro_cuda_launch_with_integers(kernel, which, buffers, n_buffers, params, count, channels,
                                        inner, NULL, 0, err);
}

ipro_status ipro_cuda_launch_with_integers(const ipro_cuda_kernel *kernel,
                                           ipro_generated_kernel which, void *const *buffers,
                                           int n_buffers, const void *params, int64_t count,
                                           int64_t channels, int64_t inner,
                                           const uint64_t *integers, int n_integers,
                                           ipro_error *err) {
  if (count <= 0) return IPRO_OK;
  const ipro_cuda_backend *backend = kernel->backend;
  if (n_buffers != backend->generated_buffers[which] ||
      n_integers != backend->generated_integers[which])
    return ipro_error_set(err,
                          "%s: generated kernel %d takes %d buffers and %d integers, launched "
                          "with %d and %d",
                          kernel->label, (int)which, backend->generated_buffers[which],
                          backend->generated_integers[which], n_buffers, n_integers);
  /* The PTX entry takes the buffer pointers, the params pointer, three int64 values, then the
   * integer parameters by value. */
  void *pointers[IPRO_KERNEL_MAX_INPUTS + IPRO_KERNEL_MAX_OUTPUTS + 1];
  void *arguments[IPRO_KERNEL_MAX_INPUTS + IPRO_KERNEL_MAX_OUTPUTS + 4 + IPRO_KERNEL_MAX_INTEGERS];
  uint64_t values[IPRO_KERNEL_MAX_INTEGERS];
  if (n_buffers > IPRO_KERNEL_MAX_INPUTS + IPRO_KERNEL_MAX_OUTPUTS)
    return ipro_error_set(err, "%s: %d buffers for one generated kernel", kernel->label, n_buffers);
  if (n_integers < 0 || n_integers > IPRO_KERNEL_MAX_INTEGERS)
    return ipro_error_set(err, "%s: %d integer parameters for one generated kernel", kernel->label,
                          n_integers);
  int n = 0;
  for (int b = 0; b < n_buffers; b++) {
    pointers[b] = buffers[b];
    arguments[n++] = &pointers[b];
  }
  pointers[n_buffers] = (void *)params;
  arguments[n++] = &pointers[n_buffers];
  int64_t geometry[3] = {count, channels, inner};
  for (int g = 0; g < 3; g++)
    arguments[n++] = &geometry[g];
  for (int j = 0; j < n_integers; j++) {
    values[j] = integers[j];
    arguments[n++] = &values[j];
  }
  int64_t blocks = (count + LAUNCH_THREADS - 1) / LAUNCH_THREADS;
  if (blocks > LAUNCH_MAX_BLOCKS) blocks = LAUNCH_MAX_BLOCKS;
  dim3 grid = {(unsigned)blocks, 1, 1}, block = {LAUNCH_THREADS, 1, 1};
  IPRO_CUDA_CHECK(cudaLaunchKernel((const void *)kernel->backend->generated[which], grid, block,
                                   arguments, 0, kernel->backend->stream));
  return IPRO_OK;
}

void ipro_cuda_reserve_cublas(ipro_cuda_kernel *kernel) {
  kernel->cublas_bytes = IPRO_CUDA_CUBLAS_WORKSPACE;
  kernel->cublas_offset = ipro_cuda_reserve(kernel, kernel->cublas_bytes);
}

ipro_status ipro_cuda_bind_cublas(const ipro_cuda_kernel *kernel, char *workspace,
                                  ipro_error *err) {
  IPRO_CUBLAS_CHECK(cublasSetWorkspace(kernel->backend->cublas, workspace + kernel->cublas_offset,
                                       kernel->cublas_bytes));
  return IPRO_OK;
}

ipro_status ipro_cuda_copy(const ipro_cuda_kernel *kernel, void *destination, const void *source,
                           size_t bytes, ipro_error *err) {
  if (!bytes || destination == source) return IPRO_OK;
  IPRO_CUDA_CHECK(cudaMemcpyAsync(destination, source, bytes, cudaMemcpyDeviceToDevice,
                                  kernel->backend->stream));
  return IPRO_OK;
}
