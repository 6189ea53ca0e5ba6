/* The pipeline's handoff when the modules run on a GPU (`--device cuda`): the trainer reads and
 * writes its activations in device memory, so each stage keeps a pair of device buffers per
 * direction (double buffered like the messages) and the activation crosses between ranks in one
 * of two ways:
 *   - CUDA-aware MPI (MPIX_Query_cuda_support() says so at run time, Open MPI's extension):
 *     the activation travels as its own message straight from and into the device buffers
 *     (tag 2), device to device; the host message carries only the images and labels;
 *   - otherwise staged: the host message carries it, in page-locked memory (the backend's
 *     allocate_pinned: cudaMallocHost), copied from the device after the step and to it before.
 * On the CPU (a host-memory backend) none of this is used: the trainer works in the message
 * buffers themselves (pipeline.c). Written to compile everywhere; it runs only where the CUDA
 * plugin has a device. */
#include <stdlib.h>
#include <string.h>

#include "pipeline_internal.h"

#if defined(OPEN_MPI) && OPEN_MPI
#include <mpi-ext.h>
#endif

enum { ACTIVATION_TAG = 2 };

/* Whether the MPI library moves device memory itself. */
static bool cuda_aware(void) {
#if defined(OMPI_HAVE_MPI_EXT_CUDA) && OMPI_HAVE_MPI_EXT_CUDA
  return MPIX_Query_cuda_support() == 1;
#else
  return false;
#endif
}

ipro_status ipro_pipeline_device_attach(ipro_pipeline *p, ipro_error *err) {
  ipro_backend *backend = ipro_trainer_backend(p->trainer);
  for (int d = 0; d < 2; d++)
    p->device_requests[d][0] = p->device_requests[d][1] = MPI_REQUEST_NULL;
  if (backend->host_memory) return IPRO_OK;
  p->device = backend;
  p->cuda_aware = cuda_aware();
  size_t bytes[2] = {p->in_activation, p->out_activation};
  for (int d = 0; d < 2; d++)
    for (int slot = 0; slot < 2 && bytes[d]; slot++)
      if (backend->allocate(backend, bytes[d], (void **)&p->device_buffers[d][slot], err) !=
          IPRO_OK)
        return ipro_error_prefix(err, "rank %d's device handoff", p->world_rank);
  return IPRO_OK;
}

size_t ipro_pipeline_carried_activation(const ipro_pipeline *p, int direction) {
  if (p->device && p->cuda_aware) return 0; /* sent on its own, from the device */
  return direction == 0 ? p->in_activation : p->out_activation;
}

ipro_status ipro_pipeline_host_block(ipro_pipeline *p, size_t bytes, uint8_t **out,
                                     ipro_error *err) {
  void *block = NULL;
  if (p->device && p->device->allocate_pinned) {
    if (p->device->allocate_pinned(p->device, bytes, &block, err) != IPRO_OK) return IPRO_ERROR;
  } else if (posix_memalign(&block, 64, bytes) != 0) {
    return ipro_error_set(err, "out of memory for the pipeline's message buffers (%zu bytes)",
                          bytes);
  }
  memset(block, 0, bytes);
  *out = block;
  return IPRO_OK;
}

void ipro_pipeline_host_free(ipro_pipeline *p, uint8_t *block) {
  if (!block) return;
  if (p->device && p->device->allocate_pinned)
    p->device->release_pinned(p->device, block);
  else
    free(block);
}

void *ipro_pipeline_handoff(ipro_pipeline *p, int direction, int slot) {
  if (p->device) return p->device_buffers[direction][slot];
  return direction == 0 ? p->in[slot] : p->out[slot];
}

ipro_status ipro_pipeline_device_receive(ipro_pipeline *p, int slot, ipro_error *err) {
  if (!p->device || !p->cuda_aware) return IPRO_OK;
  return IPRO_MPI(MPI_Irecv(p->device_buffers[0][slot], (int)p->in_activation, MPI_BYTE,
                            p->rank - 1, ACTIVATION_TAG, p->comm, &p->device_requests[0][slot]),
                  err);
}

ipro_status ipro_pipeline_device_arrived(ipro_pipeline *p, int slot, ipro_error *err) {
  if (!p->device) return IPRO_OK;
  if (p->cuda_aware) return ipro_pipeline_wait(p, &p->device_requests[0][slot], err);
  return p->device->copy_to_device(p->device, p->device_buffers[0][slot], p->in[slot],
                                   p->in_activation, err);
}

ipro_status ipro_pipeline_device_sent(ipro_pipeline *p, int slot, ipro_error *err) {
  if (!p->device || !p->cuda_aware) return IPRO_OK;
  return ipro_pipeline_wait(p, &p->device_requests[1][slot], err);
}

ipro_status ipro_pipeline_device_send(ipro_pipeline *p, int slot, ipro_error *err) {
  if (!p->device) return IPRO_OK;
  if (!p->cuda_aware)
    return p->device->copy_to_host(p->device, p->out[slot], p->device_buffers[1][slot],
                                   p->out_activation, err);
  return IPRO_MPI(MPI_Isend(p->device_buffers[1][slot], (int)p->out_activation, MPI_BYTE,
                            p->rank + 1, ACTIVATION_TAG, p->comm, &p->device_requests[1][slot]),
                  err);
}

void ipro_pipeline_device_free(ipro_pipeline *p) {
  if (!p->device) return;
  size_t bytes[2] = {p->in_activation, p->out_activation};
  for (int d = 0; d < 2; d++)
    for (int slot = 0; slot < 2; slot++)
      p->device->release(p->device, p->device_buffers[d][slot], bytes[d]);
}
