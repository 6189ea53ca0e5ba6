/* Reference kernels of the recurrent ops LSTM, GRU and RNN (ir/recurrent.h) and of their
 * gradient, ipro.RecurrentGrad (codegen/internal_ops.md): back-propagation through time, the
 * forward steps recomputed first with every step's state kept.
 *
 * Per direction the steps run from the first to the last (from the last for "reverse" and for a
 * bidirectional op's second direction). With sequence_lens a batch element's steps at and after
 * its length do not run: its state passes through them unchanged and Y there is 0, so Y_h is the
 * state after its last step, as ONNX specifies, in either direction. */
#include <stdlib.h>
#include <string.h>

#include "ir/recurrent.h"
#include "reference_ops.h"

enum { OUT_Y, OUT_Y_H, OUT_Y_C };
enum { D_X, D_W, D_R, D_B, D_INITIAL_H, D_INITIAL_C, D_P };

typedef struct {
  ipro_recurrent_form form;
  int64_t steps, batch, input, hidden, gates; /* T, N, I, H, G */
  const double *x, *w, *r, *b, *initial_h, *initial_c, *p;
  const void *lens;
  bool lens_int32;
} recurrence;

/* Reads the node's form and shapes and the forward op's inputs. */
static ipro_status read_recurrence(const ipro_graph *graph, const ipro_node *node, ipro_op op,
                                   void *const *inputs, recurrence *rc, ipro_error *err) {
  memset(rc, 0, sizeof *rc);
  char message[160];
  if (ipro_recurrent_form_of(node, op, &rc->form, message, sizeof message))
    return ipro_reference_fail(node, err, "%s", message);
  int64_t input;
  if (!ipro_recurrent_node_fits(graph, node, node->op == IPRO_OP_RECURRENT_GRAD, &rc->form, &input))
    return ipro_reference_fail(node, err, "the tensors' shapes do not fit the op's form");
  rc->steps = rc->form.steps;
  rc->batch = rc->form.batch;
  rc->input = input;
  rc->hidden = rc->form.hidden;
  rc->gates = rc->form.gates;
  int n = node->n_inputs;
  rc->x = inputs[IPRO_RECURRENT_X];
  rc->w = inputs[IPRO_RECURRENT_W];
  rc->r = inputs[IPRO_RECURRENT_R];
  rc->b = ipro_reference_optional(inputs, n, IPRO_RECURRENT_B);
  rc->lens = ipro_reference_optional(inputs, n, IPRO_RECURRENT_SEQUENCE_LENS);
  rc->initial_h = ipro_reference_optional(inputs, n, IPRO_RECURRENT_INITIAL_H);
  rc->initial_c = ipro_reference_optional(inputs, n, IPRO_RECURRENT_INITIAL_C);
  rc->p = ipro_reference_optional(inputs, n, IPRO_RECURRENT_P);
  if (rc->lens) {
    rc->lens_int32 =
        ipro_node_input(graph, node, IPRO_RECURRENT_SEQUENCE_LENS)->dtype == IPRO_DTYPE_INT32;
    for (int64_t b = 0; b < rc->batch; b++) {
      int64_t length =
          rc->lens_int32 ? ((const int32_t *)rc->lens)[b] : ((const int64_t *)rc->lens)[b];
      if (length < 0 || length > rc->steps)
        return ipro_reference_fail(node, err, "sequence_lens[%lld] = %lld outside [0, %lld]",
                                   (long long)b, (long long)length, (long long)rc->steps);
    }
  }
  return IPRO_OK;
}

static bool runs(const recurrence *rc, int64_t b, int64_t t) {
  if (!rc->lens) return true;
  return t < (rc->lens_int32 ? ((const int32_t *)rc->lens)[b] : ((const int64_t *)rc->lens)[b]);
}

static const double *x_at(const recurrence *rc, int64_t t, int64_t b) {
  return rc->x + ipro_recurrent_row(&rc->form, t, b) * rc->input;
}

/* What one step keeps for its gradient: each gate's activation input (pre) and output (act),
 * G·H each, and GRU's R·h + Rb of its h gate (q, H) under linear_before_reset. */
typedef struct {
  double *pre, *act, *q;
} step_values;

/* sum[k] += Σ_m matrix[k, m] · v[m] for rows k of [begin, end) of a row-major [rows, columns]. */
static void add_product(const double *matrix, int64_t columns, const double *v, int64_t begin,
                        int64_t end, double *sum) {
  for (int64_t k = begin; k < end; k++) {
    double total = 0.0;
    for (int64_t m = 0; m < columns; m++)
      total += matrix[k * columns + m] * v[m];
    sum[k] += total;
  }
}

/* One step of direction d for one batch element: from its input x and state h (and LSTM's c) to
 * the new state h_out (c_out), keeping the gates in v. */
static void step_forward(const recurrence *rc, int d, const double *x, const double *h,
                         const double *c, step_values *v, double *h_out, double *c_out) {
  int64_t H = rc->hidden, GH = rc->gates * H;
  const double *w = rc->w + d * GH * rc->input, *r = rc->r + d * GH * H;
  const double *wb = rc->b ? rc->b + d * 2 * GH : NULL, *rb = wb ? wb + GH : NULL;
  const ipro_recurrent_activation *f = rc->form.f[d];
  /* W x + Wb for every gate, R h + Rb for all but GRU's h gate */
  int64_t recurrent_rows = rc->form.op == IPRO_OP_GRU ? 2 * H : GH;
  for (int64_t k = 0; k < GH; k++)
    v->pre[k] = (wb ? wb[k] : 0.0) + (rb && k < recurrent_rows ? rb[k] : 0.0);
  add_product(w, rc->input, x, 0, GH, v->pre);
  add_product(r, H, h, 0, recurrent_rows, v->pre);
  double *pre = v->pre, *act = v->act;
  switch (rc->form.op) {
  case IPRO_OP_LSTM: { /* gates i, o, f, c; peepholes i, o, f */
    const double *p = rc->p ? rc->p + d * 3 * H : NULL;
    for (int64_t j = 0; j < H; j++) {
      if (p) pre[j] += p[j] * c[j], pre[2 * H + j] += p[2 * H + j] * c[j];
      act[j] = ipro_recurrent_apply(f[0], pre[j]);
      act[2 * H + j] = ipro_recurrent_apply(f[0], pre[2 * H + j]);
      act[3 * H + j] = ipro_recurrent_apply(f[1], pre[3 * H + j]);
      c_out[j] = act[2 * H + j] * c[j] + act[j] * act[3 * H + j];
      if (p) pre[H + j] += p[H + j] * c_out[j];
      act[H + j] = ipro_recurrent_apply(f[0], pre[H + j]);
      h_out[j] = act[H + j] * ipro_recurrent_apply(f[2], c_out[j]);
    }
    break;
  }
  case IPRO_OP_GRU: { /* gates z, r, h */
    for (int64_t k = 0; k < 2 * H; k++)
      act[k] = ipro_recurrent_apply(f[0], pre[k]);
    const double *r_h = r + 2 * H * H, *rb_h = rb ? rb + 2 * H : NULL;
    for (int64_t j = 0; j < H; j++)
      v->q[j] = rb_h ? rb_h[j] : 0.0;
    if (rc->form.linear_before_reset) {
      add_product(r_h, H, h, 0, H, v->q);
      for (int64_t j = 0; j < H; j++)
        pre[2 * H + j] += act[H + j] * v->q[j];
    } else {
      double *reset = h_out; /* r ⊙ h, before h_out is written */
      for (int64_t m = 0; m < H; m++)
        reset[m] = act[H + m] * h[m];
      add_product(r_h, H, reset, 0, H, v->q);
      for (int64_t j = 0; j < H; j++)
        pre[2 * H + j] += v->q[j];
    }
    for (int64_t j = 0; j < H; j++) {
      act[2 * H + j] = ipro_recurrent_apply(f[1], pre[2 * H + j]);
      h_out[j] = (1.0 - act[j]) * act[2 * H + j] + act[j] * h[j];
    }
    break;
  }
  default:
    for (int64_t j = 0; j < H; j++)
      h_out[j] = act[j] = ipro_recurrent_apply(f[0], pre[j]);
  }
}

/* The gradients an element's step adds to the weights of its direction. */
typedef struct {
  double *w, *r, *b, *p; /* dW, dR, dB and dP of the direction */
} weight_gradients;

/* dR[k, m] += g[k] · u[m], dRb[k] += g[k] and into_u[m] += Σ_k R[k, m] · g[k] over rows k of
 * [begin, end): the gradient through R u + Rb. */
static void through_recurrent(const double *r, int64_t H, const double *g, const double *u,
                              int64_t begin, int64_t end, double *dr, double *drb, double *into_u) {
  for (int64_t k = begin; k < end; k++) {
    if (drb) drb[k] += g[k];
    for (int64_t m = 0; m < H; m++) {
      dr[k * H + m] += g[k] * u[m];
      into_u[m] += r[k * H + m] * g[k];
    }
  }
}

/* The step's gradient: from dh and dc, those of its h_out and c_out, to g (G·H: the gradient of
 * each gate's W x + Wb), dh_prev and dc_prev, adding R's, Rb's and P's to dw. */
static void step_backward(const recurrence *rc, int d, const double *h, const double *c,
                          const double *c_out, const step_values *v, const double *dh,
                          const double *dc, double *g, double *dh_prev, double *dc_prev,
                          const weight_gradients *dw, double *scratch) {
  int64_t H = rc->hidden, GH = rc->gates * H;
  const double *r = rc->r + d * GH * H, *pre = v->pre, *act = v->act;
  const ipro_recurrent_activation *f = rc->form.f[d];
  double *drb = dw->b + GH;
  memset(dh_prev, 0, (size_t)H * sizeof *dh_prev);
  switch (rc->form.op) {
  case IPRO_OP_LSTM: {
    const double *p = rc->p ? rc->p + d * 3 * H : NULL;
    for (int64_t j = 0; j < H; j++) {
      double tanh_c = ipro_recurrent_apply(f[2], c_out[j]);
      double g_o = dh[j] * tanh_c * ipro_recurrent_derivative(f[0], pre[H + j], act[H + j]);
      double dc_out =
          dc[j] + dh[j] * act[H + j] * ipro_recurrent_derivative(f[2], c_out[j], tanh_c);
      if (p) dc_out += g_o * p[H + j], dw->p[H + j] += g_o * c_out[j];
      double g_i = dc_out * act[3 * H + j] * ipro_recurrent_derivative(f[0], pre[j], act[j]);
      double g_f = dc_out * c[j] * ipro_recurrent_derivative(f[0], pre[2 * H + j], act[2 * H + j]);
      double g_c =
          dc_out * act[j] * ipro_recurrent_derivative(f[1], pre[3 * H + j], act[3 * H + j]);
      dc_prev[j] = dc_out * act[2 * H + j];
      if (p) {
        dc_prev[j] += g_i * p[j] + g_f * p[2 * H + j];
        dw->p[j] += g_i * c[j];
        dw->p[2 * H + j] += g_f * c[j];
      }
      g[j] = g_i, g[H + j] = g_o, g[2 * H + j] = g_f, g[3 * H + j] = g_c;
    }
    through_recurrent(r, H, g, h, 0, GH, dw->r, drb, dh_prev);
    break;
  }
  case IPRO_OP_GRU: {
    const double *r_h = r + 2 * H * H;
    double *g_h = g + 2 * H, *dr_gate = scratch, *reset = scratch + H;
    for (int64_t j = 0; j < H; j++) {
      g[j] = dh[j] * (h[j] - act[2 * H + j]) * ipro_recurrent_derivative(f[0], pre[j], act[j]);
      g_h[j] =
          dh[j] * (1.0 - act[j]) * ipro_recurrent_derivative(f[1], pre[2 * H + j], act[2 * H + j]);
      dh_prev[j] = dh[j] * act[j];
      dr_gate[j] = 0.0;
    }
    if (rc->form.linear_before_reset) {
      /* pre_h = W x + Wb + r ⊙ q, q = R_h h + Rb_h */
      double *g_q = reset;
      for (int64_t j = 0; j < H; j++) {
        dr_gate[j] = g_h[j] * v->q[j];
        g_q[j] = g_h[j] * act[H + j];
      }
      for (int64_t j = 0; j < H; j++) {
        drb[2 * H + j] += g_q[j];
        for (int64_t m = 0; m < H; m++) {
          dw->r[(2 * H + j) * H + m] += g_q[j] * h[m];
          dh_prev[m] += r_h[j * H + m] * g_q[j];
        }
      }
    } else {
      /* pre_h = W x + Wb + R_h (r ⊙ h) + Rb_h */
      double *d_reset = dr_gate; /* the gradient of r ⊙ h first, then r's */
      for (int64_t m = 0; m < H; m++)
        reset[m] = act[H + m] * h[m];
      through_recurrent(r, H, g, reset, 2 * H, 3 * H, dw->r, drb, d_reset);
      for (int64_t m = 0; m < H; m++) {
        dh_prev[m] += d_reset[m] * act[H + m];
        d_reset[m] *= h[m];
      }
    }
    for (int64_t j = 0; j < H; j++)
      g[H + j] = dr_gate[j] * ipro_recurrent_derivative(f[0], pre[H + j], act[H + j]);
    through_recurrent(r, H, g, h, 0, 2 * H, dw->r, drb, dh_prev);
    break;
  }
  default:
    for (int64_t j = 0; j < H; j++)
      g[j] = dh[j] * ipro_recurrent_derivative(f[0], pre[j], act[j]);
    through_recurrent(r, H, g, h, 0, GH, dw->r, drb, dh_prev);
  }
}

/* The state history of one direction: the state before each processing step and after the last,
 * [T + 1, N, H] each, and one step's values. */
typedef struct {
  double *h, *c, *values;
  step_values v;
} history;

static void release_history(history *k) {
  free(k->h);
  free(k->c);
  free(k->values);
}

static ipro_status make_history(const recurrence *rc, const ipro_node *node, history *k,
                                ipro_error *err) {
  size_t states = (size_t)((rc->steps + 1) * rc->batch * rc->hidden);
  size_t gates = (size_t)(rc->gates * rc->hidden), hidden = (size_t)rc->hidden;
  k->h = malloc((states ? states : 1) * sizeof(double));
  k->c = malloc((states ? states : 1) * sizeof(double));
  k->values = malloc((2 * gates + 4 * hidden) * sizeof(double));
  if (!k->h || !k->c || !k->values) {
    release_history(k);
    return ipro_reference_fail(node, err, "out of memory for the steps' states");
  }
  k->v = (step_values){k->values, k->values + gates, k->values + 2 * gates};
  return IPRO_OK;
}

/* Runs direction d through every step from the initial states, keeping the states in k. */
static void run_direction(const recurrence *rc, int d, history *k) {
  int64_t H = rc->hidden, NH = rc->batch * H;
  for (int64_t b = 0; b < rc->batch; b++)
    for (int64_t j = 0; j < H; j++) {
      int64_t at = ipro_recurrent_state_offset(&rc->form, d, b) + j;
      k->h[b * H + j] = rc->initial_h ? rc->initial_h[at] : 0.0;
      k->c[b * H + j] = rc->initial_c ? rc->initial_c[at] : 0.0;
    }
  for (int64_t s = 0; s < rc->steps; s++) {
    int64_t t = ipro_recurrent_time(&rc->form, d, s);
    for (int64_t b = 0; b < rc->batch; b++) {
      const double *h = k->h + s * NH + b * H, *c = k->c + s * NH + b * H;
      double *h_out = k->h + (s + 1) * NH + b * H, *c_out = k->c + (s + 1) * NH + b * H;
      if (runs(rc, b, t))
        step_forward(rc, d, x_at(rc, t, b), h, c, &k->v, h_out, c_out);
      else {
        memcpy(h_out, h, (size_t)H * sizeof *h);
        memcpy(c_out, c, (size_t)H * sizeof *c);
      }
    }
  }
}

IPRO_REFERENCE_KERNEL(ipro_reference_recurrent) {
  (void)context;
  recurrence rc;
  if (read_recurrence(graph, node, node->op, inputs, &rc, err)) return IPRO_ERROR;
  double *y = ipro_reference_optional(outputs, node->n_outputs, OUT_Y);
  double *y_h = ipro_reference_optional(outputs, node->n_outputs, OUT_Y_H);
  double *y_c = ipro_reference_optional(outputs, node->n_outputs, OUT_Y_C);
  history k;
  if (make_history(&rc, node, &k, err)) return IPRO_ERROR;
  int64_t H = rc.hidden, NH = rc.batch * H;
  for (int d = 0; d < rc.form.directions; d++) {
    run_direction(&rc, d, &k);
    for (int64_t s = 0; y && s < rc.steps; s++) {
      int64_t t = ipro_recurrent_time(&rc.form, d, s);
      for (int64_t b = 0; b < rc.batch; b++) {
        double *out = y + ipro_recurrent_y_offset(&rc.form, t, d, b);
        if (runs(&rc, b, t))
          memcpy(out, k.h + (s + 1) * NH + b * H, (size_t)H * sizeof *out);
        else
          memset(out, 0, (size_t)H * sizeof *out);
      }
    }
    for (int64_t b = 0; b < rc.batch; b++) {
      if (y_h)
        memcpy(y_h + ipro_recurrent_state_offset(&rc.form, d, b), k.h + rc.steps * NH + b * H,
               (size_t)H * sizeof *y_h);
      if (y_c)
        memcpy(y_c + ipro_recurrent_state_offset(&rc.form, d, b), k.c + rc.steps * NH + b * H,
               (size_t)H * sizeof *y_c);
    }
  }
  release_history(&k);
  return IPRO_OK;
}

/* The gradients of X, W, R, B, the initial states and P from those of Y, Y_h and Y_c (each may
 * be absent: no gradient reaches that output). */
IPRO_REFERENCE_KERNEL(ipro_reference_recurrent_grad) {
  (void)context;
  recurrence rc;
  ipro_op op = (ipro_op)ipro_node_attr_int(node, "forward_op", IPRO_OP_LSTM);
  if (read_recurrence(graph, node, op, inputs, &rc, err)) return IPRO_ERROR;
  int n = node->n_inputs;
  const double *dy = ipro_reference_optional(inputs, n, IPRO_RECURRENT_D_Y);
  const double *dy_h = ipro_reference_optional(inputs, n, IPRO_RECURRENT_D_Y_H);
  const double *dy_c = ipro_reference_optional(inputs, n, IPRO_RECURRENT_D_Y_C);
  int64_t H = rc.hidden, NH = rc.batch * H, GH = rc.gates * H, D = rc.form.directions;
  double *dx = outputs[D_X], *dw = outputs[D_W], *dr = outputs[D_R], *db = outputs[D_B];
  double *dh0 = outputs[D_INITIAL_H];
  bool lstm = op == IPRO_OP_LSTM;
  double *dc0 = lstm ? outputs[D_INITIAL_C] : NULL, *dp = lstm ? outputs[D_P] : NULL;
  memset(dx, 0, (size_t)(rc.steps * rc.batch * rc.input) * sizeof *dx);
  memset(dw, 0, (size_t)(D * GH * rc.input) * sizeof *dw);
  memset(dr, 0, (size_t)(D * GH * H) * sizeof *dr);
  memset(db, 0, (size_t)(D * 2 * GH) * sizeof *db);
  if (dp) memset(dp, 0, (size_t)(D * 3 * H) * sizeof *dp);
  history k;
  if (make_history(&rc, node, &k, err)) return IPRO_ERROR;
  /* per element: the carried dh and dc, the step's dh_prev and dc_prev, its gate gradient g */
  double *carried = malloc((size_t)(4 * NH + GH + 4 * H + 1) * sizeof(double));
  if (!carried) {
    release_history(&k);
    return ipro_reference_fail(node, err, "out of memory for the steps' gradients");
  }
  double *dh = carried, *dc = dh + NH, *dh_prev = dc + NH, *dc_prev = dh_prev + NH;
  memset(dc_prev, 0, (size_t)NH * sizeof *dc_prev); /* GRU and RNN have no cell state */
  double *g = dc_prev + NH, *scratch = g + GH, *recomputed = scratch + 2 * H;
  for (int d = 0; d < D; d++) {
    run_direction(&rc, d, &k);
    weight_gradients grads = {dw + d * GH * rc.input, dr + d * GH * H, db + d * 2 * GH,
                              dp ? dp + d * 3 * H : scratch};
    const double *w = rc.w + d * GH * rc.input;
    for (int64_t b = 0; b < rc.batch; b++)
      for (int64_t j = 0; j < H; j++) {
        int64_t at = ipro_recurrent_state_offset(&rc.form, d, b) + j;
        dh[b * H + j] = dy_h ? dy_h[at] : 0.0;
        dc[b * H + j] = lstm && dy_c ? dy_c[at] : 0.0;
      }
    for (int64_t s = rc.steps - 1; s >= 0; s--) {
      int64_t t = ipro_recurrent_time(&rc.form, d, s);
      for (int64_t b = 0; b < rc.batch; b++) {
        if (!runs(&rc, b, t)) continue; /* the state passed through: so do its gradients */
        double *dh_b = dh + b * H, *dc_b = dc + b * H;
        if (dy)
          for (int64_t j = 0; j < H; j++)
            dh_b[j] += dy[ipro_recurrent_y_offset(&rc.form, t, d, b) + j];
        const double *h = k.h + s * NH + b * H, *c = k.c + s * NH + b * H;
        const double *x = x_at(&rc, t, b);
        /* the step's gate values again (its new state is in the history) */
        step_forward(&rc, d, x, h, c, &k.v, recomputed, recomputed + H);
        step_backward(&rc, d, h, c, k.c + (s + 1) * NH + b * H, &k.v, dh_b, dc_b, g,
                      dh_prev + b * H, dc_prev + b * H, &grads, scratch);
        memcpy(dh_b, dh_prev + b * H, (size_t)H * sizeof *dh_b);
        memcpy(dc_b, dc_prev + b * H, (size_t)H * sizeof *dc_b);
        /* through W x + Wb */
        double *dx_t = dx + (x - rc.x);
        for (int64_t kk = 0; kk < GH; kk++) {
          grads.b[kk] += g[kk];
          for (int64_t i = 0; i < rc.input; i++) {
            grads.w[kk * rc.input + i] += g[kk] * x[i];
            dx_t[i] += w[kk * rc.input + i] * g[kk];
          }
        }
      }
    }
    for (int64_t b = 0; b < rc.batch; b++) {
      memcpy(dh0 + ipro_recurrent_state_offset(&rc.form, d, b), dh + b * H,
             (size_t)H * sizeof *dh0);
      if (dc0)
        memcpy(dc0 + ipro_recurrent_state_offset(&rc.form, d, b), dc + b * H,
               (size_t)H * sizeof *dc0);
    }
  }
  free(carried);
  release_history(&k);
  return IPRO_OK;
}
