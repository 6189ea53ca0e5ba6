/* The gradients of HardSigmoid and HardSwish as a C loop of the CPU backend (ipro.UnaryGrad with
 * forward_op HardSigmoid or HardSwish, its second input X). oneDNN 2.6 has no HardSigmoid, and its
 * HardSwish backward takes other values at x = ±3 than PyTorch and the reference kernels, which
 * count ±3 inside the curve, so both ran on the reference fallback: 29% of timm's EfficientViT-B0
 * step and 32% of its LCNet-050's (batch 16, 64×64, session 34; MobileNetV3's activations).
 *
 *   HardSigmoid, y = max(0, min(1, αx + β)):  dX = α·dY where 0 < αx + β < 1, else 0;
 *   HardSwish, y = x·max(0, min(1, x/6 + ½)): dX = 0 below -3, dY above 3, (2x + 3)/6·dY between.
 *
 * The kinks are decided in double, as the reference decides them; each element on its own, so
 * the bytes do not depend on the number of threads. The tensors are seen as flat arrays in the
 * layout they are carried in (a padded block's lanes hold 0, whose gradient is 0·dY = 0). */
#include "onednn_internal.h"

typedef struct {
  bool swish; /* HardSwish, else HardSigmoid */
  float alpha, beta;
  int64_t count;
} hard_state;

static ipro_status hard_activation_grad_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                            void *const *outputs, char *workspace, uint64_t step,
                                            ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const hard_state *s = kernel->state;
  const float *dy = inputs[0], *x = inputs[1];
  float *dx = outputs[0];
  int64_t count = s->count;
  if (s->swish) {
    IPRO_ONEDNN_PARALLEL_FOR(count)
    for (int64_t i = 0; i < count; i++) {
      double v = x[i];
      dx[i] = v < -3.0 ? 0.0f : v > 3.0 ? dy[i] : (float)((2.0 * v + 3.0) / 6.0 * dy[i]);
    }
  } else {
    double alpha = s->alpha, beta = s->beta;
    IPRO_ONEDNN_PARALLEL_FOR(count)
    for (int64_t i = 0; i < count; i++) {
      double y = alpha * x[i] + beta;
      dx[i] = y > 0.0 && y < 1.0 ? (float)(alpha * dy[i]) : 0.0f;
    }
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_build_hard_activation_grad(ipro_onednn_kernel *kernel,
                                                   const ipro_node *node, int64_t count,
                                                   ipro_error *err) {
  hard_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->swish = ipro_node_attr_int(node, "forward_op", -1) == IPRO_OP_HARD_SWISH;
  s->alpha = ipro_node_attr_float(node, "alpha", 0.2f);
  s->beta = ipro_node_attr_float(node, "beta", 0.5f);
  s->count = count;
  return ipro_onednn_add_loop_step(kernel, hard_activation_grad_run, err);
}
