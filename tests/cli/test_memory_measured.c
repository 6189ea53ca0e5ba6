/* The memory promise at small scale, measured without reading the plan: ResNet-8 on 256
 * Fashion-MNIST images at batch 128 (two steps and a test pass on 256 images), end to end and at
 * K = 2 and 4. For each run, the allocator-measured peak of the trainer is within 0.1% of the plan
 * beyond its measured programs and primitives (at most 3 MiB here; 0.9 to 1.7 MB measured): the
 * reference fallback's temporaries lie in the planned arena and the test pass's parameter copy in
 * the training block, so nothing else is allocated (measured: under 9 kB, 0.013%; 0.23% before
 * the temporaries moved into the arena). The process's peak RSS
 * growth over its start is at most planned + the dataset as stored + 64 MiB
 * (support/memory_checks.h). Under AddressSanitizer the allocator's quarantine is turned off
 * for the runs, since it holds freed blocks resident on purpose. Skipped when Fashion-MNIST is
 * missing. */
#include <stdio.h>
#include <string.h>

#include "support/check.h"
#include "support/command.h"
#include "support/memory_checks.h"

int main(void) {
  const char *unavailable = ipro_test_training_unavailable();
  if (unavailable) return ipro_test_skip(unavailable);
  ipro_test_prepare_memory_measurement();
  static const int modules[] = {1, 2, 4};
  for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
    char arguments[512], what[64];
    snprintf(arguments, sizeof arguments,
             "train models/resnet8_fmnist.onnx --data fashion-mnist --epochs 1 --limit 256 "
             "--test-limit 256 --batch 128 -K %d --json -",
             modules[i]);
    snprintf(what, sizeof what, "ResNet-8 b128 K = %d", modules[i]);
    ipro_command_result r;
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 0, "%s: exit status %d: %s", what, r.exit_status, r.err);
    ipro_test_check_train_memory(what, r.out, 3u << 20, 0.001, 0);
  }
  return ipro_test_finish();
}
