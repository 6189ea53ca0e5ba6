/* The arena planner: on random programs no two buffers that are live at the same step share a
 * byte (checked pairwise by brute force), every offset is aligned, the arena is never below the
 * lower bound (recomputed here step by step), and on shapes whose optimum is known by hand
 * reasoning (a chain of equal buffers, each read by the next step only) the plan reaches it;
 * sizes whose sum or rounding would wrap are refused with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/memory_plan.h"
#include "support/check.h"

static size_t aligned(size_t b) { return (b + 63) / 64 * 64; }

static void check_valid(const ipro_planned_buffer *b, int n, const ipro_memory_plan_summary *s) {
  int overlaps = 0, misaligned = 0;
  size_t top = 0;
  for (int i = 0; i < n; i++) {
    if (b[i].offset % IPRO_ARENA_ALIGNMENT) misaligned++;
    if (b[i].offset + aligned(b[i].bytes) > top) top = b[i].offset + aligned(b[i].bytes);
    for (int j = i + 1; j < n; j++) {
      bool live_together = b[i].first_step <= b[j].last_step && b[j].first_step <= b[i].last_step;
      bool share_bytes = b[i].offset < b[j].offset + aligned(b[j].bytes) &&
                         b[j].offset < b[i].offset + aligned(b[i].bytes);
      if (live_together && share_bytes) overlaps++;
    }
  }
  CHECK_EQ_INT(overlaps, 0);
  CHECK_EQ_INT(misaligned, 0);
  CHECK_EQ_INT(top, s->arena_bytes);
  size_t bound = 0;
  for (int step = 0; step < 1000; step++) {
    size_t live = 0;
    for (int i = 0; i < n; i++)
      if (b[i].first_step <= step && step <= b[i].last_step) live += aligned(b[i].bytes);
    if (live > bound) bound = live;
  }
  CHECK_EQ_INT(s->lower_bound_bytes, bound);
  CHECK(s->arena_bytes >= s->lower_bound_bytes);
}

int main(void) {
  ipro_error err;
  ipro_memory_plan_summary summary;
  srand(12345);
  double worst_ratio = 1;
  for (int trial = 0; trial < 200; trial++) {
    int n = 1 + rand() % 60;
    ipro_planned_buffer buffers[60];
    for (int i = 0; i < n; i++) {
      int first = rand() % 50;
      buffers[i] =
          (ipro_planned_buffer){(size_t)(1 + rand() % 100000), first, first + rand() % 10, 0};
    }
    CHECK_OK(ipro_memory_plan(buffers, n, &summary, &err), &err);
    check_valid(buffers, n, &summary);
    double ratio = (double)summary.arena_bytes / (double)summary.lower_bound_bytes;
    if (ratio > worst_ratio) worst_ratio = ratio;
  }
  printf("worst arena / lower bound over random programs: %.3f\n", worst_ratio);

  /* A chain: buffer i is written at step i and read at step i+1. Two buffers suffice. */
  ipro_planned_buffer chain[20];
  for (int i = 0; i < 20; i++)
    chain[i] = (ipro_planned_buffer){4096, i, i + 1, 0};
  CHECK_OK(ipro_memory_plan(chain, 20, &summary, &err), &err);
  check_valid(chain, 20, &summary);
  CHECK_EQ_INT(summary.arena_bytes, 2 * 4096);
  CHECK_EQ_INT(summary.lower_bound_bytes, 2 * 4096);

  /* Nothing to plan. */
  CHECK_OK(ipro_memory_plan(chain, 0, &summary, &err), &err);
  CHECK_EQ_INT(summary.arena_bytes, 0);

  /* Sizes whose sum passes 2^63 (each one alone fits): one error, never a wrapped offset that
   * would place two live buffers on the same bytes. And a size one alignment step short of
   * SIZE_MAX, whose rounding up alone would wrap to 0. */
  ipro_planned_buffer huge[3] = {
      {(size_t)1 << 62, 0, 1, 0}, {(size_t)1 << 62, 0, 1, 0}, {(size_t)1 << 62, 1, 2, 0}};
  err.message[0] = '\0';
  CHECK(ipro_memory_plan(huge, 3, &summary, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "more than 2^63 bytes") != NULL, "message: %s", err.message);
  ipro_planned_buffer wrapping[1] = {{SIZE_MAX - 10, 0, 0, 0}};
  CHECK(ipro_memory_plan(wrapping, 1, &summary, &err) == IPRO_ERROR);
  return ipro_test_finish();
}
