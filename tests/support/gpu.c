/* The GPU tests' rule where the CUDA backend cannot start (gpu.h). */
#include "gpu.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

bool ipro_test_gpu_visible(void) {
  DIR *gpus = opendir("/proc/driver/nvidia/gpus");
  if (!gpus) return false;
  bool found = false;
  for (struct dirent *entry; !found && (entry = readdir(gpus));)
    found = entry->d_name[0] != '.';
  closedir(gpus);
  return found;
}

int ipro_test_cuda_unavailable(const char *why) {
  const char *require = getenv("IPRO_REQUIRE_GPU");
  bool required = require && strcmp(require, "1") == 0;
  if (required || ipro_test_gpu_visible()) {
    printf("FAIL: %s, but the CUDA backend cannot start: %s\n",
           required ? "IPRO_REQUIRE_GPU=1" : "a GPU is visible (/proc/driver/nvidia/gpus)", why);
    return 1;
  }
  if (ipro_test_failed) return ipro_test_finish();
  char reason[1200];
  snprintf(reason, sizeof reason, "the CUDA backend cannot be created here: %s", why);
  return ipro_test_skip(reason);
}
