/* scripts/gpu-tools.sh in CI's environment (no GPU), on the test build's own programs
 * (GPU_TOOLS_BUILT=1, xz at preset 0 to keep this test short):
 *   - it writes the tarball with infopro, the runner, the CUDA and kernel compiler plugins, the
 *     MPI plugin (which `infopro compile` copies into every program it writes), the
 *     training-step benchmark, the CUDA test, run.sh and cuda_libraries.sh;
 *   - lib/ holds every library ldd says the programs need beyond the C/C++ runtimes and CUDA (LLVM
 *     among them, which the kernel compiler plugin needs), and each library's owner, as dpkg says
 *     here, has its copyright file in licenses/; the MPI plugin is not among them: it is loaded
 *     only under mpirun, which the GPU machine does not have, so Open MPI is not carried;
 *   - the unpacked run.sh refuses to run outside a checkout with one line, and in this checkout
 *     without a GPU stops before any step with exit 1 and one line saying there is no usable CUDA
 *     device (its probe: one training step at batch 2); an unknown step is exit 2 before that;
 *   - BUILD-INFO says the build type.
 * Labelled "bundle". Skipped when infopro was built without CUDA. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/check.h"
#include "support/command.h"

static char directory[] = "/tmp/ipro_test_gpu_tools_XXXXXX";

int main(void) {
  bool gpu;
  const char *unavailable = ipro_test_cuda_compile_unavailable(&gpu);
  if (unavailable) return ipro_test_skip(unavailable);
  if (!mkdtemp(directory)) return ipro_test_skip("cannot make a temporary folder");
  char build[4096];
  snprintf(build, sizeof build, "%s", getenv("IPRO_INFOPRO"));
  dirname(build);

  static char command[4096];
  static ipro_command_result r;
  snprintf(command, sizeof command,
           "GPU_TOOLS_BUILT=1 XZ_LEVEL=0 INFOPRO_BUILD='%s' scripts/gpu-tools.sh '%s/tools.tar.xz' "
           "&& tar -C '%s' -xJf '%s/tools.tar.xz' && tar -tJf '%s/tools.tar.xz'",
           build, directory, directory, directory, directory);
  ipro_test_run_command_expecting(command, &r, 0);
  const char *files[] = {"infopro",
                         "infopro-train",
                         "libinfopro_cuda.so",
                         "libinfopro_kernel_compiler.so",
                         "libinfopro_mpi.so",
                         "bench/training_step",
                         "tests/runtime_test_cuda_vs_cpu",
                         "run.sh",
                         "cuda_libraries.sh",
                         "BUILD-INFO",
                         "lib/libLLVM-14.so.1",
                         "lib/libdnnl.so.2"};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char line[300];
    snprintf(line, sizeof line, "infopro-gpu-tools/%s\n", files[f]);
    CHECK_MSG(strstr(r.out, line), "%s not in the tools: %s", files[f], r.out);
  }

  snprintf(command, sizeof command, "cat '%s/infopro-gpu-tools/BUILD-INFO'", directory);
  ipro_test_run_command_expecting(command, &r, 0);
  CHECK_MSG(strstr(r.out, "build type: ") && !strstr(r.out, "build type: \n") &&
                !strstr(r.out, "build type: unknown"),
            "BUILD-INFO: %s", r.out);

  /* Nothing the programs need is left behind: with lib/ first on the path, ldd finds every
   * library but the CUDA ones (which the GPU machine brings) in lib/ or in the C/C++ runtimes. */
  snprintf(command, sizeof command,
           "cd '%s/infopro-gpu-tools' && for f in infopro infopro-train libinfopro_cuda.so "
           "libinfopro_kernel_compiler.so bench/* tests/*; do "
           "LD_LIBRARY_PATH=$PWD/lib ldd $f; done | awk '$2 == \"=>\" { print $1, $3 }' | "
           "grep -Ev '^(libc|libm|libpthread|libdl|librt|libstdc\\+\\+|libgcc_s|libcudart|"
           "libcublas|libcublasLt|libcudnn[a-z_]*)\\.so' | grep -v \"$PWD/lib/\" | sort -u",
           directory);
  ipro_test_run_command_expecting(command, &r, 0);
  CHECK_MSG(r.out[0] == '\0', "libraries found outside the tools' lib/: %s", r.out);
  char folder[600];
  snprintf(folder, sizeof folder, "%s/infopro-gpu-tools", directory);
  ipro_test_licences_command(folder, command, sizeof command);
  ipro_test_run_command_expecting(command, &r, 0);
  CHECK_MSG(strstr(r.out, "libLLVM-14.so.1 ") && !strstr(r.out, "MISSING"),
            "libraries and their licences: %s", r.out);

  snprintf(command, sizeof command, "cd '%s' && infopro-gpu-tools/run.sh train", directory);
  ipro_test_run_command_expecting(command, &r, 1);
  CHECK_MSG(r.err_lines == 1 && strstr(r.err, "run it from a checkout"),
            "run.sh outside a checkout said: %s", r.err);
  if (!gpu) {
    snprintf(command, sizeof command, "'%s/infopro-gpu-tools/run.sh' train", directory);
    ipro_test_run_command_expecting(command, &r, 1);
    CHECK_MSG(r.err_lines == 1 && strstr(r.err, "run.sh: FAIL: the GPU probe") &&
                  strstr(r.err, "no CUDA device") && !strstr(r.out, "=== train"),
              "run.sh train without a GPU said: %s %s", r.out, r.err);
    snprintf(command, sizeof command, "'%s/infopro-gpu-tools/run.sh' fly", directory);
    ipro_test_run_command_expecting(command, &r, 2);
    CHECK_MSG(strstr(r.err, "no step 'fly'"), "run.sh with an unknown step said: %s", r.err);
  } else {
    printf("note: a CUDA device is present; run.sh's no-GPU failure is not checked\n");
  }
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
