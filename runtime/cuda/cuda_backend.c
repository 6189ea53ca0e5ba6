/* The CUDA backend (runtime/backend.h): cuDNN for convolutions, normalisation, pooling and tensor
 * arithmetic, cuBLAS for matrix products, and the LLVM-generated PTX kernels of
 * ir/kernel_library.h for element-wise work, losses and optimizer updates.
 *
 * Memory lives on the GPU (host_memory is false): every allocate is one cudaMalloc, counted as
 * host_memory.c counts, and data crosses only through copy_to_device / copy_to_host, each an
 * asynchronous copy on the backend's stream followed by a synchronisation of that stream (which
 * is also where the errors of kernels enqueued before surface). Kernels only enqueue.
 *
 * Built as the plugin libinfopro_cuda.so (runtime/cuda_plugin/), whose entry
 * ipro_cuda_plugin_create_backend is what ipro_backend_create_cuda calls once it has loaded it.
 * Its second entry, ipro_cuda_plugin_create_planning_backend, makes the same backend without a
 * device (planning_only): the same build functions describe every kernel and lay out its
 * workspace, which is all that costing and planning a CUDA program need, so a program is
 * compiled for the GPU on a machine that has none.
 *
 * The dispatch table below says which ops have a CUDA kernel; an op file declines a node
 * ("unsupported: ...") when an attribute or shape has no faithful mapping. There is no fallback:
 * the reference kernels cannot read device memory, so the executor then refuses the program and
 * names the node and op. supports_forward answers by building the kernel and throwing it away.
 *
 * Covered (the table): Conv and its two gradients, BatchNormalization and its gradient, the
 * activations Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSigmoid, HardSwish and their
 * ipro.UnaryGrad, Softmax, LogSoftmax and their gradient, Add, Sub, Mul (one operand broadcast),
 * Div (same shapes, or one operand broadcast along all axes but one contiguous run), Sum,
 * ipro.ReduceToShape, ReduceMean and its gradient, Expand, the pools and their gradients, Gemm,
 * MatMul, the reshaping ops, Transpose, Concat, Split, ipro.Slice, Dropout (both forms) and
 * ipro.DropoutGrad, Resize and its gradient, the losses (SoftmaxCrossEntropyLoss,
 * BinaryCrossEntropy, SupCon) with their gradients, and the SGD and AdamW updates. Declined:
 * ConvTranspose, Pad, Shape, Gather, Constant, LayerNormalization, InstanceNormalization, Erf,
 * Gelu, RandomUniformLike (no table entry), Sum with broadcasting, Div or
 * Add/Sub/Mul with both operands broadcast. An H200 ran the GPU bundle and the node-by-node test
 * on 2026-12-04; ReduceMean, its gradient, Expand, Split, Sqrt and Reciprocal (added on
 * 2026-12-05) have run on no GPU yet. The generated kernels are checked on the host through the
 * same descriptions and assembled by ptxas. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"
#include "runtime/cuda_device.h"
#include "runtime/cuda_plugin/cuda_plugin.h"

static const ipro_cuda_build_fn build_table[IPRO_OP_COUNT] = {
    [IPRO_OP_CONV] = ipro_cuda_build_conv,
    [IPRO_OP_BATCH_NORMALIZATION] = ipro_cuda_build_batch_normalization,
    [IPRO_OP_RELU] = ipro_cuda_build_activation,
    [IPRO_OP_LEAKY_RELU] = ipro_cuda_build_activation,
    [IPRO_OP_HARD_SIGMOID] = ipro_cuda_build_activation,
    [IPRO_OP_HARD_SWISH] = ipro_cuda_build_activation,
    [IPRO_OP_SIGMOID] = ipro_cuda_build_activation,
    [IPRO_OP_TANH] = ipro_cuda_build_activation,
    [IPRO_OP_CLIP] = ipro_cuda_build_activation,
    [IPRO_OP_SOFTMAX] = ipro_cuda_build_softmax,
    [IPRO_OP_LOG_SOFTMAX] = ipro_cuda_build_softmax,
    [IPRO_OP_ADD] = ipro_cuda_build_binary,
    [IPRO_OP_SUB] = ipro_cuda_build_binary,
    [IPRO_OP_MUL] = ipro_cuda_build_binary,
    [IPRO_OP_DIV] = ipro_cuda_build_div,
    [IPRO_OP_SUM] = ipro_cuda_build_sum,
    [IPRO_OP_MAX_POOL] = ipro_cuda_build_pool,
    [IPRO_OP_AVERAGE_POOL] = ipro_cuda_build_pool,
    [IPRO_OP_GLOBAL_AVERAGE_POOL] = ipro_cuda_build_global_pool,
    [IPRO_OP_GLOBAL_MAX_POOL] = ipro_cuda_build_global_pool,
    [IPRO_OP_GEMM] = ipro_cuda_build_gemm,
    [IPRO_OP_MAT_MUL] = ipro_cuda_build_mat_mul,
    [IPRO_OP_FLATTEN] = ipro_cuda_build_copy,
    [IPRO_OP_RESHAPE] = ipro_cuda_build_copy,
    [IPRO_OP_IDENTITY] = ipro_cuda_build_copy,
    [IPRO_OP_SQUEEZE] = ipro_cuda_build_copy,
    [IPRO_OP_UNSQUEEZE] = ipro_cuda_build_copy,
    [IPRO_OP_TRANSPOSE] = ipro_cuda_build_transpose,
    [IPRO_OP_CONCAT] = ipro_cuda_build_concat,
    [IPRO_OP_DROPOUT] = ipro_cuda_build_dropout,
    [IPRO_OP_RESIZE] = ipro_cuda_build_resize,
    [IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS] = ipro_cuda_build_cross_entropy,
    [IPRO_OP_CONV_GRAD_INPUT] = ipro_cuda_build_conv_grad_input,
    [IPRO_OP_CONV_GRAD_WEIGHT] = ipro_cuda_build_conv_grad_weight,
    [IPRO_OP_BATCH_NORM_GRAD] = ipro_cuda_build_batch_norm_grad,
    [IPRO_OP_UNARY_GRAD] = ipro_cuda_build_unary_grad,
    [IPRO_OP_REDUCE_TO_SHAPE] = ipro_cuda_build_reduce_to_shape,
    [IPRO_OP_REDUCE_MEAN] = ipro_cuda_build_reduce_mean,
    [IPRO_OP_REDUCE_MEAN_GRAD] = ipro_cuda_build_broadcast,
    [IPRO_OP_EXPAND] = ipro_cuda_build_broadcast,
    [IPRO_OP_SPLIT] = ipro_cuda_build_split,
    [IPRO_OP_SQRT] = ipro_cuda_build_activation,
    [IPRO_OP_RECIPROCAL] = ipro_cuda_build_activation,
    [IPRO_OP_MAX_POOL_GRAD] = ipro_cuda_build_pool_grad,
    [IPRO_OP_AVERAGE_POOL_GRAD] = ipro_cuda_build_pool_grad,
    [IPRO_OP_GLOBAL_POOL_GRAD] = ipro_cuda_build_global_pool_grad,
    [IPRO_OP_SLICE] = ipro_cuda_build_slice,
    [IPRO_OP_DROPOUT_GRAD] = ipro_cuda_build_dropout_grad,
    [IPRO_OP_RESIZE_GRAD] = ipro_cuda_build_resize_grad,
    [IPRO_OP_SOFTMAX_GRAD] = ipro_cuda_build_softmax_grad,
    [IPRO_OP_SOFTMAX_CROSS_ENTROPY_GRAD] = ipro_cuda_build_cross_entropy_grad,
    [IPRO_OP_SGD_UPDATE] = ipro_cuda_build_sgd_update,
    [IPRO_OP_ADAM_UPDATE] = ipro_cuda_build_adam_update,
    [IPRO_OP_BINARY_CROSS_ENTROPY] = ipro_cuda_build_binary_cross_entropy,
    [IPRO_OP_BINARY_CROSS_ENTROPY_GRAD] = ipro_cuda_build_binary_cross_entropy_grad,
    [IPRO_OP_SUP_CON_LOSS] = ipro_cuda_build_sup_con_loss,
    [IPRO_OP_SUP_CON_GRAD] = ipro_cuda_build_sup_con_grad,
};
_Static_assert(sizeof build_table / sizeof build_table[0] == IPRO_OP_COUNT,
               "one entry per op in op_list.h");

/* ---- kernels ---- */

static void kernel_destroy(ipro_kernel *base) {
  ipro_cuda_kernel *kernel = (ipro_cuda_kernel *)base;
  if (!kernel) return;
  ipro_cuda_profile_release(kernel);
  for (int t = 0; t < kernel->n_tensors; t++)
    if (kernel->tensors[t]) cudnnDestroyTensorDescriptor(kernel->tensors[t]);
  if (kernel->filter) cudnnDestroyFilterDescriptor(kernel->filter);
  if (kernel->convolution) cudnnDestroyConvolutionDescriptor(kernel->convolution);
  if (kernel->pooling) cudnnDestroyPoolingDescriptor(kernel->pooling);
  if (kernel->activation) cudnnDestroyActivationDescriptor(kernel->activation);
  if (kernel->op_tensor) cudnnDestroyOpTensorDescriptor(kernel->op_tensor);
  for (int r = 0; r < 2; r++)
    if (kernel->reduce[r]) cudnnDestroyReduceTensorDescriptor(kernel->reduce[r]);
  if (kernel->constants && kernel->backend->planning_only)
    free(kernel->constants);
  else if (kernel->constants)
    cudaFreeHost(kernel->constants);
  free(kernel->state);
  free(kernel);
}

static ipro_status kernel_run(ipro_kernel *base, void *const *inputs, void *const *outputs,
                              void *workspace, uint64_t step, ipro_error *err) {
  ipro_cuda_kernel *kernel = (ipro_cuda_kernel *)base;
  if (kernel->backend->planning_only)
    return ipro_error_set(err, "%s: a kernel built for planning cannot run", kernel->label);
  char *aligned = NULL;
  if (kernel->reserved_bytes) {
    if (!workspace)
      return ipro_error_set(err, "%s: run without its %zu-byte workspace", kernel->label,
                            kernel->base.workspace_bytes);
    /* The programs of this backend are planned with 256-byte alignment (arena_alignment). */
    if ((uintptr_t)workspace % IPRO_CUDA_ALIGNMENT)
      return ipro_error_set(err, "%s: its workspace is not %d-byte aligned", kernel->label,
                            IPRO_CUDA_ALIGNMENT);
    aligned = workspace;
  }
  ipro_cuda_profile_begin(kernel);
  if (kernel->constants_bytes)
    IPRO_CUDA_CHECK(cudaMemcpyAsync(aligned, kernel->constants, kernel->constants_bytes,
                                    cudaMemcpyHostToDevice, kernel->backend->stream));
  if (kernel->run(kernel, inputs, outputs, aligned, step, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", kernel->label);
  ipro_cuda_profile_end(kernel);
  /* Kernels only enqueue, so a fault surfaces at a later copy, far from its node; with
   * IPRO_CUDA_SYNC=1 each node waits for its own work and a fault names it. */
  if (kernel->backend->synchronize_each_kernel) {
    cudaError_t status = cudaStreamSynchronize(kernel->backend->stream);
    if (status != cudaSuccess)
      return ipro_error_set(err, "%s faulted on the GPU: %s (IPRO_CUDA_SYNC=1)", kernel->label,
                            cudaGetErrorString(status));
  }
  return IPRO_OK;
}

static ipro_status build_kernel(ipro_cuda_backend *backend, const ipro_graph *graph,
                                const ipro_node *node, ipro_kernel **out, ipro_error *err) {
  *out = NULL;
  ipro_cuda_build_fn build = (unsigned)node->op < IPRO_OP_COUNT ? build_table[node->op] : NULL;
  if (!build) return ipro_cuda_unsupported(err, "no CUDA kernel for %s", node->op_type);
  /* Programs for this backend are built unfused (runs_fused_relu is false): a fused node here
   * would lose its ReLU or its gradient's second term, so it is refused, not run. */
  if (ipro_node_attr_int(node, "fused_relu", 0) ||
      (node->op == IPRO_OP_UNARY_GRAD && node->n_inputs > 2))
    return ipro_cuda_unsupported(err, "%s fused with a ReLU (codegen/fusion.h)", node->op_type);
  ipro_cuda_kernel *kernel = calloc(1, sizeof *kernel);
  if (!kernel) return ipro_error_set(err, "out of memory");
  kernel->backend = backend;
  kernel->op = node->op;
  snprintf(kernel->label, sizeof kernel->label, "node '%.100s' (%.60s)",
           node->name ? node->name : "", node->op_type ? node->op_type : "?");
  kernel->base.run = kernel_run;
  kernel->base.destroy = kernel_destroy;
  if (build(kernel, graph, node, err) != IPRO_OK) {
    kernel_destroy(&kernel->base);
    return IPRO_ERROR;
  }
  if (!kernel->run) {
    kernel_destroy(&kernel->base);
    return ipro_error_set(err, "the CUDA build of %s set no run function", node->op_type);
  }
  /* The arena of a CUDA program aligns to 256 bytes (arena_alignment), as the workspace's
   * layout does. */
  kernel->base.workspace_bytes = kernel->reserved_bytes;
  *out = &kernel->base;
  return IPRO_OK;
}

/* ---- the backend ---- */

static bool cuda_supports_forward(const ipro_backend *self, const ipro_graph *graph,
                                  const ipro_node *node) {
  ipro_kernel *kernel = NULL;
  ipro_error err;
  if (build_kernel((ipro_cuda_backend *)self, graph, node, &kernel, &err) != IPRO_OK) return false;
  kernel->destroy(kernel);
  return true;
}

static ipro_status cuda_prepare_forward(ipro_backend *self, const ipro_graph *graph,
                                        const ipro_node *node, ipro_kernel **out, ipro_error *err) {
  if (build_kernel((ipro_cuda_backend *)self, graph, node, out, err) != IPRO_OK)
    return ipro_error_prefix(err, "node '%s' (%s) on CUDA", node->name, node->op_type);
  return IPRO_OK;
}

static ipro_status cuda_allocate(ipro_backend *self, size_t bytes, void **out, ipro_error *err) {
  *out = NULL;
  size_t rounded = (bytes + IPRO_CUDA_ALIGNMENT - 1) / IPRO_CUDA_ALIGNMENT * IPRO_CUDA_ALIGNMENT;
  cudaError_t status = cudaMalloc(out, rounded ? rounded : IPRO_CUDA_ALIGNMENT);
  if (status != cudaSuccess) {
    *out = NULL;
    return ipro_error_set(err, "cudaMalloc of %zu bytes failed: %s (%zu bytes in use)", bytes,
                          cudaGetErrorString(status), self->bytes_in_use);
  }
  self->bytes_allocated += bytes;
  self->bytes_in_use += bytes;
  if (self->bytes_in_use > self->peak_bytes) self->peak_bytes = self->bytes_in_use;
  return IPRO_OK;
}

static void cuda_release(ipro_backend *self, void *pointer, size_t bytes) {
  if (!pointer) return;
  self->bytes_in_use -= bytes;
  cudaFree(pointer);
}

static ipro_status cuda_device_memory_used(ipro_backend *self, uint64_t *bytes, ipro_error *err) {
  (void)self;
  size_t free_bytes = 0, total_bytes = 0;
  *bytes = 0;
  IPRO_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  *bytes = (uint64_t)(total_bytes - free_bytes);
  return IPRO_OK;
}

static ipro_status copy_and_wait(ipro_backend *self, void *destination, const void *source,
                                 size_t bytes, enum cudaMemcpyKind kind, ipro_error *err) {
  ipro_cuda_backend *backend = (ipro_cuda_backend *)self;
  if (bytes) IPRO_CUDA_CHECK(cudaMemcpyAsync(destination, source, bytes, kind, backend->stream));
  IPRO_CUDA_CHECK(cudaStreamSynchronize(backend->stream));
  return IPRO_OK;
}

static ipro_status cuda_copy_to_device(ipro_backend *self, void *device, const void *host,
                                       size_t bytes, ipro_error *err) {
  return copy_and_wait(self, device, host, bytes, cudaMemcpyHostToDevice, err);
}

static ipro_status cuda_copy_to_host(ipro_backend *self, void *host, const void *device,
                                     size_t bytes, ipro_error *err) {
  return copy_and_wait(self, host, device, bytes, cudaMemcpyDeviceToHost, err);
}

static ipro_status cuda_copy_on_device(ipro_backend *self, void *destination, const void *source,
                                       size_t bytes, ipro_error *err) {
  ipro_cuda_backend *backend = (ipro_cuda_backend *)self;
  if (bytes && destination != source)
    IPRO_CUDA_CHECK(
        cudaMemcpyAsync(destination, source, bytes, cudaMemcpyDeviceToDevice, backend->stream));
  return IPRO_OK;
}

static ipro_status cuda_allocate_pinned(ipro_backend *self, size_t bytes, void **out,
                                        ipro_error *err) {
  (void)self;
  *out = NULL;
  IPRO_CUDA_CHECK(cudaMallocHost(out, bytes ? bytes : 1));
  return IPRO_OK;
}

static void cuda_release_pinned(ipro_backend *self, void *pointer) {
  (void)self;
  if (pointer) cudaFreeHost(pointer);
}

static void cuda_destroy(ipro_backend *self) {
  ipro_cuda_backend *backend = (ipro_cuda_backend *)self;
  if (!backend) return;
  if (backend->stream) cudaStreamSynchronize(backend->stream);
  ipro_cuda_profile_report(backend);
  if (backend->library) cudaLibraryUnload(backend->library);
  if (backend->cublas) cublasDestroy(backend->cublas);
  if (backend->cudnn) cudnnDestroy(backend->cudnn);
  if (backend->stream) cudaStreamDestroy(backend->stream);
  free(backend);
}

/* Each generated kernel's parameter list, from its description, against which launches are
 * checked. */
static void count_parameters(ipro_cuda_backend *backend, const ipro_kernel_desc *descs) {
  for (int k = 0; k < IPRO_GENERATED_COUNT; k++) {
    int buffers = descs[k].input_count;
    for (int o = 0; o < descs[k].output_count; o++)
      buffers += descs[k].in_place[o] < 0;
    backend->generated_buffers[k] = buffers;
    backend->generated_integers[k] = descs[k].integer_count;
  }
}

/* Generates the PTX of every kernel in the library and loads it once; the kernels are looked up
 * by their names. The driver compiles the PTX (sm_80, ISA 7.5) for the device at load. */
static ipro_status load_generated(ipro_cuda_backend *backend, ipro_error *err) {
  ipro_kernel_desc descs[IPRO_GENERATED_COUNT];
  ipro_kernel_library_describe_all(descs);
  char *ptx = NULL;
  size_t size = 0;
  if (ipro_kernel_emit_ptx(descs, IPRO_GENERATED_COUNT, &ptx, &size, err) != IPRO_OK)
    return ipro_error_prefix(err, "generating the CUDA kernels");
  /* The JIT's own log says which line of the PTX it refused and why. */
  char log[640] = "";
  enum cudaJitOption options[2] = {cudaJitErrorLogBuffer, cudaJitErrorLogBufferSizeBytes};
  void *values[2] = {log, (void *)(uintptr_t)sizeof log};
  cudaError_t status =
      cudaLibraryLoadData(&backend->library, ptx, options, values, 2, NULL, NULL, 0);
  free(ptx);
  if (status != cudaSuccess)
    return ipro_error_set(err, "cudaLibraryLoadData of the generated PTX failed: %s%s%.640s",
                          cudaGetErrorString(status), log[0] ? "; JIT log: " : "", log);
  for (int k = 0; k < IPRO_GENERATED_COUNT; k++)
    IPRO_CUDA_CHECK(cudaLibraryGetKernel(&backend->generated[k], backend->library, descs[k].name));
  count_parameters(backend, descs);
  return IPRO_OK;
}

static ipro_status create(ipro_cuda_backend *backend, ipro_error *err) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess)
    return ipro_error_set(err, "no CUDA device: %s", cudaGetErrorString(status));
  /* IPRO_CUDA_DEVICE, or the rank on its machine under an MPI launcher (cuda_device.h) */
  if (ipro_cuda_device_choose(count, &backend->device, err)) return IPRO_ERROR;
  const char *sync = getenv("IPRO_CUDA_SYNC");
  backend->synchronize_each_kernel = sync && strcmp(sync, "1") == 0;
  const char *profile = getenv("IPRO_CUDA_PROFILE");
  backend->profile = profile && strcmp(profile, "1") == 0;
  IPRO_CUDA_CHECK(cudaSetDevice(backend->device));
  int max_pitch = 0;
  IPRO_CUDA_CHECK(cudaDeviceGetAttribute(&max_pitch, cudaDevAttrMaxPitch, backend->device));
  backend->max_pitch_bytes = (size_t)max_pitch;
  IPRO_CUDA_CHECK(cudaStreamCreateWithFlags(&backend->stream, cudaStreamNonBlocking));
  IPRO_CUDNN_CHECK(cudnnCreate(&backend->cudnn));
  IPRO_CUDNN_CHECK(cudnnSetStream(backend->cudnn, backend->stream));
  IPRO_CUBLAS_CHECK(cublasCreate(&backend->cublas));
  IPRO_CUBLAS_CHECK(cublasSetStream(backend->cublas, backend->stream));
  /* Full float32 products, as the CPU computes them: no TF32 behind the tolerance's back. */
  IPRO_CUBLAS_CHECK(cublasSetMathMode(backend->cublas, CUBLAS_DEFAULT_MATH));
  return load_generated(backend, err);
}

/* ---- the planning backend: kernels described without a device ---- */

static ipro_status refuse_allocate(ipro_backend *self, size_t bytes, void **out, ipro_error *err) {
  (void)self;
  *out = NULL;
  return ipro_error_set(err, "the CUDA planning backend has no device to allocate %zu bytes on",
                        bytes);
}

static void refuse_release(ipro_backend *self, void *pointer, size_t bytes) {
  (void)self, (void)pointer, (void)bytes;
}

static ipro_status refuse_copy(ipro_backend *self, void *destination, const void *source,
                               size_t bytes, ipro_error *err) {
  (void)self, (void)destination, (void)source;
  return ipro_error_set(err, "the CUDA planning backend has no device to copy %zu bytes to", bytes);
}

static void planning_destroy(ipro_backend *self) { free(self); }

ipro_status ipro_cuda_plugin_create_planning_backend(ipro_backend **out, ipro_error *err) {
  *out = NULL;
  ipro_cuda_backend *backend = calloc(1, sizeof *backend);
  if (!backend) return ipro_error_set(err, "out of memory");
  backend->planning_only = true;
  backend->device = -1;
  ipro_kernel_desc descs[IPRO_GENERATED_COUNT];
  ipro_kernel_library_describe_all(descs);
  count_parameters(backend, descs);
  backend->base.name = "cuda";
  backend->base.supports_forward = cuda_supports_forward;
  backend->base.prepare_forward = cuda_prepare_forward;
  backend->base.allocate = refuse_allocate;
  backend->base.release = refuse_release;
  backend->base.copy_to_device = refuse_copy;
  backend->base.copy_to_host = refuse_copy;
  backend->base.host_memory = false;
  backend->base.arena_alignment = IPRO_CUDA_ALIGNMENT;
  backend->base.destroy = planning_destroy;
  *out = &backend->base;
  return IPRO_OK;
}

/* ---- the backend on a device ---- */

ipro_status ipro_cuda_plugin_create_backend(const ipro_kernel_compiler *kernels, ipro_backend **out,
                                            ipro_error *err) {
  *out = NULL;
  ipro_kernel_compiler_use(kernels);
  ipro_cuda_backend *backend = calloc(1, sizeof *backend);
  if (!backend) return ipro_error_set(err, "out of memory");
  if (create(backend, err) != IPRO_OK) {
    cuda_destroy(&backend->base);
    return IPRO_ERROR;
  }
  backend->base.name = "cuda";
  backend->base.supports_forward = cuda_supports_forward;
  backend->base.prepare_forward = cuda_prepare_forward;
  backend->base.allocate = cuda_allocate;
  backend->base.release = cuda_release;
  backend->base.copy_to_device = cuda_copy_to_device;
  backend->base.copy_to_host = cuda_copy_to_host;
  backend->base.copy_on_device = cuda_copy_on_device;
  backend->base.allocate_pinned = cuda_allocate_pinned;
  backend->base.release_pinned = cuda_release_pinned;
  backend->base.host_memory = false;
  backend->base.arena_alignment = IPRO_CUDA_ALIGNMENT;
  backend->base.device_memory_used = cuda_device_memory_used;
  backend->base.destroy = cuda_destroy;
  *out = &backend->base;
  return IPRO_OK;
}
