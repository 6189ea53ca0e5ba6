/* Finite-difference checks of the reference gradient kernels (codegen/internal_ops.md) against the
 * forward reference kernels they differentiate.
 *
 * Each check builds a forward node and its gradient node by hand on small random shapes (shapes
 * set on the tensors, so nothing depends on shape inference), picks a random projection w of the
 * forward output and takes f(X) = Σ w · forward(X), computed in double from the forward kernel's
 * float32 outputs. The gradient kernel, fed dY = w, must give df/dX as central differences
 * estimate it.
 *
 * Step: h = 1e-2 · (1 + |x|), and the difference is divided by the perturbation actually stored in
 * float32. Each float output carries a rounding error of about 6e-8 relative, so f carries at most
 * about n · 6e-8 (n ≤ a few hundred outputs of size ~1): about 1e-5, which the division by 2h turns
 * into ≤ 1e-3 of the gradient. The truncation error of the central difference is h² f''' / 6,
 * about 1e-4 · f''' for the smooth ops (BatchNormalization, the softmaxes, Sigmoid, Tanh, the
 * loss), and zero for the ops that are linear in the differentiated input (Conv, the pools between
 * their kinks, Resize, Pad, Concat, Dropout, ReduceMean, broadcasting). The tolerance, 1e-2 of the
 * gradient's largest magnitude on every element, sits an order above both, and an order below
 * the smallest plausible mistake (a missing term, a wrong divisor, a gradient sent to the wrong
 * element). Inputs of the piecewise ops are kept further than h from their kinks and ties (MaxPool
 * values are distinct by 0.1), where the derivative is undefined. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "ir/graph.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/support/check.h"
#include "tests/support/golden.h"
#include "tests/support/tensor_checks.h"

#define STEP 1e-2
#define TOLERANCE 1e-2

/* A graph of a few nodes with one data buffer per tensor, zero-initialised. */
typedef ipro_test_bench bench;

static int floats_tensor(bench *b, const char *name, int rank, const int64_t *dims) {
  return ipro_test_bench_tensor(b, name, IPRO_DTYPE_FLOAT, rank, dims);
}

static float *floats(bench *b, int t) { return b->data[t]; }

static double uniform(bench *b, double lo, double hi) {
  return ipro_test_lcg_uniform(&b->random_state, lo, hi);
}

/* A node over existing tensors (-1 = omitted); returns its index. The op is set directly, as
 * autodiff does for the internal ops. */
static int node(bench *b, ipro_op op, int n_inputs, const int *inputs, int n_outputs,
                const int *outputs) {
  char name[32];
  snprintf(name, sizeof name, "n%d", b->graph->n_nodes);
  int n = ipro_graph_add_node(b->graph, name, ipro_op_name(op), n_inputs, n_outputs);
  if (n < 0) abort();
  b->graph->nodes[n].op = op;
  for (int i = 0; i < n_inputs; i++)
    b->graph->nodes[n].inputs[i] = inputs[i];
  for (int i = 0; i < n_outputs; i++) {
    b->graph->nodes[n].outputs[i] = outputs[i];
    if (outputs[i] >= 0) b->graph->tensors[outputs[i]].producer = n;
  }
  return n;
}

static ipro_node *at(bench *b, int n) { return &b->graph->nodes[n]; }

static ipro_status run_quietly(bench *b, int n, const ipro_kernel_context *context,
                               ipro_error *err) {
  const ipro_node *x = &b->graph->nodes[n];
  void *inputs[8] = {0}, *outputs[8] = {0};
  for (int i = 0; i < x->n_inputs; i++)
    inputs[i] = x->inputs[i] >= 0 ? b->data[x->inputs[i]] : NULL;
  for (int i = 0; i < x->n_outputs; i++)
    outputs[i] = x->outputs[i] >= 0 ? b->data[x->outputs[i]] : NULL;
  return ipro_reference_forward_table()[x->op](b->graph, x, inputs, outputs, context, err);
}

static bool run(bench *b, int n, const ipro_kernel_context *context) {
  ipro_error err = {{0}};
  ipro_status status = run_quietly(b, n, context, &err);
  CHECK_OK(status, &err);
  return status == IPRO_OK;
}

/* f = Σ w · Y for output tensor y of the forward node, in double. */
static double objective(bench *b, int forward, int y, int w, const ipro_kernel_context *context) {
  ipro_error err = {{0}};
  if (run_quietly(b, forward, context, &err) != IPRO_OK) return NAN;
  double sum = 0.0;
  for (int64_t i = 0; i < ipro_test_bench_count(b, y); i++)
    sum += (double)floats(b, w)[i] * floats(b, y)[i];
  return sum;
}

typedef struct {
  bench *b;
  int forward, y, w;
  const ipro_kernel_context *context;
} objective_at;

static double objective_of(void *at) {
  objective_at *o = at;
  return objective(o->b, o->forward, o->y, o->w, o->context);
}

/* Compares gradient (the kernel's df/dx, already computed) with central differences of f over
 * every element of x; x is restored afterwards. */
static void check_gradient_with(bench *b, const char *what, int forward, int y, int w, int x,
                                const float *gradient, const ipro_kernel_context *context) {
  objective_at at = {b, forward, y, w, context};
  ipro_test_check_central_differences(what, floats(b, x), ipro_test_bench_count(b, x), gradient,
                                      objective_of, &at, STEP, TOLERANCE, 1e-3);
}

static void check_gradient(bench *b, const char *what, int forward, int y, int w, int x,
                           const float *gradient) {
  check_gradient_with(b, what, forward, y, w, x, gradient, NULL);
}

/* A gradient node with one input (dY = w) or two, the forward's attributes copied as autodiff
 * does, and input_shape set to shape of tensor `shaped` when it is >= 0. */
static int gradient_node(bench *b, ipro_op op, int forward, int n_inputs, const int *inputs,
                         int n_outputs, const int *outputs, int shaped) {
  int g = node(b, op, n_inputs, inputs, n_outputs, outputs);
  ipro_test_copy_attributes(at(b, g), at(b, forward));
  if (shaped >= 0) {
    const ipro_shape *shape = &b->graph->tensors[shaped].shape;
    ipro_node_set_ints(at(b, g), "input_shape", shape->dims, shape->rank);
  }
  ipro_node_set_int(at(b, g), "forward_op", at(b, forward)->op);
  return g;
}

/* ---- Conv ---- */

typedef struct {
  const char *name;
  int64_t n, c, h, w, m, k, stride, dilation, group;
  int64_t pads[4];
} conv_case;

static void check_conv(const conv_case *cc) {
  bench b = ipro_test_bench_open(11);
  int64_t out_h =
      (cc->h + cc->pads[0] + cc->pads[2] - cc->dilation * (cc->k - 1) - 1) / cc->stride + 1;
  int64_t out_w =
      (cc->w + cc->pads[1] + cc->pads[3] - cc->dilation * (cc->k - 1) - 1) / cc->stride + 1;
  int x = floats_tensor(&b, "x", 4, (int64_t[]){cc->n, cc->c, cc->h, cc->w});
  int wt = floats_tensor(&b, "w", 4, (int64_t[]){cc->m, cc->c / cc->group, cc->k, cc->k});
  int bias = floats_tensor(&b, "b", 1, (int64_t[]){cc->m});
  int y = floats_tensor(&b, "y", 4, (int64_t[]){cc->n, cc->m, out_h, out_w});
  int dy = floats_tensor(&b, "dy", 4, (int64_t[]){cc->n, cc->m, out_h, out_w});
  int dx = floats_tensor(&b, "dx", 4, (int64_t[]){cc->n, cc->c, cc->h, cc->w});
  int dw = floats_tensor(&b, "dw", 4, (int64_t[]){cc->m, cc->c / cc->group, cc->k, cc->k});
  int db = floats_tensor(&b, "db", 1, (int64_t[]){cc->m});
  ipro_test_bench_fill(&b, x, -1, 1), ipro_test_bench_fill(&b, wt, -1, 1),
      ipro_test_bench_fill(&b, bias, -1, 1), ipro_test_bench_fill(&b, dy, -1, 1);
  int conv = node(&b, IPRO_OP_CONV, 3, (int[]){x, wt, bias}, 1, (int[]){y});
  ipro_node_set_ints(at(&b, conv), "kernel_shape", (int64_t[]){cc->k, cc->k}, 2);
  ipro_node_set_ints(at(&b, conv), "strides", (int64_t[]){cc->stride, cc->stride}, 2);
  ipro_node_set_ints(at(&b, conv), "dilations", (int64_t[]){cc->dilation, cc->dilation}, 2);
  ipro_node_set_ints(at(&b, conv), "pads", cc->pads, 4);
  ipro_node_set_int(at(&b, conv), "group", cc->group);
  int grad_input =
      gradient_node(&b, IPRO_OP_CONV_GRAD_INPUT, conv, 2, (int[]){dy, wt}, 1, (int[]){dx}, x);
  int grad_weight =
      gradient_node(&b, IPRO_OP_CONV_GRAD_WEIGHT, conv, 2, (int[]){dy, x}, 2, (int[]){dw, db}, -1);
  ipro_node_set_ints(at(&b, grad_weight), "weight_shape", b.graph->tensors[wt].shape.dims, 4);
  if (run(&b, grad_input, NULL) && run(&b, grad_weight, NULL)) {
    char what[96];
    snprintf(what, sizeof what, "Conv %s dX", cc->name);
    check_gradient(&b, what, conv, y, dy, x, floats(&b, dx));
    snprintf(what, sizeof what, "Conv %s dW", cc->name);
    check_gradient(&b, what, conv, y, dy, wt, floats(&b, dw));
    snprintf(what, sizeof what, "Conv %s dB", cc->name);
    check_gradient(&b, what, conv, y, dy, bias, floats(&b, db));
  }
  ipro_test_bench_close(&b);
}

static void test_conv_gradients(void) {
  const conv_case cases[] = {
      {"stride 2, groups 2, dilation 2, asymmetric pads", 2, 4, 7, 6, 6, 3, 2, 2, 2, {2, 1, 1, 2}},
      {"3x3 pad 1", 2, 3, 5, 5, 4, 3, 1, 1, 1, {1, 1, 1, 1}},
      {"depthwise stride 2", 1, 4, 6, 5, 4, 3, 2, 1, 4, {1, 0, 0, 1}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_conv(&cases[i]);
}

/* ---- BatchNormalization (training mode) ---- */

static void test_batch_norm_gradient(void) {
  bench b = ipro_test_bench_open(12);
  const int64_t shape[4] = {3, 2, 2, 3}, channels[1] = {2};
  int x = floats_tensor(&b, "x", 4, shape), y = floats_tensor(&b, "y", 4, shape);
  int dy = floats_tensor(&b, "dy", 4, shape), dx = floats_tensor(&b, "dx", 4, shape);
  int scale = floats_tensor(&b, "scale", 1, channels),
      bias = floats_tensor(&b, "bias", 1, channels);
  int mean = floats_tensor(&b, "mean", 1, channels), var = floats_tensor(&b, "var", 1, channels);
  int dscale = floats_tensor(&b, "dscale", 1, channels);
  int dbias = floats_tensor(&b, "dbias", 1, channels);
  ipro_test_bench_fill(&b, x, -2, 2), ipro_test_bench_fill(&b, scale, 0.5, 1.5),
      ipro_test_bench_fill(&b, bias, -1, 1), ipro_test_bench_fill(&b, dy, -1, 1);
  ipro_test_bench_fill(&b, var, 0.5, 1.0);
  int bn =
      node(&b, IPRO_OP_BATCH_NORMALIZATION, 5, (int[]){x, scale, bias, mean, var}, 1, (int[]){y});
  ipro_node_set_int(at(&b, bn), "training_mode", 1);
  ipro_node_set_float(at(&b, bn), "epsilon", 1e-3f);
  int grad =
      node(&b, IPRO_OP_BATCH_NORM_GRAD, 3, (int[]){dy, x, scale}, 3, (int[]){dx, dscale, dbias});
  ipro_node_set_float(at(&b, grad), "epsilon", 1e-3f);
  if (run(&b, grad, NULL)) {
    check_gradient(&b, "BatchNormalization dX", bn, y, dy, x, floats(&b, dx));
    check_gradient(&b, "BatchNormalization dScale", bn, y, dy, scale, floats(&b, dscale));
    check_gradient(&b, "BatchNormalization dBias", bn, y, dy, bias, floats(&b, dbias));
  }
  ipro_test_bench_close(&b);
}

/* ---- activations (UnaryGrad) ---- */

typedef struct {
  ipro_op op;
  bool through_output; /* T is Y (Relu, Sigmoid, Tanh) rather than X */
  const char *attribute[2];
  float value[2];
  float kinks[2]; /* where the derivative jumps; inputs stay away from them */
  int n_kinks;
} activation_case;

static void check_activation(const activation_case *ac) {
  bench b = ipro_test_bench_open(13 + (unsigned)ac->op);
  const int64_t shape[3] = {3, 4, 5};
  int x = floats_tensor(&b, "x", 3, shape), y = floats_tensor(&b, "y", 3, shape);
  int dy = floats_tensor(&b, "dy", 3, shape), dx = floats_tensor(&b, "dx", 3, shape);
  ipro_test_bench_fill(&b, dy, -1, 1);
  /* Uniform on [-4, 4], redrawn within 0.1 of a kink: more than the step h ≤ 0.05 there. */
  for (int64_t i = 0; i < ipro_test_bench_count(&b, x); i++) {
    double value;
    bool near;
    do {
      value = uniform(&b, -4, 4);
      near = false;
      for (int k = 0; k < ac->n_kinks; k++)
        near = near || fabs(value - ac->kinks[k]) < 0.1;
    } while (near);
    floats(&b, x)[i] = (float)value;
  }
  int forward = node(&b, ac->op, 1, (int[]){x}, 1, (int[]){y});
  for (int a = 0; a < 2; a++)
    if (ac->attribute[a]) ipro_node_set_float(at(&b, forward), ac->attribute[a], ac->value[a]);
  int grad = gradient_node(&b, IPRO_OP_UNARY_GRAD, forward, 2,
                           (int[]){dy, ac->through_output ? y : x}, 1, (int[]){dx}, -1);
  if (run(&b, forward, NULL) && run(&b, grad, NULL))
    check_gradient(&b, ipro_op_name(ac->op), forward, y, dy, x, floats(&b, dx));
  ipro_test_bench_close(&b);
}

static void test_activation_gradients(void) {
  const activation_case cases[] = {
      {IPRO_OP_RELU, true, {NULL, NULL}, {0, 0}, {0}, 1},
      {IPRO_OP_SIGMOID, true, {NULL, NULL}, {0, 0}, {0}, 0},
      {IPRO_OP_TANH, true, {NULL, NULL}, {0, 0}, {0}, 0},
      {IPRO_OP_LEAKY_RELU, false, {"alpha", NULL}, {0.1f, 0}, {0}, 1},
      {IPRO_OP_CLIP, false, {"min", "max"}, {-1.0f, 1.5f}, {-1.0f, 1.5f}, 2},
      /* HardSigmoid with the default alpha 0.2, beta 0.5: kinks where 0.2x + 0.5 is 0 or 1. */
      {IPRO_OP_HARD_SIGMOID, false, {NULL, NULL}, {0, 0}, {-2.5f, 2.5f}, 2},
      {IPRO_OP_HARD_SWISH, false, {NULL, NULL}, {0, 0}, {-3.0f, 3.0f}, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_activation(&cases[i]);
  /* HardSigmoid with its own alpha and beta (kinks at x = -4/3 and 2). */
  activation_case own = {IPRO_OP_HARD_SIGMOID, false, {"alpha", "beta"}, {0.3f, 0.4f},
                         {-4.0f / 3.0f, 2.0f}, 2};
  check_activation(&own);
}

/* Where finite differences cannot look: the derivative internal_ops.md prescribes exactly at the
 * kinks (PyTorch's choices), and ties of a maximum going to the first position. */
static void check_kink(ipro_op op, const char *attribute_a, float a, const char *attribute_b,
                       float b_value, float t, float expected) {
  bench b = ipro_test_bench_open(24);
  const int64_t one[1] = {1};
  int dy = floats_tensor(&b, "dy", 1, one), tt = floats_tensor(&b, "t", 1, one);
  int dx = floats_tensor(&b, "dx", 1, one);
  floats(&b, dy)[0] = 1.0f;
  floats(&b, tt)[0] = t;
  int grad = node(&b, IPRO_OP_UNARY_GRAD, 2, (int[]){dy, tt}, 1, (int[]){dx});
  ipro_node_set_int(at(&b, grad), "forward_op", op);
  if (attribute_a) ipro_node_set_float(at(&b, grad), attribute_a, a);
  if (attribute_b) ipro_node_set_float(at(&b, grad), attribute_b, b_value);
  if (run(&b, grad, NULL))
    CHECK_MSG(floats(&b, dx)[0] == expected, "%s gradient at %g: %g, expected %g", ipro_op_name(op),
              (double)t, (double)floats(&b, dx)[0], (double)expected);
  ipro_test_bench_close(&b);
}

static void test_gradients_at_kinks_and_ties(void) {
  check_kink(IPRO_OP_RELU, NULL, 0, NULL, 0, 0.0f, 0.0f);
  check_kink(IPRO_OP_LEAKY_RELU, "alpha", 0.1f, NULL, 0, 0.0f, 0.1f);
  check_kink(IPRO_OP_CLIP, "min", -1.0f, "max", 1.0f, -1.0f, 0.0f);
  check_kink(IPRO_OP_CLIP, "min", -1.0f, "max", 1.0f, 1.0f, 0.0f);
  check_kink(IPRO_OP_CLIP, "min", -1.0f, NULL, 0, 7.0f, 1.0f); /* max absent: +inf */
  check_kink(IPRO_OP_HARD_SIGMOID, NULL, 0, NULL, 0, -2.5f, 0.0f);
  check_kink(IPRO_OP_HARD_SIGMOID, NULL, 0, NULL, 0, 2.5f, 0.0f);
  check_kink(IPRO_OP_HARD_SWISH, NULL, 0, NULL, 0, -3.0f, -0.5f);
  check_kink(IPRO_OP_HARD_SWISH, NULL, 0, NULL, 0, 3.0f, 1.5f);

  /* MaxPool 2x2 and GlobalMaxPool over a plane of equal values: all to position 0. */
  bench b = ipro_test_bench_open(25);
  const int64_t plane[4] = {1, 1, 2, 2}, single[4] = {1, 1, 1, 1};
  int x = floats_tensor(&b, "x", 4, plane), dx = floats_tensor(&b, "dx", 4, plane);
  int dx_global = floats_tensor(&b, "dx_global", 4, plane);
  int dy = floats_tensor(&b, "dy", 4, single);
  ipro_test_bench_fill(&b, x, 0.5, 0.5);
  floats(&b, dy)[0] = 2.0f;
  int pool = node(&b, IPRO_OP_MAX_POOL_GRAD, 2, (int[]){dy, x}, 1, (int[]){dx});
  ipro_node_set_ints(at(&b, pool), "kernel_shape", (int64_t[]){2, 2}, 2);
  int global = node(&b, IPRO_OP_GLOBAL_POOL_GRAD, 2, (int[]){dy, x}, 1, (int[]){dx_global});
  ipro_node_set_int(at(&b, global), "forward_op", IPRO_OP_GLOBAL_MAX_POOL);
  if (run(&b, pool, NULL) && run(&b, global, NULL))
    for (int i = 0; i < 4; i++) {
      CHECK_MSG(floats(&b, dx)[i] == (i == 0 ? 2.0f : 0.0f), "MaxPool tie: dX[%d] = %g", i,
                (double)floats(&b, dx)[i]);
      CHECK_MSG(floats(&b, dx_global)[i] == (i == 0 ? 2.0f : 0.0f),
                "GlobalMaxPool tie: dX[%d] = %g", i, (double)floats(&b, dx_global)[i]);
    }
  ipro_test_bench_close(&b);
}

/* ---- ReduceToShape, as the gradient of a broadcast operand ---- */

/* Y = A op B with B broadcast; df/dB = ReduceToShape(w, shape of B, scale). */
static void check_broadcast(const char *what, ipro_op op, int b_rank, const int64_t *b_dims,
                            float scale) {
  bench b = ipro_test_bench_open(14);
  const int64_t shape[4] = {2, 3, 4, 5};
  int a = floats_tensor(&b, "a", 4, shape), y = floats_tensor(&b, "y", 4, shape);
  int dy = floats_tensor(&b, "dy", 4, shape);
  int operand = floats_tensor(&b, "b", b_rank, b_dims);
  int db = floats_tensor(&b, "db", b_rank, b_dims);
  ipro_test_bench_fill(&b, a, -1, 1), ipro_test_bench_fill(&b, operand, -1, 1),
      ipro_test_bench_fill(&b, dy, -1, 1);
  int forward = node(&b, op, 2, (int[]){a, operand}, 1, (int[]){y});
  int grad = node(&b, IPRO_OP_REDUCE_TO_SHAPE, 1, (int[]){dy}, 1, (int[]){db});
  ipro_node_set_ints(at(&b, grad), "shape", b_dims, b_rank);
  if (scale != 1.0f) ipro_node_set_float(at(&b, grad), "scale", scale);
  if (run(&b, grad, NULL)) check_gradient(&b, what, forward, y, dy, operand, floats(&b, db));
  ipro_test_bench_close(&b);
}

static void test_reduce_to_shape(void) {
  check_broadcast("ReduceToShape [3,1,1] of [2,3,4,5]", IPRO_OP_ADD, 3, (int64_t[]){3, 1, 1}, 1.0f);
  check_broadcast("ReduceToShape [4,1] of [2,3,4,5]", IPRO_OP_ADD, 2, (int64_t[]){4, 1}, 1.0f);
  check_broadcast("ReduceToShape of a scalar, scale -1 (Sub)", IPRO_OP_SUB, 0, NULL, -1.0f);
  check_broadcast("ReduceToShape [1,3,1,5], scale -1 (Sub)", IPRO_OP_SUB, 4,
                  (int64_t[]){1, 3, 1, 5}, -1.0f);
}

/* ---- pools ---- */

typedef struct {
  const char *name;
  ipro_op op;
  int64_t size, kernel, stride;
  int64_t pads[4];
  bool ceil_mode;
  int count_include_pad;
} pool_case;

/* Output extent as shape inference computes it, ceil_mode dropping a window that would start in
 * the end padding (ONNX and PyTorch). */
static int64_t pool_extent(const pool_case *pc, int64_t begin, int64_t end) {
  int64_t span = pc->size + begin + end - pc->kernel;
  int64_t out = (pc->ceil_mode ? (span + pc->stride - 1) / pc->stride : span / pc->stride) + 1;
  if (pc->ceil_mode && (out - 1) * pc->stride >= pc->size + begin) out--;
  return out;
}

/* X values: a random permutation of 0.1 · (i − count/2), so windows never tie. */
static void fill_distinct(bench *b, int t) {
  int64_t count = ipro_test_bench_count(b, t);
  float *xs = floats(b, t);
  for (int64_t i = 0; i < count; i++)
    xs[i] = (float)(0.1 * (double)(i - count / 2));
  for (int64_t i = count - 1; i > 0; i--) {
    int64_t j = (int64_t)uniform(b, 0, (double)(i + 1));
    if (j > i) j = i;
    float swap = xs[i];
    xs[i] = xs[j];
    xs[j] = swap;
  }
}

static void check_pool(const pool_case *pc) {
  bench b = ipro_test_bench_open(15);
  int64_t out_h = pool_extent(pc, pc->pads[0], pc->pads[2]);
  int64_t out_w = pool_extent(pc, pc->pads[1], pc->pads[3]);
  const int64_t in_shape[4] = {2, 2, pc->size, pc->size}, out_shape[4] = {2, 2, out_h, out_w};
  int x = floats_tensor(&b, "x", 4, in_shape), dx = floats_tensor(&b, "dx", 4, in_shape);
  int y = floats_tensor(&b, "y", 4, out_shape), dy = floats_tensor(&b, "dy", 4, out_shape);
  fill_distinct(&b, x), ipro_test_bench_fill(&b, dy, -1, 1);
  int forward = node(&b, pc->op, 1, (int[]){x}, 1, (int[]){y});
  ipro_node_set_ints(at(&b, forward), "kernel_shape", (int64_t[]){pc->kernel, pc->kernel}, 2);
  ipro_node_set_ints(at(&b, forward), "strides", (int64_t[]){pc->stride, pc->stride}, 2);
  ipro_node_set_ints(at(&b, forward), "pads", pc->pads, 4);
  ipro_node_set_int(at(&b, forward), "ceil_mode", pc->ceil_mode);
  if (pc->op == IPRO_OP_AVERAGE_POOL)
    ipro_node_set_int(at(&b, forward), "count_include_pad", pc->count_include_pad);
  int grad = pc->op == IPRO_OP_MAX_POOL ? gradient_node(&b, IPRO_OP_MAX_POOL_GRAD, forward, 2,
                                                        (int[]){dy, x}, 1, (int[]){dx}, x)
                                        : gradient_node(&b, IPRO_OP_AVERAGE_POOL_GRAD, forward, 1,
                                                        (int[]){dy}, 1, (int[]){dx}, x);
  if (run(&b, grad, NULL)) check_gradient(&b, pc->name, forward, y, dy, x, floats(&b, dx));
  ipro_test_bench_close(&b);
}

static void check_global_pool(ipro_op op) {
  bench b = ipro_test_bench_open(16);
  const int64_t in_shape[4] = {2, 3, 4, 5}, out_shape[4] = {2, 3, 1, 1};
  int x = floats_tensor(&b, "x", 4, in_shape), dx = floats_tensor(&b, "dx", 4, in_shape);
  int y = floats_tensor(&b, "y", 4, out_shape), dy = floats_tensor(&b, "dy", 4, out_shape);
  fill_distinct(&b, x), ipro_test_bench_fill(&b, dy, -1, 1);
  int forward = node(&b, op, 1, (int[]){x}, 1, (int[]){y});
  int grad = op == IPRO_OP_GLOBAL_MAX_POOL ? gradient_node(&b, IPRO_OP_GLOBAL_POOL_GRAD, forward, 2,
                                                           (int[]){dy, x}, 1, (int[]){dx}, x)
                                           : gradient_node(&b, IPRO_OP_GLOBAL_POOL_GRAD, forward, 1,
                                                           (int[]){dy}, 1, (int[]){dx}, x);
  if (run(&b, grad, NULL)) check_gradient(&b, ipro_op_name(op), forward, y, dy, x, floats(&b, dx));
  ipro_test_bench_close(&b);
}

static void test_pool_gradients(void) {
  const pool_case cases[] = {
      {"MaxPool 3x3 stride 2 pad 1 (overlapping)",
       IPRO_OP_MAX_POOL,
       7,
       3,
       2,
       {1, 1, 1, 1},
       false,
       0},
      {"MaxPool 3x3 stride 2 ceil_mode", IPRO_OP_MAX_POOL, 6, 3, 2, {0, 0, 0, 0}, true, 0},
      {"MaxPool 2x2 stride 1 asymmetric pad", IPRO_OP_MAX_POOL, 5, 2, 1, {1, 0, 0, 1}, false, 0},
      {"AveragePool 3x3 stride 2 pad 1 count_include_pad 0",
       IPRO_OP_AVERAGE_POOL,
       7,
       3,
       2,
       {1, 1, 1, 1},
       false,
       0},
      {"AveragePool 3x3 stride 2 pad 1 count_include_pad 1",
       IPRO_OP_AVERAGE_POOL,
       7,
       3,
       2,
       {1, 1, 1, 1},
       false,
       1},
      {"AveragePool 3x3 stride 2 pad 1 ceil_mode count_include_pad 1",
       IPRO_OP_AVERAGE_POOL,
       6,
       3,
       2,
       {1, 1, 1, 1},
       true,
       1},
      {"AveragePool 3x3 stride 2 ceil_mode count_include_pad 0",
       IPRO_OP_AVERAGE_POOL,
       6,
       3,
       2,
       {0, 1, 0, 1},
       true,
       0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_pool(&cases[i]);
  check_global_pool(IPRO_OP_GLOBAL_AVERAGE_POOL);
  check_global_pool(IPRO_OP_GLOBAL_MAX_POOL);
}

/* ---- Slice, as the gradient of Pad and Concat ---- */

static int slice_node(bench *b, int from, int to, const int64_t *starts) {
  const ipro_shape *shape = &b->graph->tensors[to].shape;
  int s = node(b, IPRO_OP_SLICE, 1, (int[]){from}, 1, (int[]){to});
  ipro_node_set_ints(at(b, s), "starts", starts, shape->rank);
  ipro_node_set_ints(at(b, s), "shape", shape->dims, shape->rank);
  return s;
}

static void test_slice_as_pad_gradient(void) {
  bench b = ipro_test_bench_open(17);
  const int64_t in_shape[3] = {2, 3, 4}, pads[6] = {1, 0, 2, 1, 1, 3}, out_shape[3] = {4, 4, 9};
  int x = floats_tensor(&b, "x", 3, in_shape), dx = floats_tensor(&b, "dx", 3, in_shape);
  int y = floats_tensor(&b, "y", 3, out_shape), dy = floats_tensor(&b, "dy", 3, out_shape);
  ipro_test_bench_fill(&b, x, -1, 1), ipro_test_bench_fill(&b, dy, -1, 1);
  int pad = node(&b, IPRO_OP_PAD, 1, (int[]){x}, 1, (int[]){y});
  ipro_node_set_ints(at(&b, pad), "pads", pads, 6);
  ipro_node_set_float(at(&b, pad), "value", 0.5f);
  if (run(&b, slice_node(&b, dy, dx, pads), NULL))
    check_gradient(&b, "Slice as Pad's gradient", pad, y, dy, x, floats(&b, dx));
  ipro_test_bench_close(&b);
}

static void test_slice_as_concat_gradient(void) {
  bench b = ipro_test_bench_open(18);
  const int64_t a_shape[3] = {2, 3, 4}, b_shape[3] = {2, 2, 4}, out_shape[3] = {2, 5, 4};
  int xa = floats_tensor(&b, "a", 3, a_shape), da = floats_tensor(&b, "da", 3, a_shape);
  int xb = floats_tensor(&b, "b", 3, b_shape), dbt = floats_tensor(&b, "db", 3, b_shape);
  int y = floats_tensor(&b, "y", 3, out_shape), dy = floats_tensor(&b, "dy", 3, out_shape);
  ipro_test_bench_fill(&b, xa, -1, 1), ipro_test_bench_fill(&b, xb, -1, 1),
      ipro_test_bench_fill(&b, dy, -1, 1);
  int concat = node(&b, IPRO_OP_CONCAT, 2, (int[]){xa, xb}, 1, (int[]){y});
  ipro_node_set_int(at(&b, concat), "axis", 1);
  if (run(&b, slice_node(&b, dy, da, (int64_t[]){0, 0, 0}), NULL) &&
      run(&b, slice_node(&b, dy, dbt, (int64_t[]){0, 3, 0}), NULL)) {
    check_gradient(&b, "Slice as Concat's gradient (first)", concat, y, dy, xa, floats(&b, da));
    check_gradient(&b, "Slice as Concat's gradient (second)", concat, y, dy, xb, floats(&b, dbt));
  }
  ipro_test_bench_close(&b);
}

/* ---- Dropout, with the mask the forward kernel writes for a fixed (seed, step) ---- */

static void test_dropout_gradient(void) {
  bench b = ipro_test_bench_open(19);
  const int64_t shape[3] = {4, 5, 6};
  int x = floats_tensor(&b, "x", 3, shape), y = floats_tensor(&b, "y", 3, shape);
  int dy = floats_tensor(&b, "dy", 3, shape), dx = floats_tensor(&b, "dx", 3, shape);
  int mask = ipro_test_bench_tensor(&b, "mask", IPRO_DTYPE_BOOL, 3, shape);
  ipro_test_bench_fill(&b, x, -1, 1), ipro_test_bench_fill(&b, dy, -1, 1);
  int forward = node(&b, IPRO_OP_DROPOUT, 1, (int[]){x}, 2, (int[]){y, mask});
  ipro_node_set_float(at(&b, forward), "ratio", 0.3f);
  ipro_node_set_int(at(&b, forward), "training_mode", 1);
  int grad =
      gradient_node(&b, IPRO_OP_DROPOUT_GRAD, forward, 2, (int[]){dy, mask}, 1, (int[]){dx}, -1);
  const ipro_kernel_context context = {.seed = 42, .step = 3};
  if (run(&b, forward, &context) && run(&b, grad, NULL)) {
    int64_t kept = 0;
    for (int64_t i = 0; i < ipro_test_bench_count(&b, mask); i++)
      kept += ((const bool *)b.data[mask])[i];
    CHECK_MSG(kept > 0 && kept < ipro_test_bench_count(&b, mask), "the mask keeps %lld of %lld",
              (long long)kept, (long long)ipro_test_bench_count(&b, mask));
    check_gradient_with(&b, "Dropout", forward, y, dy, x, floats(&b, dx), &context);
  }
  ipro_test_bench_close(&b);
}

/* ---- Resize ---- */

typedef struct {
  const char *name, *mode, *coordinates;
  float scale_h, scale_w;
} resize_case;

static void check_resize(const resize_case *rc) {
  bench b = ipro_test_bench_open(20);
  const int64_t in_shape[4] = {1, 2, 4, 5};
  const int64_t out_shape[4] = {1, 2, (int64_t)floor(4 * (double)rc->scale_h),
                                (int64_t)floor(5 * (double)rc->scale_w)};
  int x = floats_tensor(&b, "x", 4, in_shape), dx = floats_tensor(&b, "dx", 4, in_shape);
  int y = floats_tensor(&b, "y", 4, out_shape), dy = floats_tensor(&b, "dy", 4, out_shape);
  ipro_test_bench_fill(&b, x, -1, 1), ipro_test_bench_fill(&b, dy, -1, 1);
  int forward = node(&b, IPRO_OP_RESIZE, 1, (int[]){x}, 1, (int[]){y});
  ipro_node_set_string(at(&b, forward), "mode", rc->mode);
  ipro_node_set_string(at(&b, forward), "coordinate_transformation_mode", rc->coordinates);
  ipro_node_set_string(at(&b, forward), "nearest_mode", "round_prefer_floor");
  ipro_node_set_floats(at(&b, forward), "scales", (float[]){1, 1, rc->scale_h, rc->scale_w}, 4);
  int grad = gradient_node(&b, IPRO_OP_RESIZE_GRAD, forward, 1, (int[]){dy}, 1, (int[]){dx}, x);
  if (run(&b, grad, NULL)) check_gradient(&b, rc->name, forward, y, dy, x, floats(&b, dx));
  ipro_test_bench_close(&b);
}

static void test_resize_gradients(void) {
  const resize_case cases[] = {
      {"Resize nearest half_pixel x2", "nearest", "half_pixel", 2, 2},
      {"Resize nearest asymmetric x2", "nearest", "asymmetric", 2, 2},
      {"Resize nearest align_corners x1.7, x0.6", "nearest", "align_corners", 1.7f, 0.6f},
      {"Resize nearest half_pixel x1.7, x2.5", "nearest", "half_pixel", 1.7f, 2.5f},
      {"Resize linear half_pixel x2", "linear", "half_pixel", 2, 2},
      {"Resize linear align_corners x2", "linear", "align_corners", 2, 2},
      {"Resize linear half_pixel x1.7, x0.6", "linear", "half_pixel", 1.7f, 0.6f},
      {"Resize linear align_corners x1.7, x2.5", "linear", "align_corners", 1.7f, 2.5f},
      {"Resize linear pytorch_half_pixel x1.5, x0.4", "linear", "pytorch_half_pixel", 1.5f, 0.4f},
      {"Resize linear asymmetric x3", "linear", "asymmetric", 3, 3},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_resize(&cases[i]);
}

/* ---- ReduceMean ---- */

static void check_reduce_mean(const char *what, int axis_count, const int64_t *axes, int keepdims,
                              int out_rank, const int64_t *out_dims) {
  bench b = ipro_test_bench_open(21);
  const int64_t shape[4] = {2, 3, 4, 5};
  int x = floats_tensor(&b, "x", 4, shape), dx = floats_tensor(&b, "dx", 4, shape);
  int y = floats_tensor(&b, "y", out_rank, out_dims),
      dy = floats_tensor(&b, "dy", out_rank, out_dims);
  ipro_test_bench_fill(&b, x, -1, 1), ipro_test_bench_fill(&b, dy, -1, 1);
  int forward = node(&b, IPRO_OP_REDUCE_MEAN, 1, (int[]){x}, 1, (int[]){y});
  ipro_node_set_ints(at(&b, forward), "axes", axes, axis_count);
  ipro_node_set_int(at(&b, forward), "keepdims", keepdims);
  int grad =
      gradient_node(&b, IPRO_OP_REDUCE_MEAN_GRAD, forward, 1, (int[]){dy}, 1, (int[]){dx}, x);
  if (run(&b, grad, NULL)) check_gradient(&b, what, forward, y, dy, x, floats(&b, dx));
  ipro_test_bench_close(&b);
}

static void test_reduce_mean_gradient(void) {
  check_reduce_mean("ReduceMean axes 1,3 keepdims 0", 2, (int64_t[]){1, 3}, 0, 2,
                    (int64_t[]){2, 4});
  check_reduce_mean("ReduceMean axes 1,3 keepdims 1", 2, (int64_t[]){1, 3}, 1, 4,
                    (int64_t[]){2, 1, 4, 1});
  check_reduce_mean("ReduceMean all axes", 0, NULL, 0, 0, NULL);
  check_reduce_mean("ReduceMean axes 2,3 (global average)", 2, (int64_t[]){2, 3}, 1, 4,
                    (int64_t[]){2, 3, 1, 1});
}

/* ---- ReduceMax and ReduceMin where a slice holds its extremum more than once ---- */

/* The forward and gradient kernels of `op` over axis 1 of the golden's x (integers from 0 to 2:
 * ties in most slices) against torch.amax's or torch.amin's values and gradient (PyTorch shares
 * dY among the ties; models/export_dynamo.py --only cbam). */
static void check_extremum_ties(const ipro_golden_file *golden, ipro_op op, int keepdims,
                                const char *y_name, const char *dy_name, const char *dx_name) {
  bench b = ipro_test_bench_open(29);
  const int64_t shape[3] = {2, 3, 4}, kept[3] = {2, 1, 4}, dropped[2] = {2, 4};
  const int64_t *out_dims = keepdims ? kept : dropped;
  int out_rank = keepdims ? 3 : 2;
  int x = floats_tensor(&b, "x", 3, shape), dx = floats_tensor(&b, "dx", 3, shape);
  int y = floats_tensor(&b, "y", out_rank, out_dims),
      dy = floats_tensor(&b, "dy", out_rank, out_dims);
  const ipro_golden_tensor *gx = ipro_golden_expect(golden, "x", 24),
                           *gy = ipro_golden_expect(golden, y_name, 8),
                           *gdy = ipro_golden_expect(golden, dy_name, 8),
                           *gdx = ipro_golden_expect(golden, dx_name, 24);
  if (gx && gy && gdy && gdx) {
    memcpy(floats(&b, x), gx->data, 24 * sizeof(float));
    memcpy(floats(&b, dy), gdy->data, 8 * sizeof(float));
    int forward = node(&b, op, 1, (int[]){x}, 1, (int[]){y});
    ipro_node_set_ints(at(&b, forward), "axes", (int64_t[]){1}, 1);
    ipro_node_set_int(at(&b, forward), "keepdims", keepdims);
    int grad = gradient_node(&b, IPRO_OP_REDUCE_EXTREMUM_GRAD, forward, 3, (int[]){dy, x, y}, 1,
                             (int[]){dx}, x);
    if (run(&b, forward, NULL) && run(&b, grad, NULL)) {
      ipro_golden_check(y_name, floats(&b, y), gy, 1e-6, 1e-7);
      ipro_golden_check(dx_name, floats(&b, dx), gdx, 1e-6, 1e-7);
    }
  }
  ipro_test_bench_close(&b);
}

static void test_reduce_extremum_ties(void) {
  ipro_golden_file golden;
  if (!ipro_golden_load_relative("models/golden/reduce_extremum_ties.ipgd", &golden)) return;
  check_extremum_ties(&golden, IPRO_OP_REDUCE_MAX, 1, "y_max", "dy_max", "dx_max");
  check_extremum_ties(&golden, IPRO_OP_REDUCE_MIN, 0, "y_min", "dy_min", "dx_min");
  ipro_golden_release(&golden);
}

/* ---- ReduceProd where a slice holds zeros ---- */

/* ReduceProd over axis 1 of the golden's x [3, 4, 2], whose slices hold no zero, one zero and two
 * zeros, and its gradient kernel, against torch.prod's values and gradient (the product of the
 * other elements, exactly; models/export_dynamo.py --only smooth-activations). */
static void test_reduce_prod_zeros(void) {
  ipro_golden_file golden;
  if (!ipro_golden_load_relative("models/golden/reduce_prod_zeros.ipgd", &golden)) return;
  bench b = ipro_test_bench_open(30);
  const int64_t shape[3] = {3, 4, 2}, reduced[2] = {3, 2};
  int x = floats_tensor(&b, "x", 3, shape), dx = floats_tensor(&b, "dx", 3, shape);
  int y = floats_tensor(&b, "y", 2, reduced), dy = floats_tensor(&b, "dy", 2, reduced);
  const ipro_golden_tensor *gx = ipro_golden_expect(&golden, "x", 24),
                           *gy = ipro_golden_expect(&golden, "y", 6),
                           *gdy = ipro_golden_expect(&golden, "dy", 6),
                           *gdx = ipro_golden_expect(&golden, "dx", 24);
  if (gx && gy && gdy && gdx) {
    memcpy(floats(&b, x), gx->data, 24 * sizeof(float));
    memcpy(floats(&b, dy), gdy->data, 6 * sizeof(float));
    int forward = node(&b, IPRO_OP_REDUCE_PROD, 1, (int[]){x}, 1, (int[]){y});
    ipro_node_set_ints(at(&b, forward), "axes", (int64_t[]){1}, 1);
    ipro_node_set_int(at(&b, forward), "keepdims", 0);
    int grad =
        gradient_node(&b, IPRO_OP_REDUCE_PROD_GRAD, forward, 2, (int[]){dy, x}, 1, (int[]){dx}, x);
    if (run(&b, forward, NULL) && run(&b, grad, NULL)) {
      ipro_golden_check("y", floats(&b, y), gy, 1e-6, 1e-7);
      ipro_golden_check("dx", floats(&b, dx), gdx, 1e-6, 1e-7);
    }
  }
  ipro_test_bench_close(&b);
  ipro_golden_release(&golden);
}

/* ---- Softmax and LogSoftmax ---- */

static void check_softmax(ipro_op op, int64_t axis, int coerce_2d) {
  bench b = ipro_test_bench_open(22);
  const int64_t shape[3] = {2, 3, 4};
  int x = floats_tensor(&b, "x", 3, shape), y = floats_tensor(&b, "y", 3, shape);
  int dy = floats_tensor(&b, "dy", 3, shape), dx = floats_tensor(&b, "dx", 3, shape);
  ipro_test_bench_fill(&b, x, -2, 2), ipro_test_bench_fill(&b, dy, -1, 1);
  int forward = node(&b, op, 1, (int[]){x}, 1, (int[]){y});
  ipro_node_set_int(at(&b, forward), "axis", axis);
  ipro_node_set_int(at(&b, forward), "coerce_2d", coerce_2d);
  int grad =
      gradient_node(&b, IPRO_OP_SOFTMAX_GRAD, forward, 2, (int[]){dy, y}, 1, (int[]){dx}, -1);
  char what[96];
  snprintf(what, sizeof what, "%s axis %lld%s", ipro_op_name(op), (long long)axis,
           coerce_2d ? " coerce_2d" : "");
  if (run(&b, forward, NULL) && run(&b, grad, NULL))
    check_gradient(&b, what, forward, y, dy, x, floats(&b, dx));
  ipro_test_bench_close(&b);
}

static void test_softmax_gradients(void) {
  const ipro_op ops[2] = {IPRO_OP_SOFTMAX, IPRO_OP_LOG_SOFTMAX};
  for (int i = 0; i < 2; i++) {
    check_softmax(ops[i], 2, 0);
    check_softmax(ops[i], 1, 0);
    check_softmax(ops[i], 1, 1);
  }
}

/* ---- SoftmaxCrossEntropyLoss ---- */

/* f = loss · weight (the projection of the scalar loss); the gradient kernel's scale is weight. */
static void check_cross_entropy(const char *reduction, ipro_dtype label_dtype, int rank,
                                const int64_t *scores_shape, float weight) {
  bench b = ipro_test_bench_open(23);
  int64_t label_dims[IPRO_MAX_RANK] = {scores_shape[0]};
  for (int d = 2; d < rank; d++)
    label_dims[d - 1] = scores_shape[d];
  int scores = floats_tensor(&b, "scores", rank, scores_shape);
  int log_prob = floats_tensor(&b, "log_prob", rank, scores_shape);
  int d_scores = floats_tensor(&b, "d_scores", rank, scores_shape);
  int labels = ipro_test_bench_tensor(&b, "labels", label_dtype, rank - 1, label_dims);
  int loss = floats_tensor(&b, "loss", 0, NULL), w = floats_tensor(&b, "w", 0, NULL);
  ipro_test_bench_fill(&b, scores, -2, 2);
  floats(&b, w)[0] = weight;
  int64_t classes = scores_shape[1];
  for (int64_t i = 0; i < ipro_test_bench_count(&b, labels); i++) {
    int64_t label = (int64_t)uniform(&b, 0, (double)classes) % classes;
    if (label_dtype == IPRO_DTYPE_INT64)
      ((int64_t *)b.data[labels])[i] = label;
    else
      ((int32_t *)b.data[labels])[i] = (int32_t)label;
  }
  int forward = node(&b, IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 2, (int[]){scores, labels}, 2,
                     (int[]){loss, log_prob});
  ipro_node_set_string(at(&b, forward), "reduction", reduction);
  int grad = node(&b, IPRO_OP_SOFTMAX_CROSS_ENTROPY_GRAD, 2, (int[]){log_prob, labels}, 1,
                  (int[]){d_scores});
  ipro_node_set_string(at(&b, grad), "reduction", reduction);
  if (weight != 1.0f) ipro_node_set_float(at(&b, grad), "scale", weight);
  char what[96];
  snprintf(what, sizeof what, "SoftmaxCrossEntropy %s rank %d, %s labels, scale %g", reduction,
           rank, ipro_dtype_name(label_dtype), (double)weight);
  if (run(&b, forward, NULL) && run(&b, grad, NULL))
    check_gradient(&b, what, forward, loss, w, scores, floats(&b, d_scores));
  ipro_test_bench_close(&b);
}

static void test_cross_entropy_gradient(void) {
  check_cross_entropy("mean", IPRO_DTYPE_INT64, 2, (int64_t[]){4, 5}, 1.0f);
  check_cross_entropy("sum", IPRO_DTYPE_INT64, 2, (int64_t[]){4, 5}, 1.0f);
  check_cross_entropy("mean", IPRO_DTYPE_INT64, 2, (int64_t[]){6, 3}, 0.7f);
  check_cross_entropy("mean", IPRO_DTYPE_INT32, 3, (int64_t[]){3, 4, 2}, 1.0f);
  check_cross_entropy("sum", IPRO_DTYPE_INT64, 3, (int64_t[]){2, 3, 3}, 0.5f);
}

int main(void) {
  test_conv_gradients();
  test_batch_norm_gradient();
  test_activation_gradients();
  test_gradients_at_kinks_and_ties();
  test_reduce_to_shape();
  test_pool_gradients();
  test_slice_as_pad_gradient();
  test_slice_as_concat_gradient();
  test_dropout_gradient();
  test_resize_gradients();
  test_reduce_mean_gradient();
  test_reduce_extremum_ties();
  test_reduce_prod_zeros();
  test_softmax_gradients();
  test_cross_entropy_gradient();
  return ipro_test_finish();
}
