/* The memory promise of `infopro train`, checked on the "memory" object its `--json -` prints
 * (cli/memory_report.h) against what was measured without reading the plan:
 * - the trainer's allocator-measured peak (the counting allocator's high-water mark from its
 *   creation, less the test pass's held bytes) is at least the planned peak (the planned
 *   blocks really were handed out) and at most planned + its programs and primitives + the
 *   unplanned allowance the caller states (the target: 1% of planned, so that nothing
 *   unplanned, such as a kernel's temporaries or compiling, adds more);
 * - the programs and primitives (allocator bytes the trainer holds beyond its blocks) stay
 *   within programs_limit bytes, the bound the calling test states for its model;
 * - where the caller asks (whole_fraction > 0), the trainer's whole allocator-measured peak,
 *   programs and primitives included, is at most planned × (1 + whole_fraction): the issue's
 *   target of 1%;
 * - the process's RSS growth is positive and at most planned + dataset as stored + 64 MiB. */
#ifndef IPRO_TEST_MEMORY_CHECKS_H
#define IPRO_TEST_MEMORY_CHECKS_H

#include <stdint.h>

/* out: the command's stdout, whose last line starting with '{' is the JSON. Unplanned bytes are
 * allowed up to max(unplanned_fraction × planned, unplanned_floor). */
typedef struct {
  uint64_t programs_limit;
  double unplanned_fraction;
  uint64_t unplanned_floor;
  double whole_fraction; /* 0: the whole peak is not held to a fraction of the plan */
  /* the allocator's peak while the trainer's programs were built (the model read, its kernels
   * compiled) is at least this: the model file's size, which building reads whole (0: not
   * checked) */
  uint64_t building_floor;
} ipro_test_memory_bounds;
void ipro_test_check_train_memory(const char *what, const char *out,
                                  ipro_test_memory_bounds bounds);
/* The same without the RSS bound: for a pipeline's rank, whose resident set under mpirun in the
 * sanitizer build holds Open MPI's own (a Release rank 0 of ResNet-8 at batch 32 grows by 106
 * MB, within its bound; under AddressSanitizer by 354 MB). */
void ipro_test_check_trainer_memory(const char *what, const char *out,
                                    ipro_test_memory_bounds bounds);
/* Under mpirun: the "pipeline" object of rank 0's JSON lists `stages` ranks whose modules run
 * 1 to K in order, and each rank's own trainer (its planned peak, allocator-measured by its own
 * process) keeps the bounds as above. */
void ipro_test_check_pipeline_memory(const char *what, const char *out, int K, int stages,
                                     ipro_test_memory_bounds bounds);
/* Before running infopro under AddressSanitizer: its allocator's quarantine keeps freed blocks
 * resident on purpose, which the RSS bound is not about; this turns it off for child processes
 * (ASAN_OPTIONS), and does nothing to an uninstrumented binary. */
void ipro_test_prepare_memory_measurement(void);

#endif
