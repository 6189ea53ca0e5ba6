/* Compiled instead of the plugin loader (cuda_plugin_loader.c) when the CUDA toolkit was not found
 * at build time (cmake/cuda.cmake): the CUDA backend then exists only to say why it cannot be
 * created. */
#include "runtime/backend.h"

ipro_status ipro_backend_create_cuda(ipro_backend **out, ipro_error *err) {
  *out = NULL;
  return ipro_error_set(err, "infopro was built without CUDA (the CUDA toolkit was not found when "
                             "it was configured)");
}

ipro_status ipro_backend_create_cuda_planning(ipro_backend **out, ipro_error *err) {
  return ipro_backend_create_cuda(out, err);
}
