/* The module programs of a model file, built by the partitioner (partitioner/module_program.h)
 * as a trainer's source (trainer.h) asks for them: the network loaded, normalised and inferred
 * at the batch, refused unless it has one float32 input and float32 parameters, cut at the
 * options' tensors, each module built with the ReLU fusions and the handed-on copy only where
 * the backend it is built for runs them. `infopro train` trains from it (ipro_trainer_create);
 * `infopro compile` lowers a program's modules through it for the device it compiles for. */
#ifndef IPRO_MODEL_SOURCE_H
#define IPRO_MODEL_SOURCE_H

#include "runtime/trainer.h"

typedef struct ipro_model_source ipro_model_source;

/* *out holds the network (close it, also after a failure); source builds from it. The network
 * is let go once the last module has been built. */
ipro_status ipro_model_source_open(const char *model_path, const ipro_trainer_options *options,
                                   ipro_model_source **out, ipro_module_source *source,
                                   ipro_error *err);
void ipro_model_source_close(ipro_model_source *source);

#endif
