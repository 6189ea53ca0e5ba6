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

#include "partitioner/infopro_heads.h"
#include "partitioner/split_choice.h"

typedef struct {
  int64_t batch;
  ipro_optimizer_kind optimizer;
  ipro_head_options heads; /* shape, loss, classes, normalisation, seed; λ set per module */
  /* λ1 (reconstruction) and λ2 (auxiliary) at the first local module and at the last one
   * (module K-1), interpolated linearly in between. */
  float lambda_first[2], lambda_last[2];
  int K;
  /* --aux-head auto: the costing chooses each local module's head (module_costing.h), among
   * 1c2f and 0c2f with the paper's decoder and then with the reduced one (only the decoder of
   * `heads` when decoder_fixed). */
  bool choose_heads, decoder_fixed;
  /* The heads chosen for local modules 0..n_module_heads-1, which then replace `heads`' shape
   * and decoder for those modules. */
  ipro_head_choice module_heads[IPRO_MAX_MODULES];
  int n_module_heads;
  /* Fuse each BatchNormalization and each Add with the ReLU after it (codegen/fusion.h). On by
   * default; the trainer, the costing and the calibration turn it off for a backend that cannot
   * run the fused kernels (runs_fused_relu: CUDA, for now). */
  bool fuse_relu;
  /* A module that hands its output on writes it through a copy (Identity) after its backward
   * pass, so that inside the program the cut tensor is an activation like any other, which a
   * backend may carry in its own layout (the copy is then the one reorder to the plain output).
   * On by default; turned off, like fuse_relu, for a backend that carries no layouts
   * (carries_layouts false: CUDA, the reference kernels, oneDNN without AVX-512), where the
   * copy would only cost time. */
  bool copy_output;
} ipro_local_settings;

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
