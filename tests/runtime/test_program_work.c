/* The modules' work a compiled program records (program format version 3, schemas/program.md),
 * by which an MPI pipeline of fewer processes than modules groups them into stages: the fuzz
 * corpus's real K = 2 program of the bundled MLP (tests/fuzz/seeds/make_seeds.py) reads back a
 * kind of FLOPs and a positive count for each module; the same program of version 2 still reads,
 * its work unknown (all 0); and the version-3 bytes with the kind made 3, the kind made 0 beside
 * counts, one count made 0 beside the FLOPs kind, or one above IPRO_PIPELINE_STAGES_MAX_WORK
 * (whose sums could wrap), are each refused with one message naming
 * the field (the frame's CRC made again, so that the field's own check is what refuses). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "runtime/pipeline_stages.h"
#include "runtime/program_file.h"
#include "support/check.h"
#include "support/mpi_runs.h"

static uint8_t *corpus_file(const char *name, size_t *size) {
  char path[1024];
  snprintf(path, sizeof path, "tests/fuzz/corpus/program/%s", name);
  char full[1200];
  ipro_test_path(full, sizeof full, path);
  uint8_t *bytes = ipro_test_read_file(full, size);
  CHECK_MSG(bytes != NULL, "cannot read %s", full);
  return bytes;
}

/* The bytes with the 4 + 8K bytes of the work at `at` replaced, the frame's CRC made again. */
static void refused(const uint8_t *bytes, size_t size, size_t at, uint32_t kind,
                    const uint64_t *work, int K, const char *what) {
  uint8_t *copy = malloc(size);
  if (!copy) return;
  memcpy(copy, bytes, size);
  memcpy(copy + at, &kind, 4);
  memcpy(copy + at + 4, work, 8 * (size_t)K);
  uint32_t crc = (uint32_t)crc32(0L, copy + 24, (uInt)(size - 24));
  memcpy(copy + 12, &crc, 4);
  ipro_program program;
  ipro_error err = {{0}};
  ipro_status status = ipro_program_decode(copy, size, "p.ipro", &program, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "p.ipro") &&
                strstr(err.message, "the modules' work"),
            "%s: status %d, message '%s'", what, status, err.message);
  if (status == IPRO_OK) ipro_program_release(&program);
  free(copy);
}

int main(void) {
  size_t size = 0, old_size = 0;
  uint8_t *bytes = corpus_file("mlp_k2.ipro", &size);
  uint8_t *old = corpus_file("mlp_k2_version2.ipro", &old_size);
  ipro_program program;
  ipro_error err = {{0}};
  if (bytes && ipro_program_decode(bytes, size, "mlp_k2.ipro", &program, &err) == IPRO_OK) {
    CHECK_EQ_INT(program.local.K, 2);
    CHECK_MSG(!program.work_is_time && program.module_work[0] > 0 && program.module_work[1] > 0,
              "version 3: work %llu, %llu (time %d)", (unsigned long long)program.module_work[0],
              (unsigned long long)program.module_work[1], program.work_is_time);
    /* where the kind and the two counts lie: the only place those 20 bytes occur */
    uint8_t field[20];
    uint32_t kind = 1;
    memcpy(field, &kind, 4);
    memcpy(field + 4, program.module_work, 16);
    size_t at = 0;
    int found = 0;
    for (size_t i = 24; i + sizeof field <= size; i++)
      if (memcmp(bytes + i, field, sizeof field) == 0) at = i, found++;
    CHECK_EQ_INT(found, 1);
    uint64_t one_zero[2] = {program.module_work[0], 0}, zeros[2] = {0, 0};
    if (found == 1) {
      refused(bytes, size, at, 3, program.module_work, 2, "kind 3");
      refused(bytes, size, at, 0, program.module_work, 2, "kind 0 beside counts");
      refused(bytes, size, at, 1, one_zero, 2, "a count of 0 beside FLOPs");
      refused(bytes, size, at, 2, zeros, 2, "no counts beside the time kind");
      uint64_t beyond[2] = {IPRO_PIPELINE_STAGES_MAX_WORK + 1, 1};
      refused(bytes, size, at, 1, beyond, 2, "a count beyond any step's");
    }
    ipro_program_release(&program);
  } else {
    CHECK_MSG(false, "mlp_k2.ipro: %s", err.message);
  }
  if (old &&
      ipro_program_decode(old, old_size, "mlp_k2_version2.ipro", &program, &err) == IPRO_OK) {
    CHECK_MSG(program.local.K == 2 && program.module_work[0] == 0 && program.module_work[1] == 0,
              "version 2: K %d, work %llu", program.local.K,
              (unsigned long long)program.module_work[0]);
    ipro_program_release(&program);
  } else {
    CHECK_MSG(false, "mlp_k2_version2.ipro: %s", err.message);
  }
  free(bytes);
  free(old);
  return ipro_test_finish();
}
