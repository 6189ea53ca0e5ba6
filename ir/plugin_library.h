/* Loading one of infopro's plugins: shared libraries, built next to the infopro executable, that
 * carry a heavy dependency which most processes never need (the CUDA backend with the CUDA
 * libraries, the LLVM kernel compiler with LLVM). A process maps them only when it first asks for
 * what they hold, so `infopro --help`, `inspect` or a run on the reference kernels map neither.
 *
 * A plugin is looked for in this order: the file an environment variable names, next to the
 * running executable (/proc/self/exe), then in the build tree it was built in. */
#ifndef IPRO_PLUGIN_LIBRARY_H
#define IPRO_PLUGIN_LIBRARY_H

#include "ir/error.h"

/* dlopens the plugin `file` (a file name such as "libinfopro_cuda.so") and returns the address of
 * its symbol `entry`. The library stays loaded for the life of the process. A plugin that is not
 * found, cannot be loaded (one of its libraries is missing) or lacks the entry is one message
 * naming the file and what the dynamic loader said. */
ipro_status ipro_plugin_load(const char *file, const char *environment_variable, const char *entry,
                             void **address, ipro_error *err);

/* The path of a file built beside the plugins (a plugin, or a program such as the compiled
 * training programs' runner), found in the same order; an error says where it was looked for. */
ipro_status ipro_plugin_find(const char *file, const char *environment_variable, char *path,
                             size_t size, ipro_error *err);

/* The directory of the running executable (/proc/self/exe); "" when unknown. */
void ipro_executable_directory(char *out, size_t size);

#endif
