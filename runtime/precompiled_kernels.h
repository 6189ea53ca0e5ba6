/* The generated kernels of a compiled training program, made ahead of time by `infopro compile`
 * (ir/kernel_library.h's whole library in one object, linked into DIR/kernels.so; the same
 * library as PTX text in DIR/kernels.ptx for CUDA), served through the kernel compiler's table
 * (ir/kernel_compiler.h) so that the backends find their kernels exactly as under
 * `infopro train`, where LLVM makes them in-process from the same descriptions, the same
 * optimisation and the same CPU: the machine code is the same, so are the numbers.
 *
 * The CPU the kernels were made for must be this one: a feature the program was compiled with
 * and this CPU lacks is refused by name before any kernel runs. */
#ifndef IPRO_PRECOMPILED_KERNELS_H
#define IPRO_PRECOMPILED_KERNELS_H

#include "ir/error.h"

#define IPRO_PRECOMPILED_HOST_FILE "kernels.so"
#define IPRO_PRECOMPILED_PTX_FILE "kernels.ptx"

/* Checks features (as the program recorded them, "+avx2,+fma,-sse4a,...") against this CPU,
 * loads directory's kernels.so and checks it holds every kernel of the library, then makes every
 * later kernel compilation of the process look its kernels up there. */
ipro_status ipro_precompiled_kernels_use(const char *directory, const char *cpu,
                                         const char *features, ipro_error *err);

#endif
