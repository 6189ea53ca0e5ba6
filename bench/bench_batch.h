/* What the training benchmarks (training_step.c, step_profile.c) share: a model's local-training
 * settings and one fixed batch to train on, so both measure the same step. */
#ifndef IPRO_BENCH_BATCH_H
#define IPRO_BENCH_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "partitioner/module_program.h"

typedef struct {
  ipro_local_settings local; /* K modules, heads sized for the network */
  float *images;             /* [batch, C, H, W], normalised */
  int64_t *labels;           /* [batch] */
} bench_batch;

/* Reads MODEL's input shape and class count at the batch; the heads get the input's channels
 * and classes; the images are fixed pseudo-random pixels in [0, 1) normalised with mean 0.3 and
 * std 0.35 (the heads' normalisation too), the labels cycle over the classes. On failure prints
 * "PROGRAM: message" and returns false. */
bool bench_batch_make(const char *program, const char *model, int64_t batch, int K,
                      bench_batch *out);
void bench_batch_release(bench_batch *batch);

#endif
