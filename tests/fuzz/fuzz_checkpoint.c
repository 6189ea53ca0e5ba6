/* libFuzzer target for the checkpoint reader: any byte string handed to ipro_checkpoint_decode
 * must decode or fail with a message (bad magic, version, CRC, lengths, shapes), never crash,
 * overflow or leak.
 *
 * A mutation almost never keeps the CRC-32 right, so each input is decoded twice: as it is (the
 * header checks) and with its header's payload length and CRC rewritten to match (the position
 * and tensor parsers). A checkpoint that decodes must encode back to exactly the bytes it was
 * decoded from: the format has one encoding per checkpoint, so anything else means the reader
 * accepted something the writer cannot say. Seeds: tests/fuzz/corpus/checkpoint/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "runtime/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HEADER_BYTES = 24 };

static void decode_and_round_trip(const uint8_t *data, size_t size) {
  ipro_error err;
  ipro_checkpoint checkpoint;
  if (ipro_checkpoint_decode(data, size, "fuzz.ipck", &checkpoint, &err) != IPRO_OK) return;
  uint8_t *bytes = NULL;
  size_t encoded = 0;
  if (ipro_checkpoint_encode(&checkpoint, &bytes, &encoded, &err) != IPRO_OK) abort();
  if (encoded != size || memcmp(bytes, data, size) != 0) abort();
  free(bytes);
  ipro_checkpoint_release(&checkpoint);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  decode_and_round_trip(data, size);
  if (size < HEADER_BYTES) return 0;
  uint8_t *fixed = malloc(size);
  if (!fixed) return 0;
  memcpy(fixed, data, size);
  uint64_t payload = size - HEADER_BYTES;
  uint32_t crc = (uint32_t)crc32(0L, fixed + HEADER_BYTES, (uInt)payload);
  for (int i = 0; i < 4; i++)
    fixed[12 + i] = (uint8_t)(crc >> (8 * i));
  for (int i = 0; i < 8; i++)
    fixed[16 + i] = (uint8_t)(payload >> (8 * i));
  decode_and_round_trip(fixed, size);
  free(fixed);
  return 0;
}
