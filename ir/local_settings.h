/* What a module's training program was lowered with, beside its graph: the batch, the optimizer,
 * the InfoPro heads' options and per-module choices, λ, K and the fusion and output-copy switches.
 * The partitioner builds programs from them (partitioner/module_program.h); the runtime's
 * trainer, the program file and the backends read them, so they live with the IR. */
#ifndef IPRO_LOCAL_SETTINGS_H
#define IPRO_LOCAL_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ir/training_program.h"

/* Local module k's heads name their tensors "infopro<k>/..." (k from 1; partitioner's
 * module_program.c): a program's, a checkpoint's or a costing's head tensors are told apart from
 * the network's by that prefix alone. */
#define IPRO_HEAD_PREFIX "infopro"
static inline bool ipro_is_head_tensor_name(const char *name) {
  size_t prefix = sizeof IPRO_HEAD_PREFIX - 1;
  if (strncmp(name, IPRO_HEAD_PREFIX, prefix) != 0) return false;
  size_t digits = strspn(name + prefix, "0123456789");
  return digits > 0 && name[prefix + digits] == '/';
}

typedef enum { IPRO_AUX_LOSS_CONTRAST, IPRO_AUX_LOSS_CROSS_ENTROPY } ipro_aux_loss;
typedef enum { IPRO_DECODER_PAPER, IPRO_DECODER_REDUCED } ipro_decoder_kind;

/* The shape of the heads of one local module: the classifier head's n convs and m fully
 * connected layers, and the decoder's form. */
typedef struct {
  int convs, fcs;
  ipro_decoder_kind decoder;
} ipro_head_choice;

typedef struct {
  int convs, fcs; /* the head's shape: 1c2f by default */
  ipro_decoder_kind decoder;
  ipro_aux_loss aux_loss;
  int classes;                             /* for cross-entropy heads */
  float reconstruction_weight, aux_weight; /* λ1, λ2 of this module */
  int image_channels;
  float mean[4], std[4]; /* the dataset normalisation of the image, per channel */
  uint64_t seed;
  /* The drawn weights get their sizes and a place among the start values but no values and no
   * memory: for costing, which plans a module's program and never runs it (a cut at a pooled
   * feature vector of a 224×224 network has a decoder of 512 × 150,528 weights, 308 MB that the
   * split search drew and copied for every such candidate). Set from ipro_local_settings'
   * plan_only. */
  bool undrawn;
  /* The cut is a feature map laid out [N, H, W, C] (ipro_heads_cut_is_channels_last): the heads
   * read it transposed to [N, C, H, W]. Set per module. */
  bool channels_last;
} ipro_head_options;

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
  /* Programs built to be planned, never run (the costing's): the heads' weights get their sizes
   * but no values (ipro_head_options' undrawn) and the module's own weights are copied from the
   * network as sizes alone (partitioner/module_graph.h). Off for every program that runs. */
  bool plan_only;
} ipro_local_settings;

#endif
