/* Mul by a factor that varies only along the leading dimensions, on our loops: Y = X · S with S of
 * shape [d0, .., dk-1, 1, .., 1] against X's [d0, .., dk-1, ...]. Stochastic depth multiplies a
 * branch by one factor per sample ([N, 1, 1, 1]) and squeeze-and-excitation by one per channel
 * ([N, C, 1, 1]); oneDNN 2's binary primitive broadcasts the first of these on its reference
 * implementation, 26 ns an element (16 ms for one [128, 24, 14, 14] Mul of a tiny EfficientNet,
 * forward and again for its gradient). Here each factor scales a contiguous run of X: a float
 * product, the value oneDNN and the reference kernels give. Operands plain (onednn_layouts.c
 * carries no Mul). */
#include "onednn_internal.h"

typedef struct {
  int64_t runs, run_length; /* S's elements, and the elements of X each one scales */
  int factor_input;         /* which input is S */
} prefix_scale_state;

static ipro_status scale_runs(const ipro_onednn_kernel *kernel, void *const *inputs,
                              void *const *outputs, char *workspace, uint64_t step,
                              ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const prefix_scale_state *s = kernel->state;
  const float *x = inputs[1 - s->factor_input], *factor = inputs[s->factor_input];
  float *y = outputs[0];
  IPRO_ONEDNN_PARALLEL_FOR(s->runs * s->run_length)
  for (int64_t r = 0; r < s->runs; r++) {
    float f = factor[r];
    const float *in = x + r * s->run_length;
    float *out = y + r * s->run_length;
    for (int64_t j = 0; j < s->run_length; j++)
      out[j] = in[j] * f;
  }
  return IPRO_OK;
}

/* How many leading dimensions of dims (rank, right-aligned against y) equal y's with all the
 * rest 1, or -1 when dims is not of that form. */
static int prefix_of(const int64_t *dims, const int64_t *y, int rank) {
  int k = 0;
  while (k < rank && dims[k] == y[k])
    k++;
  for (int d = k; d < rank; d++)
    if (dims[d] != 1) return -1;
  return k;
}

bool ipro_onednn_prefix_scale(ipro_onednn_kernel *kernel, const ipro_node *node,
                              const int64_t *a_dims, const int64_t *b_dims, const int64_t *y_dims,
                              int rank, ipro_status *status, ipro_error *err) {
  if (node->op != IPRO_OP_MUL || rank < 2) return false;
  int a_prefix = prefix_of(a_dims, y_dims, rank), b_prefix = prefix_of(b_dims, y_dims, rank);
  int factor = a_prefix == rank && b_prefix >= 1 && b_prefix < rank   ? 1
               : b_prefix == rank && a_prefix >= 1 && a_prefix < rank ? 0
                                                                      : -1;
  if (factor < 0) return false;
  int prefix = factor == 1 ? b_prefix : a_prefix;
  prefix_scale_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) {
    *status = IPRO_ERROR;
    return true;
  }
  s->runs = s->run_length = 1;
  for (int d = 0; d < rank; d++)
    *(d < prefix ? &s->runs : &s->run_length) *= y_dims[d];
  s->factor_input = factor;
  *status = ipro_onednn_add_loop_step(kernel, scale_runs, err);
  return true;
}
