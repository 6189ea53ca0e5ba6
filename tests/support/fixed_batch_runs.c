/* One training step on a fixed batch (fixed_batch_runs.h). */
#include "fixed_batch_runs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundled_models.h"
#include "check.h"
#include "command.h"

static void model_path(char *buffer, size_t size, const char *name) {
  char relative[256];
  snprintf(relative, sizeof relative, "models/%s.onnx", name);
  ipro_test_path(buffer, size, relative);
}

int ipro_test_carried_tensors(ipro_trainer *trainer) {
  int carried = 0;
  for (int k = 0; k < ipro_trainer_module_count(trainer); k++) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, k);
    ipro_executor *executor = ipro_trainer_module_executor(trainer, k);
    /* float activations: the fused normalisations' ReLU masks (bool) have a code of their own */
    for (int t = 0; t < graph->n_tensors; t++)
      carried += ipro_executor_tensor_layout(executor, t) != 0 &&
                 graph->tensors[t].dtype == IPRO_DTYPE_FLOAT;
  }
  return carried;
}

int ipro_test_carried_handoffs(ipro_trainer *trainer) {
  int carried = 0;
  for (int k = 0; k + 1 < ipro_trainer_module_count(trainer); k++) {
    const ipro_graph *from = ipro_trainer_module_graph(trainer, k);
    const ipro_graph *to = ipro_trainer_module_graph(trainer, k + 1);
    uint8_t written =
        ipro_executor_tensor_layout(ipro_trainer_module_executor(trainer, k), from->outputs[0]);
    uint8_t read =
        ipro_executor_tensor_layout(ipro_trainer_module_executor(trainer, k + 1), to->inputs[0]);
    CHECK_MSG(written == read,
              "module %d hands its output on in layout %d, module %d reads it in layout %d", k + 1,
              written, k + 2, read);
    carried += written != 0 && written == read;
  }
  return carried;
}

static void read_parameters(ipro_trainer *trainer, ipro_test_training_run *run, bool after) {
  ipro_error err = {{0}};
  for (int p = 0; p < run->count; p++) {
    float **values = after ? &run->after[p] : &run->before[p];
    *values = malloc(run->elements[p] * sizeof(float));
    CHECK_OK(
        ipro_trainer_read(trainer, run->names[p], *values, run->elements[p] * sizeof(float), &err),
        &err);
  }
}

ipro_trainer *ipro_test_fixed_batch_trainer(const char *name, const char *const *cuts, int n_cuts,
                                            ipro_test_step_kind kind, uint32_t seed, float **images,
                                            int64_t *labels) {
  *images = NULL;
  if (kind.kernels == IPRO_TEST_PLAIN_LAYOUTS)
    setenv("IPRO_ONEDNN_PLAIN_LAYOUTS", "1", 1);
  else
    unsetenv("IPRO_ONEDNN_PLAIN_LAYOUTS");
  char path[1024];
  model_path(path, sizeof path, name);
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(path, IPRO_TEST_FIXED_BATCH, &network, &err), &err);
  if (!network) return NULL;
  int64_t pixels =
      ipro_tensor_bytes(&network->tensors[network->inputs[0]]) / (int64_t)sizeof(float);
  ipro_trainer_options options = {.batch = IPRO_TEST_FIXED_BATCH,
                                  .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD),
                                  .n_cuts = n_cuts,
                                  .cuts = cuts,
                                  .local = ipro_test_local_settings(network, IPRO_TEST_FIXED_BATCH),
                                  .reference = kind.kernels == IPRO_TEST_REFERENCE_KERNELS};
  options.local.fuse_relu = kind.fuse;
  if (kind.without_handoff_copy) options.local.copy_output = false;
  options.first_module = kind.first_module;
  options.module_count = kind.module_count;
  ipro_graph_free(network);
  ipro_trainer *trainer = NULL;
  CHECK_OK(ipro_trainer_create(path, &options, &trainer, &err), &err);
  *images = trainer ? malloc((size_t)pixels * sizeof(float)) : NULL;
  if (!*images) {
    ipro_trainer_free(trainer);
    return NULL;
  }
  for (int64_t i = 0; i < pixels; i++) {
    seed = seed * 1664525u + 1013904223u;
    (*images)[i] = (float)(seed >> 8) / 16777216.0f * 2 - 1;
  }
  for (int i = 0; i < IPRO_TEST_FIXED_BATCH; i++)
    labels[i] = i % 3;
  return trainer;
}

bool ipro_test_train_fixed_batch(const char *name, const char *const *cuts, int n_cuts,
                                 ipro_test_step_kind kind, ipro_test_training_run *run) {
  memset(run, 0, sizeof *run);
  float *images = NULL;
  int64_t labels[IPRO_TEST_FIXED_BATCH];
  ipro_trainer *trainer =
      ipro_test_fixed_batch_trainer(name, cuts, n_cuts, kind, 7, &images, labels);
  if (!trainer) return unsetenv("IPRO_ONEDNN_PLAIN_LAYOUTS"), false;
  for (int k = 0; k < ipro_trainer_module_count(trainer); k++) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, k);
    for (int t = 0; t < graph->n_tensors && run->count < IPRO_TEST_MAX_PARAMETERS; t++) {
      if (!ipro_tensor_is_trainable(graph, t)) continue;
      run->names[run->count] = strdup(graph->tensors[t].name);
      run->elements[run->count++] = (size_t)(ipro_tensor_bytes(&graph->tensors[t]) / 4);
    }
  }
  run->carried = ipro_test_carried_tensors(trainer);
  run->carried_handoffs = ipro_test_carried_handoffs(trainer);
  read_parameters(trainer, run, false);
  ipro_error err = {{0}};
  CHECK_OK(ipro_trainer_step(trainer, images, labels, 0.05f, &run->loss, &err), &err);
  read_parameters(trainer, run, true);
  free(images);
  ipro_trainer_free(trainer);
  unsetenv("IPRO_ONEDNN_PLAIN_LAYOUTS");
  return true;
}

void ipro_test_training_run_release(ipro_test_training_run *run) {
  for (int p = 0; p < run->count; p++) {
    free(run->names[p]);
    free(run->before[p]);
    free(run->after[p]);
  }
}

double ipro_test_update_distance(const ipro_test_training_run *a, const ipro_test_training_run *b) {
  double difference = 0, norm = 0;
  for (int p = 0; p < a->count && p < b->count; p++)
    for (size_t i = 0; i < b->elements[p]; i++) {
      double da = (double)a->after[p][i] - a->before[p][i];
      double db = (double)b->after[p][i] - b->before[p][i];
      difference += (da - db) * (da - db);
      norm += db * db;
    }
  return norm > 0 ? sqrt(difference / norm) : INFINITY;
}
