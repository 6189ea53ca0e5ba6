/* The oneDNN backend's attribute mappings that neither the ONNX node tests nor the bundled models
 * reach: 1-D and 3-D Conv, dilated depthwise Conv with asymmetric pads, binary ops whose first
 * operand is the broadcast one or whose dimensions merge, batched and 1-D MatMul broadcasting, Gemm
 * with a column C, Softmax in coerce_2d form, pools with ceil_mode and dilations,
 * BatchNormalization in training form on a rank-3 input. Each case is one hand-built node on seeded
 * random data; where oneDNN takes it, its output must match the reference kernel's within rtol
 * 1e-4, atol 1e-5, and the cases it must decline (no faithful mapping) must be declined. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runtime/backend.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/check.h"
#include "tests/support/tensor_checks.h"

static uint64_t random_state = 0x9e3779b97f4a7c15u;

static float random_uniform(void) { return ipro_test_random_uniform(&random_state); }

/* A float initializer of random values (positive ones with `positive`, for variances). */
static void random_initializer(ipro_graph *graph, const char *name, int rank, const int64_t *dims,
                               bool positive) {
  int64_t count = 1;
  for (int d = 0; d < rank; d++)
    count *= dims[d];
  float *values = malloc((size_t)count * sizeof *values);
  hand_require(values != NULL);
  for (int64_t i = 0; i < count; i++)
    values[i] = positive ? 0.5f + fabsf(random_uniform()) : random_uniform();
  hand_initializer(graph, name, IPRO_DTYPE_FLOAT, rank, dims, values);
  free(values);
}

/* Normalises and infers the one-node graph, then runs its node on both backends. */
static void check_case(ipro_backend *onednn, ipro_graph *graph, const char *label,
                       bool expect_supported) {
  ipro_error err = {{0}};
  ipro_status status = ipro_graph_normalize(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, 0, &err);
  CHECK_MSG(status == IPRO_OK, "%s: %s", label, err.message);
  if (status != IPRO_OK) {
    ipro_graph_free(graph);
    return;
  }
  const ipro_node *node = &graph->nodes[0];
  bool supported = ipro_test_expect_support(onednn, graph, node, label, expect_supported);
  void *inputs[64] = {NULL}, *expected[64] = {NULL}, *got[64] = {NULL}; /* a Concat's most */
  for (int i = 0; i < node->n_inputs; i++) {
    ipro_tensor *tensor = ipro_node_input(graph, node, i);
    if (!tensor) continue;
    if (tensor->data) {
      inputs[i] = tensor->data;
      continue;
    }
    size_t bytes = ipro_test_tensor_bytes(tensor);
    inputs[i] = malloc(bytes);
    hand_require(inputs[i] != NULL);
    for (size_t k = 0; k < bytes / sizeof(float); k++)
      ((float *)inputs[i])[k] = random_uniform();
  }
  for (int i = 0; i < node->n_outputs; i++) {
    const ipro_tensor *tensor = ipro_node_output(graph, node, i);
    if (!tensor) continue;
    expected[i] = calloc(1, ipro_test_tensor_bytes(tensor));
    got[i] = malloc(ipro_test_tensor_bytes(tensor));
    hand_require(expected[i] && got[i]);
    for (size_t k = 0; k < ipro_test_tensor_bytes(tensor) / sizeof(float); k++)
      ((float *)got[i])[k] = NAN;
  }
  ipro_kernel_context context = {.seed = 0, .step = 0};
  CHECK_OK(ipro_reference_forward_table()[node->op](graph, node, inputs, expected, &context, &err),
           &err);
  ipro_kernel *kernel = NULL;
  if (supported) CHECK_OK(onednn->prepare_forward(onednn, graph, node, &kernel, &err), &err);
  if (kernel) {
    ipro_test_run_kernel(onednn, kernel, inputs, got, false);
    kernel->destroy(kernel);
    for (int i = 0; i < node->n_outputs; i++) {
      const ipro_tensor *tensor = ipro_node_output(graph, node, i);
      if (!tensor) continue;
      int64_t count = ipro_shape_elements(&tensor->shape), bad = 0, worst = 0;
      double worst_excess = -1;
      for (int64_t k = 0; k < count; k++) {
        double g = ((float *)got[i])[k], e = ((float *)expected[i])[k];
        double excess = ipro_test_excess(g, e, 1e-5, 1e-4);
        if (excess > 0) bad++;
        if (excess > worst_excess) worst_excess = excess, worst = k;
      }
      CHECK_MSG(bad == 0, "%s: output %d: %lld of %lld differ, worst %lld: %.9g vs %.9g", label, i,
                (long long)bad, (long long)count, (long long)worst, ((float *)got[i])[worst],
                ((float *)expected[i])[worst]);
    }
  }
  for (int i = 0; i < node->n_inputs; i++) {
    const ipro_tensor *tensor = ipro_node_input(graph, node, i);
    if (tensor && !tensor->data) free(inputs[i]);
  }
  for (int i = 0; i < node->n_outputs; i++)
    free(expected[i]), free(got[i]);
  ipro_graph_free(graph);
}

static void set_ints(ipro_node *node, const char *name, int count, const int64_t *values) {
  hand_require(ipro_node_set_ints(node, name, values, count) == IPRO_OK);
}

static void conv_cases(ipro_backend *onednn) {
  { /* 1-D, grouped, dilated, strided, asymmetric pads, bias */
    ipro_graph *graph = hand_graph(17);
    hand_input(graph, "X", 3, (int64_t[]){2, 4, 11});
    random_initializer(graph, "W", 3, (int64_t[]){6, 2, 3}, false);
    random_initializer(graph, "B", 1, (int64_t[]){6}, false);
    ipro_node *node = hand_node(graph, "conv", "Conv", "X,W,B", "Y");
    hand_require(ipro_node_set_int(node, "group", 2) == IPRO_OK);
    set_ints(node, "dilations", 1, (int64_t[]){2});
    set_ints(node, "strides", 1, (int64_t[]){2});
    set_ints(node, "pads", 2, (int64_t[]){1, 2});
    hand_output(graph, "Y");
    check_case(onednn, graph, "Conv 1-D grouped dilated", true);
  }
  { /* 2-D depthwise, dilated, strided, asymmetric pads, no bias */
    ipro_graph *graph = hand_graph(17);
    hand_input(graph, "X", 4, (int64_t[]){2, 8, 9, 7});
    random_initializer(graph, "W", 4, (int64_t[]){8, 1, 3, 3}, false);
    ipro_node *node = hand_node(graph, "conv", "Conv", "X,W", "Y");
    hand_require(ipro_node_set_int(node, "group", 8) == IPRO_OK);
    set_ints(node, "dilations", 2, (int64_t[]){1, 2});
    set_ints(node, "strides", 2, (int64_t[]){2, 1});
    set_ints(node, "pads", 4, (int64_t[]){0, 1, 2, 1});
    hand_output(graph, "Y");
    check_case(onednn, graph, "Conv depthwise dilated", true);
  }
  { /* 3-D with SAME_UPPER (resolved into asymmetric pads by normalisation) */
    ipro_graph *graph = hand_graph(17);
    hand_input(graph, "X", 5, (int64_t[]){1, 2, 5, 6, 4});
    random_initializer(graph, "W", 5, (int64_t[]){3, 2, 2, 3, 2}, false);
    ipro_node *node = hand_node(graph, "conv", "Conv", "X,W", "Y");
    hand_require(ipro_node_set_string(node, "auto_pad", "SAME_UPPER") == IPRO_OK);
    set_ints(node, "strides", 3, (int64_t[]){2, 2, 1});
    hand_output(graph, "Y");
    check_case(onednn, graph, "Conv 3-D same_upper", true);
  }
}

static void binary_case(ipro_backend *onednn, const char *op, int a_rank, const int64_t *a_dims,
                        int b_rank, const int64_t *b_dims, bool expect_supported) {
  ipro_graph *graph = hand_graph(17);
  hand_input(graph, "A", a_rank, a_dims);
  hand_input(graph, "B", b_rank, b_dims);
  hand_node(graph, "binary", op, "A,B", "Y");
  hand_output(graph, "Y");
  char label[128];
  snprintf(label, sizeof label, "%s rank %d by rank %d", op, a_rank, b_rank);
  check_case(onednn, graph, label, expect_supported);
}

static void binary_cases(ipro_backend *onednn) {
  /* The first operand broadcast: Add and Mul swap, Sub negates, Div is declined. */
  binary_case(onednn, "Add", 1, (int64_t[]){5}, 3, (int64_t[]){2, 3, 5}, true);
  binary_case(onednn, "Mul", 2, (int64_t[]){3, 1}, 3, (int64_t[]){2, 3, 4}, true);
  binary_case(onednn, "Sub", 2, (int64_t[]){1, 5}, 2, (int64_t[]){4, 5}, true);
  binary_case(onednn, "Div", 2, (int64_t[]){1, 5}, 2, (int64_t[]){4, 5}, false);
  /* Both operands broadcast: declined. */
  binary_case(onednn, "Add", 2, (int64_t[]){3, 1}, 2, (int64_t[]){1, 4}, false);
  /* The second operand broadcast in the middle: oneDNN's own form. */
  binary_case(onednn, "Div", 4, (int64_t[]){2, 3, 4, 5}, 4, (int64_t[]){1, 3, 1, 5}, true);
  /* Dimensions merged where each operand is whole or broadcast alike (attention's bias over the
   * windows: [2,4,1,3,5] + [1,4,1,3,5] is [2,60] + [1,60]; the Div keeps an alternating form;
   * the Sub's first operand is the broadcast one, and Y has 1s among its dimensions). */
  binary_case(onednn, "Add", 5, (int64_t[]){2, 4, 1, 3, 5}, 5, (int64_t[]){1, 4, 1, 3, 5}, true);
  binary_case(onednn, "Mul", 5, (int64_t[]){2, 4, 3, 1, 5}, 3, (int64_t[]){3, 1, 5}, true);
  binary_case(onednn, "Div", 5, (int64_t[]){2, 3, 4, 5, 6}, 5, (int64_t[]){1, 3, 1, 1, 6}, true);
  binary_case(onednn, "Sub", 4, (int64_t[]){1, 1, 4, 5}, 4, (int64_t[]){3, 2, 4, 5}, true);
  /* Max and Min of two operands (ReduceL2's gradient's Max by a scalar), either one broadcast */
  binary_case(onednn, "Max", 2, (int64_t[]){4, 5}, 0, NULL, true);
  binary_case(onednn, "Max", 2, (int64_t[]){1, 5}, 2, (int64_t[]){4, 5}, true);
  binary_case(onednn, "Min", 3, (int64_t[]){2, 3, 4}, 1, (int64_t[]){4}, true);
}

static void matrix_cases(ipro_backend *onednn) {
  { /* batch dimensions broadcast on both sides */
    ipro_graph *graph = hand_graph(17);
    hand_input(graph, "A", 4, (int64_t[]){2, 1, 3, 4});
    hand_input(graph, "B", 3, (int64_t[]){5, 4, 6});
    hand_node(graph, "matmul", "MatMul", "A,B", "Y");
    hand_output(graph, "Y");
    check_case(onednn, graph, "MatMul batch broadcast", true);
  }
  { /* a 1-D first operand */
    ipro_graph *graph = hand_graph(17);
    hand_input(graph, "A", 1, (int64_t[]){4});
    hand_input(graph, "B", 3, (int64_t[]){2, 4, 3});
    hand_node(graph, "matmul", "MatMul", "A,B", "Y");
    hand_output(graph, "Y");
    check_case(onednn, graph, "MatMul 1-D by 3-D", true);
  }
  { /* transposes, alpha, beta and a column C */
    ipro_graph *graph = hand_graph(17);
    hand_input(graph, "A", 2, (int64_t[]){7, 3});
    hand_input(graph, "B", 2, (int64_t[]){5, 7});
    random_initializer(graph, "C", 2, (int64_t[]){3, 1}, false);
    ipro_node *node = hand_node(graph, "gemm", "Gemm", "A,B,C", "Y");
    hand_require(ipro_node_set_int(node, "transA", 1) == IPRO_OK);
    hand_require(ipro_node_set_int(node, "transB", 1) == IPRO_OK);
    hand_require(ipro_node_set_float(node, "alpha", 0.5f) == IPRO_OK);
    hand_require(ipro_node_set_float(node, "beta", -2.0f) == IPRO_OK);
    hand_output(graph, "Y");
    check_case(onednn, graph, "Gemm transposed column C", true);
  }
}

static void normalization_cases(ipro_backend *onednn) {
  { /* opset 11 Softmax flattens from axis 1 (coerce_2d) */
    ipro_graph *graph = hand_graph(11);
    hand_input(graph, "X", 3, (int64_t[]){2, 3, 4});
    ipro_node *node = hand_node(graph, "softmax", "Softmax", "X", "Y");
    hand_require(ipro_node_set_int(node, "axis", 1) == IPRO_OK);
    hand_output(graph, "Y");
    check_case(onednn, graph, "Softmax coerce_2d", true);
  }
  { /* LogSoftmax over a middle axis */
    ipro_graph *graph = hand_graph(13);
    hand_input(graph, "X", 4, (int64_t[]){2, 3, 4, 5});
    ipro_node *node = hand_node(graph, "logsoftmax", "LogSoftmax", "X", "Y");
    hand_require(ipro_node_set_int(node, "axis", 1) == IPRO_OK);
    hand_output(graph, "Y");
    check_case(onednn, graph, "LogSoftmax middle axis", true);
  }
  { /* training form on (N, C, L), with both running outputs */
    ipro_graph *graph = hand_graph(15);
    hand_input(graph, "X", 3, (int64_t[]){4, 3, 5});
    random_initializer(graph, "scale", 1, (int64_t[]){3}, false);
    random_initializer(graph, "bias", 1, (int64_t[]){3}, false);
    random_initializer(graph, "mean", 1, (int64_t[]){3}, false);
    random_initializer(graph, "var", 1, (int64_t[]){3}, true);
    ipro_node *node = hand_node(graph, "bn", "BatchNormalization", "X,scale,bias,mean,var",
                                "Y,running_mean,running_var");
    hand_require(ipro_node_set_int(node, "training_mode", 1) == IPRO_OK);
    hand_require(ipro_node_set_float(node, "momentum", 0.8f) == IPRO_OK);
    hand_output(graph, "Y");
    check_case(onednn, graph, "BatchNormalization training rank 3", true);
  }
}

static void pool_case(ipro_backend *onednn, const char *op, bool include_pad, bool expect_supported,
                      const char *label) {
  ipro_graph *graph = hand_graph(19);
  hand_input(graph, "X", 4, (int64_t[]){1, 2, 7, 8});
  ipro_node *node = hand_node(graph, "pool", op, "X", "Y");
  set_ints(node, "kernel_shape", 2, (int64_t[]){3, 2});
  set_ints(node, "strides", 2, (int64_t[]){2, 3});
  set_ints(node, "dilations", 2, (int64_t[]){1, 2});
  set_ints(node, "pads", 4, (int64_t[]){1, 0, 1, 0}); /* the last column window is ceil_mode's */
  hand_require(ipro_node_set_int(node, "ceil_mode", 1) == IPRO_OK);
  if (include_pad) hand_require(ipro_node_set_int(node, "count_include_pad", 1) == IPRO_OK);
  hand_output(graph, "Y");
  check_case(onednn, graph, label, expect_supported);
}

static void elementwise_cases(ipro_backend *onednn) {
  pool_case(onednn, "MaxPool", false, true, "MaxPool ceil_mode dilated");
  pool_case(onednn, "AveragePool", false, true, "AveragePool ceil_mode exclude_pad");
  /* The ceil_mode window hangs past the declared pads, which ONNX does not count. */
  pool_case(onednn, "AveragePool", true, false, "AveragePool ceil_mode include_pad");
  {
    ipro_graph *graph = hand_graph(13);
    hand_input(graph, "X", 2, (int64_t[]){3, 4});
    float low = -0.25f;
    hand_initializer(graph, "min", IPRO_DTYPE_FLOAT, 0, NULL, &low);
    hand_node(graph, "clip", "Clip", "X,min", "Y");
    hand_output(graph, "Y");
    check_case(onednn, graph, "Clip min only", true);
  }
  {
    ipro_graph *graph = hand_graph(13);
    hand_input(graph, "A", 3, (int64_t[]){2, 1, 3});
    hand_input(graph, "B", 3, (int64_t[]){2, 4, 3});
    hand_input(graph, "C", 3, (int64_t[]){2, 2, 3});
    ipro_node *node = hand_node(graph, "concat", "Concat", "A,B,C", "Y");
    hand_require(ipro_node_set_int(node, "axis", -2) == IPRO_OK);
    hand_output(graph, "Y");
    check_case(onednn, graph, "Concat negative axis", true);
  }
  {
    /* the widest Concat the frontend takes (64 inputs, frontend/ops/shape_compute.c): one
     * primitive argument per input, beyond the few a run keeps on its stack */
    enum { INPUTS = 64 };
    ipro_graph *graph = hand_graph(13);
    char names[INPUTS * 8] = "", name[8];
    for (int i = 0; i < INPUTS; i++) {
      snprintf(name, sizeof name, "I%d", i);
      hand_input(graph, name, 2, (int64_t[]){2, 1 + i % 3});
      if (i) strcat(names, ",");
      strcat(names, name);
    }
    ipro_node *node = hand_node(graph, "concat", "Concat", names, "Y");
    hand_require(ipro_node_set_int(node, "axis", 1) == IPRO_OK);
    hand_output(graph, "Y");
    check_case(onednn, graph, "Concat of 64 inputs", true);
  }
}

int main(void) {
  ipro_error err = {{0}};
  ipro_backend *onednn = NULL;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  if (!onednn) return ipro_test_finish();
  conv_cases(onednn);
  binary_cases(onednn);
  matrix_cases(onednn);
  normalization_cases(onednn);
  elementwise_cases(onednn);
  CHECK_EQ_INT(onednn->bytes_in_use, 0);
  onednn->destroy(onednn);
  return ipro_test_finish();
}
