/* The framed container of framed_file.h. */
#include "framed_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

uint8_t *ipro_put_reserve(ipro_byte_writer *w, size_t n) {
  if (w->failed) return NULL;
  if (n > SIZE_MAX - w->size) {
    w->failed = true;
    return NULL;
  }
  if (w->size + n > w->capacity) {
    size_t capacity = w->capacity ? w->capacity : 4096;
    while (capacity < w->size + n)
      capacity = capacity > SIZE_MAX / 2 ? SIZE_MAX : capacity * 2;
    uint8_t *grown = realloc(w->bytes, capacity);
    if (!grown) {
      w->failed = true;
      return NULL;
    }
    w->bytes = grown;
    w->capacity = capacity;
  }
  uint8_t *at = w->bytes + w->size;
  w->size += n;
  return at;
}

void ipro_put_bytes(ipro_byte_writer *w, const void *bytes, size_t n) {
  uint8_t *at = ipro_put_reserve(w, n);
  if (at && n) memcpy(at, bytes, n);
}

void ipro_put_u64(ipro_byte_writer *w, uint64_t v) {
  uint8_t *at = ipro_put_reserve(w, 8);
  for (int i = 0; at && i < 8; i++)
    at[i] = (uint8_t)(v >> (8 * i));
}

void ipro_put_u32(ipro_byte_writer *w, uint32_t v) {
  uint8_t *at = ipro_put_reserve(w, 4);
  for (int i = 0; at && i < 4; i++)
    at[i] = (uint8_t)(v >> (8 * i));
}

void ipro_put_i64(ipro_byte_writer *w, int64_t v) { ipro_put_u64(w, (uint64_t)v); }

void ipro_put_f32(ipro_byte_writer *w, float v) {
  uint32_t bits;
  memcpy(&bits, &v, 4);
  ipro_put_u32(w, bits);
}

void ipro_put_f64(ipro_byte_writer *w, double v) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  ipro_put_u64(w, bits);
}

void ipro_put_string(ipro_byte_writer *w, const char *text) {
  size_t length = strlen(text);
  ipro_put_u32(w, (uint32_t)length);
  ipro_put_bytes(w, text, length);
}

const uint8_t *ipro_get_bytes(ipro_byte_reader *r, size_t n) {
  if (r->short_read || (size_t)(r->end - r->at) < n) {
    r->short_read = true;
    return NULL;
  }
  const uint8_t *at = r->at;
  r->at += n;
  return at;
}

uint64_t ipro_get_u64(ipro_byte_reader *r) {
  const uint8_t *at = ipro_get_bytes(r, 8);
  uint64_t v = 0;
  for (int i = 0; at && i < 8; i++)
    v |= (uint64_t)at[i] << (8 * i);
  return v;
}

uint32_t ipro_get_u32(ipro_byte_reader *r) {
  const uint8_t *at = ipro_get_bytes(r, 4);
  uint32_t v = 0;
  for (int i = 0; at && i < 4; i++)
    v |= (uint32_t)at[i] << (8 * i);
  return v;
}

int64_t ipro_get_i64(ipro_byte_reader *r) { return (int64_t)ipro_get_u64(r); }

float ipro_get_f32(ipro_byte_reader *r) {
  uint32_t bits = ipro_get_u32(r);
  float v;
  memcpy(&v, &bits, 4);
  return v;
}

double ipro_get_f64(ipro_byte_reader *r) {
  uint64_t bits = ipro_get_u64(r);
  double v;
  memcpy(&v, &bits, 8);
  return v;
}

bool ipro_get_string(ipro_byte_reader *r, char *out, size_t size) {
  uint32_t length = ipro_get_u32(r);
  if (r->short_read || length >= size) return false;
  const uint8_t *at = ipro_get_bytes(r, length);
  if (!at || memchr(at, '\0', length)) return false;
  memcpy(out, at, length);
  out[length] = '\0';
  return true;
}

uint32_t ipro_crc32(const uint8_t *bytes, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    uInt chunk = size > UINT_MAX ? UINT_MAX : (uInt)size;
    crc = crc32(crc, bytes, chunk);
    bytes += chunk;
    size -= chunk;
  }
  return (uint32_t)crc;
}

void ipro_frame_begin(ipro_byte_writer *w) { ipro_put_reserve(w, IPRO_FRAME_HEADER_BYTES); }

void ipro_frame_end(ipro_byte_writer *w, const char magic[8], uint32_t version) {
  size_t payload = w->size - IPRO_FRAME_HEADER_BYTES;
  ipro_byte_writer header = {.bytes = w->bytes, .capacity = IPRO_FRAME_HEADER_BYTES};
  ipro_put_bytes(&header, magic, 8);
  ipro_put_u32(&header, version);
  ipro_put_u32(&header, ipro_crc32(w->bytes + IPRO_FRAME_HEADER_BYTES, payload));
  ipro_put_u64(&header, payload);
}

ipro_status ipro_frame_open(const uint8_t *bytes, size_t size, const char magic[8],
                            uint32_t version, const char *what, const char *path,
                            ipro_byte_reader *payload, ipro_error *err) {
  uint32_t stored_version = 0;
  return ipro_frame_open_versions(bytes, size, magic, version, version, what, path, &stored_version,
                                  payload, err);
}

ipro_status ipro_frame_open_versions(const uint8_t *bytes, size_t size, const char magic[8],
                                     uint32_t oldest, uint32_t newest, const char *what,
                                     const char *path, uint32_t *version, ipro_byte_reader *payload,
                                     ipro_error *err) {
  if (size < 8 || memcmp(bytes, magic, 8) != 0)
    return ipro_error_set(err, "'%s' is not an infopro %s (bad magic)", path, what);
  if (size < IPRO_FRAME_HEADER_BYTES)
    return ipro_error_set(err, "%s '%s' is truncated (%zu bytes, not even a header)", what, path,
                          size);
  ipro_byte_reader r = {bytes + 8, bytes + IPRO_FRAME_HEADER_BYTES, false};
  uint32_t stored_version = ipro_get_u32(&r), stored_crc = ipro_get_u32(&r);
  uint64_t length = ipro_get_u64(&r);
  if (stored_version < oldest || stored_version > newest) {
    if (oldest == newest)
      return ipro_error_set(err, "%s '%s' has format version %u; this infopro reads version %u",
                            what, path, stored_version, newest);
    return ipro_error_set(err,
                          "%s '%s' has format version %u; this infopro reads versions %u to %u",
                          what, path, stored_version, oldest, newest);
  }
  *version = stored_version;
  size_t after = size - IPRO_FRAME_HEADER_BYTES;
  if (length > after)
    return ipro_error_set(err,
                          "%s '%s' is truncated: its header announces %llu payload bytes but only "
                          "%zu follow",
                          what, path, (unsigned long long)length, after);
  if (length < after)
    return ipro_error_set(err, "%s '%s' has %zu bytes after its payload", what, path,
                          after - (size_t)length);
  uint32_t crc = ipro_crc32(bytes + IPRO_FRAME_HEADER_BYTES, (size_t)length);
  if (crc != stored_crc)
    return ipro_error_set(err,
                          "%s '%s' is corrupt: CRC-32 of the payload is 0x%08x, the header says "
                          "0x%08x",
                          what, path, crc, stored_crc);
  *payload = (ipro_byte_reader){bytes + IPRO_FRAME_HEADER_BYTES, bytes + size, false};
  return IPRO_OK;
}

ipro_status ipro_frame_check_file(const char *path, const char magic[8], const char *what,
                                  ipro_error *err) {
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "cannot open %s '%s': %s", what, path, strerror(errno));
  uint8_t header[IPRO_FRAME_HEADER_BYTES], chunk[1 << 16];
  size_t got = fread(header, 1, sizeof header, file);
  ipro_status status = IPRO_OK;
  if (got < 8 || memcmp(header, magic, 8) != 0) {
    status = ipro_error_set(err, "'%s' is not an infopro %s (bad magic)", path, what);
  } else if (got < sizeof header) {
    status =
        ipro_error_set(err, "%s '%s' is truncated (%zu bytes, not even a header)", what, path, got);
  } else {
    ipro_byte_reader r = {header + 12, header + sizeof header, false};
    uint32_t stored_crc = ipro_get_u32(&r);
    uint64_t length = ipro_get_u64(&r), read = 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) {
      crc = crc32(crc, chunk, (uInt)got);
      read += got;
    }
    if (ferror(file))
      status = ipro_error_set(err, "cannot read %s '%s'", what, path);
    else if (read != length)
      status = ipro_error_set(err, "%s '%s' holds %llu payload bytes; its header announces %llu",
                              what, path, (unsigned long long)read, (unsigned long long)length);
    else if ((uint32_t)crc != stored_crc)
      status = ipro_error_set(err, "%s '%s' is corrupt (CRC-32 0x%08x, the header says 0x%08x)",
                              what, path, (unsigned)crc, (unsigned)stored_crc);
  }
  fclose(file);
  return status;
}

ipro_status ipro_read_whole_stream(FILE *file, const char *what, const char *path, uint8_t **out,
                                   size_t *out_size, ipro_error *err) {
  *out = NULL;
  *out_size = 0;
  uint8_t *bytes = NULL;
  size_t size = 0, capacity = 0;
  bool failed = false;
  for (;;) {
    if (size == capacity) {
      capacity = capacity ? capacity * 2 : 1 << 16;
      uint8_t *grown = realloc(bytes, capacity);
      if (!grown) {
        failed = true;
        break;
      }
      bytes = grown;
    }
    size_t got = fread(bytes + size, 1, capacity - size, file);
    size += got;
    if (got == 0) break;
  }
  if (failed || ferror(file)) {
    free(bytes);
    return ipro_error_set(err, "cannot read %s '%s'", what, path);
  }
  *out = bytes;
  *out_size = size;
  return IPRO_OK;
}

ipro_status ipro_read_whole_file(const char *path, const char *what, uint8_t **out,
                                 size_t *out_size, ipro_error *err) {
  *out = NULL;
  *out_size = 0;
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "cannot open %s '%s': %s", what, path, strerror(errno));
  ipro_status status = ipro_read_whole_stream(file, what, path, out, out_size, err);
  fclose(file);
  return status;
}
