/* The autodiff driver (see autodiff.h): which tensors need gradients, the walk back over the
 * forward nodes, summing of partial gradients, and the node-emitting helpers the rules use. */
#include "autodiff.h"

#include "frontend/op_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ipro_autodiff {
  ipro_graph *graph;
  int emitted; /* for unique names */
  /* partials[t]: the partial gradients of forward tensor t collected so far */
  int **partials;
  int *n_partials;
  int n_forward_tensors;
};

ipro_graph *ipro_autodiff_graph(ipro_autodiff *ad) { return ad->graph; }

/* The types a gradient flows through: float32 and float64. */
static bool is_real(ipro_dtype dtype) {
  return dtype == IPRO_DTYPE_FLOAT || dtype == IPRO_DTYPE_DOUBLE;
}

static ipro_status copy_attributes(ipro_node *to, const ipro_node *from, ipro_error *err) {
  for (int a = 0; a < from->n_attrs; a++) {
    const ipro_attr *attr = &from->attrs[a];
    ipro_status s = IPRO_OK;
    switch (attr->kind) {
    case IPRO_ATTR_FLOAT: s = ipro_node_set_float(to, attr->name, attr->f); break;
    case IPRO_ATTR_INT:
    case IPRO_ATTR_TENSOR:
      s = ipro_node_set_int(to, attr->name, attr->i);
      if (s == IPRO_OK) to->attrs[to->n_attrs - 1].kind = attr->kind;
      break;
    case IPRO_ATTR_STRING: s = ipro_node_set_string(to, attr->name, attr->s); break;
    case IPRO_ATTR_FLOATS:
      s = ipro_node_set_floats(to, attr->name, attr->floats, attr->count);
      break;
    case IPRO_ATTR_INTS: s = ipro_node_set_ints(to, attr->name, attr->ints, attr->count); break;
    }
    if (s != IPRO_OK) return ipro_error_set(err, "out of memory copying attributes");
  }
  return IPRO_OK;
}

int ipro_autodiff_emit(ipro_autodiff *ad, int forward, ipro_op op, const int *inputs, int n_inputs,
                       int n_outputs, int *outputs, bool copy_attrs, ipro_error *err) {
  ipro_graph *graph = ad->graph;
  char name[512];
  int serial = ad->emitted++;
  snprintf(name, sizeof name, "%s/grad/%s_%d", graph->nodes[forward].name, ipro_op_name(op),
           serial);
  int index = ipro_graph_add_node(graph, name, ipro_op_name(op), n_inputs, n_outputs);
  if (index < 0) {
    ipro_error_set(err, "out of memory building the backward pass");
    return -1;
  }
  graph->nodes[index].op = op; /* internal ops are not found by name */
  for (int i = 0; i < n_inputs; i++)
    graph->nodes[index].inputs[i] = inputs[i];
  /* A gradient has the real type of what it differentiates, which is the forward node's; shape
   * inference confirms it from the emitted node's own inputs. */
  ipro_dtype dtype = IPRO_DTYPE_FLOAT;
  const ipro_node *from = &graph->nodes[forward];
  for (int o = 0; o < from->n_outputs; o++)
    if (from->outputs[o] >= 0 && is_real(graph->tensors[from->outputs[o]].dtype)) {
      dtype = graph->tensors[from->outputs[o]].dtype;
      break;
    }
  for (int o = 0; o < n_outputs; o++) {
    char tensor_name[560];
    snprintf(tensor_name, sizeof tensor_name, "%s:%d", name, o);
    int t = ipro_graph_tensor(graph, tensor_name);
    if (t < 0) {
      ipro_error_set(err, "out of memory building the backward pass");
      return -1;
    }
    graph->tensors[t].producer = index;
    graph->tensors[t].dtype = dtype;
    graph->nodes[index].outputs[o] = t;
    if (outputs) outputs[o] = t;
  }
  if (copy_attrs && copy_attributes(&graph->nodes[index], &graph->nodes[forward], err) != IPRO_OK)
    return -1;
  return index;
}

int ipro_autodiff_constant(ipro_autodiff *ad, int forward, const char *what, ipro_dtype dtype,
                           const ipro_shape *shape, const void *values, ipro_error *err) {
  char name[560];
  snprintf(name, sizeof name, "%s/grad/%s_%d", ad->graph->nodes[forward].name, what, ad->emitted++);
  int t = ipro_graph_tensor(ad->graph, name);
  if (t < 0) {
    ipro_error_set(err, "out of memory building the backward pass");
    return -1;
  }
  ipro_tensor *tensor = &ad->graph->tensors[t];
  tensor->kind = IPRO_TENSOR_CONSTANT;
  tensor->dtype = dtype;
  tensor->shape = *shape;
  size_t bytes = (size_t)ipro_shape_elements(shape) * ipro_dtype_size(dtype);
  if (ipro_tensor_set_data(tensor, values, bytes, err) != IPRO_OK) return -1;
  return t;
}

int ipro_autodiff_constant_ints(ipro_autodiff *ad, int forward, const int64_t *values, int count,
                                ipro_error *err) {
  ipro_shape shape = {.rank = 1, .dims = {count}};
  return ipro_autodiff_constant(ad, forward, "shape", IPRO_DTYPE_INT64, &shape, values, err);
}

static ipro_status add_partial(ipro_autodiff *ad, int tensor, int gradient, ipro_error *err) {
  int *grown = realloc(ad->partials[tensor], sizeof(int) * (size_t)(ad->n_partials[tensor] + 1));
  if (!grown) return ipro_error_set(err, "out of memory building the backward pass");
  ad->partials[tensor] = grown;
  grown[ad->n_partials[tensor]++] = gradient;
  return IPRO_OK;
}

/* The total gradient of tensor t: its only partial, or their Sum. -1 when there is none. */
static int total_gradient(ipro_autodiff *ad, int t, ipro_error *err) {
  int n = ad->n_partials[t];
  if (n == 0) return -1;
  if (n == 1) return ad->partials[t][0];
  int producer = ad->graph->tensors[t].producer;
  /* Sums of at most 32 operands, chained, so that no node has more operands than the executor
   * hands a kernel, however many readers a tensor has. */
  while (ad->n_partials[t] > 1) {
    int take = ad->n_partials[t] < 32 ? ad->n_partials[t] : 32, sum = -1;
    if (ipro_autodiff_emit(ad, producer >= 0 ? producer : 0, IPRO_OP_SUM, ad->partials[t], take, 1,
                           &sum, false, err) < 0)
      return -2;
    int rest = ad->n_partials[t] - take;
    memmove(ad->partials[t] + 1, ad->partials[t] + take, sizeof(int) * (size_t)rest);
    ad->partials[t][0] = sum;
    ad->n_partials[t] = rest + 1;
  }
  return ad->partials[t][0];
}

/* needs[t]: t depends on a tensor whose gradient is wanted (real tensors only). A node folded
 * into constants passes nothing on: its outputs do not change with any input (CastLike reads
 * only its second input's type). */
static void mark_dependents(const ipro_graph *graph, int n_nodes, const bool *wrt, bool *needs) {
  for (int t = 0; t < graph->n_tensors; t++)
    needs[t] = wrt[t];
  for (int n = 0; n < n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (ipro_node_is_folded(graph, node)) continue;
    bool any = false;
    for (int i = 0; i < node->n_inputs; i++)
      if (node->inputs[i] >= 0 && needs[node->inputs[i]]) any = true;
    if (!any) continue;
    for (int o = 0; o < node->n_outputs; o++) {
      int t = node->outputs[o];
      if (t >= 0 && is_real(graph->tensors[t].dtype)) needs[t] = true;
    }
  }
}

static ipro_status differentiate_node(ipro_autodiff *ad, int n, const bool *needs,
                                      ipro_error *err) {
  ipro_graph *graph = ad->graph;
  int n_outputs = graph->nodes[n].n_outputs, n_inputs = graph->nodes[n].n_inputs;
  int output_grads[64], input_grads[64];
  bool wanted[64], any_output = false, any_input = false;
  if (n_outputs > 64 || n_inputs > 64)
    return ipro_error_set(err, "node '%s' has too many operands to differentiate",
                          graph->nodes[n].name);
  for (int o = 0; o < n_outputs; o++) {
    int t = graph->nodes[n].outputs[o];
    output_grads[o] = t >= 0 && t < ad->n_forward_tensors ? total_gradient(ad, t, err) : -1;
    if (output_grads[o] == -2) return IPRO_ERROR;
    if (output_grads[o] >= 0) any_output = true;
  }
  for (int i = 0; i < n_inputs; i++) {
    int t = graph->nodes[n].inputs[i];
    wanted[i] = t >= 0 && needs[t];
    input_grads[i] = -1;
    any_input |= wanted[i];
  }
  if (!any_output || !any_input) return IPRO_OK;
  const ipro_node *node = &graph->nodes[n];
  ipro_gradient_rule rule = node->op < IPRO_OP_COUNT ? ipro_gradient_rules()[node->op] : NULL;
  if (!rule)
    return ipro_error_set(err,
                          "node '%s' (%s): infopro has no gradient rule for this op, so it "
                          "cannot be trained through",
                          node->name, node->op_type);
  if (rule(ad, n, output_grads, wanted, input_grads, err) != IPRO_OK) return IPRO_ERROR;
  for (int i = 0; i < n_inputs; i++)
    if (wanted[i] && input_grads[i] >= 0 &&
        add_partial(ad, graph->nodes[n].inputs[i], input_grads[i], err) != IPRO_OK)
      return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_autodiff_append(ipro_graph *graph, int n_seeds, const int *seed_tensors,
                                 const int *seed_gradients, const bool *wrt, int *gradient_of,
                                 ipro_error *err) {
  int n_nodes = graph->n_nodes, n_tensors = graph->n_tensors;
  ipro_autodiff ad = {.graph = graph, .n_forward_tensors = n_tensors};
  ad.partials = calloc((size_t)n_tensors + 1, sizeof(int *));
  ad.n_partials = calloc((size_t)n_tensors + 1, sizeof(int));
  bool *needs = calloc((size_t)n_tensors + 1, sizeof(bool));
  ipro_status status = IPRO_OK;
  if (!ad.partials || !ad.n_partials || !needs)
    status = ipro_error_set(err, "out of memory building the backward pass");
  if (status == IPRO_OK) mark_dependents(graph, n_nodes, wrt, needs);
  for (int s = 0; status == IPRO_OK && s < n_seeds; s++)
    status = add_partial(&ad, seed_tensors[s], seed_gradients[s], err);
  for (int n = n_nodes - 1; status == IPRO_OK && n >= 0; n--)
    status = differentiate_node(&ad, n, needs, err);
  for (int t = 0; status == IPRO_OK && t < n_tensors; t++) {
    gradient_of[t] = -1;
    if (!wrt[t]) continue;
    int g = total_gradient(&ad, t, err);
    if (g == -2) status = IPRO_ERROR;
    gradient_of[t] = g < 0 ? -1 : g;
  }
  for (int t = 0; ad.partials && t < n_tensors; t++)
    free(ad.partials[t]);
  free(ad.partials);
  free(ad.n_partials);
  free(needs);
  return status;
}
