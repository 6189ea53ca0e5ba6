/* Internal to runtime/onednn/: the kernel object every op file builds, and the helpers they share.
 *
 * A oneDNN kernel is a short list of steps, each one oneDNN primitive created at prepare time
 * together with the memory objects of its arguments. A memory object is created without data and
 * bound, at run time, to one of the kernel's inputs or outputs, to a planned intermediate inside
 * the workspace, or to the scratchpad (also inside the workspace: every primitive runs with a
 * user-managed scratchpad, so oneDNN allocates nothing behind the plan's back). The steps of a
 * kernel run one after another, so they share one scratchpad region, placed after the
 * intermediates:
 *
 *   workspace = [intermediates, 64-byte aligned ...][scratchpad: max over steps]
 *
 * Tensors cross the backend interface in plain layouts, but oneDNN's fast convolution and batch
 * normalization kernels want channel-blocked ones (nChw16c and the like; in plain NCHW oneDNN
 * falls back to im2col + GEMM and to a slow generic normalisation, several times slower). Those
 * kernels therefore reorder their operands into intermediates in the layout the primitive
 * prefers and their results back (ipro_onednn_add_step_in_layouts); the intermediates are
 * counted in the workspace like everything else. Between two such kernels a tensor is carried
 * channel-blocked instead, where only oneDNN kernels touch it (onednn_layouts.c): those kernels
 * then read and write it where it lies, without reorders.
 *
 * Each op file provides a build function that reads the node's canonical attributes and inferred
 * shapes and appends steps, or fails with a message (starting "unsupported:" when the node is
 * outside what the oneDNN mapping handles, in which case supports_forward answers false).
 *
 * Ops oneDNN has no primitive for (Resize, the InfoPro losses) would otherwise run on the
 * reference kernels, which are written for clarity, in double and on one thread. The cpu_*.c files
 * give them C kernels instead: a step may be a loop (a C function over the kernel's inputs,
 * outputs and workspace) rather than a primitive, and a kernel may mix the two (SupCon's
 * similarities are a oneDNN matmul between two loops). What a loop needs from prepare time (taps,
 * sizes, offsets) lives in the kernel's state; what it writes per run lives in intermediates, so
 * it is counted in the workspace like everything else. Loops split their work over OpenMP threads
 * (oneDNN's own runtime here) when the library is built with OpenMP, and are serial otherwise.
 *
 * A loop may also call a kernel generated through the LLVM C API (ir/kernel_library.h,
 * compiled for this CPU on first use and cached for the process: cpu_generated.c). The optimizer
 * updates, ipro.DropoutGrad and BinaryCrossEntropy's element-wise parts run that way, their
 * ranges split over the same OpenMP threads (ipro_onednn_generated_run). */
#ifndef IPRO_ONEDNN_INTERNAL_H
#define IPRO_ONEDNN_INTERNAL_H

#include <dnnl.h>

#include "ir/kernel_library.h"
#include "runtime/backend.h"

#define IPRO_ONEDNN_MAX_STEPS 8
/* The inputs of an element-wise kernel that can be reordered into its output's layout
 * (onednn_layouts.c): one reorder step each, and the kernel's own step. */
#define IPRO_ONEDNN_MAX_INPUTS (IPRO_ONEDNN_MAX_STEPS - 1)
#define IPRO_ONEDNN_NOT_STAGED SIZE_MAX
/* The layout code of a fused BatchNormalization's ReLU mask (codegen/fusion.h) that is oneDNN's
 * workspace of the normalisation in the channel-blocked layout (a bitmask on AVX-512): the
 * forward and its gradient then both normalise channel-blocked. A mask without it is written
 * and read by a plain-layout normalisation, in the bool tensor's bytes. */
#define IPRO_ONEDNN_RELU_MASK 2

typedef enum {
  IPRO_ONEDNN_INPUT,        /* the node's index-th input */
  IPRO_ONEDNN_OUTPUT,       /* the node's index-th output */
  IPRO_ONEDNN_INTERMEDIATE, /* workspace + offset */
  IPRO_ONEDNN_SCRATCHPAD    /* the shared scratchpad region of the workspace */
} ipro_onednn_source;

typedef struct {
  ipro_onednn_source source;
  int arg;       /* the primitive's argument (DNNL_ARG_SRC, ...) */
  int index;     /* input or output index */
  size_t offset; /* intermediates: offset in the workspace */
  /* NULL: the run makes a memory object for each execution from the primitive's own descriptor
   * of arg, and destroys it once the primitive has run. A oneDNN 2.6 memory object carries a whole
   * memory descriptor (about 800 bytes with its storage): held for every binding they were half
   * of what the built programs of a small network hold beside their planned blocks, while making
   * one takes about 150 ns on this project's machine (0.2% of a ResNet-32 step).
   * Not NULL: the binding's own memory object, made when the kernel is built and moved only when
   * its data moves, for a padded layout (setting a handle zeroes the padding, a pass over the
   * tensor; the kernels that write a carried tensor keep its padding zero themselves) and for a
   * descriptor that is not the primitive's own for arg. */
  dnnl_memory_t memory;
} ipro_onednn_binding;

typedef struct ipro_onednn_kernel ipro_onednn_kernel;

/* One compiled generated kernel: its entry, and what splitting its range over threads needs. */
typedef struct {
  ipro_kernel_host_fn entry;
  int input_count, output_count;
  /* bytes per element of each input and output (4 for float32, 1 for a mask, 8 for labels) */
  int input_bytes[IPRO_KERNEL_MAX_INPUTS], output_bytes[IPRO_KERNEL_MAX_OUTPUTS];
  /* it reads a channel input or its element index (a random stream), which depend on where an
   * element sits in the whole range: it runs over the whole range on one thread */
  bool whole;
} ipro_onednn_generated_fn;
/* One generated kernel (cpu_generated.c): LLVM-compiled for this machine's CPU on its first use
 * into one cache for the whole process, kept until it ends. The reason it could not be made goes
 * into backend's `degraded` field if that is still empty. */
ipro_status ipro_onednn_generated_kernel(ipro_generated_kernel which, ipro_backend *backend,
                                         ipro_onednn_generated_fn *out, ipro_error *err);
/* Runs fn over elements [0, count) (element inputs and outputs; channels = 1, inner = count).
 * Where the library is built with OpenMP, the range is split into one contiguous piece per
 * thread (boundaries on multiples of 16 elements) unless fn is `whole` or count is below
 * IPRO_ONEDNN_GENERATED_SPLIT: each element's result depends on that element alone, so the bytes
 * written do not depend on the number of threads. */
/* These kernels stream memory and do little arithmetic. On this project's 2-core machine, idle,
 * a second thread halves the time from 2^17 elements on (bench/generated_threads.c, README);
 * under load (5 to 7) it did not pay below about a million, and a join on a loaded machine can
 * wait a whole time slice. 2^18: every parameter tensor of the CIFAR ResNets stays on one
 * thread, while the activation gradients of the fused ReLU gradient (ResNet-32 at batch 128:
 * 2^19 to 2^21 elements) split. */
#define IPRO_ONEDNN_GENERATED_SPLIT (1 << 18)
void ipro_onednn_generated_run(const ipro_onednn_generated_fn *fn, const void *const *inputs,
                               void *const *outputs, const float *params, int64_t count,
                               const uint64_t *integers);

/* A step written in C: reads the kernel's state, the node's inputs and outputs, and the
 * workspace (intermediates at the offsets ipro_onednn_reserve gave); step is the run's step
 * number (Dropout's random stream). */
typedef ipro_status (*ipro_onednn_loop_fn)(const ipro_onednn_kernel *kernel, void *const *inputs,
                                           void *const *outputs, char *workspace, uint64_t step,
                                           ipro_error *err);

typedef struct {
  ipro_onednn_loop_fn loop; /* a loop step: no primitive, no bindings */
  dnnl_primitive_t primitive;
  int n_args;
  ipro_onednn_binding *bindings; /* n_args of them, exactly */
} ipro_onednn_step;

struct ipro_onednn_kernel {
  ipro_kernel base;
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  char *label;  /* "node 'NAME' (OP)", for messages at run time (nodes may move) */
  int n_inputs; /* the node's inputs: how many entries of a run's input array it may read */
  int n_steps;  /* at most IPRO_ONEDNN_MAX_STEPS */
  ipro_onednn_step *steps;
  size_t intermediate_bytes; /* the scratchpad starts here */
  size_t scratchpad_bytes;   /* the largest scratchpad of any step */
  void *state;               /* the loop steps' prepared data (one block, freed with the kernel) */
  ipro_backend *backend;     /* the one that built it (the generated kernels report to it) */
  /* While the kernel is built: the layouts of its graph's tensors (NULL: all plain), and whether
   * the backend asks for the kernel with the least workspace (backend.h, frugal). */
  const uint8_t *layouts;
  bool frugal;
  /* An element-wise kernel's inputs reordered into its output's layout: the intermediate each
   * is read from instead (IPRO_ONEDNN_NOT_STAGED: read in place), by its primitives' bindings
   * and by its loop steps alike (kernel_run hands those the inputs resolved); NULL (most kernels)
   * when no input is, IPRO_ONEDNN_MAX_INPUTS entries otherwise. */
  size_t *staged_input;
};

/* Builds the steps of kernel for node; see the file comment. */
typedef ipro_status (*ipro_onednn_build_fn)(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                            const ipro_node *node, ipro_error *err);

/* The backend's switches in the environment: whether variable name is "0" (off), or "1" (on)
 * (IPRO_ONEDNN_WINOGRAD, IPRO_ONEDNN_PADDED_LAYOUTS, IPRO_ONEDNN_PLAIN_LAYOUTS). */
bool ipro_onednn_switched_off(const char *name);
bool ipro_onednn_switched_on(const char *name);
/* The bytes of the scratchpad a primitive asks for (0 for none). */
size_t ipro_onednn_scratchpad_bytes(const_dnnl_primitive_desc_t pd);

/* The op files' build functions (NULL entries in the dispatch table are unsupported ops). */
ipro_status ipro_onednn_build_copy(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                   ipro_error *);
ipro_status ipro_onednn_build_conv(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                   ipro_error *);
ipro_status ipro_onednn_build_pool(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                   ipro_error *);
ipro_status ipro_onednn_build_global_pool(ipro_onednn_kernel *, const ipro_graph *,
                                          const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_batch_normalization(ipro_onednn_kernel *, const ipro_graph *,
                                                  const ipro_node *, ipro_error *);
/* A training normalisation's settings, as onednn_normalization.c reads them from the node. */
typedef struct {
  bool training, saves_statistics;
  float epsilon, momentum;
  double variance_scale;       /* of the batch variance in the running variance */
  int mean_output, var_output; /* running statistics: an output, -1 over inputs 3 and 4, -2 none */
} ipro_onednn_norm_settings;
/* The most channel blocks of 16 the fused loop below keeps its per-channel factors for on the
 * stack (4096 channels). */
#define IPRO_ONEDNN_MAX_CHANNEL_BLOCKS 256
/* BatchNormalization with fused_add_relu (cpu_norm_add_relu.c): the whole node as a loop of our
 * own where X, the tensor added (input 5) and Z all lie channel-blocked (*built), else nothing;
 * and, after oneDNN's normalisation has written Z, the Add and ReLU in place. */
ipro_status ipro_onednn_build_norm_add_relu_blocked(ipro_onednn_kernel *kernel,
                                                    const ipro_graph *graph, const ipro_node *node,
                                                    const ipro_onednn_norm_settings *settings,
                                                    bool *built, ipro_error *err);
ipro_status ipro_onednn_build_add_relu_after_norm(ipro_onednn_kernel *kernel,
                                                  const ipro_graph *graph, const ipro_node *node,
                                                  ipro_error *err);
ipro_status ipro_onednn_build_softmax(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                      ipro_error *);
/* LayerNormalization: oneDNN's layer normalisation over the dimensions from axis on, X seen as
 * [rows, row length]; Mean and InvStdDev outputs are left to the reference kernel. */
ipro_status ipro_onednn_build_layer_normalization(ipro_onednn_kernel *, const ipro_graph *,
                                                  const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_eltwise(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                      ipro_error *);
ipro_status ipro_onednn_build_sum(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                  ipro_error *);
ipro_status ipro_onednn_build_binary(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                     ipro_error *);
ipro_status ipro_onednn_build_gemm(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                   ipro_error *);
ipro_status ipro_onednn_build_mat_mul(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                      ipro_error *);
ipro_status ipro_onednn_build_concat(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                     ipro_error *);
ipro_status ipro_onednn_build_slice(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                    ipro_error *);
ipro_status ipro_onednn_build_split(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                    ipro_error *);
ipro_status ipro_onednn_build_slice_onnx(ipro_onednn_kernel *, const ipro_graph *,
                                         const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_transpose(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                        ipro_error *);
ipro_status ipro_onednn_build_pad(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                  ipro_error *);
ipro_status ipro_onednn_build_reduce_to_shape(ipro_onednn_kernel *, const ipro_graph *,
                                              const ipro_node *, ipro_error *);
/* cpu_reduce.c: the reductions over any axes (ReduceMean's over axes other than a map's spatial
 * ones), ipro.ReduceMeanGrad, ipro.ReduceExtremumGrad and ipro.ReduceProdGrad over any axes, and
 * Expand, as C loops. */
ipro_status ipro_onednn_build_reduce_axes(ipro_onednn_kernel *, const ipro_graph *,
                                          const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_reduce_mean_grad_loop(ipro_onednn_kernel *, const ipro_graph *,
                                                    const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_expand(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                     ipro_error *);
ipro_status ipro_onednn_build_reduce_extremum_grad(ipro_onednn_kernel *, const ipro_graph *,
                                                   const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_reduce_prod_grad(ipro_onednn_kernel *, const ipro_graph *,
                                               const ipro_node *, ipro_error *);
/* cpu_hard_activation_grad.c: ipro.UnaryGrad of HardSigmoid or HardSwish over count elements. */
ipro_status ipro_onednn_build_hard_activation_grad(ipro_onednn_kernel *kernel,
                                                   const ipro_node *node, int64_t count,
                                                   ipro_error *err);
/* onednn_einsum.c: Einsum of two operands that is a batch of matrix products. */
ipro_status ipro_onednn_build_einsum(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                     ipro_error *);
ipro_status ipro_onednn_build_prelu(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                    ipro_error *);
/* cpu_recurrent.c: LSTM, GRU, RNN and ipro.RecurrentGrad. */
ipro_status ipro_onednn_build_recurrent(ipro_onednn_kernel *, const ipro_graph *,
                                        const ipro_node *, ipro_error *);
/* cpu_gather_elements.c: GatherElements and ipro.GatherElementsGrad. */
ipro_status ipro_onednn_build_gather_elements(ipro_onednn_kernel *, const ipro_graph *,
                                              const ipro_node *, ipro_error *);
/* cpu_select.c: Where, Less, Greater, Equal, LessOrEqual, GreaterOrEqual and Sign over operands
 * of Y's size or of one element. */
ipro_status ipro_onednn_build_select(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                     ipro_error *);
/* C kernels (cpu_*.c) for ops oneDNN has no primitive for. */
ipro_status ipro_onednn_build_resize(ipro_onednn_kernel *, const ipro_graph *, const ipro_node *,
                                     ipro_error *);
ipro_status ipro_onednn_build_resize_grad(ipro_onednn_kernel *, const ipro_graph *,
                                          const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_binary_cross_entropy(ipro_onednn_kernel *, const ipro_graph *,
                                                   const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_binary_cross_entropy_grad(ipro_onednn_kernel *, const ipro_graph *,
                                                        const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_sup_con_loss(ipro_onednn_kernel *, const ipro_graph *,
                                           const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_sup_con_grad(ipro_onednn_kernel *, const ipro_graph *,
                                           const ipro_node *, ipro_error *);
/* Generated kernels (cpu_generated.c). */
ipro_status ipro_onednn_build_sgd_update(ipro_onednn_kernel *, const ipro_graph *,
                                         const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_adam_update(ipro_onednn_kernel *, const ipro_graph *,
                                          const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_dropout(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                      const ipro_node *node, ipro_error *err);
ipro_status ipro_onednn_build_dropout_grad(ipro_onednn_kernel *, const ipro_graph *,
                                           const ipro_node *, ipro_error *);
/* ipro.UnaryGrad of Relu with dY the sum of inputs 0 and 2 (codegen/fusion.h), over `count`
 * elements of flat operands (the padded count of a carried one). */
ipro_status ipro_onednn_build_relu_grad_sum(ipro_onednn_kernel *kernel, int64_t count,
                                            ipro_error *err);
/* The internal ops of the training program (codegen/internal_ops.md). */
ipro_status ipro_onednn_build_conv_grad_input(ipro_onednn_kernel *, const ipro_graph *,
                                              const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_conv_grad_weight(ipro_onednn_kernel *, const ipro_graph *,
                                               const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_batch_norm_grad(ipro_onednn_kernel *, const ipro_graph *,
                                              const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_softmax_grad(ipro_onednn_kernel *, const ipro_graph *,
                                           const ipro_node *, ipro_error *);
/* ipro.LayerNormGrad: oneDNN's layer normalisation backward, after a forward-training pass of
 * its own that recomputes each row's mean and variance (onednn_normalization.c). */
ipro_status ipro_onednn_build_layer_norm_grad(ipro_onednn_kernel *, const ipro_graph *,
                                              const ipro_node *, ipro_error *);
/* The first step of both layer-normalisation gradients: a forward-training normalisation of X
 * (input 1) seen as md's [rows, row length], without scale or shift, writing x̂ to (x_hat,
 * x_hat_index) and each row's mean and biased variance into intermediates it reserves (*mean,
 * *variance: their offsets), which the forward pass does not keep. */
ipro_status ipro_onednn_row_statistics_step(ipro_onednn_kernel *kernel,
                                            const dnnl_memory_desc_t *md, float epsilon,
                                            ipro_onednn_source x_hat, size_t x_hat_index,
                                            size_t *mean, size_t *variance, ipro_error *err);
/* InstanceNormalization and its gradient, ipro.LayerNormGrad with channel_scale (which
 * ipro_onednn_build_layer_norm_grad hands on): layer normalisation over [N·C, spatial] with the
 * per-channel scale and bias on loops (onednn_instance_norm.c). */
ipro_status ipro_onednn_build_instance_normalization(ipro_onednn_kernel *, const ipro_graph *,
                                                     const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_instance_norm_grad(ipro_onednn_kernel *, const ipro_graph *,
                                                 const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_unary_grad(ipro_onednn_kernel *, const ipro_graph *,
                                         const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_max_pool_grad(ipro_onednn_kernel *, const ipro_graph *,
                                            const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_average_pool_grad(ipro_onednn_kernel *, const ipro_graph *,
                                                const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_global_pool_grad(ipro_onednn_kernel *, const ipro_graph *,
                                               const ipro_node *, ipro_error *);
ipro_status ipro_onednn_build_reduce_mean(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err);
ipro_status ipro_onednn_build_reduce_mean_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                               const ipro_node *node, ipro_error *err);

/* ---- the softmax gradient on our loops (cpu_softmax_grad.c) ---- */

/* dX from dY (input 0) and Y (input 1), over md's [outer, n, inner] (ipro_onednn_softmax_md),
 * for Softmax or (log) LogSoftmax: where oneDNN has only its reference kernel for it. */
ipro_status ipro_onednn_build_softmax_grad_loop(ipro_onednn_kernel *kernel,
                                                const dnnl_memory_desc_t *md, bool log,
                                                ipro_error *err);

/* Conv, ipro.ConvGradInput or ipro.ConvGradWeight (onednn_conv.c): the convolution's X, W and Y
 * shapes from whichever of them the node holds, and (where not NULL) the graph's tensors X (or
 * dX) and Y (or dY); false for another node, or shapes not inferred. */
bool ipro_onednn_conv_operands(const ipro_graph *graph, const ipro_node *node, ipro_shape *x,
                               ipro_shape *w, ipro_shape *y, int *x_tensor, int *y_tensor);
/* The stride (1 or 2, the same along both axes) of that convolution when it has a 3×3 window, one
 * pixel of padding on every side, no dilation and no groups over rank-4 tensors (so that Y is
 * (X - 1) / stride + 1 pixels along each axis: X's size at stride 1); 0 for any other: what the
 * backend's own convolution loops run (cpu_small_conv.c at stride 1, cpu_conv3x3.c). */
int ipro_onednn_conv_3x3_stride(const ipro_node *node, const ipro_shape *x, const ipro_shape *w,
                                const ipro_shape *y);

/* ---- Winograd's F(2×2, 3×3) over 8-channel blocks (cpu_winograd3x3.c) ---- */

/* The most input or output channels (padded to blocks of 8) it takes: its buffers are on the
 * stack. */
#define IPRO_ONEDNN_WINOGRAD_MAX_CHANNELS 128

/* A 3×3 convolution of stride 1 and padding 1 over activations in 8-channel blocks: the
 * forward's X → Y, or the data gradient's dY → dX. */
typedef struct {
  int64_t images, height, width;
  int64_t in_channels, in_blocks, out_channels, out_blocks;
} ipro_onednn_winograd_geometry;

/* Floats of the transformed window U. */
size_t ipro_onednn_winograd_weight_floats(int64_t in_channels, int64_t out_channels);
/* U from the plain W (M, C, 3, 3): the forward's (in_channels C, out_channels M) or the data
 * gradient's (in_channels M, out_channels C: W turned 180°, its channel axes swapped). */
void ipro_onednn_winograd_weights(const float *w, bool data_gradient, int64_t in_channels,
                                  int64_t out_channels, float *u);
/* Y from X (both in 8-channel blocks), U, and a bias of out_blocks × 8 floats or NULL, split
 * over the OpenMP threads. */
void ipro_onednn_winograd_run(const ipro_onednn_winograd_geometry *g, const float *x,
                              const float *u, const float *bias, float *y);
/* The weight gradient's partial of one pair of 8-channel blocks: dL/dU[ξ][i][o], 16 × 8 × 8
 * floats. */
#define IPRO_ONEDNN_WINOGRAD_POSITIONS 16 /* the 4 × 4 transformed positions ξ */
#define IPRO_ONEDNN_WINOGRAD_WEIGHT_BLOCK_FLOATS (IPRO_ONEDNN_WINOGRAD_POSITIONS * 8 * 8)
/* Adds one image's share to the partials of `blocks` (1 or 2) pairs, X's block x with dY's
 * blocks dy and the next (each height × width vectors of 8 lanes: a 3×3 convolution of stride 1
 * and padding 1), the second pair's partial p_stride floats after the first's, p. */
void ipro_onednn_winograd_weight_share(const float *x, const float *dy, int blocks, float *p,
                                       int64_t p_stride, int64_t height, int64_t width);
/* The 3×3 window's gradient (taps[kh * 3 + kw]) of channel pair (i, o), lanes i_lane and o_lane
 * of its blocks: dL/dU summed over the chunks' partials of the pair (`chunks` of them,
 * chunk_stride floats apart, from `partial`) in chunk order, then Gᵀ dU G. */
void ipro_onednn_winograd_weight_taps(const float *partial, int64_t chunk_stride, int64_t chunks,
                                      int i_lane, int o_lane, float *taps);

/* ---- convolutions to at most three channels (cpu_small_conv.c) ---- */

/* Whether the node (Conv, ipro.ConvGradInput, ipro.ConvGradWeight) is one the small-convolution
 * loops run: a 3×3 window, stride 1, padding 1, no groups, bias or dB, X (dX) carried
 * channel-blocked with at most 16 channels, Y (dY) plain with at most 3. */
bool ipro_onednn_small_conv_takes(const ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                  const ipro_node *node);
ipro_status ipro_onednn_build_small_conv(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                         const ipro_node *node, ipro_error *err);

/* ---- 3×3 convolutions of stride 1 in 8-channel blocks (cpu_conv3x3.c) ---- */

/* Whether the node (Conv, ipro.ConvGradInput, ipro.ConvGradWeight) is one the AVX2 loops run: a
 * 3×3 window, stride 1, padding 1, no groups (a bias or dB allowed; the weight gradient's rows
 * at least 2 pixels wide), at least 8 channels in and out (or, for the weight gradient, an X of
 * at most 4 channels lying plain in the kernel's layouts: an image), and the backend's block 8
 * channels. */
bool ipro_onednn_conv3x3_loops_take(const ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                    const ipro_node *node);
ipro_status ipro_onednn_build_conv3x3_loops(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                            const ipro_node *node, ipro_error *err);

/* ---- layouts carried between kernels (onednn_layouts.c) ---- */

/* Whether this CPU and the environment let activations be carried channel-blocked (AVX2 or
 * AVX-512, and IPRO_ONEDNN_PLAIN_LAYOUTS not 1). */
bool ipro_onednn_carries_layouts(void);
/* The backend's choose_layouts. */
void ipro_onednn_choose_layouts(const ipro_backend *self, const ipro_graph *graph,
                                const bool *excluded, uint8_t *layouts);
/* Whether the fused normalisation whose ReLU mask is `mask` works channel-blocked (the mask has
 * the IPRO_ONEDNN_RELU_MASK code). */
bool ipro_onednn_blocked_relu_mask(const ipro_onednn_kernel *kernel, int mask);
/* The bytes of oneDNN's workspace for the channel-blocked fused normalisation whose ReLU mask is
 * the graph's tensor `mask` (onednn_normalization.c); 0 when oneDNN cannot say. */
size_t ipro_onednn_relu_mask_bytes(dnnl_engine_t engine, const ipro_graph *graph, int mask);
/* Whether the graph's tensor (an index; -1 for none) lies channel-blocked. */
bool ipro_onednn_carried(const ipro_onednn_kernel *kernel, int tensor);
/* plain (the tensor's dimensions, row-major) in the layout the tensor lies in. */
ipro_status ipro_onednn_layout_md(const ipro_onednn_kernel *kernel, int tensor,
                                  const dnnl_memory_desc_t *plain, dnnl_memory_desc_t *md,
                                  ipro_error *err);
/* The backend's layout_bytes: the bytes of the tensor in the layout (padded channel blocks). */
size_t ipro_onednn_layout_bytes(const ipro_backend *self, const ipro_graph *graph, int tensor,
                                uint8_t layout);
/* The elements an element-wise kernel sees as one flat vector when its output (of this shape) is
 * the tensor: the padded blocks' count for a carried tensor, the shape's otherwise. */
ipro_status ipro_onednn_flat_elements(const ipro_onednn_kernel *kernel, int tensor,
                                      const ipro_shape *shape, int64_t *count, ipro_error *err);
/* Reorders the kernel's input i (which lies in `from`) into an intermediate laid out as `to`,
 * from which the kernel's primitives and loop steps then read it (kernel->staged_input). */
ipro_status ipro_onednn_stage_input(ipro_onednn_kernel *kernel, int i,
                                    const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                    ipro_error *err);
/* For an element-wise node: reorders each input that lies in another layout than output 0 into
 * an intermediate in output 0's layout, which the kernel's steps then read instead (bindings of
 * that input are redirected); for any other node, sets nothing to be staged. */
ipro_status ipro_onednn_stage_flat_inputs(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err);

/* ---- geometry shared by an op's forward and backward kernels ---- */

/* Conv (onednn_conv.c): plain descriptors of X (N, C, in...), W (grouped when group > 1), the
 * bias (M) and Y (N, M, out...), and the window in oneDNN's convention. */
typedef struct {
  dnnl_memory_desc_t x, w, b, y;
  dnnl_dims_t strides, dilations, pads_begin, pads_end;
} ipro_onednn_conv_geometry;
/* x, w, y: the shapes of the forward's X, W and Y, wherever the node holds them. Fails as
 * unsupported when they do not fit together or an attribute has no oneDNN mapping. */
ipro_status ipro_onednn_conv_geometry_of(const ipro_node *node, const ipro_shape *x,
                                         const ipro_shape *w, const ipro_shape *y,
                                         ipro_onednn_conv_geometry *geometry, ipro_error *err);

/* The windowed pools (onednn_pool.c): algorithm and window of MaxPool / AveragePool (from the
 * node's attributes) or of a global pool (the whole plane), for the forward's X and Y shapes.
 * pads_end is the right padding that makes oneDNN's output extent Y's; negative where the last
 * window stops short of X's end. */
typedef struct {
  dnnl_alg_kind_t algorithm;
  dnnl_dims_t kernel, strides, dilations, pads_begin, pads_end;
} ipro_onednn_pool_geometry;
ipro_status ipro_onednn_pool_geometry_of(const ipro_node *node, ipro_op op, const ipro_shape *x,
                                         const ipro_shape *y, ipro_onednn_pool_geometry *geometry,
                                         ipro_error *err);
ipro_status ipro_onednn_global_pool_geometry_of(bool maximum, const ipro_shape *x,
                                                const ipro_shape *y,
                                                ipro_onednn_pool_geometry *geometry,
                                                ipro_error *err);

/* Softmax (onednn_normalization.c): the tensor seen as (outer, length, inner), reduced over the
 * middle axis, as the reference lays it out. */
ipro_status ipro_onednn_softmax_md(const ipro_node *node, const ipro_shape *x,
                                   dnnl_memory_desc_t *md, ipro_error *err);

/* ---- helpers (onednn_kernel.c) ---- */

/* Turns a failed dnnl call into "FILE:LINE: CALL: STATUS" in err; IPRO_OK on dnnl_success. */
ipro_status ipro_onednn_check(dnnl_status_t status, const char *file, int line, const char *call,
                              ipro_error *err);
/* For functions with an `err` in scope and a `fail:` label that releases what they hold. */
#define IPRO_ONEDNN_CHECK(call)                                                                    \
  do {                                                                                             \
    if (ipro_onednn_check((call), __FILE__, __LINE__, #call, err) != IPRO_OK) goto fail;           \
  } while (0)

/* Writes "unsupported: <message>" into err and returns IPRO_ERROR. */
ipro_status ipro_onednn_unsupported(ipro_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* The concrete shape of the node's i-th input / output (batch bound to graph->batch); fails as
 * unsupported when the tensor is absent or its shape is unknown or symbolic. */
ipro_status ipro_onednn_input_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                    ipro_shape *shape, ipro_error *err);
ipro_status ipro_onednn_output_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                     ipro_shape *shape, ipro_error *err);

/* Reads the window attributes of Conv and the pools for `spatial` axes (strides, dilations, pads;
 * defaults 1, 1, 0) into oneDNN's convention: dilation counts the gaps (ONNX's minus one), pads
 * split into begin and end. Fails as unsupported on a malformed or negative value. */
ipro_status ipro_onednn_read_window(const ipro_node *node, int spatial, dnnl_dims_t strides,
                                    dnnl_dims_t dilations, dnnl_dims_t pads_begin,
                                    dnnl_dims_t pads_end, ipro_error *err);

/* A row-major float32 memory descriptor of the given dimensions (rank 0 is one element). */
ipro_status ipro_onednn_plain_md(dnnl_memory_desc_t *md, int rank, const int64_t *dims,
                                 ipro_error *err);

/* A primitive attribute with the user-managed scratchpad mode every primitive here uses. */
ipro_status ipro_onednn_attr_create(dnnl_primitive_attr_t *attr, ipro_error *err);

/* cpu_prefix_scale.c: when node is a Mul of a tensor of Y's dims by a factor broadcast along
 * its trailing dimensions only (a_dims, b_dims, y_dims right-aligned to rank), appends the loop
 * step that computes it, sets *status, and returns true; false (nothing appended) otherwise. */
bool ipro_onednn_prefix_scale(ipro_onednn_kernel *kernel, const ipro_node *node,
                              const int64_t *a_dims, const int64_t *b_dims, const int64_t *y_dims,
                              int rank, ipro_status *status, ipro_error *err);

/* Appends a loop step (see the file comment). */
ipro_status ipro_onednn_add_loop_step(ipro_onednn_kernel *kernel, ipro_onednn_loop_fn loop,
                                      ipro_error *err);
/* Allocates the kernel's state: bytes of zeroed memory, freed with the kernel. */
void *ipro_onednn_state_create(ipro_onednn_kernel *kernel, size_t bytes, ipro_error *err);

/* Splits the iterations of the `for` that follows over OpenMP threads, statically (each thread a
 * contiguous range), where the library is built with OpenMP and the loop touches at least
 * IPRO_ONEDNN_PARALLEL_WORK values (`work`, roughly): below that, starting and joining the threads
 * costs more than it saves, and on a loaded machine a join can wait a whole time slice for a
 * descheduled thread. A plain loop without OpenMP. */
#define IPRO_ONEDNN_PARALLEL_WORK 65536
#ifdef _OPENMP
#define IPRO_ONEDNN_PRAGMA(text) _Pragma(#text)
#define IPRO_ONEDNN_PARALLEL_FOR(work)                                                             \
  IPRO_ONEDNN_PRAGMA(omp parallel for schedule(static) if ((work) >= IPRO_ONEDNN_PARALLEL_WORK))
#else
#define IPRO_ONEDNN_PARALLEL_FOR(work)
#endif

/* Creates the primitive of pd as the kernel's next step and binds its scratchpad (if any).
 * pd stays the caller's. */
ipro_status ipro_onednn_add_step(ipro_onednn_kernel *kernel, const_dnnl_primitive_desc_t pd,
                                 ipro_error *err);
/* Binds argument `arg` (DNNL_ARG_*) of the last step, with the descriptor the primitive expects
 * for it, to a source. index: input/output index, or an offset from
 * ipro_onednn_reserve for intermediates. */
ipro_status ipro_onednn_bind(ipro_onednn_kernel *kernel, const_dnnl_primitive_desc_t pd, int arg,
                             ipro_onednn_source source, size_t index, ipro_error *err);
/* Same, with an explicit descriptor (for post-op arguments, which pd cannot be asked about). */
ipro_status ipro_onednn_bind_md(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *md, int arg,
                                ipro_onednn_source source, size_t index, ipro_error *err);
/* Reserves bytes of intermediate workspace and returns its offset. */
size_t ipro_onednn_reserve(ipro_onednn_kernel *kernel, size_t bytes);

/* Creates a pd from an op descriptor with a user scratchpad and optional post-ops, adds it as a
 * step and returns the pd (for binding; the caller destroys it). */
ipro_status ipro_onednn_create_pd(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                  dnnl_primitive_attr_t attr, dnnl_primitive_desc_t *pd,
                                  ipro_error *err);

/* A pd with a user scratchpad (and attr's post-ops, if any), not yet a step: a forward that a
 * backward primitive is created against (oneDNN's hint), or a primitive whose operands'
 * layouts must be known before its reorders are added (ipro_onednn_add_step_in_layouts). hint
 * may be NULL. The caller destroys it. */
ipro_status ipro_onednn_describe(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                 dnnl_primitive_attr_t attr, const_dnnl_primitive_desc_t hint,
                                 dnnl_primitive_desc_t *pd, ipro_error *err);
/* ipro_onednn_create_pd for a backward primitive, with its forward hint. */
ipro_status ipro_onednn_create_backward_pd(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                           const_dnnl_primitive_desc_t hint,
                                           dnnl_primitive_desc_t *pd, ipro_error *err);
/* One argument of a step, bound as ipro_onednn_bind binds it. */
typedef struct {
  int arg;                   /* DNNL_ARG_* */
  ipro_onednn_source source; /* where the tensor is */
  size_t index;              /* input / output index, or intermediate offset */
} ipro_onednn_argument;

/* SRC from input 0, WEIGHTS from input 1, DST to output 0: the arguments of a matmul or prelu. */
extern const ipro_onednn_argument ipro_onednn_weighted_arguments[3];
/* Adds pd (made without a step, as by a dnnl_*_primitive_desc_create) as the next step and binds
 * its arguments. pd stays the caller's. */
ipro_status ipro_onednn_add_bound_step(ipro_onednn_kernel *kernel, const_dnnl_primitive_desc_t pd,
                                       const ipro_onednn_argument *arguments, int count,
                                       ipro_error *err);
/* A step of oneDNN's binary primitive (onednn_elementwise.c) with, as post-ops, a negation of
 * its result (Sub with its operands swapped) and a ReLU (an Add fused with its ReLU); arguments
 * bind SRC_0, SRC_1 and DST. */
ipro_status ipro_onednn_binary_step(ipro_onednn_kernel *kernel, dnnl_alg_kind_t algorithm,
                                    const dnnl_memory_desc_t *src0, const dnnl_memory_desc_t *src1,
                                    const dnnl_memory_desc_t *dst, bool negate, bool relu,
                                    const ipro_onednn_argument arguments[3], ipro_error *err);
/* Describes desc (as ipro_onednn_describe, with attr and hint) and adds it as the next step with
 * its arguments bound; the pd is destroyed once bound. Bind post-op arguments afterwards with
 * ipro_onednn_bind_md, which binds to the last step. */
ipro_status ipro_onednn_primitive_step(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                       dnnl_primitive_attr_t attr, const_dnnl_primitive_desc_t hint,
                                       const ipro_onednn_argument *arguments, int count,
                                       ipro_error *err);
/* ipro_onednn_primitive_step for the usual forward: SRC from input 0, DST to output 0. */
ipro_status ipro_onednn_forward_step(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                     ipro_error *err);
/* ipro_onednn_primitive_step for a backward primitive, with the pd of forward (a forward-training
 * op descriptor) as its hint. */
ipro_status ipro_onednn_backward_step(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t forward,
                                      const_dnnl_op_desc_t desc,
                                      const ipro_onednn_argument *arguments, int count,
                                      ipro_error *err);
/* Sums `count` sources of layout md, each times its scale, into md: a step with its arguments
 * bound (DNNL_ARG_MULTIPLE_SRC + i, then DNNL_ARG_DST). */
ipro_status ipro_onednn_sum_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *md,
                                 int count, const float *scales,
                                 const ipro_onednn_argument *arguments, ipro_error *err);
/* Appends a reorder step (a copy between layouts) from one place to another. */
ipro_status ipro_onednn_reorder_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *from,
                                     ipro_onednn_source from_source, size_t from_index,
                                     const dnnl_memory_desc_t *to, ipro_onednn_source to_source,
                                     size_t to_index, ipro_error *err);

/* An argument of a primitive whose layouts oneDNN chose (format_tag_any) or the op file did
 * (a channel-blocked layout): the tensor lies at source / index in `layout`. */
typedef struct {
  int arg;                          /* DNNL_ARG_* */
  ipro_onednn_source source;        /* where the tensor is */
  size_t index;                     /* input / output index, or intermediate offset */
  const dnnl_memory_desc_t *layout; /* how it is laid out there */
  bool output;                      /* written by the primitive */
} ipro_onednn_operand;
/* Adds pd (from ipro_onednn_describe) as a step with its operands bound. An operand whose
 * layout differs from the one the primitive expects goes through an intermediate in the
 * expected layout: reordered into it by a step before (inputs), or out of it by a step after
 * (outputs). The scratchpad is bound as with ipro_onednn_add_step. */
ipro_status ipro_onednn_add_step_in_layouts(ipro_onednn_kernel *kernel,
                                            const_dnnl_primitive_desc_t pd,
                                            const ipro_onednn_operand *operands, int count,
                                            ipro_error *err);
/* Describes desc (with hint, which may be NULL) and adds it with ipro_onednn_add_step_in_layouts;
 * the pd is destroyed once added. */
ipro_status ipro_onednn_layouts_step(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                     const_dnnl_primitive_desc_t hint,
                                     const ipro_onednn_operand *operands, int count,
                                     ipro_error *err);
/* Whether the best oneDNN has for desc (hint: its forward pd, or NULL) is its reference
 * implementation, which layouts fixed by the caller can force (a padded channel-blocked source
 * of a convolution to 3 channels): the caller then leaves them to oneDNN. */
bool ipro_onednn_reference_only(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                const_dnnl_primitive_desc_t hint);
/* The descriptor of plain's dimensions with format_tag_any: oneDNN picks the layout. */
ipro_status ipro_onednn_any_md(const dnnl_memory_desc_t *plain, dnnl_memory_desc_t *any,
                               ipro_error *err);
/* The channels in one block of oneDNN's channel-blocked layouts on this CPU: 16 with AVX-512
 * (nChw16c, what its AVX-512 convolution and normalisation kernels are written for), else 8
 * (nChw8c: its AVX2 and SSE4.1 kernels; on AVX2 the normalisations have no kernel for 16-channel
 * blocks but oneDNN's reference, 60 times slower). */
int ipro_onednn_channel_block(void);
/* plain (N, C, spatial...) of rank 3 to 5 with the channels in blocks of
 * ipro_onednn_channel_block() (nCw16c, nChw16c, nCdhw16c or their 8c kin), the last block padded
 * with zeros when C is not a multiple of the block (the tensor then takes more bytes than plain);
 * otherwise plain itself. */
ipro_status ipro_onednn_channel_blocked_md(const dnnl_memory_desc_t *plain,
                                           dnnl_memory_desc_t *blocked, ipro_error *err);
/* The layout code (backend.h, choose_layouts) of a tensor carried channel-blocked: the block,
 * 8 or 16 channels (never IPRO_ONEDNN_RELU_MASK's 2), so that two processes that hand a module's
 * activation on in it can tell whether they mean one layout. */
static inline uint8_t ipro_onednn_channel_blocked_code(void) {
  return (uint8_t)ipro_onednn_channel_block();
}
/* Whether `channels` fill blocks exactly: the blocked tensor then has the plain one's size, and
 * no padding. */
static inline bool ipro_onednn_fills_blocks(int64_t channels) {
  return channels > 0 && channels % ipro_onednn_channel_block() == 0;
}

/* The shapes of a node that maps T (input 0) to R (output 0) whose shape the node's `shape`
 * attribute states (ipro.Slice, ipro.ReduceToShape); unsupported where they disagree. */
ipro_status ipro_onednn_shaped_operands(const ipro_graph *graph, const ipro_node *node,
                                        ipro_shape *t, ipro_shape *r, ipro_error *err);

/* Checks an int-list attribute holding a shape (input_shape, weight_shape) against the shape the
 * node's tensor has; an absent attribute passes. */
ipro_status ipro_onednn_check_shape_attribute(const ipro_node *node, const char *name,
                                              const ipro_shape *shape, ipro_error *err);

#endif
