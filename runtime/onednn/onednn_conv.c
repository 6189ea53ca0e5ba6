/* Conv and its gradients on oneDNN: one convolution primitive over 1 to 3 spatial dimensions,
 * with groups (depthwise included), strides, dilations, asymmetric pads (padding_l / padding_r)
 * and the optional bias.
 *
 * ONNX's weights (M, C/group, k...) are, byte for byte, oneDNN's grouped weights (group, M/group,
 * C/group, k...), so groups need only a different descriptor. oneDNN chooses the layouts of source,
 * weights and destination (format_tag_any): in the plain layouts the interface uses it would run
 * im2col + GEMM, several times slower than its direct kernels on channel-blocked layouts, so every
 * kernel reorders its operands into the chosen layouts and its result back, each run (weights
 * change between runs while training). The bias stays plain. X and Y (dX, dY) carried
 * channel-blocked between kernels (onednn_layouts.c) are given to the primitive in that layout,
 * and need no reorder, unless oneDNN then has only its reference kernel for it (a padded
 * 12-channel source of a convolution to 3 channels): then their layouts too are left to oneDNN,
 * and they are reordered like plain ones.
 *
 * A convolution to at most three channels from a carried source of at most 16 (the InfoPro
 * decoder's last) runs on the loops of cpu_small_conv.c instead, in all three passes, and on a CPU
 * with AVX2 and not AVX-512 every other 3×3 convolution of stride 1 and padding 1 runs on the
 * loops of cpu_conv3x3.c, in all three passes.
 *
 * ipro.ConvGradInput (dY, W → dX) is oneDNN's backward-data convolution and ipro.ConvGradWeight
 * (dY, X → dW, [dB]) its backward-weights convolution, which also sums dY into dB when the node has
 * output 1. Both describe the forward Conv they differentiate (X's shape from dX or X, Y's from dY)
 * and are created against a forward-training pd of it, which oneDNN takes as the hint.
 *
 * 3×3 convolutions of 32 channels or more use Winograd's F(4×4, 3×3) where oneDNN has it for all
 * three passes and its scratchpad (7 to 11 MB, whatever the batch) is small beside the operands
 * (algorithm_for below): the weight and input gradients then take 40% less time on ResNet-32's
 * 32- and 64-channel layers. That scratchpad is workspace the plan holds, so such a kernel says
 * it has a frugal variant (the direct algorithm) and the executor keeps it only where the
 * program's arena grows by at most 1/32 (runtime/executor.c). IPRO_ONEDNN_WINOGRAD=0 keeps to
 * the direct algorithm. */
#include <stdlib.h>
#include <string.h>

#include "onednn_internal.h"

ipro_status ipro_onednn_conv_geometry_of(const ipro_node *node, const ipro_shape *x,
                                         const ipro_shape *w, const ipro_shape *y,
                                         ipro_onednn_conv_geometry *geometry, ipro_error *err) {
  int spatial = x->rank - 2;
  if (w->rank != x->rank || y->rank != x->rank || spatial < 1)
    return ipro_onednn_unsupported(err, "X, W and Y ranks differ (%d, %d, %d)", x->rank, w->rank,
                                   y->rank);
  int64_t group = ipro_node_attr_int(node, "group", 1);
  int64_t channels = x->dims[1], features = y->dims[1];
  if (group < 1 || channels % group != 0 || features % group != 0 || w->dims[0] != features ||
      w->dims[1] != channels / group || y->dims[0] != x->dims[0])
    return ipro_onednn_unsupported(err, "weights and group do not match the channels");
  if (ipro_onednn_read_window(node, spatial, geometry->strides, geometry->dilations,
                              geometry->pads_begin, geometry->pads_end, err))
    return IPRO_ERROR;
  int count = 0;
  const int64_t *kernel_shape = ipro_node_attr_ints(node, "kernel_shape", &count);
  for (int s = 0; kernel_shape && s < spatial && count == spatial; s++)
    if (kernel_shape[s] != w->dims[2 + s])
      return ipro_onednn_unsupported(err, "kernel_shape disagrees with the weights");
  int64_t grouped[IPRO_MAX_RANK + 1] = {group, features / group, channels / group};
  for (int s = 0; s < spatial; s++)
    grouped[3 + s] = w->dims[2 + s];
  if (ipro_onednn_plain_md(&geometry->x, x->rank, x->dims, err) ||
      ipro_onednn_plain_md(&geometry->y, y->rank, y->dims, err) ||
      (group == 1 ? ipro_onednn_plain_md(&geometry->w, w->rank, w->dims, err)
                  : ipro_onednn_plain_md(&geometry->w, w->rank + 1, grouped, err)) ||
      ipro_onednn_plain_md(&geometry->b, 1, &features, err))
    return IPRO_ERROR;
  return IPRO_OK;
}

bool ipro_onednn_conv_operands(const ipro_graph *graph, const ipro_node *node, ipro_shape *x,
                               ipro_shape *w, ipro_shape *y, int *x_tensor, int *y_tensor) {
  int x_at, w_at, y_at; /* where X, W and Y are: input index, or -1 - output index */
  switch (node->op) {
  case IPRO_OP_CONV: x_at = 0, w_at = 1, y_at = -1; break;             /* X, W [, B] → Y */
  case IPRO_OP_CONV_GRAD_INPUT: x_at = -1, w_at = 1, y_at = 0; break;  /* dY, W → dX */
  case IPRO_OP_CONV_GRAD_WEIGHT: x_at = 1, w_at = -1, y_at = 0; break; /* dY, X → dW [, dB] */
  default: return false;
  }
  const int at[3] = {x_at, w_at, y_at};
  ipro_shape *shapes[3] = {x, w, y};
  ipro_error err;
  for (int k = 0; k < 3; k++)
    if ((at[k] >= 0
             ? ipro_onednn_input_shape(graph, node, at[k], shapes[k], &err)
             : ipro_onednn_output_shape(graph, node, -1 - at[k], shapes[k], &err)) != IPRO_OK)
      return false;
  if (x_tensor) *x_tensor = x_at >= 0 ? node->inputs[x_at] : node->outputs[-1 - x_at];
  if (y_tensor) *y_tensor = y_at >= 0 ? node->inputs[y_at] : node->outputs[-1 - y_at];
  return true;
}

int ipro_onednn_conv_3x3_stride(const ipro_node *node, const ipro_shape *x, const ipro_shape *w,
                                const ipro_shape *y) {
  ipro_onednn_conv_geometry g;
  ipro_error err;
  if (x->rank != 4 || ipro_onednn_conv_geometry_of(node, x, w, y, &g, &err) != IPRO_OK ||
      ipro_node_attr_int(node, "group", 1) != 1 || w->dims[2] != 3 || w->dims[3] != 3)
    return 0;
  int64_t stride = g.strides[0];
  if (stride != 1 && stride != 2) return 0;
  for (int s = 0; s < 2; s++)
    if (g.strides[s] != stride || g.dilations[s] != 0 || g.pads_begin[s] != 1 ||
        g.pads_end[s] != 1 || y->dims[2 + s] != (x->dims[2 + s] - 1) / stride + 1)
      return 0;
  return (int)stride;
}

/* X, W and Y with the layouts left to oneDNN. */
typedef struct {
  dnnl_memory_desc_t x, w, y;
} any_layouts;

/* The layouts the primitive is made for: oneDNN's choice (format_tag_any), but for X and Y (the
 * graph's tensors x and y: X or dX, Y or dY) when they are carried channel-blocked
 * (onednn_layouts.c), which the primitive then reads and writes where they lie; g's x and y
 * become the layouts they lie in. */
static ipro_status any_layouts_of(const ipro_onednn_kernel *kernel, int x, int y,
                                  ipro_onednn_conv_geometry *g, any_layouts *any, ipro_error *err) {
  if (ipro_onednn_any_md(&g->x, &any->x, err) || ipro_onednn_any_md(&g->w, &any->w, err) ||
      ipro_onednn_any_md(&g->y, &any->y, err) ||
      ipro_onednn_layout_md(kernel, x, &g->x, &g->x, err) ||
      ipro_onednn_layout_md(kernel, y, &g->y, &g->y, err))
    return IPRO_ERROR;
  if (ipro_onednn_carried(kernel, x)) any->x = g->x;
  if (ipro_onednn_carried(kernel, y)) any->y = g->y;
  return IPRO_OK;
}

/* The second try of a kernel whose carried layouts left oneDNN only its reference kernel: X and
 * Y (where they lie, in g) left to oneDNN too. */
static ipro_status leave_to_onednn(const ipro_onednn_conv_geometry *g, any_layouts *any,
                                   ipro_error *err) {
  if (ipro_onednn_any_md(&g->x, &any->x, err) || ipro_onednn_any_md(&g->y, &any->y, err))
    return IPRO_ERROR;
  return IPRO_OK;
}

/* Whether the kernel carries X or Y (the graph's tensors x and y), so that a second try exists. */
static bool carries(const ipro_onednn_kernel *kernel, int x, int y) {
  return ipro_onednn_carried(kernel, x) || ipro_onednn_carried(kernel, y);
}

/* The forward convolution of geometry with `algorithm`, layouts left to oneDNN. */
static ipro_status forward_desc_with(const ipro_onednn_conv_geometry *g, const any_layouts *any,
                                     dnnl_prop_kind_t kind, bool has_bias,
                                     dnnl_alg_kind_t algorithm, dnnl_convolution_desc_t *desc,
                                     ipro_error *err) {
  IPRO_ONEDNN_CHECK(dnnl_dilated_convolution_forward_desc_init(
      desc, kind, algorithm, &any->x, &any->w, has_bias ? &g->b : NULL, &any->y, g->strides,
      g->dilations, g->pads_begin, g->pads_end));
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

/* Winograd's transforms cost more than they save below this many input and output channels
 * (ResNet-32 at batch 128, 2 threads, 3×3 convolutions at 32×32 on 16 channels: forward 3.9 ms
 * against 3.5 direct, input gradient 3.6 against 2.7; on 32 and 64 channels every pass is
 * faster, the weight gradient by 40%: bench/step_profile --nodes, README). */
#define WINOGRAD_MIN_CHANNELS 32
/* Winograd's kernels take a scratchpad of their own, 7 to 11 MB whatever the batch (AVX-512,
 * oneDNN 2.6), which the plan holds like any workspace. A convolution takes Winograd only where
 * that is at most this many times the bytes of its source and destination: at batch 8 the
 * scratchpad would triple ResNet-8's end-to-end peak; from a batch of about 100 on CIFAR-sized
 * 32- and 64-channel layers it is taken, and costs ResNet-32 at batch 128 2.4% of its peak for a
 * step 17% shorter (2 threads: 2 allows the 32-channel layers alone, no memory and 7%). */
#define WINOGRAD_SCRATCHPAD_FACTOR 3

/* The algorithm for the convolution of geometry in these layouts: Winograd's F(4×4, 3×3)
 * (oneDNN's jit kernels on AVX-512: 3×3 windows, stride 1, no dilation, channels in blocks of
 * 16) where the channels are WINOGRAD_MIN_CHANNELS or more, oneDNN has it for the forward and
 * both backward passes (so that the three kernels of one convolution use one algorithm), and
 * its scratchpad is within WINOGRAD_SCRATCHPAD_FACTOR of the operands; the direct algorithm
 * otherwise. Only the node's own shapes decide, so a kernel prepared once for a kind of node
 * (the planning backend's cache) is the one every program of that kind gets. */
static dnnl_alg_kind_t algorithm_for(ipro_onednn_kernel *kernel, const ipro_onednn_conv_geometry *g,
                                     const any_layouts *any, bool has_bias) {
  if (kernel->frugal || ipro_onednn_switched_off("IPRO_ONEDNN_WINOGRAD") || g->x.ndims < 2 ||
      g->x.dims[1] < WINOGRAD_MIN_CHANNELS || g->y.dims[1] < WINOGRAD_MIN_CHANNELS)
    return dnnl_convolution_direct;
  dnnl_convolution_desc_t forward, data, weights;
  dnnl_primitive_desc_t hint = NULL, pd = NULL;
  ipro_error err;
  bool available =
      forward_desc_with(g, any, dnnl_forward_training, has_bias, dnnl_convolution_winograd,
                        &forward, &err) == IPRO_OK &&
      ipro_onednn_describe(kernel, &forward, NULL, NULL, &hint, &err) == IPRO_OK &&
      dnnl_dilated_convolution_backward_data_desc_init(
          &data, dnnl_convolution_winograd, &any->x, &any->w, &any->y, g->strides, g->dilations,
          g->pads_begin, g->pads_end) == dnnl_success &&
      dnnl_dilated_convolution_backward_weights_desc_init(
          &weights, dnnl_convolution_winograd, &any->x, &any->w, has_bias ? &g->b : NULL, &any->y,
          g->strides, g->dilations, g->pads_begin, g->pads_end) == dnnl_success;
  size_t scratchpad = available ? ipro_onednn_scratchpad_bytes(hint) : 0;
  for (int pass = 0; available && pass < 2; pass++) {
    available = ipro_onednn_describe(kernel, pass == 0 ? &data : &weights, NULL, hint, &pd, &err) ==
                IPRO_OK;
    if (available && ipro_onednn_scratchpad_bytes(pd) > scratchpad)
      scratchpad = ipro_onednn_scratchpad_bytes(pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    pd = NULL;
  }
  if (hint) dnnl_primitive_desc_destroy(hint);
  size_t operands = dnnl_memory_desc_get_size(&g->x) + dnnl_memory_desc_get_size(&g->y);
  if (!available || scratchpad > WINOGRAD_SCRATCHPAD_FACTOR * operands)
    return dnnl_convolution_direct;
  kernel->base.has_frugal_variant = true; /* the direct algorithm needs less */
  return dnnl_convolution_winograd;
}

/* The forward convolution of geometry, layouts left to oneDNN, with algorithm_for's choice.
 * Forward convolutions are described for training even in inference graphs: for inference,
 * oneDNN's Winograd kernel wants its weights transformed ahead ("wino" format), which the kernel
 * would redo by a reorder on every run, since the weights are plain and change every step
 * (ResNet-32 at batch 128: 0.7-0.9 ms per 64-channel convolution on one thread, 7.6 ms a step);
 * for training it transforms them itself, in its scratchpad, on all threads (the forward
 * convolutions 7 ms a step shorter, Intel Xeon, 2 threads). */
static ipro_status forward_desc(ipro_onednn_kernel *kernel, const ipro_onednn_conv_geometry *g,
                                const any_layouts *any, dnnl_prop_kind_t kind, bool has_bias,
                                dnnl_convolution_desc_t *desc, ipro_error *err) {
  return forward_desc_with(g, any, kind, has_bias, algorithm_for(kernel, g, any, has_bias), desc,
                           err);
}

/* ---- Conv run as oneDNN's data gradient ----
 *
 * oneDNN 2.6's AVX-512 direct forward kernel (jit:avx512_core, 16-channel blocks) runs the 3×3
 * convolutions of stride 1 over rows of 32 pixels well below its data-gradient kernel, which does
 * the same products. Isolated, 2 threads, batch 128, the median of 22 runs on the AMD EPYC Zen 5
 * of session 34 (activations in 16-channel blocks): 16 to 16 channels at 32×32 1.68 ms forward
 * against 1.34 as the data gradient, 16 to 12 1.66 against 1.31, 32 to 16 336 against 389
 * GFLOP/s, 32 to 12 239 against 302; over rows of 8 to 28 pixels the two are level, and over
 * rows of 40 to 64 the forward kernel is the faster (by 10-25%). So such a Conv without bias, where
 * the direct algorithm runs (Winograd's runs from 32 channels in and out), is the data gradient
 * of the convolution from Y's channels to X's with W turned 180° and its channel axes swapped,
 * W'[c][k][2 - i][2 - j] = W[k][c][i][j]: its dX at dY = X is
 *   Σ over c, i', j' of X[c][h - i' + 1][w - j' + 1] · W'[c][k][i'][j']
 *   = Σ over c, i, j of X[c][h + i - 1][w + j - 1] · W[k][c][i][j] = Y[k][h][w].
 * A loop step lays W' out plain in the workspace on each run (W changes every step: C·K·9
 * floats, which the direct forward does not need), then oneDNN's primitive reads it through its
 * weights' reorder as the direct forward reads W. IPRO_ONEDNN_FORWARD_AS_DATA_GRADIENT=0 keeps
 * the forward kernel. */
#define DATA_GRADIENT_ROW 32 /* the output rows' width where the forward kernel lags */

typedef struct {
  int64_t channels, features; /* X's C and Y's K */
  size_t flipped_at;          /* W' in the workspace */
} flipped_weights;

static ipro_status flip_weights_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                    void *const *outputs, char *workspace, uint64_t step,
                                    ipro_error *err) {
  (void)outputs, (void)step, (void)err;
  const flipped_weights *s = kernel->state;
  const float *w = inputs[1];
  float *flipped = (float *)(workspace + s->flipped_at);
  for (int64_t k = 0; k < s->features; k++)
    for (int64_t c = 0; c < s->channels; c++)
      for (int t = 0; t < 9; t++)
        flipped[(c * s->features + k) * 9 + 8 - t] = w[(k * s->channels + c) * 9 + t];
  return IPRO_OK;
}

/* Whether node, a Conv of X, W and Y without bias, runs as the data gradient (see above): its
 * window is ipro_onednn_conv_3x3_stride's of stride 1. */
static bool forward_as_data_gradient(const ipro_node *node, const ipro_shape *x,
                                     const ipro_shape *w, const ipro_shape *y, bool has_bias) {
  return !has_bias && ipro_onednn_conv_3x3_stride(node, x, w, y) == 1 &&
         y->dims[3] == DATA_GRADIENT_ROW && ipro_onednn_channel_block() == 16 &&
         (x->dims[1] < WINOGRAD_MIN_CHANNELS || y->dims[1] < WINOGRAD_MIN_CHANNELS) &&
         !ipro_onednn_switched_off("IPRO_ONEDNN_FORWARD_AS_DATA_GRADIENT");
}

/* The Conv of geometry g (X and Y: the graph's tensors x and y) as the data gradient: its steps
 * added and *taken set, or nothing added and *taken false where oneDNN would have only its
 * reference kernel for it in the carried layouts. */
static ipro_status build_forward_as_data_gradient(ipro_onednn_kernel *kernel, int x, int y,
                                                  ipro_onednn_conv_geometry *g, bool *taken,
                                                  ipro_error *err) {
  *taken = false;
  any_layouts any;
  dnnl_memory_desc_t flipped, flipped_any;
  const int64_t flipped_dims[4] = {g->x.dims[1], g->y.dims[1], 3, 3};
  if (any_layouts_of(kernel, x, y, g, &any, err) ||
      ipro_onednn_plain_md(&flipped, 4, flipped_dims, err) ||
      ipro_onednn_any_md(&flipped, &flipped_any, err))
    return IPRO_ERROR;
  /* the transposed convolution: its source Y-shaped, its destination X-shaped */
  dnnl_convolution_desc_t forward, data;
  dnnl_primitive_desc_t hint = NULL;
  IPRO_ONEDNN_CHECK(dnnl_dilated_convolution_forward_desc_init(
      &forward, dnnl_forward_training, dnnl_convolution_direct, &any.y, &flipped_any, NULL, &any.x,
      g->strides, g->dilations, g->pads_begin, g->pads_end));
  IPRO_ONEDNN_CHECK(dnnl_dilated_convolution_backward_data_desc_init(
      &data, dnnl_convolution_direct, &any.y, &flipped_any, &any.x, g->strides, g->dilations,
      g->pads_begin, g->pads_end));
  if (ipro_onednn_describe(kernel, &forward, NULL, NULL, &hint, err)) return IPRO_ERROR;
  ipro_status status = IPRO_OK;
  if (!ipro_onednn_reference_only(kernel, &data, hint)) {
    flipped_weights *s = ipro_onednn_state_create(kernel, sizeof *s, err);
    if (!s) {
      status = IPRO_ERROR;
    } else {
      *s = (flipped_weights){g->x.dims[1], g->y.dims[1],
                             ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&flipped))};
      const ipro_onednn_operand operands[] = {
          {DNNL_ARG_DIFF_DST, IPRO_ONEDNN_INPUT, 0, &g->x, false},
          {DNNL_ARG_WEIGHTS, IPRO_ONEDNN_INTERMEDIATE, s->flipped_at, &flipped, false},
          {DNNL_ARG_DIFF_SRC, IPRO_ONEDNN_OUTPUT, 0, &g->y, true},
      };
      status = ipro_onednn_add_loop_step(kernel, flip_weights_run, err);
      if (status == IPRO_OK)
        status = ipro_onednn_layouts_step(kernel, &data, hint, operands, 3, err);
      *taken = status == IPRO_OK;
    }
  }
  dnnl_primitive_desc_destroy(hint);
  return status;
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_build_conv(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                   const ipro_node *node, ipro_error *err) {
  if (ipro_onednn_small_conv_takes(kernel, graph, node))
    return ipro_onednn_build_small_conv(kernel, graph, node, err);
  if (ipro_onednn_conv3x3_loops_take(kernel, graph, node))
    return ipro_onednn_build_conv3x3_loops(kernel, graph, node, err);
  ipro_shape x, w, y, b;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_input_shape(graph, node, 1, &w, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  bool has_bias = ipro_node_input(graph, node, 2) != NULL;
  if (has_bias && ipro_onednn_input_shape(graph, node, 2, &b, err)) return IPRO_ERROR;
  ipro_onednn_conv_geometry g;
  if (ipro_onednn_conv_geometry_of(node, &x, &w, &y, &g, err)) return IPRO_ERROR;
  if (has_bias && (b.rank != 1 || b.dims[0] != y.dims[1]))
    return ipro_onednn_unsupported(err, "the bias does not match the output channels");

  int x_at = node->inputs[0], y_at = node->outputs[0];
  if (forward_as_data_gradient(node, &x, &w, &y, has_bias)) {
    bool taken = false;
    if (build_forward_as_data_gradient(kernel, x_at, y_at, &g, &taken, err)) return IPRO_ERROR;
    if (taken) return IPRO_OK;
    if (ipro_onednn_conv_geometry_of(node, &x, &w, &y, &g, err)) return IPRO_ERROR;
  }
  any_layouts any;
  dnnl_convolution_desc_t desc;
  const ipro_onednn_operand operands[] = {
      {DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0, &g.x, false},
      {DNNL_ARG_WEIGHTS, IPRO_ONEDNN_INPUT, 1, &g.w, false},
      {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0, &g.y, true},
      {DNNL_ARG_BIAS, IPRO_ONEDNN_INPUT, 2, &g.b, false},
  };
  if (any_layouts_of(kernel, x_at, y_at, &g, &any, err) ||
      forward_desc(kernel, &g, &any, dnnl_forward_training, has_bias, &desc, err))
    return IPRO_ERROR;
  if (carries(kernel, x_at, y_at) && ipro_onednn_reference_only(kernel, &desc, NULL) &&
      (leave_to_onednn(&g, &any, err) ||
       forward_desc(kernel, &g, &any, dnnl_forward_training, has_bias, &desc, err)))
    return IPRO_ERROR;
  return ipro_onednn_layouts_step(kernel, &desc, NULL, operands, has_bias ? 4 : 3, err);
}

typedef enum { BACKWARD_DATA, BACKWARD_WEIGHTS } backward_kind;

/* The backward-data or backward-weights convolution of g (X and Y: the graph's tensors x and y)
 * in *desc, with its forward-training pd as the hint in *hint (the caller destroys it, also on
 * failure): in the carried layouts, or, when those leave oneDNN only its reference kernel, with X
 * and Y left to oneDNN too. */
static ipro_status backward_desc(ipro_onednn_kernel *kernel, backward_kind kind, int x, int y,
                                 bool has_bias, ipro_onednn_conv_geometry *g,
                                 dnnl_convolution_desc_t *desc, dnnl_primitive_desc_t *hint,
                                 ipro_error *err) {
  any_layouts any;
  dnnl_convolution_desc_t forward;
  *hint = NULL;
  if (any_layouts_of(kernel, x, y, g, &any, err)) return IPRO_ERROR;
  for (int attempt = 0; attempt < 2; attempt++) {
    if (attempt == 1) { /* the carried layouts left oneDNN only its reference kernel */
      dnnl_primitive_desc_destroy(*hint);
      *hint = NULL;
      if (leave_to_onednn(g, &any, err)) return IPRO_ERROR;
    }
    dnnl_alg_kind_t algorithm = algorithm_for(kernel, g, &any, has_bias);
    if (forward_desc_with(g, &any, dnnl_forward_training, has_bias, algorithm, &forward, err) ||
        ipro_onednn_describe(kernel, &forward, NULL, NULL, hint, err))
      return IPRO_ERROR;
    if (kind == BACKWARD_DATA)
      IPRO_ONEDNN_CHECK(dnnl_dilated_convolution_backward_data_desc_init(
          desc, algorithm, &any.x, &any.w, &any.y, g->strides, g->dilations, g->pads_begin,
          g->pads_end));
    else
      IPRO_ONEDNN_CHECK(dnnl_dilated_convolution_backward_weights_desc_init(
          desc, algorithm, &any.x, &any.w, has_bias ? &g->b : NULL, &any.y, g->strides,
          g->dilations, g->pads_begin, g->pads_end));
    if (attempt == 1 || !carries(kernel, x, y) || !ipro_onednn_reference_only(kernel, desc, *hint))
      break;
  }
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

/* dY (N, M, out...), W (M, C/group, k...) → dX (N, C, in...). */
ipro_status ipro_onednn_build_conv_grad_input(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                              const ipro_node *node, ipro_error *err) {
  if (ipro_onednn_small_conv_takes(kernel, graph, node))
    return ipro_onednn_build_small_conv(kernel, graph, node, err);
  if (ipro_onednn_conv3x3_loops_take(kernel, graph, node))
    return ipro_onednn_build_conv3x3_loops(kernel, graph, node, err);
  ipro_shape dy, w, dx;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &w, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) ||
      ipro_onednn_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  ipro_onednn_conv_geometry g;
  if (ipro_onednn_conv_geometry_of(node, &dx, &w, &dy, &g, err)) return IPRO_ERROR;

  dnnl_primitive_desc_t hint = NULL;
  dnnl_convolution_desc_t desc;
  const ipro_onednn_operand operands[] = {
      {DNNL_ARG_DIFF_DST, IPRO_ONEDNN_INPUT, 0, &g.y, false},
      {DNNL_ARG_WEIGHTS, IPRO_ONEDNN_INPUT, 1, &g.w, false},
      {DNNL_ARG_DIFF_SRC, IPRO_ONEDNN_OUTPUT, 0, &g.x, true},
  };
  if (backward_desc(kernel, BACKWARD_DATA, node->outputs[0], node->inputs[0], false, &g, &desc,
                    &hint, err) ||
      ipro_onednn_layouts_step(kernel, &desc, hint, operands, 3, err))
    goto fail;
  dnnl_primitive_desc_destroy(hint);
  return IPRO_OK;
fail:
  if (hint) dnnl_primitive_desc_destroy(hint);
  return IPRO_ERROR;
}

/* dY (N, M, out...), X (N, C, in...) → dW (M, C/group, k...), [dB (M)]. */
ipro_status ipro_onednn_build_conv_grad_weight(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                               const ipro_node *node, ipro_error *err) {
  if (ipro_onednn_small_conv_takes(kernel, graph, node))
    return ipro_onednn_build_small_conv(kernel, graph, node, err);
  if (ipro_onednn_conv3x3_loops_take(kernel, graph, node))
    return ipro_onednn_build_conv3x3_loops(kernel, graph, node, err);
  ipro_shape dy, x, dw, db;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dw, err) ||
      ipro_onednn_check_shape_attribute(node, "weight_shape", &dw, err))
    return IPRO_ERROR;
  bool has_bias = ipro_node_output(graph, node, 1) != NULL;
  if (has_bias && ipro_onednn_output_shape(graph, node, 1, &db, err)) return IPRO_ERROR;
  ipro_onednn_conv_geometry g;
  if (ipro_onednn_conv_geometry_of(node, &x, &dw, &dy, &g, err)) return IPRO_ERROR;
  if (has_bias && ipro_shape_elements(&db) != dy.dims[1])
    return ipro_onednn_unsupported(err, "dB does not match the output channels");

  dnnl_primitive_desc_t hint = NULL;
  dnnl_convolution_desc_t desc;
  const ipro_onednn_operand operands[] = {
      {DNNL_ARG_DIFF_DST, IPRO_ONEDNN_INPUT, 0, &g.y, false},
      {DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 1, &g.x, false},
      {DNNL_ARG_DIFF_WEIGHTS, IPRO_ONEDNN_OUTPUT, 0, &g.w, true},
      {DNNL_ARG_DIFF_BIAS, IPRO_ONEDNN_OUTPUT, 1, &g.b, true},
  };
  if (backward_desc(kernel, BACKWARD_WEIGHTS, node->inputs[1], node->inputs[0], has_bias, &g, &desc,
                    &hint, err) ||
      ipro_onednn_layouts_step(kernel, &desc, hint, operands, has_bias ? 4 : 3, err))
    goto fail;
  dnnl_primitive_desc_destroy(hint);
  return IPRO_OK;
fail:
  if (hint) dnnl_primitive_desc_destroy(hint);
  return IPRO_ERROR;
}
