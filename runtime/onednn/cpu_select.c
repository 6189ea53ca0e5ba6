/* Where, the comparisons (Less, Greater, Equal, LessOrEqual, GreaterOrEqual) and Sign as C loops of
 * the CPU backend, oneDNN 2.6 having no primitive for any of them. torch.export writes
 * F.softplus as Where(Greater(βx, threshold), x, Softplus(βx)/β), whose Where and Greater, with
 * Where's two in the gradient, took 45% of a small network's step on the reference fallback
 * (models/smooth_activations_cnn_dynamo_fmnist.onnx, batch 64); ReduceL1's gradient and Abs's
 * take a Sign.
 *
 * Each operand holds Y's elements or one element, a scalar broadcast over Y (the constants the
 * exporters compare with and the zeros of Where's gradient); any other broadcasting is declined
 * and runs on the reference kernels. A bool is one byte, 0 or 1. The comparisons are decided in
 * double by ir/elementwise_values.h, as the reference and the frontend's folding decide them;
 * every element on its own, so the bytes do not depend on the number of threads. Sign keeps 0,
 * -0 and NaN. */
#include <stdint.h>

#include "ir/elementwise_values.h"
#include "onednn_internal.h"

typedef struct {
  ipro_op op;
  int64_t count;
  bool whole[3]; /* input i holds Y's elements (else one) */
} select_state;

static inline float value_at(const float *v, bool whole, int64_t i) { return v[whole ? i : 0]; }

static ipro_status where_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                             void *const *outputs, char *workspace, uint64_t step,
                             ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const select_state *s = kernel->state;
  const uint8_t *condition = inputs[0];
  const float *a = inputs[1], *b = inputs[2];
  float *y = outputs[0];
  int64_t count = s->count;
  IPRO_ONEDNN_PARALLEL_FOR(count)
  for (int64_t i = 0; i < count; i++)
    y[i] =
        condition[s->whole[0] ? i : 0] ? value_at(a, s->whole[1], i) : value_at(b, s->whole[2], i);
  return IPRO_OK;
}

static ipro_status compare_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                               void *const *outputs, char *workspace, uint64_t step,
                               ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const select_state *s = kernel->state;
  const float *a = inputs[0], *b = inputs[1];
  uint8_t *y = outputs[0];
  int64_t count = s->count;
  IPRO_ONEDNN_PARALLEL_FOR(count)
  for (int64_t i = 0; i < count; i++)
    y[i] = ipro_compare_values(s->op, value_at(a, s->whole[0], i), value_at(b, s->whole[1], i));
  return IPRO_OK;
}

static ipro_status sign_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                            void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const select_state *s = kernel->state;
  const float *x = inputs[0];
  float *y = outputs[0];
  int64_t count = s->count;
  IPRO_ONEDNN_PARALLEL_FOR(count)
  for (int64_t i = 0; i < count; i++)
    y[i] = x[i] > 0.0f ? 1.0f : x[i] < 0.0f ? -1.0f : x[i];
  return IPRO_OK;
}

/* Checks the node's dtypes (input `boolean` or, when it is -1, the output bool; the rest
 * float32) and that each input holds Y's elements or one; fills the state. */
static ipro_status select_state_of(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                   const ipro_node *node, int boolean, ipro_error *err) {
  const ipro_tensor *y = ipro_node_output(graph, node, 0);
  if (!y || y->dtype != (boolean < 0 ? IPRO_DTYPE_BOOL : IPRO_DTYPE_FLOAT))
    return ipro_onednn_unsupported(err, "output of another dtype");
  if (node->n_inputs > 3) return ipro_onednn_unsupported(err, "%d inputs", node->n_inputs);
  select_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->op = node->op;
  s->count = ipro_shape_elements(&y->shape);
  for (int i = 0; i < node->n_inputs; i++) {
    const ipro_tensor *x = ipro_node_input(graph, node, i);
    if (!x || x->dtype != (i == boolean ? IPRO_DTYPE_BOOL : IPRO_DTYPE_FLOAT))
      return ipro_onednn_unsupported(err, "input %d of another dtype", i);
    int64_t elements = ipro_shape_elements(&x->shape);
    if (elements != s->count && elements != 1)
      return ipro_onednn_unsupported(err, "input %d broadcast along some axes only", i);
    s->whole[i] = elements == s->count;
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_build_select(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                     const ipro_node *node, ipro_error *err) {
  switch (node->op) {
  case IPRO_OP_WHERE:
    if (select_state_of(kernel, graph, node, 0, err)) return IPRO_ERROR;
    return ipro_onednn_add_loop_step(kernel, where_run, err);
  case IPRO_OP_SIGN:
    if (select_state_of(kernel, graph, node, 3, err)) return IPRO_ERROR;
    return ipro_onednn_add_loop_step(kernel, sign_run, err);
  default: /* a comparison */
    if (select_state_of(kernel, graph, node, -1, err)) return IPRO_ERROR;
    return ipro_onednn_add_loop_step(kernel, compare_run, err);
  }
}
