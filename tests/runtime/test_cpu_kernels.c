/* The CPU backend's C and generated kernels (runtime/onednn/cpu_*.c: Resize, ipro.ResizeGrad,
 * ipro.BinaryCrossEntropy(+Grad), ipro.SupConLoss, ipro.SupConGrad; and the LLVM-generated
 * kernels of cpu_generated.c: ipro.SgdUpdate, ipro.AdamUpdate, Dropout in training form,
 * ipro.DropoutGrad and BCE's element-wise parts) against the reference kernels, the oracle.
 * Dropout's mask must be the reference's bit for bit.
 *
 * Each case is a hand-built node on seeded random data (with the exact values where a kernel
 * branches: targets of exactly 0 and 1, predictions of 0 and 1 where the logs are clamped,
 * anchors without positives), run on the reference kernel and on the oneDNN backend's kernel
 * into NaN-filled outputs, with a workspace filled with NaN too and the kernel run twice (so
 * nothing may depend on what the workspace held, or on an output being written before). Every
 * output must agree within rtol 1e-4 and atol 1e-5 times the output's scale (its largest
 * reference magnitude, at least 1). Resize runs in every mode and coordinate transformation,
 * upsampling and downsampling, with sizes and with scales, to the same size, and with
 * tf_crop_and_resize's extrapolation; its gradient with the forward's canonical attributes, as
 * autodiff emits it. Some cases are large enough for the kernels to split their loops over
 * threads (IPRO_ONEDNN_PARALLEL_WORK), the others run them on one. Nodes the kernels do not cover
 * (N or C resampled, rank other than 4) must be declined, so that the executor gives them to the
 * reference.
 *
 * The optimizer updates (no outputs: they write their inputs in place) run two steps from the same
 * state on both sides, each with a fresh gradient; SgdUpdate, evaluated in double in the
 * reference's order, must match bit for bit, AdamUpdate (whose bias corrections reach the kernel
 * rounded to float) and DropoutGrad within the tolerance above. Counts are odd, so the
 * generated kernels' vector tails run. An AdamUpdate whose hyper-parameters are too few is
 * declined. */
#include <math.h>
#include <stdint.h>

#include "frontend/op_table.h"
#include "runtime/backend.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/check.h"
#include "tests/support/tensor_checks.h"

#define MAX_OPERANDS 8

static uint64_t random_state = 0x13198a2e03707344u;

static float random_uniform(void) { return ipro_test_random_uniform(&random_state); }

/* How a case fills an input: uniform in [-1, 1); probability: in (0, 1), with a few exact 0s and
 * 1s (clamped logs); target: in [0, 1], a third exactly 0 and a sixth exactly 1; labels: integers
 * in [0, classes) (int64 or int32 by the tensor's dtype); mask: bools, about a third false. */
typedef enum { UNIFORM, PROBABILITY, TARGET, LABELS, MASK } data_kind;

static void fill(const ipro_tensor *tensor, data_kind kind, int classes, void *data) {
  int64_t count = ipro_shape_elements(&tensor->shape);
  for (int64_t k = 0; k < count; k++) {
    float u = random_uniform();
    if (kind == MASK) {
      ((bool *)data)[k] = u >= -0.33f;
      continue;
    }
    if (kind == LABELS) {
      int64_t label = (int64_t)((u + 1.0f) * 0.5f * (float)classes) % classes;
      if (tensor->dtype == IPRO_DTYPE_INT64)
        ((int64_t *)data)[k] = label;
      else
        ((int32_t *)data)[k] = (int32_t)label;
      continue;
    }
    float *value = &((float *)data)[k];
    float v = 0.5f + 0.5f * random_uniform();
    if (kind == PROBABILITY)
      *value = u < -0.98f ? 0.0f : u > 0.98f ? 1.0f : 0.5f + 0.499f * random_uniform();
    else if (kind == TARGET)
      *value = u < -0.33f ? 0.0f : u > 0.66f ? 1.0f : v;
    else
      *value = u;
  }
}

/* Runs node n of graph (shapes inferred) on the reference and, unless it is declined, on the
 * backend; kinds[i] fills input i (initializers keep their data). */
/* The step both sides run with (Dropout's random stream); 0 but for the Dropout cases. */
static uint64_t run_step;

static void run_node(ipro_backend *onednn, const ipro_graph *graph, int n, const data_kind *kinds,
                     int classes, const char *label, bool expect_supported) {
  const ipro_node *node = &graph->nodes[n];
  ipro_error err = {{0}};
  bool supported = ipro_test_expect_support(onednn, graph, node, label, expect_supported);
  void *inputs[MAX_OPERANDS] = {NULL}, *expected[MAX_OPERANDS] = {NULL},
       *got[MAX_OPERANDS] = {NULL};
  for (int i = 0; i < node->n_inputs && i < MAX_OPERANDS; i++) {
    const ipro_tensor *tensor = ipro_node_input(graph, node, i);
    if (!tensor) continue;
    size_t bytes = ipro_test_tensor_bytes(tensor);
    inputs[i] = malloc(bytes ? bytes : 1);
    hand_require(inputs[i] != NULL);
    if (tensor->data)
      memcpy(inputs[i], tensor->data, bytes);
    else
      fill(tensor, kinds[i], classes, inputs[i]);
  }
  for (int o = 0; o < node->n_outputs && o < MAX_OPERANDS; o++) {
    const ipro_tensor *tensor = ipro_node_output(graph, node, o);
    if (!tensor) continue;
    size_t bytes = ipro_test_tensor_bytes(tensor);
    expected[o] = calloc(1, bytes ? bytes : 1);
    got[o] = malloc(bytes ? bytes : 1);
    hand_require(expected[o] && got[o]);
  }
  ipro_kernel_context context = {.seed = 0, .step = run_step};
  CHECK_OK(ipro_reference_forward_table()[node->op](graph, node, inputs, expected, &context, &err),
           &err);
  ipro_kernel *kernel = NULL;
  if (supported) CHECK_OK(onednn->prepare_forward(onednn, graph, node, &kernel, &err), &err);
  for (int run = 0; kernel && run < 2; run++) {
    void *workspace = NULL;
    if (kernel->workspace_bytes > 0) {
      CHECK_OK(onednn->allocate(onednn, kernel->workspace_bytes, &workspace, &err), &err);
      if (workspace) memset(workspace, 0xff, kernel->workspace_bytes); /* NaNs */
    }
    for (int o = 0; o < node->n_outputs && o < MAX_OPERANDS; o++) {
      const ipro_tensor *tensor = ipro_node_output(graph, node, o);
      if (tensor) memset(got[o], 0xff, ipro_test_tensor_bytes(tensor));
    }
    CHECK_OK(kernel->run(kernel, inputs, got, workspace, run_step, &err), &err);
    onednn->release(onednn, workspace, kernel->workspace_bytes);
    char what[64];
    for (int o = 0; o < node->n_outputs && o < MAX_OPERANDS; o++) {
      const ipro_tensor *tensor = ipro_node_output(graph, node, o);
      if (!tensor) continue;
      snprintf(what, sizeof what, "output %d, run %d", o, run + 1);
      if (tensor->dtype == IPRO_DTYPE_BOOL) { /* a mask: bit for bit */
        CHECK_MSG(memcmp(got[o], expected[o], ipro_test_tensor_bytes(tensor)) == 0,
                  "%s: %s differs from the reference's", label, what);
        continue;
      }
      ipro_test_compare_scaled(label, what, got[o], expected[o],
                               ipro_shape_elements(&tensor->shape));
      if (node->op == IPRO_OP_BINARY_CROSS_ENTROPY_GRAD) /* its scale is a clamped element's */
        ipro_test_compare_each(label, what, got[o], expected[o],
                               ipro_shape_elements(&tensor->shape), 1e-4);
    }
  }
  if (kernel) kernel->destroy(kernel);
  for (int i = 0; i < MAX_OPERANDS; i++)
    free(inputs[i]), free(expected[i]), free(got[i]);
}

/* ---- Resize and ipro.ResizeGrad ---- */

/* A Resize of X (rank 3 where x[3] is 0, else 4) by scales, or where scales[0] is 0 to sizes;
 * roi holds the spatial axes' starts and ends (tf_crop_and_resize, whose extrapolation_value is
 * -2.5). supported: whether the backend's kernel must take it. */
typedef struct {
  int64_t x[4], sizes[4];
  float scales[4];
  const char *mode, *coordinates, *nearest; /* nearest: NULL for the default */
  bool supported;
  float roi[4];
} resize_config;

#define CROP "tf_crop_and_resize"

/* An ONNX Resize (opset 19, scales or sizes as an initializer) normalised and inferred, then its
 * ipro.ResizeGrad with the forward's canonical attributes, input_shape and forward_op, inferred
 * again; both run. */
static void resize_case(ipro_backend *onednn, const resize_config *k) {
  int rank = k->x[3] ? 4 : 3;
  char what[160];
  snprintf(what, sizeof what, "%s %s%s%s, rank %d, %lldx%lld%s", k->mode, k->coordinates,
           k->nearest ? " " : "", k->nearest ? k->nearest : "", rank, (long long)k->x[rank - 2],
           (long long)k->x[rank - 1], k->scales[0] != 0.0f ? " by scales" : " to sizes");
  ipro_graph *g = hand_graph(19);
  hand_input(g, "X", rank, k->x);
  bool crop = strcmp(k->coordinates, CROP) == 0;
  int64_t roi_dims[1] = {2 * rank}, scale_dims[1] = {rank};
  float roi[8] = {0};
  for (int d = 0; d < rank; d++)
    roi[rank + d] = 1.0f;
  for (int s = 0; s < 2; s++)
    roi[rank - 2 + s] = k->roi[s], roi[2 * rank - 2 + s] = k->roi[2 + s];
  if (crop) hand_initializer(g, "roi", IPRO_DTYPE_FLOAT, 1, roi_dims, roi);
  const char *inputs = crop ? "X,roi,scales" : "X,,scales";
  if (k->scales[0] != 0.0f) {
    hand_initializer(g, "scales", IPRO_DTYPE_FLOAT, 1, scale_dims, k->scales);
  } else {
    hand_int64_initializer(g, "sizes", rank, k->sizes);
    inputs = crop ? "X,roi,,sizes" : "X,,,sizes";
  }
  ipro_node *resize = hand_node(g, "resize", "Resize", inputs, "Y");
  hand_require(ipro_node_set_string(resize, "mode", k->mode) == IPRO_OK);
  hand_require(ipro_node_set_string(resize, "coordinate_transformation_mode", k->coordinates) ==
               IPRO_OK);
  if (k->nearest) hand_require(ipro_node_set_string(resize, "nearest_mode", k->nearest) == IPRO_OK);
  if (crop) hand_require(ipro_node_set_float(resize, "extrapolation_value", -2.5f) == IPRO_OK);
  hand_output(g, "Y");
  ipro_error err = {{0}};
  ipro_status status = ipro_graph_normalize(g, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(g, 0, &err);
  CHECK_MSG(status == IPRO_OK, "Resize %s: %s", what, err.message);
  if (status != IPRO_OK) {
    ipro_graph_free(g);
    return;
  }
  int forward = 0;
  while (g->nodes[forward].op != IPRO_OP_RESIZE)
    forward++;
  const ipro_shape y = ipro_node_output(g, &g->nodes[forward], 0)->shape;
  int dy = hand_input(g, "dY", y.rank, y.dims);
  int n = ipro_test_add_resize_grad(g, "resize_grad", forward, dy, "dX", rank, k->x);
  hand_output(g, "dX");
  status = ipro_graph_infer_shapes(g, 0, &err);
  CHECK_MSG(status == IPRO_OK, "ResizeGrad %s: %s", what, err.message);
  if (status == IPRO_OK) {
    const data_kind kinds[MAX_OPERANDS] = {UNIFORM};
    char label[200];
    snprintf(label, sizeof label, "Resize %s", what);
    run_node(onednn, g, forward, kinds, 0, label, k->supported);
    snprintf(label, sizeof label, "ResizeGrad %s", what);
    run_node(onednn, g, n, kinds, 0, label, k->supported);
  }
  ipro_graph_free(g);
}

static void resize_cases(ipro_backend *onednn) {
  static const resize_config configs[] = {
      /* the decoder's upsampling, from a 14x14 cut, and to the same size (a copy) */
      {{2, 3, 7, 7}, {2, 3, 28, 28}, {0}, "linear", "align_corners", NULL, true, {0}},
      {{8, 16, 14, 14}, {8, 16, 28, 28}, {0}, "linear", "align_corners", NULL, true, {0}},
      {{8, 16, 28, 28}, {8, 16, 28, 28}, {0}, "linear", "align_corners", NULL, true, {0}},
      {{1, 2, 5, 6}, {1, 2, 9, 13}, {0}, "linear", "align_corners", NULL, true, {0}},
      {{2, 2, 1, 1}, {2, 2, 4, 3}, {0}, "linear", "align_corners", NULL, true, {0}},
      {{2, 3, 5, 4}, {0}, {1, 1, 2, 2}, "linear", "half_pixel", NULL, true, {0}},
      {{1, 3, 10, 7}, {0}, {1, 1, 0.6f, 1.7f}, "linear", "half_pixel", NULL, true, {0}},
      {{1, 2, 6, 5}, {1, 2, 9, 8}, {0}, "linear", "half_pixel", NULL, true, {0}},
      {{2, 2, 8, 6}, {0}, {1, 1, 0.5f, 0.5f}, "linear", "pytorch_half_pixel", NULL, true, {0}},
      {{1, 2, 4, 5}, {0}, {1, 1, 3, 1}, "linear", "asymmetric", NULL, true, {0}},
      {{2, 3, 4, 4}, {0}, {1, 1, 2, 2}, "nearest", "asymmetric", NULL, true, {0}},
      {{1, 2, 3, 5}, {0}, {1, 1, 3, 2}, "nearest", "half_pixel", "floor", true, {0}},
      {{1, 3, 9, 8}, {0}, {1, 1, 0.5f, 0.75f}, "nearest", "pytorch_half_pixel", NULL, true, {0}},
      {{1, 3, 9, 8}, {0}, {1, 1, 0.5f, 2.5f}, "nearest", "asymmetric", "ceil", true, {0}},
      {{2, 2, 5, 3}, {2, 2, 8, 7}, {0}, "nearest", "align_corners", "ceil", true, {0}},
      /* samples outside the input: extrapolation_value, and no gradient */
      {{1, 2, 6, 6}, {1, 2, 7, 9}, {0}, "linear", CROP, NULL, true, {-0.2f, 0.1f, 0.9f, 1.3f}},
      {{1, 2, 5, 5}, {1, 2, 6, 8}, {0}, "nearest", CROP, NULL, true, {0.1f, -0.3f, 1.2f, 0.8f}},
      /* declined: C resampled, rank 3 */
      {{1, 2, 4, 4}, {0}, {1, 2, 2, 2}, "linear", "asymmetric", NULL, false, {0}},
      {{2, 3, 5, 0}, {0}, {1, 1, 2}, "linear", "asymmetric", NULL, false, {0}},
  };
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
    resize_case(onednn, &configs[i]);
}

/* ---- the InfoPro losses ---- */

/* One internal node on inputs of the given shapes (a graph input each), inferred and run. */
static void loss_case(ipro_backend *onednn, ipro_op op, const char *label, int rank,
                      const int64_t *dims, const data_kind kinds[2], ipro_dtype label_dtype,
                      int classes, float temperature, float scale) {
  ipro_graph *g = hand_graph(19);
  hand_input(g, "A", rank, dims);
  int second = hand_input(g, "B", kinds[1] == LABELS ? 1 : rank, dims);
  if (kinds[1] == LABELS) g->tensors[second].dtype = label_dtype;
  ipro_node *n = hand_node(g, "node", ipro_op_name(op), "A,B", "out");
  n->op = op;
  if (temperature > 0.0f)
    hand_require(ipro_node_set_float(n, "temperature", temperature) == IPRO_OK);
  if (scale != 1.0f) hand_require(ipro_node_set_float(n, "scale", scale) == IPRO_OK);
  hand_output(g, "out");
  ipro_error err = {{0}};
  ipro_status status = ipro_graph_infer_shapes(g, 0, &err);
  CHECK_MSG(status == IPRO_OK, "%s: %s", label, err.message);
  if (status == IPRO_OK) run_node(onednn, g, 0, kinds, classes, label, true);
  ipro_graph_free(g);
}

static void bce_cases(ipro_backend *onednn) {
  static const struct {
    int rank;
    int64_t dims[4];
  } shapes[] = {{4, {128, 1, 28, 28}}, {2, {3, 5}}, {4, {2, 3, 9, 7}}, {1, {1}}};
  const data_kind kinds[2] = {PROBABILITY, TARGET};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    char label[200];
    int64_t count = 1;
    for (int d = 0; d < shapes[i].rank; d++)
      count *= shapes[i].dims[d];
    snprintf(label, sizeof label, "BinaryCrossEntropy rank %d, %lld values", shapes[i].rank,
             (long long)count);
    loss_case(onednn, IPRO_OP_BINARY_CROSS_ENTROPY, label, shapes[i].rank, shapes[i].dims, kinds,
              IPRO_DTYPE_FLOAT, 0, 0.0f, 1.0f);
    snprintf(label, sizeof label, "BinaryCrossEntropyGrad rank %d (scale 5)", shapes[i].rank);
    loss_case(onednn, IPRO_OP_BINARY_CROSS_ENTROPY_GRAD, label, shapes[i].rank, shapes[i].dims,
              kinds, IPRO_DTYPE_FLOAT, 0, 0.0f, 5.0f);
  }
}

static void sup_con_cases(ipro_backend *onednn) {
  static const struct {
    int64_t n, d;
    int classes;
    float temperature;
    ipro_dtype labels;
  } configs[] = {
      {128, 128, 10, 0.07f, IPRO_DTYPE_INT64}, /* the contrastive head at batch 128 */
      {8, 6, 3, 0.07f, IPRO_DTYPE_INT64},      {8, 6, 3, 0.5f, IPRO_DTYPE_INT32},
      {16, 5, 40, 0.07f, IPRO_DTYPE_INT64}, /* most anchors without positives */
      {3, 130, 1, 0.2f, IPRO_DTYPE_INT32},     {1, 4, 1, 0.07f, IPRO_DTYPE_INT64},
      {600, 130, 10, 0.1f, IPRO_DTYPE_INT64}, /* large enough for the loops to split over threads */
  };
  const data_kind kinds[2] = {UNIFORM, LABELS};
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
    int64_t dims[2] = {configs[i].n, configs[i].d};
    char label[200];
    snprintf(label, sizeof label, "SupConLoss [%lld, %lld] %d classes T=%g %s", (long long)dims[0],
             (long long)dims[1], configs[i].classes, (double)configs[i].temperature,
             ipro_dtype_name(configs[i].labels));
    loss_case(onednn, IPRO_OP_SUP_CON_LOSS, label, 2, dims, kinds, configs[i].labels,
              configs[i].classes, configs[i].temperature, 1.0f);
    snprintf(label, sizeof label, "SupConGrad [%lld, %lld] %d classes T=%g %s (scale 2)",
             (long long)dims[0], (long long)dims[1], configs[i].classes,
             (double)configs[i].temperature, ipro_dtype_name(configs[i].labels));
    loss_case(onednn, IPRO_OP_SUP_CON_GRAD, label, 2, dims, kinds, configs[i].labels,
              configs[i].classes, configs[i].temperature, 2.0f);
  }
}

/* ---- generated kernels: ipro.DropoutGrad and the optimizer updates ---- */

static void dropout_grad_cases(ipro_backend *onednn) {
  static const struct {
    int64_t count;
    float ratio;
  } configs[] = {{128 * 64 * 7 + 3, 0.3f}, {5, 0.5f}, {1, 0.0f}};
  const data_kind kinds[2] = {UNIFORM, MASK};
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
    ipro_graph *g = hand_graph(19);
    int64_t dims[1] = {configs[i].count};
    hand_input(g, "dY", 1, dims);
    g->tensors[hand_input(g, "mask", 1, dims)].dtype = IPRO_DTYPE_BOOL;
    ipro_node *n = hand_node(g, "node", ipro_op_name(IPRO_OP_DROPOUT_GRAD), "dY,mask", "dX");
    n->op = IPRO_OP_DROPOUT_GRAD;
    hand_require(ipro_node_set_float(n, "ratio", configs[i].ratio) == IPRO_OK);
    hand_output(g, "dX");
    char label[200];
    snprintf(label, sizeof label, "DropoutGrad %lld values ratio %g", (long long)dims[0],
             (double)configs[i].ratio);
    ipro_error err = {{0}};
    ipro_status status = ipro_graph_infer_shapes(g, 0, &err);
    CHECK_MSG(status == IPRO_OK, "%s: %s", label, err.message);
    if (status == IPRO_OK) run_node(onednn, g, 0, kinds, 0, label, true);
    ipro_graph_free(g);
  }
}

/* Dropout in training form (the generated dropout_forward) at two steps: Y and the mask must be
 * the reference's (Y within the tolerance above, the mask bit for bit); the inference form and a
 * ratio of 0 are declined, to the reference. */
static void dropout_cases(ipro_backend *onednn) {
  static const struct {
    int64_t count;
    float ratio;
    int training;
    bool supported;
  } configs[] = {{128 * 64 * 7 + 3, 0.3f, 1, true},
                 {5, 0.5f, 1, true},
                 {9, 0.0f, 1, false},
                 {9, 0.5f, 0, false}};
  const data_kind kinds[1] = {UNIFORM};
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
    for (run_step = 0; run_step < 14; run_step += 13) {
      ipro_graph *g = hand_graph(19);
      int64_t dims[1] = {configs[i].count};
      hand_input(g, "X", 1, dims);
      ipro_node *n = hand_node(g, "node", ipro_op_name(IPRO_OP_DROPOUT), "X", "Y,mask");
      n->op = IPRO_OP_DROPOUT;
      hand_require(ipro_node_set_float(n, "ratio", configs[i].ratio) == IPRO_OK);
      hand_require(ipro_node_set_int(n, "training_mode", configs[i].training) == IPRO_OK);
      hand_output(g, "Y");
      char label[200];
      snprintf(label, sizeof label, "Dropout %lld values ratio %g training %d step %llu",
               (long long)dims[0], (double)configs[i].ratio, configs[i].training,
               (unsigned long long)run_step);
      ipro_error err = {{0}};
      ipro_status status = ipro_graph_infer_shapes(g, 0, &err);
      CHECK_MSG(status == IPRO_OK, "%s: %s", label, err.message);
      if (status == IPRO_OK) run_node(onednn, g, 0, kinds, 0, label, configs[i].supported);
      ipro_graph_free(g);
    }
  }
  run_step = 0;
}

/* One optimizer update of `count` values (op SgdUpdate or AdamUpdate, hyper_count
 * hyper-parameters), two steps on the reference and on the backend from the same state. */
static void update_case(ipro_backend *onednn, ipro_op op, int64_t count, const float *hyper,
                        int hyper_count, bool nesterov, bool expect_supported) {
  bool adam = op == IPRO_OP_ADAM_UPDATE;
  int state = adam ? 2 : 1, n_inputs = 3 + state;
  ipro_graph *g = hand_graph(19);
  int64_t dims[1] = {count}, hyper_dims[1] = {hyper_count};
  hand_input(g, "param", 1, dims);
  hand_input(g, "grad", 1, dims);
  hand_input(g, "s0", 1, dims);
  if (adam) hand_input(g, "s1", 1, dims);
  hand_input(g, "hyper", 1, hyper_dims);
  ipro_node *n = hand_node(g, "node", ipro_op_name(op),
                           adam ? "param,grad,s0,s1,hyper" : "param,grad,s0,hyper", "");
  n->op = op;
  char label[200];
  snprintf(label, sizeof label, "%s %lld values%s, %d hyper-parameters", ipro_op_name(op),
           (long long)count, nesterov ? " (Nesterov)" : "", hyper_count);
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  bool supported = ipro_test_expect_support(onednn, g, &g->nodes[0], label, expect_supported);
  ipro_kernel *kernel = NULL;
  if (supported) CHECK_OK(onednn->prepare_forward(onednn, g, &g->nodes[0], &kernel, &err), &err);
  if (kernel) {
    hand_require(kernel->workspace_bytes == 0);
    size_t bytes = (size_t)count * sizeof(float);
    float *want[4], *got[4]; /* param, grad, state... */
    for (int i = 0; i < n_inputs - 1; i++) {
      want[i] = malloc(bytes), got[i] = malloc(bytes);
      hand_require(want[i] && got[i]);
      for (int64_t k = 0; k < count; k++)
        want[i][k] = i == 3 ? 0.01f * fabsf(random_uniform()) : random_uniform();
      memcpy(got[i], want[i], bytes);
    }
    float *before = malloc(bytes); /* the parameters before the two steps */
    hand_require(before != NULL);
    memcpy(before, want[0], bytes);
    float hyper_copy[8];
    memcpy(hyper_copy, hyper, sizeof(float) * (size_t)hyper_count);
    ipro_kernel_context context = {.seed = 0, .step = 0};
    for (int step = 1; step <= 2; step++) {
      for (int64_t k = 0; k < count; k++)
        want[1][k] = got[1][k] = random_uniform();
      if (adam) hyper_copy[5] = (float)(step + 2);
      void *reference_inputs[5] = {want[0], want[1], want[2], adam ? want[3] : hyper_copy,
                                   hyper_copy};
      void *backend_inputs[5] = {got[0], got[1], got[2], adam ? got[3] : hyper_copy, hyper_copy};
      CHECK_OK(ipro_reference_forward_table()[op](g, &g->nodes[0], reference_inputs, NULL, &context,
                                                  &err),
               &err);
      CHECK_OK(kernel->run(kernel, backend_inputs, NULL, NULL, (uint64_t)step, &err), &err);
    }
    static const char *names[4] = {"param", "grad", "state 0", "state 1"};
    for (int i = 0; i < n_inputs - 1; i++) {
      if (i == 1) continue;
      if (adam && i == 0) {
        /* The update itself, element by element: the parameters are of order 1 and the two
         * steps move most by about 2e-3, of which weight decay (0.01 at rate 1e-3) is about
         * 2e-5·|param|, below a tolerance on the parameters; here within 1e-3 of the update
         * plus 1e-6 (a few float32 roundings of a value of order 1 are ≈ 3e-7). */
        double worst = 0, largest = 0;
        int64_t at = 0;
        for (int64_t k = 0; k < count; k++) {
          double want_update = (double)want[0][k] - before[k];
          double excess = fabs(((double)got[0][k] - before[k]) - want_update) -
                          (1e-3 * fabs(want_update) + 1e-6);
          largest = fmax(largest, fabs(want_update));
          if (!(excess <= worst)) worst = isnan(excess) ? INFINITY : excess, at = k;
        }
        CHECK_MSG(largest > 0 && worst <= 0,
                  "%s: the update of param[%lld] is %.9g, the reference's %.9g", label,
                  (long long)at, (double)got[0][at] - before[at], (double)want[0][at] - before[at]);
      } else if (adam) {
        ipro_test_compare_scaled(label, names[i], got[i], want[i], count);
      } else {
        int64_t k = 0;
        while (k < count && got[i][k] == want[i][k])
          k++;
        CHECK_MSG(k == count, "%s: %s[%lld] is %.9g, the reference's %.9g (must be identical)",
                  label, names[i], (long long)k, k < count ? (double)got[i][k] : 0.0,
                  k < count ? (double)want[i][k] : 0.0);
      }
    }
    for (int i = 0; i < n_inputs - 1; i++)
      free(want[i]), free(got[i]);
    free(before);
    kernel->destroy(kernel);
  }
  ipro_graph_free(g);
}

static void update_cases(ipro_backend *onednn) {
  const float sgd[6] = {0.05f, 0.9f, 5e-4f, 0.0f, 0.0f, 0.0f};
  const float nesterov[4] = {0.1f, 0.9f, 1e-4f, 1.0f};
  const float adam[6] = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1.0f};
  update_case(onednn, IPRO_OP_SGD_UPDATE, 36867, sgd, 6, false, true); /* the trainer's 6 */
  update_case(onednn, IPRO_OP_SGD_UPDATE, 16 * 16 * 9 + 1, nesterov, 4, true, true);
  update_case(onednn, IPRO_OP_SGD_UPDATE, 1, nesterov, 4, true, true);
  update_case(onednn, IPRO_OP_ADAM_UPDATE, 36867, adam, 6, false, true);
  update_case(onednn, IPRO_OP_ADAM_UPDATE, 3, adam, 6, false, true);
  update_case(onednn, IPRO_OP_ADAM_UPDATE, 3, adam, 5, false, false); /* step missing */
}

int main(void) {
  ipro_backend *onednn = NULL;
  ipro_error err = {{0}};
  if (ipro_backend_create_onednn(&onednn, &err) != IPRO_OK) {
    CHECK_OK(IPRO_ERROR, &err);
    return ipro_test_finish();
  }
  resize_cases(onednn);
  bce_cases(onednn);
  sup_con_cases(onednn);
  dropout_grad_cases(onednn);
  dropout_cases(onednn);
  update_cases(onednn);
  CHECK_EQ_INT(onednn->bytes_in_use, 0);
  onednn->destroy(onednn);
  return ipro_test_finish();
}
