/* Every gradient rule against finite differences, in double precision, through the whole pipeline:
 * a one-op float64 graph is differentiated by autodiff (rule + backward kernels), run by the
 * executor on the reference kernels (which compute float64 tensors directly), and each gradient
 * element of the input and of every parameter is compared with the central difference of
 * f = Σ w·Y (w random, fixed) computed from the forward pass alone. The losses of the training
 * program, whose gradient nodes training_graph.c pairs with them instead of a rule
 * (SoftmaxCrossEntropyLoss, and InfoPro's BinaryCrossEntropy and SupConLoss with its
 * L2 normalisation), are checked the same way with f = w·loss.
 *
 * Step and tolerance. The difference (f(x + h) − f(x − h)) / 2h, divided by the perturbation
 * actually stored, differs from f'(x) by
 *   - truncation, h²/6 · f'''. Most ops here are linear or piecewise linear in each element
 *     (Conv, Gemm, the pools, the data movers), so f''' = 0 away from kinks; the smooth ones have
 *     f''' of order 1 (Sigmoid, Tanh, Softmax, Div over values ≥ 0.5, BatchNormalization over 50
 *     values per channel), up to ≈ 1/T³ ≈ 3e3 for SupCon at T = 0.07 and ≈ 2/p³ ≈ 2e1 for BCE at
 *     p ≥ 0.05 (divided by the 16 elements it averages over);
 *   - rounding, δf/h, where δf is the rounding error of f: each term of Σ w·Y carries a few units
 *     of double's 1.1e-16 per operation that made it, so δf ≈ 1e-16 · Σ|w·Y| · (a few) ≈ 1e-14
 *     for the ≤ 200 terms of order 1 here, and the two evaluations share most of their errors.
 * With h = 1e-6 the truncation is ≤ 2e-13 · f''' (≤ 1e-9 even for SupCon) and the rounding about
 * 1e-14 / 1e-6 = 1e-8; the optimum h ≈ (3δf / f''')^(1/3) ≈ 3e-5 would balance them at ≈ 1e-10,
 * but a smaller step also keeps the difference inside one linear piece of Relu, Clip, MaxPool and
 * nearest Resize: inputs stay 0.1 away from zero and 1e-3 from every other kink, and the random
 * values carry 53 bits, so no two elements of a pooling window are within 2h of a tie.
 * The tolerance, 1e-7 of the gradient's largest element plus 1e-9, is ten times the rounding
 * estimate and ≈ 1e5 times tighter than the float32 check this file used to be (1e-2 + 1e-3),
 * while any real mistake (a wrong sign, a missing term, a transposed index, an off-by-one window)
 * gives an error of order 1. The largest error seen per case is printed, to keep this honest. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/autodiff.h"
#include "frontend/op_table.h"
#include "runtime/executor.h"
#include "support/check.h"
#include "tests/frontend/hand_graph.h"

#define STEP 1e-6
#define KINK_MARGIN 1e-3
#define RELATIVE_TOLERANCE 1e-7
#define ABSOLUTE_TOLERANCE 1e-9
/* Parameters differentiated per case at most (an LSTM's W, R, B, states and peepholes). */
#define MAX_PARAMS 6
/* Elements compared per tensor (evenly spaced when there are more). */
#define MAX_COMPARED 240

/* 53-bit uniform values from splitmix64, so values are distinct far below the step. */
static uint64_t random_state;
static double uniform(void) {
  uint64_t x = (random_state += UINT64_C(0x9E3779B97F4A7C15));
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  x ^= x >> 31;
  return (double)(x >> 11) * 0x1p-53;
}
/* Values in ±[0.1, 1.1]: away from zero, where Relu-like functions have their kinks. */
static double away_from_zero(void) {
  double v = 0.1 + uniform();
  return uniform() < 0.5 ? -v : v;
}

typedef enum {
  VALUES_AWAY_FROM_ZERO, /* ±[0.1, 1.1] */
  VALUES_POSITIVE,       /* [0.5, 1.5] */
  VALUES_PROBABILITY     /* [0.05, 0.95] */
} value_range;

static double value_in(value_range range) {
  switch (range) {
  case VALUES_POSITIVE: return 0.5 + uniform();
  case VALUES_PROBABILITY: return 0.05 + 0.9 * uniform();
  default: return away_from_zero();
  }
}

typedef struct {
  const char *name;
  ipro_graph *graph;
  int x;                  /* the graph input */
  int params[MAX_PARAMS]; /* float64 initializers to differentiate */
  int n_params;
  value_range x_range;
  double kinks[2]; /* input values where the function's derivative jumps, kept KINK_MARGIN away */
  int n_kinks;
  /* A loss node (output Y, a scalar) whose gradient is not a rule but the node training_graph.c
   * emits: grad_op with grad_inputs (tensor names; "" for none), scale = the seed. */
  bool loss;
  ipro_op grad_op;
  const char *grad_inputs[2];
  /* An attribute no model file may carry, which a compiler pass sets (SiLU's times_input):
   * set on node late_node after normalisation. NULL: none. */
  const char *late_node, *late_attribute;
} gradient_case;

typedef void (*case_builder)(gradient_case *c);

static void begin(gradient_case *c, int rank, const int64_t *dims) {
  c->graph = hand_graph(17);
  c->x = hand_typed_input(c->graph, "X", IPRO_DTYPE_DOUBLE, rank, dims);
}

static int64_t count_of(int rank, const int64_t *dims) {
  int64_t count = 1;
  for (int d = 0; d < rank; d++)
    count *= dims[d];
  return count;
}

static int add_param(gradient_case *c, const char *name, int rank, const int64_t *dims,
                     bool positive) {
  int64_t count = count_of(rank, dims);
  double *data = malloc(sizeof(double) * (size_t)count);
  for (int64_t i = 0; i < count; i++)
    data[i] = value_in(positive ? VALUES_POSITIVE : VALUES_AWAY_FROM_ZERO);
  int t = hand_initializer(c->graph, name, IPRO_DTYPE_DOUBLE, rank, dims, data);
  free(data);
  c->params[c->n_params++] = t;
  return t;
}

/* Builds the case (deterministically: same random values every time), normalised, with output Y
 * and shapes inferred. */
static gradient_case build(const char *name, case_builder builder) {
  gradient_case c = {.name = name};
  random_state = 777;
  builder(&c);
  hand_output(c.graph, "Y");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(c.graph, &err), &err);
  for (int n = 0; c.late_node && n < c.graph->n_nodes; n++)
    if (strcmp(c.graph->nodes[n].name, c.late_node) == 0)
      CHECK(ipro_node_set_int(&c.graph->nodes[n], c.late_attribute, 1) == IPRO_OK);
  CHECK_OK(ipro_graph_infer_shapes(c.graph, c.graph->tensors[c.x].declared_shape->dims[0], &err),
           &err);
  return c;
}

static double objective(ipro_executor *e, const double *x, const double *w, double *y, int64_t ny) {
  ipro_error err;
  const void *inputs[1] = {x};
  void *outputs[1] = {y};
  ipro_executor_set_step(e, 0); /* the same Dropout mask every time */
  if (ipro_executor_run(e, inputs, outputs, &err) != IPRO_OK) {
    fprintf(stderr, "%s\n", err.message);
    return NAN;
  }
  double f = 0;
  for (int64_t i = 0; i < ny; i++)
    f += w[i] * y[i];
  return f;
}

/* Compares the gradient g of `tensor` with central differences; returns the largest error as a
 * fraction of the gradient's largest element. */
static double compare_with_differences(const gradient_case *c, ipro_executor *forward, int tensor,
                                       const double *g, const double *x, const double *w, double *y,
                                       int64_t ny) {
  const ipro_graph *graph = c->graph;
  int64_t n = ipro_shape_elements(&graph->tensors[tensor].shape);
  size_t bytes = sizeof(double) * (size_t)n;
  bool is_input = tensor == c->x;
  double *value = malloc(bytes);
  ipro_error err;
  if (is_input)
    memcpy(value, x, bytes);
  else
    CHECK_OK(ipro_executor_read_tensor(forward, tensor, value, bytes, &err), &err);
  double scale = 0, worst = 0;
  for (int64_t i = 0; i < n; i++)
    scale = fmax(scale, fabs(g[i]));
  CHECK_MSG(scale > 1e-3, "%s: the gradient of %s is 0 everywhere, so the check proves nothing",
            c->name, graph->tensors[tensor].name);
  int64_t stride = n > MAX_COMPARED ? n / MAX_COMPARED : 1;
  int bad = 0;
  for (int64_t i = 0; i < n; i += stride) {
    double estimate[2], saved = value[i], moved[2];
    for (int side = 0; side < 2; side++) {
      value[i] = moved[side] = saved + (side ? -STEP : STEP);
      if (!is_input) ipro_executor_write_tensor(forward, tensor, value, bytes, &err);
      estimate[side] = objective(forward, is_input ? value : x, w, y, ny);
    }
    value[i] = saved;
    if (!is_input) ipro_executor_write_tensor(forward, tensor, value, bytes, &err);
    double difference = (estimate[0] - estimate[1]) / (moved[0] - moved[1]);
    double error = fabs(difference - g[i]);
    worst = fmax(worst, error / scale);
    if (!(error <= RELATIVE_TOLERANCE * scale + ABSOLUTE_TOLERANCE) && bad++ < 3)
      fprintf(stderr, "%s: d/d%s[%lld] autodiff %.12g, finite difference %.12g\n", c->name,
              graph->tensors[tensor].name, (long long)i, g[i], difference);
  }
  CHECK_MSG(bad == 0, "%s: gradient of %s disagrees with finite differences", c->name,
            graph->tensors[tensor].name);
  free(value);
  return worst;
}

/* The gradient node training_graph.c pairs with a loss: grad_op over grad_inputs, scaled by the
 * seed; returns its output, the gradient of f with respect to X. */
static int append_loss_gradient(gradient_case *c, double seed, ipro_error *err) {
  ipro_graph *graph = c->graph;
  const ipro_node *loss = &graph->nodes[graph->tensors[graph->outputs[0]].producer];
  char inputs[160];
  snprintf(inputs, sizeof inputs, "%s,%s", c->grad_inputs[0], c->grad_inputs[1]);
  bool has_temperature = ipro_node_attr(loss, "temperature") != NULL;
  float temperature = ipro_node_attr_float(loss, "temperature", 0.07f);
  const char *reduction = ipro_node_attr_string(loss, "reduction", "mean");
  ipro_node *grad = hand_node(graph, "loss/grad", ipro_op_name(c->grad_op), inputs, "dX");
  grad->op = c->grad_op;
  if (ipro_node_set_float(grad, "scale", (float)seed) != IPRO_OK ||
      (has_temperature && ipro_node_set_float(grad, "temperature", temperature) != IPRO_OK) ||
      (c->grad_op == IPRO_OP_SOFTMAX_CROSS_ENTROPY_GRAD &&
       ipro_node_set_string(grad, "reduction", reduction) != IPRO_OK)) {
    ipro_error_set(err, "out of memory");
    return -1;
  }
  return ipro_graph_find_tensor(graph, "dX");
}

static void check_case(const char *name, case_builder builder) {
  ipro_error err = {{0}};
  gradient_case f = build(name, builder); /* forward only */
  gradient_case b = build(name, builder); /* to be differentiated */
  ipro_graph *graph = b.graph;
  int y_index = graph->outputs[0];
  int64_t nx = ipro_shape_elements(&graph->tensors[b.x].shape);
  int64_t ny = ipro_shape_elements(&graph->tensors[y_index].shape);
  double *x = malloc(sizeof(double) * (size_t)nx);
  for (int64_t i = 0; i < nx; i++) {
    x[i] = value_in(b.x_range);
    for (int k = 0; k < b.n_kinks; k++)
      if (fabs(x[i] - b.kinks[k]) < KINK_MARGIN) x[i] = b.kinks[k] + 2 * KINK_MARGIN;
  }
  /* The seed rounded to float32, so that a loss gradient's float scale attribute holds it
   * exactly. */
  double *w = malloc(sizeof(double) * (size_t)ny), *y = malloc(sizeof(double) * (size_t)ny);
  for (int64_t i = 0; i < ny; i++)
    w[i] = (float)away_from_zero();

  /* The backward graph's seed: w (a float64 constant) for Y. */
  int seed = -1;
  if (!b.loss) {
    seed = ipro_graph_tensor(graph, "seed");
    graph->tensors[seed].kind = IPRO_TENSOR_CONSTANT;
    graph->tensors[seed].dtype = IPRO_DTYPE_DOUBLE;
    graph->tensors[seed].shape = graph->tensors[y_index].shape;
    CHECK_OK(ipro_tensor_set_data(&graph->tensors[seed], w, sizeof(double) * (size_t)ny, &err),
             &err);
  }
  int n_tensors = graph->n_tensors;
  bool *wrt = calloc((size_t)n_tensors, sizeof(bool));
  int *gradient_of = malloc(sizeof(int) * (size_t)n_tensors);
  int wanted[1 + MAX_PARAMS] = {b.x};
  int n_wanted = 1 + b.n_params;
  for (int k = 0; k < b.n_params; k++)
    wanted[1 + k] = b.params[k];
  for (int k = 0; k < n_wanted; k++)
    wrt[wanted[k]] = true;
  if (b.loss) {
    for (int t = 0; t < n_tensors; t++)
      gradient_of[t] = -1;
    gradient_of[b.x] = append_loss_gradient(&b, w[0], &err);
    CHECK_MSG(gradient_of[b.x] >= 0, "%s: %s", name, err.message);
  } else {
    /* Gradients of X and the parameters, as outputs. */
    CHECK_OK(ipro_autodiff_append(graph, 1, &y_index, &seed, wrt, gradient_of, &err), &err);
  }
  graph->tensors[y_index].is_graph_output = false;
  graph->n_outputs = 0;
  bool complete = true;
  for (int k = 0; k < n_wanted; k++) {
    int g = gradient_of[wanted[k]];
    CHECK_MSG(g >= 0, "%s: no gradient for %s", name, graph->tensors[wanted[k]].name);
    if (g < 0) {
      complete = false;
      break;
    }
    graph->tensors[g].is_graph_output = true;
    graph->outputs[graph->n_outputs++] = g;
  }
  ipro_backend *backend = NULL;
  CHECK_OK(ipro_backend_create_reference(&backend, &err), &err);
  ipro_executor *forward = NULL, *gradients = NULL;
  if (complete)
    CHECK_OK(ipro_graph_infer_shapes(graph, graph->tensors[b.x].shape.dims[0], &err), &err);
  for (int k = 0; complete && k < n_wanted; k++)
    CHECK_MSG(graph->tensors[gradient_of[wanted[k]]].dtype == IPRO_DTYPE_DOUBLE,
              "%s: the gradient of %s is %s, not float64", name, graph->tensors[wanted[k]].name,
              ipro_dtype_name(graph->tensors[gradient_of[wanted[k]]].dtype));
  if (complete) CHECK_OK(ipro_executor_create(f.graph, backend, NULL, &forward, &err), &err);
  if (forward) CHECK_OK(ipro_executor_create(graph, backend, NULL, &gradients, &err), &err);
  double worst = 0;
  if (gradients) {
    double *results[1 + MAX_PARAMS];
    for (int k = 0; k < n_wanted; k++)
      results[k] =
          malloc(sizeof(double) * (size_t)ipro_shape_elements(&graph->tensors[wanted[k]].shape));
    const void *inputs[1] = {x};
    ipro_executor_set_step(gradients, 0);
    CHECK_OK(ipro_executor_run(gradients, inputs, (void **)results, &err), &err);
    for (int k = 0; k < n_wanted; k++) {
      worst =
          fmax(worst, compare_with_differences(&b, forward, wanted[k], results[k], x, w, y, ny));
      free(results[k]);
    }
  }
  printf("%-36s largest error %.1e of the gradient's scale\n", name, worst);
  ipro_executor_free(gradients);
  ipro_executor_free(forward);
  backend->destroy(backend);
  free(wrt);
  free(gradient_of);
  free(x);
  free(w);
  free(y);
  ipro_graph_free(f.graph);
  ipro_graph_free(graph);
}

/* ---- the cases: one per rule, with the attributes that exercise it ---- */

static const int64_t image[4] = {2, 4, 5, 5};

static void conv_case(gradient_case *c) {
  begin(c, 4, image);
  add_param(c, "W", 4, (int64_t[]){6, 2, 3, 3}, false);
  add_param(c, "B", 1, (int64_t[]){6}, false);
  ipro_node *n = hand_node(c->graph, "conv", "Conv", "X,W,B", "Y");
  ipro_node_set_ints(n, "strides", (int64_t[]){2, 1}, 2);
  ipro_node_set_ints(n, "pads", (int64_t[]){1, 0, 1, 2}, 4);
  ipro_node_set_ints(n, "dilations", (int64_t[]){1, 2}, 2);
  ipro_node_set_int(n, "group", 2);
}

static void batch_norm_case(gradient_case *c) {
  begin(c, 4, image);
  add_param(c, "scale", 1, (int64_t[]){4}, true);
  add_param(c, "bias", 1, (int64_t[]){4}, false);
  hand_initializer(c->graph, "mean", IPRO_DTYPE_DOUBLE, 1, (int64_t[]){4}, NULL);
  hand_initializer(c->graph, "var", IPRO_DTYPE_DOUBLE, 1, (int64_t[]){4}, (double[]){1, 1, 1, 1});
  ipro_node *n = hand_node(c->graph, "bn", "BatchNormalization", "X,scale,bias,mean,var", "Y");
  ipro_node_set_int(n, "training_mode", 1);
}

#define UNARY_CASE(function, op)                                                                   \
  static void function(gradient_case *c) {                                                         \
    begin(c, 4, image);                                                                            \
    hand_node(c->graph, "unary", op, "X", "Y");                                                    \
  }
UNARY_CASE(relu_case, "Relu")
UNARY_CASE(sigmoid_case, "Sigmoid")
UNARY_CASE(tanh_case, "Tanh")
UNARY_CASE(hard_swish_case, "HardSwish")
UNARY_CASE(global_average_pool_case, "GlobalAveragePool")
UNARY_CASE(global_max_pool_case, "GlobalMaxPool")
UNARY_CASE(identity_case, "Identity")
UNARY_CASE(gelu_case, "Gelu")

static void gelu_tanh_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node_set_string(hand_node(c->graph, "gelu", "Gelu", "X", "Y"), "approximate", "tanh");
}

/* Over the last dimension, Scale and B parameters; and over C, H, W of a feature map. */
static void layer_norm_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 5});
  add_param(c, "scale", 1, (int64_t[]){5}, false);
  add_param(c, "bias", 1, (int64_t[]){5}, false);
  hand_node(c->graph, "ln", "LayerNormalization", "X,scale,bias", "Y");
}

static void layer_norm_map_case(gradient_case *c) {
  begin(c, 4, image);
  add_param(c, "scale", 3, (int64_t[]){4, 5, 5}, false);
  ipro_node_set_int(hand_node(c->graph, "ln", "LayerNormalization", "X,scale", "Y"), "axis", 1);
}

static void leaky_relu_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node_set_float(hand_node(c->graph, "leaky", "LeakyRelu", "X", "Y"), "alpha", 0.2f);
}

static void clip_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node *n = hand_node(c->graph, "clip", "Clip", "X", "Y");
  ipro_node_set_float(n, "min", -0.55f);
  ipro_node_set_float(n, "max", 0.65f);
  c->kinks[0] = -0.55f;
  c->kinks[1] = 0.65f;
  c->n_kinks = 2;
  c->graph->opset = 6; /* Clip-6: min and max as attributes */
}

/* SiLU, X·σ(X): a Sigmoid with times_input, as codegen/fusion.h makes it; differentiated
 * through X. */
static void silu_case(gradient_case *c) {
  begin(c, 4, image);
  hand_node(c->graph, "silu", "Sigmoid", "X", "Y");
  c->late_node = "silu";
  c->late_attribute = "times_input";
}

static void hard_sigmoid_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node *n = hand_node(c->graph, "hard_sigmoid", "HardSigmoid", "X", "Y");
  ipro_node_set_float(n, "alpha", 0.5f);
  ipro_node_set_float(n, "beta", 0.3f);
  c->kinks[0] = -0.6f; /* alpha·x + beta = 0 */
  c->kinks[1] = 1.4f;  /* alpha·x + beta = 1 */
  c->n_kinks = 2;
}

static void softmax_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 7});
  hand_node(c->graph, "softmax", "Softmax", "X", "Y");
}

static void log_softmax_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  ipro_node_set_int(hand_node(c->graph, "log_softmax", "LogSoftmax", "X", "Y"), "axis", 1);
}

#define BINARY_CASE(function, op, positive_b)                                                      \
  static void function(gradient_case *c) {                                                         \
    begin(c, 4, image);                                                                            \
    add_param(c, "B", 3, (int64_t[]){4, 1, 5}, positive_b);                                        \
    hand_node(c->graph, "binary", op, "X,B", "Y");                                                 \
  }
BINARY_CASE(add_case, "Add", false)
BINARY_CASE(sub_case, "Sub", false)
BINARY_CASE(mul_case, "Mul", false)
BINARY_CASE(div_case, "Div", true)

/* The broadcast operand first, for the gradient of the left side's reduction. */
static void sub_left_broadcast_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  add_param(c, "A", 1, (int64_t[]){4}, false);
  hand_node(c->graph, "sub", "Sub", "A,X", "Y");
}

static void div_denominator_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  c->x_range = VALUES_POSITIVE;
  add_param(c, "A", 2, (int64_t[]){1, 4}, false);
  hand_node(c->graph, "div", "Div", "A,X", "Y");
}

static void sum_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  add_param(c, "B", 1, (int64_t[]){4}, false);
  add_param(c, "C", 2, (int64_t[]){3, 1}, false);
  hand_node(c->graph, "sum", "Sum", "X,B,C", "Y");
}

static void max_pool_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node *n = hand_node(c->graph, "pool", "MaxPool", "X", "Y");
  ipro_node_set_ints(n, "kernel_shape", (int64_t[]){3, 2}, 2);
  ipro_node_set_ints(n, "strides", (int64_t[]){2, 1}, 2);
  ipro_node_set_ints(n, "pads", (int64_t[]){1, 0, 1, 1}, 4);
}

static void average_pool_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node *n = hand_node(c->graph, "pool", "AveragePool", "X", "Y");
  ipro_node_set_ints(n, "kernel_shape", (int64_t[]){3, 3}, 2);
  ipro_node_set_ints(n, "strides", (int64_t[]){2, 2}, 2);
  ipro_node_set_ints(n, "pads", (int64_t[]){1, 1, 1, 1}, 4);
  ipro_node_set_int(n, "ceil_mode", 1);
}

static void average_pool_include_pad_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node *n = hand_node(c->graph, "pool", "AveragePool", "X", "Y");
  ipro_node_set_ints(n, "kernel_shape", (int64_t[]){2, 2}, 2);
  ipro_node_set_ints(n, "pads", (int64_t[]){1, 1, 0, 0}, 4);
  ipro_node_set_int(n, "count_include_pad", 1);
}

#define GEMM_CASE(function, trans_a, trans_b)                                                      \
  static void function(gradient_case *c) {                                                         \
    begin(c, 2, trans_a ? (int64_t[]){5, 3} : (int64_t[]){3, 5});                                  \
    add_param(c, "B", 2, trans_b ? (int64_t[]){4, 5} : (int64_t[]){5, 4}, false);                  \
    add_param(c, "C", 1, (int64_t[]){4}, false);                                                   \
    ipro_node *n = hand_node(c->graph, "gemm", "Gemm", "X,B,C", "Y");                              \
    ipro_node_set_int(n, "transA", trans_a);                                                       \
    ipro_node_set_int(n, "transB", trans_b);                                                       \
    ipro_node_set_float(n, "alpha", 0.7f);                                                         \
    ipro_node_set_float(n, "beta", 1.3f);                                                          \
  }
GEMM_CASE(gemm_case, 0, 0)
GEMM_CASE(gemm_transposed_b_case, 0, 1)
GEMM_CASE(gemm_transposed_a_case, 1, 0)
GEMM_CASE(gemm_transposed_both_case, 1, 1)

static void mat_mul_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 5});
  add_param(c, "B", 2, (int64_t[]){5, 2}, false);
  hand_node(c->graph, "matmul", "MatMul", "X,B", "Y");
}

/* Attention's batched product: X [2, 3, 4, 5] times B [2, 3, 5, 2]. */
static void mat_mul_batched_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 3, 4, 5});
  add_param(c, "B", 4, (int64_t[]){2, 3, 5, 2}, false);
  hand_node(c->graph, "matmul", "MatMul", "X,B", "Y");
}

/* Batch dimensions broadcast both ways and ranks that differ: X [2, 1, 4, 5] by B [3, 5, 2] is Y
 * [2, 3, 4, 2]; dX is summed over B's 3, dB over X's 2 (LambdaNetworks' positional lambdas). */
static void mat_mul_broadcast_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 1, 4, 5});
  add_param(c, "B", 3, (int64_t[]){3, 5, 2}, false);
  hand_node(c->graph, "matmul", "MatMul", "X,B", "Y");
}

/* One slice of axis 1 taken by a constant index: the axis goes. */
static void gather_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  int index = hand_initializer(c->graph, "index", IPRO_DTYPE_INT64, 0, NULL, (int64_t[]){1});
  c->graph->tensors[index].kind = IPRO_TENSOR_CONSTANT;
  ipro_node_set_int(hand_node(c->graph, "gather", "Gather", "X,index", "Y"), "axis", 1);
}

/* Axis 1's three slices taken by constant indices [2, 0, 1] (a permutation: the gradient is the
 * inverse one), and in order [[0, 1, 2]] from a flattened tensor (torch.export's as_strided of a
 * contiguous view: the gradient is dY made X's shape again). */
static void gather_permutation_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  int index = hand_initializer(c->graph, "order", IPRO_DTYPE_INT64, 1, (int64_t[]){3},
                               (int64_t[]){2, 0, 1});
  c->graph->tensors[index].kind = IPRO_TENSOR_CONSTANT;
  ipro_node_set_int(hand_node(c->graph, "gather", "Gather", "X,order", "Y"), "axis", 1);
}

/* Rows of X [4, 3] taken at constant indices [[0, 2], [2, 2], [3, 0]] along axis 0: repeated,
 * and row 1 never (the Swin Transformer's relative position bias table): each row's gradient is
 * the sum of dY's rows that read it, 0 for row 1. */
static void gather_repeated_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){4, 3});
  int index = hand_initializer(c->graph, "rows", IPRO_DTYPE_INT64, 2, (int64_t[]){3, 2},
                               (int64_t[]){0, 2, 2, 2, 3, 0});
  c->graph->tensors[index].kind = IPRO_TENSOR_CONSTANT;
  ipro_node_set_int(hand_node(c->graph, "gather", "Gather", "X,rows", "Y"), "axis", 0);
}

/* Gather along axis 1 of X [2, 4, 3] at constant indices [[0, 2], [2, -1], [3, 0]]: slices 0, 2
 * and 3 read twice, 1 never (F.unfold as torch.export writes it, VOLO's): dY [2, 3, 2, 3] summed
 * back between two transposes. */
static void gather_repeated_inner_axis_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 4, 3});
  int index = hand_initializer(c->graph, "columns", IPRO_DTYPE_INT64, 2, (int64_t[]){3, 2},
                               (int64_t[]){0, 2, 2, -1, 3, 0});
  c->graph->tensors[index].kind = IPRO_TENSOR_CONSTANT;
  ipro_node_set_int(hand_node(c->graph, "gather", "Gather", "X,columns", "Y"), "axis", 1);
}

/* ScatterND of a parameter's rows [2, 3] into X [4, 3] at constant rows [[3], [1]], squared:
 * rows 1 and 3 of X get no gradient, the parameter's rows the gradient of where they went. */
static void scatter_nd_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){4, 3});
  add_param(c, "U", 2, (int64_t[]){2, 3}, false);
  int rows = hand_initializer(c->graph, "rows", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 1},
                              (int64_t[]){3, 1});
  c->graph->tensors[rows].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "scatter", "ScatterND", "X,rows,U", "S");
  hand_node(c->graph, "square", "Mul", "S,S", "Y");
}

/* GatherND of rows of X [4, 3] at constant indices [[3], [1], [3]] (torch.export's table[index]):
 * the Gather along axis 0 it is, row 3 read twice, rows 0 and 2 never. */
static void gather_nd_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){4, 3});
  int index = hand_initializer(c->graph, "rows", IPRO_DTYPE_INT64, 2, (int64_t[]){3, 1},
                               (int64_t[]){3, 1, 3});
  c->graph->tensors[index].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "gather_nd", "GatherND", "X,rows", "Y");
}

/* GatherND at indices addressing 2 axes of X [3, 2, 4], one position read twice (with a negative
 * index), three not at all, as torch.export's adaptive average pooling reads a map whose windows
 * overlap: dX sums the gradients of every read and is 0 where nothing read. */
static void gather_nd_two_axes_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){3, 2, 4});
  int index = hand_initializer(c->graph, "positions", IPRO_DTYPE_INT64, 2, (int64_t[]){4, 2},
                               (int64_t[]){0, 1, 2, 0, -3, -1, 1, 1});
  c->graph->tensors[index].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "gather_nd", "GatherND", "X,positions", "Y");
}

/* Where of a constant mask between X [3, 4] and a parameter A [1, 4] broadcast along the rows
 * (torch.export's masked_fill): dX where the mask holds, dA where it does not, summed over the
 * rows. */
static void where_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  int mask = hand_initializer(
      c->graph, "mask", IPRO_DTYPE_BOOL, 2, (int64_t[]){3, 4},
      (bool[]){true, false, true, true, false, false, true, false, true, true, false, true});
  c->graph->tensors[mask].kind = IPRO_TENSOR_CONSTANT;
  add_param(c, "A", 2, (int64_t[]){1, 4}, false);
  hand_node(c->graph, "where", "Where", "mask,X,A", "Y");
}

static void gather_in_order_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){2, 3});
  int target = hand_int64_initializer(c->graph, "flat", 1, (int64_t[]){-1});
  c->graph->tensors[target].kind = IPRO_TENSOR_CONSTANT;
  int index = hand_initializer(c->graph, "in_order", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 3},
                               (int64_t[]){0, 1, 2, 3, 4, 5});
  c->graph->tensors[index].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "flatten", "Reshape", "X,flat", "F");
  ipro_node_set_int(hand_node(c->graph, "gather", "Gather", "F,in_order", "Y"), "axis", 0);
}

/* Sqrt of X² + 1 (positive everywhere). */
static void sqrt_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  hand_initializer(c->graph, "one", IPRO_DTYPE_DOUBLE, 0, NULL, (double[]){1.0});
  hand_node(c->graph, "square", "Mul", "X,X", "S");
  hand_node(c->graph, "plus", "Add", "S,one", "P");
  hand_node(c->graph, "root", "Sqrt", "P", "Y");
}

/* Abs and Neg: -|X| · X, whose derivative -2|X| needs dY · sign(X) through Abs and -dY through
 * Neg (X is kept away from Abs's kink at 0 by its range). */
static void abs_neg_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  hand_node(c->graph, "abs", "Abs", "X", "A");
  hand_node(c->graph, "neg", "Neg", "A", "N");
  hand_node(c->graph, "scale", "Mul", "N,X", "Y");
}

/* CumSum of X [3, 4] along its rows (axis 0) and, exclusive and reversed, along its columns: each
 * element's gradient the sum of the gradients of the sums it is in. */
static void cum_sum_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  int rows = hand_int64_initializer(c->graph, "rows", 1, (int64_t[]){0});
  int columns = hand_int64_initializer(c->graph, "columns", 1, (int64_t[]){-1});
  c->graph->tensors[rows].kind = c->graph->tensors[columns].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "down", "CumSum", "X,rows", "D");
  ipro_node *across = hand_node(c->graph, "across", "CumSum", "D,columns", "A");
  ipro_node_set_int(across, "exclusive", 1);
  ipro_node_set_int(across, "reverse", 1);
  hand_node(c->graph, "square", "Mul", "A,A", "Y");
}

/* ReduceSum over X's columns without keepdims, and ReduceL2 over its rows with keepdims (the
 * norm F.normalize divides by): X / ‖X‖ rows, then summed. */
static void reduce_sum_l2_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  ipro_node *norm = hand_node(c->graph, "norm", "ReduceL2", "X", "N");
  ipro_node_set_ints(norm, "axes", (int64_t[]){1}, 1);
  hand_node(c->graph, "normalise", "Div", "X,N", "U");
  int axes = hand_int64_initializer(c->graph, "sum_axes", 1, (int64_t[]){0});
  c->graph->tensors[axes].kind = IPRO_TENSOR_CONSTANT; /* an input from opset 13 on */
  ipro_node *sum = hand_node(c->graph, "sum", "ReduceSum", "U,sum_axes", "S");
  ipro_node_set_int(sum, "keepdims", 0);
  hand_node(c->graph, "square", "Mul", "S,S", "Y");
}

/* ReduceL2 over rows of X · M, M a constant that zeroes the middle row: that row's norm is 0,
 * whose gradient is 0 (PyTorch's, and the finite difference's: moving one element by ±h moves
 * the norm by |h| both ways), not X · dY / Y's 0 · ∞. */
static void reduce_l2_zero_row_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  int mask = hand_initializer(c->graph, "M", IPRO_DTYPE_DOUBLE, 2, (int64_t[]){3, 1},
                              (double[]){1.0, 0.0, 1.0});
  c->graph->tensors[mask].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "mask", "Mul", "X,M", "Z");
  ipro_node *norm = hand_node(c->graph, "norm", "ReduceL2", "Z", "Y");
  ipro_node_set_ints(norm, "axes", (int64_t[]){1}, 1);
}

/* ReduceMax over X's rows with keepdims, then ReduceMin of X over its first and last axes
 * without, each times a parameter (distinct random values: no ties, where the derivative is
 * undefined). */
static void reduce_max_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  add_param(c, "A", 3, (int64_t[]){2, 3, 1}, false);
  ipro_node *largest = hand_node(c->graph, "largest", "ReduceMax", "X", "M");
  ipro_node_set_ints(largest, "axes", (int64_t[]){2}, 1);
  hand_node(c->graph, "scale", "Mul", "M,A", "Y");
}

static void reduce_min_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  add_param(c, "A", 1, (int64_t[]){3}, false);
  ipro_node *smallest = hand_node(c->graph, "smallest", "ReduceMin", "X", "M");
  ipro_node_set_ints(smallest, "axes", (int64_t[]){0, 2}, 2);
  ipro_node_set_int(smallest, "keepdims", 0);
  hand_node(c->graph, "scale", "Mul", "M,A", "Y");
}

/* Exp, Log and Softplus: Log(Softplus(X)) · Exp(X) (Softplus > 0: inside Log's domain). */
static void exp_log_softplus_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  hand_node(c->graph, "softplus", "Softplus", "X", "S");
  hand_node(c->graph, "log", "Log", "S", "L");
  hand_node(c->graph, "exp", "Exp", "X", "E");
  hand_node(c->graph, "product", "Mul", "L,E", "Y");
}

/* Elu (alpha 0.7), Selu (its defaults) and Celu (alpha 0.5), summed: Selu's derivative jumps at 0
 * (gamma·alpha to gamma), which the range keeps X away from. */
static void elu_family_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  ipro_node *elu = hand_node(c->graph, "elu", "Elu", "X", "E");
  ipro_node_set_float(elu, "alpha", 0.7f);
  hand_node(c->graph, "selu", "Selu", "X", "S");
  ipro_node *celu = hand_node(c->graph, "celu", "Celu", "X", "C");
  ipro_node_set_float(celu, "alpha", 0.5f);
  hand_node(c->graph, "plus", "Add", "E,S", "P");
  hand_node(c->graph, "sum", "Add", "P,C", "Y");
}

/* PRelu with a slope per row (a parameter [3, 1] over X [2, 3, 4]) and one shared slope ([1]),
 * summed: Y = PRelu(X, A) + PRelu(X, B). */
static void prelu_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  add_param(c, "A", 2, (int64_t[]){3, 1}, true);
  add_param(c, "B", 1, (int64_t[]){1}, true);
  hand_node(c->graph, "per_row", "PRelu", "X,A", "P");
  hand_node(c->graph, "shared", "PRelu", "X,B", "Q");
  hand_node(c->graph, "sum", "Add", "P,Q", "Y");
}

/* Tile of X [2, 3] by [2, 3] (copies of every element, summed back) times a parameter, plus a
 * parameter [1, 3] tiled over 2 rows (an Expand's gradient): Y = Tile(X) · A + Tile(B). */
static void tile_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){2, 3});
  add_param(c, "A", 2, (int64_t[]){4, 9}, false);
  add_param(c, "B", 2, (int64_t[]){1, 9}, false);
  int repeats = hand_int64_initializer(c->graph, "repeats", 2, (int64_t[]){2, 3});
  int rows = hand_int64_initializer(c->graph, "rows", 2, (int64_t[]){4, 1});
  c->graph->tensors[repeats].kind = c->graph->tensors[rows].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "tile", "Tile", "X,repeats", "T");
  hand_node(c->graph, "scale", "Mul", "T,A", "S");
  hand_node(c->graph, "rows", "Tile", "B,rows", "R");
  hand_node(c->graph, "sum", "Add", "S,R", "Y");
}

/* GatherElements of X [3, 4] along its columns at constant indices [3, 3] (torch.gather), one
 * element read twice, one index negative, some never read: each element's gradient the sum of
 * the gradients of the places that read it. */
static void gather_elements_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  int at = hand_initializer(c->graph, "at", IPRO_DTYPE_INT64, 2, (int64_t[]){3, 3},
                            (int64_t[]){0, 0, 3, 2, -1, 1, 1, 2, 0});
  c->graph->tensors[at].kind = IPRO_TENSOR_CONSTANT;
  ipro_node *gather = hand_node(c->graph, "gather", "GatherElements", "X,at", "G");
  ipro_node_set_int(gather, "axis", 1);
  hand_node(c->graph, "square", "Mul", "G,G", "Y");
}

/* Einsum as attention writes it, "bqd,bkd->bqk" of X [2, 3, 4] and a parameter K [2, 5, 4], then
 * MViTv2's relative positions, "bqk,qkc->bqc" by a parameter [3, 5, 2], and a transpose of one
 * operand, "bqc->bcq". */
static void einsum_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  add_param(c, "K", 3, (int64_t[]){2, 5, 4}, false);
  add_param(c, "R", 3, (int64_t[]){3, 5, 2}, false);
  ipro_node *scores = hand_node(c->graph, "scores", "Einsum", "X,K", "S");
  ipro_node_set_string(scores, "equation", "bqd,bkd->bqk");
  ipro_node *relative = hand_node(c->graph, "relative", "Einsum", "S,R", "P");
  ipro_node_set_string(relative, "equation", "bqk,qkc->bqc");
  ipro_node *flip = hand_node(c->graph, "flip", "Einsum", "P", "Y");
  ipro_node_set_string(flip, "equation", "bqc -> bcq");
}

/* Col2Im (F.fold) of X [2, 12, 6]: 2 channels of blocks [2, 3] at the 3 × 2 positions of a window
 * over a [4, 5] image with strides [2, 1], dilations [1, 2] and pads [1, 0, 1, 1] (some values
 * in the padding: no gradient; pixels that several blocks reach), squared. */
static void col2im_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 12, 6});
  int image = hand_int64_initializer(c->graph, "image", 2, (int64_t[]){4, 5});
  int block = hand_int64_initializer(c->graph, "block", 2, (int64_t[]){2, 3});
  c->graph->tensors[image].kind = c->graph->tensors[block].kind = IPRO_TENSOR_CONSTANT;
  ipro_node *fold = hand_node(c->graph, "fold", "Col2Im", "X,image,block", "F");
  ipro_node_set_ints(fold, "strides", (int64_t[]){2, 1}, 2);
  ipro_node_set_ints(fold, "dilations", (int64_t[]){1, 2}, 2);
  ipro_node_set_ints(fold, "pads", (int64_t[]){1, 0, 1, 1}, 4);
  hand_node(c->graph, "square", "Mul", "F,F", "Y");
}

/* sequence_lens [3, 1] of a batch of 2 over 3 steps (the second element runs one step), and the
 * axes [1] of an Unsqueeze that puts a state beside the steps of a batch-major Y. */
static void short_second_sequence(gradient_case *c) {
  int lens =
      hand_initializer(c->graph, "lens", IPRO_DTYPE_INT32, 1, (int64_t[]){2}, (int32_t[]){3, 1});
  int axis = hand_int64_initializer(c->graph, "axis1", 1, (int64_t[]){1});
  c->graph->tensors[lens].kind = c->graph->tensors[axis].kind = IPRO_TENSOR_CONSTANT;
}

/* A bidirectional LSTM (T 3, N 2, I 3, H 2) with biases, initial states and peepholes, every
 * output read: Y [3, 2, 2, 2] + Y_h + Y_c broadcast over the steps. */
static void lstm_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){3, 2, 3});
  add_param(c, "W", 3, (int64_t[]){2, 8, 3}, false);
  add_param(c, "R", 3, (int64_t[]){2, 8, 2}, false);
  add_param(c, "B", 2, (int64_t[]){2, 16}, false);
  add_param(c, "H0", 3, (int64_t[]){2, 2, 2}, false);
  add_param(c, "C0", 3, (int64_t[]){2, 2, 2}, false);
  add_param(c, "P", 2, (int64_t[]){2, 6}, false);
  ipro_node *lstm = hand_node(c->graph, "lstm", "LSTM", "X,W,R,B,,H0,C0,P", "S,Sh,Sc");
  ipro_node_set_string(lstm, "direction", "bidirectional");
  ipro_node_set_int(lstm, "hidden_size", 2);
  hand_node(c->graph, "with_h", "Add", "S,Sh", "T");
  hand_node(c->graph, "with_c", "Add", "T,Sc", "Y");
}

/* A reverse LSTM over batch-major X [2, 3, 3] (layout 1) whose second sequence is one step long,
 * Y_h and Y_c read: the state passes the steps past a sequence's end both ways. */
static void lstm_short_sequence_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 3});
  add_param(c, "W", 3, (int64_t[]){1, 12, 3}, false);
  add_param(c, "R", 3, (int64_t[]){1, 12, 3}, false);
  add_param(c, "H0", 3, (int64_t[]){2, 1, 3}, false);
  short_second_sequence(c);
  ipro_node *lstm = hand_node(c->graph, "lstm", "LSTM", "X,W,R,,lens,H0", "S,Sh,Sc");
  ipro_node_set_string(lstm, "direction", "reverse");
  ipro_node_set_int(lstm, "layout", 1);
  hand_node(c->graph, "with_h", "Add", "Sh,Sc", "T");
  hand_node(c->graph, "steps", "Unsqueeze", "T,axis1", "U"); /* [N, 1, D, H] */
  hand_node(c->graph, "with_y", "Mul", "S,U", "Y");
}

/* GRU both ways (linear_before_reset 0 and 1), bidirectional, with biases and initial state. */
static void gru_case(gradient_case *c, int64_t linear_before_reset) {
  begin(c, 3, (int64_t[]){3, 2, 3});
  add_param(c, "W", 3, (int64_t[]){2, 6, 3}, false);
  add_param(c, "R", 3, (int64_t[]){2, 6, 2}, false);
  add_param(c, "B", 2, (int64_t[]){2, 12}, false);
  add_param(c, "H0", 3, (int64_t[]){2, 2, 2}, false);
  ipro_node *gru = hand_node(c->graph, "gru", "GRU", "X,W,R,B,,H0", "S,Sh");
  ipro_node_set_string(gru, "direction", "bidirectional");
  ipro_node_set_int(gru, "linear_before_reset", linear_before_reset);
  hand_node(c->graph, "with_h", "Add", "S,Sh", "Y");
}
static void gru_reset_after_case(gradient_case *c) { gru_case(c, 1); }
static void gru_reset_before_case(gradient_case *c) { gru_case(c, 0); }

/* An RNN (Tanh) over batch-major X [2, 3, 3] whose second sequence is one step long, and a
 * sigmoid one (activations) in reverse: Y of both and Y_h of the first. */
static void rnn_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 3});
  add_param(c, "W", 3, (int64_t[]){1, 4, 3}, false);
  add_param(c, "R", 3, (int64_t[]){1, 4, 4}, false);
  add_param(c, "B", 2, (int64_t[]){1, 8}, false);
  add_param(c, "V", 3, (int64_t[]){1, 4, 3}, false);
  short_second_sequence(c);
  ipro_node *rnn = hand_node(c->graph, "rnn", "RNN", "X,W,R,B,lens", "S,Sh");
  ipro_node_set_int(rnn, "layout", 1);
  ipro_node *sigmoid = hand_node(c->graph, "sigmoid_rnn", "RNN", "X,V,R", "Q");
  ipro_node_set_int(sigmoid, "layout", 1);
  ipro_node_set_string(sigmoid, "direction", "reverse");
  ipro_node_set_string(sigmoid, "activations", "Sigmoid");
  hand_node(c->graph, "both", "Mul", "S,Q", "T");
  hand_node(c->graph, "steps", "Unsqueeze", "Sh,axis1", "U"); /* [N, 1, D, H] */
  hand_node(c->graph, "with_h", "Add", "T,U", "Y");
}

/* Mish and Softsign: Mish(X) · Softsign(X). */
static void mish_softsign_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  hand_node(c->graph, "mish", "Mish", "X", "M");
  hand_node(c->graph, "softsign", "Softsign", "X", "S");
  hand_node(c->graph, "product", "Mul", "M,S", "Y");
}

/* ReduceL1 over X's rows (keepdims) times ReduceSumSquare over its first and last axes (no
 * keepdims), broadcast: X [2, 3, 4]. */
static void reduce_l1_sum_square_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  ipro_node *l1 = hand_node(c->graph, "l1", "ReduceL1", "X", "A");
  ipro_node_set_ints(l1, "axes", (int64_t[]){2}, 1);
  ipro_node *squares = hand_node(c->graph, "squares", "ReduceSumSquare", "X", "B");
  ipro_node_set_ints(squares, "axes", (int64_t[]){0, 2}, 2);
  ipro_node_set_int(squares, "keepdims", 0);
  int shape = hand_int64_initializer(c->graph, "b_shape", 3, (int64_t[]){1, 3, 1});
  c->graph->tensors[shape].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "unsqueeze", "Reshape", "B,b_shape", "U");
  hand_node(c->graph, "product", "Mul", "A,U", "Y");
}

/* ReduceLogSumExp over X's rows, then ReduceLogSum of its exponential plus a parameter (a positive
 * sum) over everything. */
static void reduce_log_sum_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  add_param(c, "A", 3, (int64_t[]){2, 3, 1}, true);
  ipro_node *lse = hand_node(c->graph, "lse", "ReduceLogSumExp", "X", "L");
  ipro_node_set_ints(lse, "axes", (int64_t[]){2}, 1);
  hand_node(c->graph, "scale", "Mul", "L,A", "M");
  hand_node(c->graph, "exp", "Exp", "M", "E");
  ipro_node *log_sum = hand_node(c->graph, "log_sum", "ReduceLogSum", "E", "Y");
  ipro_node_set_int(log_sum, "keepdims", 0);
}

/* ReduceProd over X's middle axis (no keepdims) times a parameter: X [2, 3, 4]. */
static void reduce_prod_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  add_param(c, "A", 1, (int64_t[]){4}, false);
  ipro_node *product = hand_node(c->graph, "product", "ReduceProd", "X", "P");
  ipro_node_set_ints(product, "axes", (int64_t[]){1}, 1);
  ipro_node_set_int(product, "keepdims", 0);
  hand_node(c->graph, "scale", "Mul", "P,A", "Y");
}

/* Sin and Cos (a Fourier positional encoding's): Sin(X) · Cos(X). */
static void sin_cos_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  hand_node(c->graph, "sin", "Sin", "X", "S");
  hand_node(c->graph, "cos", "Cos", "X", "C");
  hand_node(c->graph, "product", "Mul", "S,C", "Y");
}

/* Floor, Ceil and Sign pass no gradient back (constant between their steps, as PyTorch's
 * gradients of them are 0): X · (Floor(X) + Ceil(X) + Sign(X)), whose derivative is the sum
 * itself; X kept away from the steps at ±1 (and 0, by its range). */
static void rounding_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  c->kinks[0] = -1.0;
  c->kinks[1] = 1.0;
  c->n_kinks = 2;
  hand_node(c->graph, "floor", "Floor", "X", "F");
  hand_node(c->graph, "ceil", "Ceil", "X", "C");
  hand_node(c->graph, "sign", "Sign", "X", "S");
  hand_node(c->graph, "plus", "Add", "F,C", "P");
  hand_node(c->graph, "plus_sign", "Add", "P,S", "Q");
  hand_node(c->graph, "scale", "Mul", "X,Q", "Y");
}

/* Erf of X (GELU spelled out by exporters before opset 20: x/2 · (1 + erf(x/√2))). */
static void erf_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  hand_node(c->graph, "erf", "Erf", "X", "Y");
}

/* A scalar constant no training changes. */
static void scalar_constant(gradient_case *c, const char *name, double value) {
  int t = hand_initializer(c->graph, name, IPRO_DTYPE_DOUBLE, 0, NULL, (double[]){value});
  c->graph->tensors[t].kind = IPRO_TENSOR_CONSTANT;
}

/* out = ReduceMean(in) over the last axis, as the normalisations spelled out below take it. */
static void last_axis_mean(gradient_case *c, const char *name, const char *in, const char *out) {
  ipro_node *mean = hand_node(c->graph, name, "ReduceMean", in, out);
  ipro_node_set_ints(mean, "axes", (int64_t[]){-1}, 1);
}

/* RMSNorm as torch.export writes it: X · Reciprocal(Sqrt(mean(X²) + ε)). */
static void rms_norm_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 5});
  scalar_constant(c, "eps", 1e-5);
  hand_node(c->graph, "square", "Mul", "X,X", "Q");
  last_axis_mean(c, "mean", "Q", "M");
  hand_node(c->graph, "plus", "Add", "M,eps", "E");
  hand_node(c->graph, "root", "Sqrt", "E", "R");
  hand_node(c->graph, "inverse", "Reciprocal", "R", "I");
  hand_node(c->graph, "scale", "Mul", "X,I", "Y");
}

/* Pow of X² + 1 by a constant 1.5 (the general rule), and LayerNorm as exporters spell it out
 * before opset 17: (X − mean) / √(mean((X − mean)²) + ε), whose square is a Pow by 2 (made X · X
 * at inference). */
static void pow_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  scalar_constant(c, "one", 1.0);
  scalar_constant(c, "k", 1.5);
  hand_node(c->graph, "square", "Mul", "X,X", "S");
  hand_node(c->graph, "plus", "Add", "S,one", "P");
  hand_node(c->graph, "pow", "Pow", "P,k", "Y");
}

static void spelled_out_layer_norm_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 5});
  scalar_constant(c, "two", 2.0);
  scalar_constant(c, "eps", 1e-5);
  last_axis_mean(c, "mean", "X", "M");
  hand_node(c->graph, "centre", "Sub", "X,M", "D");
  hand_node(c->graph, "square", "Pow", "D,two", "Q");
  last_axis_mean(c, "variance", "Q", "V");
  hand_node(c->graph, "plus", "Add", "V,eps", "E");
  hand_node(c->graph, "root", "Sqrt", "E", "R");
  hand_node(c->graph, "normalise", "Div", "D,R", "Y");
}

/* A linear layer on a batch of sequences: X [2, 3, 5] times B [5, 2]. */
static void mat_mul_sequence_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 5});
  add_param(c, "B", 2, (int64_t[]){5, 2}, false);
  hand_node(c->graph, "matmul", "MatMul", "X,B", "Y");
}

/* One parameter read by two nodes (tied weights; equal ones an exporter deduplicated): X B B,
 * whose gradient for B is the sum of both readers'. */
static void shared_parameter_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  add_param(c, "B", 2, (int64_t[]){4, 4}, false);
  hand_node(c->graph, "first", "MatMul", "X,B", "H");
  hand_node(c->graph, "second", "MatMul", "H,B", "Y");
}

/* A parameter read through an Identity and directly, X + B + Identity(B): the Identity is an op
 * trained through, not a constant folded from B's starting value. */
static void identity_of_parameter_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){3, 4});
  add_param(c, "B", 2, (int64_t[]){3, 4}, false);
  hand_node(c->graph, "copy", "Identity", "B", "C");
  hand_node(c->graph, "plus", "Add", "X,B", "S");
  hand_node(c->graph, "plus_copy", "Add", "S,C", "Y");
}

/* ONNX's Slice of an activation, steps of 1 (ShuffleNet's channel split): channels 1 to 2 and
 * rows 1 to 3 of X [2, 4, 5, 3]. */
static void slice_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 4, 5, 3});
  hand_int64_initializer(c->graph, "starts", 2, (int64_t[]){1, 1});
  hand_int64_initializer(c->graph, "ends", 2, (int64_t[]){3, 4});
  hand_int64_initializer(c->graph, "axes", 2, (int64_t[]){1, 2});
  hand_node(c->graph, "slice", "Slice", "X,starts,ends,axes", "Y");
}

/* Slices with steps (the Swin Transformer's patch merging, x[:, 0::2, 1::2, :]): rows 0, 2, 4
 * of 5 and columns 1, 3, 5 of 6 of X [2, 5, 6, 3] (the spans reach the ends), and rows 1, 3 by a
 * step of 2 and columns 0, 3 by a step of 3 (zeros after the spans). */
static void slice_steps_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 5, 6, 3});
  hand_int64_initializer(c->graph, "starts", 2, (int64_t[]){0, 1});
  hand_int64_initializer(c->graph, "ends", 2, (int64_t[]){5, 6});
  hand_int64_initializer(c->graph, "axes", 2, (int64_t[]){1, 2});
  hand_int64_initializer(c->graph, "steps", 2, (int64_t[]){2, 2});
  hand_node(c->graph, "slice", "Slice", "X,starts,ends,axes,steps", "Y");
}

static void slice_steps_inside_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 5, 6, 3});
  hand_int64_initializer(c->graph, "starts", 2, (int64_t[]){1, 0});
  hand_int64_initializer(c->graph, "ends", 2, (int64_t[]){4, 4});
  hand_int64_initializer(c->graph, "axes", 2, (int64_t[]){1, 2});
  hand_int64_initializer(c->graph, "steps", 2, (int64_t[]){2, 3});
  hand_node(c->graph, "slice", "Slice", "X,starts,ends,axes,steps", "Y");
}

/* Split into two pieces of channels, both read (their gradients concatenated): A · B. */
static void split_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 6, 3, 2});
  ipro_node_set_int(hand_node(c->graph, "split", "Split", "X", "A,B"), "axis", 1);
  hand_node(c->graph, "product", "Mul", "A,B", "Y");
}

/* Split into three uneven pieces of rows, the middle one unread (the others' gradients padded
 * back and summed): Sigmoid of the first, the last squared, both summed over a broadcast. */
static void split_unread_piece_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 3, 6, 2});
  hand_int64_initializer(c->graph, "extents", 3, (int64_t[]){2, 3, 1});
  ipro_node_set_int(hand_node(c->graph, "split", "Split", "X,extents", "A,B,C"), "axis", 2);
  hand_node(c->graph, "gate", "Sigmoid", "A", "S");
  hand_node(c->graph, "square", "Mul", "C,C", "Q");
  hand_node(c->graph, "sum", "Add", "S,Q", "Y");
}

/* InstanceNormalization (what the exporters write for GroupNorm and InstanceNorm2d): X [2, 3, 4,
 * 5] normalised per channel of each image, scale and B one value per channel. */
static void instance_norm_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 3, 4, 5});
  add_param(c, "scale", 1, (int64_t[]){3}, true);
  add_param(c, "B", 1, (int64_t[]){3}, false);
  ipro_node_set_float(hand_node(c->graph, "norm", "InstanceNormalization", "X,scale,B", "Y"),
                      "epsilon", 1e-3f);
}

/* A GroupNorm's affine part as both PyTorch exporters write it: X [2, 3, 4] times its weight
 * unsqueezed to [3, 1]. The Unsqueeze of a parameter is a node the gradient flows through, not a
 * constant folded at inference (it was: the weight had no gradient and never trained). */
static void unsqueezed_parameter_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 3, 4});
  add_param(c, "weight", 1, (int64_t[]){3}, false);
  int axes = hand_int64_initializer(c->graph, "axes", 1, (int64_t[]){1});
  c->graph->tensors[axes].kind = IPRO_TENSOR_CONSTANT;
  hand_node(c->graph, "unsqueeze", "Unsqueeze", "weight,axes", "W");
  hand_node(c->graph, "scale", "Mul", "X,W", "Y");
}

static void flatten_case(gradient_case *c) {
  begin(c, 4, image);
  hand_node(c->graph, "flatten", "Flatten", "X", "Y");
}

static void reshape_case(gradient_case *c) {
  begin(c, 4, image);
  hand_int64_initializer(c->graph, "shape", 3, (int64_t[]){2, 20, -1});
  hand_node(c->graph, "reshape", "Reshape", "X,shape", "Y");
}

static void squeeze_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 1, 3, 4});
  hand_int64_initializer(c->graph, "axes", 1, (int64_t[]){1});
  hand_node(c->graph, "squeeze", "Squeeze", "X,axes", "Y");
}

static void unsqueeze_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){2, 3});
  hand_int64_initializer(c->graph, "axes", 1, (int64_t[]){1});
  hand_node(c->graph, "unsqueeze", "Unsqueeze", "X,axes", "Y");
}

static void transpose_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node_set_ints(hand_node(c->graph, "transpose", "Transpose", "X", "Y"), "perm",
                     (int64_t[]){0, 2, 3, 1}, 4);
}

static void concat_case(gradient_case *c) {
  begin(c, 4, image);
  add_param(c, "B", 4, (int64_t[]){2, 3, 5, 5}, false);
  ipro_node_set_int(hand_node(c->graph, "concat", "Concat", "B,X", "Y"), "axis", 1);
}

static void dropout_case(gradient_case *c) {
  begin(c, 4, image);
  /* ratio is its own type in ONNX (T1), and infopro reads it as float32 */
  hand_initializer(c->graph, "ratio", IPRO_DTYPE_FLOAT, 0, NULL, (float[]){0.3f});
  hand_initializer(c->graph, "training", IPRO_DTYPE_BOOL, 0, NULL, (bool[]){true});
  hand_node(c->graph, "dropout", "Dropout", "X,ratio,training", "Y,mask");
}

static void pad_case(gradient_case *c) {
  begin(c, 4, image);
  hand_int64_initializer(c->graph, "pads", 8, (int64_t[]){0, 0, 1, 2, 0, 1, 0, 3});
  hand_node(c->graph, "pad", "Pad", "X,pads", "Y");
}

static void resize_case(gradient_case *c, const char *mode, const char *transform, float scale) {
  begin(c, 4, image);
  hand_initializer(c->graph, "scales", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4},
                   (float[]){1, 1, scale, scale});
  ipro_node *n = hand_node(c->graph, "resize", "Resize", "X,,scales", "Y");
  ipro_node_set_string(n, "mode", mode);
  ipro_node_set_string(n, "coordinate_transformation_mode", transform);
}
static void resize_nearest_case(gradient_case *c) { resize_case(c, "nearest", "asymmetric", 2); }
static void resize_linear_case(gradient_case *c) { resize_case(c, "linear", "half_pixel", 1.6f); }
static void resize_align_case(gradient_case *c) { resize_case(c, "linear", "align_corners", 2); }

static void reduce_mean_case(gradient_case *c) {
  begin(c, 4, image);
  ipro_node_set_ints(hand_node(c->graph, "mean", "ReduceMean", "X", "Y"), "axes", (int64_t[]){1, 3},
                     2);
}

/* X [2, 1, 3] broadcast to [2, 4, 3]: dX sums dY over the repeated axis. */
static void expand_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 1, 3});
  hand_int64_initializer(c->graph, "shape", 3, (int64_t[]){2, 4, 3});
  hand_node(c->graph, "expand", "Expand", "X,shape", "Y");
}

/* X [3] to [2, 4, 3]: a rank-raising broadcast, and a parameter expanded too. */
static void expand_rank_case(gradient_case *c) {
  begin(c, 3, (int64_t[]){2, 4, 3});
  add_param(c, "B", 1, (int64_t[]){3}, false);
  hand_int64_initializer(c->graph, "shape", 3, (int64_t[]){2, 4, 3});
  hand_node(c->graph, "expand", "Expand", "B,shape", "E");
  hand_node(c->graph, "mul", "Mul", "X,E", "Y");
}

/* CastLike to X's own type (float64): the gradient passes through. */
static void cast_like_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){2, 3});
  hand_initializer(c->graph, "like", IPRO_DTYPE_DOUBLE, 0, NULL, (double[]){0.0});
  hand_node(c->graph, "cast", "CastLike", "X,like", "Y");
}

/* ---- the losses of the training program, with the gradient node training_graph.c pairs with
 * each ---- */

static void softmax_cross_entropy_case(gradient_case *c) {
  begin(c, 2, (int64_t[]){4, 5});
  hand_int64_initializer(c->graph, "labels", 4, (int64_t[]){0, 3, 1, 4});
  ipro_node *n = hand_node(c->graph, "loss", "SoftmaxCrossEntropyLoss", "X,labels", "Y,log_prob");
  ipro_node_set_string(n, "reduction", "mean");
  c->loss = true;
  c->grad_op = IPRO_OP_SOFTMAX_CROSS_ENTROPY_GRAD;
  c->grad_inputs[0] = "log_prob", c->grad_inputs[1] = "labels";
}

static void binary_cross_entropy_case(gradient_case *c) {
  begin(c, 4, (int64_t[]){2, 2, 2, 2});
  c->x_range = VALUES_PROBABILITY;
  double target[16];
  for (int i = 0; i < 16; i++)
    target[i] = uniform();
  hand_initializer(c->graph, "target", IPRO_DTYPE_DOUBLE, 4, (int64_t[]){2, 2, 2, 2}, target);
  hand_node(c->graph, "loss", "ipro.BinaryCrossEntropy", "X,target", "Y")->op =
      IPRO_OP_BINARY_CROSS_ENTROPY;
  c->loss = true;
  c->grad_op = IPRO_OP_BINARY_CROSS_ENTROPY_GRAD;
  c->grad_inputs[0] = "X", c->grad_inputs[1] = "target";
}

/* SupCon on the L2-normalised rows of X, at the paper's temperature and at a mild one. */
static void sup_con_case(gradient_case *c, float temperature) {
  begin(c, 2, (int64_t[]){6, 4});
  hand_int64_initializer(c->graph, "labels", 6, (int64_t[]){0, 1, 0, 2, 1, 0});
  ipro_node *n = hand_node(c->graph, "loss", "ipro.SupConLoss", "X,labels", "Y");
  n->op = IPRO_OP_SUP_CON_LOSS;
  ipro_node_set_float(n, "temperature", temperature);
  c->loss = true;
  c->grad_op = IPRO_OP_SUP_CON_GRAD;
  c->grad_inputs[0] = "X", c->grad_inputs[1] = "labels";
}
static void sup_con_paper_case(gradient_case *c) { sup_con_case(c, 0.07f); }
static void sup_con_mild_case(gradient_case *c) { sup_con_case(c, 0.5f); }

int main(void) {
  static const struct {
    const char *name;
    case_builder builder;
  } cases[] = {
      {"Conv", conv_case},
      {"BatchNormalization", batch_norm_case},
      {"Relu", relu_case},
      {"LeakyRelu", leaky_relu_case},
      {"Sigmoid", sigmoid_case},
      {"SiLU (Sigmoid with times_input)", silu_case},
      {"Tanh", tanh_case},
      {"Clip", clip_case},
      {"HardSigmoid", hard_sigmoid_case},
      {"HardSwish", hard_swish_case},
      {"Softmax", softmax_case},
      {"LogSoftmax", log_softmax_case},
      {"Add", add_case},
      {"Sub", sub_case},
      {"Sub (broadcast left)", sub_left_broadcast_case},
      {"Mul", mul_case},
      {"Div", div_case},
      {"Div (denominator)", div_denominator_case},
      {"Sum", sum_case},
      {"MaxPool", max_pool_case},
      {"AveragePool", average_pool_case},
      {"AveragePool (count_include_pad)", average_pool_include_pad_case},
      {"GlobalAveragePool", global_average_pool_case},
      {"GlobalMaxPool", global_max_pool_case},
      {"Gemm", gemm_case},
      {"Gemm (transB)", gemm_transposed_b_case},
      {"Gemm (transA)", gemm_transposed_a_case},
      {"Gemm (transA, transB)", gemm_transposed_both_case},
      {"MatMul", mat_mul_case},
      {"MatMul (3-D by 2-D)", mat_mul_sequence_case},
      {"MatMul twice by one parameter", shared_parameter_case},
      {"Identity of a parameter", identity_of_parameter_case},
      {"Slice", slice_case},
      {"Slice (steps, spans to the ends)", slice_steps_case},
      {"Slice (steps, zeros after the spans)", slice_steps_inside_case},
      {"Split", split_case},
      {"InstanceNormalization", instance_norm_case},
      {"Split (a piece unread)", split_unread_piece_case},
      {"MatMul (batched 4-D)", mat_mul_batched_case},
      {"MatMul (batch dimensions broadcast, ranks 4 and 3)", mat_mul_broadcast_case},
      {"Gather (one constant index)", gather_case},
      {"Unsqueeze of a parameter (GroupNorm's weight)", unsqueezed_parameter_case},
      {"Gather (a permutation of the axis)", gather_permutation_case},
      {"Gather (repeated and missing rows)", gather_repeated_case},
      {"Gather (repeated and missing along axis 1)", gather_repeated_inner_axis_case},
      {"Erf", erf_case},
      {"Abs and Neg", abs_neg_case},
      {"Sin and Cos", sin_cos_case},
      {"Exp, Log and Softplus", exp_log_softplus_case},
      {"Elu (0.7), Selu and Celu (0.5)", elu_family_case},
      {"Mish and Softsign", mish_softsign_case},
      {"PRelu (a slope per row, and one slope)", prelu_case},
      {"Tile (whole copies; a parameter's rows)", tile_case},
      {"GatherElements (an element read twice)", gather_elements_case},
      {"Col2Im (strides, dilations, pads)", col2im_case},
      {"LSTM (bidirectional, initial states, peepholes)", lstm_case},
      {"LSTM (reverse, layout 1, a shorter sequence)", lstm_short_sequence_case},
      {"GRU (linear_before_reset 1, bidirectional)", gru_reset_after_case},
      {"GRU (linear_before_reset 0, bidirectional)", gru_reset_before_case},
      {"RNN (Tanh with a shorter sequence; Sigmoid in reverse)", rnn_case},
      {"Einsum (attention's scores, relative positions, a transpose)", einsum_case},
      {"ReduceL1 and ReduceSumSquare", reduce_l1_sum_square_case},
      {"ReduceLogSumExp and ReduceLogSum", reduce_log_sum_case},
      {"ReduceProd times a parameter", reduce_prod_case},
      {"ReduceL2 (keepdims) and ReduceSum", reduce_sum_l2_case},
      {"ReduceL2 of an all-zero row (gradient 0)", reduce_l2_zero_row_case},
      {"ReduceMax (keepdims) times a parameter", reduce_max_case},
      {"ReduceMin over two axes (no keepdims) times a parameter", reduce_min_case},
      {"CumSum (down; across, exclusive and reversed)", cum_sum_case},
      {"Floor, Ceil and Sign (no gradient)", rounding_case},
      {"RMSNorm (Sqrt, Reciprocal)", rms_norm_case},
      {"Pow (a constant exponent of 1.5)", pow_case},
      {"LayerNorm spelled out (Pow by 2)", spelled_out_layer_norm_case},
      {"GatherND (one row per index)", gather_nd_case},
      {"ScatterND (rows of a parameter into X)", scatter_nd_case},
      {"GatherND (2 axes, a position read twice)", gather_nd_two_axes_case},
      {"Where (a constant mask, a broadcast parameter)", where_case},
      {"Gather (in order, from a flattened tensor)", gather_in_order_case},
      {"Sqrt", sqrt_case},
      {"Flatten", flatten_case},
      {"Reshape", reshape_case},
      {"Squeeze", squeeze_case},
      {"Unsqueeze", unsqueeze_case},
      {"Identity", identity_case},
      {"Transpose", transpose_case},
      {"Concat", concat_case},
      {"Dropout", dropout_case},
      {"Pad", pad_case},
      {"Resize (nearest)", resize_nearest_case},
      {"Resize (linear, half_pixel, 1.6)", resize_linear_case},
      {"Resize (linear, align_corners)", resize_align_case},
      {"ReduceMean", reduce_mean_case},
      {"Gelu", gelu_case},
      {"Gelu (tanh)", gelu_tanh_case},
      {"LayerNormalization", layer_norm_case},
      {"LayerNormalization (axis 1, no B)", layer_norm_map_case},
      {"Expand", expand_case},
      {"Expand (rank raised, parameter)", expand_rank_case},
      {"CastLike", cast_like_case},
      {"SoftmaxCrossEntropyLoss", softmax_cross_entropy_case},
      {"ipro.BinaryCrossEntropy", binary_cross_entropy_case},
      {"ipro.SupConLoss (T = 0.07)", sup_con_paper_case},
      {"ipro.SupConLoss (T = 0.5)", sup_con_mild_case},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int failed_before = ipro_test_failed;
    check_case(cases[i].name, cases[i].builder);
    if (ipro_test_failed != failed_before) printf("%-36s FAILED\n", cases[i].name);
  }
  return ipro_test_finish();
}
