/* Training-step runs on two backends (step_runs.h). */
#include "step_runs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "tensor_checks.h"

bool ipro_test_step_run_prepare(ipro_test_step_run *run, const char *path, int64_t batch,
                                ipro_backend *backend, ipro_backend *fallback) {
  ipro_error err = {{0}};
  ipro_status status = ipro_graph_load(path, &run->graph, &err);
  if (status == IPRO_OK) status = ipro_graph_normalize(run->graph, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(run->graph, batch, &err);
  if (status == IPRO_OK)
    status = ipro_training_graph_build(run->graph, IPRO_OPTIMIZER_SGD, &run->training, &err);
  if (status == IPRO_OK)
    status = ipro_executor_create(run->graph, backend, fallback, &run->executor, &err);
  CHECK_OK(status, &err);
  return status == IPRO_OK;
}

void ipro_test_step_run_release(ipro_test_step_run *run) {
  ipro_executor_free(run->executor);
  ipro_training_graph_release(&run->training);
  ipro_graph_free(run->graph);
}

double ipro_test_step_run_compare(const ipro_test_step_run *a, const ipro_test_step_run *b, int t,
                                  const char *label) {
  const ipro_tensor *tensor = &a->graph->tensors[t];
  size_t bytes = (size_t)ipro_tensor_bytes(tensor);
  float *got = malloc(bytes ? bytes : 1), *expected = malloc(bytes ? bytes : 1);
  CHECK(got && expected);
  double largest = 0;
  if (got && expected) {
    ipro_error err = {{0}};
    CHECK_OK(ipro_executor_read_tensor(a->executor, t, got, bytes, &err), &err);
    CHECK_OK(ipro_executor_read_tensor(b->executor, t, expected, bytes, &err), &err);
    char full[300];
    snprintf(full, sizeof full, "%s '%s'", label, tensor->name);
    largest =
        ipro_test_compare_scaled(full, "values", got, expected, (int64_t)(bytes / sizeof(float)));
  }
  free(got);
  free(expected);
  return largest;
}

bool ipro_test_step_runs_step(ipro_test_step_run *a, ipro_test_step_run *b, int64_t batch,
                              uint64_t *random_state, const char *label, float losses[2]) {
  const ipro_graph *graph = a->graph;
  size_t image_bytes = (size_t)ipro_tensor_bytes(&graph->tensors[graph->inputs[0]]);
  float *pixels = malloc(image_bytes ? image_bytes : 1);
  int64_t *labels = malloc(sizeof(int64_t) * (size_t)(batch > 0 ? batch : 1));
  CHECK(pixels && labels);
  bool ok = pixels && labels;
  for (size_t k = 0; ok && k < image_bytes / sizeof(float); k++)
    pixels[k] = ipro_test_random_uniform(random_state);
  for (int64_t k = 0; ok && k < batch; k++)
    labels[k] = (int64_t)((ipro_test_random_uniform(random_state) + 1.0f) * 5.0f) % 10;
  const float hyper[IPRO_HYPER_COUNT] = {0.1f, 0.9f, 1e-4f, 1.0f, 0.0f, 0.0f};
  const void *inputs[2] = {pixels, labels};
  losses[0] = losses[1] = NAN;
  void *outputs_a[1] = {&losses[0]}, *outputs_b[1] = {&losses[1]};
  ipro_error err = {{0}};
  ipro_test_step_run *runs[2] = {a, b};
  void **outputs[2] = {outputs_a, outputs_b};
  for (int r = 0; ok && r < 2; r++) {
    ok = ipro_executor_write_tensor(runs[r]->executor, runs[r]->training.hyper, hyper, sizeof hyper,
                                    &err) == IPRO_OK &&
         ipro_executor_run(runs[r]->executor, inputs, outputs[r], &err) == IPRO_OK;
    CHECK_OK(ok ? IPRO_OK : IPRO_ERROR, &err);
  }
  if (ok) {
    char what[200];
    snprintf(what, sizeof what, "%s step", label);
    ipro_test_compare_scaled(what, "loss", &losses[0], &losses[1], 1);
  }
  free(pixels);
  free(labels);
  return ok;
}

int ipro_test_step_runs_compare_gradients(const ipro_test_step_run *a, const ipro_test_step_run *b,
                                          const char *label, bool updates, double *largest,
                                          double *largest_update) {
  char what[200];
  int gradients = 0;
  *largest = 0.0;
  if (largest_update) *largest_update = 0.0;
  for (int p = 0; p < a->training.n_parameters; p++) {
    if (a->training.gradients[p] >= 0) {
      gradients++;
      snprintf(what, sizeof what, "%s step: gradient", label);
      double d = ipro_test_step_run_compare(a, b, a->training.gradients[p], what);
      if (d > *largest) *largest = d;
    }
    if (!updates) continue;
    snprintf(what, sizeof what, "%s step: updated parameter", label);
    double d = ipro_test_step_run_compare(a, b, a->training.parameters[p], what);
    if (largest_update && d > *largest_update) *largest_update = d;
  }
  CHECK_MSG(gradients == a->training.n_parameters, "%s: %d of %d parameters have no gradient",
            label, a->training.n_parameters - gradients, a->training.n_parameters);
  return gradients;
}
