/* The pipeline's state, shared by its three files (pipeline.c: the step loop; pipeline_state.c:
 * gathering state and values on rank 0; replicas.c: averaging the replicas' gradients), and the
 * check that turns an MPI error code into a status naming the call and where it was made. */
#ifndef IPRO_PIPELINE_INTERNAL_H
#define IPRO_PIPELINE_INTERNAL_H

#include <mpi.h>

#include "pipeline.h"

struct ipro_pipeline {
  /* rank and size in `comm`, the ranks of this rank's replica of the pipeline: its module's index
   * and K (the whole job's until ipro_pipeline_arrange) */
  int rank, size;
  int world_rank, world_size;
  int replicas, replica; /* R, and which of them this rank belongs to */
  MPI_Comm comm;         /* this replica's K stages */
  MPI_Comm module_comm;  /* the R ranks training this rank's module (MPI_COMM_NULL when R = 1) */
  /* replicas.c: the tensors averaged before each update (gradients, BatchNorm running
   * statistics) and a buffer of their floats */
  int n_averaged, *averaged;
  size_t averaged_floats;
  float *sums;
  ipro_trainer *trainer;
  size_t image_bytes, labels_bytes;
  size_t in_activation, out_activation; /* the activation received and the one sent */
  /* [0]: incoming, [1]: outgoing; messages are [activation | images | labels] */
  size_t message_bytes[2], image_offset[2];
  uint8_t *in[2], *out[2]; /* double buffers; in[1] and out[1] lie in in[0]'s and out[0]'s block */
  MPI_Request requests[2][2];
  int64_t steps;
  ipro_pipeline_timing timing;
};

/* replicas.c: with R > 1, lists what the module's replicas average and sets the trainer's
 * executor to do so before its optimizer updates. */
ipro_status ipro_pipeline_replicas_attach(ipro_pipeline *pipeline, ipro_error *err);
/* Monotonic seconds. */
double ipro_pipeline_now(void);

ipro_status ipro_pipeline_mpi_check(int code, const char *call, const char *file, int line,
                                    ipro_error *err);
#define IPRO_MPI(call, err) ipro_pipeline_mpi_check((call), #call, __FILE__, __LINE__, (err))

#endif
