/* One training step of a model file's end-to-end program on two backends, to compare their
 * tensors: the program (graph, training graph, executor) each test_onednn_* file of the backward
 * kernels builds, and the comparison of one tensor of two such runs. */
#ifndef IPRO_TEST_STEP_RUNS_H
#define IPRO_TEST_STEP_RUNS_H

#include <stdbool.h>

#include "codegen/training_graph.h"
#include "runtime/executor.h"

typedef struct {
  ipro_graph *graph;
  ipro_training_graph training;
  ipro_executor *executor;
} ipro_test_step_run;

/* The model at path, at `batch`, as an SGD training program on backend (fallback may be NULL);
 * false (a failed check recorded) when any stage fails. */
bool ipro_test_step_run_prepare(ipro_test_step_run *run, const char *path, int64_t batch,
                                ipro_backend *backend, ipro_backend *fallback);
void ipro_test_step_run_release(ipro_test_step_run *run);
/* Reads float tensor t from both runs (their graphs identical) and compares it
 * (ipro_test_compare_scaled, labelled with label and the tensor's name); returns the largest
 * scaled difference. */
double ipro_test_step_run_compare(const ipro_test_step_run *a, const ipro_test_step_run *b, int t,
                                  const char *label);

#endif
