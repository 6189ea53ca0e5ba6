/* Finding and loading a plugin (plugin_library.h). */
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/plugin_library.h"

/* The build folder the plugins were built into (CMakeLists.txt defines it for infopro_core); a
 * program compiled from the sources alone, such as a fuzz target, looks only beside itself. */
#ifndef IPRO_PLUGIN_BUILD_DIR
#define IPRO_PLUGIN_BUILD_DIR ""
#endif

void ipro_executable_directory(char *out, size_t size) {
  char path[PATH_MAX];
  out[0] = '\0';
  ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) return;
  path[length] = '\0';
  char *slash = strrchr(path, '/');
  if (!slash) return;
  *slash = '\0';
  if (snprintf(out, size, "%s", path) >= (int)size) out[0] = '\0';
}

ipro_status ipro_plugin_find(const char *file, const char *environment_variable, char *path,
                             size_t size, ipro_error *err) {
  const char *named = getenv(environment_variable);
  if (named && *named) {
    snprintf(path, size, "%s", named);
    if (access(path, R_OK) == 0) return IPRO_OK;
    return ipro_error_set(err, "the plugin %s named by %s cannot be read", named,
                          environment_variable);
  }
  char directory[PATH_MAX];
  ipro_executable_directory(directory, sizeof directory);
  if (directory[0]) {
    snprintf(path, size, "%s/%s", directory, file);
    if (access(path, R_OK) == 0) return IPRO_OK;
  }
  if (IPRO_PLUGIN_BUILD_DIR[0]) {
    snprintf(path, size, "%s/%s", IPRO_PLUGIN_BUILD_DIR, file);
    if (access(path, R_OK) == 0) return IPRO_OK;
  }
  return ipro_error_set(err, "the plugin %s was not found (looked in %s%s%s; %s names another)",
                        file, directory, directory[0] ? " and " : "", IPRO_PLUGIN_BUILD_DIR,
                        environment_variable);
}

ipro_status ipro_plugin_load(const char *file, const char *environment_variable, const char *entry,
                             void **address, ipro_error *err) {
  *address = NULL;
  char path[PATH_MAX + 256];
  if (ipro_plugin_find(file, environment_variable, path, sizeof path, err) != IPRO_OK)
    return IPRO_ERROR;
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) return ipro_error_set(err, "the plugin %s cannot be loaded: %s", path, dlerror());
  *address = dlsym(library, entry);
  if (!*address) {
    ipro_error_set(err, "the plugin %s has no entry %s", path, entry);
    dlclose(library);
    return IPRO_ERROR;
  }
  return IPRO_OK;
}
