/* A training graph's bookkeeping (training_graph.h): its release and its start values, apart from
 * the builder, so that a runtime that reads built programs links no autodiff. */
#include <stdlib.h>
#include <string.h>

#include "ir/training_program.h"

static ipro_status fill_constant(ipro_graph *graph, int t, const float *values, int channels,
                                 ipro_error *err) {
  ipro_tensor *tensor = &graph->tensors[t];
  size_t bytes = sizeof(float) * (size_t)channels;
  if (tensor->dtype != IPRO_DTYPE_FLOAT || !tensor->data || tensor->data_bytes != bytes)
    return ipro_error_set(err, "'%s' does not hold %d channels' normalisation", tensor->name,
                          channels);
  memcpy(tensor->data, values, bytes);
  return IPRO_OK;
}

ipro_status ipro_start_values_apply(ipro_graph *graph, const ipro_start_values *start,
                                    uint64_t seed, const float *mean, const float *std,
                                    int channels, ipro_error *err) {
  for (int i = 0; i < start->n_drawn; i++) {
    const ipro_tensor *tensor = &graph->tensors[start->drawn[i]];
    if (tensor->dtype != IPRO_DTYPE_FLOAT || !tensor->data)
      return ipro_error_set(err, "'%s' is listed as drawn but holds no float weights",
                            tensor->name);
  }
  uint64_t state = seed + start->seed_offset;
  for (int i = 0; i < start->n_drawn; i++) {
    ipro_tensor *tensor = &graph->tensors[start->drawn[i]];
    float *values = tensor->data;
    size_t count = tensor->data_bytes / sizeof(float);
    for (size_t v = 0; v < count; v++)
      values[v] = ipro_draw_uniform(&state, start->bounds[i]);
  }
  if (start->mean >= 0 && fill_constant(graph, start->mean, mean, channels, err) != IPRO_OK)
    return IPRO_ERROR;
  if (start->std >= 0 && fill_constant(graph, start->std, std, channels, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

void ipro_start_values_release(ipro_start_values *start) {
  free(start->drawn);
  free(start->bounds);
  start->drawn = NULL;
  start->bounds = NULL;
  start->n_drawn = 0;
}

void ipro_training_graph_release(ipro_training_graph *training) {
  free(training->parameters);
  free(training->gradients);
  training->parameters = NULL;
  training->gradients = NULL;
  ipro_start_values_release(&training->start);
}
