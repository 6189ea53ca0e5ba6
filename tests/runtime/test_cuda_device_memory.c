/* The device memory measure of the backends (backend.h's device_memory_used), against what was
 * asked of the device:
 * - the CPU backends (oneDNN, reference) have none: their memory is the host's, which the
 *   process's resident set measures;
 * - on a GPU, the driver's figure (cudaMemGetInfo) grows by at least the 256 MiB one allocate
 *   asks for and by at most 8 MiB more (the driver maps in pages of up to 2 MiB), and falls
 *   back within 8 MiB of where it was once the block is released;
 * - on a GPU, `infopro train --device cuda --json -` reports a device-measured figure of at
 *   least the planned peak: the planned blocks really are on the device.
 * Where the CUDA backend cannot start, the test skips after the host part (exit 77, unless that
 * failed), and fails when a GPU is required (IPRO_REQUIRE_GPU=1) or the driver lists one
 * (tests/support/gpu.h): it used to pass there, its GPU part unrun. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "runtime/backend.h"
#include "support/check.h"
#include "support/command.h"
#include "support/gpu.h"

#define BLOCK_BYTES (256ull << 20)
#define PAGE_SLACK (8ull << 20)

static void check_host_backends(void) {
  ipro_error err = {{0}};
  ipro_backend *b = NULL;
  if (ipro_backend_create_onednn(&b, &err) == IPRO_OK) {
    CHECK_MSG(b->device_memory_used == NULL, "the oneDNN backend claims a device measure");
    b->destroy(b);
  }
  if (ipro_backend_create_reference(&b, &err) == IPRO_OK) {
    CHECK_MSG(b->device_memory_used == NULL, "the reference backend claims a device measure");
    b->destroy(b);
  }
}

static void check_driver_figure(ipro_backend *cuda) {
  ipro_error err = {{0}};
  uint64_t before = 0, during = 0, after = 0;
  void *block = NULL;
  CHECK_MSG(cuda->device_memory_used != NULL, "the CUDA backend has no device measure");
  if (!cuda->device_memory_used) return;
  ipro_status status = cuda->device_memory_used(cuda, &before, &err);
  if (status == IPRO_OK) status = cuda->allocate(cuda, BLOCK_BYTES, &block, &err);
  if (status == IPRO_OK) status = cuda->device_memory_used(cuda, &during, &err);
  cuda->release(cuda, block, BLOCK_BYTES);
  if (status == IPRO_OK) status = cuda->device_memory_used(cuda, &after, &err);
  CHECK_OK(status, &err);
  printf("cudaMemGetInfo in use: %llu before, %llu with 256 MiB allocated, %llu after\n",
         (unsigned long long)before, (unsigned long long)during, (unsigned long long)after);
  CHECK_MSG(during >= before + BLOCK_BYTES && during <= before + BLOCK_BYTES + PAGE_SLACK,
            "the driver's figure grew by %lld bytes for an allocation of %llu",
            (long long)(during - before), (unsigned long long)BLOCK_BYTES);
  CHECK_MSG(after + PAGE_SLACK >= before && after <= before + PAGE_SLACK,
            "after the release the driver's figure is %llu, %llu before", (unsigned long long)after,
            (unsigned long long)before);
}

static void check_train_reports_device(void) {
  const char *unavailable = ipro_test_training_unavailable();
  if (unavailable) {
    printf("skipped: train --device cuda (%s)\n", unavailable);
    return;
  }
  ipro_command_result r;
  ipro_test_run_infopro("train models/resnet8_fmnist.onnx --data fashion-mnist --epochs 1 "
                        "--limit 256 --test-limit 256 --batch 128 -K 2 --device cuda --json -",
                        &r);
  CHECK_MSG(r.exit_status == 0, "train --device cuda: exit %d: %s", r.exit_status, r.err);
  const char *line = NULL; /* the JSON: the last line starting with '{' */
  for (const char *p = r.out; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (*p == '{') line = p;
  json_error_t error;
  json_t *root = line ? json_loadb(line, strcspn(line, "\n"), 0, &error) : NULL;
  CHECK_MSG(root != NULL, "train --device cuda: no JSON line in: %s", r.out);
  json_t *memory = root ? json_object_get(root, "memory") : NULL;
  json_int_t planned = json_integer_value(json_object_get(memory, "planned_peak_bytes"));
  json_int_t device = json_integer_value(json_object_get(memory, "device_measured_bytes"));
  printf("train --device cuda: planned %lld, device-measured %lld\n", (long long)planned,
         (long long)device);
  CHECK_MSG(planned > 0 && device >= planned,
            "train --device cuda: device-measured %lld bytes, fewer than the %lld planned",
            (long long)device, (long long)planned);
  json_decref(root);
}

int main(void) {
  check_host_backends();
  ipro_error err = {{0}};
  ipro_backend *cuda = NULL;
  if (ipro_backend_create_cuda(&cuda, &err) != IPRO_OK)
    return ipro_test_cuda_unavailable(err.message);
  check_driver_figure(cuda);
  cuda->destroy(cuda);
  check_train_reports_device();
  return ipro_test_finish();
}
