/* Which CUDA device a process takes (runtime/cuda_device.h), with the environment set as a user
 * and as MPI launchers set it: IPRO_CUDA_DEVICE first (refused out of range or malformed, with
 * one message naming the value and the devices there are), then the rank on its machine under
 * Open MPI, MPICH or Slurm modulo the devices, then device 0; no devices at all is an error. The
 * choice is plain C, so this runs where there is no GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cuda_device.h"
#include "support/check.h"

static const char *const variables[] = {"IPRO_CUDA_DEVICE", "OMPI_COMM_WORLD_LOCAL_RANK",
                                        "MPI_LOCALRANKID", "SLURM_LOCALID"};

static void clear(void) {
  for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++)
    unsetenv(variables[i]);
}

/* The device chosen among `devices`, or -1 with the message in *err. */
static int chosen(int devices, ipro_error *err) {
  *err = (ipro_error){{0}};
  int device = -7;
  return ipro_cuda_device_choose(devices, &device, err) == IPRO_OK ? device : -1;
}

static void check_device(const char *what, int devices, int want) {
  ipro_error err;
  int got = chosen(devices, &err);
  CHECK_MSG(got == want, "%s, %d devices: device %d, want %d (%s)", what, devices, got, want,
            err.message);
}

static void check_refused(const char *what, int devices, const char *want) {
  ipro_error err;
  int got = chosen(devices, &err);
  CHECK_MSG(got == -1 && strstr(err.message, want), "%s, %d devices: device %d, message \"%s\"",
            what, devices, got, err.message);
}

int main(void) {
  clear();
  check_device("nothing set", 1, 0);
  check_device("nothing set", 4, 0);
  check_refused("nothing set", 0, "no CUDA device");

  /* Open MPI's local rank: ranks take the devices in turn */
  for (int rank = 0; rank < 6; rank++) {
    char text[8];
    snprintf(text, sizeof text, "%d", rank);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", text, 1);
    check_device("OMPI_COMM_WORLD_LOCAL_RANK", 4, rank % 4);
    check_device("OMPI_COMM_WORLD_LOCAL_RANK", 1, 0);
  }
  /* the first launcher variable that holds an index; a malformed one is passed over */
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "x1", 1);
  setenv("MPI_LOCALRANKID", "3", 1);
  setenv("SLURM_LOCALID", "2", 1);
  check_device("MPICH's MPI_LOCALRANKID after a malformed Open MPI one", 8, 3);
  unsetenv("MPI_LOCALRANKID");
  check_device("Slurm's SLURM_LOCALID", 8, 2);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "5", 1);
  check_device("Open MPI's before Slurm's", 8, 5);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0", 1);
  check_device("Open MPI's local rank 0 before Slurm's 2", 8, 0);

  /* IPRO_CUDA_DEVICE before the launcher's */
  setenv("IPRO_CUDA_DEVICE", "1", 1);
  check_device("IPRO_CUDA_DEVICE=1 beside a local rank of 5", 8, 1);
  setenv("IPRO_CUDA_DEVICE", "3", 1);
  check_device("IPRO_CUDA_DEVICE=3", 4, 3);
  check_refused("IPRO_CUDA_DEVICE=3", 3, "IPRO_CUDA_DEVICE=3: expected a device index from 0 to 2");
  check_refused("IPRO_CUDA_DEVICE=3", 1, "shows this process 1 device)");
  static const char *const malformed[] = {"", "-1", "1x", " 1", "+1", "99999999999"};
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    setenv("IPRO_CUDA_DEVICE", malformed[i], 1);
    char want[64];
    snprintf(want, sizeof want, "IPRO_CUDA_DEVICE=%s: expected", malformed[i]);
    check_refused("a malformed IPRO_CUDA_DEVICE", 4, want);
  }
  clear();
  return ipro_test_finish();
}
