/* Counted, aligned host allocations shared by the CPU backends (see backend.h).
 *
 * A block of at least IPRO_HOST_HUGE_PAGE_MIN bytes (a program's arena, its weights' gradients
 * and momentum) is advised to the kernel for transparent huge pages, over the whole 2 MiB pages
 * it covers (madvise MADV_HUGEPAGE; Debian's kernels back only advised memory with them by
 * default). A training step sweeps its arena in tensors of megabytes: in 4 KiB pages an 8 MiB
 * activation is 2,048 pages, as many as the second-level TLB of an AMD Zen 3 holds, and each
 * convolution streams two or three such tensors. ResNet-110 at batch 128 (a 1 GiB arena) on the
 * 2-core AMD EPYC (Zen 3) of session 25: 1.09-1.21 s a step in 4 KiB pages, 1.04-1.15 s advised
 * (bench/training_step, alternated). The advice changes no byte the process touches (the arena is
 * written whole every step), only how the kernel maps it; IPRO_HUGE_PAGES=0 leaves it out. A
 * kernel without transparent huge pages refuses the advice, which is then ignored. */
#define _DEFAULT_SOURCE /* madvise */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend.h"
#include "ir/checked_size.h"

static void advise_huge_pages(void *pointer, size_t bytes) {
  const char *setting = getenv("IPRO_HUGE_PAGES");
  if (bytes < IPRO_HOST_HUGE_PAGE_MIN || (setting && strcmp(setting, "0") == 0)) return;
  uintptr_t start = (uintptr_t)pointer;
  uintptr_t first = (start + IPRO_HOST_HUGE_PAGE - 1) / IPRO_HOST_HUGE_PAGE * IPRO_HOST_HUGE_PAGE;
  uintptr_t end = (start + bytes) / IPRO_HOST_HUGE_PAGE * IPRO_HOST_HUGE_PAGE;
  if (end > first) (void)madvise((void *)first, end - first, MADV_HUGEPAGE); /* advice only */
}

ipro_status ipro_host_allocate(ipro_backend *self, size_t bytes, void **out, ipro_error *err) {
  size_t rounded;
  if (!ipro_checked_add_size(bytes, 63, &rounded))
    return ipro_error_set(err, "cannot allocate %zu bytes: the size overflows", bytes);
  rounded = rounded / 64 * 64;
  void *pointer = aligned_alloc(64, rounded ? rounded : 64);
  if (!pointer) return ipro_error_set(err, "out of host memory allocating %zu bytes", bytes);
  advise_huge_pages(pointer, rounded);
  self->bytes_allocated += bytes;
  self->bytes_in_use += bytes;
  if (self->bytes_in_use > self->peak_bytes) self->peak_bytes = self->bytes_in_use;
  *out = pointer;
  return IPRO_OK;
}

void ipro_host_release(ipro_backend *self, void *pointer, size_t bytes) {
  if (!pointer) return;
  self->bytes_in_use -= bytes;
  free(pointer);
}

ipro_status ipro_host_copy(ipro_backend *self, void *destination, const void *source, size_t bytes,
                           ipro_error *err) {
  (void)self;
  (void)err;
  if (bytes) memcpy(destination, source, bytes);
  return IPRO_OK;
}
