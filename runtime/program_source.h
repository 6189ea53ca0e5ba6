/* A compiled program's module programs as the trainer's source (trainer.h): each module read
 * from the program file's encoding (program_module.h) when the trainer builds it, the weights it
 * shares with the network taken from the embedded model (opened once by the caller's
 * open_network, let go after the last module, as the model's own source does), its start values
 * (the heads' drawn weights, the decoder's normalisation: codegen/training_graph.h) set from the
 * run's seed and data as `infopro train` sets them. The modules were lowered for a
 * backend that runs the fused ReLU kernels or not; a backend that cannot run what they hold is
 * refused with one message. */
#ifndef IPRO_PROGRAM_SOURCE_H
#define IPRO_PROGRAM_SOURCE_H

#include "runtime/program_file.h"

typedef struct {
  const ipro_program *program;
  const char *path; /* the embedded model's path (provided in memory), for messages */
  /* the run's heads settings: seed, and the image normalisation of its data */
  ipro_head_options run;
  /* Opens the embedded model's network at the program's batch (normalised and inferred, as the
   * compiler saw it: ir/graph.h's ipro_graph_open), whose weights the modules take: the
   * caller's, so that the runtime reads no ONNX itself. */
  ipro_status (*open_network)(const char *path, int64_t batch, ipro_graph **out, ipro_error *err);
  ipro_graph *network; /* opened at the first module, let go after the last */
} ipro_program_source;

/* A source reading source->program; source must outlive its use, and its network is let go
 * after the last module is built (ipro_program_source_release frees it after a failure). */
ipro_module_source ipro_program_module_source(ipro_program_source *source);

void ipro_program_source_release(ipro_program_source *source);

#endif
