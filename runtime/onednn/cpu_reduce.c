/* ipro.ReduceToShape as a C kernel of the CPU backend: R = scale · (T summed over the axes that
 * broadcasting expanded from `shape`, right-aligned against T's shape, missing leading axes
 * counting as 1). These are the bias gradients of Gemm and of broadcast Adds. oneDNN 2.6 has only
 * its reference kernel for such a reduction in the plain layout (a 128×256 → 256 sum took
 * 0.26 ms), and the backend's reference fallback works on double copies of its operands: the
 * MLP's three bias gradients took 0.31 ms of its 0.9 ms step at batch 128.
 *
 * T is read once, in order, one innermost row at a time: a row whose innermost axis is kept is
 * added element-wise into its row of R (a loop the compiler vectorises), a row whose innermost
 * axis is reduced is summed into its one element of R. Float sums in a fixed order, on the calling
 * thread: the same bytes on every run and any number of threads. A node that reduces no axis (a
 * copy) is declined. */
#include <string.h>

#include "onednn_internal.h"

typedef struct {
  int rank;
  int64_t t[IPRO_MAX_RANK];        /* T's dimensions */
  int64_t r_stride[IPRO_MAX_RANK]; /* R's element stride along each of T's axes, 0 if reduced */
  int64_t r_count;
  float scale;
} reduce_state;

static ipro_status reduce_to_shape_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                       void *const *outputs, char *workspace, uint64_t step,
                                       ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const reduce_state *s = kernel->state;
  const float *t = inputs[0];
  float *r = outputs[0];
  memset(r, 0, (size_t)s->r_count * sizeof *r);
  int last = s->rank - 1;
  int64_t row = s->t[last], rows = 1, index[IPRO_MAX_RANK] = {0}, at = 0;
  for (int d = 0; d < last; d++)
    rows *= s->t[d];
  bool kept_inner = s->r_stride[last] != 0;
  for (int64_t k = 0; k < rows; k++, t += row) {
    if (kept_inner) {
      float *out = r + at;
      for (int64_t j = 0; j < row; j++)
        out[j] += t[j];
    } else {
      float sum = 0.0f;
      for (int64_t j = 0; j < row; j++)
        sum += t[j];
      r[at] += sum;
    }
    /* the next row's index over T's outer axes, and its element of R */
    for (int d = last - 1; d >= 0; d--) {
      at += s->r_stride[d];
      if (++index[d] < s->t[d]) break;
      at -= s->r_stride[d] * s->t[d];
      index[d] = 0;
    }
  }
  if (s->scale != 1.0f)
    for (int64_t i = 0; i < s->r_count; i++)
      r[i] *= s->scale;
  return IPRO_OK;
}

ipro_status ipro_onednn_build_reduce_to_shape(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                              const ipro_node *node, ipro_error *err) {
  ipro_shape t, r;
  if (ipro_onednn_shaped_operands(graph, node, &t, &r, err)) return IPRO_ERROR;
  if (t.rank < 1 || r.rank > t.rank || ipro_shape_elements(&t) == 0)
    return ipro_onednn_unsupported(err, "R of rank %d from T of rank %d", r.rank, t.rank);
  reduce_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->rank = t.rank;
  s->r_count = ipro_shape_elements(&r);
  s->scale = ipro_node_attr_float(node, "scale", 1.0f);
  int lead = t.rank - r.rank;
  bool reduces = false;
  int64_t stride = 1;
  for (int d = t.rank - 1; d >= 0; d--) {
    int64_t kept = d < lead ? 1 : r.dims[d - lead];
    if (kept != t.dims[d] && kept != 1)
      return ipro_onednn_unsupported(err, "axis %d: %lld does not broadcast to %lld", d,
                                     (long long)kept, (long long)t.dims[d]);
    s->t[d] = t.dims[d];
    s->r_stride[d] = kept == t.dims[d] ? stride : 0;
    reduces = reduces || kept != t.dims[d];
    stride *= kept;
  }
  if (!reduces) return ipro_onednn_unsupported(err, "no axis is reduced");
  return ipro_onednn_add_loop_step(kernel, reduce_to_shape_run, err);
}
