/* The grouping of a pipeline's modules into stages (runtime/pipeline_stages.h) against an
 * exhaustive search: for every K and every S up to K, with pseudo-random works (zeros,
 * ties and values near 2^40 among them), every composition of K into S consecutive stages is
 * enumerated (K up to 16, the most modules a plan has, with fewer works from K = 10); the grouping
 * returned must be one, its slowest stage the least any has, and among those the one whose earlier
 * stages are longest (the largest boundaries, compared in order). */
#include <stdio.h>
#include <string.h>

#include "runtime/pipeline_stages.h"
#include "support/check.h"

typedef struct {
  uint64_t least;
  int best[IPRO_MAX_MODULES + 1];
  int found;
} search;

static uint64_t stage_max(const int *first, int S, const uint64_t *w) {
  uint64_t m = 0;
  for (int s = 0; s < S; s++) {
    uint64_t sum = 0;
    for (int k = first[s]; k < first[s + 1]; k++)
      sum += w[k];
    if (sum > m) m = sum;
  }
  return m;
}

/* Later boundaries in order: a > b when a's first differing boundary is larger. */
static int later(const int *a, const int *b, int S) {
  for (int s = 1; s < S; s++)
    if (a[s] != b[s]) return a[s] > b[s];
  return 0;
}

static void enumerate(int *first, int s, int S, int K, const uint64_t *w, search *out) {
  if (s == S) {
    uint64_t m = stage_max(first, S, w);
    if (!out->found || m < out->least || (m == out->least && later(first, out->best, S))) {
      out->least = m;
      memcpy(out->best, first, sizeof(int) * (size_t)(S + 1));
      out->found = 1;
    }
    return;
  }
  /* stage s-1 ends (stage s starts) at first[s]; leave one module per later stage */
  for (int e = first[s - 1] + 1; e <= K - (S - s); e++) {
    first[s] = e;
    enumerate(first, s + 1, S, K, w, out);
  }
}

int main(void) {
  uint64_t state = 0x9e3779b97f4a7c15ull;
  int cases = 0;
  for (int K = 1; K <= IPRO_MAX_MODULES; K++)
    for (int S = 1; S <= K; S++)
      for (int trial = 0; trial < (K <= 9 ? 40 : 4); trial++) {
        uint64_t w[IPRO_MAX_MODULES];
        for (int k = 0; k < K; k++) {
          state = state * 6364136223846793005ull + 1442695040888963407ull;
          unsigned pick = (unsigned)(state >> 60);
          w[k] = pick < 2    ? 0
                 : pick < 6  ? (state >> 33) % 4 + 1 /* small: many ties */
                 : pick < 12 ? (state >> 20) % 1000000
                             : (1ull << 40) + (state >> 40);
        }
        if (trial == 0) memset(w, 0, sizeof w); /* all zero: every module counts the same */
        uint64_t ones[IPRO_MAX_MODULES];
        bool zero = true;
        for (int k = 0; k < K; k++)
          zero = zero && w[k] == 0;
        for (int k = 0; k < K; k++)
          ones[k] = zero ? 1 : w[k];
        search oracle = {0};
        int first[IPRO_MAX_MODULES + 1] = {0};
        first[S] = K;
        enumerate(first, 1, S, K, ones, &oracle);
        ipro_pipeline_stages got = ipro_pipeline_stages_balanced(trial == 1 ? NULL : w, K, S);
        if (trial == 1) { /* NULL work: the same as all ones */
          for (int k = 0; k < K; k++)
            ones[k] = 1;
          oracle.found = 0;
          enumerate(first, 1, S, K, ones, &oracle);
        }
        bool valid = got.stages == S && got.first[0] == 0 && got.first[S] == K;
        for (int s = 0; s < S && valid; s++)
          valid = got.first[s] < got.first[s + 1];
        CHECK_MSG(valid, "K %d S %d trial %d: not a grouping", K, S, trial);
        if (!valid) continue;
        uint64_t m = stage_max(got.first, S, ones);
        CHECK_MSG(m == oracle.least, "K %d S %d trial %d: slowest stage %llu, least %llu", K, S,
                  trial, (unsigned long long)m, (unsigned long long)oracle.least);
        CHECK_MSG(memcmp(got.first, oracle.best, sizeof(int) * (size_t)(S + 1)) == 0,
                  "K %d S %d trial %d: not the grouping with the longest earlier stages", K, S,
                  trial);
        int stage = -1;
        uint64_t slowest = ipro_pipeline_stages_slowest(&got, ones, &stage);
        CHECK_MSG(slowest == m && stage >= 0 && stage < S, "K %d S %d: slowest %llu at %d", K, S,
                  (unsigned long long)slowest, stage);
        cases++;
      }
  /* works beyond any step's (a hostile file's) count as IPRO_PIPELINE_STAGES_MAX_WORK: the sums
   * do not wrap, so the stages stay a grouping of the K modules (a wrapped sum made the search's
   * bound meaningless and could give a stage past the last module) */
  uint64_t huge[IPRO_MAX_MODULES];
  for (int k = 0; k < IPRO_MAX_MODULES; k++)
    huge[k] = k % 2 ? UINT64_MAX : UINT64_MAX - 1;
  for (int S = 1; S <= IPRO_MAX_MODULES; S++) {
    ipro_pipeline_stages got = ipro_pipeline_stages_balanced(huge, IPRO_MAX_MODULES, S);
    bool valid = got.stages == S && got.first[0] == 0 && got.first[S] == IPRO_MAX_MODULES;
    for (int s = 0; s < S && valid; s++)
      valid = got.first[s] < got.first[s + 1];
    /* all alike once capped: the grouping of equal works */
    ipro_pipeline_stages equal = ipro_pipeline_stages_balanced(NULL, IPRO_MAX_MODULES, S);
    CHECK_MSG(valid && memcmp(&got, &equal, sizeof got) == 0,
              "16 works near 2^64 into %d stages: not the grouping of equal works", S);
  }
  printf("%d groupings checked against every composition\n", cases);
  return ipro_test_finish();
}
