/* ipro.LayerNormGrad on the oneDNN backend against the reference kernel, the oracle.
 *
 * Hand-built nodes: dY, X, scale → dX, dScale, dBias on seeded random data (uniform in [-1, 1),
 * X shifted by 2 so that no row's mean is near 0 and a kernel that left the mean out would
 * fail), over the last dimension of a [N, T, D] tensor (ONNX's axis -1, which shape inference
 * turns into 2 before the gradient rule copies it) and over the [C, H, W] of an [N, C, H, W]
 * tensor (axis 1), each with all three outputs, without dBias (the backward then leaves the shift
 * out) and with dX alone (dScale computed into the workspace and dropped). The oneDNN kernel
 * writes into NaN-filled buffers, so an element it forgets fails.
 *
 * Tolerance: every element within atol 1e-5 and rtol 1e-4 of the tensor's scale (its largest
 * reference magnitude, at least 1), as for the other gradients (test_onednn_backward.c). The
 * reference runs in double and oneDNN in float, so the two differ by float rounding in sums: of
 * D terms per row for dX, of up to 2,688 rows (the first case) for dScale and dBias. Rounding
 * errors of random sign grow as the square root of the count, about sqrt(2688) * 6e-8 = 3e-6 of
 * the terms' size; measured, the largest difference is 1.3e-6 of the tensor's scale (dScale, first
 * case), 8 times within the tolerance, while a wrong factor (a dropped scale, statistics of the
 * wrong elements) is off by the result's own size.
 *
 * The bundled mixer (models/mixer_dynamo_fmnist.onnx, two LayerNormalizations: over the 16
 * channels of [N, 49, 16] tokens and over [N, 16]): both LayerNormGrad nodes of its training
 * program must run on oneDNN, and one SGD step with oneDNN (the reference as fallback) must give
 * the reference-only step's loss and every parameter's gradient within the same tolerance (each
 * gradient upstream of a normalisation flows through its dX). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "codegen/training_graph.h"
#include "frontend/op_table.h"
#include "runtime/backend.h"
#include "runtime/executor.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/check.h"
#include "tests/support/step_runs.h"
#include "tests/support/tensor_checks.h"

static uint64_t random_state = 0x9e3779b97f4a7c15u;

static float random_uniform(void) { return ipro_test_random_uniform(&random_state); }

/* ---- hand-built nodes ---- */

typedef struct {
  const char *label;
  int rank;
  int64_t x[4];
  int64_t axis;
  int scale_rank; /* the normalised dimensions' shape, with leading 1s where above their count */
  float epsilon;
} layer_norm_case;

/* Fills input i of node n with its case's values: X shifted off zero, dY and the scale
 * uniform. */
static float *random_input(const ipro_graph *graph, const ipro_node *n, int i) {
  int64_t count = ipro_shape_elements(&ipro_node_input(graph, n, i)->shape);
  float *values = malloc((size_t)count * sizeof *values);
  hand_require(values != NULL);
  for (int64_t k = 0; k < count; k++)
    values[k] = random_uniform() + (i == 1 ? 2.0f : 0.0f);
  return values;
}

/* outputs: "dX,dScale,dBias" or with some left empty. */
static void run_case(ipro_backend *onednn, const layer_norm_case *k, const char *outputs) {
  char label[200];
  snprintf(label, sizeof label, "%s, outputs %s", k->label, outputs);
  ipro_graph *graph = hand_graph(19);
  int normalised = k->rank - (int)k->axis;
  int64_t scale[4];
  for (int d = 0; d < k->scale_rank; d++) {
    int from_end = k->scale_rank - d;
    scale[d] = from_end <= normalised ? k->x[k->rank - from_end] : 1;
  }
  hand_input(graph, "dY", k->rank, k->x);
  hand_input(graph, "X", k->rank, k->x);
  hand_input(graph, "scale", k->scale_rank, scale);
  ipro_node *n = hand_node(graph, "node", "ipro.LayerNormGrad", "dY,X,scale", outputs);
  n->op = IPRO_OP_LAYER_NORM_GRAD; /* the loader never resolves internal ops' names */
  hand_require(ipro_node_set_int(n, "axis", k->axis) == IPRO_OK &&
               ipro_node_set_float(n, "epsilon", k->epsilon) == IPRO_OK);
  for (int o = 0; o < n->n_outputs; o++)
    if (n->outputs[o] >= 0) hand_output(graph, ipro_node_output(graph, n, o)->name);
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_infer_shapes(graph, 0, &err), &err);
  n = &graph->nodes[0];
  bool supported = ipro_test_expect_support(onednn, graph, n, label, true);

  void *inputs[3], *expected[3] = {NULL}, *got[3] = {NULL};
  for (int i = 0; i < 3; i++)
    inputs[i] = random_input(graph, n, i);
  for (int o = 0; o < n->n_outputs; o++) {
    const ipro_tensor *t = ipro_node_output(graph, n, o);
    if (!t) continue;
    int64_t count = ipro_shape_elements(&t->shape);
    expected[o] = calloc((size_t)count, sizeof(float));
    got[o] = malloc((size_t)count * sizeof(float));
    hand_require(expected[o] && got[o]);
    for (int64_t e = 0; e < count; e++)
      ((float *)got[o])[e] = NAN;
  }
  ipro_kernel_context context = {.seed = 0, .step = 0};
  CHECK_OK(ipro_reference_forward_table()[n->op](graph, n, inputs, expected, &context, &err), &err);
  ipro_kernel *kernel = NULL;
  if (supported) CHECK_OK(onednn->prepare_forward(onednn, graph, n, &kernel, &err), &err);
  if (kernel) {
    /* the statistics of each row, at least, live in the workspace the plan holds for it */
    int64_t rows = ipro_shape_elements(&ipro_node_input(graph, n, 1)->shape) /
                   ipro_shape_elements(&ipro_node_input(graph, n, 2)->shape);
    CHECK_MSG(kernel->workspace_bytes >= (size_t)rows * 2 * sizeof(float),
              "%s: workspace of %zu bytes for %lld rows", label, kernel->workspace_bytes,
              (long long)rows);
    ipro_test_run_kernel(onednn, kernel, inputs, got, false);
    kernel->destroy(kernel);
    static const char *const names[3] = {"dX", "dScale", "dBias"};
    for (int o = 0; o < n->n_outputs; o++) {
      const ipro_tensor *t = ipro_node_output(graph, n, o);
      if (!t) continue;
      double largest = ipro_test_compare_scaled(label, names[o], got[o], expected[o],
                                                ipro_shape_elements(&t->shape));
      printf("%s: %s largest difference / scale %.2g\n", label, names[o], largest);
    }
  }
  for (int i = 0; i < 3; i++)
    free(inputs[i]), free(expected[i]), free(got[i]);
  ipro_graph_free(graph);
}

static void hand_built_cases(ipro_backend *onednn) {
  static const layer_norm_case cases[] = {
      {"[N, T, D] over D (axis -1)", 3, {32, 84, 48}, 2, 1, 1e-5f},
      {"[N, T, D] over D, scale [1, D]", 3, {3, 5, 16}, 2, 2, 1e-5f},
      {"[N, C, H, W] over C, H, W (axis 1)", 4, {6, 5, 7, 3}, 1, 3, 1e-3f},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    run_case(onednn, &cases[c], "dX,dScale,dBias");
    run_case(onednn, &cases[c], "dX,dScale,");
    run_case(onednn, &cases[c], "dX,,");
  }
}

/* ---- one training step of the bundled mixer ---- */

#define MIXER_BATCH 4

static void mixer_step(ipro_backend *onednn, ipro_backend *reference) {
  char path[1024];
  ipro_test_path(path, sizeof path, "models/mixer_dynamo_fmnist.onnx");
  ipro_test_step_run on = {0}, alone = {0};
  if (!ipro_test_step_run_prepare(&on, path, MIXER_BATCH, onednn, reference) ||
      !ipro_test_step_run_prepare(&alone, path, MIXER_BATCH, reference, NULL)) {
    ipro_test_step_run_release(&on);
    ipro_test_step_run_release(&alone);
    return;
  }
  const ipro_graph *graph = on.graph;
  int grads = 0, grads_on_onednn = 0;
  for (int n = 0; n < graph->n_nodes; n++)
    if (graph->nodes[n].op == IPRO_OP_LAYER_NORM_GRAD) {
      grads++;
      grads_on_onednn +=
          ipro_test_expect_support(onednn, graph, &graph->nodes[n], graph->nodes[n].name, true);
    }
  printf("mixer training step (batch %d): %d of %d LayerNormGrad nodes on oneDNN\n", MIXER_BATCH,
         grads_on_onednn, grads);
  CHECK_EQ_INT(grads, 2);

  float loss[2];
  double largest = 0.0;
  if (ipro_test_step_runs_step(&on, &alone, MIXER_BATCH, &random_state, "mixer", loss)) {
    int gradients =
        ipro_test_step_runs_compare_gradients(&on, &alone, "mixer", false, &largest, NULL);
    printf("  loss %.6f vs %.6f; %d gradients, largest difference / tensor scale %.2g\n",
           (double)loss[0], (double)loss[1], gradients, largest);
  }
  ipro_test_step_run_release(&on);
  ipro_test_step_run_release(&alone);
}

int main(void) {
  ipro_backend *onednn = NULL, *reference = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  if (!onednn || !reference) return ipro_test_finish();
  hand_built_cases(onednn);
  mixer_step(onednn, reference);
  onednn->destroy(onednn);
  reference->destroy(reference);
  return ipro_test_finish();
}
