/* libFuzzer target for the checkpoint reader: any byte string handed to ipro_checkpoint_decode
 * must decode or fail with a message (bad magic, version, CRC, lengths, shapes), never crash,
 * overflow or leak.
 *
 * A mutation almost never keeps the CRC-32 right, so each input is decoded twice: as it is (the
 * header checks) and with its header's payload length and CRC rewritten to match (the position
 * and tensor parsers). A checkpoint that decodes must encode back to exactly the bytes it was
 * decoded from: the format has one encoding per checkpoint, so anything else means the reader
 * accepted something the writer cannot say. The writer writes version 3 only: an older input
 * must come back as its own payload followed by what its version lacks, as empty: a class-name
 * count of 0 (version 1), a split flag of 0 and a normalisation of 0 channels (versions 1 and
 * 2), under version 3. Seeds:
 * tests/fuzz/corpus/checkpoint/ (versions 1, 2 and 3, with and without a split). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint.h"
#include "tests/fuzz/framed_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_and_round_trip(const uint8_t *data, size_t size) {
  ipro_error err;
  ipro_checkpoint checkpoint;
  if (ipro_checkpoint_decode(data, size, "fuzz.ipck", &checkpoint, &err) != IPRO_OK) return;
  uint8_t *bytes = NULL;
  size_t encoded = 0;
  if (ipro_checkpoint_encode(&checkpoint, &bytes, &encoded, &err) != IPRO_OK) abort();
  if (data[8] < IPRO_CHECKPOINT_VERSION) { /* decoded, so at least a header and a count long */
    enum { HEADER_BYTES = 24 };
    /* no class names (version 1), no split and no normalisation (1 and 2) */
    static const uint8_t empty[12] = {0};
    size_t added = data[8] == 1 ? 12 : 8;
    if (encoded != size + added || bytes[8] != IPRO_CHECKPOINT_VERSION ||
        (data[8] == 1 && checkpoint.n_class_names) || checkpoint.split.K ||
        checkpoint.n_normalization || memcmp(bytes, data, 8) != 0 ||
        memcmp(bytes + HEADER_BYTES, data + HEADER_BYTES, size - HEADER_BYTES) != 0 ||
        memcmp(bytes + size, empty, added) != 0)
      abort();
  } else if (encoded != size || memcmp(bytes, data, size) != 0) {
    abort();
  }
  free(bytes);
  ipro_checkpoint_release(&checkpoint);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ipro_fuzz_framed(data, size, decode_and_round_trip);
  return 0;
}
