/* The oneDNN kernels of the training program (codegen/internal_ops.md) against the reference
 * kernels, the oracle.
 *
 * Op by op (and Sum, which accumulates gradients, and Gemm in the transposed forms the
 * backward of Gemm uses): each case is one hand-built node on seeded random data (with exact ties,
 * zeros and bound values where an op's derivative has a kink or a first-maximum rule), run on the
 * reference kernel and on the oneDNN kernel into NaN-filled buffers (so an element the kernel
 * forgets to write fails). Every output, and every input (BatchNormalization updates its running
 * statistics in place), must agree within rtol 1e-4 and atol 1e-5 times the tensor's scale (its
 * largest reference magnitude, at least 1), since the gradients are accumulations whose rounding
 * grows with their terms. Cases with no faithful oneDNN mapping must be declined.
 *
 * ipro.Slice (Concat's and Pad's gradient) in boxes of rank 1 to 4; ipro.ReduceToShape (a
 * broadcast operand's gradient) over leading, inner, innermost and alternate axes, scaled.
 *
 * Whole step: the training graph of models/resnet8_fmnist.onnx at batch 4 runs one SGD step on
 * oneDNN (with the reference as fallback) and, from a separate copy of the graph, on the reference
 * alone, with the same inputs and hyper-parameters; the loss, every parameter's gradient, the
 * updated parameters and BatchNormalization's running statistics must agree. */
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
#include "tests/support/command.h"
#include "tests/support/golden.h"
#include "tests/support/step_runs.h"
#include "tests/support/tensor_checks.h"

#define MAX_OPERANDS 12

static uint64_t random_state = 0x243f6a8885a308d3u;

static float random_uniform(void) { return ipro_test_random_uniform(&random_state); }

/* How a case fills an input: uniform in [-1, 1); positive in [0.5, 1.5) (variances, scales);
 * ties: one of five values, so pooling windows hold equal maxima; relu_output: the output of a
 * Relu (a third exact zeros); unit: in (0, 1) (a Sigmoid's output); bounds: uniform, with a quarter
 * of the elements exactly -0.5 or 0.5 (Clip's bounds in the cases below); saved_mean and
 * saved_inv_std: a BatchNormGrad's input 1's batch mean and 1 / sqrt(biased variance + epsilon)
 * per channel, as its forward saves them. */
typedef enum {
  UNIFORM,
  POSITIVE,
  TIES,
  RELU_OUTPUT,
  UNIT,
  BOUNDS,
  SAVED_MEAN,
  SAVED_INV_STD,
  HARD_KINKS /* over [-4, 4], with ±3 (HardSwish's kinks) and ±2 (HardSigmoid's at alpha 1/4,
                where αx + β is exactly 0 and 1; at alpha 0.2 and 1/6 no float lands on one) */
} data_kind;

static float random_value(data_kind kind) {
  float u = random_uniform();
  switch (kind) {
  case POSITIVE: return 1.0f + 0.5f * u;
  case TIES: return 0.5f * floorf(u * 2.5f);
  case RELU_OUTPUT: return u < -0.33f ? 0.0f : u + 0.33f;
  case UNIT: return 0.5f + 0.49f * u;
  case HARD_KINKS:
    return u < -0.8f ? -3.0f : u < -0.6f ? 3.0f : u < -0.4f ? -2.0f : u < -0.2f ? 2.0f : 4.0f * u;
  case BOUNDS: {
    float v = random_uniform();
    return u < -0.75f ? -0.5f : u < -0.5f ? 0.5f : v;
  }
  default: return u;
  }
}

/* ---- building one-node graphs ---- */

typedef struct {
  ipro_graph *graph;
  ipro_node *node;
  data_kind kinds[MAX_OPERANDS];
  bool internal;    /* an ipro.* node: not normalised (the loader's forms do not apply) */
  bool expect_loop; /* the kernel must be the backend's own loop (ipro_test_onednn_runs_loop) */
} one_node;

static void input(one_node *c, const char *name, int rank, const int64_t *dims, data_kind kind) {
  if (!c->graph) c->graph = hand_graph(19);
  c->kinds[c->graph->n_inputs] = kind;
  hand_input(c->graph, name, rank, dims);
}

/* The node; op is its ipro_op for internal ops (the loader never resolves their names). */
static ipro_node *node(one_node *c, const char *op_type, int op, const char *inputs,
                       const char *outputs) {
  c->node = hand_node(c->graph, "node", op_type, inputs, outputs);
  if (op >= IPRO_OP_FIRST_INTERNAL) c->node->op = (ipro_op)op, c->internal = true;
  for (int o = 0; o < c->node->n_outputs; o++)
    if (c->node->outputs[o] >= 0)
      hand_output(c->graph, ipro_node_output(c->graph, c->node, o)->name);
  return c->node;
}

static void set_ints(ipro_node *n, const char *name, int count, const int64_t *values) {
  hand_require(ipro_node_set_ints(n, name, values, count) == IPRO_OK);
}
static void set_int(ipro_node *n, const char *name, int64_t value) {
  hand_require(ipro_node_set_int(n, name, value) == IPRO_OK);
}
static void set_float(ipro_node *n, const char *name, float value) {
  hand_require(ipro_node_set_float(n, name, value) == IPRO_OK);
}

/* Overwrites `values` (C floats) with the saved statistic `kind` of the node's input 1 (X). */
static void saved_statistics(const ipro_graph *graph, const ipro_node *n, const float *x,
                             data_kind kind, float *values) {
  const ipro_shape *shape = &ipro_node_input(graph, n, 1)->shape;
  int64_t batch = shape->dims[0], channels = shape->dims[1], size = 1;
  for (int d = 2; d < shape->rank; d++)
    size *= shape->dims[d];
  double epsilon = ipro_node_attr_float(n, "epsilon", 1e-5f);
  for (int64_t c = 0; c < channels; c++) {
    double mean, variance;
    ipro_test_channel_moments(x, batch, channels, size, c, &mean, &variance);
    values[c] = (float)(kind == SAVED_MEAN ? mean : 1.0 / sqrt(variance + epsilon));
  }
}

/* Infers the node's shapes, then runs it on the reference and (where oneDNN takes it) on oneDNN,
 * each on its own copy of the inputs, and compares outputs and inputs. Frees the graph. */
static void run_case(ipro_backend *onednn, one_node *c, const char *label, bool expect_supported) {
  ipro_graph *graph = c->graph;
  ipro_error err = {{0}};
  ipro_status status = c->internal ? IPRO_OK : ipro_graph_normalize(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, 0, &err);
  CHECK_MSG(status == IPRO_OK, "%s: %s", label, err.message);
  if (status != IPRO_OK) {
    ipro_graph_free(graph);
    return;
  }
  const ipro_node *n = &graph->nodes[0];
  bool supported = ipro_test_expect_support(onednn, graph, n, label, expect_supported);

  void *reference_in[MAX_OPERANDS] = {NULL}, *onednn_in[MAX_OPERANDS] = {NULL};
  void *expected[MAX_OPERANDS] = {NULL}, *got[MAX_OPERANDS] = {NULL};
  for (int i = 0; i < n->n_inputs; i++) {
    const ipro_tensor *tensor = ipro_node_input(graph, n, i);
    if (!tensor) continue;
    size_t bytes = ipro_test_tensor_bytes(tensor);
    reference_in[i] = malloc(bytes ? bytes : 1);
    onednn_in[i] = malloc(bytes ? bytes : 1);
    hand_require(reference_in[i] && onednn_in[i]);
    if (tensor->data) { /* an initializer (Expand's shape): its own values */
      memcpy(reference_in[i], tensor->data, bytes);
      memcpy(onednn_in[i], tensor->data, bytes);
      continue;
    }
    int g = 0;
    while (graph->inputs[g] != n->inputs[i])
      g++;
    for (size_t k = 0; k < bytes / sizeof(float); k++)
      ((float *)reference_in[i])[k] = random_value(c->kinds[g]);
    if (c->kinds[g] == SAVED_MEAN || c->kinds[g] == SAVED_INV_STD)
      saved_statistics(graph, n, reference_in[1], c->kinds[g], reference_in[i]);
    memcpy(onednn_in[i], reference_in[i], bytes);
  }
  for (int o = 0; o < n->n_outputs; o++) {
    const ipro_tensor *tensor = ipro_node_output(graph, n, o);
    if (!tensor) continue;
    size_t bytes = ipro_test_tensor_bytes(tensor);
    expected[o] = calloc(1, bytes ? bytes : 1);
    got[o] = malloc(bytes ? bytes : 1);
    hand_require(expected[o] && got[o]);
    for (size_t k = 0; k < bytes / sizeof(float); k++)
      ((float *)got[o])[k] = NAN;
  }
  ipro_kernel_context context = {.seed = 0, .step = 0};
  CHECK_OK(ipro_reference_forward_table()[n->op](graph, n, reference_in, expected, &context, &err),
           &err);
  ipro_kernel *kernel = NULL;
  if (supported) CHECK_OK(onednn->prepare_forward(onednn, graph, n, &kernel, &err), &err);
  if (kernel && c->expect_loop)
    CHECK_MSG(ipro_test_onednn_runs_loop(kernel), "%s: not built on the backend's loop", label);
  if (kernel) {
    ipro_test_run_kernel(onednn, kernel, onednn_in, got, false);
    kernel->destroy(kernel);
    char what[300];
    for (int o = 0; o < n->n_outputs; o++) {
      const ipro_tensor *tensor = ipro_node_output(graph, n, o);
      if (!tensor) continue;
      snprintf(what, sizeof what, "output %d", o);
      ipro_test_compare_scaled(label, what, got[o], expected[o],
                               ipro_shape_elements(&tensor->shape));
    }
    for (int i = 0; i < n->n_inputs; i++) {
      const ipro_tensor *tensor = ipro_node_input(graph, n, i);
      if (!tensor) continue;
      snprintf(what, sizeof what, "input %d after the run", i);
      ipro_test_compare_scaled(label, what, onednn_in[i], reference_in[i],
                               ipro_shape_elements(&tensor->shape));
    }
  }
  for (int i = 0; i < MAX_OPERANDS; i++)
    free(reference_in[i]), free(onednn_in[i]), free(expected[i]), free(got[i]);
  ipro_graph_free(graph);
}

/* ---- Conv's gradients ---- */

typedef struct {
  const char *label;
  int rank;
  int64_t x[5], w[5];
  int64_t group, strides[3], dilations[3], pads[6];
} conv_config;

static void conv_attributes(ipro_node *n, const conv_config *k) {
  int spatial = k->rank - 2;
  set_ints(n, "kernel_shape", spatial, k->w + 2);
  set_ints(n, "strides", spatial, k->strides);
  set_ints(n, "dilations", spatial, k->dilations);
  set_ints(n, "pads", 2 * spatial, k->pads);
  set_int(n, "group", k->group);
}

static void conv_gradient_cases(ipro_backend *onednn, const conv_config *k);

static void conv_cases(ipro_backend *onednn) {
  static const conv_config configs[] = {
      {"3x3 pad 1", 4, {2, 4, 8, 8}, {6, 4, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 pad 1, 16 to 32 channels",
       4,
       {2, 16, 7, 6},
       {32, 16, 3, 3},
       1,
       {1, 1},
       {1, 1},
       {1, 1, 1, 1}},
      {"3x3 stride 2, 32 to 16 channels",
       4,
       {2, 32, 9, 9},
       {16, 32, 3, 3},
       1,
       {2, 2},
       {1, 1},
       {1, 1, 1, 1}},
      {"depthwise 32 channels", 4, {2, 32, 6, 6}, {32, 1, 3, 3}, 32, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"1 to 16 channels (a network's first layer)",
       4,
       {2, 1, 8, 8},
       {16, 1, 3, 3},
       1,
       {1, 1},
       {1, 1},
       {1, 1, 1, 1}},
      {"3x3 stride 2 ragged", 4, {2, 4, 9, 8}, {8, 4, 3, 3}, 1, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      {"1x1 stride 2", 4, {2, 8, 8, 8}, {16, 8, 1, 1}, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}},
      {"grouped dilated asymmetric",
       4,
       {2, 4, 10, 9},
       {6, 2, 3, 3},
       2,
       {2, 1},
       {2, 2},
       {1, 0, 2, 1}},
      {"depthwise stride 2", 4, {2, 8, 9, 7}, {8, 1, 3, 3}, 8, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      {"1-D grouped dilated", 3, {2, 4, 11}, {6, 2, 3}, 2, {2}, {2}, {1, 2}},
      {"3-D", 5, {1, 2, 5, 6, 4}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {1, 1, 1}, {0, 1, 1, 1, 0, 0}},
  };
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
    conv_gradient_cases(onednn, &configs[i]);
}

/* ConvGradInput and ConvGradWeight (without and with dB) of the convolution k. */
static void conv_gradient_cases(ipro_backend *onednn, const conv_config *k) {
  {
    int spatial = k->rank - 2;
    int64_t y[5] = {k->x[0], k->w[0]};
    for (int s = 0; s < spatial; s++) {
      int64_t extent = (k->w[2 + s] - 1) * k->dilations[s] + 1;
      y[2 + s] = (k->x[2 + s] + k->pads[s] + k->pads[spatial + s] - extent) / k->strides[s] + 1;
    }
    char label[200];
    one_node c = {0};
    input(&c, "dY", k->rank, y, UNIFORM);
    input(&c, "W", k->rank, k->w, UNIFORM);
    ipro_node *n = node(&c, "ipro.ConvGradInput", IPRO_OP_CONV_GRAD_INPUT, "dY,W", "dX");
    conv_attributes(n, k);
    set_ints(n, "input_shape", k->rank, k->x);
    snprintf(label, sizeof label, "ConvGradInput %s", k->label);
    run_case(onednn, &c, label, true);
    for (int bias = 0; bias < 2; bias++) {
      one_node b = {0};
      input(&b, "dY", k->rank, y, UNIFORM);
      input(&b, "X", k->rank, k->x, UNIFORM);
      n = node(&b, "ipro.ConvGradWeight", IPRO_OP_CONV_GRAD_WEIGHT, "dY,X", bias ? "dW,dB" : "dW");
      conv_attributes(n, k);
      set_ints(n, "weight_shape", k->rank, k->w);
      snprintf(label, sizeof label, "ConvGradWeight %s%s", k->label, bias ? " with dB" : "");
      run_case(onednn, &b, label, true);
    }
  }
}

/* ---- Winograd's convolutions (runtime/onednn/onednn_conv.c) ---- */

/* One 3×3 convolution that the oneDNN backend runs with Winograd's algorithm (32 channels, its
 * scratchpad within its bound of the operands): forward, input and weight gradients. */
static const conv_config winograd_config = {
    "Winograd: 3x3 pad 1, 32 to 32 channels, 64 images of 16x16",
    4,
    {64, 32, 16, 16},
    {32, 32, 3, 3},
    1,
    {1, 1},
    {1, 1},
    {1, 1, 1, 1}};

/* The workspace of the oneDNN kernel of the forward convolution of k, with
 * IPRO_ONEDNN_WINOGRAD as given (NULL: unset). */
static size_t conv_workspace(ipro_backend *onednn, const conv_config *k, const char *winograd) {
  if (winograd)
    setenv("IPRO_ONEDNN_WINOGRAD", winograd, 1);
  else
    unsetenv("IPRO_ONEDNN_WINOGRAD");
  one_node c = {0};
  input(&c, "X", k->rank, k->x, UNIFORM);
  input(&c, "W", k->rank, k->w, UNIFORM);
  conv_attributes(node(&c, "Conv", IPRO_OP_CONV, "X,W", "Y"), k);
  ipro_error err = {{0}};
  ipro_kernel *kernel = NULL;
  size_t bytes = 0;
  CHECK_OK(ipro_graph_normalize(c.graph, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(c.graph, 0, &err), &err);
  CHECK_OK(onednn->prepare_forward(onednn, c.graph, &c.graph->nodes[0], &kernel, &err), &err);
  if (kernel) bytes = kernel->workspace_bytes, kernel->destroy(kernel);
  ipro_graph_free(c.graph);
  unsetenv("IPRO_ONEDNN_WINOGRAD");
  return bytes;
}

static void winograd_cases(ipro_backend *onednn, bool avx512) {
  const conv_config *k = &winograd_config;
  /* Winograd's kernels bring a scratchpad of several MB, the direct ones a few hundred KB: which
   * algorithm ran shows in the workspace, a figure oneDNN gives, not the choice re-read */
  size_t winograd = conv_workspace(onednn, k, NULL), direct = conv_workspace(onednn, k, "0");
  if (avx512)
    CHECK_MSG(winograd > direct + (1 << 20),
              "%s: a workspace of %zu bytes, %zu with IPRO_ONEDNN_WINOGRAD=0: Winograd not taken",
              k->label, winograd, direct);
  else
    printf("skipped: whether Winograd is taken (no AVX-512 here); the values are still "
           "checked\n");
  printf("%s: forward workspace %zu bytes, %zu direct\n", k->label, winograd, direct);
  one_node c = {0};
  input(&c, "X", k->rank, k->x, UNIFORM);
  input(&c, "W", k->rank, k->w, UNIFORM);
  conv_attributes(node(&c, "Conv", IPRO_OP_CONV, "X,W", "Y"), k);
  char label[200];
  snprintf(label, sizeof label, "Conv %s", k->label);
  run_case(onednn, &c, label, true);
  conv_gradient_cases(onednn, k);
}

/* ---- BatchNormalization (training forward with running statistics) and its gradient ---- */

static void batch_norm_cases(ipro_backend *onednn) {
  static const struct {
    int rank;
    int64_t x[5];
  } shapes[] = {{4, {4, 3, 5, 5}},  {2, {8, 16}},    {3, {2, 3, 7}},       {5, {2, 2, 3, 2, 2}},
                {4, {3, 32, 5, 4}}, {3, {2, 16, 9}}, {5, {2, 16, 2, 3, 2}}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    int rank = shapes[i].rank;
    const int64_t *x = shapes[i].x, *channels = &shapes[i].x[1];
    char label[200];
    /* With the statistics the forward saved (in the oneDNN kernel; the reference recomputes
     * them from X) as the training programs have it, and without. */
    for (int form = 0; form < 3; form++) {
      bool outputs = form != 1, saved = form == 2;
      one_node c = {0};
      input(&c, "dY", rank, x, UNIFORM);
      input(&c, "X", rank, x, UNIFORM);
      input(&c, "scale", 1, channels, UNIFORM);
      if (saved) {
        input(&c, "mean", 1, channels, SAVED_MEAN);
        input(&c, "inv_std", 1, channels, SAVED_INV_STD);
      }
      ipro_node *n = node(&c, "ipro.BatchNormGrad", IPRO_OP_BATCH_NORM_GRAD,
                          saved ? "dY,X,scale,mean,inv_std" : "dY,X,scale",
                          outputs ? "dX,dScale,dBias" : "dX,,");
      set_float(n, "epsilon", i == 0 ? 1e-3f : 1e-5f);
      snprintf(label, sizeof label, "BatchNormGrad rank %d%s", rank,
               saved     ? " (saved statistics)"
               : outputs ? ""
                         : " (dX only)");
      run_case(onednn, &c, label, true);
    }
    /* in place + unbiased (the training program's form), in place, and ONNX's outputs with the
     * unbiased variance */
    for (int form = 0; form < 4; form++) {
      one_node c = {0};
      input(&c, "X", rank, x, UNIFORM);
      input(&c, "scale", 1, channels, UNIFORM);
      input(&c, "B", 1, channels, UNIFORM);
      input(&c, "mean", 1, channels, UNIFORM);
      input(&c, "var", 1, channels, POSITIVE);
      ipro_node *n =
          node(&c, "BatchNormalization", IPRO_OP_BATCH_NORMALIZATION, "X,scale,B,mean,var",
               form == 2   ? "Y,running_mean,running_var"
               : form == 3 ? "Y,,,saved_mean,saved_inv_std"
                           : "Y");
      set_int(n, "training_mode", 1);
      set_float(n, "momentum", form == 1 ? 0.8f : 0.9f);
      ipro_error err = {{0}};
      CHECK_OK(ipro_graph_normalize(c.graph, &err), &err);
      c.internal = true; /* normalised now: the attributes below are the compiler's own */
      n = &c.graph->nodes[0];
      if (form != 2) set_int(n, "running_stats_in_place", 1);
      if (form != 1) set_int(n, "unbiased_running_variance", 1);
      if (form == 3) set_int(n, "saves_statistics", 1);
      snprintf(label, sizeof label, "BatchNormalization training rank %d, %s", rank,
               form == 0   ? "in place, unbiased"
               : form == 1 ? "in place"
               : form == 2 ? "outputs, unbiased"
                           : "in place, unbiased, saving its statistics (the training program's)");
      run_case(onednn, &c, label, true);
    }
  }
}

/* ---- UnaryGrad ---- */

static void unary_cases(ipro_backend *onednn) {
  static const struct {
    const char *label;
    ipro_op forward;
    data_kind t;
    float alpha, beta;
    bool has_alpha, has_beta, supported;
  } cases[] = {
      {"Relu", IPRO_OP_RELU, RELU_OUTPUT, 0, 0, false, false, true},
      {"Sigmoid", IPRO_OP_SIGMOID, UNIT, 0, 0, false, false, true},
      {"Tanh", IPRO_OP_TANH, UNIFORM, 0, 0, false, false, true},
      {"LeakyRelu default alpha", IPRO_OP_LEAKY_RELU, TIES, 0, 0, false, false, true},
      {"LeakyRelu alpha 0.2", IPRO_OP_LEAKY_RELU, TIES, 0.2f, 0, true, false, true},
      {"Clip [-0.5, 0.5]", IPRO_OP_CLIP, BOUNDS, -0.5f, 0.5f, true, true, true},
      {"Clip [-0.5, inf)", IPRO_OP_CLIP, BOUNDS, -0.5f, 0, true, false, true},
      /* cpu_hard_activation_grad.c's loop, through the kinks */
      {"HardSwish", IPRO_OP_HARD_SWISH, HARD_KINKS, 0, 0, false, false, true},
      {"HardSigmoid", IPRO_OP_HARD_SIGMOID, HARD_KINKS, 0.2f, 0.5f, true, true, true},
      {"HardSigmoid at its kinks (alpha 1/4)", IPRO_OP_HARD_SIGMOID, HARD_KINKS, 0.25f, 0.5f, true,
       true, true},
      {"HardSigmoid as PyTorch's (alpha 1/6)", IPRO_OP_HARD_SIGMOID, HARD_KINKS, 1.0f / 6.0f, 0.5f,
       true, true, true},
      {"Gelu", IPRO_OP_GELU, UNIFORM, 0, 0, false, false, true},
      /* has_alpha on Gelu: approximate "tanh" */
      {"Gelu tanh", IPRO_OP_GELU, UNIFORM, 0, 0, true, false, true},
      /* T is Sqrt's Y and Reciprocal's X (frontend/op_table.c's saved tensors) */
      {"Sqrt", IPRO_OP_SQRT, POSITIVE, 0, 0, false, false, true},
      {"Reciprocal", IPRO_OP_RECIPROCAL, POSITIVE, 0, 0, false, false, true},
      /* T is Exp's Y, the others' X */
      {"Exp", IPRO_OP_EXP, POSITIVE, 0, 0, false, false, true},
      {"Log", IPRO_OP_LOG, POSITIVE, 0, 0, false, false, true},
      {"Softplus", IPRO_OP_SOFTPLUS, UNIFORM, 0, 0, false, false, true},
      {"Mish", IPRO_OP_MISH, UNIFORM, 0, 0, false, false, true},
      {"Elu alpha 0.7", IPRO_OP_ELU, UNIFORM, 0.7f, 0, true, false, true},
      {"Selu (its defaults)", IPRO_OP_SELU, UNIFORM, 0, 0, false, false, true},
      {"Celu alpha 1", IPRO_OP_CELU, UNIFORM, 1.0f, 0, true, false, true},
      /* on the reference kernel: oneDNN 2.6 has neither */
      {"Celu alpha 0.5", IPRO_OP_CELU, UNIFORM, 0.5f, 0, true, false, false},
      {"Softsign", IPRO_OP_SOFTSIGN, UNIFORM, 0, 0, false, false, false},
  };
  const int64_t shape[4] = {2, 3, 5, 7};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    one_node c = {0};
    input(&c, "dY", 4, shape, UNIFORM);
    input(&c, "T", 4, shape, cases[i].t);
    ipro_node *n = node(&c, "ipro.UnaryGrad", IPRO_OP_UNARY_GRAD, "dY,T", "dX");
    set_int(n, "forward_op", cases[i].forward);
    bool clip = cases[i].forward == IPRO_OP_CLIP;
    if (cases[i].forward == IPRO_OP_GELU && cases[i].has_alpha)
      ipro_node_set_string(n, "approximate", "tanh");
    else if (cases[i].has_alpha)
      set_float(n, clip ? "min" : "alpha", cases[i].alpha);
    if (cases[i].has_beta) set_float(n, clip ? "max" : "beta", cases[i].beta);
    c.expect_loop =
        cases[i].forward == IPRO_OP_HARD_SWISH || cases[i].forward == IPRO_OP_HARD_SIGMOID;
    char label[200];
    snprintf(label, sizeof label, "UnaryGrad %s", cases[i].label);
    run_case(onednn, &c, label, cases[i].supported);
  }
}

/* ---- the pools' gradients ---- */

typedef struct {
  const char *label;
  int rank;
  int64_t x[5], kernel[3], strides[3], dilations[3], pads[6];
  bool ceil_mode, include_pad, supported;
} pool_config;

/* Y's extent as ONNX (and PyTorch) define it: with ceil_mode, a last window that would start in
 * the right padding is dropped. */
static void pool_output(const pool_config *k, int64_t *y) {
  int spatial = k->rank - 2;
  y[0] = k->x[0], y[1] = k->x[1];
  for (int s = 0; s < spatial; s++) {
    int64_t extent = (k->kernel[s] - 1) * k->dilations[s] + 1;
    int64_t span = k->x[2 + s] + k->pads[s] + k->pads[spatial + s] - extent;
    int64_t out =
        (k->ceil_mode ? (span + k->strides[s] - 1) / k->strides[s] : span / k->strides[s]) + 1;
    if (k->ceil_mode && (out - 1) * k->strides[s] >= k->x[2 + s] + k->pads[s]) out--;
    y[2 + s] = out;
  }
}

static void pool_attributes(ipro_node *n, const pool_config *k) {
  int spatial = k->rank - 2;
  set_ints(n, "kernel_shape", spatial, k->kernel);
  set_ints(n, "strides", spatial, k->strides);
  set_ints(n, "dilations", spatial, k->dilations);
  set_ints(n, "pads", 2 * spatial, k->pads);
  set_int(n, "ceil_mode", k->ceil_mode);
}

static void pool_cases(ipro_backend *onednn) {
  static const pool_config max_configs[] = {
      {"2x2 stride 2", 4, {2, 3, 8, 8}, {2, 2}, {2, 2}, {1, 1}, {0}, false, false, true},
      {"3x3 stride 2 pad 1",
       4,
       {2, 3, 9, 9},
       {3, 3},
       {2, 2},
       {1, 1},
       {1, 1, 1, 1},
       false,
       false,
       true},
      {"3x3 overlapping",
       4,
       {2, 3, 6, 7},
       {3, 3},
       {1, 1},
       {1, 1},
       {1, 1, 1, 1},
       false,
       false,
       true},
      {"2x2 stride 2 ceil_mode", 4, {2, 2, 7, 7}, {2, 2}, {2, 2}, {1, 1}, {0}, true, false, true},
      {"2x2 stride 2 ragged end", 4, {2, 2, 7, 7}, {2, 2}, {2, 2}, {1, 1}, {0}, false, false, true},
      {"dilated asymmetric pads",
       4,
       {1, 2, 7, 6},
       {2, 3},
       {1, 2},
       {2, 1},
       {0, 1, 1, 0},
       false,
       false,
       true},
      {"1-D", 3, {2, 3, 10}, {3}, {2}, {1}, {1, 1}, false, false, true},
      {"3-D", 5, {1, 2, 4, 5, 6}, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, {0}, false, false, true},
  };
  char label[200];
  for (size_t i = 0; i < sizeof max_configs / sizeof max_configs[0]; i++) {
    const pool_config *k = &max_configs[i];
    int64_t y[5];
    pool_output(k, y);
    one_node c = {0};
    input(&c, "dY", k->rank, y, UNIFORM);
    input(&c, "X", k->rank, k->x, TIES);
    ipro_node *n = node(&c, "ipro.MaxPoolGrad", IPRO_OP_MAX_POOL_GRAD, "dY,X", "dX");
    pool_attributes(n, k);
    snprintf(label, sizeof label, "MaxPoolGrad %s", k->label);
    run_case(onednn, &c, label, k->supported);
  }
  static const pool_config average_configs[] = {
      {"3x3 pad 1", 4, {2, 3, 6, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, false, false, true},
      {"3x3 pad 1 count_include_pad",
       4,
       {2, 3, 6, 7},
       {3, 3},
       {1, 1},
       {1, 1},
       {1, 1, 1, 1},
       false,
       true,
       true},
      {"2x2 stride 2 ceil_mode", 4, {2, 2, 7, 7}, {2, 2}, {2, 2}, {1, 1}, {0}, true, false, true},
      {"3x3 stride 2 ragged end", 4, {2, 2, 8, 8}, {3, 3}, {2, 2}, {1, 1}, {0}, false, false, true},
      {"asymmetric pads count_include_pad",
       4,
       {2, 2, 7, 6},
       {3, 2},
       {2, 1},
       {1, 1},
       {1, 0, 2, 1},
       false,
       true,
       true},
      {"dilated pad 1", 4, {1, 2, 7, 6}, {2, 2}, {1, 1}, {2, 2}, {1, 1, 1, 1}, false, false, true},
      {"dilated pad 1 count_include_pad",
       4,
       {1, 2, 7, 6},
       {2, 2},
       {1, 1},
       {2, 2},
       {1, 1, 1, 1},
       false,
       true,
       true},
      {"3x3 stride 2 pad 1, 16 channels",
       4,
       {2, 16, 9, 9},
       {3, 3},
       {2, 2},
       {1, 1},
       {1, 1, 1, 1},
       false,
       false,
       true},
      {"1-D", 3, {2, 3, 10}, {3}, {2}, {1}, {1, 1}, false, false, true},
      {"3-D",
       5,
       {1, 2, 4, 5, 6},
       {2, 2, 3},
       {2, 2, 2},
       {1, 1, 1},
       {0, 0, 1, 0, 0, 1},
       false,
       false,
       true},
      /* ONNX counts the declared pads but not the positions a ceil_mode window hangs past them */
      {"count_include_pad past the pads",
       4,
       {2, 2, 6, 6},
       {3, 3},
       {2, 2},
       {1, 1},
       {1, 1, 1, 1},
       true,
       true,
       false},
  };
  for (size_t i = 0; i < sizeof average_configs / sizeof average_configs[0]; i++) {
    const pool_config *k = &average_configs[i];
    int64_t y[5];
    pool_output(k, y);
    one_node c = {0};
    input(&c, "dY", k->rank, y, UNIFORM);
    ipro_node *n = node(&c, "ipro.AveragePoolGrad", IPRO_OP_AVERAGE_POOL_GRAD, "dY", "dX");
    pool_attributes(n, k);
    set_int(n, "count_include_pad", k->include_pad);
    set_ints(n, "input_shape", k->rank, k->x);
    snprintf(label, sizeof label, "AveragePoolGrad %s", k->label);
    run_case(onednn, &c, label, k->supported);
  }
  static const struct {
    int rank;
    int64_t x[5];
  } global_shapes[] = {{4, {2, 8, 5, 5}}, {3, {2, 3, 7}}, {5, {1, 2, 3, 4, 2}}};
  for (size_t i = 0; i < sizeof global_shapes / sizeof global_shapes[0]; i++) {
    int rank = global_shapes[i].rank;
    const int64_t *x = global_shapes[i].x;
    int64_t y[5] = {x[0], x[1], 1, 1, 1};
    for (int maximum = 0; maximum < 2; maximum++) {
      one_node c = {0};
      input(&c, "dY", rank, y, UNIFORM);
      if (maximum) input(&c, "X", rank, x, TIES);
      ipro_node *n =
          node(&c, "ipro.GlobalPoolGrad", IPRO_OP_GLOBAL_POOL_GRAD, maximum ? "dY,X" : "dY", "dX");
      set_int(n, "forward_op", maximum ? IPRO_OP_GLOBAL_MAX_POOL : IPRO_OP_GLOBAL_AVERAGE_POOL);
      set_ints(n, "input_shape", rank, x);
      snprintf(label, sizeof label, "GlobalPoolGrad %s rank %d", maximum ? "max" : "average", rank);
      run_case(onednn, &c, label, true);
    }
  }
}

/* ---- SoftmaxGrad, and Gemm in the transposed forms the backward uses ---- */

/* The staged kernel of Gemm([128, 8], [8, 2056]) holds B's K·N floats in its workspace and says
 * it has a frugal variant; the frugal one (the backend's frugal set) holds less. */
static void check_staged_workspace(ipro_backend *onednn) {
  ipro_graph *graph = hand_graph(19);
  hand_input(graph, "A", 2, (int64_t[]){128, 8});
  hand_input(graph, "B", 2, (int64_t[]){8, 2056});
  hand_node(graph, "gemm", "Gemm", "A,B", "Y");
  hand_output(graph, "Y");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(graph, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(graph, 0, &err), &err);
  size_t workspace[2] = {0, 0};
  bool variant = false;
  for (int f = 0; f < 2; f++) {
    ipro_kernel *kernel = NULL;
    onednn->frugal = f == 1;
    CHECK_OK(onednn->prepare_forward(onednn, graph, &graph->nodes[0], &kernel, &err), &err);
    if (!kernel) continue;
    workspace[f] = kernel->workspace_bytes;
    if (f == 0) variant = kernel->has_frugal_variant;
    kernel->destroy(kernel);
  }
  onednn->frugal = false;
  CHECK_MSG(variant && workspace[0] >= workspace[1] + 8 * 2056 * sizeof(float),
            "staged Gemm: workspace %zu bytes, frugal %zu, frugal variant %d", workspace[0],
            workspace[1], variant);
  ipro_graph_free(graph);
}

static void softmax_cases(ipro_backend *onednn) {
  static const struct {
    const char *label;
    ipro_op forward;
    int rank;
    int64_t shape[4], axis;
    bool coerce_2d;
  } cases[] = {
      {"Softmax inner axis", IPRO_OP_SOFTMAX, 3, {3, 5, 4}, 1, false},
      {"Softmax last axis", IPRO_OP_SOFTMAX, 2, {4, 10}, 1, false},
      {"LogSoftmax last axis", IPRO_OP_LOG_SOFTMAX, 2, {4, 10}, 1, false},
      {"LogSoftmax inner axis", IPRO_OP_LOG_SOFTMAX, 4, {2, 3, 4, 5}, 2, false},
      {"Softmax coerce_2d", IPRO_OP_SOFTMAX, 3, {2, 3, 4}, 1, true},
  };
  /* as the backend chooses (oneDNN's kernel, or our loop where oneDNN has only its reference
   * kernel), then on the loop whatever the CPU (cpu_softmax_grad.c) */
  for (int loop = 0; loop < 2; loop++) {
    if (loop) setenv("IPRO_ONEDNN_SOFTMAX_GRAD_LOOP", "1", 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      one_node c = {0};
      input(&c, "dY", cases[i].rank, cases[i].shape, UNIFORM);
      input(&c, "Y", cases[i].rank, cases[i].shape,
            cases[i].forward == IPRO_OP_SOFTMAX ? UNIT : UNIFORM);
      c.expect_loop = loop;
      ipro_node *n = node(&c, "ipro.SoftmaxGrad", IPRO_OP_SOFTMAX_GRAD, "dY,Y", "dX");
      set_int(n, "forward_op", cases[i].forward);
      set_int(n, "axis", cases[i].axis);
      set_int(n, "coerce_2d", cases[i].coerce_2d);
      char label[200];
      snprintf(label, sizeof label, "SoftmaxGrad %s%s", cases[i].label, loop ? ", loop" : "");
      run_case(onednn, &c, label, true);
    }
    unsetenv("IPRO_ONEDNN_SOFTMAX_GRAD_LOOP");
  }
  /* dB = Aᵀ·dY (transA), dA = dY·Bᵀ (transB), and both */
  for (int form = 0; form < 3; form++) {
    bool trans_a = form != 1, trans_b = form != 0;
    one_node c = {0};
    int64_t a[2] = {trans_a ? 6 : 4, trans_a ? 4 : 6}, b[2] = {trans_b ? 5 : 6, trans_b ? 6 : 5};
    input(&c, "A", 2, a, UNIFORM);
    input(&c, "B", 2, b, UNIFORM);
    ipro_node *n = node(&c, "Gemm", IPRO_OP_GEMM, "A,B", "Y");
    set_int(n, "transA", trans_a);
    set_int(n, "transB", trans_b);
    char label[200];
    snprintf(label, sizeof label, "Gemm transA %d transB %d", trans_a, trans_b);
    run_case(onednn, &c, label, true);
  }
  /* a plain B of more than 2,048 columns and at least 128 rows is staged in the transposed layout
   * first (runtime/onednn/onednn_matmul.c): a Gemm (dW = dYᵀ·A's form, and dA = dY·W's), and a
   * linear layer on sequences (MatMul of [2, 64, 8] by [8, 2056]); each also as the frugal
   * variant the executor falls back on, which reads B as it lies (forms 3 to 5) */
  for (int form = 0; form < 6; form++) {
    onednn->frugal = form >= 3;
    one_node c = {0};
    int64_t a[3] = {2, 64, 8}, a_rows[2] = {128, 8}, a_transposed[2] = {8, 128}, b[2] = {8, 2056};
    int shape = form % 3;
    if (shape == 2)
      input(&c, "A", 3, a, UNIFORM);
    else
      input(&c, "A", 2, shape == 0 ? a_rows : a_transposed, UNIFORM);
    input(&c, "B", 2, b, UNIFORM);
    ipro_node *n = shape == 2 ? node(&c, "MatMul", IPRO_OP_MAT_MUL, "A,B", "Y")
                              : node(&c, "Gemm", IPRO_OP_GEMM, "A,B", "Y");
    if (shape < 2) set_int(n, "transA", shape == 1);
    char label[200];
    snprintf(label, sizeof label, "%s, B of 2,056 columns %s",
             shape == 0   ? "Gemm"
             : shape == 1 ? "Gemm transA 1"
                          : "MatMul of sequences",
             onednn->frugal ? "as it lies (frugal)" : "staged");
    run_case(onednn, &c, label, true);
  }
  onednn->frugal = false;
  check_staged_workspace(onednn);
}

/* Sum accumulates gradients: operands of Y's shape run on oneDNN, broadcast ones do not. */
static void sum_cases(ipro_backend *onednn) {
  const int64_t shape[4] = {2, 16, 5, 3}, row[1] = {3};
  for (int form = 0; form < 3; form++) {
    one_node c = {0};
    input(&c, "A", 4, shape, UNIFORM);
    input(&c, "B", 4, shape, UNIFORM);
    if (form == 1) input(&c, "C", 4, shape, UNIFORM);
    if (form == 2) input(&c, "C", 1, row, UNIFORM);
    node(&c, "Sum", IPRO_OP_SUM, form == 0 ? "A,B" : "A,B,C", "Y");
    run_case(onednn, &c,
             form == 0   ? "Sum of 2"
             : form == 1 ? "Sum of 3"
                         : "Sum broadcast",
             form != 2);
  }
}

/* ipro.Slice, the gradient of Concat and Pad: a box of T at `starts`, as one reorder from a
 * strided view. */
static void slice_cases(ipro_backend *onednn) {
  static const struct {
    const char *label;
    int rank;
    int64_t t[4], starts[4], shape[4];
  } cases[] = {
      {"ipro.Slice of channels (a Concat gradient)", 4, {2, 20, 5, 3}, {0, 4, 0, 0}, {2, 12, 5, 3}},
      {"ipro.Slice of a box (a Pad gradient)", 4, {3, 6, 7, 5}, {1, 2, 3, 1}, {2, 3, 2, 4}},
      {"ipro.Slice of rank 2", 2, {5, 9}, {2, 3}, {3, 6}},
      {"ipro.Slice of rank 1", 1, {10}, {4}, {5}},
      {"ipro.Slice of the whole", 3, {2, 3, 4}, {0, 0, 0}, {2, 3, 4}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    one_node c = {0};
    input(&c, "T", cases[i].rank, cases[i].t, UNIFORM);
    ipro_node *n = node(&c, "ipro.Slice", IPRO_OP_SLICE, "T", "R");
    set_ints(n, "starts", cases[i].rank, cases[i].starts);
    set_ints(n, "shape", cases[i].rank, cases[i].shape);
    run_case(onednn, &c, cases[i].label, true);
  }
}

/* ipro.ReduceToShape, the gradient of a broadcast operand (Gemm's bias, a per-channel Add): T
 * summed over the axes broadcasting expanded from `shape`, times `scale`; one that reduces no
 * axis is a scaled copy (a Sub's gradient to its second operand). */
static void reduce_to_shape_cases(ipro_backend *onednn) {
  static const struct {
    const char *label;
    int t_rank, r_rank;
    int64_t t[4], r[4];
    float scale;
    bool supported;
  } cases[] = {
      {"ipro.ReduceToShape over the batch (a bias)", 2, 1, {37, 10}, {10}, 1.0f, true},
      {"ipro.ReduceToShape to channels", 4, 3, {2, 3, 4, 5}, {3, 1, 1}, 1.0f, true},
      {"ipro.ReduceToShape to one element, scaled", 4, 1, {2, 3, 4, 5}, {1}, 0.25f, true},
      {"ipro.ReduceToShape over the innermost axis", 2, 2, {4, 5}, {4, 1}, 1.0f, true},
      {"ipro.ReduceToShape of alternate axes", 4, 4, {3, 2, 4, 5}, {3, 1, 4, 1}, 2.0f, true},
      {"ipro.ReduceToShape that reduces nothing, negated", 2, 2, {4, 5}, {4, 5}, -1.0f, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    one_node c = {0};
    input(&c, "T", cases[i].t_rank, cases[i].t, UNIFORM);
    ipro_node *n = node(&c, "ipro.ReduceToShape", IPRO_OP_REDUCE_TO_SHAPE, "T", "R");
    set_ints(n, "shape", cases[i].r_rank, cases[i].r);
    set_float(n, "scale", cases[i].scale);
    run_case(onednn, &c, cases[i].label, cases[i].supported);
  }
}

/* ---- GatherElements ---- */

/* GatherElements at constant indices (one read twice, one negative) along either axis, and its
 * gradient adding dY back, on cpu_gather_elements.c's loops against the reference. */
static void gather_elements_cases(ipro_backend *onednn) {
  const int64_t data[2] = {3, 4}, rows[2] = {2, 4}, columns[2] = {3, 3};
  const int64_t along_rows[8] = {0, 2, 1, -1, 2, 2, 0, 1};
  const int64_t along_columns[9] = {0, 0, 3, 2, -1, 1, 1, 2, 0};
  for (int axis = 0; axis < 2; axis++) {
    const int64_t *at = axis == 0 ? rows : columns;
    one_node c = {0};
    input(&c, "X", 2, data, UNIFORM);
    hand_initializer(c.graph, "at", IPRO_DTYPE_INT64, 2, at,
                     axis == 0 ? along_rows : along_columns);
    ipro_node *n = node(&c, "GatherElements", 0, "X,at", "Y");
    set_int(n, "axis", axis);
    c.expect_loop = true;
    run_case(onednn, &c,
             axis == 0 ? "GatherElements along the rows" : "GatherElements along the columns",
             true);

    one_node g = {0};
    input(&g, "dY", 2, at, UNIFORM);
    hand_initializer(g.graph, "at", IPRO_DTYPE_INT64, 2, at,
                     axis == 0 ? along_rows : along_columns);
    ipro_node *grad =
        node(&g, "ipro.GatherElementsGrad", IPRO_OP_GATHER_ELEMENTS_GRAD, "dY,at", "dX");
    set_int(grad, "axis", axis);
    set_ints(grad, "input_shape", 2, data);
    g.expect_loop = true;
    run_case(onednn, &g,
             axis == 0 ? "ipro.GatherElementsGrad along the rows"
                       : "ipro.GatherElementsGrad along the columns",
             true);
  }
}

/* ---- LSTM, GRU, RNN ---- */

typedef struct {
  const char *label, *op_type, *direction, *activations;
  int64_t layout, linear_before_reset;
  bool bias, states; /* B; initial_h (and LSTM's initial_c) */
  bool read[3];      /* which of Y, Y_h, Y_c the forward writes and the gradient gets */
} recurrent_shape;

/* One recurrent node, or its ipro.RecurrentGrad (T 5, N 3, I 4, H 6), on the backend's loops
 * (sgemm and C loops in float32) against the reference kernel (double, every step in order). */
static void recurrent_case(ipro_backend *onednn, const recurrent_shape *r, bool gradient) {
  ipro_op op = ipro_op_from_name(r->op_type);
  int64_t G = op == IPRO_OP_LSTM ? 4 : op == IPRO_OP_GRU ? 3 : 1, T = 5, N = 3, I = 4, H = 6;
  int64_t D = strcmp(r->direction, "bidirectional") == 0 ? 2 : 1;
  int64_t x[3] = {T, N, I}, w[3] = {D, G * H, I}, rr[3] = {D, G * H, H}, b[2] = {D, 2 * G * H};
  int64_t state[3] = {D, N, H}, y[4] = {T, D, N, H};
  if (r->layout) {
    x[0] = N, x[1] = T;
    state[0] = N, state[1] = D;
    y[0] = N, y[1] = T, y[2] = D;
  }
  one_node c = {0};
  input(&c, "X", 3, x, UNIFORM);
  input(&c, "W", 3, w, UNIFORM);
  input(&c, "R", 3, rr, UNIFORM);
  if (r->bias) input(&c, "B", 2, b, UNIFORM);
  if (r->states) input(&c, "H0", 3, state, UNIFORM);
  if (r->states && op == IPRO_OP_LSTM) input(&c, "C0", 3, state, UNIFORM);
  char inputs[200], outputs[200];
  snprintf(inputs, sizeof inputs, "X,W,R,%s,,%s%s", r->bias ? "B" : "", r->states ? "H0" : "",
           r->states && op == IPRO_OP_LSTM ? ",C0" : "");
  ipro_node *n;
  if (gradient) {
    if (r->read[0]) input(&c, "dY", 4, y, UNIFORM);
    if (r->read[1]) input(&c, "dYh", 3, state, UNIFORM);
    if (r->read[2]) input(&c, "dYc", 3, state, UNIFORM);
    /* X, W, R, B, sequence_lens, H0, C0, P, then dY, dY_h, dY_c */
    char all[260];
    snprintf(all, sizeof all, "X,W,R,%s,,%s,%s,,%s,%s,%s", r->bias ? "B" : "",
             r->states ? "H0" : "", r->states && op == IPRO_OP_LSTM ? "C0" : "",
             r->read[0] ? "dY" : "", r->read[1] ? "dYh" : "", r->read[2] ? "dYc" : "");
    snprintf(outputs, sizeof outputs,
             op == IPRO_OP_LSTM ? "dX,dW,dR,dB,dH0,dC0,dP" : "dX,dW,dR,dB,dH0");
    n = node(&c, "ipro.RecurrentGrad", IPRO_OP_RECURRENT_GRAD, all, outputs);
    set_int(n, "forward_op", op);
  } else {
    snprintf(outputs, sizeof outputs, "%s,%s%s", r->read[0] ? "Y" : "", r->read[1] ? "Yh" : "",
             op == IPRO_OP_LSTM ? (r->read[2] ? ",Yc" : ",") : "");
    n = node(&c, r->op_type, 0, inputs, outputs);
  }
  hand_require(ipro_node_set_string(n, "direction", r->direction) == IPRO_OK);
  if (r->activations)
    hand_require(ipro_node_set_string(n, "activations", r->activations) == IPRO_OK);
  set_int(n, "hidden_size", H);
  set_int(n, "layout", r->layout);
  if (op == IPRO_OP_GRU) set_int(n, "linear_before_reset", r->linear_before_reset);
  c.expect_loop = true;
  char label[200];
  snprintf(label, sizeof label, "%s%s", gradient ? "the gradient of " : "", r->label);
  run_case(onednn, &c, label, true);
}

static void recurrent_cases(ipro_backend *onednn) {
  static const recurrent_shape shapes[] = {
      {"a bidirectional LSTM with biases and initial states",
       "LSTM",
       "bidirectional",
       NULL,
       0,
       0,
       true,
       true,
       {true, true, true}},
      {"a batch-major LSTM, Y alone",
       "LSTM",
       "forward",
       NULL,
       1,
       0,
       false,
       false,
       {true, false, false}},
      {"a GRU (linear_before_reset 1), batch-major, biases, an initial state",
       "GRU",
       "forward",
       NULL,
       1,
       1,
       true,
       true,
       {true, true, false}},
      {"a GRU (linear_before_reset 0) in reverse, biases",
       "GRU",
       "reverse",
       NULL,
       0,
       0,
       true,
       false,
       {true, false, false}},
      {"a bidirectional GRU (linear_before_reset 0), an initial state",
       "GRU",
       "bidirectional",
       NULL,
       0,
       0,
       false,
       true,
       {true, true, false}},
      {"a bidirectional ReLU RNN with biases, Y_h alone",
       "RNN",
       "bidirectional",
       "Relu",
       0,
       0,
       true,
       false,
       {false, true, false}},
      {"a sigmoid RNN, batch-major, an initial state",
       "RNN",
       "forward",
       "Sigmoid",
       1,
       0,
       false,
       true,
       {true, true, false}},
  };
  for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
    for (int gradient = 0; gradient < 2; gradient++)
      recurrent_case(onednn, &shapes[k], gradient);
}

/* ---- Einsum ---- */

/* Einsum of two operands as oneDNN's matmul over the operands' strides (onednn_einsum.c), against
 * the reference kernel: attention's scores and values, MViTv2's relative positions and their
 * data gradient, a plain product; several summed letters (MViTv2's weight gradient) through
 * reorders, the output's letters in the product's order and not; declined: a letter one operand
 * alone sums over, and one operand. */
static void einsum_cases(ipro_backend *onednn) {
  static const struct {
    const char *equation;
    int a_rank, b_rank;
    int64_t a[5], b[5];
    bool supported;
  } cases[] = {
      {"bhqd,bhkd->bhqk", 4, 4, {2, 3, 4, 5}, {2, 3, 6, 5}, true},
      {"bhqk,bhkd->bhqd", 4, 4, {2, 3, 4, 6}, {2, 3, 6, 5}, true},
      {"byhwc,hkc->byhwk", 5, 3, {2, 3, 4, 5, 6}, {4, 7, 6}, true},
      {"byhwk,hkc->byhwc", 5, 3, {2, 3, 4, 5, 7}, {4, 7, 6}, true},
      {"ij,jk->ik", 2, 2, {5, 6}, {6, 7}, true},
      {"bqk,qkc->bqc", 3, 3, {2, 3, 5}, {3, 5, 2}, true},
      /* several summed letters: both operands reordered, the product reordered into Y */
      {"byhwc,byhwk->hkc", 5, 5, {2, 3, 4, 5, 6}, {2, 3, 4, 5, 7}, true},
      {"byhwc,byhwk->hck", 5, 5, {2, 3, 4, 5, 6}, {2, 3, 4, 5, 7}, true},
      {"abcd,cbde->ae", 4, 4, {2, 3, 4, 5}, {4, 3, 5, 6}, true},
      /* a letter one operand alone sums over: declined */
      {"abc,cd->ad", 3, 2, {2, 3, 4}, {4, 5}, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    one_node c = {0};
    input(&c, "A", cases[i].a_rank, cases[i].a, UNIFORM);
    input(&c, "B", cases[i].b_rank, cases[i].b, UNIFORM);
    ipro_node *n = node(&c, "Einsum", 0, "A,B", "Y");
    hand_require(ipro_node_set_string(n, "equation", cases[i].equation) == IPRO_OK);
    char label[96];
    snprintf(label, sizeof label, "Einsum %s", cases[i].equation);
    run_case(onednn, &c, label, cases[i].supported);
  }
  one_node c = {0};
  input(&c, "A", 2, (int64_t[]){4, 5}, UNIFORM);
  ipro_node *n = node(&c, "Einsum", 0, "A", "Y");
  hand_require(ipro_node_set_string(n, "equation", "ij->ji") == IPRO_OK);
  run_case(onednn, &c, "Einsum ij->ji (one operand)", false);
}

/* ReduceSum, ReduceMax, ReduceMin, ReduceMean, ReduceL2, ReduceL1, ReduceSumSquare, ReduceLogSum
 * and ReduceProd over axes other than a map's spatial ones (ReduceLogSumExp declined), and
 * ipro.ReduceMeanGrad over such axes (cpu_reduce.c's loops): against the reference, ties in the
 * maxima and minima; a reduction that is a copy (no axes, noop_with_empty_axes) is declined. */
static void reduce_axes_cases(ipro_backend *onednn) {
  static const struct {
    const char *label, *op;
    int n_axes;
    int64_t axes[3];
    int keepdims, noop;
    bool supported;
  } cases[] = {
      {"ReduceSum over the radix axis", "ReduceSum", 1, {1}, 0, 0, true},
      {"ReduceSum over the first and third axes", "ReduceSum", 2, {0, 2}, 1, 0, true},
      {"ReduceSum over every axis", "ReduceSum", 0, {0}, 0, 0, true},
      {"ReduceSum that is a copy", "ReduceSum", 0, {0}, 1, 1, false},
      {"ReduceMax over the channels", "ReduceMax", 1, {1}, 1, 0, true},
      {"ReduceMax over the innermost axis", "ReduceMax", 1, {3}, 0, 0, true},
      {"ReduceMin over the spatial axes", "ReduceMin", 2, {2, 3}, 0, 0, true},
      {"ReduceMean over the channels", "ReduceMean", 1, {1}, 1, 0, true},
      {"ReduceL2 over the channels (F.normalize's)", "ReduceL2", 1, {1}, 1, 0, true},
      {"ReduceL2 over the innermost axis", "ReduceL2", 1, {3}, 0, 0, true},
      {"ReduceL1 over the spatial axes", "ReduceL1", 2, {2, 3}, 0, 0, true},
      {"ReduceSumSquare over the channels", "ReduceSumSquare", 1, {1}, 1, 0, true},
      {"ReduceLogSum over the innermost axis", "ReduceLogSum", 1, {3}, 1, 0, true},
      {"ReduceProd over the rows", "ReduceProd", 1, {3}, 0, 0, true},
      {"ReduceProd over the channels", "ReduceProd", 1, {1}, 1, 0, true},
      /* each slice's maximum first, in workspace */
      {"ReduceLogSumExp over the spatial axes", "ReduceLogSumExp", 2, {2, 3}, 0, 0, true},
      {"ReduceLogSumExp over the channels", "ReduceLogSumExp", 1, {1}, 1, 0, true},
  };
  const int64_t dims[4] = {3, 4, 5, 6};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    one_node c = {0};
    data_kind kind = strcmp(cases[i].op, "ReduceSum") == 0      ? UNIFORM
                     : strcmp(cases[i].op, "ReduceLogSum") == 0 ? POSITIVE
                                                                : TIES;
    input(&c, "X", 4, dims, kind);
    char inputs[16] = "X";
    if (cases[i].n_axes) {
      hand_int64_initializer(c.graph, "axes", cases[i].n_axes, cases[i].axes);
      strcpy(inputs, "X,axes");
    }
    ipro_node *n = node(&c, cases[i].op, 0, inputs, "Y");
    set_int(n, "keepdims", cases[i].keepdims);
    set_int(n, "noop_with_empty_axes", cases[i].noop);
    c.expect_loop = cases[i].supported;
    run_case(onednn, &c, cases[i].label, cases[i].supported);
  }
  /* Expand (the same loop): over the map, over leading axes, and to the shape it has */
  static const struct {
    const char *label;
    int x_rank;
    int64_t x[4], shape[4];
  } expands[] = {
      {"Expand over the map (attention weights)", 4, {3, 4, 1, 1}, {3, 4, 5, 6}},
      {"Expand with leading axes added", 2, {5, 1}, {3, 4, 5, 6}},
      {"Expand to its own shape", 4, {3, 4, 5, 6}, {3, 4, 5, 6}},
  };
  for (size_t i = 0; i < sizeof expands / sizeof expands[0]; i++) {
    one_node c = {0};
    input(&c, "X", expands[i].x_rank, expands[i].x, UNIFORM);
    hand_int64_initializer(c.graph, "shape", 4, expands[i].shape);
    node(&c, "Expand", 0, "X,shape", "Y");
    c.expect_loop = true;
    run_case(onednn, &c, expands[i].label, true);
  }
  /* Tile: repeating dimensions of 1 only is Expand's loop; whole copies of longer ones are
   * declined (the reference kernel) */
  static const struct {
    const char *label;
    int64_t x[4], repeats[4];
    bool supported;
  } tiles[] = {
      {"Tile over the batch (x.repeat(N, 1, 1, 1))", {1, 4, 5, 6}, {3, 1, 1, 1}, true},
      {"Tile of the whole map, twice", {3, 4, 5, 6}, {1, 1, 2, 1}, false},
  };
  for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
    one_node c = {0};
    input(&c, "X", 4, tiles[i].x, UNIFORM);
    hand_int64_initializer(c.graph, "repeats", 4, tiles[i].repeats);
    node(&c, "Tile", 0, "X,repeats", "Y");
    c.expect_loop = tiles[i].supported;
    run_case(onednn, &c, tiles[i].label, tiles[i].supported);
  }
  /* ipro.ReduceExtremumGrad at PyTorch's ties: the inputs of the golden that
   * runtime.test_reference_backward holds the reference to (x, y, dy of torch.amax and
   * torch.amin), as initializers */
  ipro_golden_file golden;
  if (ipro_golden_load_relative("models/golden/reduce_extremum_ties.ipgd", &golden)) {
    for (int largest = 1; largest >= 0; largest--) {
      const int64_t x_dims[3] = {2, 3, 4}, kept[3] = {2, 1, 4}, dropped[2] = {2, 4};
      const ipro_golden_tensor *x = ipro_golden_expect(&golden, "x", 24),
                               *y = ipro_golden_expect(&golden, largest ? "y_max" : "y_min", 8),
                               *dy = ipro_golden_expect(&golden, largest ? "dy_max" : "dy_min", 8);
      if (!x || !y || !dy) continue;
      one_node c = {0};
      c.graph = hand_graph(19);
      hand_initializer(c.graph, "dY", IPRO_DTYPE_FLOAT, 3 - !largest, largest ? kept : dropped,
                       dy->data);
      hand_initializer(c.graph, "X", IPRO_DTYPE_FLOAT, 3, x_dims, x->data);
      hand_initializer(c.graph, "Y", IPRO_DTYPE_FLOAT, 3 - !largest, largest ? kept : dropped,
                       y->data);
      ipro_node *n =
          node(&c, "ipro.ReduceExtremumGrad", IPRO_OP_REDUCE_EXTREMUM_GRAD, "dY,X,Y", "dX");
      set_ints(n, "axes", 1, (int64_t[]){1});
      set_int(n, "keepdims", largest);
      set_ints(n, "input_shape", 3, x_dims);
      c.expect_loop = true;
      run_case(onednn, &c,
               largest ? "ipro.ReduceExtremumGrad of torch.amax at ties"
                       : "ipro.ReduceExtremumGrad of torch.amin at ties",
               true);
    }
    ipro_golden_release(&golden);
  }
  /* ipro.ReduceProdGrad at slices with no, one and two zeros: the golden's x and dy (torch.prod's,
   * which runtime.test_reference_backward holds the reference to) */
  if (ipro_golden_load_relative("models/golden/reduce_prod_zeros.ipgd", &golden)) {
    const int64_t x_dims[3] = {3, 4, 2}, reduced[2] = {3, 2};
    const ipro_golden_tensor *x = ipro_golden_expect(&golden, "x", 24),
                             *dy = ipro_golden_expect(&golden, "dy", 6);
    if (x && dy) {
      one_node c = {0};
      c.graph = hand_graph(19);
      hand_initializer(c.graph, "dY", IPRO_DTYPE_FLOAT, 2, reduced, dy->data);
      hand_initializer(c.graph, "X", IPRO_DTYPE_FLOAT, 3, x_dims, x->data);
      ipro_node *n = node(&c, "ipro.ReduceProdGrad", IPRO_OP_REDUCE_PROD_GRAD, "dY,X", "dX");
      set_ints(n, "axes", 1, (int64_t[]){1});
      set_int(n, "keepdims", 0);
      set_ints(n, "input_shape", 3, x_dims);
      c.expect_loop = true;
      run_case(onednn, &c, "ipro.ReduceProdGrad of torch.prod at zeros", true);
    }
    ipro_golden_release(&golden);
  }
  static const struct {
    const char *label;
    int n_axes;
    int64_t axes[2], dy[4];
    int keepdims;
  } gradients[] = {
      {"ipro.ReduceMeanGrad over the radix axis", 1, {1}, {3, 5, 6}, 0},
      {"ipro.ReduceMeanGrad over the first and last axes", 2, {0, 3}, {1, 4, 5, 1}, 1},
  };
  for (size_t i = 0; i < sizeof gradients / sizeof gradients[0]; i++) {
    one_node c = {0};
    input(&c, "dY", 4 - !gradients[i].keepdims, gradients[i].dy, UNIFORM);
    ipro_node *n = node(&c, "ipro.ReduceMeanGrad", IPRO_OP_REDUCE_MEAN_GRAD, "dY", "dX");
    set_ints(n, "axes", gradients[i].n_axes, gradients[i].axes);
    set_int(n, "keepdims", gradients[i].keepdims);
    set_ints(n, "input_shape", 4, dims);
    c.expect_loop = true;
    run_case(onednn, &c, gradients[i].label, true);
  }
}

/* ---- one training step of ResNet-8 ---- */

static void model_step(const char *name, const char *label, ipro_backend *onednn,
                       ipro_backend *reference) {
  char path[1024], relative[256], what[128];
  snprintf(relative, sizeof relative, "models/%s.onnx", name);
  ipro_test_path(path, sizeof path, relative);
  ipro_test_step_run on = {0}, alone = {0};
  float loss[2];
  if (!ipro_test_step_run_prepare(&on, path, 4, onednn, reference) ||
      !ipro_test_step_run_prepare(&alone, path, 4, reference, NULL) ||
      !ipro_test_step_runs_step(&on, &alone, 4, &random_state, label, loss)) {
    ipro_test_step_run_release(&on);
    ipro_test_step_run_release(&alone);
    return;
  }
  const ipro_graph *graph = on.graph;
  const ipro_forward_program *program = ipro_executor_program(on.executor);
  int steps = 0, views = 0;
  for (int s = 0; s < program->n_steps; s++)
    program->steps[s].is_view ? views++ : steps++;
  printf("%s training step (batch 4): %d of %d kernels on oneDNN, loss %.6f vs %.6f\n", label,
         ipro_executor_primary_steps(on.executor), steps, (double)loss[0], (double)loss[1]);
  bool counted[IPRO_OP_COUNT] = {false};
  printf("  on the reference:");
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *nd = &graph->nodes[n];
    if (!ipro_node_is_computed(graph, nd) || ipro_node_is_view(graph, nd) || counted[nd->op] ||
        onednn->supports_forward(onednn, graph, nd))
      continue;
    counted[nd->op] = true;
    printf(" %s", ipro_op_name(nd->op));
  }
  printf("\n");
  CHECK_MSG(ipro_executor_primary_steps(on.executor) > steps / 2,
            "%s: fewer than half of the kernels on oneDNN", label);
  double largest[3] = {0.0, 0.0, 0.0};
  int gradients =
      ipro_test_step_runs_compare_gradients(&on, &alone, label, true, &largest[0], &largest[1]);
  for (int n = 0; n < graph->n_nodes; n++)
    if (graph->nodes[n].op == IPRO_OP_BATCH_NORMALIZATION)
      for (int i = 3; i < 5; i++) {
        snprintf(what, sizeof what, "%s step: running statistic", label);
        double d = ipro_test_step_run_compare(&on, &alone, graph->nodes[n].inputs[i], what);
        if (d > largest[2]) largest[2] = d;
      }
  printf("  %d gradients; largest difference / tensor scale: gradients %.2g, updated parameters "
         "%.2g, running statistics %.2g\n",
         gradients, largest[0], largest[1], largest[2]);
  ipro_test_step_run_release(&on);
  ipro_test_step_run_release(&alone);
}

int main(void) {
  ipro_backend *onednn = NULL, *reference = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  if (!onednn || !reference) return ipro_test_finish();
  conv_cases(onednn);
  winograd_cases(onednn, ipro_test_cpu_has_avx512_core());
  batch_norm_cases(onednn);
  unary_cases(onednn);
  pool_cases(onednn);
  softmax_cases(onednn);
  sum_cases(onednn);
  slice_cases(onednn);
  reduce_to_shape_cases(onednn);
  reduce_axes_cases(onednn);
  einsum_cases(onednn);
  gather_elements_cases(onednn);
  recurrent_cases(onednn);
  model_step("resnet8_fmnist", "ResNet-8", onednn, reference);
  /* the data movers as reorders (Split, Slice, its gradient's Pad) and a tiny EfficientNet's
   * spatial means as global pools, its Mul by [N, C, 1, 1] and [N, 1, 1, 1] on our loop */
  model_step("split_cnn_fmnist", "split CNN", onednn, reference);
  model_step("effnet_tiny_dynamo_fmnist", "tiny EfficientNet", onednn, reference);
  /* InstanceNormalization (GroupNorm's and InstanceNorm2d's) and its gradient: layer
   * normalisation over [N·C, spatial] with the per-channel scale and sums on our loops */
  model_step("group_norm_cnn_fmnist", "GroupNorm CNN", onednn, reference);
  /* the Swin Transformer's windows: Pads whose pads were computed (their inputs made attributes),
   * patch merging's strided Slices as strided reorders, the bias tables' Gathers */
  model_step("swin_tiny_fmnist", "tiny Swin Transformer", onednn, reference);
  /* torch.export's RMSNorm: Sqrt and Reciprocal on oneDNN's eltwise both ways */
  model_step("rms_norm_mixer_dynamo_fmnist", "RMSNorm mixer", onednn, reference);
  /* the smooth activations on oneDNN's eltwise both ways (Selu a scaled Elu), Exp and Log, the
   * reductions L1 and Prod on our loops */
  model_step("smooth_activations_cnn_dynamo_fmnist", "smooth activations CNN", onednn, reference);
  onednn->destroy(onednn);
  reference->destroy(reference);
  return ipro_test_finish();
}
