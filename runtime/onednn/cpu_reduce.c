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
 * thread: the same bytes on every run and any number of threads. One that reduces no axis is a
 * scaled copy (a Sub's gradient to its second operand, -dY: FastViT's, which had run on the
 * reference fallback).
 *
 * The same loop runs ReduceSum, ReduceMax, ReduceMin, ReduceL2 (the square root of the sum of
 * squares: F.normalize's, EdgeNeXt's), ReduceL1, ReduceSumSquare, ReduceLogSum and ReduceProd over
 * their axes, and ReduceLogSumExp in two passes (each slice's maximum first, in planned
 * workspace), and ReduceMean over
 * axes other than the spatial ones (onednn_pool.c runs those as a global pool), into the kept
 * shape (keepdims changes only the shape): the reference fallback took 27% of ResNeSt-14d's step
 * for its sums over the radix splits (timm, batch 16, 64×64), and held a double copy of each
 * operand. A NaN makes its slice's maximum and minimum NaN (as the reference and PyTorch's amax
 * do). Its gradient ipro.ReduceMeanGrad over such axes is the loop run the other way
 * (broadcast_run): each dX row a copy of its dY row, or its one dY value, times the scale; and so
 * is ONNX's Expand of a float tensor (ECA's and CBAM's attention weights expanded over the map,
 * 9% of timm's ECA-ResNet-33ts step on the reference fallback). ipro.ReduceExtremumGrad
 * (ReduceMax's and ReduceMin's gradient: dY shared among each slice's ties) counts the ties into a
 * workspace buffer of R's size by the reduction's loop, then writes dX by the broadcast's (40% of
 * timm's ResNet-18 with CBAM at batch 32 on the reference fallback). */
#include <math.h>
#include <string.h>

#include "onednn_internal.h"

typedef enum {
  REDUCE_SUM,
  REDUCE_MAX,
  REDUCE_MIN,
  REDUCE_L2,
  REDUCE_L1,
  REDUCE_SUM_SQUARE,
  REDUCE_LOG_SUM,
  REDUCE_PROD
} reduce_kind;

/* Whether the kind adds a term of each element (the others combine into the slice's value). */
static inline bool summed(reduce_kind kind) {
  return kind != REDUCE_MAX && kind != REDUCE_MIN && kind != REDUCE_PROD;
}

typedef struct {
  reduce_kind kind;
  int rank;
  int64_t t[IPRO_MAX_RANK];        /* T's dimensions */
  int64_t r_stride[IPRO_MAX_RANK]; /* R's element stride along each of T's axes, 0 if reduced */
  int64_t r_count;
  float scale;
  /* in the workspace: ReduceExtremumGrad's ties of each slice, ReduceLogSumExp's maxima (R's
   * size), ReduceProdGrad's products and zeros (twice R's size) */
  size_t workspace_at;
} reduce_state;

/* v into *at by the state's kind (a NaN stays). */
static inline float combined(reduce_kind kind, float at, float v) {
  if (kind == REDUCE_SUM || kind == REDUCE_LOG_SUM) return at + v;
  if (kind == REDUCE_L2 || kind == REDUCE_SUM_SQUARE) return at + v * v;
  if (kind == REDUCE_L1) return at + fabsf(v);
  if (kind == REDUCE_PROD) return at * v;
  return v != v || (kind == REDUCE_MAX ? v > at : v < at) ? v : at;
}

/* The rows of T (along its innermost axis). */
static int64_t rows_of(const reduce_state *s) {
  int64_t rows = 1;
  for (int d = 0; d < s->rank - 1; d++)
    rows *= s->t[d];
  return rows;
}

/* The next row's index over T's outer axes, and its element of R in *at. */
static inline void next_row(const reduce_state *s, int64_t *index, int64_t *at) {
  for (int d = s->rank - 2; d >= 0; d--) {
    *at += s->r_stride[d];
    if (++index[d] < s->t[d]) break;
    *at -= s->r_stride[d] * s->t[d];
    index[d] = 0;
  }
}

static ipro_status reduce_to_shape_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                       void *const *outputs, char *workspace, uint64_t step,
                                       ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const reduce_state *s = kernel->state;
  const float *t = inputs[0];
  float *r = outputs[0];
  float start = s->kind == REDUCE_MAX    ? -INFINITY
                : s->kind == REDUCE_MIN  ? INFINITY
                : s->kind == REDUCE_PROD ? 1.0f
                                         : 0.0f;
  for (int64_t i = 0; i < s->r_count; i++)
    r[i] = start;
  int last = s->rank - 1;
  int64_t row = s->t[last], rows = rows_of(s), index[IPRO_MAX_RANK] = {0}, at = 0;
  bool kept_inner = s->r_stride[last] != 0;
  for (int64_t k = 0; k < rows; k++, t += row, next_row(s, index, &at)) {
    if (kept_inner && s->kind == REDUCE_SUM) {
      float *out = r + at;
      for (int64_t j = 0; j < row; j++)
        out[j] += t[j];
    } else if (kept_inner) {
      float *out = r + at;
      for (int64_t j = 0; j < row; j++)
        out[j] = combined(s->kind, out[j], t[j]);
    } else {
      bool adds = summed(s->kind);
      float sum = adds ? 0.0f : r[at];
      for (int64_t j = 0; j < row; j++)
        sum = combined(s->kind, sum, t[j]);
      r[at] = adds ? r[at] + sum : sum;
    }
  }
  if (s->kind == REDUCE_L2)
    for (int64_t i = 0; i < s->r_count; i++)
      r[i] = sqrtf(r[i]);
  if (s->kind == REDUCE_LOG_SUM)
    for (int64_t i = 0; i < s->r_count; i++)
      r[i] = logf(r[i]);
  if (s->scale != 1.0f)
    for (int64_t i = 0; i < s->r_count; i++)
      r[i] *= s->scale;
  return IPRO_OK;
}

/* R (input 0) → T (output 0): each T row a copy of its R row, or its one R value, times the
 * scale. */
static ipro_status broadcast_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                 void *const *outputs, char *workspace, uint64_t step,
                                 ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const reduce_state *s = kernel->state;
  const float *r = inputs[0];
  float *t = outputs[0];
  int last = s->rank - 1;
  int64_t row = s->t[last], rows = rows_of(s), index[IPRO_MAX_RANK] = {0}, at = 0;
  bool kept_inner = s->r_stride[last] != 0;
  for (int64_t k = 0; k < rows; k++, t += row, next_row(s, index, &at))
    for (int64_t j = 0; j < row; j++)
      t[j] = s->scale * r[kept_inner ? at + j : at];
  return IPRO_OK;
}

/* Runs BODY for each element of T in order, `i` its offset in T and `r` the offset in R of its
 * slice. */
#define FOR_EACH_ELEMENT(s, i, r, BODY)                                                            \
  do {                                                                                             \
    int64_t row_ = (s)->t[(s)->rank - 1], rows_ = rows_of(s), index_[IPRO_MAX_RANK] = {0},         \
            at_ = 0;                                                                               \
    bool kept_inner_ = (s)->r_stride[(s)->rank - 1] != 0;                                          \
    for (int64_t k_ = 0; k_ < rows_; k_++, next_row((s), index_, &at_))                            \
      for (int64_t j_ = 0; j_ < row_; j_++) {                                                      \
        int64_t i = k_ * row_ + j_, r = kept_inner_ ? at_ + j_ : at_;                              \
        BODY;                                                                                      \
      }                                                                                            \
  } while (0)

/* dY (R's size), X and Y (R's size) → dX (T's size): each slice's dY / its ties where X equals
 * the slice's Y, 0 elsewhere. */
static ipro_status extremum_grad_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)step, (void)err;
  const reduce_state *s = kernel->state;
  const float *dy = inputs[0], *x = inputs[1], *y = inputs[2];
  float *dx = outputs[0], *ties = (float *)(workspace + s->workspace_at);
  memset(ties, 0, (size_t)s->r_count * sizeof *ties);
  FOR_EACH_ELEMENT(s, i, r, ties[r] += x[i] == y[r]);
  FOR_EACH_ELEMENT(s, i, r, dx[i] = x[i] == y[r] ? dy[r] / ties[r] : 0.0f);
  return IPRO_OK;
}

/* ReduceLogSumExp: each slice's maximum into the workspace (0 where it is not finite: a slice of
 * -inf sums exp(-inf) = 0 and gives -inf, one holding +inf or NaN gives that), the exponentials of
 * T less it summed into R, then R = the maximum + log(R): torch.logsumexp's order, no overflow. */
static ipro_status log_sum_exp_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step,
                                   ipro_error *err) {
  (void)step, (void)err;
  const reduce_state *s = kernel->state;
  const float *t = inputs[0];
  float *sum = outputs[0], *shift = (float *)(workspace + s->workspace_at);
  for (int64_t k = 0; k < s->r_count; k++)
    shift[k] = -INFINITY, sum[k] = 0.0f;
  FOR_EACH_ELEMENT(s, i, r, shift[r] = combined(REDUCE_MAX, shift[r], t[i]));
  for (int64_t k = 0; k < s->r_count; k++)
    if (!isfinite(shift[k])) shift[k] = 0.0f;
  FOR_EACH_ELEMENT(s, i, r, sum[r] += expf(t[i] - shift[r]));
  for (int64_t k = 0; k < s->r_count; k++)
    sum[k] = shift[k] + logf(sum[k]);
  return IPRO_OK;
}

/* ipro.ReduceProdGrad: dY (R's size), X → dX (T's size): dY times the product of the slice's
 * other elements, exactly where the slice holds zeros (as the reference and PyTorch): each
 * slice's product of its nonzero elements and count of zeros in the workspace first. */
static ipro_status prod_grad_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                 void *const *outputs, char *workspace, uint64_t step,
                                 ipro_error *err) {
  (void)step, (void)err;
  const reduce_state *s = kernel->state;
  const float *dy = inputs[0], *x = inputs[1];
  float *dx = outputs[0], *nonzero = (float *)(workspace + s->workspace_at);
  float *zeros = nonzero + s->r_count;
  for (int64_t k = 0; k < s->r_count; k++)
    nonzero[k] = 1.0f, zeros[k] = 0.0f;
  FOR_EACH_ELEMENT(s, i, r, if (x[i] == 0.0f) zeros[r] += 1.0f; else nonzero[r] *= x[i]);
  FOR_EACH_ELEMENT(s, i, r,
                   dx[i] = zeros[r] == 0.0f   ? dy[r] * (nonzero[r] / x[i])
                           : zeros[r] == 1.0f ? (x[i] == 0.0f ? dy[r] * nonzero[r] : 0.0f)
                                              : 0.0f);
  return IPRO_OK;
}

/* The state of a reduction of t to r (right-aligned against t, its axes 1 or t's), or of the
 * broadcast back; declined as unsupported where the shapes do not fit. */
static ipro_status reduction_state(ipro_onednn_kernel *kernel, reduce_kind kind,
                                   const ipro_shape *t, const ipro_shape *r, float scale,
                                   ipro_error *err) {
  if (t->rank < 1 || r->rank > t->rank || ipro_shape_elements(t) == 0)
    return ipro_onednn_unsupported(err, "R of rank %d from T of rank %d", r->rank, t->rank);
  reduce_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->kind = kind;
  s->rank = t->rank;
  s->r_count = ipro_shape_elements(r);
  s->scale = scale;
  int lead = t->rank - r->rank;
  int64_t stride = 1;
  for (int d = t->rank - 1; d >= 0; d--) {
    int64_t kept = d < lead ? 1 : r->dims[d - lead];
    if (kept != t->dims[d] && kept != 1)
      return ipro_onednn_unsupported(err, "axis %d: %lld does not broadcast to %lld", d,
                                     (long long)kept, (long long)t->dims[d]);
    s->t[d] = t->dims[d];
    s->r_stride[d] = kept == t->dims[d] ? stride : 0;
    stride *= kept;
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_build_reduce_to_shape(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                              const ipro_node *node, ipro_error *err) {
  ipro_shape t, r;
  if (ipro_onednn_shaped_operands(graph, node, &t, &r, err) ||
      reduction_state(kernel, REDUCE_SUM, &t, &r, ipro_node_attr_float(node, "scale", 1.0f), err))
    return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, reduce_to_shape_run, err);
}

/* x with every axis of the node's `axes` set to 1 (all of them when it lists none); false where
 * noop_with_empty_axes makes the node a copy. */
static bool kept_shape(const ipro_node *node, const ipro_shape *x, ipro_shape *kept) {
  int count = 0;
  const int64_t *axes = ipro_node_attr_ints(node, "axes", &count);
  if (count == 0 && ipro_node_attr_int(node, "noop_with_empty_axes", 0) != 0) return false;
  *kept = *x;
  for (int d = 0; d < x->rank; d++)
    if (count == 0) kept->dims[d] = 1;
  for (int i = 0; i < count; i++) {
    if (axes[i] < 0 || axes[i] >= x->rank) return false;
    kept->dims[axes[i]] = 1;
  }
  return true;
}

ipro_status ipro_onednn_build_reduce_axes(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err) {
  ipro_shape x, y, kept;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (!kept_shape(node, &x, &kept) || ipro_shape_elements(&kept) != ipro_shape_elements(&y))
    return ipro_onednn_unsupported(err, "not a reduction over its axes");
  reduce_kind kind;
  switch (node->op) {
  case IPRO_OP_REDUCE_MAX: kind = REDUCE_MAX; break;
  case IPRO_OP_REDUCE_MIN: kind = REDUCE_MIN; break;
  case IPRO_OP_REDUCE_L2: kind = REDUCE_L2; break;
  case IPRO_OP_REDUCE_L1: kind = REDUCE_L1; break;
  case IPRO_OP_REDUCE_SUM_SQUARE: kind = REDUCE_SUM_SQUARE; break;
  case IPRO_OP_REDUCE_LOG_SUM: kind = REDUCE_LOG_SUM; break;
  case IPRO_OP_REDUCE_PROD: kind = REDUCE_PROD; break;
  case IPRO_OP_REDUCE_LOG_SUM_EXP: kind = REDUCE_MAX; break; /* its first pass */
  default: kind = REDUCE_SUM; break;
  }
  float scale = node->op == IPRO_OP_REDUCE_MEAN
                    ? (float)((double)ipro_shape_elements(&kept) / (double)ipro_shape_elements(&x))
                    : 1.0f;
  if (reduction_state(kernel, kind, &x, &kept, scale, err)) return IPRO_ERROR;
  if (node->op == IPRO_OP_REDUCE_LOG_SUM_EXP) {
    reduce_state *s = kernel->state;
    s->workspace_at = ipro_onednn_reserve(kernel, (size_t)s->r_count * sizeof(float));
    return ipro_onednn_add_loop_step(kernel, log_sum_exp_run, err);
  }
  return ipro_onednn_add_loop_step(kernel, reduce_to_shape_run, err);
}

ipro_status ipro_onednn_build_reduce_mean_grad_loop(ipro_onednn_kernel *kernel,
                                                    const ipro_graph *graph, const ipro_node *node,
                                                    ipro_error *err) {
  ipro_shape dy, dx, kept;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) ||
      ipro_onednn_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  if (!kept_shape(node, &dx, &kept) || ipro_shape_elements(&kept) != ipro_shape_elements(&dy))
    return ipro_onednn_unsupported(err, "not the gradient of a reduction over its axes");
  float scale = (float)((double)ipro_shape_elements(&kept) / (double)ipro_shape_elements(&dx));
  if (reduction_state(kernel, REDUCE_SUM, &dx, &kept, scale, err)) return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, broadcast_run, err);
}

/* Expand, and a Tile that repeats only dimensions of 1 (the same copy; any other is declined:
 * reduction_state refuses shapes that do not broadcast). */
ipro_status ipro_onednn_build_expand(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                     const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (reduction_state(kernel, REDUCE_SUM, &y, &x, 1.0f, err)) return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, broadcast_run, err);
}

ipro_status ipro_onednn_build_reduce_extremum_grad(ipro_onednn_kernel *kernel,
                                                   const ipro_graph *graph, const ipro_node *node,
                                                   ipro_error *err) {
  ipro_shape dy, x, y, dx, kept;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &x, err) ||
      ipro_onednn_input_shape(graph, node, 2, &y, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) ||
      ipro_onednn_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  if (!kept_shape(node, &dx, &kept) || ipro_shape_elements(&x) != ipro_shape_elements(&dx) ||
      ipro_shape_elements(&dy) != ipro_shape_elements(&kept) ||
      ipro_shape_elements(&y) != ipro_shape_elements(&kept))
    return ipro_onednn_unsupported(err, "not the gradient of a reduction over its axes");
  if (reduction_state(kernel, REDUCE_SUM, &dx, &kept, 1.0f, err)) return IPRO_ERROR;
  reduce_state *s = kernel->state;
  s->workspace_at = ipro_onednn_reserve(kernel, (size_t)s->r_count * sizeof(float));
  return ipro_onednn_add_loop_step(kernel, extremum_grad_run, err);
}

ipro_status ipro_onednn_build_reduce_prod_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                               const ipro_node *node, ipro_error *err) {
  ipro_shape dy, x, dx, kept;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) ||
      ipro_onednn_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  if (!kept_shape(node, &dx, &kept) || ipro_shape_elements(&x) != ipro_shape_elements(&dx) ||
      ipro_shape_elements(&dy) != ipro_shape_elements(&kept))
    return ipro_onednn_unsupported(err, "not the gradient of a reduction over its axes");
  if (reduction_state(kernel, REDUCE_PROD, &dx, &kept, 1.0f, err)) return IPRO_ERROR;
  reduce_state *s = kernel->state;
  s->workspace_at = ipro_onednn_reserve(kernel, 2 * (size_t)s->r_count * sizeof(float));
  return ipro_onednn_add_loop_step(kernel, prod_grad_run, err);
}
