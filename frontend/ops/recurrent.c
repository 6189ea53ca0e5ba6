/* Op rows of the recurrent ops LSTM, GRU and RNN (ir/recurrent.h) and of their gradient,
 * ipro.RecurrentGrad (codegen/internal_ops.md). Inputs X, W, R, then optional B, sequence_lens,
 * initial_h, and for LSTM initial_c and P; outputs Y, Y_h and LSTM's Y_c, each optional. The
 * batch N may be the symbolic batch; the steps T, the sizes and the directions are concrete. */
#include <string.h>

#include "ir/checked_size.h"
#include "ir/recurrent.h"
#include "op_helpers.h"
#include "op_rows.h"

enum {
  X = IPRO_RECURRENT_X,
  W = IPRO_RECURRENT_W,
  R = IPRO_RECURRENT_R,
  B = IPRO_RECURRENT_B,
  SEQUENCE_LENS = IPRO_RECURRENT_SEQUENCE_LENS,
  INITIAL_H = IPRO_RECURRENT_INITIAL_H,
  INITIAL_C = IPRO_RECURRENT_INITIAL_C,
  P = IPRO_RECURRENT_P,
  D_Y = IPRO_RECURRENT_D_Y,
  GRAD_INPUTS = IPRO_RECURRENT_GRAD_INPUTS
};

ipro_status ipro_recurrent_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"activation_alpha:F",    "activation_beta:F",
                                      "activations:s",         "clip:f",
                                      "direction:s",           "hidden_size:i",
                                      "input_forget:i",        "layout:i",
                                      "linear_before_reset:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  int count = 0;
  if (ipro_node_attr_floats(node, "activation_alpha", &count) && count > 0)
    return ipro_op_fail(err, node,
                        "activation_alpha: activations with parameters are not "
                        "supported (Sigmoid, Tanh and Relu are)");
  if (ipro_node_attr_floats(node, "activation_beta", &count) && count > 0)
    return ipro_op_fail(err, node,
                        "activation_beta: activations with parameters are not "
                        "supported (Sigmoid, Tanh and Relu are)");
  if (node->op == IPRO_OP_LSTM && ipro_node_attr_int(node, "input_forget", 0) != 0)
    return ipro_op_fail(err, node,
                        "input_forget = 1 (coupled input and forget gates) is not "
                        "supported");
  if (ipro_node_attr_float(node, "clip", 0.0f) != 0.0f)
    return ipro_op_fail(err, node, "clip (bounding the activations' inputs) is not supported");
  if (node->op != IPRO_OP_GRU && ipro_node_attr_int(node, "linear_before_reset", 0) != 0)
    return ipro_op_fail(err, node, "linear_before_reset belongs to GRU");
  if (ipro_op_default_string(node, "direction", "forward", err) != IPRO_OK ||
      ipro_op_default_int(node, "layout", 0, err) != IPRO_OK ||
      ipro_op_default_string(node, "activations", ipro_recurrent_default_activations(node->op),
                             err) != IPRO_OK)
    return IPRO_ERROR;
  if (node->op == IPRO_OP_GRU &&
      ipro_op_default_int(node, "linear_before_reset", 0, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* Fails unless input i (when present) has the shape want. */
static ipro_status expect_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                const char *what, const ipro_shape *want, ipro_error *err) {
  const ipro_tensor *t = ipro_node_input(graph, node, i);
  if (!t || ipro_shape_equal(&t->shape, want)) return IPRO_OK;
  char have_text[128], want_text[128];
  ipro_shape_format(&t->shape, have_text, sizeof have_text);
  ipro_shape_format(want, want_text, sizeof want_text);
  return ipro_op_fail(err, node, "%s has shape %s; %s expected", what, have_text, want_text);
}

/* Checks the forward op's inputs (0..P of node, of a forward node or of its gradient) and
 * reads the form, Y's shape and the states' shape. */
static ipro_status read_recurrent(ipro_graph *graph, ipro_node *node, ipro_op op,
                                  ipro_recurrent_form *form, ipro_shape *y, ipro_shape *state,
                                  ipro_error *err) {
  ipro_tensor *x, *w, *r, *unused;
  if (ipro_op_input(graph, node, X, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_input(graph, node, W, IPRO_DTYPES(x->dtype), &w, err) != IPRO_OK ||
      ipro_op_input(graph, node, R, IPRO_DTYPES(x->dtype), &r, err) != IPRO_OK ||
      ipro_op_optional_input(graph, node, B, IPRO_DTYPES(x->dtype), &unused, err) != IPRO_OK ||
      ipro_op_optional_input(graph, node, SEQUENCE_LENS, IPRO_DTYPES_INDEX, &unused, err) !=
          IPRO_OK ||
      ipro_op_optional_input(graph, node, INITIAL_H, IPRO_DTYPES(x->dtype), &unused, err) !=
          IPRO_OK ||
      ipro_op_check_rank(graph, node, X, 3, 3, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, W, 3, 3, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, R, 3, 3, err) != IPRO_OK)
    return IPRO_ERROR;
  if (op == IPRO_OP_LSTM &&
      (ipro_op_optional_input(graph, node, INITIAL_C, IPRO_DTYPES(x->dtype), &unused, err) !=
           IPRO_OK ||
       ipro_op_optional_input(graph, node, P, IPRO_DTYPES(x->dtype), &unused, err) != IPRO_OK))
    return IPRO_ERROR;
  if (op != IPRO_OP_LSTM && node->n_inputs > INITIAL_C &&
      (node->inputs[INITIAL_C] >= 0 || (node->n_inputs > P && node->inputs[P] >= 0)))
    return ipro_op_fail(err, node, "initial_c and P belong to LSTM");
  /* hidden_size may be left out: R's last dimension */
  if (ipro_node_attr_int(node, "hidden_size", 0) == 0 &&
      ipro_op_put_int(node, "hidden_size", r->shape.dims[2], err) != IPRO_OK)
    return IPRO_ERROR;
  char message[160];
  if (ipro_recurrent_form_of(node, op, form, message, sizeof message))
    return ipro_op_fail(err, node, "%s", message);
  ipro_recurrent_read_extents(form, &x->shape);
  int64_t input = x->shape.dims[2];
  if (ipro_dim_is_batch(form->steps) || ipro_dim_is_batch(input))
    return ipro_op_batch_error(node, err, "the steps or the input size at the batch's place");
  static const char *const names[] = {"X",         "W",         "R", "B", "sequence_lens",
                                      "initial_h", "initial_c", "P"};
  for (int i = W; i <= (op == IPRO_OP_LSTM ? P : INITIAL_H); i++) {
    ipro_shape want = ipro_recurrent_input_shape(form, input, i);
    if (expect_shape(graph, node, i, names[i], &want, err) != IPRO_OK) return IPRO_ERROR;
  }
  *y = ipro_recurrent_output_shape(form, 0);
  *state = ipro_recurrent_output_shape(form, 1);
  return IPRO_OK;
}

ipro_status ipro_recurrent_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  int outputs = node->op == IPRO_OP_LSTM ? 3 : 2;
  if (ipro_op_check_arity(graph, node, 3, node->op == IPRO_OP_LSTM ? 8 : 6, 0, outputs, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  ipro_recurrent_form form;
  ipro_shape y, state;
  if (read_recurrent(graph, node, node->op, &form, &y, &state, err) != IPRO_OK) return IPRO_ERROR;
  ipro_dtype dtype = ipro_node_input(graph, node, X)->dtype;
  for (int o = 0; o < outputs; o++)
    if (ipro_op_set_output(graph, node, o, dtype, o == 0 ? &y : &state, err) != IPRO_OK)
      return IPRO_ERROR;
  return IPRO_OK;
}

/* The forward op of a gradient node (its attribute forward_op), or the node's own. */
static ipro_op forward_op_of(const ipro_node *node) {
  return node->op == IPRO_OP_RECURRENT_GRAD
             ? (ipro_op)ipro_node_attr_int(node, "forward_op", IPRO_OP_LSTM)
             : node->op;
}

/* Inputs X .. P of the forward op (absent ones -1), then dY, dY_h, dY_c (each may be absent);
 * outputs dX, dW, dR, dB, dInitial_h and, for LSTM, dInitial_c and dP: each input's gradient,
 * B's, the states' and P's computed whether the forward had them or not (zeros). */
ipro_status ipro_recurrent_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_op op = forward_op_of(node);
  if (!ipro_recurrent_gates(op)) return ipro_op_fail(err, node, "forward_op is not recurrent");
  int outputs = op == IPRO_OP_LSTM ? 7 : 5;
  if (node->n_inputs > GRAD_INPUTS || node->n_outputs != outputs)
    return ipro_op_fail(err, node, "%d inputs and %d outputs; at most %d and %d expected",
                        node->n_inputs, node->n_outputs, GRAD_INPUTS, outputs);
  ipro_recurrent_form form;
  ipro_shape y, state;
  if (read_recurrent(graph, node, op, &form, &y, &state, err) != IPRO_OK) return IPRO_ERROR;
  ipro_tensor *unused;
  for (int i = D_Y; i < GRAD_INPUTS; i++)
    if (ipro_op_optional_input(graph, node, i, IPRO_DTYPES_REAL, &unused, err) != IPRO_OK)
      return IPRO_ERROR;
  static const char *const gradients[] = {"dY", "dY_h", "dY_c"};
  for (int i = D_Y; i < GRAD_INPUTS; i++) {
    ipro_shape want = ipro_recurrent_input_shape(&form, 0, i);
    if (expect_shape(graph, node, i, gradients[i - D_Y], &want, err) != IPRO_OK) return IPRO_ERROR;
  }
  const ipro_tensor *x = ipro_node_input(graph, node, X);
  ipro_shape shapes[7] = {x->shape,
                          ipro_node_input(graph, node, W)->shape,
                          ipro_node_input(graph, node, R)->shape,
                          {.rank = 2, .dims = {form.directions, 2 * form.gates * form.hidden}},
                          state,
                          state,
                          {.rank = 2, .dims = {form.directions, 3 * form.hidden}}};
  ipro_dtype dtype = x->dtype;
  for (int o = 0; o < outputs; o++)
    if (ipro_op_set_output(graph, node, o, dtype, &shapes[o], err) != IPRO_OK) return IPRO_ERROR;
  return IPRO_OK;
}

/* Per step and batch element and direction, the two products (2 · G·H · (I + H)) and about ten
 * operations per hidden unit for the gates; the gradient recomputes the forward and does twice
 * its products. */
int64_t ipro_recurrent_flops(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *x = ipro_node_input(graph, node, X), *w = ipro_node_input(graph, node, W);
  const ipro_tensor *r = ipro_node_input(graph, node, R);
  if (!x || !w || !r || x->shape.rank != 3 || w->shape.rank != 3 || r->shape.rank != 3) return 0;
  int64_t elements = ipro_op_elements(graph, &x->shape) / (x->shape.dims[2] ? x->shape.dims[2] : 1);
  int64_t per =
      2 * w->shape.dims[1] * (w->shape.dims[2] + r->shape.dims[2]) + 10 * r->shape.dims[2];
  int64_t factors[] = {node->op == IPRO_OP_RECURRENT_GRAD ? 3 : 1, elements, w->shape.dims[0], per};
  int64_t flops = ipro_product_or_overflow(factors, 4);
  return flops < 0 ? IPRO_SIZE_OVERFLOW : flops;
}
