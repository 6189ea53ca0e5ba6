/* A training BatchNormalization fused with the Add and ReLU after it (codegen/fusion.h,
 * fused_add_relu): Z = max(0, BN(X) + R).
 *
 * Where X and Z lie in channel blocks (onednn_layouts.c: 16-channel blocks, nChw16c and its kin,
 * on a CPU with AVX-512, whose instructions the loop then uses; 8-channel blocks with AVX2 and
 * FMA), a loop of our own does it (R, when it lies plain, as a module's input does, reordered into
 * their layout first) in two passes over the data: the batch statistics (each channel's sum and sum
 * of squares over the batch and the plane, in double, one partial per image and channel block,
 * summed afterwards in image order, so the result does not depend on the thread count), then Z =
 * max(0, X·a + b + R) with a = scale / sqrt(variance + epsilon) and b = B - mean·a per channel.
 * oneDNN's normalisation reads X three times (mean, variance, normalisation) and writes Y, which
 * the Add then reads back with R to write Z; this reads X twice and R once and writes Z once (on
 * the 2-core AVX2 AMD EPYC of session 22, ResNet-32's 15 at batch 128 took 14.9-15.9 ms a step on
 * oneDNN and 12.0-13.0 on the loops: bench/step_profile --nodes, alternated). It also writes the
 * saved statistics (outputs 3 and 4) and the running ones as the oneDNN path does
 * (onednn_normalization.c). Padding channels stay zero (their a and b are zero).
 *
 * IPRO_ONEDNN_NORM_ADD_LOOP=0 leaves them to oneDNN too (for comparison).
 *
 * Anywhere else the normalisation runs as oneDNN's, writing Z, and then oneDNN's binary Add with a
 * ReLU post-op adds R to Z in place, R reordered into Z's layout first where it lies otherwise. */
#include <immintrin.h>
#include <math.h>

#include "onednn_internal.h"

#define LANES16 16
#define LANES8 8
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

typedef struct {
  int64_t lanes; /* the channel block: 16 (AVX-512) or 8 (AVX2) */
  int64_t batch, blocks, spatial, channels;
  float epsilon, momentum;
  double variance_scale; /* of the batch variance in the running one: (1 - momentum), unbiased */
  int mean_at, var_at;   /* where the running statistics go: -1 over inputs 3 and 4, an output
                            index, or -2 nowhere */
  bool saves;
  size_t partials; /* workspace: batch × blocks × (lanes sums, lanes sums of squares), double */
  bool staged;     /* R lies plain and was reordered, channel-blocked, to the workspace at: */
  size_t staged_at;
} norm_add_state;

/* One image's channel block: the sums and sums of squares of its 16 lanes over the plane. */
AVX512 static void block_moments16(const float *x, int64_t spatial, double *out) {
  __m512d sum[4], squares[4];
  for (int k = 0; k < 4; k++)
    sum[k] = squares[k] = _mm512_setzero_pd();
  int64_t i = 0;
  /* two pixels at a time: independent chains for the adds' latency */
  for (; i + 1 < spatial; i += 2)
    for (int p = 0; p < 2; p++) {
      __m512 v = _mm512_loadu_ps(x + (i + p) * LANES16);
      __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
      __m512d hi =
          _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
      sum[2 * p] = _mm512_add_pd(sum[2 * p], lo);
      sum[2 * p + 1] = _mm512_add_pd(sum[2 * p + 1], hi);
      squares[2 * p] = _mm512_fmadd_pd(lo, lo, squares[2 * p]);
      squares[2 * p + 1] = _mm512_fmadd_pd(hi, hi, squares[2 * p + 1]);
    }
  for (; i < spatial; i++) {
    __m512 v = _mm512_loadu_ps(x + i * LANES16);
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    sum[0] = _mm512_add_pd(sum[0], lo);
    sum[1] = _mm512_add_pd(sum[1], hi);
    squares[0] = _mm512_fmadd_pd(lo, lo, squares[0]);
    squares[1] = _mm512_fmadd_pd(hi, hi, squares[1]);
  }
  _mm512_storeu_pd(out, _mm512_add_pd(sum[0], sum[2]));
  _mm512_storeu_pd(out + 8, _mm512_add_pd(sum[1], sum[3]));
  _mm512_storeu_pd(out + 16, _mm512_add_pd(squares[0], squares[2]));
  _mm512_storeu_pd(out + 24, _mm512_add_pd(squares[1], squares[3]));
}

/* Z = max(0, X·a + b + R) over one image's channel block. */
AVX512 static void block_apply16(const float *x, const float *r, float *z, int64_t spatial,
                                 const float *a, const float *b) {
  __m512 va = _mm512_loadu_ps(a), vb = _mm512_loadu_ps(b), zero = _mm512_setzero_ps();
  for (int64_t i = 0; i < spatial; i++) {
    __m512 v = _mm512_fmadd_ps(_mm512_loadu_ps(x + i * LANES16), va, vb);
    v = _mm512_add_ps(v, _mm512_loadu_ps(r + i * LANES16));
    /* max(0, v) that keeps a NaN (maxps returns its second operand when either is NaN), so a
     * diverging run still reaches a NaN loss and stops with its message */
    _mm512_storeu_ps(z + i * LANES16, _mm512_max_ps(zero, v));
  }
}

/* block_moments16 over 8 lanes (AVX2): each lane's sums in double. */
AVX2 static void block_moments8(const float *x, int64_t spatial, double *out) {
  __m256d sum[4], squares[4]; /* [pixel parity][half of the lanes] */
  for (int k = 0; k < 4; k++)
    sum[k] = squares[k] = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 1 < spatial; i += 2)
    for (int p = 0; p < 2; p++) {
      __m256 v = _mm256_loadu_ps(x + (i + p) * LANES8);
      __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
      __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
      sum[2 * p] = _mm256_add_pd(sum[2 * p], lo);
      sum[2 * p + 1] = _mm256_add_pd(sum[2 * p + 1], hi);
      squares[2 * p] = _mm256_fmadd_pd(lo, lo, squares[2 * p]);
      squares[2 * p + 1] = _mm256_fmadd_pd(hi, hi, squares[2 * p + 1]);
    }
  for (; i < spatial; i++) {
    __m256 v = _mm256_loadu_ps(x + i * LANES8);
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    sum[0] = _mm256_add_pd(sum[0], lo);
    sum[1] = _mm256_add_pd(sum[1], hi);
    squares[0] = _mm256_fmadd_pd(lo, lo, squares[0]);
    squares[1] = _mm256_fmadd_pd(hi, hi, squares[1]);
  }
  _mm256_storeu_pd(out, _mm256_add_pd(sum[0], sum[2]));
  _mm256_storeu_pd(out + 4, _mm256_add_pd(sum[1], sum[3]));
  _mm256_storeu_pd(out + 8, _mm256_add_pd(squares[0], squares[2]));
  _mm256_storeu_pd(out + 12, _mm256_add_pd(squares[1], squares[3]));
}

/* block_apply16 over 8 lanes (AVX2). */
AVX2 static void block_apply8(const float *x, const float *r, float *z, int64_t spatial,
                              const float *a, const float *b) {
  __m256 va = _mm256_loadu_ps(a), vb = _mm256_loadu_ps(b), zero = _mm256_setzero_ps();
  for (int64_t i = 0; i < spatial; i++) {
    __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(x + i * LANES8), va, vb);
    v = _mm256_add_ps(v, _mm256_loadu_ps(r + i * LANES8));
    _mm256_storeu_ps(z + i * LANES8, _mm256_max_ps(zero, v)); /* keeps a NaN, as above */
  }
}

static ipro_status norm_add_relu_blocked(const ipro_onednn_kernel *kernel, void *const *inputs,
                                         void *const *outputs, char *workspace, uint64_t step,
                                         ipro_error *err) {
  (void)step, (void)err;
  const norm_add_state *s = kernel->state;
  const float *x = inputs[0], *scale = inputs[1], *shift = inputs[2];
  const float *r = s->staged ? (const float *)(workspace + s->staged_at) : inputs[5];
  float *z = outputs[0];
  double *partials = (double *)(workspace + s->partials);
  int64_t lanes = s->lanes, units = s->batch * s->blocks, block = s->spatial * lanes;
  IPRO_ONEDNN_PARALLEL_FOR(units * block)
  for (int64_t u = 0; u < units; u++)
    if (lanes == LANES16)
      block_moments16(x + u * block, s->spatial, partials + u * 2 * lanes);
    else
      block_moments8(x + u * block, s->spatial, partials + u * 2 * lanes);
  /* the channels' statistics, summed in image order; a, b per lane (zero past the channels) */
  float a[IPRO_ONEDNN_MAX_CHANNEL_BLOCKS * LANES16], b[IPRO_ONEDNN_MAX_CHANNEL_BLOCKS * LANES16];
  double count = (double)(s->batch * s->spatial);
  float *input_mean = inputs[3], *input_var = inputs[4];
  float *running_mean = s->mean_at == -1  ? input_mean
                        : s->mean_at >= 0 ? outputs[s->mean_at]
                                          : NULL;
  float *running_var = s->var_at == -1 ? input_var : s->var_at >= 0 ? outputs[s->var_at] : NULL;
  for (int64_t cb = 0; cb < s->blocks; cb++)
    for (int64_t l = 0; l < lanes; l++) {
      int64_t c = cb * lanes + l;
      double sum = 0, squares = 0;
      for (int64_t n = 0; n < s->batch; n++) {
        const double *p = partials + (n * s->blocks + cb) * 2 * lanes;
        sum += p[l];
        squares += p[lanes + l];
      }
      if (c >= s->channels) {
        a[c] = b[c] = 0;
        continue;
      }
      double mean = sum / count, variance = squares / count - mean * mean;
      if (variance < 0) variance = 0;
      float inv_std = 1.0f / sqrtf((float)variance + s->epsilon);
      a[c] = scale[c] * inv_std;
      b[c] = shift[c] - (float)mean * a[c];
      if (s->saves) {
        ((float *)outputs[3])[c] = (float)mean;
        ((float *)outputs[4])[c] = inv_std;
      }
      /* both read before either writes: in place they are inputs 3 and 4 */
      float new_mean = s->momentum * input_mean[c] + (1.0f - s->momentum) * (float)mean;
      float new_var = s->momentum * input_var[c] + (float)(s->variance_scale * variance);
      if (running_mean) running_mean[c] = new_mean;
      if (running_var) running_var[c] = new_var;
    }
  IPRO_ONEDNN_PARALLEL_FOR(units * block)
  for (int64_t u = 0; u < units; u++) {
    int64_t cb = u % s->blocks;
    if (lanes == LANES16)
      block_apply16(x + u * block, r + u * block, z + u * block, s->spatial, a + cb * lanes,
                    b + cb * lanes);
    else
      block_apply8(x + u * block, r + u * block, z + u * block, s->spatial, a + cb * lanes,
                   b + cb * lanes);
  }
  return IPRO_OK;
}

/* A step reordering R (input 5) from the layout it lies in into Z's, in the workspace at *at. */
static ipro_status stage_added(ipro_onednn_kernel *kernel, const ipro_shape *shape,
                               const ipro_node *node, size_t *at, ipro_error *err) {
  dnnl_memory_desc_t plain, from, to;
  if (ipro_onednn_plain_md(&plain, shape->rank, shape->dims, err) ||
      ipro_onednn_layout_md(kernel, node->inputs[5], &plain, &from, err) ||
      ipro_onednn_layout_md(kernel, node->outputs[0], &plain, &to, err))
    return IPRO_ERROR;
  *at = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&to));
  return ipro_onednn_reorder_step(kernel, &from, IPRO_ONEDNN_INPUT, 5, &to,
                                  IPRO_ONEDNN_INTERMEDIATE, *at, err);
}

ipro_status ipro_onednn_build_norm_add_relu_blocked(ipro_onednn_kernel *kernel,
                                                    const ipro_graph *graph, const ipro_node *node,
                                                    const ipro_onednn_norm_settings *settings,
                                                    bool *built, ipro_error *err) {
  *built = false;
  const ipro_shape *x = &graph->tensors[node->inputs[0]].shape;
  /* blocks of 16 are AVX-512's (oneDNN's avx512_core), of 8 AVX2's, whose instructions the loops
   * use */
  int64_t lanes = ipro_onednn_channel_block(), blocks = (x->dims[1] + lanes - 1) / lanes;
  bool isa = lanes == LANES16 ||
             (lanes == LANES8 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  if (!settings->training || !ipro_onednn_carried(kernel, node->inputs[0]) ||
      !ipro_onednn_carried(kernel, node->outputs[0]) ||
      blocks * lanes > IPRO_ONEDNN_MAX_CHANNEL_BLOCKS * LANES16 || !isa ||
      ipro_onednn_switched_off("IPRO_ONEDNN_NORM_ADD_LOOP"))
    return IPRO_OK;
  norm_add_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  int64_t spatial = 1;
  for (int d = 2; d < x->rank; d++)
    spatial *= x->dims[d];
  *s = (norm_add_state){.lanes = lanes,
                        .batch = x->dims[0],
                        .blocks = blocks,
                        .spatial = spatial,
                        .channels = x->dims[1],
                        .epsilon = settings->epsilon,
                        .momentum = settings->momentum,
                        .variance_scale = settings->variance_scale,
                        .mean_at = settings->mean_output,
                        .var_at = settings->var_output,
                        .saves = settings->saves_statistics,
                        .partials = ipro_onednn_reserve(kernel, (size_t)(x->dims[0] * blocks) * 2 *
                                                                    lanes * sizeof(double))};
  /* R lying plain (a module's input, say) is reordered into Z's layout first */
  s->staged = !ipro_onednn_carried(kernel, node->inputs[5]);
  if (s->staged && stage_added(kernel, x, node, &s->staged_at, err)) return IPRO_ERROR;
  *built = true;
  return ipro_onednn_add_loop_step(kernel, norm_add_relu_blocked, err);
}

ipro_status ipro_onednn_build_add_relu_after_norm(ipro_onednn_kernel *kernel,
                                                  const ipro_graph *graph, const ipro_node *node,
                                                  ipro_error *err) {
  const ipro_shape *shape = &graph->tensors[node->outputs[0]].shape;
  dnnl_memory_desc_t plain, z_md;
  /* R in another layout than Z is reordered into Z's first: oneDNN's binary primitive on two
   * layouts runs its slow reference code (70 ms against 1 for one ResNet-32 block) */
  bool staged =
      ipro_onednn_carried(kernel, node->inputs[5]) != ipro_onednn_carried(kernel, node->outputs[0]);
  size_t staged_at = 0;
  if (ipro_onednn_plain_md(&plain, shape->rank, shape->dims, err) ||
      ipro_onednn_layout_md(kernel, node->outputs[0], &plain, &z_md, err) ||
      (staged && stage_added(kernel, shape, node, &staged_at, err)))
    return IPRO_ERROR;
  /* in place over Z, which the normalisation wrote */
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC_0, IPRO_ONEDNN_OUTPUT, 0},
      {DNNL_ARG_SRC_1, staged ? IPRO_ONEDNN_INTERMEDIATE : IPRO_ONEDNN_INPUT,
       staged ? staged_at : 5},
      {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0},
  };
  return ipro_onednn_binary_step(kernel, dnnl_binary_add, &z_md, &z_md, &z_md, false, true,
                                 arguments, err);
}
