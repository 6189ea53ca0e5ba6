/* The LLVM half of the kernel generator as a plugin: kernel_ir.c, kernel_math.c and
 * kernel_targets.c, the only files that call the LLVM C API, are built into
 * libinfopro_kernel_compiler.so (cmake/llvm.cmake), which a process loads the first time it
 * compiles a kernel (kernel_compiler_loader.c). A process that never compiles one, such as
 * `infopro --help`, `inspect` or a run on the reference kernels, never maps LLVM (over 50 MB of
 * resident memory).
 *
 * The plugin's one entry returns this table; kernel_generator.h's compiling functions forward to
 * it, with the same meanings. */
#ifndef IPRO_KERNEL_COMPILER_H
#define IPRO_KERNEL_COMPILER_H

#include "ir/kernel_generator.h"

#define IPRO_KERNEL_COMPILER_FILE "libinfopro_kernel_compiler.so"
#define IPRO_KERNEL_COMPILER_ENTRY "ipro_kernel_compiler_table"

typedef struct {
  ipro_status (*jit_create)(ipro_kernel_jit **out, ipro_error *err);
  ipro_status (*jit_compile)(ipro_kernel_jit *jit, const ipro_kernel_desc *desc,
                             ipro_kernel_host_fn *out, ipro_error *err);
  void (*jit_destroy)(ipro_kernel_jit *jit);
  ipro_status (*emit_host_object)(const ipro_kernel_desc *descs, int count, const char *cpu,
                                  void **bytes, size_t *size, ipro_error *err);
  ipro_status (*emit_ptx)(const ipro_kernel_desc *descs, int count, char **ptx, size_t *size,
                          ipro_error *err);
  /* The CPU name and feature string ("+avx2,+fma,-sse4a,...") host kernels are made for. */
  ipro_status (*describe_host)(char *cpu, size_t cpu_size, char *features, size_t features_size,
                               ipro_error *err);
} ipro_kernel_compiler;

const ipro_kernel_compiler *ipro_kernel_compiler_table(void);

/* Loads the plugin now rather than at the first compilation (kernel_compiler_loader.c): for a
 * command that measures its memory from a baseline, so that LLVM is in the baseline, among the
 * libraries, and not in the growth. A plugin that cannot be loaded is the error the first
 * compilation would give. */
ipro_status ipro_kernel_compiler_preload(ipro_error *err);

/* Serves every later compilation from table instead of the plugin: a compiled training program
 * (runtime/precompiled_kernels.h) answers with the kernels it carries, made ahead of time, and
 * never loads LLVM. Called before the first compilation; table must outlive the process. */
void ipro_kernel_compiler_use(const ipro_kernel_compiler *table);

/* A table whose entries are this copy of the library's own forwarding functions above: handed
 * to a plugin that carries its own copy of the library (the CUDA backend), so that its
 * compilations go where this process's go. */
const ipro_kernel_compiler *ipro_kernel_compiler_forwarding(void);

/* The host CPU the kernel compiler makes kernels for (kernel_compiler.h's describe_host). */
ipro_status ipro_kernel_describe_host(char *cpu, size_t cpu_size, char *features,
                                      size_t features_size, ipro_error *err);

#endif
