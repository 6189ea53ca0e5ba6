/* Best-fit offset assignment for the buffers of one program (see memory_plan.h). */
#include "memory_plan.h"

#include <stdlib.h>

static size_t aligned(size_t bytes) {
  return (bytes + IPRO_ARENA_ALIGNMENT - 1) / IPRO_ARENA_ALIGNMENT * IPRO_ARENA_ALIGNMENT;
}

static const ipro_planned_buffer *sort_base;

/* Larger buffers first; among equals the earlier one, so the result does not depend on qsort. */
static int by_size_descending(const void *a, const void *b) {
  const ipro_planned_buffer *x = &sort_base[*(const int *)a], *y = &sort_base[*(const int *)b];
  size_t sx = aligned(x->bytes), sy = aligned(y->bytes);
  if (sx != sy) return sx > sy ? -1 : 1;
  if (x->first_step != y->first_step) return x->first_step < y->first_step ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

static int by_offset(const void *a, const void *b) {
  const ipro_planned_buffer *x = *(ipro_planned_buffer *const *)a;
  const ipro_planned_buffer *y = *(ipro_planned_buffer *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

static int overlaps(const ipro_planned_buffer *a, const ipro_planned_buffer *b) {
  return a->first_step <= b->last_step && b->first_step <= a->last_step;
}

static size_t lower_bound(const ipro_planned_buffer *buffers, int count) {
  int last = 0;
  for (int i = 0; i < count; i++)
    if (buffers[i].last_step > last) last = buffers[i].last_step;
  size_t best = 0;
  /* Steps are node indices: a few thousand at most, so a sweep per step is cheap enough. */
  for (int step = 0; step <= last; step++) {
    size_t live = 0;
    for (int i = 0; i < count; i++)
      if (buffers[i].first_step <= step && step <= buffers[i].last_step)
        live += aligned(buffers[i].bytes);
    if (live > best) best = live;
  }
  return best;
}

ipro_status ipro_memory_plan(ipro_planned_buffer *buffers, int count,
                             ipro_memory_plan_summary *summary, ipro_error *err) {
  summary->arena_bytes = 0;
  summary->lower_bound_bytes = 0;
  if (count == 0) return IPRO_OK;
  int *order = malloc(sizeof(int) * (size_t)count);
  ipro_planned_buffer **placed = malloc(sizeof(*placed) * (size_t)count);
  if (!order || !placed) {
    free(order);
    free(placed);
    return ipro_error_set(err, "out of memory planning %d buffers", count);
  }
  for (int i = 0; i < count; i++) {
    order[i] = i;
    if (buffers[i].last_step < buffers[i].first_step) buffers[i].last_step = buffers[i].first_step;
  }
  sort_base = buffers;
  qsort(order, (size_t)count, sizeof(int), by_size_descending);
  int n_placed = 0;
  size_t arena = 0;
  for (int k = 0; k < count; k++) {
    ipro_planned_buffer *buffer = &buffers[order[k]];
    size_t size = aligned(buffer->bytes);
    /* The already-placed buffers that are live at the same time, by offset. */
    ipro_planned_buffer **conflicts = malloc(sizeof(*conflicts) * (size_t)(n_placed + 1));
    if (!conflicts) {
      free(order);
      free(placed);
      return ipro_error_set(err, "out of memory planning %d buffers", count);
    }
    int m = 0;
    for (int p = 0; p < n_placed; p++)
      if (overlaps(placed[p], buffer)) conflicts[m++] = placed[p];
    qsort(conflicts, (size_t)m, sizeof(*conflicts), by_offset);
    size_t best_offset = 0, best_gap = (size_t)-1, cursor = 0;
    int found = 0;
    for (int c = 0; c < m; c++) {
      size_t start = conflicts[c]->offset;
      if (start > cursor && start - cursor >= size && start - cursor < best_gap) {
        best_gap = start - cursor;
        best_offset = cursor;
        found = 1;
      }
      size_t end = start + aligned(conflicts[c]->bytes);
      if (end > cursor) cursor = end;
    }
    if (!found) best_offset = cursor;
    free(conflicts);
    buffer->offset = best_offset;
    if (best_offset + size > arena) arena = best_offset + size;
    placed[n_placed++] = buffer;
  }
  summary->arena_bytes = arena;
  summary->lower_bound_bytes = lower_bound(buffers, count);
  free(order);
  free(placed);
  return IPRO_OK;
}
