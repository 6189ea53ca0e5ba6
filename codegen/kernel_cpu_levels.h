/* The x86-64 micro-architecture levels of the psABI (x86-64, x86-64-v2, -v3, -v4) as CPUs the
 * ahead-of-time kernels can be made for, so that a compiled program runs on any CPU of that level
 * rather than only on CPUs like the one it was compiled on. */
#ifndef IPRO_CODEGEN_KERNEL_CPU_LEVELS_H
#define IPRO_CODEGEN_KERNEL_CPU_LEVELS_H

/* The instruction-set features level `name` guarantees, in LLVM's "+feature,..." form, or NULL
 * when name is not a level. */
const char *ipro_kernel_cpu_level_features(const char *name);

/* The level names, for messages: "x86-64, x86-64-v2, x86-64-v3, x86-64-v4". */
extern const char ipro_kernel_cpu_level_names[];

#endif
