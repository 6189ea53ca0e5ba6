/* The weight gradient of a 3×3 convolution (ipro.ConvGradWeight: dY, X → dW [, dB]) of stride 1,
 * one pixel of padding on every side, no dilation and no groups, as AVX2 + FMA loops of the CPU
 * backend, where its channel block is 8 (onednn_layouts.c: on a CPU with AVX2 and not AVX-512, or
 * under ONEDNN_MAX_CPU_ISA=AVX2). The loops read X and dY in 8-channel blocks: where they are
 * carried so (onednn_layouts.c), where they lie; a plain one is reordered into an intermediate
 * first (as oneDNN's primitive would), so the bytes of dW do not depend on which operands a
 * program carries (a compiled program for another CPU level carries fewer). That is every
 * residual block's convolution in the CIFAR ResNets, whose weight gradients oneDNN 2.6's AVX2
 * kernel (jit:avx2) runs at 58-65 GFLOP/s on the 2-core AMD EPYC (Zen 1) of sessions 18-21, against
 * 72-89 for the same shapes' forward and data gradient (bench/conv_roofline): the weight
 * gradient was 36% of ResNet-32's end-to-end step there. These loops run the same shapes at
 * 88-98 GFLOP/s (README, "On a CPU with AVX2 and not AVX-512").
 *
 * With X's 8-lane blocks b_i, dY's b_o and a tap (kh, kw), the gradient is 64 sums per tap,
 *   dW[o][i][kh][kw] = sum over images and output pixels (oh, ow) of
 *                      dY[o][oh][ow] * X[i][oh + kh - 1][ow + kw - 1]   (zero outside X),
 * kept as eight vectors over o (one per lane i), the 8 × 8 block of one tap. Along a row, the X
 * pixel iw meets the output pixels iw + 1 - kw of the three taps kw: each X lane is broadcast
 * once and multiplied by three dY vectors held in registers (the row's previous, current and
 * next pixel), so four lanes of i and the three kw make twelve accumulators, and a pixel costs
 * one dY load and four broadcasts per twelve FMAs (oneDNN's kernel broadcasts per FMA).
 *
 * The work is items (chunk, b_o, b_i): the images are cut into a number of chunks that depends
 * on the shapes alone (enough items for many cores, at least one image each), each item sums its
 * chunk's images into its own partial 8 × 8 × 9 block, and the partials are added in chunk order
 * into the plain dW: the bytes do not depend on the number of threads. dB (dY summed over images
 * and pixels) is summed the same way by the items of b_i = 0. Lanes beyond X's or dY's channels
 * (a padded last block) meet only sums that are never written out, whatever they hold.
 * IPRO_ONEDNN_GRAD_WEIGHT_LOOPS=0 leaves these nodes to oneDNN. */
#include <immintrin.h>
#include <string.h>

#include "onednn_internal.h"

#define LANES 8
#define TAPS 9
#define BLOCK_FLOATS (TAPS * LANES * LANES) /* one (b_o, b_i) pair: [tap][i][o] */
/* Items the work is cut into, at least (when there are images enough): four per core on 16. */
#define ITEMS_WANTED 64

typedef struct {
  int64_t images, channels, height, width, features;
  int64_t in_blocks, out_blocks, chunks;
  bool bias;
  size_t partials_at; /* chunks × out_blocks × in_blocks blocks, then chunks × out_blocks × 8 */
} grad_weight_state;

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline
#define FMA(a, b, acc) acc = _mm256_fmadd_ps(a, b, acc)

/* Adds one image's share to the partial block p ([tap][i][o]) of X's block x and dY's block dy
 * (height × width vectors each), for lanes i in [half, half + 4) of the three taps of row kh. */
INLINE_AVX2 void row_of_taps(const float *x, const float *dy, float *p, int64_t height,
                             int64_t width, int kh, int half) {
  __m256 acc[3][4]; /* [kw][i - half], vectors over o */
  for (int kw = 0; kw < 3; kw++)
    for (int j = 0; j < 4; j++)
      acc[kw][j] = _mm256_loadu_ps(p + ((kh * 3 + kw) * LANES + half + j) * LANES);
  int64_t first = kh == 0 ? 1 : 0, last = kh == 2 ? height - 1 : height; /* output rows */
  for (int64_t oh = first; oh < last; oh++) {
    const float *d = dy + oh * width * LANES, *s = x + (oh + kh - 1) * width * LANES + half;
    /* X pixel 0 meets output pixel 0 (kw = 1) and 1 (kw = 0) */
    __m256 previous = _mm256_loadu_ps(d), current = _mm256_loadu_ps(d + LANES);
    for (int j = 0; j < 4; j++) {
      __m256 b = _mm256_broadcast_ss(s + j);
      FMA(b, previous, acc[1][j]);
      FMA(b, current, acc[0][j]);
    }
    /* X pixel iw meets output pixels iw + 1 (kw = 0), iw (kw = 1) and iw - 1 (kw = 2) */
    for (int64_t iw = 1; iw < width - 1; iw++) {
      __m256 next = _mm256_loadu_ps(d + (iw + 1) * LANES);
      const float *q = s + iw * LANES;
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        __m256 b = _mm256_broadcast_ss(q + j);
        FMA(b, next, acc[0][j]);
        FMA(b, current, acc[1][j]);
        FMA(b, previous, acc[2][j]);
      }
      previous = current, current = next;
    }
    /* X pixel width - 1 meets output pixel width - 1 (kw = 1) and width - 2 (kw = 2) */
    const float *q = s + (width - 1) * LANES;
    for (int j = 0; j < 4; j++) {
      __m256 b = _mm256_broadcast_ss(q + j);
      FMA(b, current, acc[1][j]);
      FMA(b, previous, acc[2][j]);
    }
  }
  for (int kw = 0; kw < 3; kw++)
    for (int j = 0; j < 4; j++)
      _mm256_storeu_ps(p + ((kh * 3 + kw) * LANES + half + j) * LANES, acc[kw][j]);
}

/* One image's share of the block pair: the three rows of taps, each for both halves of i. Not
 * inlined into the OpenMP region (whose outlined body does not inherit a target attribute under
 * clang), with the loops of each row of taps inlined: as a call of its own, with kh and the half
 * not constants, the same loops took 40% longer. */
AVX2 __attribute__((noinline)) static void image_share(const float *x, const float *dy, float *p,
                                                       int64_t height, int64_t width) {
#pragma GCC unroll 3
  for (int kh = 0; kh < 3; kh++) {
    row_of_taps(x, dy, p, height, width, kh, 0);
    row_of_taps(x, dy, p, height, width, kh, 4);
  }
}

/* One image's dY block summed over its pixels into bias (8 floats). */
AVX2 __attribute__((noinline)) static void bias_share(const float *dy, float *bias,
                                                      int64_t pixels) {
  __m256 acc = _mm256_loadu_ps(bias);
  for (int64_t p = 0; p < pixels; p++)
    acc = _mm256_add_ps(acc, _mm256_loadu_ps(dy + p * LANES));
  _mm256_storeu_ps(bias, acc);
}

static ipro_status grad_weight_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step,
                                   ipro_error *err) {
  (void)step, (void)err;
  const grad_weight_state *s = kernel->state;
  const float *dy = inputs[0], *x = inputs[1];
  float *partials = (float *)(workspace + s->partials_at);
  int64_t pixels = s->height * s->width, plane = pixels * LANES;
  int64_t pairs = s->out_blocks * s->in_blocks, items = s->chunks * pairs;
  float *bias_partials = partials + items * BLOCK_FLOATS;
  IPRO_ONEDNN_PARALLEL_FOR(s->images * pixels * (s->channels + s->features))
  for (int64_t item = 0; item < items; item++) {
    int64_t chunk = item / pairs, bo = item % pairs / s->in_blocks, bi = item % s->in_blocks;
    float *p = partials + item * BLOCK_FLOATS;
    float *bias = s->bias && bi == 0 ? bias_partials + (chunk * s->out_blocks + bo) * LANES : NULL;
    memset(p, 0, BLOCK_FLOATS * sizeof *p);
    if (bias) memset(bias, 0, LANES * sizeof *bias);
    for (int64_t n = chunk * s->images / s->chunks; n < (chunk + 1) * s->images / s->chunks; n++) {
      const float *dy_block = dy + (n * s->out_blocks + bo) * plane;
      image_share(x + (n * s->in_blocks + bi) * plane, dy_block, p, s->height, s->width);
      if (bias) bias_share(dy_block, bias, pixels);
    }
  }
  /* dW[o][i][tap] (and dB[o]): the chunks' partials in chunk order */
  float *dw = outputs[0];
  IPRO_ONEDNN_PARALLEL_FOR(s->chunks * s->features * s->channels * TAPS)
  for (int64_t o = 0; o < s->features; o++) {
    for (int64_t i = 0; i < s->channels; i++)
      for (int t = 0; t < TAPS; t++) {
        int64_t at = ((o / LANES * s->in_blocks + i / LANES) * TAPS + t) * LANES * LANES +
                     i % LANES * LANES + o % LANES;
        float sum = 0.0f;
        for (int64_t c = 0; c < s->chunks; c++)
          sum += partials[c * pairs * BLOCK_FLOATS + at];
        dw[(o * s->channels + i) * TAPS + t] = sum;
      }
    if (s->bias) {
      float sum = 0.0f;
      for (int64_t c = 0; c < s->chunks; c++)
        sum += bias_partials[(c * s->out_blocks + o / LANES) * LANES + o % LANES];
      ((float *)outputs[1])[o] = sum;
    }
  }
  return IPRO_OK;
}

/* dY's, X's and dW's shapes, when the node is a weight gradient of a 3×3 convolution of stride 1,
 * padding 1, no dilation and no groups over images at least two pixels wide (a row's first and
 * last X pixels are different pixels). */
static bool shapes_of(const ipro_graph *graph, const ipro_node *node, ipro_shape *dy, ipro_shape *x,
                      ipro_shape *dw) {
  ipro_error err;
  if (node->op != IPRO_OP_CONV_GRAD_WEIGHT ||
      ipro_onednn_input_shape(graph, node, 0, dy, &err) != IPRO_OK ||
      ipro_onednn_input_shape(graph, node, 1, x, &err) != IPRO_OK ||
      ipro_onednn_output_shape(graph, node, 0, dw, &err) != IPRO_OK || x->rank != 4)
    return false;
  ipro_onednn_conv_geometry g;
  if (ipro_onednn_conv_geometry_of(node, x, dw, dy, &g, &err) != IPRO_OK ||
      ipro_node_attr_int(node, "group", 1) != 1 || dw->dims[2] != 3 || dw->dims[3] != 3 ||
      dy->dims[2] != x->dims[2] || dy->dims[3] != x->dims[3] || x->dims[3] < 2)
    return false;
  for (int s = 0; s < 2; s++)
    if (g.strides[s] != 1 || g.dilations[s] != 0 || g.pads_begin[s] != 1 || g.pads_end[s] != 1)
      return false;
  return true;
}

bool ipro_onednn_grad_weight_loops_take(const ipro_graph *graph, const ipro_node *node) {
  ipro_shape dy, x, dw;
  return shapes_of(graph, node, &dy, &x, &dw) && ipro_onednn_channel_block() == LANES &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         !ipro_onednn_switched_off("IPRO_ONEDNN_GRAD_WEIGHT_LOOPS");
}

/* Input i (dY or X, of this shape) in 8-channel blocks: reordered into them by a step before the
 * loops when it lies plain. */
static ipro_status stage_blocked(ipro_onednn_kernel *kernel, const ipro_node *node, int i,
                                 const ipro_shape *shape, ipro_error *err) {
  if (ipro_onednn_carried(kernel, node->inputs[i])) return IPRO_OK;
  dnnl_memory_desc_t plain, blocked;
  if (ipro_onednn_plain_md(&plain, shape->rank, shape->dims, err) ||
      ipro_onednn_channel_blocked_md(&plain, &blocked, err))
    return IPRO_ERROR;
  return ipro_onednn_stage_input(kernel, i, &plain, &blocked, err);
}

ipro_status ipro_onednn_build_grad_weight_loops(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                                const ipro_node *node, ipro_error *err) {
  ipro_shape dy, x, dw;
  if (!ipro_onednn_grad_weight_loops_take(graph, node) || !shapes_of(graph, node, &dy, &x, &dw))
    return ipro_onednn_unsupported(err, "not a 3×3 weight gradient of carried operands");
  bool bias = ipro_node_output(graph, node, 1) != NULL;
  ipro_shape db;
  if (bias && (ipro_onednn_output_shape(graph, node, 1, &db, err) ||
               ipro_shape_elements(&db) != dy.dims[1]))
    return ipro_onednn_unsupported(err, "dB does not match the output channels");
  if (stage_blocked(kernel, node, 0, &dy, err) || stage_blocked(kernel, node, 1, &x, err))
    return IPRO_ERROR;
  grad_weight_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  int64_t in_blocks = (x.dims[1] + LANES - 1) / LANES,
          out_blocks = (dy.dims[1] + LANES - 1) / LANES;
  int64_t pairs = in_blocks * out_blocks, chunks = (ITEMS_WANTED + pairs - 1) / pairs;
  if (chunks > x.dims[0]) chunks = x.dims[0];
  if (chunks < 1) chunks = 1;
  *s = (grad_weight_state){x.dims[0], x.dims[1],  x.dims[2], x.dims[3], dy.dims[1],
                           in_blocks, out_blocks, chunks,    bias,      0};
  size_t floats =
      (size_t)(chunks * pairs * BLOCK_FLOATS + (bias ? chunks * out_blocks * LANES : 0));
  s->partials_at = ipro_onednn_reserve(kernel, floats * sizeof(float));
  return ipro_onednn_add_loop_step(kernel, grad_weight_run, err);
}
