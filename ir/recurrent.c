/* Reading LSTM, GRU and RNN nodes (recurrent.h). */
#include "ir/recurrent.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int ipro_recurrent_gates(ipro_op op) {
  switch (op) {
  case IPRO_OP_LSTM: return 4;
  case IPRO_OP_GRU: return 3;
  case IPRO_OP_RNN: return 1;
  default: return 0;
  }
}

int ipro_recurrent_activations_per_direction(ipro_op op) {
  switch (op) {
  case IPRO_OP_LSTM: return 3;
  case IPRO_OP_GRU: return 2;
  case IPRO_OP_RNN: return 1;
  default: return 0;
  }
}

const char *ipro_recurrent_default_activations(ipro_op op) {
  switch (op) {
  case IPRO_OP_LSTM: return "Sigmoid,Tanh,Tanh";
  case IPRO_OP_GRU: return "Sigmoid,Tanh";
  default: return "Tanh";
  }
}

/* Parses the comma-separated activations: one direction's list (then both directions take it) or
 * one per direction. */
static const char *read_activations(const char *list, ipro_recurrent_form *form, int per_direction,
                                    char *message, size_t size) {
  static const struct {
    const char *name;
    ipro_recurrent_activation f;
  } known[] = {{"Sigmoid", IPRO_RECURRENT_SIGMOID},
               {"Tanh", IPRO_RECURRENT_TANH},
               {"Relu", IPRO_RECURRENT_RELU}};
  ipro_recurrent_activation read[6];
  int count = 0;
  for (const char *at = list; *at;) {
    size_t length = strcspn(at, ",");
    int found = -1;
    for (int k = 0; k < (int)(sizeof known / sizeof known[0]); k++)
      if (strlen(known[k].name) == length && strncmp(known[k].name, at, length) == 0) found = k;
    if (found < 0) {
      snprintf(message, size,
               "activation '%.*s' is not supported (Sigmoid, Tanh and Relu are; PyTorch's "
               "nn.LSTM, nn.GRU and nn.RNN export no other)",
               (int)length, at);
      return message;
    }
    if (count == 6) break;
    read[count++] = known[found].f;
    at += length;
    if (*at == ',') at++;
  }
  if (count != per_direction && count != per_direction * form->directions) {
    snprintf(message, size, "%d activations; %d per direction expected", count, per_direction);
    return message;
  }
  for (int d = 0; d < form->directions; d++)
    for (int k = 0; k < per_direction; k++)
      form->f[d][k] = read[count == per_direction ? k : d * per_direction + k];
  return NULL;
}

const char *ipro_recurrent_form_of(const ipro_node *node, ipro_op op, ipro_recurrent_form *form,
                                   char *message, size_t size) {
  memset(form, 0, sizeof *form);
  form->op = op;
  form->gates = ipro_recurrent_gates(op);
  if (!form->gates) {
    snprintf(message, size, "not a recurrent op");
    return message;
  }
  const char *direction = ipro_node_attr_string(node, "direction", "forward");
  if (strcmp(direction, "bidirectional") == 0)
    form->directions = 2;
  else if (strcmp(direction, "forward") == 0 || strcmp(direction, "reverse") == 0)
    form->directions = 1, form->reverse = direction[0] == 'r';
  else {
    snprintf(message, size, "direction '%s' is none of forward, reverse and bidirectional",
             direction);
    return message;
  }
  int64_t layout = ipro_node_attr_int(node, "layout", 0);
  if (layout != 0 && layout != 1) {
    snprintf(message, size, "layout %lld; 0 or 1 expected", (long long)layout);
    return message;
  }
  form->batch_major = layout == 1;
  form->linear_before_reset = ipro_node_attr_int(node, "linear_before_reset", 0) != 0;
  form->hidden = ipro_node_attr_int(node, "hidden_size", 0);
  if (form->hidden < 1) {
    snprintf(message, size, "hidden_size %lld; at least 1 expected", (long long)form->hidden);
    return message;
  }
  return read_activations(
      ipro_node_attr_string(node, "activations", ipro_recurrent_default_activations(op)), form,
      ipro_recurrent_activations_per_direction(op), message, size);
}

ipro_shape ipro_recurrent_output_shape(const ipro_recurrent_form *form, int o) {
  int64_t t = form->steps, n = form->batch, d = form->directions, h = form->hidden;
  if (o == 0)
    return form->batch_major ? (ipro_shape){.rank = 4, .dims = {n, t, d, h}}
                             : (ipro_shape){.rank = 4, .dims = {t, d, n, h}};
  return form->batch_major ? (ipro_shape){.rank = 3, .dims = {n, d, h}}
                           : (ipro_shape){.rank = 3, .dims = {d, n, h}};
}

ipro_shape ipro_recurrent_input_shape(const ipro_recurrent_form *form, int64_t input, int i) {
  int64_t d = form->directions, h = form->hidden, gh = form->gates * h;
  switch (i) {
  case IPRO_RECURRENT_X:
    return form->batch_major ? (ipro_shape){.rank = 3, .dims = {form->batch, form->steps, input}}
                             : (ipro_shape){.rank = 3, .dims = {form->steps, form->batch, input}};
  case IPRO_RECURRENT_W: return (ipro_shape){.rank = 3, .dims = {d, gh, input}};
  case IPRO_RECURRENT_R: return (ipro_shape){.rank = 3, .dims = {d, gh, h}};
  case IPRO_RECURRENT_B: return (ipro_shape){.rank = 2, .dims = {d, 2 * gh}};
  case IPRO_RECURRENT_SEQUENCE_LENS: return (ipro_shape){.rank = 1, .dims = {form->batch}};
  case IPRO_RECURRENT_P: return (ipro_shape){.rank = 2, .dims = {d, 3 * h}};
  case IPRO_RECURRENT_D_Y: return ipro_recurrent_output_shape(form, 0);
  default: return ipro_recurrent_output_shape(form, 1); /* the states and their gradients */
  }
}

/* A tensor's shape at the graph's batch. */
static ipro_shape at_batch(const ipro_graph *graph, const ipro_tensor *tensor) {
  ipro_shape shape = tensor->shape;
  ipro_shape_bind_batch(&shape, graph->batch);
  return shape;
}

bool ipro_recurrent_node_fits(const ipro_graph *graph, const ipro_node *node, bool gradient,
                              ipro_recurrent_form *form, int64_t *input) {
  static const int gradient_of[] = {
      IPRO_RECURRENT_X,         IPRO_RECURRENT_W,         IPRO_RECURRENT_R, IPRO_RECURRENT_B,
      IPRO_RECURRENT_INITIAL_H, IPRO_RECURRENT_INITIAL_C, IPRO_RECURRENT_P};
  const ipro_tensor *x = ipro_node_input(graph, node, IPRO_RECURRENT_X);
  if (!x || node->n_inputs > IPRO_RECURRENT_GRAD_INPUTS || node->n_outputs > (gradient ? 7 : 3))
    return false;
  ipro_shape x_shape = at_batch(graph, x);
  if (x_shape.rank != 3 || x_shape.dims[0] < 0 || x_shape.dims[1] < 0 || x_shape.dims[2] < 0)
    return false; /* a batch still symbolic, or no shape */
  ipro_recurrent_read_extents(form, &x_shape);
  *input = x_shape.dims[2];
  for (int i = 0; i < node->n_inputs + node->n_outputs; i++) {
    bool is_input = i < node->n_inputs;
    int o = i - node->n_inputs;
    const ipro_tensor *t =
        is_input ? ipro_node_input(graph, node, i) : ipro_node_output(graph, node, o);
    if (!t) continue;
    ipro_shape have = at_batch(graph, t);
    ipro_shape want = is_input   ? ipro_recurrent_input_shape(form, *input, i)
                      : gradient ? ipro_recurrent_input_shape(form, *input, gradient_of[o])
                                 : ipro_recurrent_output_shape(form, o);
    if (!ipro_shape_equal(&have, &want)) return false;
  }
  return true;
}

double ipro_recurrent_apply(ipro_recurrent_activation f, double x) {
  switch (f) {
  case IPRO_RECURRENT_SIGMOID: return 1.0 / (1.0 + exp(-x));
  case IPRO_RECURRENT_TANH: return tanh(x);
  default: return x > 0.0 ? x : 0.0;
  }
}

double ipro_recurrent_derivative(ipro_recurrent_activation f, double x, double y) {
  switch (f) {
  case IPRO_RECURRENT_SIGMOID: return y * (1.0 - y);
  case IPRO_RECURRENT_TANH: return 1.0 - y * y;
  default: return x > 0.0 ? 1.0 : 0.0;
  }
}
