/* What a GPU test does where the CUDA backend cannot start (the ground rule for CUDA tests): it
 * fails when a GPU is required (IPRO_REQUIRE_GPU=1) or the NVIDIA driver lists one
 * (/proc/driver/nvidia/gpus), since a GPU that is present but unusable is a fault to see, and
 * skips otherwise (no GPU: CI and most machines). */
#ifndef IPRO_TEST_GPU_H
#define IPRO_TEST_GPU_H

#include <stdbool.h>

/* Whether the NVIDIA driver lists a GPU on this machine, asked without the CUDA runtime. */
bool ipro_test_gpu_visible(void);
/* The exit status of a test whose CUDA backend could not start, why saying why; prints the
 * reason: 1 (a failure) when a GPU is required or visible, else 77 (a skip) unless a check
 * already failed (then 1). */
int ipro_test_cuda_unavailable(const char *why);

#endif
