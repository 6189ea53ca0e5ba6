/* The InfoPro local losses (codegen/internal_ops.md, "The InfoPro losses"): the reference kernels
 * of ipro.BinaryCrossEntropy and ipro.SupConLoss against their gradient kernels by finite
 * differences, against exact values worked out by hand, and against PyTorch
 * (models/golden/infopro_losses.ipgd, written by models/export_models.py --only infopro-losses:
 * SupContrast's loss on F.normalize'd features, nn.BCELoss, and the decoder's bilinear
 * align_corners upsampling with its gradient, each gradient by autograd); plus their op-table
 * rows (shapes, errors, FLOPs).
 *
 * Finite differences: the loss is the objective itself, f(X) = loss(X) as the kernel writes it in
 * float32. Step h = 1e-3 · (1 + |x|), divided out by the perturbation actually stored. The loss is
 * of order 1, so its float32 rounding (≈ 6e-8 relative) becomes ≈ 3e-5 after the division by 2h;
 * the truncation error h² f''' / 6 is ≈ 2e-7 · f''', and f''' stays below ≈ 1e3 here (BCE at
 * p ≥ 0.05 over 24 elements: 2/p³/24 ≈ 700; SupCon at T = 0.07 on features of norm ≈ 1.4: ≈ 1/T³
 * over N = 8 anchors and the norm cubed, ≈ 1e2). Both sit well below the tolerance, 1e-2 of the
 * gradient's largest magnitude on every element, which is itself below any plausible mistake (a
 * missing normalisation term, a wrong divisor, a positive set that includes the anchor).
 *
 * Golden comparisons: 1e-4 relative to each PyTorch value, plus 1e-5 of the tensor's largest
 * magnitude (and 1e-7) for values near zero; PyTorch computed in float64 from the stored float32
 * inputs, the kernels accumulate in double, so the only differences are float32 roundings. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "runtime/reference/reference_kernels.h"
#include "support/check.h"
#include "support/golden.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/tensor_checks.h"

#define STEP 1e-3
#define TOLERANCE 1e-2
#define GOLDEN_RELATIVE 1e-4
#define GOLDEN_ABSOLUTE 1e-5

/* A loss node and its gradient node over a few tensors, one data buffer per tensor. */
typedef ipro_test_bench bench;

static float *floats(bench *b, int t) { return b->data[t]; }

/* A node with two inputs and one output; the op is set directly, as autodiff does. */
static int node(bench *b, ipro_op op, int input0, int input1, int output) {
  char name[32];
  snprintf(name, sizeof name, "n%d", b->graph->n_nodes);
  int n = ipro_graph_add_node(b->graph, name, ipro_op_name(op), 2, 1);
  if (n < 0) abort();
  ipro_node *x = &b->graph->nodes[n];
  x->op = op;
  x->inputs[0] = input0, x->inputs[1] = input1, x->outputs[0] = output;
  b->graph->tensors[output].producer = n;
  return n;
}

static ipro_node *at(bench *b, int n) { return &b->graph->nodes[n]; }

static ipro_status run_quietly(bench *b, int n, ipro_error *err) {
  const ipro_node *x = &b->graph->nodes[n];
  void *inputs[2] = {b->data[x->inputs[0]], b->data[x->inputs[1]]};
  void *outputs[1] = {b->data[x->outputs[0]]};
  return ipro_reference_forward_table()[x->op](b->graph, x, inputs, outputs, NULL, err);
}

static bool run(bench *b, int n) {
  ipro_error err = {{0}};
  ipro_status status = run_quietly(b, n, &err);
  CHECK_OK(status, &err);
  return status == IPRO_OK;
}

static double loss_of(bench *b, int loss_node) {
  ipro_error err = {{0}};
  if (run_quietly(b, loss_node, &err) != IPRO_OK) return NAN;
  return floats(b, at(b, loss_node)->outputs[0])[0];
}

typedef struct {
  bench *b;
  int loss_node;
} loss_at;

static double loss_of_at(void *at) {
  loss_at *l = at;
  return loss_of(l->b, l->loss_node);
}

/* Central differences of the loss over every element of x against gradient. */
static void check_gradient(bench *b, const char *what, int loss_node, int x,
                           const float *gradient) {
  loss_at at = {b, loss_node};
  ipro_test_check_central_differences(what, floats(b, x), ipro_test_bench_count(b, x), gradient,
                                      loss_of_at, &at, STEP, TOLERANCE, 1e-4);
}

/* Runs the gradient node again with scale = 2.5 and checks that it scales the result. */
static void check_scale(bench *b, const char *what, int grad_node) {
  int out = at(b, grad_node)->outputs[0];
  int64_t count = ipro_test_bench_count(b, out);
  float *unscaled = malloc((size_t)count * sizeof *unscaled);
  if (!unscaled) abort();
  memcpy(unscaled, floats(b, out), (size_t)count * sizeof *unscaled);
  ipro_node_set_float(at(b, grad_node), "scale", 2.5f);
  bool same = run(b, grad_node);
  for (int64_t i = 0; same && i < count; i++)
    same = fabs(floats(b, out)[i] - 2.5 * unscaled[i]) <= 1e-6 * (1.0 + fabs(unscaled[i]));
  CHECK_MSG(same, "%s: scale 2.5 does not scale the gradient by 2.5", what);
  ipro_node_set_float(at(b, grad_node), "scale", 1.0f);
  free(unscaled);
}

/* ---- finite differences ---- */

static void test_binary_cross_entropy_gradient(void) {
  bench b = ipro_test_bench_open(5);
  const int64_t dims[3] = {2, 3, 4};
  int p = ipro_test_bench_tensor(&b, "p", IPRO_DTYPE_FLOAT, 3, dims);
  int target = ipro_test_bench_tensor(&b, "target", IPRO_DTYPE_FLOAT, 3, dims);
  int loss = ipro_test_bench_tensor(&b, "loss", IPRO_DTYPE_FLOAT, 0, NULL);
  int dp = ipro_test_bench_tensor(&b, "dp", IPRO_DTYPE_FLOAT, 3, dims);
  ipro_test_bench_fill(&b, p, 0.05, 0.95), ipro_test_bench_fill(&b, target, 0.0, 1.0);
  floats(&b, target)[0] = 0.0f, floats(&b, target)[1] = 1.0f; /* hard targets too */
  int forward = node(&b, IPRO_OP_BINARY_CROSS_ENTROPY, p, target, loss);
  int backward = node(&b, IPRO_OP_BINARY_CROSS_ENTROPY_GRAD, p, target, dp);
  if (run(&b, backward)) {
    check_gradient(&b, "BinaryCrossEntropy dP", forward, p, floats(&b, dp));
    check_scale(&b, "BinaryCrossEntropyGrad", backward);
  }
  ipro_test_bench_close(&b);
}

/* 8 samples in 4 classes, class 3 with a single member (an anchor without positives), features
 * [8, 6] in [-1, 1]; labels int64, or int32 to check that both read alike. */
static void check_sup_con(float temperature, ipro_dtype label_dtype) {
  bench b = ipro_test_bench_open(17);
  static const int64_t classes[8] = {0, 1, 0, 2, 1, 0, 3, 2};
  int features = ipro_test_bench_tensor(&b, "features", IPRO_DTYPE_FLOAT, 2, (int64_t[]){8, 6});
  int labels = ipro_test_bench_tensor(&b, "labels", label_dtype, 1, (int64_t[]){8});
  int loss = ipro_test_bench_tensor(&b, "loss", IPRO_DTYPE_FLOAT, 0, NULL);
  int gradient = ipro_test_bench_tensor(&b, "gradient", IPRO_DTYPE_FLOAT, 2, (int64_t[]){8, 6});
  ipro_test_bench_fill(&b, features, -1.0, 1.0);
  for (int i = 0; i < 8; i++) {
    if (label_dtype == IPRO_DTYPE_INT64)
      ((int64_t *)b.data[labels])[i] = classes[i];
    else
      ((int32_t *)b.data[labels])[i] = (int32_t)classes[i];
  }
  int forward = node(&b, IPRO_OP_SUP_CON_LOSS, features, labels, loss);
  int backward = node(&b, IPRO_OP_SUP_CON_GRAD, features, labels, gradient);
  ipro_node_set_float(at(&b, forward), "temperature", temperature);
  ipro_node_set_float(at(&b, backward), "temperature", temperature);
  char what[64];
  snprintf(what, sizeof what, "SupCon T=%g %s labels", (double)temperature,
           ipro_dtype_name(label_dtype));
  if (run(&b, backward)) {
    check_gradient(&b, what, forward, features, floats(&b, gradient));
    check_scale(&b, what, backward);
  }
  ipro_test_bench_close(&b);
}

static void test_sup_con_gradient(void) {
  check_sup_con(0.07f, IPRO_DTYPE_INT64);
  check_sup_con(0.5f, IPRO_DTYPE_INT64);
  check_sup_con(0.07f, IPRO_DTYPE_INT32);
}

/* ---- exact values ---- */

/* p = {0, 1, 0.5, 0.25}, t = {1, 0, 0.5, 1}: the first two logs are clamped at −100, so
 * loss = (100 + 100 + ln 2 + ln 4) / 4; the gradient's denominator at p = 0 and 1 is clamped at
 * 1e-12: dP = (p − t) / max(p(1−p), 1e-12) / 4 = {−2.5e11, 2.5e11, 0, −1}. */
static void test_binary_cross_entropy_values(void) {
  bench b = ipro_test_bench_open(1);
  const int64_t dims[1] = {4};
  int p = ipro_test_bench_tensor(&b, "p", IPRO_DTYPE_FLOAT, 1, dims);
  int target = ipro_test_bench_tensor(&b, "target", IPRO_DTYPE_FLOAT, 1, dims);
  int loss = ipro_test_bench_tensor(&b, "loss", IPRO_DTYPE_FLOAT, 0, NULL);
  int dp = ipro_test_bench_tensor(&b, "dp", IPRO_DTYPE_FLOAT, 1, dims);
  memcpy(b.data[p], (float[]){0.0f, 1.0f, 0.5f, 0.25f}, 4 * sizeof(float));
  memcpy(b.data[target], (float[]){1.0f, 0.0f, 0.5f, 1.0f}, 4 * sizeof(float));
  int forward = node(&b, IPRO_OP_BINARY_CROSS_ENTROPY, p, target, loss);
  int backward = node(&b, IPRO_OP_BINARY_CROSS_ENTROPY_GRAD, p, target, dp);
  if (run(&b, forward) && run(&b, backward)) {
    double want = (200.0 + log(2.0) + log(4.0)) / 4.0;
    CHECK_MSG(fabs(floats(&b, loss)[0] - want) <= 1e-6 * want, "BCE loss %.8g, expected %.8g",
              (double)floats(&b, loss)[0], want);
    const double grad[4] = {-2.5e11, 2.5e11, 0.0, -1.0};
    for (int i = 0; i < 4; i++)
      CHECK_MSG(fabs(floats(&b, dp)[i] - grad[i]) <= 1e-6 * fabs(grad[i]),
                "BCE dP[%d] %.8g, expected %.8g", i, (double)floats(&b, dp)[i], grad[i]);
  }
  ipro_test_bench_close(&b);
}

/* Four samples on two orthogonal directions, classes {0, 0, 1, 1}, samples 0 and 1 equal (to e1,
 * one scaled by 3, which the normalisation removes) and 2 and 3 equal (to e2): each anchor's only
 * positive has similarity 1/T and its two negatives 0, so every L_i = log(e^{1/T} + 2) − 1/T.
 * Labels {0, 1, 2, 3} leave every anchor without positives: loss 0 and gradient 0. */
static void test_sup_con_values(void) {
  bench b = ipro_test_bench_open(1);
  int features = ipro_test_bench_tensor(&b, "features", IPRO_DTYPE_FLOAT, 2, (int64_t[]){4, 2});
  int labels = ipro_test_bench_tensor(&b, "labels", IPRO_DTYPE_INT64, 1, (int64_t[]){4});
  int loss = ipro_test_bench_tensor(&b, "loss", IPRO_DTYPE_FLOAT, 0, NULL);
  int gradient = ipro_test_bench_tensor(&b, "gradient", IPRO_DTYPE_FLOAT, 2, (int64_t[]){4, 2});
  memcpy(b.data[features], (float[]){1, 0, 3, 0, 0, 1, 0, 1}, 8 * sizeof(float));
  memcpy(b.data[labels], (int64_t[]){0, 0, 1, 1}, 4 * sizeof(int64_t));
  int forward = node(&b, IPRO_OP_SUP_CON_LOSS, features, labels, loss);
  int backward = node(&b, IPRO_OP_SUP_CON_GRAD, features, labels, gradient);
  double t = 0.07f; /* the default, as float */
  if (run(&b, forward)) {
    double want = log(exp(1.0 / t) + 2.0) - 1.0 / t;
    CHECK_MSG(fabs(floats(&b, loss)[0] - want) <= 1e-5 * want + 1e-7,
              "SupCon loss %.8g, expected %.8g", (double)floats(&b, loss)[0], want);
  }
  memcpy(b.data[labels], (int64_t[]){0, 1, 2, 3}, 4 * sizeof(int64_t));
  if (run(&b, forward) && run(&b, backward)) {
    CHECK_MSG(floats(&b, loss)[0] == 0.0f, "SupCon without positives: loss %g, expected 0",
              (double)floats(&b, loss)[0]);
    bool zero = true;
    for (int i = 0; i < 8; i++)
      zero = zero && floats(&b, gradient)[i] == 0.0f;
    CHECK_MSG(zero, "SupCon without positives: the gradient is not 0");
  }
  ipro_test_bench_close(&b);
}

/* ---- op-table rows ---- */

static ipro_status infer(ipro_graph *g, const char *name, ipro_error *err) {
  ipro_node *n = (ipro_node *)hand_find_node(g, name);
  return ipro_op_info_of(n->op)->infer(g, n, err);
}

static ipro_node *internal_node(ipro_graph *g, const char *name, ipro_op op, const char *inputs,
                                const char *output) {
  ipro_node *n = hand_node(g, name, ipro_op_name(op), inputs, output);
  n->op = op;
  return n;
}

static void test_shape_inference(void) {
  ipro_graph *g = hand_graph(17);
  g->batch = 16;
  hand_input(g, "p", 4, (int64_t[]){2, 1, 28, 28});
  hand_input(g, "target", 4, (int64_t[]){2, 1, 28, 28});
  hand_input(g, "wrong_target", 4, (int64_t[]){2, 1, 28, 27});
  hand_input(g, "features", 2, (int64_t[]){IPRO_DIM_BATCH, 128});
  hand_input(g, "flat", 1, (int64_t[]){128});
  int labels = ipro_graph_tensor(g, "labels");
  g->tensors[labels].dtype = IPRO_DTYPE_INT64;
  g->tensors[labels].shape = hand_shape(1, (int64_t[]){IPRO_DIM_BATCH});
  int short_labels = ipro_graph_tensor(g, "short_labels");
  g->tensors[short_labels].dtype = IPRO_DTYPE_INT64;
  g->tensors[short_labels].shape = hand_shape(1, (int64_t[]){15});
  internal_node(g, "bce", IPRO_OP_BINARY_CROSS_ENTROPY, "p,target", "bce_loss");
  internal_node(g, "bce_grad", IPRO_OP_BINARY_CROSS_ENTROPY_GRAD, "p,target", "dp");
  internal_node(g, "bce_bad", IPRO_OP_BINARY_CROSS_ENTROPY, "p,wrong_target", "bad0");
  internal_node(g, "supcon", IPRO_OP_SUP_CON_LOSS, "features,labels", "supcon_loss");
  internal_node(g, "supcon_grad", IPRO_OP_SUP_CON_GRAD, "features,labels", "dfeatures");
  internal_node(g, "supcon_short", IPRO_OP_SUP_CON_LOSS, "features,short_labels", "bad1");
  internal_node(g, "supcon_flat", IPRO_OP_SUP_CON_GRAD, "flat,labels", "bad2");
  internal_node(g, "supcon_float_labels", IPRO_OP_SUP_CON_LOSS, "features,features", "bad3");
  ipro_node *cold =
      internal_node(g, "supcon_cold", IPRO_OP_SUP_CON_LOSS, "features,labels", "bad4");
  ipro_node_set_float(cold, "temperature", 0.0f);

  ipro_error err = {{0}};
  CHECK_OK(infer(g, "bce", &err), &err);
  CHECK_OK(infer(g, "bce_grad", &err), &err);
  CHECK_OK(infer(g, "supcon", &err), &err);
  CHECK_OK(infer(g, "supcon_grad", &err), &err);
  CHECK(hand_tensor(g, "bce_loss")->shape.rank == 0);
  CHECK(hand_tensor(g, "bce_loss")->dtype == IPRO_DTYPE_FLOAT);
  CHECK(ipro_shape_equal(&hand_tensor(g, "dp")->shape, &hand_tensor(g, "p")->shape));
  CHECK(hand_tensor(g, "supcon_loss")->shape.rank == 0);
  CHECK(ipro_shape_equal(&hand_tensor(g, "dfeatures")->shape, &hand_tensor(g, "features")->shape));
  const char *failing[] = {"bce_bad", "supcon_short", "supcon_flat", "supcon_float_labels",
                           "supcon_cold"};
  for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
    err = (ipro_error){{0}};
    CHECK_MSG(infer(g, failing[i], &err) == IPRO_ERROR, "%s: inferred", failing[i]);
    CHECK_MSG(strstr(err.message, failing[i]) != NULL, "%s: the message does not name it: %s",
              failing[i], err.message);
  }
  /* FLOPs at the bound batch of 16: the 16 x 16 Gram matrix of 128-d rows, twice for the
   * gradient; BCE one per element. */
  const ipro_node *supcon = hand_find_node(g, "supcon");
  const ipro_node *supcon_grad = hand_find_node(g, "supcon_grad");
  const ipro_node *bce = hand_find_node(g, "bce");
  CHECK_EQ_INT(ipro_op_info_of(supcon->op)->flops(g, supcon), 2 * 16 * 16 * 128);
  CHECK_EQ_INT(ipro_op_info_of(supcon_grad->op)->flops(g, supcon_grad), 4 * 16 * 16 * 128);
  CHECK_EQ_INT(ipro_op_info_of(bce->op)->flops(g, bce), 2 * 28 * 28);
  ipro_graph_free(g);
}

/* ---- PyTorch goldens ---- */

static void golden_sup_con(const ipro_golden_file *file) {
  const ipro_golden_tensor *features = ipro_golden_expect(file, "supcon_features", 16 * 128);
  const ipro_golden_tensor *labels = ipro_golden_expect(file, "supcon_labels", 16);
  const ipro_golden_tensor *loss_want = ipro_golden_expect(file, "supcon_loss", 1);
  const ipro_golden_tensor *gradient_want = ipro_golden_expect(file, "supcon_grad", 16 * 128);
  if (!features || !labels || !loss_want || !gradient_want) return;
  bench b = ipro_test_bench_open(1);
  int f = ipro_test_bench_tensor(&b, "features", IPRO_DTYPE_FLOAT, 2, (int64_t[]){16, 128});
  int y = ipro_test_bench_tensor(&b, "labels", IPRO_DTYPE_INT64, 1, (int64_t[]){16});
  int loss = ipro_test_bench_tensor(&b, "loss", IPRO_DTYPE_FLOAT, 0, NULL);
  int gradient = ipro_test_bench_tensor(&b, "gradient", IPRO_DTYPE_FLOAT, 2, (int64_t[]){16, 128});
  memcpy(b.data[f], features->data, sizeof(float) * 16 * 128);
  for (int i = 0; i < 16; i++)
    ((int64_t *)b.data[y])[i] = (int64_t)labels->data[i];
  int forward = node(&b, IPRO_OP_SUP_CON_LOSS, f, y, loss);
  int backward = node(&b, IPRO_OP_SUP_CON_GRAD, f, y, gradient);
  if (run(&b, forward) && run(&b, backward)) {
    ipro_golden_check("SupCon loss", floats(&b, loss), loss_want, GOLDEN_RELATIVE, GOLDEN_ABSOLUTE);
    ipro_golden_check("SupCon gradient", floats(&b, gradient), gradient_want, GOLDEN_RELATIVE,
                      GOLDEN_ABSOLUTE);
  }
  ipro_test_bench_close(&b);
}

static void golden_binary_cross_entropy(const ipro_golden_file *file) {
  const int64_t count = 2 * 28 * 28;
  const ipro_golden_tensor *p_in = ipro_golden_expect(file, "bce_p", count);
  const ipro_golden_tensor *target_in = ipro_golden_expect(file, "bce_target", count);
  const ipro_golden_tensor *loss_want = ipro_golden_expect(file, "bce_loss", 1);
  const ipro_golden_tensor *gradient_want = ipro_golden_expect(file, "bce_grad", count);
  if (!p_in || !target_in || !loss_want || !gradient_want) return;
  bench b = ipro_test_bench_open(1);
  const int64_t dims[4] = {2, 1, 28, 28};
  int p = ipro_test_bench_tensor(&b, "p", IPRO_DTYPE_FLOAT, 4, dims);
  int target = ipro_test_bench_tensor(&b, "target", IPRO_DTYPE_FLOAT, 4, dims);
  int loss = ipro_test_bench_tensor(&b, "loss", IPRO_DTYPE_FLOAT, 0, NULL);
  int dp = ipro_test_bench_tensor(&b, "dp", IPRO_DTYPE_FLOAT, 4, dims);
  memcpy(b.data[p], p_in->data, sizeof(float) * (size_t)count);
  memcpy(b.data[target], target_in->data, sizeof(float) * (size_t)count);
  int forward = node(&b, IPRO_OP_BINARY_CROSS_ENTROPY, p, target, loss);
  int backward = node(&b, IPRO_OP_BINARY_CROSS_ENTROPY_GRAD, p, target, dp);
  if (run(&b, forward) && run(&b, backward)) {
    ipro_golden_check("BCE loss", floats(&b, loss), loss_want, GOLDEN_RELATIVE, GOLDEN_ABSOLUTE);
    ipro_golden_check("BCE gradient", floats(&b, dp), gradient_want, GOLDEN_RELATIVE,
                      GOLDEN_ABSOLUTE);
  }
  ipro_test_bench_close(&b);
}

/* The decoder's upsampling as the heads build it: an ONNX Resize (linear, align_corners, sizes
 * as an initializer input) normalised and shape-inferred, and its ipro.ResizeGrad with the
 * Resize's canonical attributes plus input_shape and forward_op, as autodiff's resize_gradient
 * emits it (codegen/gradient_rules.c) into the inferred graph; the graph is inferred again and
 * both nodes run on their reference kernels. */
static void golden_upsample(const ipro_golden_file *file) {
  const ipro_golden_tensor *x_in = ipro_golden_expect(file, "upsample_input", 2 * 3 * 7 * 7);
  const ipro_golden_tensor *y_want = ipro_golden_expect(file, "upsample_output", 2 * 3 * 28 * 28);
  const ipro_golden_tensor *dy_in = ipro_golden_expect(file, "upsample_upstream", 2 * 3 * 28 * 28);
  const ipro_golden_tensor *dx_want = ipro_golden_expect(file, "upsample_grad", 2 * 3 * 7 * 7);
  if (!x_in || !y_want || !dy_in || !dx_want) return;
  const int64_t in_dims[4] = {2, 3, 7, 7}, out_dims[4] = {2, 3, 28, 28};
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 4, in_dims);
  hand_int64_initializer(g, "sizes", 4, out_dims);
  ipro_node *resize = hand_node(g, "upsample", "Resize", "x,,,sizes", "y");
  ipro_node_set_string(resize, "mode", "linear");
  ipro_node_set_string(resize, "coordinate_transformation_mode", "align_corners");
  hand_output(g, "y");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  /* Inference completes Resize's canonical attributes (scales and sizes for every axis). */
  CHECK_OK(ipro_graph_infer_shapes(g, 2, &err), &err);

  int dy = hand_input(g, "dy", 4, out_dims);
  int n = ipro_test_add_resize_grad(g, "upsample_grad", 0, dy, "dx", 4, in_dims);
  hand_output(g, "dx");
  CHECK_OK(ipro_graph_infer_shapes(g, 2, &err), &err);
  CHECK(ipro_shape_equal(&hand_tensor(g, "y")->shape, &(ipro_shape){4, {2, 3, 28, 28}}));
  CHECK(ipro_shape_equal(&hand_tensor(g, "dx")->shape, &(ipro_shape){4, {2, 3, 7, 7}}));

  /* Resize reads only X once its sizes are an attribute; an input left in place gets its data. */
  float *y = calloc(2 * 3 * 28 * 28, sizeof *y), *dx = calloc(2 * 3 * 7 * 7, sizeof *dx);
  hand_require(y && dx);
  const ipro_node *resize_node = &g->nodes[0], *grad_node = &g->nodes[n];
  void *resize_inputs[4] = {x_in->data, NULL, NULL, NULL}, *resize_outputs[1] = {y};
  for (int i = 1; i < resize_node->n_inputs && i < 4; i++)
    if (resize_node->inputs[i] >= 0) resize_inputs[i] = g->tensors[resize_node->inputs[i]].data;
  void *grad_inputs[1] = {dy_in->data}, *grad_outputs[1] = {dx};
  const ipro_reference_forward_fn *kernels = ipro_reference_forward_table();
  ipro_status status =
      kernels[IPRO_OP_RESIZE](g, resize_node, resize_inputs, resize_outputs, NULL, &err);
  CHECK_OK(status, &err);
  if (status == IPRO_OK)
    ipro_golden_check("Resize bilinear align_corners 7x7 -> 28x28", y, y_want, GOLDEN_RELATIVE,
                      GOLDEN_ABSOLUTE);
  status = kernels[IPRO_OP_RESIZE_GRAD](g, grad_node, grad_inputs, grad_outputs, NULL, &err);
  CHECK_OK(status, &err);
  if (status == IPRO_OK)
    ipro_golden_check("ResizeGrad bilinear align_corners", dx, dx_want, GOLDEN_RELATIVE,
                      GOLDEN_ABSOLUTE);
  free(y);
  free(dx);
  ipro_graph_free(g);
}

static void test_goldens(void) {
  char path[1024];
  ipro_test_path(path, sizeof path, "models/golden/infopro_losses.ipgd");
  ipro_golden_file file;
  ipro_error err = {{0}};
  ipro_status status = ipro_golden_load(path, &file, &err);
  CHECK_OK(status, &err);
  if (status != IPRO_OK) return;
  golden_sup_con(&file);
  golden_binary_cross_entropy(&file);
  golden_upsample(&file);
  ipro_golden_release(&file);
}

int main(void) {
  test_binary_cross_entropy_gradient();
  test_sup_con_gradient();
  test_binary_cross_entropy_values();
  test_sup_con_values();
  test_shape_inference();
  test_goldens();
  return ipro_test_finish();
}
