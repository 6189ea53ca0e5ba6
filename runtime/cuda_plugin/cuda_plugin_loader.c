/* The CUDA backend as a plugin (runtime/cuda/ is built into libinfopro_cuda.so, cmake/cuda.cmake):
 * a process maps the CUDA runtime, cuDNN and cuBLAS (over a gigabyte of libraries, 0.2 s to load)
 * only when a CUDA device is asked for, as ONNX Runtime loads its CUDA execution provider. Every
 * CPU-side process (the CLI on the CPU, the conformance runners, the tests) links none of them.
 *
 * ipro_backend_create_cuda looks for the plugin in this order: the file IPRO_CUDA_PLUGIN names,
 * next to the running executable, then in the build tree it was built in. A plugin that is there
 * but cannot be loaded (a CUDA library missing from the library path) is one message naming what
 * the dynamic loader could not find. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/backend.h"
#include "runtime/cuda_plugin/cuda_plugin.h"

#ifndef IPRO_CUDA_PLUGIN_BUILD_DIR
#error "cmake/cuda.cmake defines IPRO_CUDA_PLUGIN_BUILD_DIR"
#endif

/* The directory of the running executable, from /proc/self/exe; false when unknown. */
static bool executable_directory(char *out, size_t size) {
  char path[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) return false;
  path[length] = '\0';
  char *slash = strrchr(path, '/');
  if (!slash) return false;
  *slash = '\0';
  return snprintf(out, size, "%s", path) < (int)size;
}

static bool readable(const char *path) { return access(path, R_OK) == 0; }

/* The plugin file to load; false when none is found (where was looked is in `searched`). */
static bool find_plugin(char *path, size_t size, char *searched, size_t searched_size) {
  const char *named = getenv("IPRO_CUDA_PLUGIN");
  if (named && *named) {
    snprintf(path, size, "%s", named);
    snprintf(searched, searched_size, "%s (IPRO_CUDA_PLUGIN)", named);
    return readable(path);
  }
  char directory[PATH_MAX];
  if (executable_directory(directory, sizeof directory)) {
    snprintf(path, size, "%s/" IPRO_CUDA_PLUGIN_FILE, directory);
    if (readable(path)) return true;
  } else {
    directory[0] = '\0';
  }
  snprintf(path, size, "%s/" IPRO_CUDA_PLUGIN_FILE, IPRO_CUDA_PLUGIN_BUILD_DIR);
  if (readable(path)) return true;
  snprintf(searched, searched_size, "%s%s%s", directory, directory[0] ? " and " : "",
           IPRO_CUDA_PLUGIN_BUILD_DIR);
  return false;
}

ipro_status ipro_backend_create_cuda(ipro_backend **out, ipro_error *err) {
  *out = NULL;
  /* Loaded once per process and kept: the CUDA runtime does not support being unloaded. */
  static void *plugin = NULL;
  static ipro_cuda_plugin_create_fn create = NULL;
  if (!create) {
    char path[PATH_MAX + 64], searched[2 * PATH_MAX];
    if (!find_plugin(path, sizeof path, searched, sizeof searched))
      return ipro_error_set(err, "the CUDA plugin %s was not found (looked in %s)",
                            IPRO_CUDA_PLUGIN_FILE, searched);
    plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!plugin)
      return ipro_error_set(err,
                            "the CUDA plugin cannot be loaded: %s (the CUDA runtime, cuDNN 9 "
                            "and cuBLAS must be on the library path)",
                            dlerror());
    create = (ipro_cuda_plugin_create_fn)dlsym(plugin, IPRO_CUDA_PLUGIN_ENTRY);
    if (!create) {
      ipro_error_set(err, "%s has no entry %s: %s", path, IPRO_CUDA_PLUGIN_ENTRY, dlerror());
      dlclose(plugin);
      plugin = NULL;
      return IPRO_ERROR;
    }
  }
  return create(out, err);
}
