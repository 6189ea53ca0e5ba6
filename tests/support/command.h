/* Running the infopro binary from a test, as a user would: `infopro ARGS` in the source folder
 * (paths in ARGS are relative to it), with stdout and stderr captured and the exit status kept.
 * The binary is the one ctest names in IPRO_INFOPRO. Also the clean-up of the temporary folder
 * such a test gives the binary to write into. */
#ifndef IPRO_TEST_COMMAND_H
#define IPRO_TEST_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  int exit_status;             /* -1 when the command did not run or was killed */
  char out[65536], err[65536]; /* err: a log with --json - */
  int err_lines;
} ipro_command_result;

/* false when IPRO_INFOPRO is not set (the caller should skip). */
bool ipro_test_infopro_available(void);
/* Why `infopro train` on Fashion-MNIST cannot run here (IPRO_INFOPRO unset, or the Debian
 * package dataset-fashion-mnist missing), or NULL when it can: the caller skips with it. */
const char *ipro_test_training_unavailable(void);
/* Why `infopro compile --device cuda` cannot be tested here (training unavailable, or infopro built
 * without the CUDA plugin), or NULL when it can; *gpu says whether a CUDA device also starts. */
const char *ipro_test_cuda_compile_unavailable(bool *gpu);
void ipro_test_run_infopro(const char *arguments, ipro_command_result *result);
/* The same under a launcher: `LAUNCHER infopro ARGS` (e.g. "mpirun -np 2"). */
void ipro_test_run_infopro_under(const char *launcher, const char *arguments,
                                 ipro_command_result *result);
/* Any shell command line, run in the source folder like the above (a compiled program's runner,
 * ldd, sha256sum). */
void ipro_test_run_command(const char *command_line, ipro_command_result *result);
/* ipro_test_run_command, then a check that it exited with `expected` (naming the command and
 * its stderr when not). */
void ipro_test_run_command_expecting(const char *command_line, ipro_command_result *result,
                                     int expected);
/* A shell command line that prints, for each library in FOLDER/lib, "SONAME PACKAGE" when the
 * Debian package dpkg says owns that library on this machine has its copyright file in
 * FOLDER/licenses, and "MISSING SONAME PACKAGE" when not (the packs of scripts/gpu-bundle.sh and
 * scripts/gpu-tools.sh carry both folders). */
void ipro_test_licences_command(const char *folder, char *command, size_t size);
/* Whether the kernel says (/proc/cpuinfo's flags, not the compiler's CPUID builtins the code under
 * test may ask) that this CPU has every one of the `count` flags; false where unreadable. */
bool ipro_test_cpu_has_flags(const char *const *flags, int count);
/* Whether the CPU has AVX-512 as oneDNN's avx512_core needs it (F, BW, VL, DQ): where the oneDNN
 * backend's blocks are 16 channels and its Winograd convolutions and loops of AVX-512 run. */
bool ipro_test_cpu_has_avx512_core(void);
/* Whether the CPU has AVX2: where the oneDNN backend carries activations channel-blocked (in
 * blocks of 8 without AVX-512, of 16 with it). From the CPU's own flags, not the backend's. */
bool ipro_test_cpu_has_avx2(void);
/* Removes the folder and everything in it (a note is printed when that fails). */
void ipro_test_remove_directory(const char *path);

#endif
