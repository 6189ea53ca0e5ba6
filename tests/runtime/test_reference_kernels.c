/* Checks of the reference kernels on what the ONNX node tests do not cover: every op has a kernel,
 * 1-D and 3-D convolution, grouped and dilated convolution against a direct sum, MaxPool's
 * column-major indices, Dropout's training mask, BatchNormalization's running statistics, Pad's
 * non-constant modes, Resize align_corners, Gather with int32 negative indices, and the
 * reference backend under the executor on a two-node graph. Each expected value is worked out by
 * hand or by a straightforward formula written here, independent of the kernel's loop structure.
 * Graphs are built directly (shapes set by hand), so nothing here depends on normalisation or
 * inference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "runtime/executor.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/support/check.h"
#include "tests/support/tensor_checks.h"

#define CHECK_NEAR(got, want)                                                                      \
  do {                                                                                             \
    double check_g_ = (double)(got), check_w_ = (double)(want);                                    \
    ipro_test_record(fabs(check_g_ - check_w_) <= 1e-5 + 1e-4 * fabs(check_w_), __FILE__,          \
                     __LINE__, "%s == %s (%.9g vs %.9g)", #got, #want, check_g_, check_w_);        \
  } while (0)

/* A node of op_type over existing tensors; returns its index. */
static int add_node(ipro_graph *graph, const char *op_type, int n_inputs, const int *inputs,
                    int n_outputs, const int *outputs) {
  int n = ipro_graph_add_node(graph, op_type, op_type, n_inputs, n_outputs);
  for (int i = 0; i < n_inputs; i++)
    graph->nodes[n].inputs[i] = inputs[i];
  for (int i = 0; i < n_outputs; i++) {
    graph->nodes[n].outputs[i] = outputs[i];
    if (outputs[i] >= 0) graph->tensors[outputs[i]].producer = n;
  }
  return n;
}

static ipro_status run_kernel(const ipro_graph *graph, int n, void *const *inputs,
                              void *const *outputs, const ipro_kernel_context *context,
                              ipro_error *err) {
  const ipro_node *node = &graph->nodes[n];
  return ipro_reference_forward_table()[node->op](graph, node, inputs, outputs, context, err);
}

static void test_every_op_has_a_kernel(void) {
  const ipro_reference_forward_fn *table = ipro_reference_forward_table();
  for (int op = 0; op < IPRO_OP_COUNT; op++)
    CHECK_MSG(table[op] != NULL, "op %d has no kernel", op);
}

/* X = 1..5, W = [1, 0, -1], B = 0.5, pads 1/1, stride 2: windows over [0,1,2,3,4,5,0] at 0, 2, 4.
 */
static void test_conv_1d(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 1, 5});
  int w = ipro_test_add_tensor(graph, "w", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 1, 3});
  int b = ipro_test_add_tensor(graph, "b", IPRO_DTYPE_FLOAT, 1, (int64_t[]){1});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 1, 3});
  int n = add_node(graph, "Conv", 3, (int[]){x, w, b}, 1, (int[]){y});
  ipro_node_set_ints(&graph->nodes[n], "pads", (int64_t[]){1, 1}, 2);
  ipro_node_set_ints(&graph->nodes[n], "strides", (int64_t[]){2}, 1);
  float xs[] = {1, 2, 3, 4, 5}, ws[] = {1, 0, -1}, bs[] = {0.5f}, ys[3];
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){xs, ws, bs}, (void *[]){ys}, NULL, &err), &err);
  CHECK_NEAR(ys[0], 0 - 2 + 0.5);
  CHECK_NEAR(ys[1], 2 - 4 + 0.5);
  CHECK_NEAR(ys[2], 4 - 0 + 0.5);
  ipro_graph_free(graph);
}

static float pseudo_random(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return (float)((*state >> 8) & 0xFFFF) / 65536.0f - 0.5f;
}

/* Conv 2-D with groups 2, dilation 2, stride 2 and asymmetric pads, against the defining sum
 * y[n,m,i,j] = b[m] + sum_{c,p,q} x[n, g*Cg + c, i*s - pad_top + p*d, j*s - pad_left + q*d]
 * w[m,c,p,q] with out-of-range x read as 0. The same data as a 3-D convolution of depth 1 must
 * agree. */
static void test_conv_grouped_dilated(void) {
  enum { N = 2, C = 4, H = 7, W = 6, M = 6, G = 2, K = 3, S = 2, D = 2 };
  const int64_t pads[4] = {2, 1, 1, 2}; /* top, left, bottom, right */
  const int64_t out_h = (H + pads[0] + pads[2] - D * (K - 1) - 1) / S + 1;
  const int64_t out_w = (W + pads[1] + pads[3] - D * (K - 1) - 1) / S + 1;
  static float xs[N * C * H * W], ws[M * (C / G) * K * K], bs[M], ys[N * M * 16], y3[N * M * 16];
  unsigned state = 7;
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
    xs[i] = pseudo_random(&state);
  for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
    ws[i] = pseudo_random(&state);
  for (size_t i = 0; i < sizeof bs / sizeof bs[0]; i++)
    bs[i] = pseudo_random(&state);

  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 4, (int64_t[]){N, C, H, W});
  int w = ipro_test_add_tensor(graph, "w", IPRO_DTYPE_FLOAT, 4, (int64_t[]){M, C / G, K, K});
  int b = ipro_test_add_tensor(graph, "b", IPRO_DTYPE_FLOAT, 1, (int64_t[]){M});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 4, (int64_t[]){N, M, out_h, out_w});
  int x3 = ipro_test_add_tensor(graph, "x3", IPRO_DTYPE_FLOAT, 5, (int64_t[]){N, C, 1, H, W});
  int w3 = ipro_test_add_tensor(graph, "w3", IPRO_DTYPE_FLOAT, 5, (int64_t[]){M, C / G, 1, K, K});
  int y3t =
      ipro_test_add_tensor(graph, "y3", IPRO_DTYPE_FLOAT, 5, (int64_t[]){N, M, 1, out_h, out_w});
  int two = add_node(graph, "Conv", 3, (int[]){x, w, b}, 1, (int[]){y});
  int three = add_node(graph, "Conv", 3, (int[]){x3, w3, b}, 1, (int[]){y3t});
  ipro_node_set_ints(&graph->nodes[two], "pads", pads, 4);
  ipro_node_set_ints(&graph->nodes[two], "strides", (int64_t[]){S, S}, 2);
  ipro_node_set_ints(&graph->nodes[two], "dilations", (int64_t[]){D, D}, 2);
  ipro_node_set_int(&graph->nodes[two], "group", G);
  ipro_node_set_ints(&graph->nodes[three], "pads", (int64_t[]){0, 2, 1, 0, 1, 2}, 6);
  ipro_node_set_ints(&graph->nodes[three], "strides", (int64_t[]){1, S, S}, 3);
  ipro_node_set_ints(&graph->nodes[three], "dilations", (int64_t[]){1, D, D}, 3);
  ipro_node_set_int(&graph->nodes[three], "group", G);
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, two, (void *[]){xs, ws, bs}, (void *[]){ys}, NULL, &err), &err);
  CHECK_OK(run_kernel(graph, three, (void *[]){xs, ws, bs}, (void *[]){y3}, NULL, &err), &err);
  int cg = C / G, mg = M / G;
  double worst = 0.0;
  for (int n = 0; n < N; n++)
    for (int m = 0; m < M; m++)
      for (int i = 0; i < out_h; i++)
        for (int j = 0; j < out_w; j++) {
          double sum = bs[m];
          for (int c = 0; c < cg; c++)
            for (int p = 0; p < K; p++)
              for (int q = 0; q < K; q++) {
                int64_t r = i * S - pads[0] + p * D, s = j * S - pads[1] + q * D;
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                sum += (double)xs[((n * C + (m / mg) * cg + c) * H + r) * W + s] *
                       ws[((m * cg + c) * K + p) * K + q];
              }
          int64_t at = ((n * M + m) * out_h + i) * out_w + j;
          worst = fmax(worst, fabs(ys[at] - sum));
          worst = fmax(worst, fabs(y3[at] - sum));
        }
  CHECK_MSG(worst < 1e-5, "grouped dilated conv differs from the direct sum by %g", worst);
  ipro_graph_free(graph);
}

/* X = [[1,5,2],[4,3,6]], 2x2 windows: maxima 5 at (0,1) and 6 at (1,2). Column-major spatial
 * indices are h + w * H: 0 + 1*2 = 2 and 1 + 2*2 = 5; row-major h * W + w: 1 and 5. */
static void test_max_pool_indices(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 2, 3});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 1, 2});
  int i = ipro_test_add_tensor(graph, "i", IPRO_DTYPE_INT64, 4, (int64_t[]){1, 1, 1, 2});
  int n = add_node(graph, "MaxPool", 1, (int[]){x}, 2, (int[]){y, i});
  ipro_node_set_ints(&graph->nodes[n], "kernel_shape", (int64_t[]){2, 2}, 2);
  float xs[] = {1, 5, 2, 4, 3, 6}, ys[2];
  int64_t is[2];
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){xs}, (void *[]){ys, is}, NULL, &err), &err);
  CHECK_NEAR(ys[0], 5);
  CHECK_NEAR(ys[1], 6);
  CHECK_EQ_INT(is[0], 1);
  CHECK_EQ_INT(is[1], 5);
  ipro_node_set_int(&graph->nodes[n], "storage_order", 1);
  CHECK_OK(run_kernel(graph, n, (void *[]){xs}, (void *[]){ys, is}, NULL, &err), &err);
  CHECK_EQ_INT(is[0], 2);
  CHECK_EQ_INT(is[1], 5);
  ipro_graph_free(graph);
}

/* splitmix64 as Vigna published it (xoshiro's seeding generator, prng.di.unimi.it/splitmix64.c):
 * the state advanced by the golden gamma, then two xor-shift-multiply rounds and a final
 * xor-shift; written here from that definition, so that the kernel's own is not its oracle.
 * Pinned below by the first output of the state 0, 0xE220A8397B1DCDAF. */
static uint64_t splitmix64_published(uint64_t state) {
  uint64_t z = state + UINT64_C(0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* The documented draw (runtime/reference/normalization.c): element i of a node at a step keeps
 * its value when the top 24 bits of splitmix64(splitmix64(splitmix64(seed) ^ step) ^ i), as a
 * fraction of 2^24, are at least the ratio. */
static bool dropout_keeps(uint64_t seed, uint64_t step, uint64_t i, float ratio) {
  uint64_t bits = splitmix64_published(splitmix64_published(splitmix64_published(seed) ^ step) ^ i);
  return (float)(bits >> 40) * (1.0f / 16777216.0f) >= ratio;
}

/* Training-mode Dropout: the mask is exactly the documented hash test, kept values are scaled by
 * 1 / (1 - ratio), about 1 - ratio of the elements survive, and the mask depends on the step and
 * on the node. */
static void test_dropout_training(void) {
  CHECK_MSG(splitmix64_published(0) == UINT64_C(0xE220A8397B1DCDAF),
            "splitmix64 of the state 0 is %llx, not the published first output",
            (unsigned long long)splitmix64_published(0));
  enum { COUNT = 20000 };
  const float ratio = 0.25f;
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 1, (int64_t[]){COUNT});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 1, (int64_t[]){COUNT});
  int m = ipro_test_add_tensor(graph, "m", IPRO_DTYPE_BOOL, 1, (int64_t[]){COUNT});
  int n = add_node(graph, "Dropout", 1, (int[]){x}, 2, (int[]){y, m});
  ipro_node_set_float(&graph->nodes[n], "ratio", ratio);
  ipro_node_set_int(&graph->nodes[n], "training_mode", 1);
  float *xs = malloc(COUNT * sizeof *xs), *ys = malloc(COUNT * sizeof *ys);
  bool *mask = malloc(COUNT), *mask_next = malloc(COUNT);
  for (int i = 0; i < COUNT; i++)
    xs[i] = 2.0f;
  ipro_kernel_context context = {.seed = 42, .step = 3};
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){xs}, (void *[]){ys, mask}, &context, &err), &err);
  int kept = 0, wrong = 0;
  for (int i = 0; i < COUNT; i++) {
    bool expected =
        dropout_keeps(42 ^ ipro_node_random_stream(&graph->nodes[n]), 3, (uint64_t)i, ratio);
    float value = expected ? 2.0f / (1.0f - ratio) : 0.0f;
    if (mask[i] != expected || fabsf(ys[i] - value) > 1e-6f) wrong++;
    kept += mask[i];
  }
  CHECK_EQ_INT(wrong, 0);
  CHECK_MSG(fabs((double)kept / COUNT - (1.0 - ratio)) < 0.02, "kept fraction %g",
            (double)kept / COUNT);
  /* a second Dropout of the same shape at the same step draws its own mask (its name's stream;
   * both once drew seed 0's, so every Dropout of a shape in a network dropped the same units) */
  int twin = add_node(graph, "Dropout", 1, (int[]){x}, 2, (int[]){y, m});
  char *twin_name = malloc(sizeof "Dropout_1");
  CHECK(twin_name != NULL);
  memcpy(twin_name, "Dropout_1", sizeof "Dropout_1");
  free(graph->nodes[twin].name);
  graph->nodes[twin].name = twin_name;
  ipro_node_set_float(&graph->nodes[twin], "ratio", ratio);
  ipro_node_set_int(&graph->nodes[twin], "training_mode", 1);
  CHECK(strcmp(graph->nodes[twin].name, graph->nodes[n].name) != 0);
  CHECK_OK(run_kernel(graph, twin, (void *[]){xs}, (void *[]){ys, mask_next}, &context, &err),
           &err);
  CHECK_MSG(memcmp(mask, mask_next, COUNT) != 0, "two Dropouts drew one mask");
  context.step = 4;
  CHECK_OK(run_kernel(graph, n, (void *[]){xs}, (void *[]){ys, mask_next}, &context, &err), &err);
  CHECK(memcmp(mask, mask_next, COUNT) != 0);
  /* Inference mode: a copy, mask all true. */
  ipro_node_set_int(&graph->nodes[n], "training_mode", 0);
  CHECK_OK(run_kernel(graph, n, (void *[]){xs}, (void *[]){ys, mask}, &context, &err), &err);
  int copied = 0;
  for (int i = 0; i < COUNT; i++)
    copied += ys[i] == 2.0f && mask[i];
  CHECK_EQ_INT(copied, COUNT);
  free(xs), free(ys), free(mask), free(mask_next);
  ipro_graph_free(graph);
}

/* X (2, 1, 2) = 1, 2, 3, 6: batch mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5. */
static void test_batch_normalization_training(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 3, (int64_t[]){2, 1, 2});
  int p[4];
  const char *names[] = {"scale", "bias", "mean", "var"};
  for (int i = 0; i < 4; i++)
    p[i] = ipro_test_add_tensor(graph, names[i], IPRO_DTYPE_FLOAT, 1, (int64_t[]){1});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 3, (int64_t[]){2, 1, 2});
  int rm = ipro_test_add_tensor(graph, "rm", IPRO_DTYPE_FLOAT, 1, (int64_t[]){1});
  int rv = ipro_test_add_tensor(graph, "rv", IPRO_DTYPE_FLOAT, 1, (int64_t[]){1});
  int n = add_node(graph, "BatchNormalization", 5, (int[]){x, p[0], p[1], p[2], p[3]}, 3,
                   (int[]){y, rm, rv});
  ipro_node_set_int(&graph->nodes[n], "training_mode", 1);
  ipro_node_set_float(&graph->nodes[n], "momentum", 0.9f);
  ipro_node_set_float(&graph->nodes[n], "epsilon", 1e-5f);
  float xs[] = {1, 2, 3, 6}, scale[] = {2}, bias[] = {0.5f}, mean[] = {1}, var[] = {2};
  float ys[4], running_mean[1], running_var[1];
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){xs, scale, bias, mean, var},
                      (void *[]){ys, running_mean, running_var}, NULL, &err),
           &err);
  for (int i = 0; i < 4; i++)
    CHECK_NEAR(ys[i], (xs[i] - 3.0) / sqrt(3.5 + 1e-5) * 2.0 + 0.5);
  CHECK_NEAR(running_mean[0], 0.9 * 1 + 0.1 * 3);
  CHECK_NEAR(running_var[0], 0.9 * 2 + 0.1 * 3.5);
  ipro_graph_free(graph);
}

/* [1, 2, 3] padded by 2 on both sides in each mode. */
static void test_pad_modes(void) {
  static const struct {
    const char *mode;
    float expected[7];
  } cases[] = {
      {"constant", {9, 9, 1, 2, 3, 9, 9}},
      {"edge", {1, 1, 1, 2, 3, 3, 3}},
      {"reflect", {3, 2, 1, 2, 3, 2, 1}},
      {"wrap", {2, 3, 1, 2, 3, 1, 2}},
  };
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 3});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 7});
  int n = add_node(graph, "Pad", 1, (int[]){x}, 1, (int[]){y});
  ipro_node_set_ints(&graph->nodes[n], "pads", (int64_t[]){0, 2, 0, 2}, 4);
  ipro_node_set_float(&graph->nodes[n], "value", 9.0f);
  float xs[] = {1, 2, 3}, ys[7];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    ipro_node_set_string(&graph->nodes[n], "mode", cases[c].mode);
    ipro_error err = {{0}};
    CHECK_OK(run_kernel(graph, n, (void *[]){xs}, (void *[]){ys}, NULL, &err), &err);
    for (int i = 0; i < 7; i++)
      CHECK_MSG(ys[i] == cases[c].expected[i], "%s: element %d is %g, expected %g", cases[c].mode,
                i, (double)ys[i], (double)cases[c].expected[i]);
  }
  ipro_graph_free(graph);
}

/* Linear, align_corners, [0, 10, 20] to 5: x_original = o * (3 - 1) / (5 - 1), so 0, 5, ..., 20;
 * the decoder of the InfoPro heads uses exactly this mode (on 2 axes). */
static void test_resize_linear_align_corners(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 1, 3});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 1, 5});
  int n = add_node(graph, "Resize", 1, (int[]){x}, 1, (int[]){y});
  ipro_node_set_string(&graph->nodes[n], "mode", "linear");
  ipro_node_set_string(&graph->nodes[n], "coordinate_transformation_mode", "align_corners");
  ipro_node_set_floats(&graph->nodes[n], "scales", (float[]){1, 1, 5.0f / 3.0f}, 3);
  float xs[] = {0, 10, 20}, ys[5];
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){xs}, (void *[]){ys}, NULL, &err), &err);
  for (int i = 0; i < 5; i++)
    CHECK_NEAR(ys[i], 5.0 * i);
  ipro_graph_free(graph);
}

/* data (3, 2), int32 indices [-1, 0] along axis 0: rows 2 and 0. An index of 3 is an error. */
static void test_gather_int32_negative(void) {
  ipro_graph *graph = ipro_graph_create();
  int d = ipro_test_add_tensor(graph, "d", IPRO_DTYPE_FLOAT, 2, (int64_t[]){3, 2});
  int i = ipro_test_add_tensor(graph, "i", IPRO_DTYPE_INT32, 1, (int64_t[]){2});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 2});
  int n = add_node(graph, "Gather", 2, (int[]){d, i}, 1, (int[]){y});
  float ds[] = {1, 2, 3, 4, 5, 6}, ys[4];
  int32_t is[] = {-1, 0};
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){ds, is}, (void *[]){ys}, NULL, &err), &err);
  CHECK(ys[0] == 5 && ys[1] == 6 && ys[2] == 1 && ys[3] == 2);
  is[1] = 3;
  CHECK(run_kernel(graph, n, (void *[]){ds, is}, (void *[]){ys}, NULL, &err) == IPRO_ERROR);
  CHECK(strstr(err.message, "Gather") != NULL);
  ipro_graph_free(graph);
}

/* Range at run time, as ONNX's operator documentation works its example: (10, 4, -2) -> [10, 8, 6],
 * in int64 and in float. */
static void test_range(void) {
  ipro_graph *graph = ipro_graph_create();
  int b[3], f[3];
  for (int k = 0; k < 3; k++) {
    b[k] = ipro_test_add_tensor(graph,
                                k == 0   ? "start"
                                : k == 1 ? "limit"
                                         : "delta",
                                IPRO_DTYPE_INT64, 0, NULL);
    f[k] = ipro_test_add_tensor(graph,
                                k == 0   ? "fstart"
                                : k == 1 ? "flimit"
                                         : "fdelta",
                                IPRO_DTYPE_FLOAT, 0, NULL);
  }
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_INT64, 1, (int64_t[]){3});
  int fy = ipro_test_add_tensor(graph, "fy", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3});
  int n = add_node(graph, "Range", 3, b, 1, (int[]){y});
  int fn = add_node(graph, "Range", 3, f, 1, (int[]){fy});
  int64_t start = 10, limit = 4, delta = -2, ys[3];
  float fstart = 10, flimit = 4, fdelta = -2, fys[3];
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){&start, &limit, &delta}, (void *[]){ys}, NULL, &err),
           &err);
  CHECK(ys[0] == 10 && ys[1] == 8 && ys[2] == 6);
  CHECK_OK(
      run_kernel(graph, fn, (void *[]){&fstart, &flimit, &fdelta}, (void *[]){fys}, NULL, &err),
      &err);
  CHECK(fys[0] == 10 && fys[1] == 8 && fys[2] == 6);
  ipro_graph_free(graph);
}

/* At run time, as ONNX's operator documentation works its examples: Mod of int64
 * [-4, 7, 5, 4, -7, 8] by [2, -3, 8, -2, 3, 5] is [0, -2, 5, 0, 2, 3]; Where([[1, 0], [1, 1]],
 * [[1, 2], [3, 4]], [[9, 8], [7, 6]]) is [[1, 8], [3, 4]], and with Y a scalar 0 broadcast,
 * [[1, 0], [3, 4]]; Equal of [1, 2, 3] and [1, 5, 3] is [1, 0, 1]; Mod of reals is refused. */
static void test_mod_where_equal(void) {
  ipro_graph *graph = ipro_graph_create();
  int a = ipro_test_add_tensor(graph, "a", IPRO_DTYPE_INT64, 1, (int64_t[]){6});
  int b = ipro_test_add_tensor(graph, "b", IPRO_DTYPE_INT64, 1, (int64_t[]){6});
  int m = ipro_test_add_tensor(graph, "m", IPRO_DTYPE_INT64, 1, (int64_t[]){6});
  int mod = add_node(graph, "Mod", 2, (int[]){a, b}, 1, (int[]){m});
  int c = ipro_test_add_tensor(graph, "c", IPRO_DTYPE_BOOL, 2, (int64_t[]){2, 2});
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 2});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 2});
  int zero = ipro_test_add_tensor(graph, "zero", IPRO_DTYPE_FLOAT, 0, NULL);
  int w = ipro_test_add_tensor(graph, "w", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 2});
  int where = add_node(graph, "Where", 3, (int[]){c, x, y}, 1, (int[]){w});
  int where_zero = add_node(graph, "Where", 3, (int[]){c, x, zero}, 1, (int[]){w});
  int p = ipro_test_add_tensor(graph, "p", IPRO_DTYPE_DOUBLE, 1, (int64_t[]){3});
  int q = ipro_test_add_tensor(graph, "q", IPRO_DTYPE_DOUBLE, 1, (int64_t[]){3});
  int e = ipro_test_add_tensor(graph, "e", IPRO_DTYPE_BOOL, 1, (int64_t[]){3});
  int equal = add_node(graph, "Equal", 2, (int[]){p, q}, 1, (int[]){e});
  int64_t as[] = {-4, 7, 5, 4, -7, 8}, bs[] = {2, -3, 8, -2, 3, 5}, ms[6];
  uint8_t cs[] = {1, 0, 1, 1}, es[3];
  float xs[] = {1, 2, 3, 4}, ys[] = {9, 8, 7, 6}, zs = 0, ws[4];
  double ps[] = {1, 2, 3}, qs[] = {1, 5, 3};
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, mod, (void *[]){as, bs}, (void *[]){ms}, NULL, &err), &err);
  CHECK(ms[0] == 0 && ms[1] == -2 && ms[2] == 5 && ms[3] == 0 && ms[4] == 2 && ms[5] == 3);
  CHECK_OK(run_kernel(graph, where, (void *[]){cs, xs, ys}, (void *[]){ws}, NULL, &err), &err);
  CHECK(ws[0] == 1 && ws[1] == 8 && ws[2] == 3 && ws[3] == 4);
  CHECK_OK(run_kernel(graph, where_zero, (void *[]){cs, xs, &zs}, (void *[]){ws}, NULL, &err),
           &err);
  CHECK(ws[0] == 1 && ws[1] == 0 && ws[2] == 3 && ws[3] == 4);
  CHECK_OK(run_kernel(graph, equal, (void *[]){ps, qs}, (void *[]){es}, NULL, &err), &err);
  CHECK(es[0] == 1 && es[1] == 0 && es[2] == 1);
  /* Mod of reals is refused by name, not computed as something */
  int real_mod = add_node(graph, "Mod", 2, (int[]){p, q}, 1, (int[]){p});
  CHECK(run_kernel(graph, real_mod, (void *[]){ps, qs}, (void *[]){ps}, NULL, &err) == IPRO_ERROR &&
        strstr(err.message, "Mod is for int32 and int64"));
  ipro_graph_free(graph);
}

/* At run time, as ONNX's operator documentation works its examples: ScatterND of [1, ..., 8] at
 * [[4], [3], [1], [7]] by [9, 10, 11, 12] is [1, 11, 3, 10, 9, 6, 7, 12] (an index of 8 is
 * refused); Pow([[1, 2, 3], [4, 5, 6]], [1, 2, 3]) is [[1, 4, 27], [4, 25, 216]] (of int64, refused
 * by name); Not([1, 0, 1]) is [0, 1, 0]; Max and Min of [3, 2, 1], [1, 4, 4] and [2, 5, 3] are
 * [3, 5, 4] and [1, 2, 1]; GatherND of [[0, 1], [2, 3]] at [[0, 0], [1, 1]] is [0, 3]; Erf of
 * [0, 1, -0.5] is [0, 0.8427007929, -0.5204998778] (Abramowitz and Stegun's table 7.1);
 * Reciprocal of [-4, 2] is [-0.25, 0.5] (ONNX's example). */
static void test_nd_indexing_and_elementwise(void) {
  ipro_graph *graph = ipro_graph_create();
  int d = ipro_test_add_tensor(graph, "d", IPRO_DTYPE_FLOAT, 1, (int64_t[]){8});
  int i = ipro_test_add_tensor(graph, "i", IPRO_DTYPE_INT64, 2, (int64_t[]){4, 1});
  int u = ipro_test_add_tensor(graph, "u", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4});
  int s = ipro_test_add_tensor(graph, "s", IPRO_DTYPE_FLOAT, 1, (int64_t[]){8});
  int scatter = add_node(graph, "ScatterND", 3, (int[]){d, i, u}, 1, (int[]){s});
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
  int e = ipro_test_add_tensor(graph, "e", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3});
  int p = ipro_test_add_tensor(graph, "p", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
  int pow = add_node(graph, "Pow", 2, (int[]){x, e}, 1, (int[]){p});
  int k = ipro_test_add_tensor(graph, "k", IPRO_DTYPE_INT64, 1, (int64_t[]){3});
  int int_pow = add_node(graph, "Pow", 2, (int[]){k, k}, 1, (int[]){k});
  int b = ipro_test_add_tensor(graph, "b", IPRO_DTYPE_BOOL, 1, (int64_t[]){3});
  int nb = ipro_test_add_tensor(graph, "nb", IPRO_DTYPE_BOOL, 1, (int64_t[]){3});
  int not = add_node(graph, "Not", 1, (int[]){b}, 1, (int[]){nb});
  int m[3];
  for (int j = 0; j < 3; j++)
    m[j] = ipro_test_add_tensor(graph,
                                j == 0   ? "m0"
                                : j == 1 ? "m1"
                                         : "m2",
                                IPRO_DTYPE_FLOAT, 1, (int64_t[]){3});
  int e3 = ipro_test_add_tensor(graph, "e3", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3});
  int max = add_node(graph, "Max", 3, m, 1, (int[]){e3});
  int min = add_node(graph, "Min", 3, m, 1, (int[]){e3});
  int sq = ipro_test_add_tensor(graph, "sq", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 2});
  int pt = ipro_test_add_tensor(graph, "pt", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 2});
  int dg = ipro_test_add_tensor(graph, "dg", IPRO_DTYPE_FLOAT, 1, (int64_t[]){2});
  int gather_nd = add_node(graph, "GatherND", 2, (int[]){sq, pt}, 1, (int[]){dg});
  int erf_x = ipro_test_add_tensor(graph, "erf_x", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3});
  int erf_y = ipro_test_add_tensor(graph, "erf_y", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3});
  int erf = add_node(graph, "Erf", 1, (int[]){erf_x}, 1, (int[]){erf_y});
  int rx = ipro_test_add_tensor(graph, "rx", IPRO_DTYPE_FLOAT, 1, (int64_t[]){2});
  int ry = ipro_test_add_tensor(graph, "ry", IPRO_DTYPE_FLOAT, 1, (int64_t[]){2});
  int reciprocal = add_node(graph, "Reciprocal", 1, (int[]){rx}, 1, (int[]){ry});
  float ds[] = {1, 2, 3, 4, 5, 6, 7, 8}, us[] = {9, 10, 11, 12}, ss[8];
  int64_t is[] = {4, 3, 1, 7}, ks[] = {1, 2, 3};
  float xs[] = {1, 2, 3, 4, 5, 6}, es[] = {1, 2, 3}, ps[6];
  uint8_t bs[] = {1, 0, 1}, nbs[3];
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, scatter, (void *[]){ds, is, us}, (void *[]){ss}, NULL, &err), &err);
  CHECK(memcmp(ss, (float[]){1, 11, 3, 10, 9, 6, 7, 12}, sizeof ss) == 0);
  is[2] = 8;
  CHECK(run_kernel(graph, scatter, (void *[]){ds, is, us}, (void *[]){ss}, NULL, &err) ==
            IPRO_ERROR &&
        strstr(err.message, "outside the data"));
  CHECK_OK(run_kernel(graph, pow, (void *[]){xs, es}, (void *[]){ps}, NULL, &err), &err);
  CHECK(memcmp(ps, (float[]){1, 4, 27, 4, 25, 216}, sizeof ps) == 0);
  CHECK(run_kernel(graph, int_pow, (void *[]){ks, ks}, (void *[]){ks}, NULL, &err) == IPRO_ERROR &&
        strstr(err.message, "Pow runs on float32 and float64"));
  CHECK_OK(run_kernel(graph, not, (void *[]){bs}, (void *[]){nbs}, NULL, &err), &err);
  CHECK(nbs[0] == 0 && nbs[1] == 1 && nbs[2] == 0);
  /* an output of another shape (a corrupt program) is refused, not overrun */
  int short_out = ipro_test_add_tensor(graph, "short", IPRO_DTYPE_BOOL, 1, (int64_t[]){2});
  int short_not = add_node(graph, "Not", 1, (int[]){b}, 1, (int[]){short_out});
  CHECK(run_kernel(graph, short_not, (void *[]){bs}, (void *[]){nbs}, NULL, &err) == IPRO_ERROR &&
        strstr(err.message, "differ in shape"));
  float m0[] = {3, 2, 1}, m1[] = {1, 4, 4}, m2[] = {2, 5, 3}, extreme[3];
  CHECK_OK(run_kernel(graph, max, (void *[]){m0, m1, m2}, (void *[]){extreme}, NULL, &err), &err);
  CHECK(extreme[0] == 3 && extreme[1] == 5 && extreme[2] == 4);
  CHECK_OK(run_kernel(graph, min, (void *[]){m0, m1, m2}, (void *[]){extreme}, NULL, &err), &err);
  CHECK(extreme[0] == 1 && extreme[1] == 2 && extreme[2] == 1);
  float sqs[] = {0, 1, 2, 3}, dgs[2];
  int64_t pts[] = {0, 0, 1, 1};
  CHECK_OK(run_kernel(graph, gather_nd, (void *[]){sqs, pts}, (void *[]){dgs}, NULL, &err), &err);
  CHECK(dgs[0] == 0 && dgs[1] == 3);
  float erf_xs[] = {0, 1, -0.5f}, erf_ys[3];
  CHECK_OK(run_kernel(graph, erf, (void *[]){erf_xs}, (void *[]){erf_ys}, NULL, &err), &err);
  CHECK(fabs(erf_ys[0]) < 1e-7 && fabs(erf_ys[1] - 0.8427007929) < 1e-6 &&
        fabs(erf_ys[2] + 0.5204998778) < 1e-6);
  float rxs[] = {-4, 2}, rys[2];
  CHECK_OK(run_kernel(graph, reciprocal, (void *[]){rxs}, (void *[]){rys}, NULL, &err), &err);
  CHECK(rys[0] == -0.25f && rys[1] == 0.5f);
  ipro_graph_free(graph);
}

/* x (2, 3) + initializer b (3) → Relu, run by the executor on the reference backend: the kernels
 * see the executor's buffers, and every byte the backend handed out comes back. */
static void test_reference_backend_in_executor(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
  int b = ipro_test_add_tensor(graph, "b", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3});
  int t = ipro_test_add_tensor(graph, "t", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
  graph->inputs = malloc(sizeof(int));
  graph->outputs = malloc(sizeof(int));
  if (!graph->inputs || !graph->outputs) abort();
  graph->inputs[graph->n_inputs++] = x;
  graph->outputs[graph->n_outputs++] = y;
  graph->tensors[x].is_graph_input = true;
  graph->tensors[y].is_graph_output = true;
  graph->tensors[b].kind = IPRO_TENSOR_INITIALIZER;
  ipro_error err = {{0}};
  float bias[] = {-1, 0, 1};
  CHECK_OK(ipro_tensor_set_data(&graph->tensors[b], bias, sizeof bias, &err), &err);
  add_node(graph, "Add", 2, (int[]){x, b}, 1, (int[]){t});
  add_node(graph, "Relu", 1, (int[]){t}, 1, (int[]){y});
  ipro_backend *reference = NULL;
  ipro_executor *executor = NULL;
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  if (reference) CHECK_OK(ipro_executor_create(graph, reference, NULL, &executor, &err), &err);
  if (executor) {
    const float xs[] = {0, 0, 0, 2, -2, -3}, expected[] = {0, 0, 1, 1, 0, 0};
    float ys[6] = {0};
    CHECK_OK(ipro_executor_run(executor, (const void *const[]){xs}, (void *[]){ys}, &err), &err);
    for (int i = 0; i < 6; i++)
      CHECK_NEAR(ys[i], expected[i]);
    CHECK_EQ_INT(ipro_executor_primary_steps(executor), 2);
    ipro_executor_free(executor);
  }
  if (reference) {
    CHECK_EQ_INT(reference->bytes_in_use, 0);
    reference->destroy(reference);
  }
  ipro_graph_free(graph);
}

/* ONNX's Expand example: [3, 1] of 1, 2, 3 to [2, 1, 6] repeats each value along the new last
 * axis and the whole over the new first; CastLike float32 to int64 goes toward zero (2.7 -> 2,
 * -2.7 -> -2) and to bool makes nonzero true. */
static void test_expand_and_cast_like(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 2, (int64_t[]){3, 1});
  int shape = ipro_test_add_tensor(graph, "shape", IPRO_DTYPE_INT64, 1, (int64_t[]){3});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 3, (int64_t[]){2, 3, 6});
  int n = add_node(graph, "Expand", 2, (int[]){x, shape}, 1, (int[]){y});
  float xs[] = {1, 2, 3}, ys[36];
  int64_t shapes[] = {2, 1, 6};
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){xs, shapes}, (void *[]){ys}, NULL, &err), &err);
  for (int i = 0; i < 36; i++)
    CHECK_MSG(ys[i] == (float)(i % 18 / 6 + 1), "Expand: y[%d] = %g", i, (double)ys[i]);

  int r = ipro_test_add_tensor(graph, "r", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4});
  int like = ipro_test_add_tensor(graph, "like", IPRO_DTYPE_INT64, 0, NULL);
  int z = ipro_test_add_tensor(graph, "z", IPRO_DTYPE_INT64, 1, (int64_t[]){4});
  int like_bool = ipro_test_add_tensor(graph, "like_bool", IPRO_DTYPE_BOOL, 0, NULL);
  int b = ipro_test_add_tensor(graph, "b", IPRO_DTYPE_BOOL, 1, (int64_t[]){4});
  int to_int = add_node(graph, "CastLike", 2, (int[]){r, like}, 1, (int[]){z});
  int to_bool = add_node(graph, "CastLike", 2, (int[]){r, like_bool}, 1, (int[]){b});
  float rs[] = {2.7f, -2.7f, 0.0f, 5.0f};
  int64_t zs[4], unused = 0;
  uint8_t bs[4];
  CHECK_OK(run_kernel(graph, to_int, (void *[]){rs, &unused}, (void *[]){zs}, NULL, &err), &err);
  CHECK(zs[0] == 2 && zs[1] == -2 && zs[2] == 0 && zs[3] == 5);
  CHECK_OK(run_kernel(graph, to_bool, (void *[]){rs, &unused}, (void *[]){bs}, NULL, &err), &err);
  CHECK(bs[0] == 1 && bs[1] == 1 && bs[2] == 0 && bs[3] == 1);
  ipro_graph_free(graph);
}

/* Gelu at ±1 is ±Φ(±1) (the standard normal table: Φ(1) = 0.841344746), its tanh form at 1
 * 0.841191990; LayerNormalization of 1, 2, 3, 4 (epsilon 0) is (x − 2.5)/√1.25, then × Scale 2
 * + B 1, with Mean 2.5 and InvStdDev 1/√1.25. */
static void test_gelu_and_layer_norm(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 1, (int64_t[]){2});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 1, (int64_t[]){2});
  int t = ipro_test_add_tensor(graph, "t", IPRO_DTYPE_FLOAT, 1, (int64_t[]){2});
  int erf_form = add_node(graph, "Gelu", 1, (int[]){x}, 1, (int[]){y});
  int tanh_form = add_node(graph, "Gelu", 1, (int[]){x}, 1, (int[]){t});
  ipro_node_set_string(&graph->nodes[tanh_form], "approximate", "tanh");
  float xs[] = {1, -1}, ys[2], ts[2];
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, erf_form, (void *[]){xs}, (void *[]){ys}, NULL, &err), &err);
  CHECK_OK(run_kernel(graph, tanh_form, (void *[]){xs}, (void *[]){ts}, NULL, &err), &err);
  CHECK_MSG(fabs(ys[0] - 0.841344746) < 1e-6 && fabs(ys[1] + 0.158655254) < 1e-6,
            "Gelu(±1) = %.9f, %.9f", (double)ys[0], (double)ys[1]);
  CHECK_MSG(fabs(ts[0] - 0.841191990) < 1e-6, "Gelu tanh(1) = %.9f", (double)ts[0]);

  int v = ipro_test_add_tensor(graph, "v", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 4});
  int scale = ipro_test_add_tensor(graph, "scale", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4});
  int bias = ipro_test_add_tensor(graph, "bias", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4});
  int out = ipro_test_add_tensor(graph, "out", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 4});
  int mean = ipro_test_add_tensor(graph, "mean", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 1});
  int inv = ipro_test_add_tensor(graph, "inv", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 1});
  int ln =
      add_node(graph, "LayerNormalization", 3, (int[]){v, scale, bias}, 3, (int[]){out, mean, inv});
  ipro_node_set_float(&graph->nodes[ln], "epsilon", 0.0f);
  float vs[] = {1, 2, 3, 4}, ss[] = {2, 2, 2, 2}, bs[] = {1, 1, 1, 1}, os[4], ms[1], is[1];
  CHECK_OK(run_kernel(graph, ln, (void *[]){vs, ss, bs}, (void *[]){os, ms, is}, NULL, &err), &err);
  for (int i = 0; i < 4; i++)
    CHECK_NEAR(os[i], ((double)vs[i] - 2.5) / sqrt(1.25) * 2 + 1);
  CHECK_NEAR(ms[0], 2.5);
  CHECK_NEAR(is[0], 1 / sqrt(1.25));
  ipro_graph_free(graph);
}

/* ONNX's Slice on a computed [2, 5]: columns 4, 2 (start -1, end 0, step -2) of both rows. */
static void test_slice_onnx(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 5});
  int starts = ipro_test_add_tensor(graph, "starts", IPRO_DTYPE_INT64, 1, (int64_t[]){1});
  int ends = ipro_test_add_tensor(graph, "ends", IPRO_DTYPE_INT64, 1, (int64_t[]){1});
  int axes = ipro_test_add_tensor(graph, "axes", IPRO_DTYPE_INT64, 1, (int64_t[]){1});
  int steps = ipro_test_add_tensor(graph, "steps", IPRO_DTYPE_INT64, 1, (int64_t[]){1});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 2});
  int n = add_node(graph, "Slice", 5, (int[]){x, starts, ends, axes, steps}, 1, (int[]){y});
  float xs[] = {0, 1, 2, 3, 4, 10, 11, 12, 13, 14}, ys[4];
  int64_t s0[] = {-1}, e0[] = {0}, a0[] = {1}, st[] = {-2};
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, n, (void *[]){xs, s0, e0, a0, st}, (void *[]){ys}, NULL, &err), &err);
  CHECK(ys[0] == 4 && ys[1] == 2 && ys[2] == 14 && ys[3] == 12);
  ipro_graph_free(graph);
}

/* GatherElements, ScatterElements and GatherElementsGrad refuse indices that would address past
 * data (a shape a program file could carry though no inference would make it): indices [2, 4]
 * for data [2, 3] along axis 0 reach column 3 of 3; a refusal, not a read outside the buffer
 * (which AddressSanitizer would report). */
static void test_elements_out_of_shape(void) {
  ipro_graph *graph = ipro_graph_create();
  int data = ipro_test_add_tensor(graph, "data", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
  int at = ipro_test_add_tensor(graph, "at", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 4});
  int taken = ipro_test_add_tensor(graph, "taken", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 4});
  int scattered = ipro_test_add_tensor(graph, "scattered", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
  int dx = ipro_test_add_tensor(graph, "dx", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
  int gather = add_node(graph, "GatherElements", 2, (int[]){data, at}, 1, (int[]){taken});
  int scatter =
      add_node(graph, "ScatterElements", 3, (int[]){data, at, taken}, 1, (int[]){scattered});
  int grad = add_node(graph, "ipro.GatherElementsGrad", 2, (int[]){taken, at}, 1, (int[]){dx});
  graph->nodes[grad].op = IPRO_OP_GATHER_ELEMENTS_GRAD;
  ipro_node_set_ints(&graph->nodes[grad], "input_shape", (int64_t[]){2, 3}, 2);
  float values[6] = {0}, out[8], updates[8] = {0};
  int64_t indices[8] = {0};
  const int nodes[3] = {gather, scatter, grad};
  void *const inputs[3][3] = {{values, indices}, {values, indices, updates}, {updates, indices}};
  for (int i = 0; i < 3; i++) {
    ipro_error err = {{0}};
    ipro_status status = run_kernel(graph, nodes[i], inputs[i], (void *[]){out}, NULL, &err);
    CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "do not"),
              "%s with indices past data: \"%s\"", graph->nodes[nodes[i]].op_type, err.message);
  }
  ipro_graph_free(graph);
}

/* The recurrent and Col2Im kernels refuse tensors whose shapes do not fit their attributes (a
 * program file's, which no inference would make): an LSTM of hidden_size 3 whose R is [1, 12, 4]
 * (each step would read R past its rows of 3), and a Col2Im of a [3, 3] image whose output is
 * [1, 1, 2, 2] (the fold would write past it). */
static void test_sequence_and_fold_out_of_shape(void) {
  ipro_graph *graph = ipro_graph_create();
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 3, (int64_t[]){2, 1, 2});
  int w = ipro_test_add_tensor(graph, "w", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 12, 2});
  int r = ipro_test_add_tensor(graph, "r", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 12, 4});
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 4, (int64_t[]){2, 1, 1, 3});
  int columns = ipro_test_add_tensor(graph, "columns", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 4, 4});
  int image = ipro_test_add_tensor(graph, "image", IPRO_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 2, 2});
  int lstm = add_node(graph, "LSTM", 3, (int[]){x, w, r}, 1, (int[]){y});
  ipro_node_set_int(&graph->nodes[lstm], "hidden_size", 3);
  int fold = add_node(graph, "Col2Im", 1, (int[]){columns}, 1, (int[]){image});
  ipro_node *f = &graph->nodes[fold];
  ipro_node_set_ints(f, "image_shape", (int64_t[]){3, 3}, 2);
  ipro_node_set_ints(f, "kernel_shape", (int64_t[]){2, 2}, 2);
  ipro_node_set_ints(f, "strides", (int64_t[]){1, 1}, 2);
  ipro_node_set_ints(f, "dilations", (int64_t[]){1, 1}, 2);
  ipro_node_set_ints(f, "pads", (int64_t[]){0, 0, 0, 0}, 4);
  float values[64] = {0}, out[64]; /* the largest tensor: R, 48 values */
  const int nodes[2] = {lstm, fold};
  void *const inputs[2][3] = {{values, values, values}, {values}};
  for (int i = 0; i < 2; i++) {
    ipro_error err = {{0}};
    ipro_status status = run_kernel(graph, nodes[i], inputs[i], (void *[]){out}, NULL, &err);
    CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "not fit"),
              "%s with a tensor of the wrong shape: \"%s\"", graph->nodes[nodes[i]].op_type,
              err.message);
  }
  ipro_graph_free(graph);
}

int main(void) {
  test_every_op_has_a_kernel();
  test_elements_out_of_shape();
  test_sequence_and_fold_out_of_shape();
  test_nd_indexing_and_elementwise();
  test_slice_onnx();
  test_gelu_and_layer_norm();
  test_expand_and_cast_like();
  test_conv_1d();
  test_conv_grouped_dilated();
  test_max_pool_indices();
  test_dropout_training();
  test_batch_normalization_training();
  test_pad_modes();
  test_resize_linear_align_corners();
  test_gather_int32_negative();
  test_range();
  test_mod_where_equal();
  test_reference_backend_in_executor();
  return ipro_test_finish();
}
