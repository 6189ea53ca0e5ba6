/* Checks of the kernel generator's host target: every kernel of ir/kernel_library.c,
 * compiled by LLJIT for this machine, against the reference kernel of the op it implements
 * (run on a one-node graph) or, for the fused chains that have no single reference op, against a
 * plain C loop written here; exp and log against libm over the whole float range; the channel
 * indexing, in-place updates, odd element counts (vector tails), and the errors a bad description
 * gives. Tolerance: relative 1e-5; bit for bit where the kernel evaluates the reference's
 * operations in the reference's order (the SGD update, the CUDA backend's LeakyRelu, HardSigmoid,
 * HardSwish, Tanh gradient and Div kernels, and Dropout's output and mask). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "ir/graph.h"
#include "ir/kernel_generator.h"
#include "ir/kernel_library.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/support/check.h"

#define COUNT 4099 /* odd: every vector loop has a tail */

static ipro_kernel_jit *jit;

/* ---- data ---- */

static uint64_t random_state = 0x9e3779b97f4a7c15ull;

static double uniform(double low, double high) {
  random_state ^= random_state << 13, random_state ^= random_state >> 7;
  random_state ^= random_state << 17;
  return low + (high - low) * (double)(random_state >> 11) / 9007199254740992.0;
}

static float *random_array(int64_t count, double low, double high) {
  float *values = malloc((size_t)count * sizeof *values);
  for (int64_t i = 0; i < count; i++)
    values[i] = (float)uniform(low, high);
  return values;
}

static float *copy_array(const float *values, int64_t count) {
  float *copy = malloc((size_t)count * sizeof *copy);
  memcpy(copy, values, (size_t)count * sizeof *copy);
  return copy;
}

/* ---- comparison ---- */

static bool close_enough(float got, float want, double absolute) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  return fabs((double)got - (double)want) <= 1e-5 * fabs((double)want) + absolute;
}

/* One check per array: passes when every element is within 1e-5 of its expected value plus
 * `absolute`, else names the first that is not. */
static void check_arrays_within(const char *label, const float *got, const float *want,
                                int64_t count, double absolute) {
  for (int64_t i = 0; i < count; i++)
    if (!close_enough(got[i], want[i], absolute)) {
      CHECK_MSG(false, "%s: element %lld is %.9g, expected %.9g", label, (long long)i,
                (double)got[i], (double)want[i]);
      return;
    }
  CHECK_MSG(true, "%s", label);
}

static void check_arrays(const char *label, const float *got, const float *want, int64_t count) {
  check_arrays_within(label, got, want, count, 1e-30);
}

static void check_identical(const char *label, const float *got, const float *want, int64_t count) {
  CHECK_MSG(memcmp(got, want, (size_t)count * sizeof *got) == 0, "%s: not bit-identical", label);
}

/* ---- kernels ---- */

static ipro_kernel_host_fn compile(ipro_generated_kernel which) {
  ipro_kernel_desc desc;
  ipro_kernel_library_describe(which, &desc);
  ipro_kernel_host_fn function = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_kernel_jit_compile(jit, &desc, &function, &err), &err);
  return function;
}

/* ---- the reference side: one node over 1-D tensors ---- */

typedef struct {
  ipro_graph *graph;
  ipro_node *node;
} reference;

/* A node of `op` whose inputs and outputs are 1-D tensors of the given sizes; the dtype of every
 * tensor is float except the inputs flagged in bool_inputs (a bit per input). */
static reference reference_node(ipro_op op, int n_inputs, const int64_t *input_sizes,
                                unsigned bool_inputs, int n_outputs, const int64_t *output_sizes) {
  reference r = {ipro_graph_create(), NULL};
  int n = ipro_graph_add_node(r.graph, ipro_op_name(op), ipro_op_name(op), n_inputs, n_outputs);
  for (int i = 0; i < n_inputs + n_outputs; i++) {
    bool is_input = i < n_inputs;
    char name[16];
    snprintf(name, sizeof name, "t%d", i);
    int t = ipro_graph_tensor(r.graph, name);
    r.graph->tensors[t].dtype =
        is_input && (bool_inputs >> i & 1) ? IPRO_DTYPE_BOOL : IPRO_DTYPE_FLOAT;
    r.graph->tensors[t].shape.rank = 1;
    r.graph->tensors[t].shape.dims[0] = is_input ? input_sizes[i] : output_sizes[i - n_inputs];
    if (is_input)
      r.graph->nodes[n].inputs[i] = t;
    else
      r.graph->nodes[n].outputs[i - n_inputs] = t;
  }
  r.node = &r.graph->nodes[n];
  r.node->op = op;
  return r;
}

static void run_reference(reference *r, void *const *inputs, void *const *outputs) {
  ipro_error err = {{0}};
  CHECK_OK(
      ipro_reference_forward_table()[r->node->op](r->graph, r->node, inputs, outputs, NULL, &err),
      &err);
  ipro_graph_free(r->graph);
}

/* A unary op (Relu, Sigmoid) against its reference kernel. */
static void check_activation(ipro_generated_kernel which, ipro_op op, const char *label, float *x) {
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  ipro_kernel_host_fn kernel = compile(which);
  if (kernel) kernel((const void *[]){x}, (void *[]){got}, NULL, COUNT, 1, COUNT, NULL);
  reference r = reference_node(op, 1, (int64_t[]){COUNT}, 0, 1, (int64_t[]){COUNT});
  run_reference(&r, (void *[]){x}, (void *[]){want});
  check_arrays(label, got, want, COUNT);
  free(got), free(want);
}

/* An activation's gradient (dY, Y → dX) against ipro.UnaryGrad. */
static void check_activation_gradient(ipro_generated_kernel which, ipro_op forward,
                                      const char *label, float *dy, float *y) {
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  ipro_kernel_host_fn kernel = compile(which);
  if (kernel) kernel((const void *[]){dy, y}, (void *[]){got}, NULL, COUNT, 1, COUNT, NULL);
  reference r =
      reference_node(IPRO_OP_UNARY_GRAD, 2, (int64_t[]){COUNT, COUNT}, 0, 1, (int64_t[]){COUNT});
  ipro_node_set_int(r.node, "forward_op", forward);
  run_reference(&r, (void *[]){dy, y}, (void *[]){want});
  check_arrays(label, got, want, COUNT);
  free(got), free(want);
}

static void test_activations(void) {
  float *x = random_array(COUNT, -100, 100);
  float edges[] = {0.0f,    -0.0f,   1e-30f, -1e-30f,  88.0f,     -88.0f,
                   -103.0f, -150.0f, 150.0f, INFINITY, -INFINITY, NAN};
  memcpy(x, edges, sizeof edges);
  check_activation(IPRO_GENERATED_RELU_FORWARD, IPRO_OP_RELU, "Relu", x);
  check_activation(IPRO_GENERATED_SIGMOID_FORWARD, IPRO_OP_SIGMOID, "Sigmoid", x);
  float *dy = random_array(COUNT, -2, 2), *y = random_array(COUNT, -1, 1);
  check_activation_gradient(IPRO_GENERATED_RELU_BACKWARD, IPRO_OP_RELU, "Relu gradient", dy, y);
  float *probabilities = random_array(COUNT, 0, 1);
  check_activation_gradient(IPRO_GENERATED_SIGMOID_BACKWARD, IPRO_OP_SIGMOID, "Sigmoid gradient",
                            dy, probabilities);
  free(x), free(dy), free(y), free(probabilities);
}

/* ---- fused chains, against C loops in float with the same order of operations ---- */

static float relu(float x) { return x > 0.0f ? x : 0.0f; }

static void test_add_relu(void) {
  float *a = random_array(COUNT, -1, 1), *b = random_array(COUNT, -1, 1);
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  for (int64_t i = 0; i < COUNT; i++)
    want[i] = relu(a[i] + b[i]);
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_ADD_RELU);
  if (kernel) kernel((const void *[]){a, b}, (void *[]){got}, NULL, COUNT, 1, COUNT, NULL);
  check_arrays("Add + Relu", got, want, COUNT);
  free(a), free(b), free(got), free(want);
}

static void test_relu_backward_sum(void) {
  float *first = random_array(COUNT, -1, 1), *y = random_array(COUNT, -1, 1);
  float *second = random_array(COUNT, -1, 1);
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  for (int64_t i = 0; i < COUNT; i++)
    want[i] = y[i] > 0.0f ? first[i] + second[i] : 0.0f;
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_RELU_BACKWARD_SUM);
  if (kernel)
    kernel((const void *[]){first, y, second}, (void *[]){got}, NULL, COUNT, 1, COUNT, NULL);
  check_arrays("Sum + Relu gradient", got, want, COUNT);
  free(first), free(y), free(second), free(got), free(want);
}

static void test_bn_apply_relu(void) {
  float *x = random_array(COUNT, -3, 3), *scale = random_array(COUNT, 0.2, 2);
  float *shift = random_array(COUNT, -1, 1);
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  for (int64_t i = 0; i < COUNT; i++) {
    float scaled = x[i] * scale[i];
    want[i] = relu(scaled + shift[i]);
  }
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_BN_APPLY_RELU);
  if (kernel)
    kernel((const void *[]){x, scale, shift}, (void *[]){got}, NULL, COUNT, 1, COUNT, NULL);
  check_arrays("BN apply + Relu, per element", got, want, COUNT);
  free(x), free(scale), free(shift), free(got), free(want);
}

/* NCHW with N = 3, C = 5, H·W = 63: the scale and shift of element (n, c, s) are those of c. */
static void test_bn_apply_relu_per_channel(void) {
  enum { N = 3, C = 5, INNER = 63, TOTAL = N * C * INNER };
  float *x = random_array(TOTAL, -3, 3), *scale = random_array(C, 0.2, 2);
  float *shift = random_array(C, -1, 1);
  float *got = calloc(TOTAL, sizeof *got), *want = calloc(TOTAL, sizeof *want);
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      for (int s = 0; s < INNER; s++) {
        int i = (n * C + c) * INNER + s;
        float scaled = x[i] * scale[c];
        want[i] = relu(scaled + shift[c]);
      }
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_BN_APPLY_RELU_CHANNEL);
  if (kernel) {
    kernel((const void *[]){x, scale, shift}, (void *[]){got}, NULL, TOTAL, C, INNER, NULL);
    check_arrays("BN apply + Relu, per channel", got, want, TOTAL);
    /* channels or inner below 1: nothing is written. */
    float untouched[4] = {7, 7, 7, 7};
    kernel((const void *[]){x, scale, shift}, (void *[]){untouched}, NULL, 4, 0, 2, NULL);
    kernel((const void *[]){x, scale, shift}, (void *[]){untouched}, NULL, 4, 2, 0, NULL);
    CHECK(untouched[0] == 7 && untouched[3] == 7);
  }
  free(x), free(scale), free(shift), free(got), free(want);
}

/* ---- losses ---- */

static void test_bce_grad(void) {
  float *p = random_array(COUNT, 0, 1), *t = random_array(COUNT, 0, 1);
  p[0] = 0.0f, p[1] = 1.0f, p[2] = 1e-7f, p[3] = 0.9999999f;
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  const float scale = 0.7f;
  float factor = (float)((double)scale / COUNT);
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_BCE_GRAD);
  if (kernel) kernel((const void *[]){p, t}, (void *[]){got}, &factor, COUNT, 1, COUNT, NULL);
  reference r = reference_node(IPRO_OP_BINARY_CROSS_ENTROPY_GRAD, 2, (int64_t[]){COUNT, COUNT}, 0,
                               1, (int64_t[]){COUNT});
  ipro_node_set_float(r.node, "scale", scale);
  run_reference(&r, (void *[]){p, t}, (void *[]){want});
  check_arrays("BinaryCrossEntropyGrad", got, want, COUNT);
  free(p), free(t), free(got), free(want);
}

/* The terms against libm in double; their mean against the reference BinaryCrossEntropy. */
static void test_bce_loss_terms(void) {
  float *p = random_array(COUNT, 0.02, 0.98), *t = random_array(COUNT, 0, 1);
  p[0] = 0.0f, t[0] = 1.0f; /* log 0 floored at −100 */
  p[1] = 1.0f, t[1] = 0.0f;
  p[2] = 0.0f, t[2] = 0.0f;
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  for (int64_t i = 0; i < COUNT; i++) {
    double log_p = fmax(log((double)p[i]), -100.0), log_q = fmax(log(1.0 - (double)p[i]), -100.0);
    want[i] = (float)-(t[i] * log_p + (1.0 - t[i]) * log_q);
  }
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_BCE_LOSS_TERMS);
  if (kernel) kernel((const void *[]){p, t}, (void *[]){got}, NULL, COUNT, 1, COUNT, NULL);
  check_arrays("BCE loss terms", got, want, COUNT);
  double total = 0.0;
  for (int64_t i = 0; i < COUNT; i++)
    total += got[i];
  float loss = 0.0f;
  reference r = reference_node(IPRO_OP_BINARY_CROSS_ENTROPY, 2, (int64_t[]){COUNT, COUNT}, 0, 1,
                               (int64_t[]){1});
  run_reference(&r, (void *[]){p, t}, (void *[]){&loss});
  check_arrays("BCE loss terms: mean", (float[]){(float)(total / COUNT)}, &loss, 1);
  free(p), free(t), free(got), free(want);
}

static void test_dropout_grad(void) {
  const float ratio = 0.3f;
  float *dy = random_array(COUNT, -2, 2);
  bool *mask = malloc(COUNT * sizeof *mask);
  for (int64_t i = 0; i < COUNT; i++)
    mask[i] = uniform(0, 1) >= ratio;
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  float scale = 1.0f / (1.0f - ratio);
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_DROPOUT_GRAD);
  if (kernel) kernel((const void *[]){dy, mask}, (void *[]){got}, &scale, COUNT, 1, COUNT, NULL);
  reference r = reference_node(IPRO_OP_DROPOUT_GRAD, 2, (int64_t[]){COUNT, COUNT}, 1u << 1, 1,
                               (int64_t[]){COUNT});
  ipro_node_set_float(r.node, "ratio", ratio);
  run_reference(&r, (void *[]){dy, mask}, (void *[]){want});
  check_arrays("DropoutGrad", got, want, COUNT);
  free(dy), free(mask), free(got), free(want);
}

/* ---- optimizer updates: two steps in place, against the reference kernels ---- */

static void test_sgd_update(bool nesterov) {
  float *param = random_array(COUNT, -1, 1), *velocity = calloc(COUNT, sizeof *velocity);
  float *param_ref = copy_array(param, COUNT), *velocity_ref = copy_array(velocity, COUNT);
  float hyper[4] = {0.05f, 0.9f, 5e-4f, nesterov ? 1.0f : 0.0f};
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_SGD_UPDATE);
  for (int step = 0; step < 2 && kernel; step++) {
    float *grad = random_array(COUNT, -1, 1);
    /* outputs[] are the in-place buffers; the kernel writes through the input pointers. */
    kernel((const void *[]){param, grad, velocity}, (void *[]){param, velocity}, hyper, COUNT, 1,
           COUNT, NULL);
    reference r =
        reference_node(IPRO_OP_SGD_UPDATE, 4, (int64_t[]){COUNT, COUNT, COUNT, 4}, 0, 0, NULL);
    run_reference(&r, (void *[]){param_ref, grad, velocity_ref, hyper}, NULL);
    free(grad);
  }
  const char *label = nesterov ? "SgdUpdate (Nesterov)" : "SgdUpdate";
  check_identical(label, param, param_ref, COUNT);
  check_identical(label, velocity, velocity_ref, COUNT);
  free(param), free(velocity), free(param_ref), free(velocity_ref);
}

static void test_adam_update(void) {
  float *param = random_array(COUNT, -1, 1), *m = random_array(COUNT, -0.1, 0.1);
  float *v = random_array(COUNT, 0, 0.01);
  float *param_ref = copy_array(param, COUNT), *m_ref = copy_array(m, COUNT);
  float *v_ref = copy_array(v, COUNT);
  const double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight_decay = 0.01;
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_ADAM_UPDATE);
  for (int step = 3; step <= 4 && kernel; step++) {
    float *grad = random_array(COUNT, -1, 1);
    float params[7] = {(float)lr,
                       (float)beta1,
                       (float)beta2,
                       (float)epsilon,
                       (float)weight_decay,
                       (float)(1.0 - pow(beta1, step)),
                       (float)(1.0 - pow(beta2, step))};
    kernel((const void *[]){param, grad, m, v}, (void *[]){param, m, v}, params, COUNT, 1, COUNT,
           NULL);
    float hyper[6] = {(float)lr,      (float)beta1,        (float)beta2,
                      (float)epsilon, (float)weight_decay, (float)step};
    reference r = reference_node(IPRO_OP_ADAM_UPDATE, 5, (int64_t[]){COUNT, COUNT, COUNT, COUNT, 6},
                                 0, 0, NULL);
    run_reference(&r, (void *[]){param_ref, grad, m_ref, v_ref, hyper}, NULL);
    free(grad);
  }
  /* A parameter the steps carry to near zero keeps the rounding of the values it was computed
   * from (about 1), not of its own size: within 1e-5 of a step (lr) besides the relative 1e-5. */
  check_arrays_within("AdamUpdate: param", param, param_ref, COUNT, 1e-5 * lr);
  check_arrays("AdamUpdate: m", m, m_ref, COUNT);
  check_arrays("AdamUpdate: v", v, v_ref, COUNT);
  free(param), free(m), free(v), free(param_ref), free(m_ref), free(v_ref);
}

/* ---- exp and log against libm ---- */

/* Distance in units in the last place, across zero and into the subnormals. */
static int64_t ulps(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, 4), memcpy(&ib, &b, 4);
  int64_t la = ia < 0 ? (int64_t)INT32_MIN - ia : ia, lb = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
  return la > lb ? la - lb : lb - la;
}

static void check_function(ipro_kernel_op op, const char *label, float (*libm)(float),
                           const float *x, int64_t count) {
  ipro_kernel_desc desc;
  ipro_kernel_desc_init(&desc, label, IPRO_KERNEL_FLOAT);
  int in = ipro_kernel_load(&desc, ipro_kernel_add_input(&desc, IPRO_KERNEL_ELEMENT));
  ipro_kernel_add_output(&desc, ipro_kernel_unary(&desc, op, in));
  ipro_kernel_host_fn kernel = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_kernel_jit_compile(jit, &desc, &kernel, &err), &err);
  if (!kernel) return;
  float *got = calloc((size_t)count, sizeof *got);
  kernel((const void *[]){x}, (void *[]){got}, NULL, count, 1, count, NULL);
  int64_t worst = 0, worst_at = 0;
  for (int64_t i = 0; i < count; i++) {
    float want = libm(x[i]);
    int64_t distance = isnan(want) ? (isnan(got[i]) ? 0 : INT64_MAX) : ulps(got[i], want);
    if (distance > worst) worst = distance, worst_at = i;
  }
  CHECK_MSG(worst <= 2, "%s: %lld ulps from libm at x = %.9g (%.9g vs %.9g)", label,
            (long long)worst, (double)x[worst_at], (double)got[worst_at],
            (double)libm(x[worst_at]));
  free(got);
}

static void test_exp_and_log(void) {
  enum { SWEEP = 200000 };
  float *x = malloc((SWEEP + 16) * sizeof *x);
  for (int i = 0; i < SWEEP; i++)
    x[i] = -110.0f + 200.0f * (float)i / SWEEP;
  float specials[] = {0.0f,    -0.0f,    INFINITY, -INFINITY, NAN,     88.72f, 88.73f, -87.4f,
                      -103.2f, -103.97f, 1e-30f,   -1e-30f,   3.4e38f, 1.0f,   -1.0f,  0.5f};
  memcpy(x + SWEEP, specials, sizeof specials);
  check_function(IPRO_KERNEL_EXP, "exp", expf, x, SWEEP + 16);
  /* log over positive floats spread by exponent: subnormals to the largest finite value. */
  for (int i = 0; i < SWEEP; i++) {
    uint32_t bits = (uint32_t)((uint64_t)i * 0x7f7fffffull / SWEEP);
    memcpy(&x[i], &bits, 4);
  }
  float log_specials[] = {
      0.0f,        -0.0f,  INFINITY,        -INFINITY,   NAN,         -1.0f,
      1.0f,        1e-45f, 1.17549435e-38f, 0.70710677f, 0.70710683f, 1.0000001f,
      0.99999994f, 2.0f,   3.4e38f,         0.5f};
  memcpy(x + SWEEP, log_specials, sizeof log_specials);
  check_function(IPRO_KERNEL_LOG, "log", logf, x, SWEEP + 16);
  free(x);
}

/* ---- the CUDA backend's element-wise ops and Dropout: bit for bit against the reference ---- */

/* A tensor's shape set after reference_node made it 1-D. */
static void set_shape(reference *r, int tensor, const int64_t *dims, int rank) {
  ipro_shape *shape = &r->graph->tensors[tensor].shape;
  shape->rank = rank;
  for (int d = 0; d < rank; d++)
    shape->dims[d] = dims[d];
}

/* The float inputs every activation check reads: random values with the kinks, the bounds of
 * HardSigmoid and HardSwish, signed zeros, infinities and NaN at the front. */
static float *activation_inputs(void) {
  float *x = random_array(COUNT, -8, 8);
  float edges[] = {0.0f,    -0.0f, 3.0f,     -3.0f,     2.5f, -2.5f,  1e-30f,
                   -1e-30f, 1e30f, INFINITY, -INFINITY, NAN,  -100.0f};
  memcpy(x, edges, sizeof edges);
  return x;
}

/* which(x; params) against the reference kernel of `op` with attributes alpha and beta (names
 * NULL where the op has none). */
static void check_forward_exact(ipro_generated_kernel which, ipro_op op, const char *label,
                                const float *x, const float *params, const char *alpha_name,
                                const char *beta_name) {
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  ipro_kernel_host_fn kernel = compile(which);
  if (kernel) kernel((const void *[]){x}, (void *[]){got}, params, COUNT, 1, COUNT, NULL);
  reference r = reference_node(op, 1, (int64_t[]){COUNT}, 0, 1, (int64_t[]){COUNT});
  if (alpha_name) ipro_node_set_float(r.node, alpha_name, params[0]);
  if (beta_name) ipro_node_set_float(r.node, beta_name, params[1]);
  run_reference(&r, (void *[]){(void *)x}, (void *[]){want});
  check_identical(label, got, want, COUNT);
  free(got), free(want);
}

/* which(dY, T; params) against ipro.UnaryGrad of `forward` with the same attributes. */
static void check_gradient_exact(ipro_generated_kernel which, ipro_op forward, const char *label,
                                 const float *dy, const float *t, const float *params,
                                 const char *alpha_name, const char *beta_name) {
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  ipro_kernel_host_fn kernel = compile(which);
  if (kernel) kernel((const void *[]){dy, t}, (void *[]){got}, params, COUNT, 1, COUNT, NULL);
  reference r =
      reference_node(IPRO_OP_UNARY_GRAD, 2, (int64_t[]){COUNT, COUNT}, 0, 1, (int64_t[]){COUNT});
  ipro_node_set_int(r.node, "forward_op", forward);
  if (alpha_name) ipro_node_set_float(r.node, alpha_name, params[0]);
  if (beta_name) ipro_node_set_float(r.node, beta_name, params[1]);
  run_reference(&r, (void *[]){(void *)dy, (void *)t}, (void *[]){want});
  check_identical(label, got, want, COUNT);
  free(got), free(want);
}

static void test_cuda_activations(void) {
  float *x = activation_inputs(), *dy = random_array(COUNT, -2, 2);
  dy[0] = INFINITY, dy[1] = -1.5f, dy[2] = NAN; /* dY · 0 keeps the reference's NaN and sign */
  float *y = random_array(COUNT, -1, 1);
  const float leaky[1] = {0.1f}, hard_sigmoid[2] = {0.2f, 0.5f}, steep[2] = {1.7f, -0.3f};
  check_forward_exact(IPRO_GENERATED_LEAKY_RELU_FORWARD, IPRO_OP_LEAKY_RELU, "LeakyRelu", x, leaky,
                      "alpha", NULL);
  check_gradient_exact(IPRO_GENERATED_LEAKY_RELU_BACKWARD, IPRO_OP_LEAKY_RELU, "LeakyRelu gradient",
                       dy, x, leaky, "alpha", NULL);
  check_forward_exact(IPRO_GENERATED_HARD_SIGMOID_FORWARD, IPRO_OP_HARD_SIGMOID, "HardSigmoid", x,
                      hard_sigmoid, "alpha", "beta");
  check_forward_exact(IPRO_GENERATED_HARD_SIGMOID_FORWARD, IPRO_OP_HARD_SIGMOID,
                      "HardSigmoid (alpha 1.7, beta -0.3)", x, steep, "alpha", "beta");
  check_gradient_exact(IPRO_GENERATED_HARD_SIGMOID_BACKWARD, IPRO_OP_HARD_SIGMOID,
                       "HardSigmoid gradient", dy, x, hard_sigmoid, "alpha", "beta");
  check_gradient_exact(IPRO_GENERATED_HARD_SIGMOID_BACKWARD, IPRO_OP_HARD_SIGMOID,
                       "HardSigmoid gradient (alpha 1.7, beta -0.3)", dy, x, steep, "alpha",
                       "beta");
  check_forward_exact(IPRO_GENERATED_HARD_SWISH_FORWARD, IPRO_OP_HARD_SWISH, "HardSwish", x, NULL,
                      NULL, NULL);
  check_gradient_exact(IPRO_GENERATED_HARD_SWISH_BACKWARD, IPRO_OP_HARD_SWISH, "HardSwish gradient",
                       dy, x, NULL, NULL, NULL);
  check_gradient_exact(IPRO_GENERATED_TANH_BACKWARD, IPRO_OP_TANH, "Tanh gradient", dy, y, NULL,
                       NULL, NULL);
  /* Sqrt's gradient reads its output, Reciprocal's its input; x holds zeros, infinities, NaN and
   * negatives (Sqrt's NaN) */
  float *root = random_array(COUNT, 0, 4);
  check_forward_exact(IPRO_GENERATED_SQRT_FORWARD, IPRO_OP_SQRT, "Sqrt", x, NULL, NULL, NULL);
  check_gradient_exact(IPRO_GENERATED_SQRT_BACKWARD, IPRO_OP_SQRT, "Sqrt gradient", dy, root, NULL,
                       NULL, NULL);
  check_forward_exact(IPRO_GENERATED_RECIPROCAL_FORWARD, IPRO_OP_RECIPROCAL, "Reciprocal", x, NULL,
                      NULL, NULL);
  check_gradient_exact(IPRO_GENERATED_RECIPROCAL_BACKWARD, IPRO_OP_RECIPROCAL,
                       "Reciprocal gradient", dy, x, NULL, NULL, NULL);
  free(root);
  free(x), free(dy), free(y);
}

/* Div: a [2, 3, 4, 5] over b of the same shape, b per channel [1, 3, 1, 1] (channels 3, inner 20),
 * and a per row [6, 1] over b [6, 20] (channels 6, inner 20); zeros, infinities and NaN included.
 */
static void test_div(void) {
  enum { TOTAL = 120 };
  float *a = random_array(TOTAL, -10, 10), *b = random_array(TOTAL, -3, 3);
  float specials[] = {0.0f, -0.0f, INFINITY, NAN, 1e-38f, 3e38f};
  memcpy(a, specials, sizeof specials);
  memcpy(b + 3, specials, sizeof specials);
  float got[TOTAL], want[TOTAL];
  const int64_t nchw[4] = {2, 3, 4, 5}, per_channel[4] = {1, 3, 1, 1};
  const int64_t rows[2] = {6, 1}, matrix[2] = {6, 20};
  struct {
    ipro_generated_kernel which;
    const char *label;
    const int64_t *a_dims, *b_dims;
    int rank;
    int64_t a_count, b_count, channels, inner;
  } cases[] = {
      {IPRO_GENERATED_DIV, "Div", nchw, nchw, 4, TOTAL, TOTAL, 1, TOTAL},
      {IPRO_GENERATED_DIV_CHANNEL_DIVISOR, "Div, divisor per channel", nchw, per_channel, 4, TOTAL,
       3, 3, 20},
      {IPRO_GENERATED_DIV_CHANNEL_DIVIDEND, "Div, dividend per row", rows, matrix, 2, 6, TOTAL, 6,
       20},
  };
  for (int c = 0; c < 3; c++) {
    ipro_kernel_host_fn kernel = compile(cases[c].which);
    if (kernel)
      kernel((const void *[]){a, b}, (void *[]){got}, NULL, TOTAL, cases[c].channels,
             cases[c].inner, NULL);
    reference r = reference_node(IPRO_OP_DIV, 2, (int64_t[]){cases[c].a_count, cases[c].b_count}, 0,
                                 1, (int64_t[]){TOTAL});
    set_shape(&r, r.node->inputs[0], cases[c].a_dims, cases[c].rank);
    set_shape(&r, r.node->inputs[1], cases[c].b_dims, cases[c].rank);
    set_shape(&r, r.node->outputs[0], cases[c].a_count == TOTAL ? cases[c].a_dims : cases[c].b_dims,
              cases[c].rank);
    run_reference(&r, (void *[]){a, b}, (void *[]){want});
    check_identical(cases[c].label, got, want, TOTAL);
  }
  free(a), free(b);
}

/* COUNTER_UNIFORM alone, in float, against ipro_reference_dropout_uniform. */
static void test_counter_uniform(void) {
  ipro_kernel_desc desc;
  ipro_kernel_desc_init(&desc, "counter_uniform", IPRO_KERNEL_FLOAT);
  ipro_kernel_add_output(&desc, ipro_kernel_counter_uniform(&desc, 0));
  ipro_kernel_host_fn kernel = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_kernel_jit_compile(jit, &desc, &kernel, &err), &err);
  if (!kernel) return;
  const uint64_t streams[3][2] = {{0, 0}, {0, 1}, {UINT64_MAX, UINT64_C(0x123456789abcdef0)}};
  float *got = calloc(COUNT, sizeof *got), *want = calloc(COUNT, sizeof *want);
  for (int s = 0; s < 3; s++) {
    kernel((const void *[]){NULL}, (void *[]){got}, NULL, COUNT, 1, COUNT, streams[s]);
    for (int64_t i = 0; i < COUNT; i++)
      want[i] = ipro_reference_dropout_uniform(streams[s][0], streams[s][1], (uint64_t)i);
    check_identical("counter_uniform", got, want, COUNT);
  }
  free(got), free(want);
}

/* dropout_forward against the reference Dropout in training mode: Y and the mask bit for bit. */
static void test_dropout_forward(void) {
  float *x = activation_inputs(), *got = calloc(COUNT, sizeof *got);
  float *want = calloc(COUNT, sizeof *want);
  bool *mask = calloc(COUNT, sizeof *mask), *want_mask = calloc(COUNT, sizeof *want_mask);
  ipro_kernel_host_fn kernel = compile(IPRO_GENERATED_DROPOUT_FORWARD);
  const float ratios[4] = {0.5f, 0.3f, 0.0f, 0.9f};
  const uint64_t steps[4] = {0, 1, 7, UINT64_C(1) << 40};
  for (int c = 0; c < 4 && kernel; c++) {
    ipro_kernel_context context = {.seed = c == 3 ? UINT64_C(0xdeadbeefcafe) : 0, .step = steps[c]};
    reference r =
        reference_node(IPRO_OP_DROPOUT, 1, (int64_t[]){COUNT}, 0, 2, (int64_t[]){COUNT, COUNT});
    /* the reference draws from the context's seed xor the node's stream, as the backends hand
     * the generated kernel */
    const uint64_t integers[2] = {context.seed ^ ipro_node_random_stream(r.node), context.step};
    memset(mask, 7, COUNT);
    kernel((const void *[]){x}, (void *[]){got, mask}, &ratios[c], COUNT, 1, COUNT, integers);
    r.graph->tensors[r.node->outputs[1]].dtype = IPRO_DTYPE_BOOL;
    ipro_node_set_float(r.node, "ratio", ratios[c]);
    ipro_node_set_int(r.node, "training_mode", 1);
    ipro_error err = {{0}};
    CHECK_OK(ipro_reference_forward_table()[IPRO_OP_DROPOUT](
                 r.graph, r.node, (void *[]){x}, (void *[]){want, want_mask}, &context, &err),
             &err);
    ipro_graph_free(r.graph);
    char label[64];
    snprintf(label, sizeof label, "Dropout ratio %g step %llu: Y", (double)ratios[c],
             (unsigned long long)steps[c]);
    check_identical(label, got, want, COUNT);
    CHECK_MSG(memcmp(mask, want_mask, COUNT) == 0, "Dropout ratio %g: the mask differs",
              (double)ratios[c]);
  }
  free(x), free(got), free(want), free(mask), free(want_mask);
}

/* ---- counts, repeated compilation, objects, errors ---- */

/* count 0 writes nothing; small counts stop at count (the scalar tail alone). */
static void test_counts(void) {
  ipro_kernel_host_fn first = compile(IPRO_GENERATED_RELU_FORWARD);
  ipro_kernel_host_fn second = compile(IPRO_GENERATED_RELU_FORWARD);
  CHECK(first && second && first != second);
  if (!first) return;
  float x[8] = {-1, 2, -3, 4, -5, 6, -7, 8}, y[8];
  for (int count = 0; count <= 7; count++) {
    for (int i = 0; i < 8; i++)
      y[i] = 99.0f;
    first((const void *[]){x}, (void *[]){y}, NULL, count, 1, count, NULL);
    bool ok = true;
    for (int i = 0; i < 8; i++)
      ok = ok && y[i] == (i < count ? relu(x[i]) : 99.0f);
    CHECK_MSG(ok, "Relu over %d elements writes exactly those", count);
  }
}

static void test_host_object(void) {
  ipro_kernel_desc descs[IPRO_GENERATED_COUNT];
  for (int k = 0; k < IPRO_GENERATED_COUNT; k++)
    ipro_kernel_library_describe((ipro_generated_kernel)k, &descs[k]);
  void *bytes = NULL;
  size_t size = 0;
  ipro_error err = {{0}};
  CHECK_OK(
      ipro_kernel_emit_host_object(descs, IPRO_GENERATED_COUNT, "x86-64-v2", &bytes, &size, &err),
      &err);
  CHECK(bytes && size > 64 &&
        memcmp(bytes,
               "\x7f"
               "ELF",
               4) == 0);
  free(bytes);
}

static void check_rejected(const ipro_kernel_desc *desc, const char *expected) {
  ipro_kernel_host_fn kernel = NULL;
  ipro_error err = {{0}};
  CHECK(ipro_kernel_jit_compile(jit, desc, &kernel, &err) == IPRO_ERROR && !kernel);
  CHECK_MSG(strstr(err.message, expected) != NULL, "'%s' does not say '%s'", err.message, expected);
}

static void test_bad_descriptions(void) {
  ipro_kernel_desc desc;
  ipro_kernel_desc_init(&desc, "no_outputs", IPRO_KERNEL_FLOAT);
  ipro_kernel_load(&desc, ipro_kernel_add_input(&desc, IPRO_KERNEL_ELEMENT));
  check_rejected(&desc, "0 outputs");

  ipro_kernel_desc_init(&desc, "forward_reference", IPRO_KERNEL_FLOAT);
  int x = ipro_kernel_load(&desc, ipro_kernel_add_input(&desc, IPRO_KERNEL_ELEMENT));
  int sum = ipro_kernel_binary(&desc, IPRO_KERNEL_ADD, x, x);
  desc.nodes[sum].operands[1] = sum + 1;
  ipro_kernel_add_output(&desc, sum);
  check_rejected(&desc, "not an earlier one");

  ipro_kernel_desc_init(&desc, "2bad", IPRO_KERNEL_FLOAT);
  ipro_kernel_add_output(&desc, ipro_kernel_constant(&desc, 1.0));
  check_rejected(&desc, "not a C identifier");

  ipro_kernel_desc_init(&desc, "in_place_channel", IPRO_KERNEL_FLOAT);
  int c = ipro_kernel_add_input(&desc, IPRO_KERNEL_CHANNEL);
  ipro_kernel_add_output_in_place(&desc, ipro_kernel_load(&desc, c), c);
  check_rejected(&desc, "not an element input");

  ipro_kernel_desc_init(&desc, "counter_without_integers", IPRO_KERNEL_FLOAT);
  int u = ipro_kernel_counter_uniform(&desc, 0);
  desc.integer_count = 1;
  ipro_kernel_add_output(&desc, u);
  check_rejected(&desc, "reads integer parameters 0 and 1 of 1");

  ipro_kernel_desc_init(&desc, "mask_in_place", IPRO_KERNEL_FLOAT);
  int e = ipro_kernel_add_input(&desc, IPRO_KERNEL_ELEMENT);
  ipro_kernel_add_mask_output(&desc, ipro_kernel_load(&desc, e));
  desc.in_place[0] = e;
  check_rejected(&desc, "or is a mask");
}

/* ---- the CUDA backend's building blocks, against the formulas written out in C ---- */

static void test_cuda_building_blocks(void) {
  enum { ROWS = 7, COLUMNS = 5 };
  const int64_t n = ROWS * COLUMNS;
  float *x = random_array(n, -8, 8), *y = random_array(n, -1, 1), *z = random_array(n, -1, 1);
  float got[ROWS * COLUMNS], got2[ROWS * COLUMNS], want[ROWS * COLUMNS], want2[ROWS * COLUMNS];
  float bounds[2] = {0.0f, 6.0f};
  ipro_kernel_host_fn k = compile(IPRO_GENERATED_CLIP_FORWARD);
  if (k) k((const void *[]){x}, (void *[]){got}, bounds, n, 1, n, NULL);
  for (int64_t i = 0; i < n; i++)
    want[i] = fminf(fmaxf(x[i], 0.0f), 6.0f);
  check_arrays("clip_forward", got, want, n);
  x[0] = 0.0f, x[1] = 6.0f; /* the bounds themselves pass no gradient */
  k = compile(IPRO_GENERATED_CLIP_BACKWARD);
  if (k) k((const void *[]){y, x}, (void *[]){got}, bounds, n, 1, n, NULL);
  for (int64_t i = 0; i < n; i++)
    want[i] = x[i] > 0.0f && x[i] < 6.0f ? y[i] : 0.0f;
  check_arrays("clip_backward", got, want, n);

  int64_t labels[ROWS] = {3, -1, 0, 7, 3, 16777215, 2};
  float as_float[ROWS], labels_float[ROWS];
  k = compile(IPRO_GENERATED_LABELS_TO_FLOAT);
  if (k) k((const void *[]){labels}, (void *[]){as_float}, NULL, ROWS, 1, ROWS, NULL);
  for (int r = 0; r < ROWS; r++)
    labels_float[r] = (float)labels[r];
  check_arrays("labels_to_float", as_float, labels_float, ROWS);
  float classes[ROWS * COLUMNS];
  for (int64_t i = 0; i < n; i++)
    classes[i] = (float)(i % COLUMNS);
  k = compile(IPRO_GENERATED_EQUAL_MASK); /* one-hot rows: channels ROWS, inner COLUMNS */
  if (k) k((const void *[]){labels_float, classes}, (void *[]){got}, NULL, n, ROWS, COLUMNS, NULL);
  for (int64_t i = 0; i < n; i++)
    want[i] = labels[i / COLUMNS] == i % COLUMNS ? 1.0f : 0.0f;
  check_arrays("equal_mask", got, want, n);

  float norms[ROWS] = {0.5f, 1e-13f, 2.0f, 0.0f, 3.0f, 1.0f, 7.0f};
  k = compile(IPRO_GENERATED_NORMALIZE_ROWS);
  if (k) k((const void *[]){x, norms}, (void *[]){got}, NULL, n, ROWS, COLUMNS, NULL);
  for (int64_t i = 0; i < n; i++)
    want[i] = x[i] / fmaxf(norms[i / COLUMNS], 1e-12f);
  check_arrays("normalize_rows", got, want, n);
  float counts[ROWS * COLUMNS];
  for (int64_t i = 0; i < n; i++)
    counts[i] = (float)(i % 4);
  k = compile(IPRO_GENERATED_RATIO_FLOOR_ONE);
  if (k) k((const void *[]){x, counts}, (void *[]){got}, NULL, n, 1, n, NULL);
  for (int64_t i = 0; i < n; i++)
    want[i] = x[i] / fmaxf(counts[i], 1.0f);
  check_arrays("ratio_floor_one", got, want, n);

  float row_counts[ROWS] = {0, 1, 2, 3, 0, 5, 6};
  k = compile(IPRO_GENERATED_SUP_CON_SIMILARITY_GRAD);
  if (k) k((const void *[]){y, z, row_counts}, (void *[]){got}, NULL, n, ROWS, COLUMNS, NULL);
  for (int64_t i = 0; i < n; i++) {
    float c = row_counts[i / COLUMNS];
    want[i] = c > 0 ? y[i] - z[i] / c : 0.0f;
  }
  check_arrays("sup_con_similarity_grad", got, want, n);
  float radial[ROWS] = {0.5f, -1.0f, 2.0f, 0.25f, 3.0f, 1.0f, -2.0f};
  k = compile(IPRO_GENERATED_SUP_CON_FEATURES_GRAD);
  if (k) k((const void *[]){x, y, radial, norms}, (void *[]){got}, NULL, n, ROWS, COLUMNS, NULL);
  for (int64_t i = 0; i < n; i++) {
    float norm = norms[i / COLUMNS], kept = norm > 1e-12f ? radial[i / COLUMNS] : 0.0f;
    want[i] = (x[i] - kept * y[i]) / fmaxf(norm, 1e-12f);
  }
  check_arrays("sup_con_features_grad", got, want, n);

  float hyper[6] = {1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, 7.0f};
  k = compile(IPRO_GENERATED_ADAM_BIAS_CORRECTIONS);
  if (k) k((const void *[]){NULL}, (void *[]){got, got2}, hyper, 1, 1, 1, NULL);
  want[0] = (float)(1.0 - pow(0.9f, 7.0)), want2[0] = (float)(1.0 - pow(0.999f, 7.0));
  CHECK_MSG(fabs(got[0] - want[0]) <= 1e-5 * want[0] && fabs(got2[0] - want2[0]) <= 1e-4 * want2[0],
            "adam_bias_corrections: %.9g %.9g, expected %.9g %.9g", got[0], got2[0], want[0],
            want2[0]);
  free(x), free(y), free(z);
}

int main(void) {
  ipro_error err = {{0}};
  CHECK_OK(ipro_kernel_jit_create(&jit, &err), &err);
  if (!jit) return ipro_test_finish();
  test_activations();
  test_add_relu();
  test_relu_backward_sum();
  test_bn_apply_relu();
  test_bn_apply_relu_per_channel();
  test_bce_grad();
  test_bce_loss_terms();
  test_dropout_grad();
  test_sgd_update(false);
  test_sgd_update(true);
  test_adam_update();
  test_cuda_building_blocks();
  test_cuda_activations();
  test_div();
  test_counter_uniform();
  test_dropout_forward();
  test_exp_and_log();
  test_counts();
  test_host_object();
  test_bad_descriptions();
  ipro_kernel_jit_destroy(jit);
  return ipro_test_finish();
}
