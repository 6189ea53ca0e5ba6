/* The CUDA backend as a plugin (runtime/cuda/ is built into libinfopro_cuda.so, cmake/cuda.cmake):
 * a process maps the CUDA runtime, cuDNN and cuBLAS (over a gigabyte of libraries, 0.2 s to load)
 * only when a CUDA device is asked for, as ONNX Runtime loads its CUDA execution provider. Every
 * CPU-side process (the CLI on the CPU, the conformance runners, the tests) links none of them.
 * Where the plugin is looked for, and the one message when it cannot be loaded (a CUDA library
 * missing from the library path), are ir/plugin_library.h's. */
#include <pthread.h>

#include "ir/plugin_library.h"
#include "runtime/backend.h"
#include "runtime/cuda_plugin/cuda_plugin.h"

/* Loaded once per process and kept: the CUDA runtime does not support being unloaded. */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static ipro_cuda_plugin_create_fn create;
static ipro_cuda_plugin_create_planning_fn create_planning;
static ipro_error load_error;

static void load_plugin(void) {
  void *address = NULL, *planning_address = NULL;
  if (ipro_plugin_load(IPRO_CUDA_PLUGIN_FILE, "IPRO_CUDA_PLUGIN", IPRO_CUDA_PLUGIN_ENTRY, &address,
                       &load_error) != IPRO_OK ||
      ipro_plugin_load(IPRO_CUDA_PLUGIN_FILE, "IPRO_CUDA_PLUGIN", IPRO_CUDA_PLUGIN_PLANNING_ENTRY,
                       &planning_address, &load_error) != IPRO_OK) {
    ipro_error_prefix(&load_error, "the CUDA backend (its libraries, the CUDA runtime, cuDNN 9 "
                                   "and cuBLAS, must be on the library path)");
    return;
  }
  /* dlsym hands out an object pointer; the entries are functions (POSIX guarantees the round
   * trip). */
  union {
    void *address;
    ipro_cuda_plugin_create_fn function;
  } entry = {.address = address};
  union {
    void *address;
    ipro_cuda_plugin_create_planning_fn function;
  } planning_entry = {.address = planning_address};
  create = entry.function;
  create_planning = planning_entry.function;
}

ipro_status ipro_backend_create_cuda(ipro_backend **out, ipro_error *err) {
  *out = NULL;
  pthread_once(&load_once, load_plugin);
  if (!create) {
    if (err) *err = load_error;
    return IPRO_ERROR;
  }
  return create(ipro_kernel_compiler_forwarding(), out, err);
}

ipro_status ipro_backend_create_cuda_planning(ipro_backend **out, ipro_error *err) {
  *out = NULL;
  pthread_once(&load_once, load_plugin);
  if (!create_planning) {
    if (err) *err = load_error;
    return IPRO_ERROR;
  }
  return create_planning(out, err);
}
