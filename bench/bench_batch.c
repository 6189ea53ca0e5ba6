/* The shared benchmark batch of bench_batch.h. */
#include "bench_batch.h"

#include <stdio.h>
#include <stdlib.h>

bool bench_batch_make(const char *program, const char *model, int64_t batch, int K,
                      bench_batch *out) {
  *out = (bench_batch){0};
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  if (ipro_graph_open(model, batch, &network, &err) != IPRO_OK) {
    fprintf(stderr, "%s: %s\n", program, err.message);
    return false;
  }
  const ipro_shape image_shape = network->tensors[network->inputs[0]].shape;
  int classes = (int)network->tensors[network->outputs[0]].shape.dims[1];
  ipro_graph_free(network);

  ipro_local_settings_defaults(&out->local);
  out->local.batch = batch;
  out->local.K = K;
  out->local.heads.image_channels = (int)image_shape.dims[1];
  for (int c = 0; c < out->local.heads.image_channels && c < 4; c++)
    out->local.heads.mean[c] = 0.3f, out->local.heads.std[c] = 0.35f;
  out->local.heads.classes = classes;
  out->local.heads.seed = 1;

  int64_t pixels = batch * image_shape.dims[1] * image_shape.dims[2] * image_shape.dims[3];
  out->images = malloc((size_t)pixels * sizeof *out->images);
  out->labels = malloc((size_t)batch * sizeof *out->labels);
  if (!out->images || !out->labels) {
    fprintf(stderr, "%s: out of memory\n", program);
    bench_batch_release(out);
    return false;
  }
  uint64_t state = 12345;
  for (int64_t i = 0; i < pixels; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    out->images[i] = ((float)(state >> 40) / 16777216.0f - 0.3f) / 0.35f;
  }
  for (int64_t i = 0; i < batch; i++)
    out->labels[i] = i % classes;
  return true;
}

void bench_batch_release(bench_batch *batch) {
  free(batch->images);
  free(batch->labels);
  batch->images = NULL, batch->labels = NULL;
}
