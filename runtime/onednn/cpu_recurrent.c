/* LSTM, GRU and RNN (ir/recurrent.h) and their gradient ipro.RecurrentGrad on the CPU backend:
 * the products as oneDNN's sgemm, the gates as C loops, in float32. Per direction, every step's
 * input product W x is one sgemm over all the steps' rows at once ([T·N, I] by [I, G·H]), and
 * each step adds R h, one sgemm over the batch ([N, H] by [H, G·H]; GRU without
 * linear_before_reset two, its h gate's after the reset gate). The gradient runs the steps
 * forward again keeping every step's gate values and states in planned workspace, then backwards:
 * each step's gate gradients by C loops, the state's gradient and R's by sgemms, and W's, X's and
 * the biases' once over all the steps at the end. The same arithmetic as the reference kernels
 * (runtime/reference/recurrent.c), in float32 and in another order: test_onednn_backward holds
 * the two together. The gates' loops run on every core (OpenMP), the sgemms too (oneDNN's
 * threads). A node with sequence_lens or peepholes (which PyTorch's exporters do not
 * write) runs on the reference kernels. */
#include <math.h>
#include <string.h>

#include "ir/recurrent.h"
#include "onednn_internal.h"

enum { D_X, D_W, D_R, D_B, D_INITIAL_H, D_INITIAL_C, D_P };

typedef struct {
  ipro_recurrent_form form;
  int64_t steps, batch, input, hidden, gh; /* T, N, I, H, G·H */
  int n_outputs; /* the forward node's (Y, Y_h, Y_c; each may be absent) */
  /* workspace offsets (floats): the gates of every step's rows, in X's row order ([T·N, G·H];
   * the forward pass keeps only the step's), the states before each step and after the last in
   * step order ([T + 1, N, H]: h, then LSTM's c), GRU's R_h h + Rb_h in X's row order, one
   * step's R products ([N, G·H]), and for the gradient the gates' gradients in X's row order, one
   * step's R-side gradients ([N, G·H]) and five [N, H] buffers */
  size_t gates_at, h_at, c_at, q_at, recurrent_at, dgates_at, drecurrent_at, rows_at;
} recurrent_state;

/* The gates' loops split over the batch across threads where the library has OpenMP (each batch
 * element's values are its own: the same bytes on any number of threads); the work counted for
 * that choice weighs each value by its exponential or hyperbolic tangent, some dozens of
 * operations. */
#define TRANSCENDENTAL_COST 8

static inline float activate(ipro_recurrent_activation f, float x) {
  switch (f) {
  case IPRO_RECURRENT_SIGMOID: return 1.0f / (1.0f + expf(-x));
  case IPRO_RECURRENT_TANH: return tanhf(x);
  default: return x > 0.0f ? x : 0.0f;
  }
}

/* The derivative from the activation's value alone (ReLU's is 1 exactly where its value is > 0). */
static inline float slope(ipro_recurrent_activation f, float y) {
  switch (f) {
  case IPRO_RECURRENT_SIGMOID: return y * (1.0f - y);
  case IPRO_RECURRENT_TANH: return 1.0f - y * y;
  default: return y > 0.0f ? 1.0f : 0.0f;
  }
}

/* C = alpha-free A · op(B) (+ C when accumulate), row-major, through oneDNN's sgemm. */
static ipro_status product(char trans_a, char trans_b, int64_t m, int64_t n, int64_t k,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                           int64_t ldc, bool accumulate, const ipro_onednn_kernel *kernel,
                           ipro_error *err) {
  if (m == 0 || n == 0) return IPRO_OK;
  if (dnnl_sgemm(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c,
                 ldc) != dnnl_success)
    return ipro_error_set(err, "%s: oneDNN's sgemm failed", kernel->label);
  return IPRO_OK;
}

/* The pointers a run works on. */
typedef struct {
  const recurrent_state *s;
  const ipro_onednn_kernel *kernel;
  const float *x, *w, *r, *b, *initial_h, *initial_c;
  float *gates, *h, *c, *q, *recurrent;
} run_view;

static run_view view_of(const ipro_onednn_kernel *kernel, void *const *inputs, char *workspace) {
  const recurrent_state *s = kernel->state;
  int n = kernel->n_inputs;
  run_view v = {s,
                kernel,
                inputs[IPRO_RECURRENT_X],
                inputs[IPRO_RECURRENT_W],
                inputs[IPRO_RECURRENT_R],
                n > IPRO_RECURRENT_B ? inputs[IPRO_RECURRENT_B] : NULL,
                n > IPRO_RECURRENT_INITIAL_H ? inputs[IPRO_RECURRENT_INITIAL_H] : NULL,
                n > IPRO_RECURRENT_INITIAL_C ? inputs[IPRO_RECURRENT_INITIAL_C] : NULL,
                (float *)(void *)(workspace + s->gates_at),
                (float *)(void *)(workspace + s->h_at),
                (float *)(void *)(workspace + s->c_at),
                (float *)(void *)(workspace + s->q_at),
                (float *)(void *)(workspace + s->recurrent_at)};
  return v;
}

/* Runs direction d forward: every step's gates kept in X's row order, every state in step order
 * (h, c: [T + 1, N, H]), GRU's q in X's row order. */
static ipro_status run_direction(const run_view *v, int d, ipro_error *err) {
  const recurrent_state *s = v->s;
  int64_t T = s->steps, N = s->batch, I = s->input, H = s->hidden, GH = s->gh, NH = N * H;
  bool gru = s->form.op == IPRO_OP_GRU, lstm = s->form.op == IPRO_OP_LSTM;
  const float *w = v->w + d * GH * I, *r = v->r + d * GH * H;
  const float *wb = v->b ? v->b + d * 2 * GH : NULL, *rb = wb ? wb + GH : NULL;
  const ipro_recurrent_activation *f = s->form.f[d];
  /* W x for every row at once, then the biases (R's too, but for GRU's h gate) */
  if (product('N', 'T', T * N, GH, I, v->x, I, w, I, v->gates, GH, false, v->kernel, err))
    return IPRO_ERROR;
  int64_t recurrent_rows = gru ? 2 * H : GH;
  if (wb)
    for (int64_t row = 0; row < T * N; row++)
      for (int64_t k = 0; k < GH; k++)
        v->gates[row * GH + k] += wb[k] + (k < recurrent_rows ? rb[k] : 0.0f);
  for (int64_t b = 0; b < N; b++)
    for (int64_t j = 0; j < H; j++) {
      int64_t at = ipro_recurrent_state_offset(&s->form, d, b) + j;
      v->h[b * H + j] = v->initial_h ? v->initial_h[at] : 0.0f;
      if (lstm) v->c[b * H + j] = v->initial_c ? v->initial_c[at] : 0.0f;
    }
  float *hr = v->recurrent;
  for (int64_t step = 0; step < T; step++) {
    int64_t t = ipro_recurrent_time(&s->form, d, step);
    const float *h = v->h + step * NH, *c = lstm ? v->c + step * NH : NULL;
    float *h_out = v->h + (step + 1) * NH, *c_out = lstm ? v->c + (step + 1) * NH : NULL;
    /* R h for the gates that take it (GRU under linear_before_reset: its h gate's too) */
    int64_t rows = gru && s->form.linear_before_reset ? GH : recurrent_rows;
    if (product('N', 'T', N, rows, H, h, H, r, H, hr, GH, false, v->kernel, err)) return IPRO_ERROR;
    IPRO_ONEDNN_PARALLEL_FOR(N * GH * TRANSCENDENTAL_COST)
    for (int64_t b = 0; b < N; b++) {
      float *g = v->gates + ipro_recurrent_row(&s->form, t, b) * GH;
      const float *p = hr + b * GH;
      switch (s->form.op) {
      case IPRO_OP_LSTM: /* i, o, f, c */
        for (int64_t k = 0; k < GH; k++)
          g[k] = activate(k >= 3 * H ? f[1] : f[0], g[k] + p[k]);
        for (int64_t j = 0; j < H; j++) {
          float cell = g[2 * H + j] * c[b * H + j] + g[j] * g[3 * H + j];
          c_out[b * H + j] = cell;
          h_out[b * H + j] = g[H + j] * activate(f[2], cell);
        }
        break;
      case IPRO_OP_GRU: /* z, r; the h gate below */
        for (int64_t k = 0; k < 2 * H; k++)
          g[k] = activate(f[0], g[k] + p[k]);
        break;
      default:
        for (int64_t j = 0; j < H; j++)
          h_out[b * H + j] = g[j] = activate(f[0], g[j] + p[j]);
      }
    }
    if (!gru) continue;
    const float *rb_h = rb ? rb + 2 * H : NULL;
    if (!s->form.linear_before_reset) {
      /* R_h (r ⊙ h): r ⊙ h in h_out first, the product into hr's h columns */
      for (int64_t b = 0; b < N; b++)
        for (int64_t j = 0; j < H; j++)
          h_out[b * H + j] =
              v->gates[ipro_recurrent_row(&s->form, t, b) * GH + H + j] * h[b * H + j];
      if (product('N', 'T', N, H, H, h_out, H, r + 2 * H * H, H, hr + 2 * H, GH, false, v->kernel,
                  err))
        return IPRO_ERROR;
    }
    IPRO_ONEDNN_PARALLEL_FOR(N * GH * TRANSCENDENTAL_COST)
    for (int64_t b = 0; b < N; b++) {
      float *g = v->gates + ipro_recurrent_row(&s->form, t, b) * GH,
            *q = v->q + ipro_recurrent_row(&s->form, t, b) * H;
      for (int64_t j = 0; j < H; j++) {
        q[j] = hr[b * GH + 2 * H + j] + (rb_h ? rb_h[j] : 0.0f);
        float pre = g[2 * H + j] + (s->form.linear_before_reset ? g[H + j] * q[j] : q[j]);
        g[2 * H + j] = activate(f[1], pre);
        h_out[b * H + j] = (1.0f - g[j]) * g[2 * H + j] + g[j] * h[b * H + j];
      }
    }
  }
  return IPRO_OK;
}

static ipro_status forward_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                               void *const *outputs, char *workspace, uint64_t step,
                               ipro_error *err) {
  (void)step;
  run_view v = view_of(kernel, inputs, workspace);
  const recurrent_state *s = v.s;
  int64_t T = s->steps, N = s->batch, H = s->hidden, NH = N * H;
  float *y = outputs[0], *y_h = s->n_outputs > 1 ? outputs[1] : NULL;
  float *y_c = s->n_outputs > 2 ? outputs[2] : NULL;
  for (int d = 0; d < s->form.directions; d++) {
    if (run_direction(&v, d, err)) return IPRO_ERROR;
    for (int64_t step = 0; y && step < T; step++)
      for (int64_t b = 0; b < N; b++)
        memcpy(y + ipro_recurrent_y_offset(&s->form, ipro_recurrent_time(&s->form, d, step), d, b),
               v.h + (step + 1) * NH + b * H, (size_t)H * sizeof *y);
    for (int64_t b = 0; b < N; b++) {
      if (y_h)
        memcpy(y_h + ipro_recurrent_state_offset(&s->form, d, b), v.h + T * NH + b * H,
               (size_t)H * sizeof *y_h);
      if (y_c)
        memcpy(y_c + ipro_recurrent_state_offset(&s->form, d, b), v.c + T * NH + b * H,
               (size_t)H * sizeof *y_c);
    }
  }
  return IPRO_OK;
}

/* Column sums of a [rows, columns] matrix added into sums. */
static void add_column_sums(const float *m, int64_t rows, int64_t columns, float *sums) {
  for (int64_t row = 0; row < rows; row++)
    for (int64_t k = 0; k < columns; k++)
      sums[k] += m[row * columns + k];
}

/* One step of the gradient for every batch element: from dh and dc (the gradients of the step's
 * new h and c) the gates' gradients (into dgates, X's row order), the R side's (drec, [N, G·H]:
 * GRU's h gate's is that of R_h h + Rb_h under linear_before_reset), the elementwise part of
 * dh_prev and LSTM's dc_prev (into dc_new). GRU without linear_before_reset leaves its reset
 * gate's to after the product R_hᵀ (see backward_step). */
static void gate_gradients(const run_view *v, int d, int64_t step, const float *dh, const float *dc,
                           float *dgates, float *drec, float *dh_prev, float *dc_new) {
  const recurrent_state *s = v->s;
  int64_t N = s->batch, H = s->hidden, GH = s->gh, NH = N * H,
          t = ipro_recurrent_time(&s->form, d, step);
  const ipro_recurrent_activation *f = s->form.f[d];
  IPRO_ONEDNN_PARALLEL_FOR(N * GH * TRANSCENDENTAL_COST)
  for (int64_t b = 0; b < N; b++) {
    const float *a = v->gates + ipro_recurrent_row(&s->form, t, b) * GH,
                *h = v->h + step * NH + b * H;
    float *g = dgates + ipro_recurrent_row(&s->form, t, b) * GH, *gr = drec + b * GH;
    const float *dh_b = dh + b * H;
    switch (s->form.op) {
    case IPRO_OP_LSTM: {
      const float *c = v->c + step * NH + b * H, *c_out = v->c + (step + 1) * NH + b * H;
      for (int64_t j = 0; j < H; j++) {
        float tanh_c = activate(f[2], c_out[j]);
        float dcell = dc[b * H + j] + dh_b[j] * a[H + j] * slope(f[2], tanh_c);
        g[H + j] = dh_b[j] * tanh_c * slope(f[0], a[H + j]);
        g[j] = dcell * a[3 * H + j] * slope(f[0], a[j]);
        g[2 * H + j] = dcell * c[j] * slope(f[0], a[2 * H + j]);
        g[3 * H + j] = dcell * a[j] * slope(f[1], a[3 * H + j]);
        dc_new[b * H + j] = dcell * a[2 * H + j];
        dh_prev[b * H + j] = 0.0f;
      }
      memcpy(gr, g, (size_t)GH * sizeof *gr);
      break;
    }
    case IPRO_OP_GRU: {
      const float *q = v->q + ipro_recurrent_row(&s->form, t, b) * H;
      for (int64_t j = 0; j < H; j++) {
        g[j] = dh_b[j] * (h[j] - a[2 * H + j]) * slope(f[0], a[j]);
        g[2 * H + j] = dh_b[j] * (1.0f - a[j]) * slope(f[1], a[2 * H + j]);
        dh_prev[b * H + j] = dh_b[j] * a[j];
        gr[j] = g[j];
        if (s->form.linear_before_reset) {
          g[H + j] = g[2 * H + j] * q[j] * slope(f[0], a[H + j]);
          gr[H + j] = g[H + j];
          gr[2 * H + j] = g[2 * H + j] * a[H + j];
        } else {
          gr[2 * H + j] = g[2 * H + j];
        }
      }
      break;
    }
    default:
      for (int64_t j = 0; j < H; j++) {
        gr[j] = g[j] = dh_b[j] * slope(f[0], a[j]);
        dh_prev[b * H + j] = 0.0f;
      }
    }
  }
}

/* The step's gradient through R: dh_prev += drecᵀ-side products, dR += drecᵀ h (GRU without
 * linear_before_reset: its h gate's rows against r ⊙ h, and its reset gate's gradient from
 * R_hᵀ first), dRb += drec's column sums. */
static ipro_status backward_step(const run_view *v, int d, int64_t step, float *dgates, float *drec,
                                 float *dh_prev, float *reset, float *dr, float *drb,
                                 ipro_error *err) {
  const recurrent_state *s = v->s;
  int64_t N = s->batch, H = s->hidden, GH = s->gh, NH = N * H,
          t = ipro_recurrent_time(&s->form, d, step);
  const float *r = v->r + d * GH * H, *h = v->h + step * NH;
  int64_t rows = GH;
  if (s->form.op == IPRO_OP_GRU && !s->form.linear_before_reset) {
    /* pre_h = W x + R_h (r ⊙ h) + ...: d(r ⊙ h) = g_h R_h, then r's gradient, h's share */
    const ipro_recurrent_activation *f = s->form.f[d];
    for (int64_t b = 0; b < N; b++)
      for (int64_t j = 0; j < H; j++)
        reset[b * H + j] = v->gates[ipro_recurrent_row(&s->form, t, b) * GH + H + j] * h[b * H + j];
    if (product('T', 'N', H, H, N, drec + 2 * H, GH, reset, H, dr + 2 * H * H, H, true, v->kernel,
                err))
      return IPRO_ERROR;
    float *d_reset = reset; /* r ⊙ h is not needed again */
    if (product('N', 'N', N, H, H, drec + 2 * H, GH, r + 2 * H * H, H, d_reset, H, false, v->kernel,
                err))
      return IPRO_ERROR;
    for (int64_t b = 0; b < N; b++) {
      float *g = dgates + ipro_recurrent_row(&s->form, t, b) * GH;
      const float *a = v->gates + ipro_recurrent_row(&s->form, t, b) * GH;
      for (int64_t j = 0; j < H; j++) {
        dh_prev[b * H + j] += d_reset[b * H + j] * a[H + j];
        g[H + j] = d_reset[b * H + j] * h[b * H + j] * slope(f[0], a[H + j]);
        drec[b * GH + H + j] = g[H + j];
      }
    }
    rows = 2 * H;
  }
  add_column_sums(drec, N, GH, drb);
  if (product('T', 'N', rows, H, N, drec, GH, h, H, dr, H, true, v->kernel, err) ||
      product('N', 'N', N, H, rows, drec, GH, r, H, dh_prev, H, true, v->kernel, err))
    return IPRO_ERROR;
  return IPRO_OK;
}

static ipro_status gradient_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                void *const *outputs, char *workspace, uint64_t step,
                                ipro_error *err) {
  (void)step;
  run_view v = view_of(kernel, inputs, workspace);
  const recurrent_state *s = v.s;
  int n = kernel->n_inputs;
  const float *dy = n > IPRO_RECURRENT_D_Y ? inputs[IPRO_RECURRENT_D_Y] : NULL,
              *dy_h = n > IPRO_RECURRENT_D_Y_H ? inputs[IPRO_RECURRENT_D_Y_H] : NULL;
  const float *dy_c = n > IPRO_RECURRENT_D_Y_C ? inputs[IPRO_RECURRENT_D_Y_C] : NULL;
  int64_t T = s->steps, N = s->batch, I = s->input, H = s->hidden, GH = s->gh, NH = N * H;
  bool lstm = s->form.op == IPRO_OP_LSTM;
  float *dx = outputs[D_X], *dw = outputs[D_W], *dr = outputs[D_R], *db = outputs[D_B];
  float *dh0 = outputs[D_INITIAL_H], *dc0 = lstm ? outputs[D_INITIAL_C] : NULL;
  float *dgates = (float *)(void *)(workspace + s->dgates_at);
  float *drec = (float *)(void *)(workspace + s->drecurrent_at);
  float *dh = (float *)(void *)(workspace + s->rows_at), *dc = dh + NH, *dh_prev = dc + NH;
  float *dc_new = dh_prev + NH, *reset = dc_new + NH;
  int directions = s->form.directions;
  memset(dr, 0, (size_t)(directions * GH * H) * sizeof *dr);
  memset(db, 0, (size_t)(directions * 2 * GH) * sizeof *db);
  if (lstm) memset(outputs[D_P], 0, (size_t)(directions * 3 * H) * sizeof(float)); /* no P here */
  for (int d = 0; d < directions; d++) {
    if (run_direction(&v, d, err)) return IPRO_ERROR;
    for (int64_t b = 0; b < N; b++)
      for (int64_t j = 0; j < H; j++) {
        int64_t at = ipro_recurrent_state_offset(&s->form, d, b) + j;
        dh[b * H + j] = dy_h ? dy_h[at] : 0.0f;
        dc[b * H + j] = lstm && dy_c ? dy_c[at] : 0.0f;
      }
    float *dr_d = dr + d * GH * H, *drb = db + d * 2 * GH + GH;
    for (int64_t k = T - 1; k >= 0; k--) {
      int64_t t = ipro_recurrent_time(&s->form, d, k);
      for (int64_t b = 0; dy && b < N; b++)
        for (int64_t j = 0; j < H; j++)
          dh[b * H + j] += dy[ipro_recurrent_y_offset(&s->form, t, d, b) + j];
      gate_gradients(&v, d, k, dh, dc, dgates, drec, dh_prev, dc_new);
      if (backward_step(&v, d, k, dgates, drec, dh_prev, reset, dr_d, drb, err)) return IPRO_ERROR;
      memcpy(dh, dh_prev, (size_t)NH * sizeof *dh);
      if (lstm) memcpy(dc, dc_new, (size_t)NH * sizeof *dc);
    }
    for (int64_t b = 0; b < N; b++) {
      memcpy(dh0 + ipro_recurrent_state_offset(&s->form, d, b), dh + b * H,
             (size_t)H * sizeof *dh0);
      if (dc0)
        memcpy(dc0 + ipro_recurrent_state_offset(&s->form, d, b), dc + b * H,
               (size_t)H * sizeof *dc0);
    }
    /* through W x + Wb, over every step's rows at once */
    add_column_sums(dgates, T * N, GH, db + d * 2 * GH);
    if (product('T', 'N', GH, I, T * N, dgates, GH, v.x, I, dw + d * GH * I, I, false, kernel,
                err) ||
        product('N', 'N', T * N, I, GH, dgates, GH, v.w + d * GH * I, I, dx, I, d > 0, kernel, err))
      return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* LSTM, GRU, RNN (inputs X, W, R, [B], -, [initial_h], [initial_c]) or ipro.RecurrentGrad (the
 * same, then dY, dY_h, dY_c): float32, no sequence_lens, no peepholes. */
ipro_status ipro_onednn_build_recurrent(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                        const ipro_node *node, ipro_error *err) {
  bool gradient = node->op == IPRO_OP_RECURRENT_GRAD;
  ipro_op op = gradient ? (ipro_op)ipro_node_attr_int(node, "forward_op", IPRO_OP_LSTM) : node->op;
  if ((node->n_inputs > IPRO_RECURRENT_SEQUENCE_LENS &&
       node->inputs[IPRO_RECURRENT_SEQUENCE_LENS] >= 0) ||
      (node->n_inputs > IPRO_RECURRENT_P && node->inputs[IPRO_RECURRENT_P] >= 0))
    return ipro_onednn_unsupported(err, "sequence_lens and peepholes run on the reference");
  recurrent_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  char message[160];
  if (ipro_recurrent_form_of(node, op, &s->form, message, sizeof message))
    return ipro_onednn_unsupported(err, "%s", message);
  if (!ipro_recurrent_node_fits(graph, node, gradient, &s->form, &s->input))
    return ipro_onednn_unsupported(err, "the tensors' shapes do not fit the op's form");
  s->steps = s->form.steps;
  s->batch = s->form.batch;
  s->hidden = s->form.hidden;
  s->gh = s->form.gates * s->hidden;
  s->n_outputs = node->n_outputs;
  size_t rows = (size_t)(s->steps * s->batch), states = (size_t)((s->steps + 1) * s->batch);
  size_t gh = (size_t)s->gh, hidden = (size_t)s->hidden, f = sizeof(float);
  s->gates_at = ipro_onednn_reserve(kernel, rows * gh * f);
  s->h_at = ipro_onednn_reserve(kernel, states * hidden * f);
  s->c_at = ipro_onednn_reserve(kernel, op == IPRO_OP_LSTM ? states * hidden * f : f);
  s->q_at = ipro_onednn_reserve(kernel, op == IPRO_OP_GRU ? rows * hidden * f : f);
  s->recurrent_at = ipro_onednn_reserve(kernel, (size_t)s->batch * gh * f);
  if (gradient) {
    s->dgates_at = ipro_onednn_reserve(kernel, rows * gh * f);
    s->drecurrent_at = ipro_onednn_reserve(kernel, (size_t)s->batch * gh * f);
    s->rows_at = ipro_onednn_reserve(kernel, 5 * (size_t)s->batch * hidden * f);
  }
  return ipro_onednn_add_loop_step(kernel, gradient ? gradient_run : forward_run, err);
}
