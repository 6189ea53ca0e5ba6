/* The one entry point of the CUDA plugin (libinfopro_cuda.so, built from runtime/cuda/), shared by
 * the plugin, which defines it, and the loader in cuda_plugin_loader.c, which finds it with dlsym.
 * It creates the CUDA backend exactly as runtime/backend.h's ipro_backend_create_cuda promises. */
#ifndef IPRO_CUDA_PLUGIN_H
#define IPRO_CUDA_PLUGIN_H

#include "runtime/backend.h"

#define IPRO_CUDA_PLUGIN_FILE "libinfopro_cuda.so"
#define IPRO_CUDA_PLUGIN_ENTRY "ipro_cuda_plugin_create_backend"

typedef ipro_status (*ipro_cuda_plugin_create_fn)(ipro_backend **out, ipro_error *err);

ipro_status ipro_cuda_plugin_create_backend(ipro_backend **out, ipro_error *err);

#endif
