/* The memory a process really uses, measured by mechanisms that never read the plan, so that the
 * plan's promise ("the memory it plans is the memory it uses") can be checked and can fail:
 *
 * - the allocator: the high-water mark of the bytes the process's counting allocator
 *   (counting_allocator.h) has handed out, over the bytes in use at the probe's baseline. It
 *   sees every malloc in the process: the backend's blocks, oneDNN's primitives, the compiled
 *   graphs, a reference kernel's temporaries that live for one call;
 * - the operating system: the resident set's high-water mark (VmHWM in /proc/self/status) over
 *   the resident set at the baseline (VmRSS), which also sees what no allocator reports
 *   (library code and data pages, thread stacks, oneDNN's JIT code).
 *
 * The allocator has one high-water mark per process, so beginning a probe restarts it: only the
 * most recently begun probe's allocator figure is meaningful. The RSS figure of every probe is.
 * On the GPU, cudaMemGetInfo belongs to the CUDA backend (runtime/cuda/). */
#ifndef IPRO_PROCESS_MEMORY_H
#define IPRO_PROCESS_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint64_t rss_baseline;  /* VmRSS at the baseline, bytes (0 where /proc is unreadable) */
  int64_t heap_baseline;  /* allocator bytes in use at the baseline */
  uint64_t file_baseline; /* RssFile at the baseline: resident pages of mapped files */
  /* Stretches set aside (ipro_process_memory_aside_begin): the growth before the current stretch
   * of other work, the bytes in use that stretches still hold, and the level of the rest when
   * the current one began. */
  int64_t kept_growth, aside_held, level_before_aside;
  bool aside_open;
} ipro_process_memory;

/* The baseline: the allocator's bytes in use and the resident set now; restarts the allocator's
 * high-water mark. */
void ipro_process_memory_begin(ipro_process_memory *probe);
/* The allocator's bytes in use now, over the baseline's (negative when fewer). */
int64_t ipro_process_memory_heap_level(const ipro_process_memory *probe);
/* Restarts the allocator's high-water mark at the bytes in use now, keeping the baseline: a
 * stretch whose transients belong to something else (building the test pass) is left out. */
void ipro_process_memory_restart_peak(ipro_process_memory *probe);
/* Bytes the baseline held that something else than the probed work has freed since (the split
 * search's cached primitives, dropped once the trainer is built): the baseline forgets them, so
 * that the probe's level and growth still count only the probed work's bytes. */
void ipro_process_memory_forget(ipro_process_memory *probe, int64_t freed);
/* The most allocator bytes in use since the baseline (or the last restart), over the
 * baseline's, less what set-aside stretches allocated. */
uint64_t ipro_process_memory_heap_growth(const ipro_process_memory *probe);
/* A stretch whose allocations belong to something else (a pipeline's rank 0 gathering every
 * rank's state to score it) begins: heap_growth keeps its figure so far, and leaves out what the
 * stretch allocates, its transients and what it still holds when it ends, until a later stretch
 * frees it. Nothing else may allocate or free during a stretch. Beginning one while one is open
 * (a stretch an error path left open) goes on with the open one. */
void ipro_process_memory_aside_begin(ipro_process_memory *probe);
/* The stretch ends: the most bytes it and the earlier stretches held at once, over the level
 * of the rest (its own high-water mark, as a term of its own). */
uint64_t ipro_process_memory_aside_end(ipro_process_memory *probe);
/* The resident set's high-water mark over the baseline's resident set (0 where unreadable). The
 * high-water mark is the process's, so a baseline taken late can only make this larger. */
uint64_t ipro_process_memory_rss_growth(const ipro_process_memory *probe);
/* The resident pages of mapped files (RssFile: the libraries' code and read-only data, paged in
 * as they are first used) now, over the baseline's: the part of the RSS growth that is library
 * code rather than memory the process allocated (0 where unreadable). */
uint64_t ipro_process_memory_file_growth(const ipro_process_memory *probe);
/* glibc serves a block of 128 KiB or more from a mapping of its own, given back to the system
 * when freed; but once such a block is freed it raises that threshold to the block's size, and
 * the next ones come from the heap, whose freed middle stays resident. A model's weights, loaded
 * and freed while the trainer is built and the test pass opened, then stay in the process's RSS
 * on top of the trainer's blocks (ResNet-18 at 64x64, K = 2, batch 32: RSS growth 338 MB for a
 * 175 MB plan; 269 MB with the threshold fixed, the step as fast). This fixes it at 128 KiB. */
void ipro_process_memory_map_large_blocks(void);
/* Hands the C library's free heap pages back to the operating system (malloc_trim): what the
 * split search and the trainer's construction used and freed would otherwise stay resident,
 * unused, through training. */
void ipro_process_memory_return_free_pages(void);
/* A "kB" field of /proc/self/status (VmRSS, VmHWM, RssAnon, RssFile) in bytes; 0 where unreadable.
 */
uint64_t ipro_process_memory_status_bytes(const char *field);

#endif
