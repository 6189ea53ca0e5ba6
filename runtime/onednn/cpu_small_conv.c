/* Convolutions to at most three output channels, as C kernels of the CPU backend: Conv,
 * ipro.ConvGradInput and ipro.ConvGradWeight of a 3×3 window, stride 1, no dilation, one pixel of
 * padding on every side, no groups and no bias, whose X (dX) has at most 16 channels and is
 * carried channel-blocked (onednn_layouts.c) in the backend's block (ipro_onednn_channel_block:
 * 16 with AVX-512, 8 with AVX2), so that each pixel's channels are one vector per block (the
 * padding lanes zero), and whose Y (dY) is plain. That is the InfoPro decoder's last convolution
 * (12 channels to the image's 3, or 1 for Fashion-MNIST), where oneDNN 2.6 is weak: its direct
 * kernels either pad the 3 output channels to a block or, from a padded 12-channel source, have
 * only their reference kernel. In a program its three passes took 8.8 ms with the reorders they
 * need (ResNet-32 at batch 128, 32×32, 2 threads, Intel Xeon; bench/step_profile --nodes), against
 * 0.6, 0.7 and 0.4 ms for the AVX-512 loops; on the AVX2 AMD EPYC of session 19, 20.7-26.2 ms
 * against 8.4-10.0 ms for the AVX2 loops (README).
 *
 * Per pixel, with W's taps laid out as vectors over each block's lanes (wt[m][b][tap] for block b,
 * zero beyond C, prepared from the plain W on every run since W changes every step):
 *   forward:         y[m] = sum of the lanes of  sum_{b, tap} x[b][pixel + tap] * wt[m][b][tap]
 *   backward-data:   dx[b][pixel] = sum_{tap, m} dy[m][pixel - tap] * wt[m][b][tap]
 *   backward-weight: dw[m][b][tap] = sum_{image, pixel} dy[m][pixel] * x[b][pixel + tap]
 *
 * The forward and backward-data write every element of their image once; the weight gradient
 * sums each image into its own partial (in the workspace), and the partials are added in image
 * order, so the bytes do not depend on the number of threads. Images are split over OpenMP
 * threads (IPRO_ONEDNN_PARALLEL_FOR).
 *
 * There are two sets of loops, chosen by the block: AVX-512 over one block of 16 lanes, and
 * AVX2 + FMA over one or two blocks of 8 (target attributes: the build targets baseline x86-64).
 * The block follows oneDNN's effective ISA, so ONEDNN_MAX_CPU_ISA=AVX2 runs the AVX2 loops on a
 * CPU with AVX-512. IPRO_ONEDNN_SMALL_CONV=0 leaves these nodes to oneDNN. */
#include <immintrin.h>
#include <string.h>

#include "onednn_internal.h"

#define TAPS 9
#define MAX_FEATURES 3
#define MAX_CHANNELS 16

typedef struct {
  ipro_op op; /* Conv, ipro.ConvGradInput or ipro.ConvGradWeight */
  int64_t images, channels, height, width, features;
  int64_t lanes, blocks; /* the channel block (16 or 8) and X's blocks of it */
  size_t taps_at;        /* wt: features × blocks × TAPS × lanes floats in the workspace */
  size_t partials_at;    /* the weight gradient's per-image partials, the same shape per image */
} small_conv_state;

/* Runs the statements after it for each tap (kh, kw) of the 3×3 window at output pixel (oh, ow)
 * whose input pixel lies inside the image (every tap where inside is a constant true: no bounds
 * checks): `tap` (kh * 3 + kw) and `pixel` (the input pixel's index) are in scope there. */
#define FOR_EACH_TAP_INSIDE(oh, ow, height, width, inside)                                         \
  _Pragma("GCC unroll 3") for (int kh = 0; kh < 3; kh++)                                           \
      _Pragma("GCC unroll 3") for (int kw = 0; kw < 3;                                             \
                                   kw++) for (int64_t ih = (oh) + kh - 1, iw = (ow) + kw - 1,      \
                                              pixel = ih * (width) + iw, tap = kh * 3 + kw,        \
                                              once = (inside) || (ih >= 0 && ih < (height) &&      \
                                                                  iw >= 0 && iw < (width));        \
                                              once; once = 0)
#define FOR_EACH_TAP(oh, ow, height, width) FOR_EACH_TAP_INSIDE(oh, ow, height, width, false)

/* ---- the AVX-512 loops, per image: one block of 16 lanes ---- */

#define AVX512 __attribute__((target("avx512f")))
#define INLINE_AVX512 __attribute__((target("avx512f"), always_inline)) static inline
#define LANES16 16

/* One image's Y (features planes) from its X (height × width vectors). */
INLINE_AVX512 void forward_image16(const float *x, const float *wt, float *y, int64_t height,
                                   int64_t width, const int features) {
  int64_t plane = height * width;
  for (int64_t oh = 0; oh < height; oh++)
    for (int64_t ow = 0; ow < width; ow++) {
      __m512 acc[MAX_FEATURES] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      FOR_EACH_TAP(oh, ow, height, width) {
        __m512 v = _mm512_loadu_ps(x + pixel * LANES16);
#pragma GCC unroll 3
        for (int m = 0; m < features; m++)
          acc[m] = _mm512_fmadd_ps(v, _mm512_loadu_ps(wt + (m * TAPS + tap) * LANES16), acc[m]);
      }
#pragma GCC unroll 3
      for (int m = 0; m < features; m++)
        y[m * plane + oh * width + ow] = _mm512_reduce_add_ps(acc[m]);
    }
}

/* One image's dX (height × width vectors) from its dY. */
INLINE_AVX512 void backward_data_image16(const float *dy, const float *wt, float *dx,
                                         int64_t height, int64_t width, const int features) {
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
                                  _mm512_loadu_ps(wt + (m * TAPS + kh * 3 + kw) * LANES16), acc);
        }
      }
      _mm512_storeu_ps(dx + (ih * width + iw) * LANES16, acc);
    }
}

/* One image's partial weight gradient (features × TAPS vectors) from its dY and X. */
INLINE_AVX512 void backward_weight_image16(const float *dy, const float *x, float *partial,
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
        __m512 v = _mm512_loadu_ps(x + pixel * LANES16);
#pragma GCC unroll 3
        for (int m = 0; m < features; m++)
          acc[m][tap] = _mm512_fmadd_ps(d[m], v, acc[m][tap]);
      }
    }
#pragma GCC unroll 27
  for (int i = 0; i < MAX_FEATURES * TAPS; i++)
    if (i / TAPS < features) _mm512_storeu_ps(partial + i * LANES16, acc[i / TAPS][i % TAPS]);
}

/* ---- the AVX2 loops, per image: one or two blocks of 8 lanes ---- */

/* The AVX2 loops' index arithmetic is left out of UBSan's pointer- and signed-overflow checks
 * (the test build's): it stays far inside int64_t for any tensor that fits in memory, and the
 * checks, one per address, made this file take minutes to compile under the sanitizers instead of
 * seconds. ASan still checks every load and store, and UBSan the rest. */
#define AVX2_LOOP target("avx2,fma"), no_sanitize("pointer-overflow", "signed-integer-overflow")
#define AVX2 __attribute__((AVX2_LOOP))
#define INLINE_AVX2 __attribute__((AVX2_LOOP, always_inline)) static inline
#define LANES8 8
#define MAX_BLOCKS8 (MAX_CHANNELS / LANES8)
#define QUAD_PIXELS 4

INLINE_AVX2 float sum_of_lanes8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* Runs the pixels (oh, ow) of a height × width image row by row: RUN(oh, ow) does the `run`
 * pixels (oh, ow) to (oh, ow + run - 1) where their 3×3 windows all lie inside the image (no
 * bounds checks needed), BORDER(oh, ow) one pixel elsewhere. Each is expanded once: every copy of
 * these unrolled bodies lengthens the compilation, under the test build's sanitizers by tens of
 * seconds. */
#define FOR_EACH_PIXEL(height, width, run, RUN, BORDER)                                            \
  for (int64_t oh = 0; oh < (height); oh++)                                                        \
    for (int64_t ow = 0; ow < (width);) {                                                          \
      if (oh > 0 && oh < (height)-1 && ow > 0 && ow + (run) < (width)) {                           \
        RUN(oh, ow);                                                                               \
        ow += (run);                                                                               \
      } else {                                                                                     \
        BORDER(oh, ow);                                                                            \
        ow++;                                                                                      \
      }                                                                                            \
    }

/* Y's pixel (oh, ow) (features planes) from X (blocks planes of height × width vectors). */
INLINE_AVX2 void forward_pixel8(const float *x, const float *wt, float *y, int64_t height,
                                int64_t width, const int features, const int blocks, int64_t oh,
                                int64_t ow) {
  int64_t plane = height * width;
  __m256 acc[MAX_FEATURES] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
#pragma GCC unroll 2
  for (int b = 0; b < blocks; b++) {
    const float *xb = x + b * plane * LANES8;
    FOR_EACH_TAP(oh, ow, height, width) {
      __m256 v = _mm256_loadu_ps(xb + pixel * LANES8);
#pragma GCC unroll 3
      for (int m = 0; m < features; m++)
        acc[m] = _mm256_fmadd_ps(v, _mm256_loadu_ps(wt + ((m * blocks + b) * TAPS + tap) * LANES8),
                                 acc[m]);
    }
  }
#pragma GCC unroll 3
  for (int m = 0; m < features; m++)
    y[m * plane + oh * width + ow] = sum_of_lanes8(acc[m]);
}

/* dX's pixel (ph, pw) (blocks vectors) from dY: the taps mirrored, dY's pixel (ph + 1 - kh,
 * pw + 1 - kw) meets tap (kh, kw), which is FOR_EACH_TAP's pixel of tap 8 - (kh * 3 + kw). */
INLINE_AVX2 void backward_data_pixel8(const float *dy, const float *wt, float *dx, int64_t height,
                                      int64_t width, const int features, const int blocks,
                                      int64_t ph, int64_t pw) {
  int64_t plane = height * width;
  __m256 acc[MAX_BLOCKS8] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  FOR_EACH_TAP(ph, pw, height, width) {
#pragma GCC unroll 3
    for (int m = 0; m < features; m++) {
      __m256 d = _mm256_set1_ps(dy[m * plane + pixel]);
#pragma GCC unroll 2
      for (int b = 0; b < blocks; b++)
        acc[b] = _mm256_fmadd_ps(
            d, _mm256_loadu_ps(wt + ((m * blocks + b) * TAPS + (TAPS - 1 - tap)) * LANES8), acc[b]);
    }
  }
#pragma GCC unroll 2
  for (int b = 0; b < blocks; b++)
    _mm256_storeu_ps(dx + (b * plane + ph * width + pw) * LANES8, acc[b]);
}

/* dY's pixel (oh, ow) of feature m times X's block xb, added to the nine accumulators. */
INLINE_AVX2 void backward_weight_pixel8(const float *dy_m, const float *xb, __m256 acc[TAPS],
                                        int64_t height, int64_t width, int64_t oh, int64_t ow,
                                        const bool inside) {
  __m256 d = _mm256_set1_ps(dy_m[oh * width + ow]);
  FOR_EACH_TAP_INSIDE(oh, ow, height, width, inside) {
    acc[tap] = _mm256_fmadd_ps(d, _mm256_loadu_ps(xb + pixel * LANES8), acc[tap]);
  }
}

/* The four lane sums of a[0..3], in order. */
INLINE_AVX2 __m128 sums_of_lanes8(const __m256 a[QUAD_PIXELS]) {
  __m256 pairs = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
  return _mm_add_ps(_mm256_castps256_ps128(pairs), _mm256_extractf128_ps(pairs, 1));
}

/* forward_pixel8 for the four pixels (oh, ow) to (oh, ow + 3), all inside: twelve accumulators
 * (feature × pixel), so that the sums do not wait on one another. */
INLINE_AVX2 void forward_quad8(const float *x, const float *wt, float *y, int64_t height,
                               int64_t width, const int features, const int blocks, int64_t oh,
                               int64_t ow) {
  int64_t plane = height * width;
  __m256 acc[MAX_FEATURES][QUAD_PIXELS];
#pragma GCC unroll 12
  for (int i = 0; i < MAX_FEATURES * QUAD_PIXELS; i++)
    acc[i / QUAD_PIXELS][i % QUAD_PIXELS] = _mm256_setzero_ps();
#pragma GCC unroll 1
  for (int b = 0; b < blocks; b++)
#pragma GCC unroll 3
    for (int tap = 0; tap < TAPS; tap++) {
      const float *src = x + (b * plane + (oh + tap / 3 - 1) * width + ow + tap % 3 - 1) * LANES8;
      __m256 w[MAX_FEATURES];
#pragma GCC unroll 3
      for (int m = 0; m < features; m++)
        w[m] = _mm256_loadu_ps(wt + ((m * blocks + b) * TAPS + tap) * LANES8);
#pragma GCC unroll 4
      for (int j = 0; j < QUAD_PIXELS; j++) {
        __m256 v = _mm256_loadu_ps(src + j * LANES8);
#pragma GCC unroll 3
        for (int m = 0; m < features; m++)
          acc[m][j] = _mm256_fmadd_ps(v, w[m], acc[m][j]);
      }
    }
#pragma GCC unroll 3
  for (int m = 0; m < features; m++)
    _mm_storeu_ps(y + m * plane + oh * width + ow, sums_of_lanes8(acc[m]));
}

/* backward_data_pixel8 for the four pixels (ph, pw) to (ph, pw + 3), all inside: eight
 * accumulators (block × pixel). */
INLINE_AVX2 void backward_data_quad8(const float *dy, const float *wt, float *dx, int64_t height,
                                     int64_t width, const int features, const int blocks,
                                     int64_t ph, int64_t pw) {
  int64_t plane = height * width;
  __m256 acc[MAX_BLOCKS8][QUAD_PIXELS];
#pragma GCC unroll 8
  for (int i = 0; i < MAX_BLOCKS8 * QUAD_PIXELS; i++)
    acc[i / QUAD_PIXELS][i % QUAD_PIXELS] = _mm256_setzero_ps();
#pragma GCC unroll 3
  for (int tap = 0; tap < TAPS; tap++) {
    int64_t from = (ph + tap / 3 - 1) * width + pw + tap % 3 - 1;
#pragma GCC unroll 3
    for (int m = 0; m < features; m++) {
      __m256 w[MAX_BLOCKS8];
#pragma GCC unroll 2
      for (int b = 0; b < blocks; b++)
        w[b] = _mm256_loadu_ps(wt + ((m * blocks + b) * TAPS + (TAPS - 1 - tap)) * LANES8);
#pragma GCC unroll 4
      for (int j = 0; j < QUAD_PIXELS; j++) {
        __m256 d = _mm256_set1_ps(dy[m * plane + from + j]);
#pragma GCC unroll 2
        for (int b = 0; b < blocks; b++)
          acc[b][j] = _mm256_fmadd_ps(d, w[b], acc[b][j]);
      }
    }
  }
#pragma GCC unroll 2
  for (int b = 0; b < blocks; b++)
#pragma GCC unroll 4
    for (int j = 0; j < QUAD_PIXELS; j++)
      _mm256_storeu_ps(dx + (b * plane + ph * width + pw + j) * LANES8, acc[b][j]);
}

/* One image's Y (features planes) from its X (blocks planes of height × width vectors). */
#define BORDER(oh, ow) forward_pixel8(x, wt, y, height, width, features, blocks, oh, ow)
#define RUN(oh, ow) forward_quad8(x, wt, y, height, width, features, blocks, oh, ow)
INLINE_AVX2 void forward_image8(const float *x, const float *wt, float *y, int64_t height,
                                int64_t width, const int features, const int blocks) {
  FOR_EACH_PIXEL(height, width, QUAD_PIXELS, RUN, BORDER);
}
#undef BORDER
#undef RUN

/* One image's dX (blocks planes of height × width vectors) from its dY. */
#define BORDER(ph, pw) backward_data_pixel8(dy, wt, dx, height, width, features, blocks, ph, pw)
#define RUN(ph, pw) backward_data_quad8(dy, wt, dx, height, width, features, blocks, ph, pw)
INLINE_AVX2 void backward_data_image8(const float *dy, const float *wt, float *dx, int64_t height,
                                      int64_t width, const int features, const int blocks) {
  FOR_EACH_PIXEL(height, width, QUAD_PIXELS, RUN, BORDER);
}
#undef BORDER
#undef RUN

/* One image's partial weight gradient (features × blocks × TAPS vectors) from its dY and X: one
 * (feature, block) at a time, so that its nine accumulators stay in AVX2's sixteen registers. */
#define BORDER(oh, ow) backward_weight_pixel8(dy_m, xb, acc, height, width, oh, ow, false)
#define RUN(oh, ow) backward_weight_pixel8(dy_m, xb, acc, height, width, oh, ow, true)
INLINE_AVX2 void backward_weight_image8(const float *dy, const float *x, float *partial,
                                        int64_t height, int64_t width, const int features,
                                        const int blocks) {
  int64_t plane = height * width;
  for (int m = 0; m < features; m++)
    for (int b = 0; b < blocks; b++) {
      const float *xb = x + b * plane * LANES8, *dy_m = dy + m * plane;
      __m256 acc[TAPS];
#pragma GCC unroll 9
      for (int t = 0; t < TAPS; t++)
        acc[t] = _mm256_setzero_ps();
      FOR_EACH_PIXEL(height, width, 1, RUN, BORDER);
#pragma GCC unroll 9
      for (int t = 0; t < TAPS; t++)
        _mm256_storeu_ps(partial + ((m * blocks + b) * TAPS + t) * LANES8, acc[t]);
    }
}
#undef BORDER
#undef RUN

/* One image of a pass: a and b are its X and wt (forward), dY and wt (backward-data) or dY and X
 * (backward-weight). Not inlined into the OpenMP region (whose outlined body does not inherit a
 * target attribute under clang), with the feature (and block) count a constant of each
 * specialisation. */
#define SPECIALISED(call)                                                                          \
  switch (s->features) {                                                                           \
  case 1: call(1); break;                                                                          \
  case 2: call(2); break;                                                                          \
  default: call(3); break;                                                                         \
  }

AVX512 __attribute__((noinline)) static void image_pass16(const small_conv_state *s, const float *a,
                                                          const float *b, float *out) {
#define FORWARD(f) forward_image16(a, b, out, s->height, s->width, f)
#define BACKWARD_DATA(f) backward_data_image16(a, b, out, s->height, s->width, f)
#define BACKWARD_WEIGHT(f) backward_weight_image16(a, b, out, s->height, s->width, f)
  switch (s->op) {
  case IPRO_OP_CONV: SPECIALISED(FORWARD) break;
  case IPRO_OP_CONV_GRAD_INPUT: SPECIALISED(BACKWARD_DATA) break;
  default: SPECIALISED(BACKWARD_WEIGHT) break;
  }
#undef FORWARD
#undef BACKWARD_DATA
#undef BACKWARD_WEIGHT
}

/* The AVX2 loops of one op over one image, specialised by feature and block count; a function
 * per op, since compilation time grows faster than a function's length (more so under the
 * sanitizers of the test build). */
#define PASS8(name, image)                                                                         \
  AVX2 __attribute__((noinline)) static void name(const small_conv_state *s, const float *a,       \
                                                  const float *b, float *out) {                    \
    int64_t h = s->height, w = s->width;                                                           \
    switch (s->features * 2 + s->blocks) { /* features 1-3, blocks 1-2: one case each */           \
    case 3: image(a, b, out, h, w, 1, 1); break;                                                   \
    case 4: image(a, b, out, h, w, 1, 2); break;                                                   \
    case 5: image(a, b, out, h, w, 2, 1); break;                                                   \
    case 6: image(a, b, out, h, w, 2, 2); break;                                                   \
    case 7: image(a, b, out, h, w, 3, 1); break;                                                   \
    default: image(a, b, out, h, w, 3, 2); break;                                                  \
    }                                                                                              \
  }
PASS8(forward_pass8, forward_image8)
PASS8(backward_data_pass8, backward_data_image8)
PASS8(backward_weight_pass8, backward_weight_image8)
#undef PASS8

static void image_pass8(const small_conv_state *s, const float *a, const float *b, float *out) {
  switch (s->op) {
  case IPRO_OP_CONV: forward_pass8(s, a, b, out); break;
  case IPRO_OP_CONV_GRAD_INPUT: backward_data_pass8(s, a, b, out); break;
  default: backward_weight_pass8(s, a, b, out); break;
  }
}

/* ---- the run ---- */

/* The index of channel c's lane of tap t of feature m in wt (or a partial). */
static int64_t lane_of(const small_conv_state *s, int64_t m, int64_t c, int t) {
  return ((m * s->blocks + c / s->lanes) * TAPS + t) * s->lanes + c % s->lanes;
}

/* wt[m][block][tap][lane] = W[m][c][tap] for c < C, 0 in the padding lanes. */
static void lay_out_taps(const small_conv_state *s, const float *w, float *wt) {
  memset(wt, 0, (size_t)(s->features * s->blocks * TAPS * s->lanes) * sizeof *wt);
  for (int64_t m = 0; m < s->features; m++)
    for (int64_t c = 0; c < s->channels; c++)
      for (int t = 0; t < TAPS; t++)
        wt[lane_of(s, m, c, t)] = w[(m * s->channels + c) * TAPS + t];
}

/* dW[m][c][tap]: the images' partials summed in image order. */
static void sum_partials(const small_conv_state *s, const float *partials, float *dw) {
  int64_t per_image = s->features * s->blocks * TAPS * s->lanes;
  for (int64_t m = 0; m < s->features; m++)
    for (int64_t c = 0; c < s->channels; c++)
      for (int t = 0; t < TAPS; t++) {
        float sum = 0.0f;
        for (int64_t n = 0; n < s->images; n++)
          sum += partials[n * per_image + lane_of(s, m, c, t)];
        dw[(m * s->channels + c) * TAPS + t] = sum;
      }
}

static ipro_status small_conv_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                  void *const *outputs, char *workspace, uint64_t step,
                                  ipro_error *err) {
  (void)step, (void)err;
  const small_conv_state *s = kernel->state;
  int64_t pixels = s->height * s->width, planes = s->features * pixels;
  int64_t vectors = pixels * s->blocks * s->lanes; /* one image of X (dX), padding lanes too */
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
                                                        : s->features * s->blocks * TAPS * s->lanes;
  IPRO_ONEDNN_PARALLEL_FOR(s->images * vectors * s->features)
  for (int64_t n = 0; n < s->images; n++) {
    if (s->lanes == LANES16)
      image_pass16(s, a + n * a_step, b + n * b_step, out + n * out_step);
    else
      image_pass8(s, a + n * a_step, b + n * b_step, out + n * out_step);
  }
  if (weights) sum_partials(s, out, outputs[0]);
  return IPRO_OK;
}

/* ---- which nodes, and the build ---- */

/* The forward's X, W and Y shapes and the graph's tensors X (or dX) and Y (or dY), for a
 * convolution or its gradient without a bias or dB. */
static bool operands_of(const ipro_graph *graph, const ipro_node *node, ipro_shape *x,
                        ipro_shape *w, ipro_shape *y, int *x_tensor, int *y_tensor) {
  bool bias =
      (node->op == IPRO_OP_CONV && node->n_inputs > 2 && node->inputs[2] >= 0) ||
      (node->op == IPRO_OP_CONV_GRAD_WEIGHT && node->n_outputs > 1 && node->outputs[1] >= 0);
  return !bias && ipro_onednn_conv_operands(graph, node, x, w, y, x_tensor, y_tensor);
}

bool ipro_onednn_small_conv_takes(const ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                  const ipro_node *node) {
  ipro_shape x, w, y;
  int x_tensor = -1, y_tensor = -1;
  if (!operands_of(graph, node, &x, &w, &y, &x_tensor, &y_tensor) ||
      ipro_onednn_switched_off("IPRO_ONEDNN_SMALL_CONV"))
    return false;
  /* X carried channel-blocked in the backend's block (16 with AVX-512, 8 with AVX2), Y plain */
  int block = ipro_onednn_channel_block();
  bool loops = block == LANES16 ||
               (block == LANES8 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  return loops && ipro_onednn_carried(kernel, x_tensor) && !ipro_onednn_carried(kernel, y_tensor) &&
         x.rank == 4 && x.dims[1] <= MAX_CHANNELS && y.dims[1] <= MAX_FEATURES &&
         ipro_onednn_conv_3x3_stride(node, &x, &w, &y) == 1;
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
  int64_t lanes = ipro_onednn_channel_block(), blocks = (x.dims[1] + lanes - 1) / lanes;
  *s = (small_conv_state){node->op,  x.dims[0], x.dims[1], x.dims[2], x.dims[3],
                          y.dims[1], lanes,     blocks,    0,         0};
  size_t taps = (size_t)(s->features * blocks * TAPS * lanes) * sizeof(float);
  if (node->op == IPRO_OP_CONV_GRAD_WEIGHT)
    s->partials_at = ipro_onednn_reserve(kernel, (size_t)s->images * taps);
  else
    s->taps_at = ipro_onednn_reserve(kernel, taps);
  return ipro_onednn_add_loop_step(kernel, small_conv_run, err);
}
