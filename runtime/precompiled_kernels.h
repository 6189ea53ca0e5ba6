/* The generated kernels of a compiled training program, made ahead of time by `infopro compile`
 * (ir/kernel_library.h's whole library in one object, linked into DIR/kernels.so; the same
 * library as PTX text in DIR/kernels.ptx for CUDA), served through the kernel compiler's table
 * (ir/kernel_compiler.h) so that the backends find their kernels exactly as under
 * `infopro train`, where LLVM makes them in-process from the same descriptions, the same
 * optimisation and the same CPU: the machine code is the same, so are the numbers.
 *
 * The CPU the kernels were made for must be this one: a feature the program was compiled with
 * and this CPU lacks is refused by name before any kernel runs. And the kernel files must be the
 * ones the program was compiled with: program.ipro records each one's size and CRC-32, and a
 * file that differs (truncated, edited, copied from another compile) is refused by name before it
 * is loaded, rather than crashing the process (a truncated shared object faults when a page past
 * its end is touched, a foreign one runs instructions this CPU lacks) or computing quietly wrong
 * numbers (an edited one). */
#ifndef IPRO_PRECOMPILED_KERNELS_H
#define IPRO_PRECOMPILED_KERNELS_H

#include <stdint.h>

#include "ir/error.h"

#define IPRO_PRECOMPILED_HOST_FILE "kernels.so"
#define IPRO_PRECOMPILED_PTX_FILE "kernels.ptx"

/* What a kernel file was when it was made: its size and zlib's CRC-32 of its bytes. A size of 0
 * means not recorded (no such file, or a program of format 4 or older), and nothing is checked. */
typedef struct {
  uint64_t bytes;
  uint32_t crc32;
} ipro_kernel_file_digest;

/* The digest of the file at path, as `infopro compile` records it. */
ipro_status ipro_kernel_file_digest_read(const char *path, ipro_kernel_file_digest *out,
                                         ipro_error *err);

/* Checks features (as the program recorded them, "+avx2,+fma,-sse4a,...") against this CPU,
 * checks directory's kernels.so against host (where recorded) and loads that very file, checks it
 * holds every kernel of the library, then makes every later kernel compilation of the process look
 * its kernels up there; kernels.ptx, read when the CUDA backend first asks for it, is checked
 * against ptx the same way. */
ipro_status ipro_precompiled_kernels_use(const char *directory, const char *cpu,
                                         const char *features, ipro_kernel_file_digest host,
                                         ipro_kernel_file_digest ptx, ipro_error *err);

#endif
