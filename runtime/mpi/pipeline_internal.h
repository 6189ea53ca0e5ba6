/* The pipeline's state, shared by its three files (pipeline.c: the step loop; pipeline_state.c:
 * gathering state and values on rank 0; replicas.c: averaging the replicas' gradients), and the
 * check that turns an MPI error code into a status naming the call and where it was made. */
#ifndef IPRO_PIPELINE_INTERNAL_H
#define IPRO_PIPELINE_INTERNAL_H

#include <mpi.h>

#include "pipeline.h"

/* replicas.c: what one module of a stage averages over the stage's replicas before its update
 * (gradients, BatchNorm running statistics): the executor's pause is given this as context. */
typedef struct {
  struct ipro_pipeline *pipeline;
  int module; /* in the stage's trainer (0-based) */
  int n_tensors, *tensors;
  size_t floats;
} ipro_pipeline_averaged;

struct ipro_pipeline {
  /* rank and size in `comm`, the ranks of this rank's replica of the pipeline: its stage's index
   * and S (the whole job's until ipro_pipeline_arrange) */
  int rank, size;
  int world_rank, world_size;
  int replicas, replica; /* R, and which of them this rank belongs to */
  int first_module;      /* the plan's index (0-based) of this stage's first module */
  MPI_Comm comm;         /* this replica's S stages */
  MPI_Comm module_comm;  /* the R ranks training this rank's stage (MPI_COMM_NULL when R = 1) */
  /* replicas.c: per module of the stage, what it averages; one buffer of floats for the largest */
  int n_averaged;
  ipro_pipeline_averaged *averaged;
  size_t sums_floats;
  float *sums;
  ipro_trainer *trainer;
  size_t image_bytes, labels_bytes;
  size_t in_activation, out_activation; /* the activation received and the one sent */
  /* [0]: incoming, [1]: outgoing; messages are [activation | images | labels] */
  size_t message_bytes[2], image_offset[2];
  uint8_t *in[2], *out[2]; /* double buffers; in[1] and out[1] lie in in[0]'s and out[0]'s block */
  MPI_Request requests[2][2];
  /* device_handoff.c, with a device backend (NULL on the CPU): the activations' device buffers
   * [direction][slot], and with CUDA-aware MPI their own messages' requests */
  ipro_backend *device;
  bool cuda_aware;
  uint8_t *device_buffers[2][2];
  MPI_Request device_requests[2][2];
  int64_t steps;
  /* the step that failed failed in the caller's check of it (feed->after_step), not in the
   * pipeline: its message is the caller's own, and the stage's replicas meet to say it once */
  bool failed_after_step;
  ipro_pipeline_timing timing;
};

/* replicas.c: with R > 1, lists what the module's replicas average and sets the trainer's
 * executor to do so before its optimizer updates. */
ipro_status ipro_pipeline_replicas_attach(ipro_pipeline *pipeline, ipro_error *err);
/* Monotonic seconds. */
double ipro_pipeline_now(void);
/* MPI_Wait, its time counted as waiting for messages. */
ipro_status ipro_pipeline_wait(ipro_pipeline *pipeline, MPI_Request *request, ipro_error *err);

/* device_handoff.c: a GPU stage's handoff (nothing on the CPU). attach: the device buffers, and
 * whether MPI is CUDA-aware; carried_activation: the activation bytes the host message of a
 * direction (0 in, 1 out) carries; host_block/host_free: a message buffer block (page-locked for
 * a device); handoff: where the trainer reads (0) or writes (1) the activation of a slot;
 * receive/arrived: post and complete the activation's arrival; sent/send: wait for the slot's
 * previous device send and send (or stage) this one; free: the device buffers. */
ipro_status ipro_pipeline_device_attach(ipro_pipeline *pipeline, ipro_error *err);
size_t ipro_pipeline_carried_activation(const ipro_pipeline *pipeline, int direction);
ipro_status ipro_pipeline_host_block(ipro_pipeline *pipeline, size_t bytes, uint8_t **out,
                                     ipro_error *err);
void ipro_pipeline_host_free(ipro_pipeline *pipeline, uint8_t *block);
void *ipro_pipeline_handoff(ipro_pipeline *pipeline, int direction, int slot);
ipro_status ipro_pipeline_device_receive(ipro_pipeline *pipeline, int slot, ipro_error *err);
ipro_status ipro_pipeline_device_arrived(ipro_pipeline *pipeline, int slot, ipro_error *err);
ipro_status ipro_pipeline_device_sent(ipro_pipeline *pipeline, int slot, ipro_error *err);
ipro_status ipro_pipeline_device_send(ipro_pipeline *pipeline, int slot, ipro_error *err);
void ipro_pipeline_device_free(ipro_pipeline *pipeline);

ipro_status ipro_pipeline_mpi_check(int code, const char *call, const char *file, int line,
                                    ipro_error *err);
#define IPRO_MPI(call, err) ipro_pipeline_mpi_check((call), #call, __FILE__, __LINE__, (err))

#endif
