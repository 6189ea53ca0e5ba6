/* The two entry points of the CUDA plugin (libinfopro_cuda.so, built from runtime/cuda/), shared by
 * the plugin, which defines it, and the loader in cuda_plugin_loader.c, which finds them with
 * dlsym. The first creates the CUDA backend exactly as runtime/backend.h's ipro_backend_create_cuda
 * promises. */
#ifndef IPRO_CUDA_PLUGIN_H
#define IPRO_CUDA_PLUGIN_H

#include "ir/kernel_compiler.h"
#include "runtime/backend.h"

#define IPRO_CUDA_PLUGIN_FILE "libinfopro_cuda.so"
#define IPRO_CUDA_PLUGIN_ENTRY "ipro_cuda_plugin_create_backend"
#define IPRO_CUDA_PLUGIN_PLANNING_ENTRY "ipro_cuda_plugin_create_planning_backend"

/* kernels: the loading process's kernel compiler (ipro_kernel_compiler_forwarding), which the
 * plugin's own copy of the library code then uses, so that a process loads LLVM once, or never
 * when a compiled program serves its kernels made ahead of time (runtime/precompiled_kernels.h). */
typedef ipro_status (*ipro_cuda_plugin_create_fn)(const ipro_kernel_compiler *kernels,
                                                  ipro_backend **out, ipro_error *err);

ipro_status ipro_cuda_plugin_create_backend(const ipro_kernel_compiler *kernels, ipro_backend **out,
                                            ipro_error *err);

/* The second entry: the CUDA backend for planning, as backend.h's
 * ipro_backend_create_cuda_planning promises (no device needed). */
typedef ipro_status (*ipro_cuda_plugin_create_planning_fn)(ipro_backend **out, ipro_error *err);

ipro_status ipro_cuda_plugin_create_planning_backend(ipro_backend **out, ipro_error *err);

#endif
