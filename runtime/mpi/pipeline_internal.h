/* The pipeline's state, shared by its two files (pipeline.c: the step loop; pipeline_state.c:
 * gathering state and values on rank 0), and the check that turns an MPI error code into a
 * status naming the call and where it was made. */
#ifndef IPRO_PIPELINE_INTERNAL_H
#define IPRO_PIPELINE_INTERNAL_H

#include <mpi.h>

#include "pipeline.h"

struct ipro_pipeline {
  int rank, size;
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

ipro_status ipro_pipeline_mpi_check(int code, const char *call, const char *file, int line,
                                    ipro_error *err);
#define IPRO_MPI(call, err) ipro_pipeline_mpi_check((call), #call, __FILE__, __LINE__, (err))

#endif
