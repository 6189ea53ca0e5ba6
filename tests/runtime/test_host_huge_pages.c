/* The CPU backends' large host blocks are advised for transparent huge pages (host_memory.c), as
 * the kernel itself reports it: /proc/self/smaps lists the mappings covering a block, and "hg" in
 * a mapping's VmFlags is the kernel's record of MADV_HUGEPAGE on it. Checked on the oneDNN and
 * the reference backends' allocate: every whole 2 MiB page inside a block of 4 MiB or more is in
 * advised mappings, the block's partial pages at either end are not (the advice would reach into
 * memory that is not the block's), a block under 4 MiB is not advised, and IPRO_HUGE_PAGES=0
 * advises nothing. How many of the advised pages the kernel did back with huge pages after the
 * block is written (AnonHugePages) depends on the free memory's fragmentation and is printed,
 * not checked. Skipped where the kernel has no transparent huge pages. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/backend.h"
#include "support/check.h"

#define MIB ((size_t)1 << 20)

typedef struct {
  uintptr_t covered;     /* bytes of [from, to) lying in advised mappings */
  uintptr_t not_advised; /* bytes of [from, to) lying in mappings without the advice */
  long huge_kib;         /* AnonHugePages of the mappings that overlap [from, to) */
} range_advice;

/* What /proc/self/smaps says of the bytes [from, to). */
static range_advice advice_of(uintptr_t from, uintptr_t to) {
  range_advice r = {0, 0, 0};
  FILE *smaps = fopen("/proc/self/smaps", "r");
  if (!smaps) return r;
  char line[512];
  uintptr_t start = 0, end = 0;
  bool overlaps = false;
  while (fgets(line, sizeof line, smaps)) {
    unsigned long a, b;
    long kib;
    if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      start = a, end = b;
      overlaps = start < to && end > from;
    } else if (overlaps && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) {
      r.huge_kib += kib;
    } else if (overlaps && strncmp(line, "VmFlags:", 8) == 0) {
      uintptr_t lo = start > from ? start : from, hi = end < to ? end : to;
      if (strstr(line, " hg"))
        r.covered += hi - lo;
      else
        r.not_advised += hi - lo;
    }
  }
  fclose(smaps);
  return r;
}

static void check_block(ipro_backend *backend, size_t bytes, bool advised_wanted) {
  ipro_error err = {{0}};
  void *block = NULL;
  CHECK_OK(backend->allocate(backend, bytes, &block, &err), &err);
  if (!block) return;
  memset(block, 1, bytes); /* written whole, as a step writes its arena */
  uintptr_t start = (uintptr_t)block, stop = start + bytes;
  uintptr_t first = (start + IPRO_HOST_HUGE_PAGE - 1) / IPRO_HOST_HUGE_PAGE * IPRO_HOST_HUGE_PAGE;
  uintptr_t last = stop / IPRO_HOST_HUGE_PAGE * IPRO_HOST_HUGE_PAGE;
  range_advice inside = advice_of(first, last);
  if (advised_wanted) {
    CHECK_MSG(last > first && inside.covered == last - first,
              "%s, %zu bytes: %zu of the %zu bytes of whole 2 MiB pages advised", backend->name,
              bytes, (size_t)inside.covered, (size_t)(last - first));
    printf("%s, %zu bytes: %ld KiB of the block's %zu KiB of whole 2 MiB pages on huge pages\n",
           backend->name, bytes, inside.huge_kib, (size_t)(last - first) / 1024);
  } else {
    CHECK_MSG(inside.covered == 0, "%s, %zu bytes: %zu bytes advised, want none", backend->name,
              bytes, (size_t)inside.covered);
  }
  /* the partial 2 MiB pages at the block's ends stay as they were */
  range_advice head = advice_of(start, first), tail = advice_of(last, stop);
  CHECK_MSG(head.covered == 0 && tail.covered == 0,
            "%s, %zu bytes: %zu bytes before the first whole 2 MiB page and %zu after the last "
            "advised, want none",
            backend->name, bytes, (size_t)head.covered, (size_t)tail.covered);
  backend->release(backend, block, bytes);
}

int main(void) {
  FILE *enabled = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!enabled)
    return ipro_test_skip("this kernel has no transparent huge pages "
                          "(/sys/kernel/mm/transparent_hugepage/enabled is absent)");
  char mode[128] = "";
  if (!fgets(mode, sizeof mode, enabled)) mode[0] = '\0';
  fclose(enabled);
  printf("transparent huge pages: %s", mode);

  ipro_error err = {{0}};
  ipro_backend *onednn = NULL, *reference = NULL;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  /* Sizes that glibc's malloc serves by a mapping of their own (over its largest mmap threshold,
   * 32 MiB) wherever the checks need fresh memory: a block it hands out again from its heap could
   * lie in memory an earlier block had advised. The block under the smallest advised size comes
   * first, before any large block has been freed. */
  if (onednn) {
    unsetenv("IPRO_HUGE_PAGES");
    check_block(onednn, IPRO_HOST_HUGE_PAGE_MIN - 64, false);
    check_block(onednn, IPRO_HOST_HUGE_PAGE_MIN, true);
    check_block(onednn, 40 * MIB + 12345, true); /* partial 2 MiB pages at both ends, most likely */
    check_block(onednn, 64 * MIB + 64, true);
    setenv("IPRO_HUGE_PAGES", "0", 1);
    check_block(onednn, 48 * MIB, false);
    setenv("IPRO_HUGE_PAGES", "1", 1);
    check_block(onednn, 48 * MIB, true);
    unsetenv("IPRO_HUGE_PAGES");
  }
  if (reference) check_block(reference, 48 * MIB + 4096 + 64, true);
  if (onednn) onednn->destroy(onednn);
  if (reference) reference->destroy(reference);
  return ipro_test_finish();
}
