/* The training program of one module of a plan: the module's subgraph (module_graph.h), for every
 * module but the last the InfoPro heads and their weighted local losses (infopro_heads.h), for the
 * last the network's own cross-entropy, then autodiff and the optimizer (codegen/training_graph.h).
 * The same function serves the partitioner's memory costs and the runtime, so what is planned is
 * what runs.
 *
 * Graph inputs of a module's program, in order: its input activation (the image for the first
 * module), the image again for a later module whose decoder needs it, then the labels. Outputs:
 * the activation it hands on (all but the last module), then its losses. */
#ifndef IPRO_MODULE_PROGRAM_H
#define IPRO_MODULE_PROGRAM_H

#include "ir/local_settings.h"
#include "partitioner/infopro_heads.h"
#include "partitioner/split_choice.h"

/* The defaults: head 1c2f chosen automatically (which is 1c2f with the paper's decoder until a
 * limit asks for less), contrastive loss, λ from (5, 1) to (0, 1) (see the README). */
void ipro_local_settings_defaults(ipro_local_settings *settings);

/* module: 0-based index among settings->K; first_cut/last_cut as in module_graph.h. The network
 * must be normalised and inferred at settings->batch. */
ipro_status ipro_module_program_build(const ipro_graph *network, int first_cut, int last_cut,
                                      int module, const ipro_local_settings *settings,
                                      ipro_graph **graph, ipro_training_graph *training,
                                      ipro_error *err);

/* λ1, λ2 of local module `module` (0-based, < K-1). */
void ipro_local_lambdas(const ipro_local_settings *settings, int module, float *reconstruction,
                        float *aux);

#endif
