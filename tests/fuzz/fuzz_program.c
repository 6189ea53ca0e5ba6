/* libFuzzer target for the compiled training program's reader (runtime/program_file.h): any
 * byte string handed to ipro_program_decode must decode or fail with a message (bad magic,
 * version, CRC, sizes, a field out of range), never crash, overflow or leak. Each input is also
 * decoded with its frame's length and CRC made to match (framed_input.h). A program that decodes
 * must encode back to exactly its bytes: the format has one encoding per program; one of version
 * 2, 3 or 4 encodes as version 5 with the kernel files' digests not recorded (and for versions 2
 * and 3 the compiler unknown, for version 2 the modules' work unknown), which decodes and encodes
 * to itself.
 * Decoding reads every module's lowered graph (runtime/program_module.c) through. The embedded
 * model is not parsed here (the ONNX loader has its own target, fuzz_onnx_load). Seeds:
 * tests/fuzz/corpus/program/ (the bundled MLP compiled end to end and with K = 2, in versions 2
 * to 5). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/program_file.h"
#include "tests/fuzz/framed_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_and_round_trip(const uint8_t *data, size_t size) {
  ipro_error err;
  ipro_program program;
  if (ipro_program_decode(data, size, "fuzz.ipro", &program, &err) != IPRO_OK) return;
  uint8_t *bytes = NULL;
  size_t encoded = 0;
  if (ipro_program_encode(&program, &bytes, &encoded, &err) != IPRO_OK) abort();
  uint32_t version = 0;
  memcpy(&version, data + 8, sizeof version); /* the frame was read, so it is there */
  if (version == IPRO_PROGRAM_VERSION) {
    if (encoded != size || memcmp(bytes, data, size) != 0) abort();
  } else {
    /* versions 2 to 4: written as version 5, the kernel files' digests added unrecorded (two u64
     * sizes and two u32 CRCs, all 0), for versions 2 and 3 the compiler unknown (an empty
     * string, its u32 length) and for version 2 the modules' work (a kind and K counts) too */
    size_t compiler = version < 4 ? 4 : 0;
    size_t work = version == 2 ? 4 + 8 * (size_t)program.local.K : 0;
    if (program.compiler[0] && version < 4) abort();
    if (program.host_kernels.bytes || program.ptx_kernels.bytes) abort();
    if (encoded != size + 24 + compiler + work) abort();
    ipro_program again;
    uint8_t *twice = NULL;
    size_t twice_size = 0;
    if (ipro_program_decode(bytes, encoded, "fuzz.ipro", &again, &err) != IPRO_OK) abort();
    for (int k = 0; k < again.local.K && version == 2; k++)
      if (again.module_work[k] != 0 || again.work_is_time) abort();
    if (again.host_kernels.bytes || again.ptx_kernels.bytes) abort();
    if (strcmp(again.compiler, program.compiler) != 0) abort();
    if (ipro_program_encode(&again, &twice, &twice_size, &err) != IPRO_OK) abort();
    if (twice_size != encoded || memcmp(twice, bytes, encoded) != 0) abort();
    free(twice);
    ipro_program_release(&again);
  }
  free(bytes);
  ipro_program_release(&program);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ipro_fuzz_framed(data, size, decode_and_round_trip);
  return 0;
}
