/* Every gradient rule against finite differences, through the whole pipeline: a one-op graph is
 * differentiated by autodiff (rule + backward kernels), run by the executor on the reference
 * kernels, and each gradient element of the input and of every parameter is compared with the
 * central difference of f = Σ w·Y (w random, fixed) computed from the forward pass alone.
 *
 * The kernels compute in float32 (accumulating in double), so the step is 1e-2 and inputs are
 * kept 0.1 away from the kinks of Relu-like functions, so that no difference straddles a kink;
 * the central difference's truncation error is then O(h²·f''') ≈ 1e-4 and its rounding error
 * about 1e-7·|f|/h ≈ 1e-5·|f|. The tolerance, 1e-2 of the gradient's largest element plus 1e-3,
 * is well above both and far below the size of any real mistake (a wrong sign, a missing term,
 * a transposed index give errors of order 1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/autodiff.h"
#include "runtime/executor.h"
#include "support/check.h"
#include "tests/frontend/hand_graph.h"

#define MAX_TENSORS 8
#define STEP 1e-2

static unsigned random_state = 12345;
static float uniform(void) {
  random_state = random_state * 1103515245u + 12345u;
  return (float)((random_state >> 8) & 0xFFFF) / 65536.0f;
}
/* Values in ±[0.1, 1.1]: away from zero, where Relu-like functions have their kinks. */
static float away_from_zero(void) {
  float v = 0.1f + uniform();
  return uniform() < 0.5f ? -v : v;
}

typedef struct {
  const char *name;
  ipro_graph *graph;
  int x;         /* the graph input */
  int params[4]; /* float initializers to differentiate */
  int n_params;
  bool positive_x;
  float kinks[2]; /* input values where the function's derivative jumps, kept STEP·5 away */
  int n_kinks;
} gradient_case;

typedef void (*case_builder)(gradient_case *c);

static void begin(gradient_case *c, int rank, const int64_t *dims) {
  c->graph = hand_graph(17);
  c->x = hand_input(c->graph, "X", rank, dims);
}

static int add_param(gradient_case *c, const char *name, int rank, const int64_t *dims,
                     bool positive) {
  int64_t count = 1;
  for (int d = 0; d < rank; d++)
    count *= dims[d];
  float *data = malloc(sizeof(float) * (size_t)count);
  for (int64_t i = 0; i < count; i++)
    data[i] = positive ? 0.5f + uniform() : away_from_zero();
  int t = hand_initializer(c->graph, name, IPRO_DTYPE_FLOAT, rank, dims, data);
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
  CHECK_OK(ipro_graph_infer_shapes(c.graph, c.graph->tensors[c.x].declared_shape.dims[0], &err),
           &err);
  return c;
}

static double objective(ipro_executor *e, const float *x, const float *w, float *y, int64_t ny) {
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
    f += (double)w[i] * y[i];
  return f;
}

/* Compares autodiff's gradient g of `tensor` with central differences on up to 24 elements. */
static void compare_with_differences(const gradient_case *c, ipro_executor *forward, int tensor,
                                     const float *g, const float *x, const float *w, float *y,
                                     int64_t ny) {
  const ipro_graph *graph = c->graph;
  int64_t n = ipro_shape_elements(&graph->tensors[tensor].shape);
  bool is_input = tensor == c->x;
  float *value = malloc(sizeof(float) * (size_t)n);
  ipro_error err;
  if (is_input)
    memcpy(value, x, sizeof(float) * (size_t)n);
  else
    CHECK_OK(ipro_executor_read_tensor(forward, tensor, value, sizeof(float) * (size_t)n, &err),
             &err);
  double scale = 0;
  for (int64_t i = 0; i < n; i++)
    scale = fmax(scale, fabs(g[i]));
  int64_t stride = n > 24 ? n / 24 : 1;
  int bad = 0;
  for (int64_t i = 0; i < n; i += stride) {
    double estimate[2];
    for (int side = 0; side < 2; side++) {
      float saved = value[i];
      value[i] = saved + (float)(side ? -STEP : STEP);
      if (!is_input)
        ipro_executor_write_tensor(forward, tensor, value, sizeof(float) * (size_t)n, &err);
      estimate[side] = objective(forward, is_input ? value : x, w, y, ny);
      value[i] = saved;
    }
    if (!is_input)
      ipro_executor_write_tensor(forward, tensor, value, sizeof(float) * (size_t)n, &err);
    double difference = (estimate[0] - estimate[1]) / (2 * STEP);
    if (!(fabs(difference - g[i]) <= 1e-2 * scale + 1e-3) && bad++ < 3)
      fprintf(stderr, "%s: d/d%s[%lld] autodiff %.6g, finite difference %.6g\n", c->name,
              graph->tensors[tensor].name, (long long)i, g[i], difference);
  }
  CHECK_MSG(bad == 0, "%s: gradient of %s disagrees with finite differences", c->name,
            graph->tensors[tensor].name);
  free(value);
}

static void check_case(const char *name, case_builder builder) {
  ipro_error err = {{0}};
  gradient_case f = build(name, builder); /* forward only */
  gradient_case b = build(name, builder); /* to be differentiated */
  ipro_graph *graph = b.graph;
  int y_index = graph->outputs[0];
  int64_t nx = ipro_shape_elements(&graph->tensors[b.x].shape);
  int64_t ny = ipro_shape_elements(&graph->tensors[y_index].shape);
  float *x = malloc(sizeof(float) * (size_t)nx);
  for (int64_t i = 0; i < nx; i++) {
    x[i] = b.positive_x ? 0.5f + uniform() : away_from_zero();
    for (int k = 0; k < b.n_kinks; k++)
      if (fabsf(x[i] - b.kinks[k]) < 5 * STEP) x[i] = b.kinks[k] + 10 * STEP;
  }
  float *w = malloc(sizeof(float) * (size_t)ny), *y = malloc(sizeof(float) * (size_t)ny);
  for (int64_t i = 0; i < ny; i++)
    w[i] = away_from_zero();

  /* The backward graph: seed w (a constant) for Y, gradients of X and the parameters as
   * outputs. */
  int seed = ipro_graph_tensor(graph, "seed");
  graph->tensors[seed].kind = IPRO_TENSOR_CONSTANT;
  graph->tensors[seed].dtype = IPRO_DTYPE_FLOAT;
  graph->tensors[seed].shape = graph->tensors[y_index].shape;
  CHECK_OK(ipro_tensor_set_data(&graph->tensors[seed], w, sizeof(float) * (size_t)ny, &err), &err);
  int n_tensors = graph->n_tensors;
  bool *wrt = calloc((size_t)n_tensors, sizeof(bool));
  int *gradient_of = malloc(sizeof(int) * (size_t)n_tensors);
  int wanted[5] = {b.x, b.params[0], b.params[1], b.params[2], b.params[3]};
  int n_wanted = 1 + b.n_params;
  for (int k = 0; k < n_wanted; k++)
    wrt[wanted[k]] = true;
  CHECK_OK(ipro_autodiff_append(graph, 1, &y_index, &seed, wrt, gradient_of, &err), &err);
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
  if (complete) CHECK_OK(ipro_executor_create(f.graph, backend, NULL, &forward, &err), &err);
  if (forward) CHECK_OK(ipro_executor_create(graph, backend, NULL, &gradients, &err), &err);
  if (gradients) {
    float *results[5];
    for (int k = 0; k < n_wanted; k++)
      results[k] =
          malloc(sizeof(float) * (size_t)ipro_shape_elements(&graph->tensors[wanted[k]].shape));
    const void *inputs[1] = {x};
    ipro_executor_set_step(gradients, 0);
    CHECK_OK(ipro_executor_run(gradients, inputs, (void **)results, &err), &err);
    for (int k = 0; k < n_wanted; k++) {
      compare_with_differences(&b, forward, wanted[k], results[k], x, w, y, ny);
      free(results[k]);
    }
  }
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
  hand_initializer(c->graph, "mean", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4}, NULL);
  hand_initializer(c->graph, "var", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4}, (float[]){1, 1, 1, 1});
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
  c->positive_x = true;
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
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int failed_before = ipro_test_failed;
    check_case(cases[i].name, cases[i].builder);
    printf("%-36s %s\n", cases[i].name, ipro_test_failed == failed_before ? "ok" : "FAILED");
  }
  return ipro_test_finish();
}
