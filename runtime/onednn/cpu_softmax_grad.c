/* The gradient of Softmax and LogSoftmax on our loops, where oneDNN has only its reference kernel
 * for it (oneDNN 2.6 on a CPU without AVX-512: `softmax_v2,ref:any,backward_data`, about 6 ns an
 * element, so a ViT-B/16 step at batch 32, whose attention softmaxes hold 179 million elements,
 * would spend about a second in it). Over X seen as [outer, n, inner] with the softmax along n:
 *   Softmax:    dX = Y ⊙ (dY − Σ_n dY ⊙ Y)
 *   LogSoftmax: dX = dY − exp(Y) ⊙ Σ_n dY
 * each sum in double, the rows split over threads (a row's arithmetic does not depend on the
 * split). Operands plain (onednn_layouts.c carries no softmax). */
#include <math.h>

#include "onednn_internal.h"

typedef struct {
  int64_t outer, n, inner;
  bool log;
} softmax_grad_state;

static ipro_status softmax_grad_rows(const ipro_onednn_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const softmax_grad_state *s = kernel->state;
  const float *dy = inputs[0], *y = inputs[1];
  float *dx = outputs[0];
  int64_t rows = s->outer * s->inner, n = s->n, inner = s->inner;
  IPRO_ONEDNN_PARALLEL_FOR(rows * n)
  for (int64_t row = 0; row < rows; row++) {
    int64_t start = (row / inner) * n * inner + row % inner;
    double sum = 0.0;
    for (int64_t k = 0; k < n; k++) {
      int64_t at = start + k * inner;
      sum += s->log ? (double)dy[at] : (double)dy[at] * (double)y[at];
    }
    for (int64_t k = 0; k < n; k++) {
      int64_t at = start + k * inner;
      dx[at] = s->log ? (float)((double)dy[at] - exp((double)y[at]) * sum)
                      : (float)((double)y[at] * ((double)dy[at] - sum));
    }
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_build_softmax_grad_loop(ipro_onednn_kernel *kernel,
                                                const dnnl_memory_desc_t *md, bool log,
                                                ipro_error *err) {
  softmax_grad_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->outer = md->dims[0];
  s->n = md->dims[1];
  s->inner = md->dims[2];
  s->log = log;
  return ipro_onednn_add_loop_step(kernel, softmax_grad_rows, err);
}
