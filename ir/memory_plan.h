/* Static memory planning: every transient buffer of a program gets a fixed offset in one arena
 * before anything runs.
 *
 * A buffer is live from the step that writes it first to the step that reads it last (inclusive).
 * Two buffers may share bytes only if their lifetimes do not overlap. The planner places buffers
 * one by one, each into the smallest gap between already-placed buffers whose lifetimes overlap
 * it (best fit), else above them; it does so in a few orders (largest first, largest
 * bytes x lifetime first, longest-lived first), stops early when a placement reaches the lower
 * bound, and keeps the smallest arena. The lower bound it reports is the largest total of
 * buffers live at one step: no placement can use less, so arena_bytes / lower_bound_bytes says
 * how close the plan is to optimal. The same function sizes arenas for the partitioner's cost
 * model and for the runtime's allocation, so the plan and the allocation cannot disagree. */
#ifndef IPRO_MEMORY_PLAN_H
#define IPRO_MEMORY_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/error.h"

#define IPRO_ARENA_ALIGNMENT 64

/* bytes rounded up to a multiple of alignment (the arena's, a workspace's, a message's). */
static inline size_t ipro_memory_aligned(size_t bytes, size_t alignment) {
  return (bytes + alignment - 1) / alignment * alignment;
}

typedef struct {
  size_t bytes;
  int first_step, last_step;
  size_t offset; /* written by the planner */
} ipro_planned_buffer;

typedef struct {
  size_t arena_bytes;
  size_t lower_bound_bytes;
} ipro_memory_plan_summary;

/* Assigns offsets (multiples of IPRO_ARENA_ALIGNMENT) to every buffer. */
ipro_status ipro_memory_plan(ipro_planned_buffer *buffers, int count,
                             ipro_memory_plan_summary *summary, ipro_error *err);
/* The same with offsets and sizes rounded to `alignment`, a multiple of IPRO_ARENA_ALIGNMENT (a
 * device that wants more, CUDA's 256 bytes). */
ipro_status ipro_memory_plan_aligned(ipro_planned_buffer *buffers, int count, size_t alignment,
                                     ipro_memory_plan_summary *summary, ipro_error *err);

/* The largest total of buffers live at one step, each rounded up to alignment, in *bound: no
 * placement of them can use less. IPRO_ERROR only when out of memory. */
ipro_status ipro_memory_plan_lower_bound(const ipro_planned_buffer *buffers, int count,
                                         size_t alignment, size_t *bound, ipro_error *err);
/* Gives buffers[which] a new size, bytes, at an offset where it overlaps no other buffer live at
 * the same time, without moving any of them: the smallest gap that holds it (sizes rounded up to
 * alignment) and ends at or below limit. *fitted says whether there was one; buffers[which] is
 * unchanged when not. (A program's kernels can then take a larger workspace at the steps where
 * its arena has room for one: runtime/executor.c.) */
ipro_status ipro_memory_plan_refit(ipro_planned_buffer *buffers, int count, int which, size_t bytes,
                                   size_t alignment, size_t limit, bool *fitted, ipro_error *err);

#endif
