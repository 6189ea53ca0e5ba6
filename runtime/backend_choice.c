/* Choosing a backend by device (backend.h): the one place that knows which backends exist, so
 * that the trainer, the partitioner's costing and the CLI create them the same way. */
#include <string.h>

#include "backend.h"

const char *ipro_device_name(ipro_device device) {
  return device == IPRO_DEVICE_CUDA ? "cuda" : "cpu";
}

ipro_status ipro_device_parse(const char *text, ipro_device *out, ipro_error *err) {
  if (text && strcmp(text, "cpu") == 0) {
    *out = IPRO_DEVICE_CPU;
    return IPRO_OK;
  }
  if (text && strcmp(text, "cuda") == 0) {
    *out = IPRO_DEVICE_CUDA;
    return IPRO_OK;
  }
  return ipro_error_set(err, "unknown device '%s' (cpu or cuda)", text ? text : "");
}

ipro_status ipro_backend_create_for(ipro_device device, bool reference, ipro_backend **backend,
                                    ipro_backend **fallback, ipro_error *err) {
  *backend = NULL;
  *fallback = NULL;
  if (device == IPRO_DEVICE_CUDA) {
    if (reference)
      return ipro_error_set(err, "the reference kernels run on the CPU only, not with cuda");
    return ipro_backend_create_cuda(backend, err);
  }
  if (reference) return ipro_backend_create_reference(backend, err);
  if (ipro_backend_create_reference(fallback, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_backend_create_onednn(backend, err) != IPRO_OK) {
    (*fallback)->destroy(*fallback);
    *fallback = NULL;
    return IPRO_ERROR;
  }
  return IPRO_OK;
}

ipro_status ipro_backend_create_for_planning(ipro_device device, bool reference,
                                             ipro_backend **backend, ipro_backend **fallback,
                                             ipro_error *err) {
  if (device != IPRO_DEVICE_CUDA || reference)
    return ipro_backend_create_for(device, reference, backend, fallback, err);
  *fallback = NULL;
  return ipro_backend_create_cuda_planning(backend, err);
}
