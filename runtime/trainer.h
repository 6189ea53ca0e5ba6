/* One training step of a network, compiled once and run for every batch: the training graph of
 * codegen/training_graph.h on an executor (oneDNN with reference fallback, or the reference
 * kernels alone). The trainer owns its copy of the graph, so the trained values can be read back
 * by tensor name (checkpoints, export into the ONNX file). */
#ifndef IPRO_TRAINER_H
#define IPRO_TRAINER_H

#include <stdbool.h>

#include "codegen/training_graph.h"
#include "runtime/executor.h"

typedef struct {
  ipro_optimizer_kind kind;
  float momentum, weight_decay; /* SGD: PyTorch semantics, no dampening */
  bool nesterov;
  float beta1, beta2, epsilon; /* AdamW */
} ipro_optimizer_settings;

/* The paper's recipe: SGD, momentum 0.9, Nesterov, weight decay 1e-4. */
ipro_optimizer_settings ipro_optimizer_defaults(ipro_optimizer_kind kind);

typedef struct ipro_trainer ipro_trainer;

typedef struct {
  int64_t batch;
  ipro_optimizer_settings optimizer;
  bool reference; /* run the reference kernels only */
} ipro_trainer_options;

ipro_status ipro_trainer_create(const char *model_path, const ipro_trainer_options *options,
                                ipro_trainer **out, ipro_error *err);
/* One step on images [batch, C, H, W] (normalised float) and labels [batch]; *loss is the mean
 * cross-entropy of the batch before the update. */
ipro_status ipro_trainer_step(ipro_trainer *trainer, const float *images, const int64_t *labels,
                              float learning_rate, float *loss, ipro_error *err);
/* Steps already taken, for resuming from a checkpoint: AdamW's bias correction counts from it,
 * and the executor's step (Dropout masks) is set to it. */
void ipro_trainer_set_steps(ipro_trainer *trainer, uint64_t steps);
uint64_t ipro_trainer_steps(const ipro_trainer *trainer);
/* The training graph (tensor names as in the model file) and its bookkeeping. */
const ipro_graph *ipro_trainer_graph(const ipro_trainer *trainer);
const ipro_training_graph *ipro_trainer_training(const ipro_trainer *trainer);
ipro_executor *ipro_trainer_executor(ipro_trainer *trainer);
/* Bytes the backend allocated for this trainer (parameters, state, inputs, arena). */
size_t ipro_trainer_allocated_bytes(const ipro_trainer *trainer);
/* Reads a tensor living outside the arena (parameter, running statistic, gradient, moment) by
 * name into host memory of its size. */
ipro_status ipro_trainer_read(ipro_trainer *trainer, const char *name, void *host, size_t bytes,
                              ipro_error *err);
ipro_status ipro_trainer_write(ipro_trainer *trainer, const char *name, const void *host,
                               size_t bytes, ipro_error *err);
void ipro_trainer_free(ipro_trainer *trainer);

#endif
