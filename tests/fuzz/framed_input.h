/* For the fuzz targets of infopro's framed files (runtime/framed_file.h): a mutation almost never
 * keeps the CRC-32 right, so each input is also decoded with its header's payload length and CRC
 * rewritten to match, which reaches the payload's parser. */
#ifndef IPRO_FUZZ_FRAMED_INPUT_H
#define IPRO_FUZZ_FRAMED_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Calls decode(data, size), then decode on a copy whose header announces exactly its payload
 * with that payload's CRC-32 (when it is long enough to have a header). */
static inline void ipro_fuzz_framed(const uint8_t *data, size_t size,
                                    void (*decode)(const uint8_t *data, size_t size)) {
  enum { HEADER_BYTES = 24 };
  decode(data, size);
  if (size < HEADER_BYTES) return;
  uint8_t *fixed = malloc(size);
  if (!fixed) return;
  memcpy(fixed, data, size);
  uint64_t payload = size - HEADER_BYTES;
  uint32_t crc = (uint32_t)crc32(0L, fixed + HEADER_BYTES, (uInt)payload);
  for (int i = 0; i < 4; i++)
    fixed[12 + i] = (uint8_t)(crc >> (8 * i));
  for (int i = 0; i < 8; i++)
    fixed[16 + i] = (uint8_t)(payload >> (8 * i));
  decode(fixed, size);
  free(fixed);
}

#endif
