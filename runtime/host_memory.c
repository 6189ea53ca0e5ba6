/* Counted, aligned host allocations shared by the CPU backends (see backend.h). */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ir/checked_size.h"

ipro_status ipro_host_allocate(ipro_backend *self, size_t bytes, void **out, ipro_error *err) {
  size_t rounded;
  if (!ipro_checked_add_size(bytes, 63, &rounded))
    return ipro_error_set(err, "cannot allocate %zu bytes: the size overflows", bytes);
  rounded = rounded / 64 * 64;
  void *pointer = aligned_alloc(64, rounded ? rounded : 64);
  if (!pointer) return ipro_error_set(err, "out of host memory allocating %zu bytes", bytes);
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
