/* The binary container infopro's own files share (checkpoints, compiled training programs):
 *
 *   magic (8 bytes) | version (u32) | CRC-32 of the payload (u32) | payload bytes (u64) | payload
 *
 * with every integer and float little-endian, written byte by byte, so files move between
 * machines. The writer grows a buffer and remembers an allocation failure instead of reporting
 * each; the reader never reads past its end and remembers a short read. Checking a frame
 * (magic, version, announced size, CRC) comes before reading anything in its payload, and each
 * failure is one message naming the file and the kind of file. */
#ifndef IPRO_FRAMED_FILE_H
#define IPRO_FRAMED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/error.h"

#define IPRO_FRAME_HEADER_BYTES 24

typedef struct {
  uint8_t *bytes;
  size_t size, capacity;
  bool failed;
} ipro_byte_writer;

uint8_t *ipro_put_reserve(ipro_byte_writer *w, size_t n);
void ipro_put_bytes(ipro_byte_writer *w, const void *bytes, size_t n);
void ipro_put_u64(ipro_byte_writer *w, uint64_t v);
void ipro_put_u32(ipro_byte_writer *w, uint32_t v);
void ipro_put_i64(ipro_byte_writer *w, int64_t v);
void ipro_put_f32(ipro_byte_writer *w, float v);
void ipro_put_f64(ipro_byte_writer *w, double v);
/* u32 length, then the bytes (no terminator). */
void ipro_put_string(ipro_byte_writer *w, const char *text);

typedef struct {
  const uint8_t *at, *end;
  bool short_read;
} ipro_byte_reader;

/* n bytes, or NULL (and short_read) when fewer remain. */
const uint8_t *ipro_get_bytes(ipro_byte_reader *r, size_t n);
uint64_t ipro_get_u64(ipro_byte_reader *r);
uint32_t ipro_get_u32(ipro_byte_reader *r);
int64_t ipro_get_i64(ipro_byte_reader *r);
float ipro_get_f32(ipro_byte_reader *r);
double ipro_get_f64(ipro_byte_reader *r);
/* A string written by ipro_put_string into out (size bytes with its terminator): false when it
 * is longer, holds a NUL, or the reader ran short. */
bool ipro_get_string(ipro_byte_reader *r, char *out, size_t size);

uint32_t ipro_crc32(const uint8_t *bytes, size_t size);

/* Starts a frame: reserves its header in a fresh writer. */
void ipro_frame_begin(ipro_byte_writer *w);
/* Fills the header of a frame whose payload is written (w must not have failed). */
void ipro_frame_end(ipro_byte_writer *w, const char magic[8], uint32_t version);
/* Checks bytes as a frame of this magic and version; on success *payload reads its payload.
 * what ("checkpoint", "training program") and path name the file in messages. */
ipro_status ipro_frame_open(const uint8_t *bytes, size_t size, const char magic[8],
                            uint32_t version, const char *what, const char *path,
                            ipro_byte_reader *payload, ipro_error *err);
/* The same for a format whose reader still takes older versions: any version from oldest to
 * newest is accepted and stored into *version, for the caller to parse the payload by it. */
ipro_status ipro_frame_open_versions(const uint8_t *bytes, size_t size, const char magic[8],
                                     uint32_t oldest, uint32_t newest, const char *what,
                                     const char *path, uint32_t *version, ipro_byte_reader *payload,
                                     ipro_error *err);

/* Whether the framed file at path is whole and undamaged (magic, payload length and CRC-32),
 * read through in pieces without holding it: for a check made before a file is read for use. */
ipro_status ipro_frame_check_file(const char *path, const char magic[8], const char *what,
                                  ipro_error *err);

/* Reads a whole file into a malloc'd buffer (what names it in messages). */
ipro_status ipro_read_whole_file(const char *path, const char *what, uint8_t **bytes, size_t *size,
                                 ipro_error *err);
/* The same from a file already open, read from where it stands to its end and left open. */
ipro_status ipro_read_whole_stream(FILE *file, const char *what, const char *path, uint8_t **bytes,
                                   size_t *size, ipro_error *err);

#endif
