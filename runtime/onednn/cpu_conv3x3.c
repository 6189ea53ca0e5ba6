/* 3×3 convolutions of stride 1, one pixel of padding on every side, no dilation and no groups, as
 * AVX2 + FMA loops of the CPU backend where its channel block is 8 (onednn_layouts.c: on a CPU
 * with AVX2 and not AVX-512, or under ONEDNN_MAX_CPU_ISA=AVX2), in all three passes: Conv
 * (X, W [, B] → Y), ipro.ConvGradInput (dY, W → dX) and ipro.ConvGradWeight (dY, X → dW [, dB]);
 * and the weight gradient of the same windows at stride 2. Those are every residual block's
 * convolutions in the CIFAR ResNets, the InfoPro decoder's first and the classifier head's
 * (stride 2). oneDNN 2.6's AVX2 kernels (jit:avx2) run them at 72-81 GFLOP/s forward, 77-89 for
 * the data gradient and 62-65 for the weight gradient on the 2-core AMD EPYC (Zen 1) of sessions
 * 18-21 (bench/conv_roofline, ResNet-32 at batch 128); these loops at 79-96 forward, 77-88 for
 * the data gradient (no faster than oneDNN's) and 77-92 for the weight gradient (README, "On a CPU
 * with AVX2 and not AVX-512"). At stride 2 (session 22) oneDNN's weight gradient ran at 57-72
 * GFLOP/s and these loops at 83-87; forward and data-gradient loops of stride 2 were written and
 * ran no faster than oneDNN's (84-87 and 77-87 against 88-89 and 78-85: both at about the FMA
 * units' peak, counting the taps that meet padding), so those stay oneDNN's.
 *
 * The loops read and write activations in 8-channel blocks (N, C/8, H, W, 8): where a tensor is
 * carried so (onednn_layouts.c), where it lies; a plain input is reordered into an intermediate
 * first and a plain output written into one and reordered out after (as oneDNN's primitives do),
 * so the bytes do not depend on which tensors a program carries (a compiled program for another
 * CPU level carries fewer). Lanes beyond the channels (a padded last block) are never read from
 * an input; an output's are written as +0.
 *
 * Forward. Along an output row, the input pixel iw meets the output pixels iw + 1 - kw of the
 * three taps kw of a row of taps kh: for each input lane i, its value is broadcast once and
 * multiplied by the three tap vectors W[kh][kw][i][o] (over 8 output lanes o) held in registers,
 * into a run of up to 8 output pixels' accumulators: 11 of AVX2's 16 registers, and 10 broadcasts
 * and 3 loads per 24 FMAs. Each output pixel receives its taps in the same order (blocks of i,
 * kh, i, kw) wherever its run starts, so how a row is cut into runs does not change its bytes. The
 * data gradient is the forward convolution of dY with W's taps turned 180° and its channel axes
 * swapped: dX[c][h][w] = sum over m, kh, kw of dY[m][h + kh - 1][w + kw - 1] * W[m][c][2 - kh][2 -
 * kw]. W (which changes every step) is laid out into those tap vectors on each run, zeros beyond
 * the channels. Work is split by output rows: every output element is written by one thread alone.
 *
 * Weight gradient. With X's 8-lane blocks b_i, dY's b_o and a tap (kh, kw), the gradient is 64
 * sums per tap,
 *   dW[o][i][kh][kw] = sum over images and output pixels (oh, ow) of
 *                      dY[o][oh][ow] * X[i][oh + kh - 1][ow + kw - 1]   (zero outside X),
 * kept as eight vectors over o (one per lane i), the 8 × 8 block of one tap. Along a row, the X
 * pixel iw meets the output pixels iw + 1 - kw of the three taps kw: each X lane is broadcast
 * once and multiplied by three dY vectors held in registers (the row's previous, current and
 * next pixel), so four lanes of i and the three kw make twelve accumulators, and a pixel costs
 * one dY load and four broadcasts per twelve FMAs (oneDNN's kernel broadcasts per FMA). The work
 * is items (chunk, b_o, b_i): the images are cut into a number of chunks that depends on the
 * shapes alone (enough items for many cores, at least one image each), each item sums its
 * chunk's images into its own partial 8 × 8 × 9 block, and the partials are added in chunk order
 * into the plain dW: the bytes do not depend on the number of threads. dB (dY summed over images
 * and pixels) is summed the same way by the items of b_i = 0. Lanes beyond X's or dY's channels
 * meet only sums that are never written out, whatever they hold. The same loops run with the
 * roles swapped (dY's lanes broadcast, X's pixels the vectors: the blocks of taps then come out
 * turned 180° and transposed) where that is less work: a broadcast block's second half of four
 * lanes is skipped when it holds no channel, while a vector's padding lanes are computed, so the
 * side with a half-empty block is better broadcast (the InfoPro decoder's first convolution, 16
 * channels to 12: a quarter less work). The same loops take an X of at most 4 channels lying
 * plain (a network's first convolution, on its images: 1 channel for Fashion-MNIST, 3 for CIFAR),
 * broadcasting its planes' values as the lanes: oneDNN 2.6's AVX2 weight gradient reorders such
 * an X into 8-channel blocks first and computes every padding lane (ResNet-8 on Fashion-MNIST at
 * batch 128, 1 channel to 16 at 28 × 28, on the AMD EPYC of session 24: 4.0-4.1 ms a step there,
 * 6 GFLOP/s, against 0.85-1.23 on these loops; bench/step_profile --nodes, alternated with
 * IPRO_ONEDNN_CONV3X3_LOOPS=0).
 *
 * Forward and data gradient run Winograd's F(2×2, 3×3) (cpu_winograd3x3.c: 2.25 times fewer
 * multiplications, the input and output transformed per 2×2 tile) where its stack buffers take
 * the channels (at most 128 in and out; a last output block of at most 4 channels in 4 lanes a
 * tile, two tiles to an 8-lane vector), and the weight gradient at stride 1 where every block of X
 * and dY is full (its partials are then Winograd's dL/dU, items take two output blocks); the direct
 * loops above otherwise, with IPRO_ONEDNN_WINOGRAD=0, or where the executor wants the kernel with
 * the least workspace (kernel->frugal). ResNet-32's step at batch 128 on the 2-core AMD EPYC of
 * session 22: 682-684 ms with the direct loops, 569-579 with Winograd's (bench/step_profile,
 * alternated).
 *
 * IPRO_ONEDNN_CONV3X3_LOOPS=0 leaves these nodes to oneDNN. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "onednn_internal.h"

#define LANES 8
#define TAPS 9
#define BLOCK_FLOATS (TAPS * LANES * LANES) /* one (b_o, b_i) pair: [tap][i][o] */
/* The weight gradient's chunks of images are ITEMS_WANTED / (b_o, b_i) pairs, so that there are
 * that many items (chunk, b_o, b_i) when there are images enough, four per core on 16; half as
 * many on Winograd's, whose items take two b_o each. */
#define ITEMS_WANTED 64
#define RUN 8 /* output pixels of the forward loops' longest run */
/* the weight gradient reads an X of at most this many channels where it lies plain */
#define PLAIN_CHANNELS 4
#define NOT_STAGED SIZE_MAX

typedef struct {
  ipro_op op;
  int64_t images, stride;
  /* the loops' input and output: X and Y (forward), dY and dX (data gradient), X and dY (weight
   * gradient) */
  int64_t in_height, in_width, out_height, out_width;
  int64_t in_channels, out_channels, in_blocks, out_blocks;
  bool bias;          /* B (forward) or dB (weight gradient) */
  int64_t chunks;     /* weight gradient: the images' chunks */
  bool swapped;       /* weight gradient: dY's lanes broadcast, X's pixels the vectors */
  bool plain_x;       /* weight gradient: X of at most 4 channels lying plain (an image) */
  size_t taps_at;     /* forward, data gradient: out_blocks × in_blocks blocks [tap][i][o], or
                         Winograd's U (cpu_winograd3x3.c) */
  bool winograd;      /* Winograd's F(2×2, 3×3) (the weight gradient's partials then dL/dU) */
  size_t bias_at;     /* forward with B: out_blocks × 8 floats */
  size_t partials_at; /* weight gradient: chunks × pairs blocks, then chunks × out_blocks × 8 */
  size_t result_at;   /* forward, data gradient: the blocked output when it lies plain */
} conv3x3_state;

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline
#define FMA(a, b, acc) acc = _mm256_fmadd_ps(a, b, acc)

/* ---- forward and data gradient ---- */

/* Output pixels [first, first + run) of output row oh of one block of output channels: x is the
 * image's input (in_blocks planes), taps the output block's [in block][tap][i][o] vectors, bias 8
 * floats or NULL; lanes_last: the input's channels in its last block. Written once for vectors V
 * of 8 lanes (__m256) and of 4 (__m128: the low half of a last output block that holds at most 4
 * channels, whose other 4 lanes are written +0): V's intrinsics are the arguments after it. The
 * InfoPro decoder's first convolution has 12 output channels, a block and a half: on a CPU whose
 * 256-bit FMAs issue as two 128-bit halves (AMD's Zen 1) the half block costs half as much in
 * 4-lane vectors (ResNet-32's at batch 128 on the 2-core AMD EPYC of session 22: 6.2-6.4 ms a
 * step against 7.7-7.9 with the half block in 8 lanes, alternated in bench/step_profile --nodes:
 * in line with the trunk's 16-channel convolutions, 8.4-8.6 ms for 4/3 of the work). */
#define DEFINE_FORWARD_RUN(name, V, ZERO, LOADU, BROADCAST, FMADD, STORE)                          \
  INLINE_AVX2 void name(const float *x, const float *taps, const float *bias, float *y,            \
                        const conv3x3_state *s, int64_t oh, int64_t first, const int run,          \
                        int lanes_last) {                                                          \
    int64_t height = s->in_height, width = s->in_width;                                            \
    V acc[RUN];                                                                                    \
    for (int j = 0; j < run; j++)                                                                  \
      acc[j] = bias ? LOADU(bias) : ZERO();                                                        \
    bool left = first > 0, right = first + run < width; /* input pixels first - 1, first + run */  \
    for (int64_t ib = 0; ib < s->in_blocks; ib++) {                                                \
      int lanes = ib + 1 == s->in_blocks ? lanes_last : LANES;                                     \
      for (int kh = 0; kh < 3; kh++) {                                                             \
        int64_t ih = oh + kh - 1;                                                                  \
        if (ih < 0 || ih >= height) continue;                                                      \
        const float *row = x + ((ib * height + ih) * width + first) * LANES;                       \
        const float *w = taps + (ib * TAPS + kh * 3) * LANES * LANES; /* [kw][i][o] */             \
        for (int i = 0; i < lanes; i++) {                                                          \
          V w0 = LOADU(w + i * LANES), w1 = LOADU(w + (LANES + i) * LANES),                        \
            w2 = LOADU(w + (2 * LANES + i) * LANES);                                               \
          if (left) acc[0] = FMADD(BROADCAST(row - LANES + i), w0, acc[0]);                        \
          _Pragma("GCC unroll 8") for (int t = 0; t < run; t++) {                                  \
            /* input pixel first + t: outputs t + 1, t and t - 1 */                                \
            V b = BROADCAST(row + t * LANES + i);                                                  \
            if (t + 1 < run) acc[t + 1] = FMADD(b, w0, acc[t + 1]);                                \
            acc[t] = FMADD(b, w1, acc[t]);                                                         \
            if (t >= 1) acc[t - 1] = FMADD(b, w2, acc[t - 1]);                                     \
          }                                                                                        \
          if (right) acc[run - 1] = FMADD(BROADCAST(row + run * LANES + i), w2, acc[run - 1]);     \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
    for (int j = 0; j < run; j++)                                                                  \
      STORE(y + (oh * s->out_width + first + j) * LANES, acc[j]);                                  \
  }

/* The 4 lanes of v and 4 lanes of +0. */
INLINE_AVX2 void store_half(float *at, __m128 v) {
  _mm_storeu_ps(at, v);
  _mm_storeu_ps(at + 4, _mm_setzero_ps());
}

DEFINE_FORWARD_RUN(forward_run, __m256, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_broadcast_ss,
                   _mm256_fmadd_ps, _mm256_storeu_ps)
DEFINE_FORWARD_RUN(forward_run_half, __m128, _mm_setzero_ps, _mm_loadu_ps, _mm_broadcast_ss,
                   _mm_fmadd_ps, store_half)
#undef DEFINE_FORWARD_RUN

/* One output row of one output block, in runs of at most 8 pixels as even as can be (a row of
 * 14 in two runs of 7, of 17 in 6, 6 and 5): a run's input pixels beyond its ends are loaded
 * for the edge taps, and a short run does fewer FMAs per load, so the fewest runs of equal length
 * cost least (rows of 7 and 14 in runs of 4 and 8 overlapping to the row's end, as first
 * written, took up to 60% longer than oneDNN on ResNet-8's 7×7 and 14×14 layers). Each length is
 * a specialisation of forward_run. Not inlined into the OpenMP region (whose outlined body does
 * not inherit a target attribute under clang). */
AVX2 __attribute__((noinline)) static void forward_row(const float *x, const float *taps,
                                                       const float *bias, float *y,
                                                       const conv3x3_state *s, int64_t oh,
                                                       bool half) {
  int64_t width = s->out_width, runs = (width + RUN - 1) / RUN;
  int lanes_last = (int)(s->in_channels - (s->in_blocks - 1) * LANES);
  for (int64_t r = 0, first = 0; r < runs; r++) {
    int length = (int)(width / runs + (r < width % runs));
#define RUN_OF(n)                                                                                  \
  if (half)                                                                                        \
    forward_run_half(x, taps, bias, y, s, oh, first, n, lanes_last);                               \
  else                                                                                             \
    forward_run(x, taps, bias, y, s, oh, first, n, lanes_last)
    switch (length) {
    case 1: RUN_OF(1); break;
    case 2: RUN_OF(2); break;
    case 3: RUN_OF(3); break;
    case 4: RUN_OF(4); break;
    case 5: RUN_OF(5); break;
    case 6: RUN_OF(6); break;
    case 7: RUN_OF(7); break;
    default: RUN_OF(8); break;
    }
#undef RUN_OF
    first += length;
  }
}

/* taps[b_o][b_i][tap][i][o] from the plain W (M, C, 3, 3): W[o][i][tap] forward, W[i][o][8 - tap]
 * (turned, channel axes swapped) for the data gradient; zeros beyond the channels. */
static void lay_out_taps(const conv3x3_state *s, const float *w, float *taps) {
  memset(taps, 0, (size_t)(s->out_blocks * s->in_blocks * BLOCK_FLOATS) * sizeof *taps);
  bool turned = s->op == IPRO_OP_CONV_GRAD_INPUT;
  for (int64_t o = 0; o < s->out_channels; o++)
    for (int64_t i = 0; i < s->in_channels; i++)
      for (int t = 0; t < TAPS; t++) {
        float v = turned ? w[(i * s->out_channels + o) * TAPS + (TAPS - 1 - t)]
                         : w[(o * s->in_channels + i) * TAPS + t];
        taps[((o / LANES * s->in_blocks + i / LANES) * TAPS + t) * LANES * LANES +
             i % LANES * LANES + o % LANES] = v;
      }
}

static ipro_status forward_loops_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)step, (void)err;
  const conv3x3_state *s = kernel->state;
  float *taps = (float *)(workspace + s->taps_at), *bias = NULL;
  if (s->bias) {
    bias = (float *)(workspace + s->bias_at);
    memset(bias, 0, (size_t)(s->out_blocks * LANES) * sizeof *bias);
    memcpy(bias, inputs[2], (size_t)s->out_channels * sizeof *bias);
  }
  const float *x = inputs[0];
  float *y = s->result_at != NOT_STAGED ? (float *)(workspace + s->result_at) : outputs[0];
  if (s->winograd) {
    ipro_onednn_winograd_weights(inputs[1], s->op == IPRO_OP_CONV_GRAD_INPUT, s->in_channels,
                                 s->out_channels, taps);
    const ipro_onednn_winograd_geometry g = {s->images,      s->out_height, s->out_width,
                                             s->in_channels, s->in_blocks,  s->out_channels,
                                             s->out_blocks};
    ipro_onednn_winograd_run(&g, x, taps, bias, y);
    return IPRO_OK;
  }
  lay_out_taps(s, inputs[1], taps);
  int64_t in_plane = s->in_height * s->in_width * LANES;
  int64_t out_plane = s->out_height * s->out_width * LANES;
  int64_t rows = s->images * s->out_blocks * s->out_height;
  IPRO_ONEDNN_PARALLEL_FOR(rows * s->out_width * (s->in_channels + s->out_channels))
  for (int64_t r = 0; r < rows; r++) {
    int64_t n = r / (s->out_blocks * s->out_height), bo = r / s->out_height % s->out_blocks;
    bool half = s->out_channels - bo * LANES <= LANES / 2; /* a last block of at most 4 */
    forward_row(x + n * s->in_blocks * in_plane, taps + bo * s->in_blocks * BLOCK_FLOATS,
                bias ? bias + bo * LANES : NULL, y + (n * s->out_blocks + bo) * out_plane, s,
                r % s->out_height, half);
  }
  return IPRO_OK;
}

/* ---- weight gradient ---- */

/* Adds one image's share to the partial block p ([tap][i][o]) of X's lanes i in [half, half +
 * lanes) and dY's block dy (height × width vectors), for the three taps of row kh. X's lane i of
 * pixel q lies at x[q * pixel_stride + i * lane_stride]: 8-lane blocks (pixel_stride 8, lane
 * stride 1) or planes (pixel stride 1, lane stride a plane: the image's few channels lying
 * plain). lanes (at most 4) and the strides are constants of each call. */
INLINE_AVX2 void row_of_taps(const float *x, const float *dy, float *p, int64_t height,
                             int64_t width, int kh, int half, const int64_t pixel_stride,
                             const int64_t lane_stride, const int lanes) {
  __m256 acc[3][4]; /* [kw][i - half], vectors over o */
  for (int kw = 0; kw < 3; kw++)
    for (int j = 0; j < lanes; j++)
      acc[kw][j] = _mm256_loadu_ps(p + ((kh * 3 + kw) * LANES + half + j) * LANES);
  int64_t first = kh == 0 ? 1 : 0, last = kh == 2 ? height - 1 : height; /* output rows */
  for (int64_t oh = first; oh < last; oh++) {
    const float *d = dy + oh * width * LANES;
    const float *s = x + (oh + kh - 1) * width * pixel_stride + half * lane_stride;
    /* X pixel 0 meets output pixel 0 (kw = 1) and 1 (kw = 0) */
    __m256 previous = _mm256_loadu_ps(d), current = _mm256_loadu_ps(d + LANES);
    for (int j = 0; j < lanes; j++) {
      __m256 b = _mm256_broadcast_ss(s + j * lane_stride);
      FMA(b, previous, acc[1][j]);
      FMA(b, current, acc[0][j]);
    }
    /* X pixel iw meets output pixels iw + 1 (kw = 0), iw (kw = 1) and iw - 1 (kw = 2) */
    for (int64_t iw = 1; iw < width - 1; iw++) {
      __m256 next = _mm256_loadu_ps(d + (iw + 1) * LANES);
      const float *q = s + iw * pixel_stride;
#pragma GCC unroll 4
      for (int j = 0; j < lanes; j++) {
        __m256 b = _mm256_broadcast_ss(q + j * lane_stride);
        FMA(b, next, acc[0][j]);
        FMA(b, current, acc[1][j]);
        FMA(b, previous, acc[2][j]);
      }
      previous = current, current = next;
    }
    /* X pixel width - 1 meets output pixel width - 1 (kw = 1) and width - 2 (kw = 2) */
    const float *q = s + (width - 1) * pixel_stride;
    for (int j = 0; j < lanes; j++) {
      __m256 b = _mm256_broadcast_ss(q + j * lane_stride);
      FMA(b, current, acc[1][j]);
      FMA(b, previous, acc[2][j]);
    }
  }
  for (int kw = 0; kw < 3; kw++)
    for (int j = 0; j < lanes; j++)
      _mm256_storeu_ps(p + ((kh * 3 + kw) * LANES + half + j) * LANES, acc[kw][j]);
}

/* row_of_taps at stride 2: X (in_height × in_width) and dY (out_height × out_width). The output
 * pixel ow meets the X pixels 2 ow - 1, 2 ow and 2 ow + 1 (kw = 0, 1, 2): along a row, the even
 * X pixel 2 ow is broadcast into kw = 1 with dY's pixel ow, the odd 2 ow + 1 into kw = 2 with ow
 * and kw = 0 with ow + 1, so a pixel costs one dY load and eight broadcasts per twelve FMAs. */
INLINE_AVX2 void row_of_taps_stride2(const float *x, const float *dy, float *p,
                                     const conv3x3_state *st, int kh, int half) {
  int64_t in_height = st->in_height, in_width = st->in_width, width = st->out_width;
  __m256 acc[3][4]; /* [kw][i - half], vectors over o */
  for (int kw = 0; kw < 3; kw++)
    for (int j = 0; j < 4; j++)
      acc[kw][j] = _mm256_loadu_ps(p + ((kh * 3 + kw) * LANES + half + j) * LANES);
  for (int64_t oh = 0; oh < st->out_height; oh++) {
    int64_t ih = 2 * oh + kh - 1;
    if (ih < 0 || ih >= in_height) continue;
    const float *d = dy + oh * width * LANES, *s = x + ih * in_width * LANES + half;
    __m256 current = _mm256_loadu_ps(d);
    for (int64_t ow = 0; ow + 1 < width; ow++) {
      __m256 next = _mm256_loadu_ps(d + (ow + 1) * LANES);
      const float *q = s + 2 * ow * LANES;
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        FMA(_mm256_broadcast_ss(q + j), current, acc[1][j]);
        __m256 b = _mm256_broadcast_ss(q + LANES + j);
        FMA(b, current, acc[2][j]);
        FMA(b, next, acc[0][j]);
      }
      current = next;
    }
    /* the last output pixel: X pixel 2 ow, and 2 ow + 1 where X has it */
    const float *q = s + 2 * (width - 1) * LANES;
    bool odd = 2 * width - 1 < in_width;
    for (int j = 0; j < 4; j++) {
      FMA(_mm256_broadcast_ss(q + j), current, acc[1][j]);
      if (odd) FMA(_mm256_broadcast_ss(q + LANES + j), current, acc[2][j]);
    }
  }
  for (int kw = 0; kw < 3; kw++)
    for (int j = 0; j < 4; j++)
      _mm256_storeu_ps(p + ((kh * 3 + kw) * LANES + half + j) * LANES, acc[kw][j]);
}

/* One image's share of the block pair: the three rows of taps, each for the first half of the
 * broadcast block's lanes and, when `both`, the second, with the loops of each row of taps
 * inlined (as a call of its own, with kh and the half not constants, the same loops took 40%
 * longer). Not inlined into the OpenMP region. */
AVX2 __attribute__((noinline)) static void image_share(const float *x, const float *dy, float *p,
                                                       const conv3x3_state *s, bool both) {
  if (s->stride == 2) {
#pragma GCC unroll 3
    for (int kh = 0; kh < 3; kh++) {
      row_of_taps_stride2(x, dy, p, s, kh, 0);
      if (both) row_of_taps_stride2(x, dy, p, s, kh, 4);
    }
    return;
  }
#pragma GCC unroll 3
  for (int kh = 0; kh < 3; kh++) {
    row_of_taps(x, dy, p, s->in_height, s->in_width, kh, 0, LANES, 1, 4);
    if (both) row_of_taps(x, dy, p, s->in_height, s->in_width, kh, 4, LANES, 1, 4);
  }
}

/* image_share for an X of at most 4 channels lying plain (one image's planes), its lanes the
 * planes. */
#define PLAIN_ROWS(channels)                                                                       \
  for (int kh = 0; kh < 3; kh++)                                                                   \
  row_of_taps(x, dy, p, s->in_height, s->in_width, kh, 0, 1, plane, channels)
AVX2 __attribute__((noinline)) static void plain_image_share(const float *x, const float *dy,
                                                             float *p, const conv3x3_state *s) {
  int64_t plane = s->in_height * s->in_width;
  switch (s->in_channels) {
  case 1: PLAIN_ROWS(1); break;
  case 2: PLAIN_ROWS(2); break;
  case 3: PLAIN_ROWS(3); break;
  default: PLAIN_ROWS(4); break;
  }
}
#undef PLAIN_ROWS

/* Whether the broadcast side's block b (of `blocks`, over `channels`) has a channel in its second
 * half of lanes. */
static bool second_half_used(int64_t b, int64_t blocks, int64_t channels) {
  return b + 1 < blocks || channels - b * LANES > LANES / 2;
}

/* The weight gradient's work in lanes broadcast × vector lanes, with `broadcast` channels
 * broadcast (in halves of four) and `vector` channels as vectors (in blocks of eight). */
static int64_t weight_work(int64_t broadcast, int64_t vector) {
  int64_t blocks = (broadcast + LANES - 1) / LANES, halves = 0;
  for (int64_t b = 0; b < blocks; b++)
    halves += 1 + second_half_used(b, blocks, broadcast);
  return halves * (vector + LANES - 1) / LANES;
}

/* One image's dY block summed over its pixels into bias (8 floats). */
AVX2 __attribute__((noinline)) static void bias_share(const float *dy, float *bias,
                                                      int64_t pixels) {
  __m256 acc = _mm256_loadu_ps(bias);
  for (int64_t p = 0; p < pixels; p++)
    acc = _mm256_add_ps(acc, _mm256_loadu_ps(dy + p * LANES));
  _mm256_storeu_ps(bias, acc);
}

static ipro_status weight_loops_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                    void *const *outputs, char *workspace, uint64_t step,
                                    ipro_error *err) {
  (void)step, (void)err;
  const conv3x3_state *s = kernel->state;
  const float *dy = inputs[0], *x = inputs[1];
  float *partials = (float *)(workspace + s->partials_at);
  int64_t pixels = s->out_height * s->out_width; /* dY's */
  int64_t x_plane = s->in_height * s->in_width * LANES, plane = pixels * LANES;
  int64_t pairs = s->out_blocks * s->in_blocks;
  int64_t block_floats = s->winograd ? IPRO_ONEDNN_WINOGRAD_WEIGHT_BLOCK_FLOATS : BLOCK_FLOATS;
  /* an item: a chunk's images, X's block bi and `span` of dY's blocks from bo (Winograd's product
   * takes two, cpu_winograd3x3.c) */
  int64_t span = s->winograd ? 2 : 1, spans = (s->out_blocks + span - 1) / span;
  int64_t items = s->chunks * spans * s->in_blocks;
  float *bias_partials = partials + s->chunks * pairs * block_floats;
  IPRO_ONEDNN_PARALLEL_FOR(s->images * x_plane / LANES * (s->in_channels + s->out_channels))
  for (int64_t item = 0; item < items; item++) {
    int64_t chunk = item / (spans * s->in_blocks), bi = item % s->in_blocks;
    int64_t bo = item / s->in_blocks % spans * span;
    int blocks = (int)(s->out_blocks - bo < span ? s->out_blocks - bo : span);
    /* the pair (bo, bi)'s partial of the chunk, the next output block's in_blocks partials on */
    float *p = partials + ((chunk * s->out_blocks + bo) * s->in_blocks + bi) * block_floats;
    int64_t p_stride = s->in_blocks * block_floats;
    float *bias = s->bias && bi == 0 ? bias_partials + (chunk * s->out_blocks + bo) * LANES : NULL;
    for (int q = 0; q < blocks; q++)
      memset(p + q * p_stride, 0, (size_t)block_floats * sizeof *p);
    if (bias) memset(bias, 0, (size_t)blocks * LANES * sizeof *bias);
    bool both = s->swapped ? second_half_used(bo, s->out_blocks, s->out_channels)
                           : second_half_used(bi, s->in_blocks, s->in_channels);
    for (int64_t n = chunk * s->images / s->chunks; n < (chunk + 1) * s->images / s->chunks; n++) {
      const float *dy_block = dy + (n * s->out_blocks + bo) * plane;
      /* X's block, or (one block of lanes, bi = 0) the image's planes where it lies plain */
      const float *x_block = s->plain_x ? x + n * s->in_channels * (x_plane / LANES)
                                        : x + (n * s->in_blocks + bi) * x_plane;
      if (s->plain_x)
        plain_image_share(x_block, dy_block, p, s);
      else if (s->winograd)
        ipro_onednn_winograd_weight_share(x_block, dy_block, blocks, p, p_stride, s->in_height,
                                          s->in_width);
      else if (s->swapped) /* stride 1: X and dY of one size */
        image_share(dy_block, x_block, p, s, both);
      else
        image_share(x_block, dy_block, p, s, both);
      for (int q = 0; q < blocks && bias; q++)
        bias_share(dy_block + q * plane, bias + q * LANES, pixels);
    }
  }
  /* dW[o][i][tap] (and dB[o]): the chunks' partials in chunk order; a block of taps is [tap][i][o],
   * or [8 - tap][o][i] swapped; Winograd's dL/dU[ξ][i][o] summed so, then turned into taps */
  float *dw = outputs[0];
  IPRO_ONEDNN_PARALLEL_FOR(s->chunks * s->out_channels * s->in_channels * TAPS)
  for (int64_t o = 0; o < s->out_channels; o++) {
    for (int64_t i = 0; i < s->in_channels && s->winograd; i++)
      ipro_onednn_winograd_weight_taps(
          partials + (o / LANES * s->in_blocks + i / LANES) * block_floats, pairs * block_floats,
          s->chunks, (int)(i % LANES), (int)(o % LANES), dw + (o * s->in_channels + i) * TAPS);
    for (int64_t i = 0; i < s->in_channels && !s->winograd; i++)
      for (int t = 0; t < TAPS; t++) {
        int64_t block = (o / LANES * s->in_blocks + i / LANES) * TAPS;
        int64_t at = s->swapped
                         ? (block + TAPS - 1 - t) * LANES * LANES + o % LANES * LANES + i % LANES
                         : (block + t) * LANES * LANES + i % LANES * LANES + o % LANES;
        float sum = 0.0f;
        for (int64_t c = 0; c < s->chunks; c++)
          sum += partials[c * pairs * BLOCK_FLOATS + at];
        dw[(o * s->in_channels + i) * TAPS + t] = sum;
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

/* ---- which nodes, and the build ---- */

/* The convolution's X, W and Y shapes (from whichever of them the node holds), when the node is
 * one of the three passes of a 3×3 convolution of stride 1, or the weight gradient of one of
 * stride 2, with padding 1, no dilation and no groups, and at least 8 channels in and out (the
 * weight gradient at stride 1 over rows at least two pixels wide: a row's first and last X pixels
 * are different pixels), or the weight gradient at stride 1 from at most 4 channels lying plain
 * (PLAIN_CHANNELS). A network's first convolution, from an image's 3 channels, runs its forward
 * and data gradient on oneDNN: the loops would leave 5 of 8 lanes idle, and reordering the plain
 * image into padded blocks first took longer than oneDNN's whole kernel (ResNet-32 at batch 128:
 * forward and weight gradient 9.3 ms against 4.3); its weight gradient reads the image plain. */
static bool shapes_of(const ipro_onednn_kernel *kernel, const ipro_graph *graph,
                      const ipro_node *node, ipro_shape *x, ipro_shape *w, ipro_shape *y,
                      bool *plain_x) {
  int x_tensor = -1;
  *plain_x = false;
  if (!ipro_onednn_conv_operands(graph, node, x, w, y, &x_tensor, NULL)) return false;
  int stride = ipro_onednn_conv_3x3_stride(node, x, w, y);
  bool weight = node->op == IPRO_OP_CONV_GRAD_WEIGHT;
  *plain_x = weight && stride == 1 && x->dims[1] <= PLAIN_CHANNELS &&
             !ipro_onednn_carried(kernel, x_tensor);
  return (stride == 1 || (stride == 2 && weight)) && (x->dims[1] >= LANES || *plain_x) &&
         y->dims[1] >= LANES && (!weight || stride == 2 || x->dims[3] >= 2);
}

bool ipro_onednn_conv3x3_loops_take(const ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                    const ipro_node *node) {
  ipro_shape x, w, y;
  bool plain_x;
  return shapes_of(kernel, graph, node, &x, &w, &y, &plain_x) &&
         ipro_onednn_channel_block() == LANES && __builtin_cpu_supports("avx2") &&
         __builtin_cpu_supports("fma") && !ipro_onednn_switched_off("IPRO_ONEDNN_CONV3X3_LOOPS");
}

/* The blocked descriptor of a plain shape, and the plain one in *plain. */
static ipro_status blocked_md(const ipro_shape *shape, dnnl_memory_desc_t *plain,
                              dnnl_memory_desc_t *blocked, ipro_error *err) {
  if (ipro_onednn_plain_md(plain, shape->rank, shape->dims, err)) return IPRO_ERROR;
  return ipro_onednn_channel_blocked_md(plain, blocked, err);
}

/* Input i (an activation of this shape) in 8-channel blocks: reordered into them by a step
 * before the loops when it lies plain. */
static ipro_status stage_blocked(ipro_onednn_kernel *kernel, const ipro_node *node, int i,
                                 const ipro_shape *shape, ipro_error *err) {
  if (ipro_onednn_carried(kernel, node->inputs[i])) return IPRO_OK;
  dnnl_memory_desc_t plain, blocked;
  if (blocked_md(shape, &plain, &blocked, err)) return IPRO_ERROR;
  return ipro_onednn_stage_input(kernel, i, &plain, &blocked, err);
}

/* The forward or data-gradient loops: input 0 (X or dY) staged in blocks, W laid out each run,
 * the output written where it lies when carried, else into an intermediate and reordered out. */
static ipro_status build_forward_loops(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                       const ipro_node *node, conv3x3_state *s,
                                       const ipro_shape *in, const ipro_shape *out,
                                       ipro_error *err) {
  if (stage_blocked(kernel, node, 0, in, err)) return IPRO_ERROR;
  /* Winograd's algorithm where its buffers take the channels (the direct loops' taps otherwise,
   * or with IPRO_ONEDNN_WINOGRAD=0, the switch that keeps oneDNN's convolutions direct too). A
   * last output block of at most 4 channels is done in 4-lane vectors by both (the decoder's
   * first convolution, 16 channels to 12, on the AMD EPYC of session 24: 5.9-6.2 ms a step on
   * Winograd's against 6.7-7.3 direct, alternated in bench/step_profile --nodes; in 8 lanes,
   * session 22, Winograd's had been the slower). Its transformed window (16 values a channel pair
   * against the taps' 9) makes the direct loops this kernel's frugal variant, weighed by the
   * executor as oneDNN's Winograd is (onednn_conv.c). */
  s->winograd = !kernel->frugal && s->in_blocks * LANES <= IPRO_ONEDNN_WINOGRAD_MAX_CHANNELS &&
                s->out_blocks * LANES <= IPRO_ONEDNN_WINOGRAD_MAX_CHANNELS &&
                !ipro_onednn_switched_off("IPRO_ONEDNN_WINOGRAD");
  if (s->winograd) kernel->base.has_frugal_variant = true;
  size_t floats = s->winograd ? ipro_onednn_winograd_weight_floats(s->in_channels, s->out_channels)
                              : (size_t)(s->out_blocks * s->in_blocks * BLOCK_FLOATS);
  s->taps_at = ipro_onednn_reserve(kernel, floats * sizeof(float));
  if (s->bias) {
    ipro_shape b;
    if (ipro_onednn_input_shape(graph, node, 2, &b, err)) return IPRO_ERROR;
    if (b.rank != 1 || b.dims[0] != s->out_channels)
      return ipro_onednn_unsupported(err, "the bias does not match the output channels");
    s->bias_at = ipro_onednn_reserve(kernel, (size_t)(s->out_blocks * LANES) * sizeof(float));
  }
  s->result_at = NOT_STAGED;
  dnnl_memory_desc_t plain, blocked;
  bool carried = ipro_onednn_carried(kernel, node->outputs[0]);
  if (!carried) {
    if (blocked_md(out, &plain, &blocked, err)) return IPRO_ERROR;
    s->result_at = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&blocked));
  }
  if (ipro_onednn_add_loop_step(kernel, forward_loops_run, err)) return IPRO_ERROR;
  return carried ? IPRO_OK
                 : ipro_onednn_reorder_step(kernel, &blocked, IPRO_ONEDNN_INTERMEDIATE,
                                            s->result_at, &plain, IPRO_ONEDNN_OUTPUT, 0, err);
}

/* The weight-gradient loops: dY and X staged in blocks, partials in the workspace. */
static ipro_status build_weight_loops(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                      const ipro_node *node, conv3x3_state *s, const ipro_shape *x,
                                      const ipro_shape *y, ipro_error *err) {
  if (s->bias) {
    ipro_shape db;
    if (ipro_onednn_output_shape(graph, node, 1, &db, err)) return IPRO_ERROR;
    if (ipro_shape_elements(&db) != s->out_channels)
      return ipro_onednn_unsupported(err, "dB does not match the output channels");
  }
  if (stage_blocked(kernel, node, 0, y, err) ||
      (!s->plain_x && stage_blocked(kernel, node, 1, x, err)))
    return IPRO_ERROR;
  int64_t pairs = s->in_blocks * s->out_blocks;
  /* Winograd's F(2×2, 3×3) at stride 1 where every block is full (the direct loops skip a
   * half-empty broadcast block's empty half); its partials (16 values a channel pair against the
   * taps' 9) make the direct loops the frugal variant. */
  s->winograd = s->stride == 1 && !kernel->frugal && !s->plain_x && s->in_channels % LANES == 0 &&
                s->out_channels % LANES == 0 && !ipro_onednn_switched_off("IPRO_ONEDNN_WINOGRAD");
  if (s->winograd) kernel->base.has_frugal_variant = true;
  /* (the roles swapped need X and dY of one size) */
  s->swapped =
      !s->winograd && !s->plain_x && s->stride == 1 &&
      weight_work(s->out_channels, s->in_channels) < weight_work(s->in_channels, s->out_channels);
  s->chunks = (ITEMS_WANTED + pairs - 1) / pairs;
  if (s->chunks > s->images) s->chunks = s->images;
  if (s->chunks < 1) s->chunks = 1;
  int64_t block_floats = s->winograd ? IPRO_ONEDNN_WINOGRAD_WEIGHT_BLOCK_FLOATS : BLOCK_FLOATS;
  size_t floats = (size_t)(s->chunks * pairs * block_floats +
                           (s->bias ? s->chunks * s->out_blocks * LANES : 0));
  s->partials_at = ipro_onednn_reserve(kernel, floats * sizeof(float));
  return ipro_onednn_add_loop_step(kernel, weight_loops_run, err);
}

ipro_status ipro_onednn_build_conv3x3_loops(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                            const ipro_node *node, ipro_error *err) {
  ipro_shape x, w, y;
  bool plain_x;
  if (!ipro_onednn_conv3x3_loops_take(kernel, graph, node) ||
      !shapes_of(kernel, graph, node, &x, &w, &y, &plain_x))
    return ipro_onednn_unsupported(err, "not a 3×3 convolution of stride 1 or 2 and padding 1");
  if ((node->op == IPRO_OP_CONV_GRAD_INPUT &&
       ipro_onednn_check_shape_attribute(node, "input_shape", &x, err)) ||
      (node->op == IPRO_OP_CONV_GRAD_WEIGHT &&
       ipro_onednn_check_shape_attribute(node, "weight_shape", &w, err)))
    return IPRO_ERROR;
  conv3x3_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  bool data = node->op == IPRO_OP_CONV_GRAD_INPUT; /* dY in, dX out */
  const ipro_shape *in = data ? &y : &x, *out = data ? &x : &y;
  *s = (conv3x3_state){.op = node->op,
                       .images = x.dims[0],
                       .stride = ipro_onednn_conv_3x3_stride(node, &x, &w, &y),
                       .in_height = in->dims[2],
                       .in_width = in->dims[3],
                       .out_height = out->dims[2],
                       .out_width = out->dims[3],
                       .in_channels = in->dims[1],
                       .out_channels = out->dims[1],
                       .in_blocks = (in->dims[1] + LANES - 1) / LANES,
                       .out_blocks = (out->dims[1] + LANES - 1) / LANES,
                       .bias = node->op == IPRO_OP_CONV ? ipro_node_input(graph, node, 2) != NULL
                               : node->op == IPRO_OP_CONV_GRAD_WEIGHT
                                   ? ipro_node_output(graph, node, 1) != NULL
                                   : false,
                       .plain_x = plain_x};
  switch (node->op) {
  case IPRO_OP_CONV: return build_forward_loops(kernel, graph, node, s, &x, &y, err);
  case IPRO_OP_CONV_GRAD_INPUT: return build_forward_loops(kernel, graph, node, s, &y, &x, err);
  default: return build_weight_loops(kernel, graph, node, s, &x, &y, err);
  }
}
