/* Resize and ipro.ResizeGrad as C kernels of the CPU backend (oneDNN 2.6's resampling primitive
 * knows neither align_corners nor ONNX's other coordinate modes, so it cannot stand in).
 *
 * Where an output element reads is exactly the reference's: the per-axis samples of
 * ipro_reference_resize_plan_make (runtime/reference/resize.c), computed once at prepare time.
 * The kernels take rank-4 tensors whose N and C are not resampled, which is every image resize
 * (the InfoPro decoder's bilinear align_corners upsample among them): each of the N·C planes
 * is then resampled alike, with one tap per output row and one per output column:
 *
 *   y[oy][ox] = (1 − wy)·row(low_y) + wy·row(high_y),
 *   row(r) = (1 − wx)·x[r][low_x] + wx·x[r][high_x]
 *
 * in float, where the reference sums the four corners in double. A tap of weight 0 (nearest, or
 * a linear sample that falls on an input element) reads one element only, as the reference skips
 * corners of weight 0; a tap outside the input (tf_crop_and_resize) gives extrapolation_value.
 * ipro.ResizeGrad is the adjoint: each plane of dX is zeroed, then every dY element adds itself
 * with the same weights into the elements it read. Planes are independent, so both split them
 * over threads and no two threads write one element. When neither axis is resampled either
 * (a resize to the same size with every tap on an input element) both are copies. */
#include <stdio.h>
#include <string.h>

#include "onednn_internal.h"
#include "runtime/reference/reference_ops.h"

typedef struct {
  int64_t low, high; /* input rows (columns) read */
  float weight;      /* of high; 0 reads low alone */
  bool outside;      /* no input: extrapolation_value (forward), nothing (adjoint) */
} tap;

typedef struct {
  int64_t planes, in_h, in_w, out_h, out_w;
  float extrapolation;
  bool identity;    /* every tap reads its own index: a copy */
  bool single_cols; /* every column tap reads one element and none is outside */
  tap *rows, *cols; /* out_h and out_w taps, in the same block as this struct */
} resize_state;

/* ---- forward ---- */

/* One output row from input rows a and b (b unread when wy is 0). */
static void resize_row(const resize_state *s, const float *a, const float *b, float wy, float *y) {
  const tap *cols = s->cols;
  if (s->single_cols) {
    if (wy == 0.0f)
      for (int64_t ox = 0; ox < s->out_w; ox++)
        y[ox] = a[cols[ox].low];
    else
      for (int64_t ox = 0; ox < s->out_w; ox++)
        y[ox] = (1.0f - wy) * a[cols[ox].low] + wy * b[cols[ox].low];
    return;
  }
  for (int64_t ox = 0; ox < s->out_w; ox++) {
    const tap *c = &cols[ox];
    float top, bottom = 0.0f;
    if (c->outside) {
      y[ox] = s->extrapolation;
      continue;
    }
    if (c->weight == 0.0f) {
      top = a[c->low];
      if (wy != 0.0f) bottom = b[c->low];
    } else {
      top = (1.0f - c->weight) * a[c->low] + c->weight * a[c->high];
      if (wy != 0.0f) bottom = (1.0f - c->weight) * b[c->low] + c->weight * b[c->high];
    }
    y[ox] = wy == 0.0f ? top : (1.0f - wy) * top + wy * bottom;
  }
}

static ipro_status resize_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                              void *const *outputs, char *workspace, uint64_t step,
                              ipro_error *err) {
  (void)step, (void)workspace, (void)err;
  const resize_state *s = kernel->state;
  const float *x = inputs[0];
  float *y = outputs[0];
  int64_t in_plane = s->in_h * s->in_w, out_plane = s->out_h * s->out_w;
  if (s->identity) {
    IPRO_ONEDNN_PARALLEL_FOR(s->planes * out_plane)
    for (int64_t p = 0; p < s->planes; p++)
      memcpy(y + p * out_plane, x + p * in_plane, (size_t)out_plane * sizeof *y);
    return IPRO_OK;
  }
  IPRO_ONEDNN_PARALLEL_FOR(s->planes * out_plane)
  for (int64_t p = 0; p < s->planes; p++) {
    const float *plane = x + p * in_plane;
    for (int64_t oy = 0; oy < s->out_h; oy++) {
      const tap *r = &s->rows[oy];
      float *row = y + p * out_plane + oy * s->out_w;
      if (r->outside) {
        for (int64_t ox = 0; ox < s->out_w; ox++)
          row[ox] = s->extrapolation;
        continue;
      }
      resize_row(s, plane + r->low * s->in_w, plane + r->high * s->in_w, r->weight, row);
    }
  }
  return IPRO_OK;
}

/* ---- adjoint ---- */

/* Adds one dY row, times wy, into input rows a (times 1 − wy) and b (times wy; untouched when wy
 * is 0). */
static void resize_row_adjoint(const resize_state *s, const float *dy, float wy, float *a,
                               float *b) {
  for (int64_t ox = 0; ox < s->out_w; ox++) {
    const tap *c = &s->cols[ox];
    if (c->outside) continue;
    float g = dy[ox], top = wy == 0.0f ? g : (1.0f - wy) * g, bottom = wy * g;
    if (c->weight == 0.0f) {
      a[c->low] += top;
      if (wy != 0.0f) b[c->low] += bottom;
    } else {
      a[c->low] += (1.0f - c->weight) * top;
      a[c->high] += c->weight * top;
      if (wy != 0.0f) {
        b[c->low] += (1.0f - c->weight) * bottom;
        b[c->high] += c->weight * bottom;
      }
    }
  }
}

static ipro_status resize_grad_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step,
                                   ipro_error *err) {
  (void)step, (void)workspace, (void)err;
  const resize_state *s = kernel->state;
  const float *dy = inputs[0];
  float *dx = outputs[0];
  int64_t in_plane = s->in_h * s->in_w, out_plane = s->out_h * s->out_w;
  if (s->identity) {
    IPRO_ONEDNN_PARALLEL_FOR(s->planes * in_plane)
    for (int64_t p = 0; p < s->planes; p++)
      memcpy(dx + p * in_plane, dy + p * out_plane, (size_t)in_plane * sizeof *dx);
    return IPRO_OK;
  }
  IPRO_ONEDNN_PARALLEL_FOR(s->planes * (in_plane + out_plane))
  for (int64_t p = 0; p < s->planes; p++) {
    float *plane = dx + p * in_plane;
    memset(plane, 0, (size_t)in_plane * sizeof *plane);
    for (int64_t oy = 0; oy < s->out_h; oy++) {
      const tap *r = &s->rows[oy];
      if (r->outside) continue;
      resize_row_adjoint(s, dy + p * out_plane + oy * s->out_w, r->weight, plane + r->low * s->in_w,
                         plane + r->high * s->in_w);
    }
  }
  return IPRO_OK;
}

/* ---- prepare ---- */

/* The taps of one axis from the reference's samples. */
static void copy_taps(const ipro_reference_axis_sample *samples, int64_t count, tap *taps) {
  for (int64_t o = 0; o < count; o++) {
    const ipro_reference_axis_sample *s = &samples[o];
    taps[o] = (tap){s->low, s->weight != 0.0 ? s->high : s->low, (float)s->weight, s->outside};
  }
}

/* Whether an axis's samples are all o → o with weight 0 (the axis is not resampled). */
static bool axis_is_identity(const ipro_reference_resize_plan *plan, int d) {
  if (plan->in.dims[d] != plan->out.dims[d]) return false;
  for (int64_t o = 0; o < plan->out.dims[d]; o++) {
    const ipro_reference_axis_sample *s = &plan->samples[d][o];
    if (s->low != o || s->weight != 0.0 || s->outside) return false;
  }
  return true;
}

/* x: the forward's input (dX for the adjoint), y: its output (dY). */
static ipro_status build(ipro_onednn_kernel *kernel, const ipro_node *node, const ipro_shape *x,
                         const ipro_shape *y, ipro_onednn_loop_fn loop, ipro_error *err) {
  if (x->rank != 4 || y->rank != 4)
    return ipro_onednn_unsupported(err, "rank %d (4 supported)", x->rank);
  ipro_reference_resize_plan plan;
  if (ipro_reference_resize_plan_make(node, x, y, &plan, err) != IPRO_OK) {
    char reason[sizeof err->message];
    snprintf(reason, sizeof reason, "%s", err->message);
    return ipro_onednn_unsupported(err, "%s", reason);
  }
  ipro_status status = IPRO_OK;
  if (!axis_is_identity(&plan, 0) || !axis_is_identity(&plan, 1)) {
    status = ipro_onednn_unsupported(err, "N or C is resampled");
    goto done;
  }
  int64_t out_h = y->dims[2], out_w = y->dims[3];
  resize_state *s =
      ipro_onednn_state_create(kernel, sizeof *s + (size_t)(out_h + out_w) * sizeof(tap), err);
  if (!s) {
    status = IPRO_ERROR;
    goto done;
  }
  s->planes = x->dims[0] * x->dims[1];
  s->in_h = x->dims[2], s->in_w = x->dims[3], s->out_h = out_h, s->out_w = out_w;
  s->extrapolation = plan.extrapolation;
  s->rows = (tap *)(s + 1);
  s->cols = s->rows + out_h;
  copy_taps(plan.samples[2], out_h, s->rows);
  copy_taps(plan.samples[3], out_w, s->cols);
  s->single_cols = true;
  for (int64_t ox = 0; ox < out_w; ox++)
    s->single_cols = s->single_cols && s->cols[ox].weight == 0.0f && !s->cols[ox].outside;
  s->identity = axis_is_identity(&plan, 2) && axis_is_identity(&plan, 3);
  status = ipro_onednn_add_loop_step(kernel, loop, err);
done:
  ipro_reference_resize_plan_free(&plan);
  return status;
}

ipro_status ipro_onednn_build_resize(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                     const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  return build(kernel, node, &x, &y, resize_run, err);
}

/* dY (Resize's output shape) → dX (input_shape, Resize's input). */
ipro_status ipro_onednn_build_resize_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err) {
  ipro_shape dy, dx;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err) ||
      ipro_onednn_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  return build(kernel, node, &dx, &dy, resize_grad_run, err);
}
