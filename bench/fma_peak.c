/* The CPU's peak rate of single-precision FMAs on the OpenMP threads (OMP_NUM_THREADS): each thread
 * runs twelve independent chains of vector FMAs held in registers (no memory traffic), AVX-512's
 * 16 lanes where the CPU has AVX-512F, else AVX2's 8 (with FMA); the best of --runs runs is
 * printed. It is the ceiling the convolutions' rate in bench/conv_roofline is read against
 * (bench/training_step_vs_pytorch.sh prints both): a kernel at it keeps the FMA units busy on
 * every cycle. conv_roofline counts the direct algorithm's FLOPs, every tap of the window, those
 * that meet the padding too, which a direct kernel skips, so on small images its rate can exceed
 * this one, and with Winograd's algorithm (fewer multiplications) on any.
 *
 *   fma_peak [--runs N] [--tsv]
 *
 * --tsv prints one line: gflops lanes threads. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CHAINS 12
#define ITERATIONS 20000000L

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ITERATIONS × CHAINS vector FMAs (V's intrinsics the arguments after it); returns a lane of their
 * sum so that none is dropped. */
#define DEFINE_CHAINS(name, target_isa, V, SET1, FMADD, ADD, FIRST)                                \
  __attribute__((target(target_isa), noinline)) static float name(long iterations) {               \
    V a[CHAINS], b = SET1(0.999999f), c = SET1(1e-6f);                                             \
    for (int i = 0; i < CHAINS; i++)                                                               \
      a[i] = SET1((float)i);                                                                       \
    for (long k = 0; k < iterations; k++)                                                          \
      _Pragma("GCC unroll 12") for (int i = 0; i < CHAINS; i++) a[i] = FMADD(a[i], b, c);          \
    for (int i = 1; i < CHAINS; i++)                                                               \
      a[0] = ADD(a[0], a[i]);                                                                      \
    return FIRST(a[0]);                                                                            \
  }
DEFINE_CHAINS(chains8, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
              _mm256_cvtss_f32)
DEFINE_CHAINS(chains16, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
              _mm512_cvtss_f32)
#undef DEFINE_CHAINS

int main(int argc, char **argv) {
  int runs = 3;
  int tsv = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--tsv") == 0) {
      tsv = 1;
    } else {
      fprintf(stderr, "usage: fma_peak [--runs N] [--tsv]\n");
      return 2;
    }
  }
  int lanes = __builtin_cpu_supports("avx512f")                                 ? 16
              : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 8
                                                                                : 0;
  if (!lanes) {
    fprintf(stderr, "fma_peak: this CPU has neither AVX-512F nor AVX2 with FMA\n");
    return 1;
  }
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  double best = 0.0;
  float sink = 0.0f;
  for (int r = 0; r < (runs > 0 ? runs : 1); r++) {
    double start = seconds_now();
#pragma omp parallel reduction(+ : sink)
    sink += lanes == 16 ? chains16(ITERATIONS) : chains8(ITERATIONS);
    double seconds = seconds_now() - start;
    double gflops = 2.0 * lanes * CHAINS * (double)ITERATIONS * threads / seconds / 1e9;
    if (gflops > best) best = gflops;
  }
  if (tsv)
    printf("%.1f\t%d\t%d\n", best, lanes, threads);
  else
    printf("%.1f GFLOP/s: FMAs of %d lanes from registers on %d thread%s, best of %d run%s "
           "(checksum %g)\n",
           best, lanes, threads, threads == 1 ? "" : "s", runs, runs == 1 ? "" : "s", (double)sink);
  return 0;
}
