/* Checks of the reference kernels that change training state rather than compute a gradient:
 * the optimizer steps ipro.SgdUpdate and ipro.AdamUpdate (two steps each, in place), the
 * training-program form of BatchNormalization (running statistics updated in place, with the
 * unbiased batch variance), and SoftmaxCrossEntropyLoss on what the ONNX node tests leave out
 * (int32 labels, weights together with ignore_index in one small case, a label out of range).
 *
 * Every expected value comes from a re-derivation written here in double: the optimizers follow
 * the structure of PyTorch's torch.optim.SGD and AdamW step code (a momentum buffer created by
 * cloning the first gradient, bias corrections as step_size and denominator), not the kernel's
 * closed forms, so the two agree only if the kernel is PyTorch's update. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "ir/graph.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/support/check.h"
#include "tests/support/tensor_checks.h"

#define COUNT 6

/* |got - want| <= 1e-6 (1 + |want|): the kernel rounds its state to float32 once per step. */
#define CHECK_CLOSE(got, want, ...)                                                                \
  do {                                                                                             \
    double close_g_ = (double)(got), close_w_ = (double)(want);                                    \
    ipro_test_record(fabs(close_g_ - close_w_) <= 1e-6 * (1.0 + fabs(close_w_)), __FILE__,         \
                     __LINE__, __VA_ARGS__);                                                       \
  } while (0)

static int add_node(ipro_graph *graph, ipro_op op, int n_inputs, const int *inputs, int n_outputs,
                    const int *outputs) {
  int n = ipro_graph_add_node(graph, ipro_op_name(op), ipro_op_name(op), n_inputs, n_outputs);
  graph->nodes[n].op = op;
  for (int i = 0; i < n_inputs; i++)
    graph->nodes[n].inputs[i] = inputs[i];
  for (int i = 0; i < n_outputs; i++)
    graph->nodes[n].outputs[i] = outputs[i];
  return n;
}

static ipro_status run_kernel(const ipro_graph *graph, int n, void *const *inputs,
                              void *const *outputs, ipro_error *err) {
  const ipro_node *node = &graph->nodes[n];
  return ipro_reference_forward_table()[node->op](graph, node, inputs, outputs, NULL, err);
}

static const float initial_param[COUNT] = {0.8f, -1.2f, 0.05f, 2.0f, -0.3f, 0.0f};
static const float gradients[2][COUNT] = {{0.3f, -0.7f, 1.5f, -0.02f, 0.0f, 0.9f},
                                          {-0.4f, -0.1f, 0.6f, 0.25f, -1.1f, 0.2f}};

/* ---- SGD ---- */

typedef struct {
  double lr, momentum, weight_decay;
  bool nesterov;
} sgd_settings;

/* torch.optim.SGD's step for one tensor, dampening 0; *buffer_exists plays momentum_buffer None. */
static void sgd_expected(const sgd_settings *s, double *param, const float *grad, double *buffer,
                         bool *buffer_exists) {
  for (int i = 0; i < COUNT; i++) {
    double d_p = grad[i];
    if (s->weight_decay != 0) d_p = d_p + s->weight_decay * param[i];
    if (s->momentum != 0) {
      if (!*buffer_exists)
        buffer[i] = d_p;
      else
        buffer[i] = buffer[i] * s->momentum + d_p;
      d_p = s->nesterov ? d_p + s->momentum * buffer[i] : buffer[i];
    }
    param[i] = param[i] - s->lr * d_p;
  }
  *buffer_exists = true;
}

static void check_sgd(const sgd_settings *s, int hyper_count) {
  ipro_graph *graph = ipro_graph_create();
  const int64_t dims[1] = {COUNT}, hyper_dims[1] = {hyper_count};
  int p = ipro_test_add_tensor(graph, "param", IPRO_DTYPE_FLOAT, 1, dims);
  int g = ipro_test_add_tensor(graph, "grad", IPRO_DTYPE_FLOAT, 1, dims);
  int v = ipro_test_add_tensor(graph, "velocity", IPRO_DTYPE_FLOAT, 1, dims);
  int h = ipro_test_add_tensor(graph, "hyper", IPRO_DTYPE_FLOAT, 1, hyper_dims);
  int n = add_node(graph, IPRO_OP_SGD_UPDATE, 4, (int[]){p, g, v, h}, 0, NULL);
  float param[COUNT], grad[COUNT], velocity[COUNT] = {0};
  float hyper[6] = {
      (float)s->lr, (float)s->momentum, (float)s->weight_decay, s->nesterov ? 1.0f : 0.0f, 0.0f,
      0.0f};
  double expected[COUNT], buffer[COUNT];
  bool buffer_exists = false;
  memcpy(param, initial_param, sizeof param);
  for (int i = 0; i < COUNT; i++)
    expected[i] = initial_param[i];
  ipro_error err = {{0}};
  for (int step = 0; step < 2; step++) {
    memcpy(grad, gradients[step], sizeof grad);
    CHECK_OK(run_kernel(graph, n, (void *[]){param, grad, velocity, hyper}, NULL, &err), &err);
    sgd_expected(s, expected, gradients[step], buffer, &buffer_exists);
    for (int i = 0; i < COUNT; i++) {
      CHECK_CLOSE(param[i], expected[i],
                  "SGD momentum %g nesterov %d step %d: param[%d] %.9g, expected %.9g", s->momentum,
                  s->nesterov, step + 1, i, (double)param[i], expected[i]);
      if (s->momentum != 0)
        CHECK_CLOSE(velocity[i], buffer[i], "SGD step %d: velocity[%d] %.9g, expected %.9g",
                    step + 1, i, (double)velocity[i], buffer[i]);
      CHECK(grad[i] == gradients[step][i]); /* the gradient is read only */
    }
  }
  ipro_graph_free(graph);
}

static void test_sgd_update(void) {
  check_sgd(&(sgd_settings){0.1, 0.9, 0.01, false}, 4);
  check_sgd(&(sgd_settings){0.1, 0.9, 0.01, true}, 4);
  check_sgd(&(sgd_settings){0.05, 0.0, 0.0, false}, 4);
  /* The training program hands SGD the optimizers' common six-value tensor. */
  check_sgd(&(sgd_settings){0.1, 0.8, 0.001, true}, 6);
}

/* ---- AdamW ---- */

typedef struct {
  double lr, beta1, beta2, epsilon, weight_decay;
} adam_settings;

/* torch.optim.AdamW's single-tensor step (amsgrad off, maximize off). */
static void adam_expected(const adam_settings *s, int step, double *param, const float *grad,
                          double *exp_avg, double *exp_avg_sq) {
  for (int i = 0; i < COUNT; i++) {
    param[i] *= 1 - s->lr * s->weight_decay;
    exp_avg[i] += (grad[i] - exp_avg[i]) * (1 - s->beta1); /* lerp */
    exp_avg_sq[i] = exp_avg_sq[i] * s->beta2 + (1 - s->beta2) * grad[i] * grad[i];
    double bias_correction1 = 1 - pow(s->beta1, step);
    double bias_correction2 = 1 - pow(s->beta2, step);
    double step_size = s->lr / bias_correction1;
    double denom = sqrt(exp_avg_sq[i]) / sqrt(bias_correction2) + s->epsilon;
    param[i] += -step_size * exp_avg[i] / denom;
  }
}

static void check_adam(const adam_settings *s) {
  ipro_graph *graph = ipro_graph_create();
  const int64_t dims[1] = {COUNT}, hyper_dims[1] = {6};
  int p = ipro_test_add_tensor(graph, "param", IPRO_DTYPE_FLOAT, 1, dims);
  int g = ipro_test_add_tensor(graph, "grad", IPRO_DTYPE_FLOAT, 1, dims);
  int m = ipro_test_add_tensor(graph, "m", IPRO_DTYPE_FLOAT, 1, dims);
  int v = ipro_test_add_tensor(graph, "v", IPRO_DTYPE_FLOAT, 1, dims);
  int h = ipro_test_add_tensor(graph, "hyper", IPRO_DTYPE_FLOAT, 1, hyper_dims);
  int n = add_node(graph, IPRO_OP_ADAM_UPDATE, 5, (int[]){p, g, m, v, h}, 0, NULL);
  float param[COUNT], grad[COUNT], first[COUNT] = {0}, second[COUNT] = {0};
  double expected[COUNT], exp_avg[COUNT] = {0}, exp_avg_sq[COUNT] = {0};
  memcpy(param, initial_param, sizeof param);
  for (int i = 0; i < COUNT; i++)
    expected[i] = initial_param[i];
  ipro_error err = {{0}};
  for (int step = 1; step <= 2; step++) {
    float hyper[6] = {(float)s->lr,      (float)s->beta1,        (float)s->beta2,
                      (float)s->epsilon, (float)s->weight_decay, (float)step};
    memcpy(grad, gradients[step - 1], sizeof grad);
    CHECK_OK(run_kernel(graph, n, (void *[]){param, grad, first, second, hyper}, NULL, &err), &err);
    /* The expected update uses the hyper-parameters as the kernel sees them, in float32. */
    adam_settings as_float = {hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]};
    adam_expected(&as_float, step, expected, gradients[step - 1], exp_avg, exp_avg_sq);
    for (int i = 0; i < COUNT; i++) {
      CHECK_CLOSE(param[i], expected[i], "AdamW step %d: param[%d] %.9g, expected %.9g", step, i,
                  (double)param[i], expected[i]);
      CHECK_CLOSE(first[i], exp_avg[i], "AdamW step %d: m[%d] %.9g, expected %.9g", step, i,
                  (double)first[i], exp_avg[i]);
      CHECK_CLOSE(second[i], exp_avg_sq[i], "AdamW step %d: v[%d] %.9g, expected %.9g", step, i,
                  (double)second[i], exp_avg_sq[i]);
    }
  }
  /* step 0 would divide by a zero bias correction. */
  float hyper[6] = {0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 0.0f};
  CHECK(run_kernel(graph, n, (void *[]){param, grad, first, second, hyper}, NULL, &err) ==
        IPRO_ERROR);
  ipro_graph_free(graph);
}

static void test_adam_update(void) {
  check_adam(&(adam_settings){1e-2, 0.9, 0.999, 1e-8, 0.01});
  check_adam(&(adam_settings){3e-2, 0.8, 0.99, 1e-3, 0.0});
}

/* ---- BatchNormalization in the training program's form ---- */

enum { BN_N = 4, BN_C = 3, BN_SPATIAL = 4 };

static void test_batch_norm_running_statistics(void) {
  ipro_graph *graph = ipro_graph_create();
  const int64_t shape[4] = {BN_N, BN_C, 2, 2}, channels[1] = {BN_C};
  int x = ipro_test_add_tensor(graph, "x", IPRO_DTYPE_FLOAT, 4, shape);
  int y = ipro_test_add_tensor(graph, "y", IPRO_DTYPE_FLOAT, 4, shape);
  int params[4], running[2];
  const char *names[4] = {"scale", "bias", "mean", "var"};
  for (int i = 0; i < 4; i++)
    params[i] = ipro_test_add_tensor(graph, names[i], IPRO_DTYPE_FLOAT, 1, channels);
  running[0] = ipro_test_add_tensor(graph, "running_mean", IPRO_DTYPE_FLOAT, 1, channels);
  running[1] = ipro_test_add_tensor(graph, "running_var", IPRO_DTYPE_FLOAT, 1, channels);
  const int inputs[5] = {x, params[0], params[1], params[2], params[3]};
  /* As the training program has it (outputs 1 and 2 dropped), and ONNX's form. */
  int in_place = add_node(graph, IPRO_OP_BATCH_NORMALIZATION, 5, inputs, 3, (int[]){y, -1, -1});
  int onnx = add_node(graph, IPRO_OP_BATCH_NORMALIZATION, 5, inputs, 3,
                      (int[]){y, running[0], running[1]});
  for (int n = 0; n < 2; n++) {
    ipro_node *node = &graph->nodes[n == 0 ? in_place : onnx];
    ipro_node_set_int(node, "training_mode", 1);
    ipro_node_set_float(node, "momentum", 0.9f);
    ipro_node_set_float(node, "epsilon", 1e-5f);
  }
  ipro_node_set_int(&graph->nodes[in_place], "running_stats_in_place", 1);
  ipro_node_set_int(&graph->nodes[in_place], "unbiased_running_variance", 1);

  float xs[BN_N * BN_C * BN_SPATIAL], scale[BN_C] = {1.0f, 0.5f, 2.0f}, bias[BN_C] = {0, 1, -1};
  float mean[BN_C] = {0.1f, -0.2f, 0.3f}, var[BN_C] = {1.0f, 0.5f, 2.0f};
  float y_in_place[BN_N * BN_C * BN_SPATIAL], y_onnx[BN_N * BN_C * BN_SPATIAL];
  float onnx_mean[BN_C], onnx_var[BN_C];
  for (int i = 0; i < BN_N * BN_C * BN_SPATIAL; i++)
    xs[i] = (float)sin(1.7 * i) * (float)(1 + i % 3);
  const float old_mean[BN_C] = {0.1f, -0.2f, 0.3f}, old_var[BN_C] = {1.0f, 0.5f, 2.0f};
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, onnx, (void *[]){xs, scale, bias, mean, var},
                      (void *[]){y_onnx, onnx_mean, onnx_var}, &err),
           &err);
  CHECK(memcmp(mean, old_mean, sizeof mean) == 0 && memcmp(var, old_var, sizeof var) == 0);
  CHECK_OK(run_kernel(graph, in_place, (void *[]){xs, scale, bias, mean, var},
                      (void *[]){y_in_place, NULL, NULL}, &err),
           &err);
  const int m = BN_N * BN_SPATIAL;
  for (int c = 0; c < BN_C; c++) {
    double batch_mean, biased;
    ipro_test_channel_moments(xs, BN_N, BN_C, BN_SPATIAL, c, &batch_mean, &biased);
    double unbiased = biased * m / (m - 1);
    CHECK_CLOSE(mean[c], 0.9 * old_mean[c] + 0.1 * batch_mean, "in-place running mean[%d]", c);
    CHECK_CLOSE(var[c], 0.9 * old_var[c] + 0.1 * unbiased, "in-place running var[%d] (unbiased)",
                c);
    CHECK_CLOSE(onnx_mean[c], 0.9 * old_mean[c] + 0.1 * batch_mean, "ONNX running mean[%d]", c);
    CHECK_CLOSE(onnx_var[c], 0.9 * old_var[c] + 0.1 * biased, "ONNX running var[%d] (biased)", c);
    for (int n = 0; n < BN_N; n++)
      for (int s = 0; s < BN_SPATIAL; s++) {
        int i = (n * BN_C + c) * BN_SPATIAL + s;
        double want = (xs[i] - batch_mean) / sqrt(biased + 1e-5) * scale[c] + bias[c];
        CHECK_CLOSE(y_in_place[i], want, "in-place Y[%d] %.9g, expected %.9g (biased variance)", i,
                    (double)y_in_place[i], want);
        CHECK(y_in_place[i] == y_onnx[i]);
      }
  }
  /* Inference form: in place or not, nothing is updated. */
  ipro_node_set_int(&graph->nodes[in_place], "training_mode", 0);
  float before_mean[BN_C], before_var[BN_C];
  memcpy(before_mean, mean, sizeof mean);
  memcpy(before_var, var, sizeof var);
  CHECK_OK(run_kernel(graph, in_place, (void *[]){xs, scale, bias, mean, var},
                      (void *[]){y_in_place, NULL, NULL}, &err),
           &err);
  CHECK(memcmp(mean, before_mean, sizeof mean) == 0 && memcmp(var, before_var, sizeof var) == 0);
  ipro_graph_free(graph);
}

/* ---- SoftmaxCrossEntropyLoss ---- */

/* scores (3, 4), int32 labels {2, -1, 0} with ignore_index -1, weights: the weighted mean over
 * the two elements not ignored divides by their weights only, w[2] + w[0]. */
static void test_cross_entropy_weights_and_ignore_index(void) {
  ipro_graph *graph = ipro_graph_create();
  int scores = ipro_test_add_tensor(graph, "scores", IPRO_DTYPE_FLOAT, 2, (int64_t[]){3, 4});
  int labels = ipro_test_add_tensor(graph, "labels", IPRO_DTYPE_INT32, 1, (int64_t[]){3});
  int weights = ipro_test_add_tensor(graph, "weights", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4});
  int loss = ipro_test_add_tensor(graph, "loss", IPRO_DTYPE_FLOAT, 0, NULL);
  int elements = ipro_test_add_tensor(graph, "elements", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3});
  int log_prob = ipro_test_add_tensor(graph, "log_prob", IPRO_DTYPE_FLOAT, 2, (int64_t[]){3, 4});
  int mean = add_node(graph, IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 3,
                      (int[]){scores, labels, weights}, 2, (int[]){loss, log_prob});
  int none = add_node(graph, IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 3,
                      (int[]){scores, labels, weights}, 1, (int[]){elements});
  ipro_node_set_int(&graph->nodes[mean], "ignore_index", -1);
  ipro_node_set_int(&graph->nodes[none], "ignore_index", -1);
  ipro_node_set_string(&graph->nodes[none], "reduction", "none");
  float s[12] = {1.0f, 2.0f, 0.5f, -1.0f, 3.0f, 0.0f, 0.0f, 1.0f, -2.0f, 0.5f, 0.25f, 4.0f};
  int32_t l[3] = {2, -1, 0};
  float w[4] = {0.5f, 1.0f, 2.0f, 1.5f}, out, per_element[3], lp[12];
  ipro_error err = {{0}};
  CHECK_OK(run_kernel(graph, mean, (void *[]){s, l, w}, (void *[]){&out, lp}, &err), &err);
  CHECK_OK(run_kernel(graph, none, (void *[]){s, l, w}, (void *[]){per_element}, &err), &err);
  double expected[3] = {0}, total = 0;
  for (int n = 0; n < 3; n++) {
    double normaliser = 0;
    for (int k = 0; k < 4; k++)
      normaliser += exp(s[n * 4 + k]);
    for (int k = 0; k < 4; k++)
      CHECK_CLOSE(lp[n * 4 + k], s[n * 4 + k] - log(normaliser), "log_prob[%d][%d]", n, k);
    if (l[n] >= 0) expected[n] = -w[l[n]] * (s[n * 4 + l[n]] - log(normaliser));
    total += expected[n];
    CHECK_CLOSE(per_element[n], expected[n], "element loss %d: %.9g, expected %.9g", n,
                (double)per_element[n], expected[n]);
  }
  CHECK_CLOSE(out, total / (w[2] + w[0]), "weighted mean %.9g, expected %.9g", (double)out,
              total / (w[2] + w[0]));
  /* Without ignore_index, -1 is a label out of range. */
  ipro_node_remove_attr(&graph->nodes[mean], "ignore_index");
  CHECK(run_kernel(graph, mean, (void *[]){s, l, w}, (void *[]){&out, lp}, &err) == IPRO_ERROR);
  ipro_graph_free(graph);
}

int main(void) {
  test_sgd_update();
  test_adam_update();
  test_batch_norm_running_statistics();
  test_cross_entropy_weights_and_ignore_index();
  return ipro_test_finish();
}
