/* The data of a module's training program that the runtime reads (codegen/training_graph.h
 * builds it): the optimizer, the loss terms, the parameters and their gradients, the labels,
 * the hyper-parameter vector and the heads' start values; their release and the start values'
 * drawing are in training_bookkeeping.c, apart from the builder, so that a runtime that reads
 * built programs links no autodiff. */
#ifndef IPRO_TRAINING_PROGRAM_H
#define IPRO_TRAINING_PROGRAM_H

#include <stdint.h>

#include "ir/graph.h"

typedef enum { IPRO_OPTIMIZER_SGD, IPRO_OPTIMIZER_ADAMW } ipro_optimizer_kind;

/* Number of floats in the hyper-parameter tensor (codegen/internal_ops.md). */
#define IPRO_HYPER_COUNT 6

typedef enum {
  IPRO_LOSS_CROSS_ENTROPY,       /* softmax cross-entropy of logits against the labels */
  IPRO_LOSS_SUPERVISED_CONTRAST, /* SupCon on features against the labels, temperature 0.07 */
  IPRO_LOSS_BINARY_CROSS_ENTROPY /* BCE of a prediction in (0, 1) against a target tensor */
} ipro_loss_kind;

/* One term of the objective: weight · loss(input[, target]). */
typedef struct {
  ipro_loss_kind kind;
  int input;
  int target; /* BCE only, else -1 */
  float weight;
  float temperature; /* SupCon only */
} ipro_loss_term;

#define IPRO_MAX_LOSS_TERMS 4
/* The most modules a network is cut into: the partitioner's search and the runtime's trainer
 * share it, so it lives with the program format both read. */
#define IPRO_MAX_MODULES 16

/* Values a module's program starts from that belong to its run rather than to its program: the
 * InfoPro heads' initial weights, each tensor filled with uniform draws in ±bound
 * (ipro_draw_uniform) from the module's seed in the order listed, and the reconstruction
 * target's normalisation (the decoder's per-channel mean and std constants; -1 where the module
 * has none). `infopro train` builds them from its run's seed and data; a compiled program, whose
 * modules were lowered at compile time, sets them again at start-up from its own run's
 * (runtime/program_source.h), so both start from the same values. */
typedef struct {
  uint64_t seed_offset; /* the module's seed is the run's heads seed plus this */
  int n_drawn;
  int *drawn;    /* tensor indices */
  float *bounds; /* one per drawn tensor */
  int mean, std; /* float [1, C, 1, 1] constants */
} ipro_start_values;

/* One draw of the heads' initialisation: splitmix64 on *state, mapped to [-bound, bound). */
static inline float ipro_draw_uniform(uint64_t *state, float bound) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  double unit = (double)(z >> 11) / 9007199254740992.0;
  return (float)((2 * unit - 1) * bound);
}

/* Fills the tensors start lists: the drawn ones from seed + start->seed_offset, and the
 * normalisation constants from mean and std (channels values each); an error, changing nothing
 * of the constants, when a listed tensor cannot hold them. */
ipro_status ipro_start_values_apply(ipro_graph *graph, const ipro_start_values *start,
                                    uint64_t seed, const float *mean, const float *std,
                                    int channels, ipro_error *err);
void ipro_start_values_release(ipro_start_values *start);

typedef struct {
  int n_parameters;
  int *parameters; /* tensor indices of the trainable initializers */
  int *gradients;  /* the gradient tensor of each, -1 when the loss does not depend on it */
  int labels;      /* the int64 [batch] graph input */
  int n_losses;
  int losses[IPRO_MAX_LOSS_TERMS]; /* the scalar loss of each term, graph outputs after the kept
                                      ones, in the order of the terms */
  int hyper; /* STATE float[IPRO_HYPER_COUNT], written by the trainer before each step */
  ipro_start_values start; /* a local module's heads; none (mean = std = -1) otherwise */
} ipro_training_graph;

void ipro_training_graph_release(ipro_training_graph *training);

#endif
