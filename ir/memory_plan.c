/* Best-fit offset assignment for the buffers of one program (see memory_plan.h). */
#include "ir/memory_plan.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/checked_size.h"

static size_t aligned(size_t bytes) { return ipro_memory_aligned(bytes, IPRO_ARENA_ALIGNMENT); }

static size_t lifetime(const ipro_planned_buffer *b) {
  return (size_t)(b->last_step - b->first_step + 1);
}

/* The orders buffers are placed in. Best fit is a heuristic and no single order is best for every
 * program: largest first suits forward passes, while training programs, whose saved activations
 * live long and whose gradients live briefly, often pack tighter when the long-lived or
 * large-and-long-lived buffers go first; in the order they appear or go away; or greedy by
 * breadth (the buffers of the busiest steps first, the larger or the longer-lived of those
 * first: with every tensor plain on an AVX2 CPU, torch.export's split CNN and the GroupNorm CNN
 * reach their bound that way, where the first three orders left them 12% and 14% above). The
 * planner tries each until one reaches the lower bound and keeps the smallest arena. */
typedef enum {
  ORDER_SIZE,
  ORDER_AREA,
  ORDER_LIFETIME,
  ORDER_FIRST_STEP,
  ORDER_LAST_STEP,
  ORDER_BREADTH,
  ORDER_BREADTH_LIFETIME,
  ORDER_COUNT
} placement_order;

static size_t order_key(placement_order order, const ipro_planned_buffer *b) {
  switch (order) {
  case ORDER_AREA: {
    size_t area;
    return ipro_checked_mul_size(aligned(b->bytes) / IPRO_ARENA_ALIGNMENT, lifetime(b), &area)
               ? area
               : SIZE_MAX;
  }
  case ORDER_LIFETIME: return lifetime(b);
  case ORDER_FIRST_STEP: return SIZE_MAX - (size_t)(b->first_step < 0 ? 0 : b->first_step);
  case ORDER_LAST_STEP: return (size_t)(b->last_step < 0 ? 0 : b->last_step);
  default: return aligned(b->bytes);
  }
}

/* A buffer's place in one placement order: everything the order compares, copied from the
 * buffer, so that sorting needs nothing outside the entries. */
typedef struct {
  size_t key, second; /* second: the buffer's size (its lifetime for ORDER_BREADTH_LIFETIME) */
  int first_step, index;
} order_entry;

/* Larger keys first, then larger second keys, then the earlier buffer, then the lower index, so
 * that the result does not depend on qsort. */
static int by_order_descending(const void *a, const void *b) {
  const order_entry *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  if (x->second != y->second) return x->second > y->second ? -1 : 1;
  if (x->first_step != y->first_step) return x->first_step < y->first_step ? -1 : 1;
  return x->index - y->index;
}

/* order[] = the buffers' indices in placement order `which`. */
static void sort_for(placement_order which, const ipro_planned_buffer *buffers, int count,
                     const size_t *breadth, order_entry *entries, int *order) {
  for (int i = 0; i < count; i++)
    entries[i] = (order_entry){which >= ORDER_BREADTH ? breadth[i] : order_key(which, &buffers[i]),
                               which == ORDER_BREADTH_LIFETIME ? lifetime(&buffers[i])
                                                               : aligned(buffers[i].bytes),
                               buffers[i].first_step, i};
  qsort(entries, (size_t)count, sizeof *entries, by_order_descending);
  for (int i = 0; i < count; i++)
    order[i] = entries[i].index;
}

static int by_offset(const void *a, const void *b) {
  const ipro_planned_buffer *x = *(ipro_planned_buffer *const *)a;
  const ipro_planned_buffer *y = *(ipro_planned_buffer *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

static int overlaps(const ipro_planned_buffer *a, const ipro_planned_buffer *b) {
  return a->first_step <= b->last_step && b->first_step <= a->last_step;
}

/* A buffer's first step as the live counts take it (a first step below 0 counts from 0), and
 * whether it is live at any step from 0 on. */
static int first_counted(const ipro_planned_buffer *b) {
  return b->first_step < 0 ? 0 : b->first_step;
}
static bool counted(const ipro_planned_buffer *b) { return b->last_step >= first_counted(b); }

/* The aligned bytes live at each step 0..*steps-1: each buffer adds its bytes at its first step
 * and takes them away after its last, and a running sum gives each step's (one pass over the
 * buffers and one over the steps; a sweep over every buffer at every step was a fifth of the arena
 * planner's time in planning ResNet-110 at K = 4). The array has *steps + 1 entries; NULL when out
 * of memory. */
static int64_t *live_bytes(const ipro_planned_buffer *buffers, int count, size_t alignment,
                           int *steps) {
  *steps = 1;
  for (int i = 0; i < count; i++)
    if (buffers[i].last_step + 1 > *steps) *steps = buffers[i].last_step + 1;
  int64_t *live = calloc((size_t)*steps + 1, sizeof *live);
  if (!live) return NULL;
  for (int i = 0; i < count; i++) {
    if (!counted(&buffers[i])) continue;
    int64_t bytes = (int64_t)ipro_memory_aligned(buffers[i].bytes, alignment);
    live[first_counted(&buffers[i])] += bytes;
    live[buffers[i].last_step + 1] -= bytes;
  }
  for (int step = 1; step <= *steps; step++)
    live[step] += live[step - 1];
  return live;
}

/* The most bytes live at one step, in *bound. */
static ipro_status lower_bound(const ipro_planned_buffer *buffers, int count, size_t alignment,
                               size_t *bound, ipro_error *err) {
  *bound = 0;
  int steps;
  int64_t *live = live_bytes(buffers, count, alignment, &steps);
  if (!live) return ipro_error_set(err, "out of memory for the live bytes of the program's steps");
  int64_t best = 0;
  for (int step = 0; step < steps; step++)
    if (live[step] > best) best = live[step];
  free(live);
  *bound = (size_t)best;
  return IPRO_OK;
}

ipro_status ipro_memory_plan_lower_bound(const ipro_planned_buffer *buffers, int count,
                                         size_t alignment, size_t *bound, ipro_error *err) {
  return lower_bound(buffers, count,
                     alignment < IPRO_ARENA_ALIGNMENT ? IPRO_ARENA_ALIGNMENT : alignment, bound,
                     err);
}

/* Per buffer, the most bytes live at one step of its lifetime (greedy by breadth: the buffers of
 * the busiest steps are placed first), from live_bytes and a table of range maxima (row `level`
 * holds the maximum of 2^level steps from each step). NULL when out of memory (the order is then
 * not tried). */
static size_t *breadths(const ipro_planned_buffer *buffers, int count) {
  int steps;
  int64_t *live = live_bytes(buffers, count, IPRO_ARENA_ALIGNMENT, &steps);
  int levels = 1; /* 2^(levels - 1) <= steps: every lifetime's level has a row */
  while ((1 << levels) <= steps)
    levels++;
  int64_t *table = live ? malloc(sizeof *table * (size_t)levels * (size_t)steps) : NULL;
  size_t *result = table ? calloc((size_t)count + 1, sizeof *result) : NULL;
  if (!result) {
    free(live), free(table);
    return NULL;
  }
  memcpy(table, live, sizeof *table * (size_t)steps);
  free(live);
  for (int level = 1; level < levels; level++) {
    int64_t *row = table + (size_t)level * (size_t)steps, *below = row - steps;
    for (int step = 0; step + (1 << level) <= steps; step++) {
      int64_t a = below[step], b = below[step + (1 << (level - 1))];
      row[step] = a > b ? a : b;
    }
  }
  for (int i = 0; i < count; i++) {
    if (!counted(&buffers[i])) continue; /* live at no step: 0 */
    int first = first_counted(&buffers[i]), length = buffers[i].last_step - first + 1, level = 0;
    while ((2 << level) <= length)
      level++;
    const int64_t *row = table + (size_t)level * (size_t)steps;
    int64_t a = row[first], b = row[buffers[i].last_step + 1 - (1 << level)];
    result[i] = (size_t)(a > b ? a : b);
  }
  free(table);
  return result;
}

/* The smallest gap of at least size bytes between the conflicts (sorted by offset) that ends at
 * or below limit, else the space above them when that does: its offset in *offset. Returns
 * whether there is one. */
static bool best_gap(ipro_planned_buffer *const *conflicts, int m, size_t size, size_t alignment,
                     size_t limit, size_t *offset) {
  size_t best = (size_t)-1, cursor = 0;
  bool found = false;
  for (int c = 0; c < m; c++) {
    size_t start = conflicts[c]->offset;
    if (start > cursor && start - cursor >= size && start - cursor < best && start <= limit) {
      best = start - cursor;
      *offset = cursor;
      found = true;
    }
    size_t end = start + ipro_memory_aligned(conflicts[c]->bytes, alignment);
    if (end > cursor) cursor = end;
  }
  if (found) return true;
  *offset = cursor;
  return cursor <= limit && limit - cursor >= size;
}

/* Best fit in the given order: each buffer goes into the smallest gap between the already-placed
 * buffers whose lifetimes overlap its own, else above them. Writes offsets; returns the arena.
 * The placed buffers are kept sorted by offset (each inserted after those at or below its own),
 * so the conflicts come out sorted: a sort per buffer took 40% of planning ResNet-110 at K = 4.
 * best_gap's answer does not depend on the order among equal offsets. */
static size_t place_in_order(ipro_planned_buffer *buffers, const int *order, int count,
                             ipro_planned_buffer **placed, ipro_planned_buffer **conflicts) {
  int n_placed = 0;
  size_t arena = 0;
  for (int k = 0; k < count; k++) {
    ipro_planned_buffer *buffer = &buffers[order[k]];
    size_t size = aligned(buffer->bytes);
    int m = 0;
    for (int p = 0; p < n_placed; p++)
      if (overlaps(placed[p], buffer)) conflicts[m++] = placed[p];
    size_t best_offset;
    best_gap(conflicts, m, size, IPRO_ARENA_ALIGNMENT, SIZE_MAX, &best_offset);
    buffer->offset = best_offset;
    if (best_offset + size > arena) arena = best_offset + size;
    int low = 0, high = n_placed;
    while (low < high) {
      int middle = low + (high - low) / 2;
      if (placed[middle]->offset <= best_offset)
        low = middle + 1;
      else
        high = middle;
    }
    memmove(&placed[low + 1], &placed[low], sizeof(*placed) * (size_t)(n_placed - low));
    placed[low] = buffer;
    n_placed++;
  }
  return arena;
}

ipro_status ipro_memory_plan(ipro_planned_buffer *buffers, int count,
                             ipro_memory_plan_summary *summary, ipro_error *err) {
  summary->arena_bytes = 0;
  summary->lower_bound_bytes = 0;
  if (count == 0) return IPRO_OK;
  int *order = malloc(sizeof(int) * (size_t)count);
  order_entry *entries = malloc(sizeof(*entries) * (size_t)count);
  ipro_planned_buffer **placed = malloc(sizeof(*placed) * (size_t)count);
  ipro_planned_buffer **conflicts = malloc(sizeof(*conflicts) * (size_t)count);
  size_t *best_offsets = malloc(sizeof(size_t) * (size_t)count);
  if (!order || !entries || !placed || !conflicts || !best_offsets) {
    free(order), free(entries), free(placed), free(conflicts), free(best_offsets);
    return ipro_error_set(err, "out of memory planning %d buffers", count);
  }
  /* Every offset the planner writes ends within the sum of all (aligned) buffers, so checking
   * that sum once keeps every later addition exact. */
  size_t total = 0;
  for (int i = 0; i < count; i++) {
    if (buffers[i].last_step < buffers[i].first_step) buffers[i].last_step = buffers[i].first_step;
    if (buffers[i].bytes > (size_t)INT64_MAX - IPRO_ARENA_ALIGNMENT ||
        !ipro_checked_add_size(total, aligned(buffers[i].bytes), &total) ||
        total > (size_t)INT64_MAX) {
      free(order), free(entries), free(placed), free(conflicts), free(best_offsets);
      return ipro_error_set(err, "the %d buffers of the program add up to more than 2^63 bytes",
                            count);
    }
  }
  size_t lower = 0, best = (size_t)-1;
  if (lower_bound(buffers, count, IPRO_ARENA_ALIGNMENT, &lower, err) != IPRO_OK) {
    free(order), free(entries), free(placed), free(conflicts), free(best_offsets);
    return IPRO_ERROR;
  }
  size_t *breadth = NULL;
  for (placement_order which = ORDER_SIZE; which < ORDER_COUNT && best > lower; which++) {
    if (which == ORDER_BREADTH && !(breadth = breadths(buffers, count))) break;
    sort_for(which, buffers, count, breadth, entries, order);
    size_t arena = place_in_order(buffers, order, count, placed, conflicts);
    if (arena < best) {
      best = arena;
      for (int i = 0; i < count; i++)
        best_offsets[i] = buffers[i].offset;
    }
  }
  for (int i = 0; i < count; i++)
    buffers[i].offset = best_offsets[i];
  summary->arena_bytes = best;
  summary->lower_bound_bytes = lower;
  free(breadth);
  free(order), free(entries), free(placed), free(conflicts), free(best_offsets);
  return IPRO_OK;
}

/* Planning buffers whose sizes are rounded up to the alignment places every one at a multiple of
 * it (each offset is 0 or the end of another buffer), so the base planner serves unchanged. */
ipro_status ipro_memory_plan_aligned(ipro_planned_buffer *buffers, int count, size_t alignment,
                                     ipro_memory_plan_summary *summary, ipro_error *err) {
  if (alignment <= IPRO_ARENA_ALIGNMENT) return ipro_memory_plan(buffers, count, summary, err);
  if (alignment % IPRO_ARENA_ALIGNMENT)
    return ipro_error_set(err, "an arena alignment of %zu bytes is not a multiple of %d", alignment,
                          IPRO_ARENA_ALIGNMENT);
  size_t *bytes = malloc(sizeof(size_t) * ((size_t)count + 1));
  if (!bytes) return ipro_error_set(err, "out of memory planning %d buffers", count);
  ipro_status status = IPRO_OK;
  for (int i = 0; i < count; i++) {
    bytes[i] = buffers[i].bytes;
    if (buffers[i].bytes > (size_t)INT64_MAX - alignment) status = IPRO_ERROR;
  }
  if (status != IPRO_OK) {
    free(bytes);
    return ipro_error_set(err, "the %d buffers of the program add up to more than 2^63 bytes",
                          count);
  }
  for (int i = 0; i < count; i++)
    buffers[i].bytes = ipro_memory_aligned(buffers[i].bytes, alignment);
  status = ipro_memory_plan(buffers, count, summary, err);
  for (int i = 0; i < count; i++)
    buffers[i].bytes = bytes[i];
  free(bytes);
  return status;
}

ipro_status ipro_memory_plan_refit(ipro_planned_buffer *buffers, int count, int which, size_t bytes,
                                   size_t alignment, size_t limit, bool *fitted, ipro_error *err) {
  *fitted = false;
  if (alignment < IPRO_ARENA_ALIGNMENT) alignment = IPRO_ARENA_ALIGNMENT;
  if (bytes > (size_t)INT64_MAX - alignment) return IPRO_OK; /* fits no arena */
  ipro_planned_buffer **conflicts = malloc(sizeof(*conflicts) * ((size_t)count + 1));
  if (!conflicts) return ipro_error_set(err, "out of memory planning %d buffers", count);
  int m = 0;
  for (int i = 0; i < count; i++)
    if (i != which && buffers[i].bytes > 0 && overlaps(&buffers[i], &buffers[which]))
      conflicts[m++] = &buffers[i];
  qsort(conflicts, (size_t)m, sizeof(*conflicts), by_offset);
  size_t offset;
  if (best_gap(conflicts, m, ipro_memory_aligned(bytes, alignment), alignment, limit, &offset)) {
    buffers[which].offset = offset;
    buffers[which].bytes = bytes;
    *fitted = true;
  }
  free(conflicts);
  return IPRO_OK;
}
