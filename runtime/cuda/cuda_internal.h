/* Internal to runtime/cuda/: the backend object, the kernel object every op file builds, and the
 * helpers they share (cuda_kernel.c).
 *
 * One backend owns one device, one CUDA stream, one cuDNN and one cuBLAS handle bound to that
 * stream, and the generated PTX kernels of ir/kernel_library.h, loaded once with
 * cudaLibraryLoadData. Every kernel enqueues its work on that stream and returns; the executor's
 * copies synchronize.
 *
 * A CUDA kernel is a run function plus what it prepared: cuDNN descriptors (destroyed with the
 * kernel), an algorithm choice, op-specific numbers in `state`, and a workspace layout. The
 * workspace holds the kernel's intermediates and library workspaces at offsets ipro_cuda_reserve
 * hands out, and, first, its constants: small tables made at prepare time (interpolation
 * matrices, a scale a generated kernel reads through its params pointer) kept in pinned host
 * memory and copied into the workspace on the stream at the start of every run, so that no device
 * memory exists outside the plan. The workspace starts 256-byte aligned (cuBLAS and cuDNN want it):
 * a CUDA program's arena aligns every tensor and workspace to 256 (the backend's
 * arena_alignment).
 *
 * Build functions return IPRO_ERROR with a message starting "unsupported:" when a node is outside
 * what the CUDA mapping handles; supports_forward then answers false and the executor names the
 * node and op. */
#ifndef IPRO_CUDA_INTERNAL_H
#define IPRO_CUDA_INTERNAL_H

#include "cuda_check.h"
#include "ir/kernel_library.h"
#include "runtime/backend.h"

#define IPRO_CUDA_ALIGNMENT 256
#define IPRO_CUDA_MAX_TENSORS 12
/* cudnnOpTensor and cudnnAddTensor take tensors of at most 5 dimensions (other cuDNN tensor
 * calls take 8); nodes beyond are declined when their kernel is built, not when it runs. */
#define IPRO_CUDA_ARITHMETIC_MAX_RANK 5
/* The workspace each cuBLAS call may use (cublasSetWorkspace), planned into the arena: cuBLAS
 * would otherwise allocate its own behind the plan's back. 4 MiB is NVIDIA's recommendation for
 * GPUs before Hopper; larger only widens the choice of algorithms for big products. */
#define IPRO_CUDA_CUBLAS_WORKSPACE ((size_t)4 << 20)
/* The most workspace a cuDNN convolution may take. Each convolution node's workspace is a bound
 * computed from its shapes alone (cuda_conv.c: the im2col matrix, at most this limit), so that a
 * program is planned without a GPU; on the GPU the algorithm is the first of cuDNN's ranked list
 * whose confirmed workspace fits that bound. 256 MiB allows the fast FFT/Winograd variants at
 * batch 1024 while staying a small part of an arena (it is planned like any other tensor). */
#define IPRO_CUDA_CONV_WORKSPACE_LIMIT ((size_t)256 << 20)

typedef struct {
  ipro_backend base; /* first, so that an ipro_backend * is an ipro_cuda_backend * */
  int device;
  cudaStream_t stream;
  cudnnHandle_t cudnn;
  cublasHandle_t cublas;
  cudaLibrary_t library;
  cudaKernel_t generated[IPRO_GENERATED_COUNT];
  /* Each generated kernel's parameter list, from its description: buffer pointers (inputs, then
   * the outputs not written in place) and integer parameters; a launch is checked against it. */
  int generated_buffers[IPRO_GENERATED_COUNT];
  int generated_integers[IPRO_GENERATED_COUNT];
  /* Made for planning (ipro_cuda_plugin_create_planning_backend): no device, stream or library
   * handle; kernels are described (descriptors, workspace layout) but cannot run, and no
   * algorithm is chosen. The workspace layout is the one a device-backed build makes. */
  bool planning_only;
  bool synchronize_each_kernel; /* IPRO_CUDA_SYNC=1: fault reports name the node */
  bool profile;                 /* IPRO_CUDA_PROFILE=1: device time by op type (cuda_profile.c) */
  double profile_ms[IPRO_OP_COUNT];
  long profile_runs[IPRO_OP_COUNT];
  size_t max_pitch_bytes; /* cudaDevAttrMaxPitch: the widest row cudaMemcpy2D takes */
} ipro_cuda_backend;

typedef struct ipro_cuda_kernel ipro_cuda_kernel;

/* workspace: 256-byte aligned, constants already copied in. */
typedef ipro_status (*ipro_cuda_run_fn)(const ipro_cuda_kernel *kernel, void *const *inputs,
                                        void *const *outputs, char *workspace, uint64_t step,
                                        ipro_error *err);

struct ipro_cuda_kernel {
  ipro_kernel base;
  ipro_cuda_backend *backend;
  char label[256]; /* "node 'NAME' (OP)" */
  ipro_op op;
  cudaEvent_t profile_start, profile_stop; /* IPRO_CUDA_PROFILE=1 */
  bool profile_pending;                    /* a recorded pair not yet counted */
  ipro_cuda_run_fn run;
  size_t reserved_bytes; /* workspace handed out by ipro_cuda_reserve so far */
  void *constants;       /* pinned host memory, copied to workspace offset 0 every run */
  size_t constants_bytes;
  int n_tensors;
  cudnnTensorDescriptor_t tensors[IPRO_CUDA_MAX_TENSORS];
  cudnnFilterDescriptor_t filter;
  cudnnConvolutionDescriptor_t convolution;
  cudnnPoolingDescriptor_t pooling;
  cudnnActivationDescriptor_t activation;
  cudnnOpTensorDescriptor_t op_tensor;
  cudnnReduceTensorDescriptor_t reduce[2];
  int algorithm;         /* a cuDNN algorithm enum, as int */
  size_t library_offset; /* a cuDNN workspace (convolution, reduction) in the workspace */
  size_t library_bytes;
  size_t cublas_offset, cublas_bytes; /* the cuBLAS workspace, for kernels that call cuBLAS */
  int64_t sizes[8];                   /* op-specific counts (elements, rows, ...) */
  size_t offsets[8];                  /* op-specific intermediates in the workspace */
  float values[4];                    /* op-specific scalars (alpha, scale, ...) */
  void *state;                        /* op-specific prepared data, freed with the kernel */
};

typedef ipro_status (*ipro_cuda_build_fn)(ipro_cuda_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err);

/* ---- IPRO_CUDA_PROFILE=1 (cuda_profile.c) ---- */

/* Around the node's work on the stream; no synchronisation is added. */
void ipro_cuda_profile_begin(ipro_cuda_kernel *kernel);
void ipro_cuda_profile_end(ipro_cuda_kernel *kernel);
/* Counts the kernel's last run and frees its events (the kernel is being destroyed). */
void ipro_cuda_profile_release(ipro_cuda_kernel *kernel);
/* The device time by op type on stderr, largest first. */
void ipro_cuda_profile_report(const ipro_cuda_backend *backend);

/* ---- helpers (cuda_kernel.c) ---- */

/* Sets "unsupported: ..." and returns IPRO_ERROR. */
ipro_status ipro_cuda_unsupported(ipro_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* The inferred shape of input or output i (NULL when the operand is absent). */
const ipro_shape *ipro_cuda_input_shape(const ipro_graph *graph, const ipro_node *node, int i);
const ipro_shape *ipro_cuda_output_shape(const ipro_graph *graph, const ipro_node *node, int i);
/* Every present float operand of the node is float32 (skip: a bit mask of input positions that
 * are checked by the op itself, e.g. labels). */
ipro_status ipro_cuda_expect_float(const ipro_graph *graph, const ipro_node *node,
                                   unsigned skip_inputs, ipro_error *err);
/* A fully packed cuDNN tensor descriptor of dims[0..rank), padded with trailing 1s to 4
 * dimensions; returns its index in kernel->tensors, or -1 with err set. */
int ipro_cuda_tensor(ipro_cuda_kernel *kernel, const int64_t *dims, int rank, ipro_error *err);
/* The same with explicit strides (in elements). */
int ipro_cuda_tensor_strided(ipro_cuda_kernel *kernel, const int64_t *dims, const int64_t *strides,
                             int rank, ipro_error *err);
/* Reserves bytes of workspace (256-byte aligned); returns the offset. */
size_t ipro_cuda_reserve(ipro_cuda_kernel *kernel, size_t bytes);
/* Makes bytes of data the kernel's constants (at most once per kernel, before any reserve):
 * they will be at workspace offset 0 when the run function starts. */
ipro_status ipro_cuda_set_constants(ipro_cuda_kernel *kernel, const void *data, size_t bytes,
                                    ipro_error *err);
/* Launches a generated kernel on the backend's stream: buffers are its inputs then its outputs
 * that are not written in place (kernel_generator.h), params a device pointer (or NULL for
 * kernels without params), and count, channels, inner its element geometry. */
ipro_status ipro_cuda_launch(const ipro_cuda_kernel *kernel, ipro_generated_kernel which,
                             void *const *buffers, int n_buffers, const void *params, int64_t count,
                             int64_t channels, int64_t inner, ipro_error *err);
/* The same for a kernel with integer parameters (its integer_count of them), passed by value. */
ipro_status ipro_cuda_launch_with_integers(const ipro_cuda_kernel *kernel,
                                           ipro_generated_kernel which, void *const *buffers,
                                           int n_buffers, const void *params, int64_t count,
                                           int64_t channels, int64_t inner,
                                           const uint64_t *integers, int n_integers,
                                           ipro_error *err);
/* Reserves a cuBLAS workspace for the kernel (cublas_offset, cublas_bytes) ... */
void ipro_cuda_reserve_cublas(ipro_cuda_kernel *kernel);
/* ... and hands it to cuBLAS before the kernel's cuBLAS calls. */
ipro_status ipro_cuda_bind_cublas(const ipro_cuda_kernel *kernel, char *workspace, ipro_error *err);
/* Device-to-device copy on the stream. */
ipro_status ipro_cuda_copy(const ipro_cuda_kernel *kernel, void *destination, const void *source,
                           size_t bytes, ipro_error *err);
int64_t ipro_cuda_elements(const ipro_shape *shape);
/* Row-major C = alpha · op(A) · op(B) + beta · C for batch products (cuda_matmul.c): A is (m, k),
 * or (k, m) transposed, B (k, n) or (n, k), C (m, n); strides in elements between the batch's
 * matrices (0 repeats one). The caller binds the cuBLAS workspace first. */
ipro_status ipro_cuda_row_major_gemm(const ipro_cuda_kernel *kernel, bool transpose_a,
                                     bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
                                     const float *a, const float *b, float beta, float *c,
                                     int64_t batch, int64_t stride_a, int64_t stride_b,
                                     int64_t stride_c, ipro_error *err);

/* A float reduction descriptor in kernel->reduce[slot] (made on the first call for the slot)
 * from tensors[a] to tensors[c] (cuda_tensor_ops.c); library_bytes grows to its workspace bound,
 * the bytes of tensors[a] (known without a device), which the caller then reserves. On a device,
 * cuDNN's own size query must fit that bound, or the node is declined. */
ipro_status ipro_cuda_prepare_reduction(ipro_cuda_kernel *kernel, int slot,
                                        cudnnReduceTensorOp_t op, int a, int c, ipro_error *err);

/* ---- the op files' build functions (NULL entries of the dispatch table are unsupported) ---- */

#define IPRO_CUDA_BUILD(name)                                                                      \
  ipro_status name(ipro_cuda_kernel *kernel, const ipro_graph *graph, const ipro_node *node,       \
                   ipro_error *err)

IPRO_CUDA_BUILD(ipro_cuda_build_conv);                      /* cuda_conv.c */
IPRO_CUDA_BUILD(ipro_cuda_build_conv_grad_input);           /* cuda_conv.c */
IPRO_CUDA_BUILD(ipro_cuda_build_conv_grad_weight);          /* cuda_conv.c */
IPRO_CUDA_BUILD(ipro_cuda_build_batch_normalization);       /* cuda_normalization.c */
IPRO_CUDA_BUILD(ipro_cuda_build_batch_norm_grad);           /* cuda_normalization.c */
IPRO_CUDA_BUILD(ipro_cuda_build_softmax);                   /* cuda_normalization.c */
IPRO_CUDA_BUILD(ipro_cuda_build_softmax_grad);              /* cuda_normalization.c */
IPRO_CUDA_BUILD(ipro_cuda_build_pool);                      /* cuda_pool.c */
IPRO_CUDA_BUILD(ipro_cuda_build_pool_grad);                 /* cuda_pool.c */
IPRO_CUDA_BUILD(ipro_cuda_build_global_pool);               /* cuda_pool.c */
IPRO_CUDA_BUILD(ipro_cuda_build_global_pool_grad);          /* cuda_pool.c */
IPRO_CUDA_BUILD(ipro_cuda_build_gemm);                      /* cuda_matmul.c */
IPRO_CUDA_BUILD(ipro_cuda_build_mat_mul);                   /* cuda_matmul.c */
IPRO_CUDA_BUILD(ipro_cuda_build_activation);                /* cuda_generated.c */
IPRO_CUDA_BUILD(ipro_cuda_build_unary_grad);                /* cuda_generated.c */
IPRO_CUDA_BUILD(ipro_cuda_build_dropout_grad);              /* cuda_generated.c */
IPRO_CUDA_BUILD(ipro_cuda_build_dropout_training);          /* cuda_generated.c */
IPRO_CUDA_BUILD(ipro_cuda_build_div);                       /* cuda_generated.c */
IPRO_CUDA_BUILD(ipro_cuda_build_sgd_update);                /* cuda_generated.c */
IPRO_CUDA_BUILD(ipro_cuda_build_adam_update);               /* cuda_generated.c */
IPRO_CUDA_BUILD(ipro_cuda_build_binary);                    /* cuda_tensor_ops.c */
IPRO_CUDA_BUILD(ipro_cuda_build_sum);                       /* cuda_tensor_ops.c */
IPRO_CUDA_BUILD(ipro_cuda_build_reduce_to_shape);           /* cuda_tensor_ops.c */
IPRO_CUDA_BUILD(ipro_cuda_build_reduce_mean);               /* cuda_tensor_ops.c */
IPRO_CUDA_BUILD(ipro_cuda_build_split);                     /* cuda_data_movement.c */
IPRO_CUDA_BUILD(ipro_cuda_build_broadcast);                 /* cuda_tensor_ops.c */
IPRO_CUDA_BUILD(ipro_cuda_build_copy);                      /* cuda_data_movement.c */
IPRO_CUDA_BUILD(ipro_cuda_build_dropout);                   /* cuda_data_movement.c */
IPRO_CUDA_BUILD(ipro_cuda_build_concat);                    /* cuda_data_movement.c */
IPRO_CUDA_BUILD(ipro_cuda_build_slice);                     /* cuda_data_movement.c */
IPRO_CUDA_BUILD(ipro_cuda_build_transpose);                 /* cuda_data_movement.c */
IPRO_CUDA_BUILD(ipro_cuda_build_resize);                    /* cuda_resize.c */
IPRO_CUDA_BUILD(ipro_cuda_build_resize_grad);               /* cuda_resize.c */
IPRO_CUDA_BUILD(ipro_cuda_build_cross_entropy);             /* cuda_losses.c */
IPRO_CUDA_BUILD(ipro_cuda_build_cross_entropy_grad);        /* cuda_losses.c */
IPRO_CUDA_BUILD(ipro_cuda_build_binary_cross_entropy);      /* cuda_losses.c */
IPRO_CUDA_BUILD(ipro_cuda_build_binary_cross_entropy_grad); /* cuda_losses.c */
IPRO_CUDA_BUILD(ipro_cuda_build_sup_con_loss);              /* cuda_sup_con.c */
IPRO_CUDA_BUILD(ipro_cuda_build_sup_con_grad);              /* cuda_sup_con.c */

#endif
