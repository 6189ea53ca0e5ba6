/* ONNX's recurrent ops, LSTM, GRU and RNN, as the frontend's shape inference, the gradient rules
 * and the reference kernels read them: the gates per step, the directions, the layout and the
 * activations, from a node's attributes in canonical form (frontend/ops/recurrent.c fills in the
 * defaults; it refuses clip, input_forget and activations with parameters). Per direction d, W is
 * [G·H, I] and R [G·H, H] with the gates stacked in ONNX's order (LSTM i, o, f, c; GRU z, r, h; RNN
 * one), B is W's biases then R's, [2·G·H], and LSTM's peepholes P are [3·H] (i, o, f). */
#ifndef IPRO_RECURRENT_H
#define IPRO_RECURRENT_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/graph.h"

typedef enum {
  IPRO_RECURRENT_SIGMOID,
  IPRO_RECURRENT_TANH,
  IPRO_RECURRENT_RELU
} ipro_recurrent_activation;

typedef struct {
  ipro_op op;               /* IPRO_OP_LSTM, IPRO_OP_GRU or IPRO_OP_RNN */
  int gates;                /* G: 4, 3 or 1 */
  int directions;           /* D: 1, or 2 for "bidirectional" */
  bool reverse;             /* "reverse": the one direction runs from the last step to the first */
  bool batch_major;         /* layout 1: X [N, T, I], Y [N, T, D, H], states [N, D, H] */
  bool linear_before_reset; /* GRU: the reset gate multiplies R's product, not the state */
  int64_t hidden;           /* H */
  int64_t steps, batch;     /* T and N, from X's shape (ipro_recurrent_read_extents) */
  /* per direction, the op's activations in ONNX's order (LSTM f, g, h; GRU f, g; RNN f) */
  ipro_recurrent_activation f[2][3];
} ipro_recurrent_form;

/* The gates per step and the activations per direction of a recurrent op (0 for another op). */
int ipro_recurrent_gates(ipro_op op);
int ipro_recurrent_activations_per_direction(ipro_op op);
/* ONNX's default activations of op for one direction, as the canonical attribute writes them:
 * "Sigmoid,Tanh,Tanh", "Sigmoid,Tanh", "Tanh". */
const char *ipro_recurrent_default_activations(ipro_op op);

/* Reads node's canonical attributes (direction, layout, hidden_size, linear_before_reset,
 * activations as one comma-separated string) as a recurrent op of kind op. NULL, or what is wrong
 * (written into message). */
const char *ipro_recurrent_form_of(const ipro_node *node, ipro_op op, ipro_recurrent_form *form,
                                   char *message, size_t size);

/* T and N from X's shape ([T, N, I], or [N, T, I] batch-major) into form. */
static inline void ipro_recurrent_read_extents(ipro_recurrent_form *form, const ipro_shape *x) {
  form->steps = x->dims[form->batch_major ? 1 : 0];
  form->batch = x->dims[form->batch_major ? 0 : 1];
}

/* Where the tensors keep what: the time of processing step `step` of direction d (the last
 * first for "reverse" and a bidirectional op's second direction); X's row of time t and batch
 * element b; the offset of Y's [H] values of time t, direction d, element b; and the offset of
 * a state's (initial_h, Y_h, ...) of direction d, element b. */
static inline int64_t ipro_recurrent_time(const ipro_recurrent_form *form, int d, int64_t step) {
  return form->reverse || d == 1 ? form->steps - 1 - step : step;
}
static inline int64_t ipro_recurrent_row(const ipro_recurrent_form *form, int64_t t, int64_t b) {
  return form->batch_major ? b * form->steps + t : t * form->batch + b;
}
static inline int64_t ipro_recurrent_y_offset(const ipro_recurrent_form *form, int64_t t, int d,
                                              int64_t b) {
  int64_t directions = form->directions;
  return (form->batch_major ? (b * form->steps + t) * directions + d
                            : (t * directions + d) * form->batch + b) *
         form->hidden;
}
static inline int64_t ipro_recurrent_state_offset(const ipro_recurrent_form *form, int d,
                                                  int64_t b) {
  return (form->batch_major ? b * form->directions + d : d * form->batch + b) * form->hidden;
}

/* The tensors of a recurrent op, numbered as its inputs (then the gradient's extra inputs), and
 * its outputs. */
enum {
  IPRO_RECURRENT_X,
  IPRO_RECURRENT_W,
  IPRO_RECURRENT_R,
  IPRO_RECURRENT_B,
  IPRO_RECURRENT_SEQUENCE_LENS,
  IPRO_RECURRENT_INITIAL_H,
  IPRO_RECURRENT_INITIAL_C,
  IPRO_RECURRENT_P,
  IPRO_RECURRENT_D_Y, /* ipro.RecurrentGrad: the gradients of Y, Y_h and Y_c */
  IPRO_RECURRENT_D_Y_H,
  IPRO_RECURRENT_D_Y_C,
  IPRO_RECURRENT_GRAD_INPUTS
};

/* The shape input i must have for form (extents read) and X's last dimension `input`: W, R, B,
 * sequence_lens, the states and P by ONNX's definition, the output gradients Y's and the states'
 * (X's own for i = X). */
ipro_shape ipro_recurrent_input_shape(const ipro_recurrent_form *form, int64_t input, int i);
/* Y's shape (output 0) or a state's (Y_h, Y_c). */
ipro_shape ipro_recurrent_output_shape(const ipro_recurrent_form *form, int o);

/* Reads the extents of node (a recurrent op, or ipro.RecurrentGrad when gradient) from X's shape
 * at the graph's batch into form, and whether every tensor of the node has the shape form gives
 * it: input i as ipro_recurrent_input_shape's i, output o as Y, Y_h, Y_c for the op, or, for its
 * gradient, as the input X, W, R, B, initial_h, initial_c or P it is the gradient of. The kernels
 * check so before they index a buffer by the form (a program file's shapes are read, not
 * inferred). */
bool ipro_recurrent_node_fits(const ipro_graph *graph, const ipro_node *node, bool gradient,
                              ipro_recurrent_form *form, int64_t *input);

/* The value of an activation at x, and its derivative there given that value y. */
double ipro_recurrent_apply(ipro_recurrent_activation f, double x);
double ipro_recurrent_derivative(ipro_recurrent_activation f, double x, double y);

#endif
