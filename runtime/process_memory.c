/* The figures of process_memory.h: the counting allocator's, and the kernel's. */
#include "process_memory.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "runtime/counting_allocator.h"

uint64_t ipro_process_memory_status_bytes(const char *field) {
  FILE *file = fopen("/proc/self/status", "r");
  if (!file) return 0;
  char line[256];
  size_t n = strlen(field);
  unsigned long long kib = 0;
  while (fgets(line, sizeof line, file))
    if (strncmp(line, field, n) == 0 && line[n] == ':') {
      if (sscanf(line + n + 1, "%llu", &kib) != 1) kib = 0;
      break;
    }
  fclose(file);
  return (uint64_t)kib * 1024;
}

void ipro_process_memory_begin(ipro_process_memory *probe) {
  memset(probe, 0, sizeof *probe);
  ipro_counting_allocator_start();
  ipro_counting_allocator_reset_peak();
  probe->heap_baseline = ipro_counting_allocator_in_use();
  probe->rss_baseline = ipro_process_memory_status_bytes("VmRSS");
  probe->file_baseline = ipro_process_memory_status_bytes("RssFile");
}

int64_t ipro_process_memory_heap_level(const ipro_process_memory *probe) {
  return ipro_counting_allocator_in_use() - probe->heap_baseline;
}

void ipro_process_memory_forget(ipro_process_memory *probe, int64_t freed) {
  if (freed > 0) probe->heap_baseline -= freed;
}

void ipro_process_memory_restart_peak(ipro_process_memory *probe) {
  probe->kept_growth = 0;
  ipro_counting_allocator_reset_peak();
}

uint64_t ipro_process_memory_heap_growth(const ipro_process_memory *probe) {
  int64_t growth = ipro_counting_allocator_peak() - probe->heap_baseline - probe->aside_held;
  if (growth < probe->kept_growth) growth = probe->kept_growth;
  return growth > 0 ? (uint64_t)growth : 0;
}

void ipro_process_memory_aside_begin(ipro_process_memory *probe) {
  if (probe->aside_open) return;
  probe->aside_open = true;
  int64_t growth = (int64_t)ipro_process_memory_heap_growth(probe);
  if (growth > probe->kept_growth) probe->kept_growth = growth;
  probe->level_before_aside = ipro_counting_allocator_in_use() - probe->aside_held;
  ipro_counting_allocator_reset_peak();
}

uint64_t ipro_process_memory_aside_end(ipro_process_memory *probe) {
  probe->aside_open = false;
  int64_t high = ipro_counting_allocator_peak() - probe->level_before_aside;
  probe->aside_held = ipro_counting_allocator_in_use() - probe->level_before_aside;
  ipro_counting_allocator_reset_peak();
  return high > 0 ? (uint64_t)high : 0;
}

uint64_t ipro_process_memory_rss_growth(const ipro_process_memory *probe) {
  uint64_t high = ipro_process_memory_status_bytes("VmHWM");
  if (!probe->rss_baseline || high <= probe->rss_baseline) return 0;
  return high - probe->rss_baseline;
}

uint64_t ipro_process_memory_file_growth(const ipro_process_memory *probe) {
  uint64_t now = ipro_process_memory_status_bytes("RssFile");
  return probe->file_baseline && now > probe->file_baseline ? now - probe->file_baseline : 0;
}

void ipro_process_memory_return_free_pages(void) { malloc_trim(0); }

void ipro_process_memory_map_large_blocks(void) { mallopt(M_MMAP_THRESHOLD, 128 * 1024); }
