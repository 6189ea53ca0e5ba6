/* Grouping a pipeline's modules into stages (pipeline_stages.h). */
#include "pipeline_stages.h"

#include <stdbool.h>

#define NONE UINT64_MAX

static uint64_t larger(uint64_t a, uint64_t b) { return a > b ? a : b; }

ipro_pipeline_stages ipro_pipeline_stages_balanced(const uint64_t *work, int K, int S) {
  uint64_t weight[IPRO_MAX_MODULES], prefix[IPRO_MAX_MODULES + 1] = {0};
  bool any = false;
  for (int k = 0; k < K; k++)
    any = any || (work && work[k] > 0);
  for (int k = 0; k < K; k++) {
    weight[k] = !any                                      ? 1
                : work[k] > IPRO_PIPELINE_STAGES_MAX_WORK ? IPRO_PIPELINE_STAGES_MAX_WORK
                                                          : work[k];
    prefix[k + 1] = prefix[k] + weight[k];
  }
  /* least[s][k]: the least largest stage of modules k .. K-1 grouped into s stages (NONE where
   * they cannot be: fewer modules than stages, or modules left over with no stage) */
  uint64_t least[IPRO_MAX_MODULES + 1][IPRO_MAX_MODULES + 1];
  for (int k = 0; k <= K; k++)
    least[0][k] = k == K ? 0 : NONE;
  for (int s = 1; s <= S; s++)
    for (int k = 0; k <= K; k++) {
      least[s][k] = NONE;
      for (int e = k + 1; e <= K; e++) {
        if (least[s - 1][e] == NONE) continue;
        uint64_t slowest = larger(prefix[e] - prefix[k], least[s - 1][e]);
        if (slowest < least[s][k]) least[s][k] = slowest;
      }
    }
  uint64_t bound = least[S][0];
  /* From the front, each stage the longest run that keeps the rest within the bound. */
  ipro_pipeline_stages out = {.stages = S};
  int at = 0;
  for (int s = 0; s < S; s++) {
    int end = at + 1;
    for (int e = at + 1; e <= K; e++)
      if (prefix[e] - prefix[at] <= bound && least[S - s - 1][e] <= bound) end = e;
    out.first[s] = at;
    at = end;
  }
  out.first[S] = K;
  return out;
}

uint64_t ipro_pipeline_stages_slowest(const ipro_pipeline_stages *stages, const uint64_t *work,
                                      int *stage) {
  uint64_t slowest = 0;
  *stage = 0;
  for (int s = 0; s < stages->stages; s++) {
    uint64_t sum = 0;
    for (int k = stages->first[s]; k < stages->first[s + 1]; k++)
      sum += work[k];
    if (sum > slowest) slowest = sum, *stage = s;
  }
  return slowest;
}
