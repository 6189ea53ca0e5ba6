/* Winograd's F(2×2, 3×3) for the 3×3 convolutions of stride 1 and padding 1 that cpu_conv3x3.c
 * runs over 8-channel blocks (AVX2 + FMA): its forward, its data gradient (the forward of dY
 * with W turned 180° and its channel axes swapped) and its weight gradient (at the end). oneDNN
 * 2.6 has Winograd's algorithm for AVX-512 only.
 *
 * Each 2×2 tile of output pixels is computed from the 4×4 input patch around it (zero outside the
 * image) as Y = Aᵀ [Σ_c U_c ⊙ V_c] A, with V_c = Bᵀ d_c B the patch's transform per input channel
 * and U_c = G g_c Gᵀ the window's (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016):
 *   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
 *   Aᵀ = [1 1 1 0; 0 1 -1 -1].
 * The sum over channels is, for each of the 16 transformed positions ξ, a product of the tiles'
 * V[ξ] (tiles × C) with U[ξ] (C × K): 16·C·K multiply-adds per tile where the direct loops do
 * 36·C·K, 2.25 times fewer, for additions in the transforms. On the 2-core AMD EPYC of session
 * 22 (bench/conv_roofline on ResNet-32 at batch 128, alternated with IPRO_ONEDNN_WINOGRAD=0,
 * which runs cpu_conv3x3.c's direct loops): the forward of 16 channels at 32×32 5.99 ms against
 * 6.67, of 32 at 16×16 5.03 against 6.23, of 64 at 8×8 4.49 against 5.82; the data gradients
 * 5.02, 4.73 and 4.60 against 7.56, 6.19 and 5.86 (the transforms weigh most at 16 channels).
 *
 * A row of tiles is done four tiles at a time: the four patches' V (per channel block, 16
 * vectors each) into a buffer on the stack, then per ξ the product in registers (4 tiles × up to
 * 3 output blocks of accumulators, each V value broadcast once for the 3 blocks' U vectors) into
 * a second buffer, then Aᵀ M A per tile and output block, written where the tile lies in the
 * image (a last tile of an odd size writes its pixels inside only). Every output element is
 * written by one thread from the same operations whatever the thread count, so the bytes do not
 * depend on it. The input's padding lanes are transformed but never read by the product (it sums
 * over the real channels); U is zero in the output's padding lanes, so they come out +0 (a last
 * output block of at most 4 channels is multiplied in 4 lanes a tile, two tiles to a vector, and
 * its upper 4 lanes stored as +0: that halves its product's cost, see product). The rounding
 * differs from the direct loops' (the transforms add and subtract first): about 1e-7 of the
 * outputs' magnitude in single precision, within the tolerances the direct loops are held to. */
#include <immintrin.h>
#include <string.h>

#include "onednn_internal.h"

#define LANES 8
#define POSITIONS IPRO_ONEDNN_WINOGRAD_POSITIONS
#define TILES 4      /* tiles of a row done together */
#define GROUP 3      /* output blocks whose accumulators are held together */
#define ROW_TILES 16 /* tiles of a row the weight gradient transforms together */
#define MAX_CHANNELS IPRO_ONEDNN_WINOGRAD_MAX_CHANNELS

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

size_t ipro_onednn_winograd_weight_floats(int64_t in_channels, int64_t out_channels) {
  int64_t out_padded = (out_channels + LANES - 1) / LANES * LANES;
  return (size_t)(POSITIONS * in_channels * out_padded);
}

void ipro_onednn_winograd_weights(const float *w, bool data_gradient, int64_t in_channels,
                                  int64_t out_channels, float *u) {
  int64_t out_padded = (out_channels + LANES - 1) / LANES * LANES;
  memset(u, 0, ipro_onednn_winograd_weight_floats(in_channels, out_channels) * sizeof *u);
  for (int64_t o = 0; o < out_channels; o++)
    for (int64_t i = 0; i < in_channels; i++) {
      float g[3][3];
      for (int t = 0; t < 9; t++) /* the data gradient's window: W[i][o] turned 180° */
        g[t / 3][t % 3] = data_gradient ? w[(i * out_channels + o) * 9 + 8 - t]
                                        : w[(o * in_channels + i) * 9 + t];
      float gg[4][3]; /* G g */
      for (int j = 0; j < 3; j++) {
        gg[0][j] = g[0][j];
        gg[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        gg[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        gg[3][j] = g[2][j];
      }
      for (int r = 0; r < 4; r++) { /* (G g) Gᵀ */
        float row[4] = {gg[r][0], 0.5f * (gg[r][0] + gg[r][1] + gg[r][2]),
                        0.5f * (gg[r][0] - gg[r][1] + gg[r][2]), gg[r][2]};
        for (int c = 0; c < 4; c++)
          u[((r * 4 + c) * in_channels + i) * out_padded + o] = row[c];
      }
    }
}

/* The V of the tiles [first, first + count) of tile row th, for every input block: v[ξ][t][c]
 * (c over the blocks' lanes, `stride` floats a tile, `tiles` tiles a position). */
INLINE_AVX2 void transform_inputs(const ipro_onednn_winograd_geometry *g, const float *x,
                                  int64_t th, int64_t first, int count, float *v, int64_t stride,
                                  int tiles) {
  int64_t height = g->height, width = g->width, plane = height * width * LANES;
  for (int64_t ib = 0; ib < g->in_blocks; ib++)
    for (int t = 0; t < count; t++) {
      __m256 d[4][4], r[4][4];
      int64_t ih0 = 2 * th - 1, iw0 = 2 * (first + t) - 1;
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          int64_t ih = ih0 + i, iw = iw0 + j;
          d[i][j] = ih >= 0 && ih < height && iw >= 0 && iw < width
                        ? _mm256_loadu_ps(x + ib * plane + (ih * width + iw) * LANES)
                        : _mm256_setzero_ps();
        }
      for (int j = 0; j < 4; j++) { /* Bᵀ d */
        r[0][j] = _mm256_sub_ps(d[0][j], d[2][j]);
        r[1][j] = _mm256_add_ps(d[1][j], d[2][j]);
        r[2][j] = _mm256_sub_ps(d[2][j], d[1][j]);
        r[3][j] = _mm256_sub_ps(d[1][j], d[3][j]);
      }
      for (int i = 0; i < 4; i++) { /* (Bᵀ d) B */
        float *at = v + ((i * 4) * tiles + t) * stride + ib * LANES;
        _mm256_storeu_ps(at, _mm256_sub_ps(r[i][0], r[i][2]));
        _mm256_storeu_ps(at + tiles * stride, _mm256_add_ps(r[i][1], r[i][2]));
        _mm256_storeu_ps(at + 2 * tiles * stride, _mm256_sub_ps(r[i][2], r[i][1]));
        _mm256_storeu_ps(at + 3 * tiles * stride, _mm256_sub_ps(r[i][1], r[i][3]));
      }
    }
}

/* m[ξ][t][o] = Σ_c v[ξ][t][c] · u[ξ][c][o] for the first `tiles` tiles (at most TILES) and the
 * output blocks [ob, ob + blocks), blocks ≤ GROUP (both constants of each call): each v value
 * broadcast once for the blocks' u vectors. With half_last (a constant too) the last of them
 * holds at most 4 channels: two tiles' 4 lanes of it are multiplied in one 8-lane vector (the
 * low half the first tile's, the high half the second's, from the two broadcasts blended), and a
 * tile without a partner in 4 lanes, so that the half block costs half a block's FMAs on any
 * CPU (on AMD's Zen 1, whose 256-bit FMAs issue as two 128-bit halves, 4-lane vectors alone did
 * that; on Zen 3 a 4-lane FMA costs what an 8-lane one does). Its other 4 lanes are stored as +0.
 * Each lane sums the same products in the same order either way, so the bytes are those of 4-lane
 * vectors. The loop over c is unrolled by 4: at 16 channels it runs 16 times a position, and its
 * own overhead weighed (ResNet-32's end-to-end step on the 2-core AMD EPYC Zen 3 of session 25,
 * 5 alternated bench/training_step runs: medians 269-303 ms against 280-310, best steps 256-289
 * against 272-289; the same bytes). */
INLINE_AVX2 void product(const float *v, const float *u, float *m, int64_t in_channels,
                         int64_t v_stride, int64_t out_padded, int64_t ob, const int tiles,
                         const int blocks, const bool half_last) {
  const int full = half_last ? blocks - 1 : blocks, pairs = tiles / 2;
  __m256 acc[TILES][GROUP], paired[TILES / 2];
  __m128 single = _mm_setzero_ps();
  for (int t = 0; t < tiles; t++)
    for (int q = 0; q < full; q++)
      acc[t][q] = _mm256_setzero_ps();
  for (int k = 0; k < pairs; k++)
    paired[k] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t c = 0; c < in_channels; c++) {
    const float *uc = u + c * out_padded + ob * LANES;
    __m256 w[GROUP];
    for (int q = 0; q < full; q++)
      w[q] = _mm256_loadu_ps(uc + q * LANES);
    __m256 w_tail =
        half_last ? _mm256_broadcast_ps((const __m128 *)(uc + full * LANES)) : _mm256_setzero_ps();
    __m256 b[TILES];
#pragma GCC unroll 4
    for (int t = 0; t < tiles; t++) {
      b[t] = _mm256_broadcast_ss(v + t * v_stride + c);
      for (int q = 0; q < full; q++)
        acc[t][q] = _mm256_fmadd_ps(b[t], w[q], acc[t][q]);
    }
    if (half_last) {
      for (int k = 0; k < pairs; k++)
        paired[k] =
            _mm256_fmadd_ps(_mm256_blend_ps(b[2 * k], b[2 * k + 1], 0xf0), w_tail, paired[k]);
      if (tiles % 2)
        single = _mm_fmadd_ps(_mm256_castps256_ps128(b[tiles - 1]), _mm256_castps256_ps128(w_tail),
                              single);
    }
  }
  const __m128 zero = _mm_setzero_ps();
  for (int t = 0; t < tiles; t++) {
    for (int q = 0; q < full; q++)
      _mm256_storeu_ps(m + t * out_padded + (ob + q) * LANES, acc[t][q]);
    if (half_last) {
      __m128 lanes = t / 2 < pairs ? (t % 2 ? _mm256_extractf128_ps(paired[t / 2], 1)
                                            : _mm256_castps256_ps128(paired[t / 2]))
                                   : single;
      _mm256_storeu_ps(m + t * out_padded + (ob + full) * LANES, _mm256_set_m128(zero, lanes));
    }
  }
}

/* Y's tiles [first, first + count) of tile row th from m, bias (out_padded floats) or NULL. */
INLINE_AVX2 void transform_outputs(const ipro_onednn_winograd_geometry *g, const float *m,
                                   const float *bias, float *y, int64_t th, int64_t first,
                                   int count, int64_t out_padded) {
  int64_t height = g->height, width = g->width, plane = height * width * LANES;
  for (int64_t ob = 0; ob < g->out_blocks; ob++) {
    __m256 b = bias ? _mm256_loadu_ps(bias + ob * LANES) : _mm256_setzero_ps();
    for (int t = 0; t < count; t++) {
      __m256 s[4][4], r[2][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
          s[i][j] = _mm256_loadu_ps(m + ((i * 4 + j) * TILES + t) * out_padded + ob * LANES);
      for (int j = 0; j < 4; j++) { /* Aᵀ s */
        r[0][j] = _mm256_add_ps(_mm256_add_ps(s[0][j], s[1][j]), s[2][j]);
        r[1][j] = _mm256_sub_ps(_mm256_sub_ps(s[1][j], s[2][j]), s[3][j]);
      }
      int64_t ow = 2 * (first + t);
      for (int i = 0; i < 2; i++) { /* (Aᵀ s) A */
        int64_t oh = 2 * th + i;
        if (oh >= height) continue;
        float *at = y + ob * plane + (oh * width + ow) * LANES;
        __m256 left = _mm256_add_ps(_mm256_add_ps(r[i][0], r[i][1]), r[i][2]);
        __m256 right = _mm256_sub_ps(_mm256_sub_ps(r[i][1], r[i][2]), r[i][3]);
        _mm256_storeu_ps(at, _mm256_add_ps(left, b));
        if (ow + 1 < width) _mm256_storeu_ps(at + LANES, _mm256_add_ps(right, b));
      }
    }
  }
}

/* The products of every position ξ for the first `tiles` tiles (a constant of each call) of the
 * buffers v and m; half: the last output block holds at most 4 channels. */
INLINE_AVX2 void products(const ipro_onednn_winograd_geometry *g, const float *v, const float *u,
                          float *m, int64_t v_stride, int64_t out_padded, bool half,
                          const int tiles) {
  for (int xi = 0; xi < POSITIONS; xi++) {
    const float *vx = v + xi * TILES * v_stride, *ux = u + xi * g->in_channels * out_padded;
    float *mx = m + xi * TILES * out_padded;
    int64_t ob = 0;
    for (; g->out_blocks - ob > GROUP; ob += GROUP)
      product(vx, ux, mx, g->in_channels, v_stride, out_padded, ob, tiles, GROUP, false);
      /* the last 1 to GROUP blocks, the last of them in 4 lanes where it holds at most 4 */
#define LAST_BLOCKS(blocks)                                                                        \
  (half ? product(vx, ux, mx, g->in_channels, v_stride, out_padded, ob, tiles, blocks, true)       \
        : product(vx, ux, mx, g->in_channels, v_stride, out_padded, ob, tiles, blocks, false))
    if (g->out_blocks - ob == 3)
      LAST_BLOCKS(3);
    else if (g->out_blocks - ob == 2)
      LAST_BLOCKS(2);
    else
      LAST_BLOCKS(1);
#undef LAST_BLOCKS
  }
}

/* One row of tiles of one image (x and y at the image's first block): TILES tiles at a time, and
 * a row's last 1 to 3 on products of as many (28 × 28 rows have 14 tiles: computing the last
 * group of 2 as 4 cost 1/8 of their products). Not inlined into the OpenMP region (whose outlined
 * body does not inherit a target attribute under clang). */
AVX2 __attribute__((noinline)) static void tile_row(const ipro_onednn_winograd_geometry *g,
                                                    const float *x, const float *u,
                                                    const float *bias, float *y, int64_t th) {
  float v[POSITIONS * TILES * MAX_CHANNELS], m[POSITIONS * TILES * MAX_CHANNELS];
  int64_t v_stride = g->in_blocks * LANES, out_padded = g->out_blocks * LANES;
  int64_t tiles = (g->width + 1) / 2;
  bool half = g->out_channels - (g->out_blocks - 1) * LANES <= LANES / 2;
  for (int64_t first = 0; first < tiles; first += TILES) {
    int count = (int)(tiles - first < TILES ? tiles - first : TILES);
    transform_inputs(g, x, th, first, count, v, v_stride, TILES);
    switch (count) { /* the buffers' tiles beyond count are neither read nor written */
    case 1: products(g, v, u, m, v_stride, out_padded, half, 1); break;
    case 2: products(g, v, u, m, v_stride, out_padded, half, 2); break;
    case 3: products(g, v, u, m, v_stride, out_padded, half, 3); break;
    default: products(g, v, u, m, v_stride, out_padded, half, TILES); break;
    }
    transform_outputs(g, m, bias, y, th, first, count, out_padded);
  }
}

void ipro_onednn_winograd_run(const ipro_onednn_winograd_geometry *g, const float *x,
                              const float *u, const float *bias, float *y) {
  int64_t plane = g->height * g->width * LANES, tile_rows = (g->height + 1) / 2;
  int64_t rows = g->images * tile_rows;
  IPRO_ONEDNN_PARALLEL_FOR(rows * g->width * (g->in_channels + g->out_channels))
  for (int64_t r = 0; r < rows; r++) {
    int64_t n = r / tile_rows;
    tile_row(g, x + n * g->in_blocks * plane, u, bias, y + n * g->out_blocks * plane,
             r % tile_rows);
  }
}

/* ---- the weight gradient ----
 *
 * Y's tile is Aᵀ M A with M = Σ_c U_c ⊙ V_c, so dL/dM = A dY Aᵀ per tile, dL/dU[ξ] of a channel
 * pair (o, i) is Σ over tiles of dL/dM_o[ξ] · V_i[ξ], and since U = G g Gᵀ is linear in g, the
 * window's gradient is Gᵀ (dL/dU) G. cpu_conv3x3.c sums dL/dU (16 values a pair against the
 * taps' 9) per chunk of images and pair of blocks, adds the chunks in order and then turns the
 * sum into taps (ipro_onednn_winograd_weight_taps), so the bytes do not depend on the threads.
 * Per tile and pair the product is 16 · 64 multiply-adds where the direct loops do 4 · 9 · 64.
 * An image's tiles go in row order, ROW_TILES at a time across rows (an 8 × 8 image has 16), X's
 * V and two output blocks' A dY Aᵀ into buffers on the stack, then per position ξ eight
 * accumulators (four lanes of i, two blocks of o) for each half of i's lanes: each V value
 * broadcast once for two FMAs (with one broadcast an FMA the product ran no faster than the
 * direct loops on the AMD EPYC). There (bench/conv_roofline on ResNet-32 at batch 128, alternated
 * with the build before it, session 23): 64 channels at 8 × 8 6.2-6.6 ms against 7.2, 32 at
 * 16 × 16 6.2-6.3 against 7.4-7.6, 16 at 32 × 32 6.5-6.8 against 7.7-7.9. */

/* dM = A dY Aᵀ of the tiles [first, first + count) of tile row th of dY's block (height × width
 * vectors, zero outside): m[ξ][t][o], ROW_TILES tiles a position. A's rows are [1 0], [1 1],
 * [1 -1] and [0 -1]: a 2 × 2 tile [a; b] (rows a and b) gives the rows a, a + b, a - b and -b,
 * and each row [p q] the four values p, p + q, p - q and -q. */
INLINE_AVX2 void transform_gradients(const float *dy, int64_t height, int64_t width, int64_t th,
                                     int64_t first, int count, float *m) {
  const __m256 zero = _mm256_setzero_ps();
  for (int t = 0; t < count; t++) {
    __m256 a[2][2], r[4][2];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        int64_t oh = 2 * th + i, ow = 2 * (first + t) + j;
        a[i][j] =
            oh < height && ow < width ? _mm256_loadu_ps(dy + (oh * width + ow) * LANES) : zero;
      }
    for (int j = 0; j < 2; j++) { /* A dY */
      r[0][j] = a[0][j];
      r[1][j] = _mm256_add_ps(a[0][j], a[1][j]);
      r[2][j] = _mm256_sub_ps(a[0][j], a[1][j]);
      r[3][j] = _mm256_sub_ps(zero, a[1][j]);
    }
    for (int i = 0; i < 4; i++) { /* (A dY) Aᵀ */
      float *at = m + ((i * 4) * ROW_TILES + t) * LANES;
      _mm256_storeu_ps(at, r[i][0]);
      _mm256_storeu_ps(at + ROW_TILES * LANES, _mm256_add_ps(r[i][0], r[i][1]));
      _mm256_storeu_ps(at + 2 * ROW_TILES * LANES, _mm256_sub_ps(r[i][0], r[i][1]));
      _mm256_storeu_ps(at + 3 * ROW_TILES * LANES, _mm256_sub_ps(zero, r[i][1]));
    }
  }
}

/* p_q[ξ][i][o] += Σ_t v[ξ][t][i] · m_q[ξ][t][o] over the first `count` tiles, for `blocks` (1 or 2,
 * a constant of each call) output blocks q (m_q ROW_TILES · 16 vectors apart, p_q p_stride floats
 * apart) and the lanes i of [half, half + 4): per position 4 × blocks accumulators over o, each v
 * value broadcast once for the blocks' m vectors (one broadcast an FMA was half the speed of the
 * direct loops on the AMD EPYC, whose broadcasts from memory compete with the FMAs). */
INLINE_AVX2 void weight_product(const float *v, const float *m, float *p, int64_t p_stride,
                                int count, int half, const int blocks) {
  for (int xi = 0; xi < POSITIONS; xi++) {
    const float *vx = v + xi * ROW_TILES * LANES + half, *mx = m + xi * ROW_TILES * LANES;
    __m256 acc[2][4];
    for (int q = 0; q < blocks; q++)
      for (int i = 0; i < 4; i++)
        acc[q][i] = _mm256_loadu_ps(p + q * p_stride + (xi * LANES + half + i) * LANES);
    for (int t = 0; t < count; t++) {
      __m256 g[2];
      for (int q = 0; q < blocks; q++)
        g[q] = _mm256_loadu_ps(mx + (q * POSITIONS * ROW_TILES + t) * LANES);
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        __m256 b = _mm256_broadcast_ss(vx + t * LANES + i);
        for (int q = 0; q < blocks; q++)
          acc[q][i] = _mm256_fmadd_ps(b, g[q], acc[q][i]);
      }
    }
    for (int q = 0; q < blocks; q++)
      for (int i = 0; i < 4; i++)
        _mm256_storeu_ps(p + q * p_stride + (xi * LANES + half + i) * LANES, acc[q][i]);
  }
}

AVX2 __attribute__((noinline)) void
ipro_onednn_winograd_weight_share(const float *x, const float *dy, int blocks, float *p,
                                  int64_t p_stride, int64_t height, int64_t width) {
  float v[POSITIONS * ROW_TILES * LANES], m[2 * POSITIONS * ROW_TILES * LANES];
  const ipro_onednn_winograd_geometry g = {.images = 1,
                                           .height = height,
                                           .width = width,
                                           .in_channels = LANES,
                                           .in_blocks = 1,
                                           .out_channels = LANES,
                                           .out_blocks = 1};
  int64_t tiles = (width + 1) / 2, tile_rows = (height + 1) / 2, plane = height * width * LANES;
  /* the image's tiles in row order, ROW_TILES at a time (across rows: an 8 × 8 image has 16) */
  int filled = 0;
  for (int64_t th = 0; th < tile_rows; th++)
    for (int64_t first = 0, count; first < tiles; first += count) {
      count = tiles - first < ROW_TILES - filled ? tiles - first : ROW_TILES - filled;
      transform_inputs(&g, x, th, first, (int)count, v + filled * LANES, LANES, ROW_TILES);
      for (int q = 0; q < blocks; q++)
        transform_gradients(dy + q * plane, height, width, th, first, (int)count,
                            m + (q * POSITIONS * ROW_TILES + filled) * LANES);
      filled += (int)count;
      bool last = th + 1 == tile_rows && first + count == tiles;
      if (filled < ROW_TILES && !last) continue;
      for (int half = 0; half < LANES; half += 4)
        if (blocks == 2)
          weight_product(v, m, p, p_stride, filled, half, 2);
        else
          weight_product(v, m, p, p_stride, filled, half, 1);
      filled = 0;
    }
}

void ipro_onednn_winograd_weight_taps(const float *partial, int64_t chunk_stride, int64_t chunks,
                                      int i_lane, int o_lane, float *taps) {
  float du[POSITIONS];
  for (int xi = 0; xi < POSITIONS; xi++) {
    float sum = 0.0f;
    for (int64_t c = 0; c < chunks; c++)
      sum += partial[c * chunk_stride + (xi * LANES + i_lane) * LANES + o_lane];
    du[xi] = sum;
  }
  /* Gᵀ's rows are [1 ½ ½ 0], [0 ½ -½ 0] and [0 ½ ½ 1] */
  float e[3][4];
  for (int c = 0; c < 4; c++) {
    float sum = 0.5f * (du[4 + c] + du[8 + c]);
    e[0][c] = du[c] + sum;
    e[1][c] = 0.5f * (du[4 + c] - du[8 + c]);
    e[2][c] = sum + du[12 + c];
  }
  for (int r = 0; r < 3; r++) {
    float sum = 0.5f * (e[r][1] + e[r][2]);
    taps[r * 3] = e[r][0] + sum;
    taps[r * 3 + 1] = 0.5f * (e[r][1] - e[r][2]);
    taps[r * 3 + 2] = sum + e[r][3];
  }
}
