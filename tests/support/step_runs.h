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

/* One SGD step (learning rate 0.1, momentum 0.9, weight decay 1e-4) of both runs on the same
 * batch of `batch` images of pixels uniform in [-1, 1) and labels over 10 classes, drawn from
 * *random_state; their losses compared (labelled "LABEL step") and written into losses. false
 * (a failed check recorded) when a run failed. */
bool ipro_test_step_runs_step(ipro_test_step_run *a, ipro_test_step_run *b, int64_t batch,
                              uint64_t *random_state, const char *label, float losses[2]);
/* After ipro_test_step_runs_step: every parameter's gradient of a compared with b's ("LABEL
 * step: gradient 'NAME'"), the largest scaled difference into *largest; and, when updates is
 * set, every updated parameter too (into largest_update). Checks that every parameter has a
 * gradient; returns how many do. */
int ipro_test_step_runs_compare_gradients(const ipro_test_step_run *a, const ipro_test_step_run *b,
                                          const char *label, bool updates, double *largest,
                                          double *largest_update);

#endif
