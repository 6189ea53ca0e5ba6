/* The CUDA device a process takes (cuda_device.h). */
#include "runtime/cuda_device.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

/* text as a whole non-negative decimal integer that fits an int, or -1. */
static int index_of(const char *text) {
  if (!text || *text < '0' || *text > '9') return -1;
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  return errno == 0 && *end == '\0' && value <= INT_MAX ? (int)value : -1;
}

ipro_status ipro_cuda_device_choose(int devices, int *device, ipro_error *err) {
  *device = 0;
  if (devices < 1) return ipro_error_set(err, "no CUDA device: the driver reports none");
  const char *named = getenv("IPRO_CUDA_DEVICE");
  if (named) {
    int index = index_of(named);
    if (index < 0 || index >= devices)
      return ipro_error_set(err,
                            "IPRO_CUDA_DEVICE=%s: expected a device index from 0 to %d (the "
                            "driver shows this process %d device%s)",
                            named, devices - 1, devices, devices == 1 ? "" : "s");
    *device = index;
    return IPRO_OK;
  }
  static const char *const local_ranks[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                                            "SLURM_LOCALID"};
  for (size_t i = 0; i < sizeof local_ranks / sizeof local_ranks[0]; i++) {
    int rank = index_of(getenv(local_ranks[i]));
    if (rank >= 0) {
      *device = rank % devices;
      return IPRO_OK;
    }
  }
  return IPRO_OK;
}
