/* Training-step runs on two backends (step_runs.h). */
#include "step_runs.h"

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
