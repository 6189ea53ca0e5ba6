/* Convolutions to at most three output channels, as C kernels of the CPU backend: Conv,
 * ipro.ConvGradInput and ipro.ConvGradWeight of a 3×3 window, stride 1, no dilation, one pixel of
 * padding on every side, no groups and no bias, whose X (dX) has at most 16 channels and is
 * carried channel-blocked (onednn_layouts.c), so that each pixel's channels are one vector of 16
 * floats (the padding lanes zero), and whose Y (dY) is plain. That is the InfoPro decoder's last
 * convolution (12 channels to the image's 3, or 1 for Fashion-MNIST), where oneDNN 2.6 is weak:
 * its direct kernels either pad the 3 output channels to a block of 16 or, from a padded 12-channel
 * source, have only their reference kernel, and in a program its three passes took 8.8 ms with
 * the reorders they need (ResNet-32 at batch 128, 32×32, 2 threads, Intel Xeon; bench/step_profile
 * --nodes), against 0.6, 0.7 and 0.4 ms for these loops (README).
 *
 * Per pixel, with W's taps laid out as vectors over the 16 channel lanes (wt[m][tap], zero beyond
 * C, prepared from the plain W on every run since W changes every step):
 *   forward:         y[m] = sum of the 16 lanes of  sum_tap x[pixel + tap] * wt[m][tap]
 *   backward-data:   dx[pixel] = sum_{tap, m} dy[m][pixel - tap] * wt[m][tap]
 *   backward-weight: dw[m][tap] = sum over the batch and pixels of dy[m][pixel] * x[pixel + tap]
 * The forward and backward-data write every element of their image once; the weight gradient
 * sums each image into its own partial (in the workspace), and the partials are added in image
 * order, so the bytes do not depend on the number of threads. Images are split over OpenMP
 * threads (IPRO_ONEDNN_PARALLEL_FOR).
 *
 * The loops use AVX-512 (a target attribute: the build targets baseline x86-64) and read one block
 * of 16 channels; a node is eligible only where the blocks are 16 channels
 * (ipro_onednn_channel_block), which is on a CPU with AVX-512 (with AVX2 they are 8 and oneDNN
 * runs these nodes). IPRO_ONEDNN_SMALL_CONV=0 leaves these nodes to oneDNN. */
#include <immintrin.h>
#include <string.h>

#include "onednn_internal.h"

#define LANES 16
#define TAPS 9
#define MAX_FEATURES 3

typedef struct {
  ipro_op op; /* Conv, ipro.ConvGradInput or ipro.ConvGradWeight */
  int64_t images, channels, height, width, features;
  size_t taps_at;     /* wt: features × TAPS × LANES floats in the workspace */
  size_t partials_at; /* the weight gradient's per-image partials, the same shape per image */
} small_conv_state;

/* ---- the loops, per image ---- */

#define AVX512 __attribute__((target("avx512f")))
#define INLINE_AVX512 __attribute__((target("avx512f"), always_inline)) static inline

/* Runs the statements after it for each tap (kh, kw) of the 3×3 window at output pixel (oh, ow)
 * whose input pixel lies inside the image: `tap` (kh * 3 + kw) and `pixel` (the input pixel's
 * index) are in scope there. */
#define FOR_EACH_TAP(oh, ow, height, width)                                                        \
  _Pragma("GCC unroll 3") for (int kh = 0; kh < 3; kh++) _Pragma(                                  \
      "GCC unroll 3") for (int kw = 0; kw < 3;                                                     \
                           kw++) for (int64_t ih = (oh) + kh - 1, iw = (ow) + kw - 1,              \
                                      pixel = ih * (width) + iw, tap = kh * 3 + kw,                \
                                      once = ih >= 0 && ih < (height) && iw >= 0 && iw < (width);  \
                                      once; once = 0)

/* One image's Y (features planes) from its X (height × width vectors). */
INLINE_AVX512 void forward_image(const float *x, const float *wt, float *y, int64_t height,
                                 int64_t width, const int features) {
  int64_t plane = height * width;
  for (int64_t oh = 0; oh < height; oh++)
    for (int64_t ow = 0; ow < width; ow++) {
      __m512 acc[MAX_FEATURES] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      FOR_EACH_TAP(oh, ow, height, width) {
        __m512 v = _mm512_loadu_ps(x + pixel * LANES);
#pragma GCC unroll 3
        for (int m = 0; m < features; m++)
          acc[m] = _mm512_fmadd_ps(v, _mm512_loadu_ps(wt + (m * TAPS + tap) * LANES), acc[m]);
      }
#pragma GCC unroll 3
      for (int m = 0; m < features; m++)
        y[m * plane + oh * width + ow] = _mm512_reduce_add_ps(acc[m]);
    }
}

/* One image's dX (height × width vectors) from its dY. */
INLINE_AVX512 void backward_data_image(const float *dy, const float *wt, float *dx, int64_t height,
                                       int64_t width, const int features) {
  int64_t plane = height * width;
  for (int64_t ih = 0; ih < height; ih++)
    for (int64_t iw = 0; iw < width; iw++) {
      __m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 3
      for (int kh = 0; kh < 3; kh++) {
        int64_t oh = ih - kh + 1;
        if (oh < 0 || oh >= height) continue;
#pragma GCC unroll 3
        for (int kw = 0; kw < 3; kw++) {
          int64_t ow = iw - kw + 1;
          if (ow < 0 || ow >= width) continue;
#pragma GCC unroll 3
          for (int m = 0; m < features; m++)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(dy[m * plane + oh * width + ow]),
                                  _mm512_loadu_ps(wt + (m * TAPS + kh * 3 + kw) * LANES), acc);
        }
      }
      _mm512_storeu_ps(dx + (ih * width + iw) * LANES, acc);
    }
}

/* One image's partial weight gradient (features × TAPS vectors) from its dY and X. */
INLINE_AVX512 void backward_weight_image(const float *dy, const float *x, float *partial,
                                         int64_t height, int64_t width, const int features) {
  int64_t plane = height * width;
  __m512 acc[MAX_FEATURES][TAPS];
#pragma GCC unroll 27
  for (int i = 0; i < MAX_FEATURES * TAPS; i++)
    acc[i / TAPS][i % TAPS] = _mm512_setzero_ps();
  for (int64_t oh = 0; oh < height; oh++)
    for (int64_t ow = 0; ow < width; ow++) {
      __m512 d[MAX_FEATURES];
#pragma GCC unroll 3
      for (int m = 0; m < features; m++)
        d[m] = _mm512_set1_ps(dy[m * plane + oh * width + ow]);
      FOR_EACH_TAP(oh, ow, height, width) {
        __m512 v = _mm512_loadu_ps(x + pixel * LANES);
#pragma GCC unroll 3
        for (int m = 0; m < features; m++)
          acc[m][tap] = _mm512_fmadd_ps(d[m], v, acc[m][tap]);
      }
    }
#pragma GCC unroll 27
  for (int i = 0; i < MAX_FEATURES * TAPS; i++)
    if (i / TAPS < features) _mm512_storeu_ps(partial + i * LANES, acc[i / TAPS][i % TAPS]);
}

/* One image of a pass: a and b are its X and wt (forward), dY and wt (backward-data) or dY and X
 * (backward-weight). Not inlined into the OpenMP region (whose outlined body does not inherit a
 * target attribute under clang), with the feature count a constant of each specialisation. */
#define SPECIALISED(call)                                                                          \
  switch (s->features) {                                                                           \
  case 1: call(1); break;                                                                          \
  case 2: call(2); break;                                                                          \
  default: call(3); break;                                                                         \
  }

AVX512 __attribute__((noinline)) static void image_pass(const small_conv_state *s, const float *a,
                                                        const float *b, float *out) {
#define FORWARD(f) forward_image(a, b, out, s->height, s->width, f)
#define BACKWARD_DATA(f) backward_data_image(a, b, out, s->height, s->width, f)
#define BACKWARD_WEIGHT(f) backward_weight_image(a, b, out, s->height, s->width, f)
  switch (s->op) {
  case IPRO_OP_CONV: SPECIALISED(FORWARD) break;
  case IPRO_OP_CONV_GRAD_INPUT: SPECIALISED(BACKWARD_DATA) break;
  default: SPECIALISED(BACKWARD_WEIGHT) break;
  }
#undef FORWARD
#undef BACKWARD_DATA
#undef BACKWARD_WEIGHT
}

/* ---- the run ---- */

/* wt[m][tap][c] = W[m][c][tap] for c < C, 0 in the padding lanes. */
static void lay_out_taps(const small_conv_state *s, const float *w, float *wt) {
  memset(wt, 0, (size_t)(s->features * TAPS * LANES) * sizeof *wt);
  for (int64_t m = 0; m < s->features; m++)
    for (int64_t c = 0; c < s->channels; c++)
      for (int t = 0; t < TAPS; t++)
        wt[(m * TAPS + t) * LANES + c] = w[(m * s->channels + c) * TAPS + t];
}

/* dW[m][c][tap]: the images' partials summed in image order. */
static void sum_partials(const small_conv_state *s, const float *partials, float *dw) {
  int64_t per_image = s->features * TAPS * LANES;
  for (int64_t m = 0; m < s->features; m++)
    for (int64_t c = 0; c < s->channels; c++)
      for (int t = 0; t < TAPS; t++) {
        float sum = 0.0f;
        for (int64_t n = 0; n < s->images; n++)
          sum += partials[n * per_image + (m * TAPS + t) * LANES + c];
        dw[(m * s->channels + c) * TAPS + t] = sum;
      }
}

static ipro_status small_conv_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                  void *const *outputs, char *workspace, uint64_t step,
                                  ipro_error *err) {
  (void)step, (void)err;
  const small_conv_state *s = kernel->state;
  int64_t pixels = s->height * s->width, vectors = pixels * LANES, planes = s->features * pixels;
  bool weights = s->op == IPRO_OP_CONV_GRAD_WEIGHT;
  const float *a = inputs[0], *b = inputs[1]; /* X or dY; W or X */
  float *out = weights ? (float *)(workspace + s->partials_at) : outputs[0];
  if (!weights) {
    float *wt = (float *)(workspace + s->taps_at);
    lay_out_taps(s, b, wt);
    b = wt;
  }
  /* per image: a's, b's (W's taps are shared) and out's extents */
  int64_t a_step = s->op == IPRO_OP_CONV ? vectors : planes, b_step = weights ? vectors : 0;
  int64_t out_step = s->op == IPRO_OP_CONV              ? planes
                     : s->op == IPRO_OP_CONV_GRAD_INPUT ? vectors
                                                        : s->features * TAPS * LANES;
  IPRO_ONEDNN_PARALLEL_FOR(s->images * vectors * s->features)
  for (int64_t n = 0; n < s->images; n++)
    image_pass(s, a + n * a_step, b + n * b_step, out + n * out_step);
  if (weights) sum_partials(s, out, outputs[0]);
  return IPRO_OK;
}

/* ---- which nodes, and the build ---- */

/* The forward's X, W and Y shapes and the graph's tensors X (or dX) and Y (or dY), wherever the
 * node holds them; false for a node that is not a convolution or its gradient. */
static bool operands_of(const ipro_graph *graph, const ipro_node *node, ipro_shape *x,
                        ipro_shape *w, ipro_shape *y, int *x_tensor, int *y_tensor) {
  ipro_error err;
  switch (node->op) {
  case IPRO_OP_CONV: /* X, W [, B] → Y; no B here */
    *x_tensor = node->inputs[0], *y_tensor = node->outputs[0];
    return (node->n_inputs < 3 || node->inputs[2] < 0) &&
           ipro_onednn_input_shape(graph, node, 0, x, &err) == IPRO_OK &&
           ipro_onednn_input_shape(graph, node, 1, w, &err) == IPRO_OK &&
           ipro_onednn_output_shape(graph, node, 0, y, &err) == IPRO_OK;
  case IPRO_OP_CONV_GRAD_INPUT: /* dY, W → dX */
    *x_tensor = node->outputs[0], *y_tensor = node->inputs[0];
    return ipro_onednn_input_shape(graph, node, 0, y, &err) == IPRO_OK &&
           ipro_onednn_input_shape(graph, node, 1, w, &err) == IPRO_OK &&
           ipro_onednn_output_shape(graph, node, 0, x, &err) == IPRO_OK;
  case IPRO_OP_CONV_GRAD_WEIGHT: /* dY, X → dW [, dB]; no dB here */
    *x_tensor = node->inputs[1], *y_tensor = node->inputs[0];
    return (node->n_outputs < 2 || node->outputs[1] < 0) &&
           ipro_onednn_input_shape(graph, node, 0, y, &err) == IPRO_OK &&
           ipro_onednn_input_shape(graph, node, 1, x, &err) == IPRO_OK &&
           ipro_onednn_output_shape(graph, node, 0, w, &err) == IPRO_OK;
  default: return false;
  }
}

bool ipro_onednn_small_conv_takes(const ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                  const ipro_node *node) {
  ipro_shape x, w, y;
  int x_tensor = -1, y_tensor = -1;
  if (!operands_of(graph, node, &x, &w, &y, &x_tensor, &y_tensor) ||
      ipro_onednn_switched_off("IPRO_ONEDNN_SMALL_CONV"))
    return false;
  /* X carried channel-blocked in one block of 16 (AVX-512's blocks), Y plain */
  if (ipro_onednn_channel_block() != LANES || !ipro_onednn_carried(kernel, x_tensor) ||
      ipro_onednn_carried(kernel, y_tensor) || x.rank != 4 || x.dims[1] > LANES ||
      y.dims[1] > MAX_FEATURES)
    return false;
  ipro_onednn_conv_geometry g;
  ipro_error err;
  if (ipro_onednn_conv_geometry_of(node, &x, &w, &y, &g, &err) != IPRO_OK ||
      ipro_node_attr_int(node, "group", 1) != 1 || w.dims[2] != 3 || w.dims[3] != 3 ||
      y.dims[2] != x.dims[2] || y.dims[3] != x.dims[3])
    return false;
  for (int s = 0; s < 2; s++)
    if (g.strides[s] != 1 || g.dilations[s] != 0 || g.pads_begin[s] != 1 || g.pads_end[s] != 1)
      return false;
  return true;
}

ipro_status ipro_onednn_build_small_conv(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                         const ipro_node *node, ipro_error *err) {
  ipro_shape x, w, y;
  int x_tensor, y_tensor;
  if (!ipro_onednn_small_conv_takes(kernel, graph, node) ||
      !operands_of(graph, node, &x, &w, &y, &x_tensor, &y_tensor))
    return ipro_onednn_unsupported(err, "not a small convolution");
  small_conv_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  *s = (small_conv_state){node->op, x.dims[0], x.dims[1], x.dims[2], x.dims[3], y.dims[1], 0, 0};
  size_t taps = (size_t)(s->features * TAPS * LANES) * sizeof(float);
  if (node->op == IPRO_OP_CONV_GRAD_WEIGHT)
    s->partials_at = ipro_onednn_reserve(kernel, (size_t)s->images * taps);
  else
    s->taps_at = ipro_onednn_reserve(kernel, taps);
  return ipro_onednn_add_loop_step(kernel, small_conv_run, err);
}
