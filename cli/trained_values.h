/* Where a run's trained values are read from, in the shapes the evaluator (evaluation.h) and the
 * exporter (frontend/onnx_export.h) call back for: the trainer of this process, or on rank 0 of
 * a pipeline every rank's state gathered into one checkpoint (runtime/mpi/pipeline.h). */
#ifndef IPRO_CLI_TRAINED_VALUES_H
#define IPRO_CLI_TRAINED_VALUES_H

#include <stddef.h>

#include "ir/graph.h"
#include "runtime/checkpoint.h"

/* The evaluator's callbacks (context: an ipro_checkpoint): a tensor's memory, or a copy of it. */
ipro_status ipro_cli_gathered_memory(void *context, const char *name, size_t bytes,
                                     const void **device, ipro_error *err);
ipro_status ipro_cli_read_from_gathered(void *context, const char *name, void *host, size_t bytes,
                                        ipro_error *err);
/* The same of a trainer (context: an ipro_trainer). */
ipro_status ipro_cli_trainer_memory(void *context, const char *name, size_t bytes,
                                    const void **device, ipro_error *err);
ipro_status ipro_cli_read_from_trainer(void *context, const char *name, void *host, size_t bytes,
                                       ipro_error *err);

/* The exporter's callbacks: the trained value of an initializer (IPRO_EXPORT_KEEP for one the
 * run did not train), from a trainer's modules or from a gathered checkpoint; an initializer
 * whose shape changed is an error. */
ipro_status ipro_cli_export_trained(void *context, const char *name, ipro_dtype dtype,
                                    const int64_t *dims, int rank, void *out, size_t bytes,
                                    ipro_error *err);
ipro_status ipro_cli_export_gathered(void *context, const char *name, ipro_dtype dtype,
                                     const int64_t *dims, int rank, void *out, size_t bytes,
                                     ipro_error *err);

#endif
