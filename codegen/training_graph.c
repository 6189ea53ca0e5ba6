/* Building the training step of a network (see training_graph.h). */
#include "training_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "frontend/op_table.h"

static ipro_status out_of_memory(ipro_error *err) {
  return ipro_error_set(err, "out of memory building the training program");
}

bool ipro_tensor_is_trainable(const ipro_graph *graph, int t) {
  const ipro_tensor *tensor = &graph->tensors[t];
  if (tensor->kind != IPRO_TENSOR_INITIALIZER || tensor->frozen ||
      (tensor->dtype != IPRO_DTYPE_FLOAT && tensor->dtype != IPRO_DTYPE_DOUBLE))
    return false;
  bool read = false;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    for (int i = 0; i < node->n_inputs; i++) {
      if (node->inputs[i] != t) continue;
      if (ipro_node_input_is_running_statistic(node, i)) return false;
      read = true;
    }
  }
  return read;
}

/* A fresh tensor with a unique name derived from base. */
static int new_tensor(ipro_graph *graph, const char *base, ipro_tensor_kind kind, ipro_dtype dtype,
                      const ipro_shape *shape) {
  char name[640];
  snprintf(name, sizeof name, "%.600s", base);
  for (int k = 1; ipro_graph_find_tensor(graph, name) >= 0; k++)
    snprintf(name, sizeof name, "%.600s_%d", base, k);
  int t = ipro_graph_tensor(graph, name);
  if (t < 0) return -1;
  graph->tensors[t].kind = kind;
  graph->tensors[t].dtype = dtype;
  if (shape) graph->tensors[t].shape = *shape;
  return t;
}

/* Grows node n's outputs to `count` (new ones absent). */
static ipro_status grow_outputs(ipro_graph *graph, int n, int count, ipro_error *err) {
  ipro_node *node = &graph->nodes[n];
  if (node->n_outputs >= count) return IPRO_OK;
  int *grown = realloc(node->outputs, (size_t)count * sizeof(int));
  if (!grown) return out_of_memory(err);
  for (int o = node->n_outputs; o < count; o++)
    grown[o] = -1;
  node->outputs = grown;
  node->n_outputs = count;
  return IPRO_OK;
}

/* Output `o` of node n, a fresh activation named "<node>:<suffix>", unless it has one. */
static ipro_status add_output(ipro_graph *graph, int n, int o, const char *suffix, ipro_dtype dtype,
                              ipro_error *err) {
  if (grow_outputs(graph, n, o + 1, err) != IPRO_OK) return IPRO_ERROR;
  if (graph->nodes[n].outputs[o] >= 0) return IPRO_OK;
  char base[600];
  snprintf(base, sizeof base, "%.560s:%s", graph->nodes[n].name, suffix);
  int t = new_tensor(graph, base, IPRO_TENSOR_ACTIVATION, dtype, NULL);
  if (t < 0) return out_of_memory(err);
  graph->nodes[n].outputs[o] = t;
  graph->tensors[t].producer = n;
  return IPRO_OK;
}

/* The node's outputs after its first no longer written (the running statistics an exported
 * training-form BatchNormalization returns, which training updates in place instead). */
static void drop_outputs_after_first(ipro_graph *graph, ipro_node *node) {
  for (int o = 1; o < node->n_outputs; o++) {
    if (node->outputs[o] < 0) continue;
    graph->tensors[node->outputs[o]].producer = -1;
    node->outputs[o] = -1;
  }
}

/* BatchNormalization and Dropout in training form: batch statistics with the running statistics
 * updated in place (PyTorch's unbiased variance) and the batch mean and inverse standard
 * deviation saved for the backward pass (outputs 3 and 4, saves_statistics), and a Dropout mask
 * for the backward pass. A BatchNormalization with frozen_statistics (--freeze-statistics,
 * frozen_parameters.h) stays in inference form instead. */
static ipro_status set_training_form(ipro_graph *graph, ipro_error *err) {
  for (int n = 0; n < graph->n_nodes; n++) {
    ipro_node *node = &graph->nodes[n];
    if (node->op == IPRO_OP_BATCH_NORMALIZATION &&
        ipro_node_attr_int(node, "frozen_statistics", 0)) {
      /* --freeze-statistics: the inference form, running statistics read and not written */
      if (ipro_node_set_int(node, "training_mode", 0) != IPRO_OK) return out_of_memory(err);
      drop_outputs_after_first(graph, node);
    } else if (node->op == IPRO_OP_BATCH_NORMALIZATION) {
      if (ipro_node_set_int(node, "training_mode", 1) != IPRO_OK ||
          ipro_node_set_int(node, "running_stats_in_place", 1) != IPRO_OK ||
          ipro_node_set_int(node, "unbiased_running_variance", 1) != IPRO_OK)
        return out_of_memory(err);
      drop_outputs_after_first(graph, node);
      ipro_dtype dtype = ipro_node_input(graph, node, 0)->dtype;
      if (ipro_node_set_int(node, "saves_statistics", 1) != IPRO_OK ||
          add_output(graph, n, 3, "saved_mean", dtype, err) != IPRO_OK ||
          add_output(graph, n, 4, "saved_inv_std", dtype, err) != IPRO_OK)
        return IPRO_ERROR;
    } else if (node->op == IPRO_OP_DROPOUT) {
      /* a ratio of 0 drops nothing: an Identity, no mask, no DropoutGrad (torchvision's ViT and
       * Swin Transformer keep their Dropouts at 0 by default) */
      if (ipro_node_attr_float(node, "ratio", 0.5f) == 0.0f && ipro_dropout_to_identity(graph, n))
        continue;
      if (ipro_node_set_int(node, "training_mode", 1) != IPRO_OK) return out_of_memory(err);
      if (add_output(graph, n, 1, "mask", IPRO_DTYPE_BOOL, err) != IPRO_OK) return IPRO_ERROR;
    }
  }
  return IPRO_OK;
}

static ipro_status append_int(int **array, int *count, int value, ipro_error *err) {
  int *grown = realloc(*array, sizeof(int) * (size_t)(*count + 1));
  if (!grown) return out_of_memory(err);
  *array = grown;
  grown[(*count)++] = value;
  return IPRO_OK;
}

/* The new graph input "labels" (int64 [batch]). */
static ipro_status add_labels(ipro_graph *graph, ipro_training_graph *out, ipro_error *err) {
  ipro_shape label_shape = {.rank = 1, .dims = {IPRO_DIM_BATCH}};
  out->labels = new_tensor(graph, "labels", IPRO_TENSOR_ACTIVATION, IPRO_DTYPE_INT64, &label_shape);
  if (out->labels < 0) return out_of_memory(err);
  if (ipro_tensor_declare_shape(&graph->tensors[out->labels], &label_shape) != IPRO_OK)
    return out_of_memory(err);
  graph->tensors[out->labels].is_graph_input = true;
  return append_int(&graph->inputs, &graph->n_inputs, out->labels, err);
}

/* Appends a node with the given op, inputs and fresh float outputs named after `name`. Returns
 * the node index or -1. */
static int add_node(ipro_graph *graph, const char *name, ipro_op op, const int *inputs,
                    int n_inputs, int n_outputs, int *outputs) {
  int node = ipro_graph_add_node(graph, name, ipro_op_name(op), n_inputs, n_outputs);
  if (node < 0) return -1;
  graph->nodes[node].op = op;
  for (int i = 0; i < n_inputs; i++)
    graph->nodes[node].inputs[i] = inputs[i];
  for (int o = 0; o < n_outputs; o++) {
    char base[600];
    snprintf(base, sizeof base, "%s:%d", name, o);
    int t = new_tensor(graph, base, IPRO_TENSOR_ACTIVATION, IPRO_DTYPE_FLOAT, NULL);
    if (t < 0) return -1;
    graph->nodes[node].outputs[o] = t;
    graph->tensors[t].producer = node;
    outputs[o] = t;
  }
  return node;
}

/* The forward node of a loss term (its scalar output becomes a graph output) and the node of
 * its weighted gradient with respect to the term's input: the seed of the backward pass. */
static ipro_status add_loss_term(ipro_graph *graph, const ipro_loss_term *term, int index,
                                 ipro_training_graph *out, int *seed, ipro_error *err) {
  char name[64], grad_name[64];
  snprintf(name, sizeof name, "loss%d", index);
  snprintf(grad_name, sizeof grad_name, "loss%d/grad", index);
  int outputs[2], grad_node, forward_node;
  int inputs[2] = {term->input,
                   term->kind == IPRO_LOSS_BINARY_CROSS_ENTROPY ? term->target : out->labels};
  switch (term->kind) {
  case IPRO_LOSS_CROSS_ENTROPY: {
    forward_node = add_node(graph, name, IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS, inputs, 2, 2, outputs);
    int grad_inputs[2] = {outputs[1], out->labels};
    grad_node = forward_node < 0 ? -1
                                 : add_node(graph, grad_name, IPRO_OP_SOFTMAX_CROSS_ENTROPY_GRAD,
                                            grad_inputs, 2, 1, seed);
    break;
  }
  case IPRO_LOSS_SUPERVISED_CONTRAST:
    forward_node = add_node(graph, name, IPRO_OP_SUP_CON_LOSS, inputs, 2, 1, outputs);
    grad_node = forward_node < 0
                    ? -1
                    : add_node(graph, grad_name, IPRO_OP_SUP_CON_GRAD, inputs, 2, 1, seed);
    break;
  default:
    forward_node = add_node(graph, name, IPRO_OP_BINARY_CROSS_ENTROPY, inputs, 2, 1, outputs);
    grad_node = forward_node < 0 ? -1
                                 : add_node(graph, grad_name, IPRO_OP_BINARY_CROSS_ENTROPY_GRAD,
                                            inputs, 2, 1, seed);
    break;
  }
  if (forward_node < 0 || grad_node < 0) return out_of_memory(err);
  ipro_node *forward = &graph->nodes[forward_node], *grad = &graph->nodes[grad_node];
  bool ok = ipro_node_set_float(grad, "scale", term->weight) == IPRO_OK;
  if (term->kind == IPRO_LOSS_CROSS_ENTROPY)
    ok = ok && ipro_node_set_string(forward, "reduction", "mean") == IPRO_OK &&
         ipro_node_set_string(grad, "reduction", "mean") == IPRO_OK;
  if (term->kind == IPRO_LOSS_SUPERVISED_CONTRAST)
    ok = ok && ipro_node_set_float(forward, "temperature", term->temperature) == IPRO_OK &&
         ipro_node_set_float(grad, "temperature", term->temperature) == IPRO_OK;
  if (!ok) return out_of_memory(err);
  out->losses[out->n_losses++] = outputs[0];
  graph->tensors[outputs[0]].is_graph_output = true;
  return append_int(&graph->outputs, &graph->n_outputs, outputs[0], err);
}

static ipro_status add_optimizer(ipro_graph *graph, ipro_optimizer_kind optimizer,
                                 ipro_training_graph *out, ipro_error *err) {
  ipro_shape hyper_shape = {.rank = 1, .dims = {IPRO_HYPER_COUNT}};
  out->hyper =
      new_tensor(graph, "optimizer/hyper", IPRO_TENSOR_STATE, IPRO_DTYPE_FLOAT, &hyper_shape);
  if (out->hyper < 0) return out_of_memory(err);
  int n_moments = optimizer == IPRO_OPTIMIZER_SGD ? 1 : 2;
  for (int p = 0; p < out->n_parameters; p++) {
    int param = out->parameters[p], grad = out->gradients[p];
    if (grad < 0) continue;
    graph->tensors[grad].kind = IPRO_TENSOR_STATE;
    int inputs[5] = {param, grad, -1, -1, -1};
    for (int m = 0; m < n_moments; m++) {
      char base[600];
      snprintf(base, sizeof base, "optimizer/%s:%s", m == 0 ? "moment1" : "moment2",
               graph->tensors[param].name);
      ipro_shape shape = graph->tensors[param].shape;
      ipro_dtype dtype = graph->tensors[param].dtype; /* moments have the parameter's type */
      inputs[2 + m] = new_tensor(graph, base, IPRO_TENSOR_STATE, dtype, &shape);
      if (inputs[2 + m] < 0) return out_of_memory(err);
    }
    inputs[2 + n_moments] = out->hyper;
    char name[600];
    snprintf(name, sizeof name, "optimizer/update:%s", graph->tensors[param].name);
    ipro_op op = optimizer == IPRO_OPTIMIZER_SGD ? IPRO_OP_SGD_UPDATE : IPRO_OP_ADAM_UPDATE;
    int node = ipro_graph_add_node(graph, name, ipro_op_name(op), 3 + n_moments, 0);
    if (node < 0) return out_of_memory(err);
    graph->nodes[node].op = op;
    for (int i = 0; i < 3 + n_moments; i++)
      graph->nodes[node].inputs[i] = inputs[i];
  }
  return IPRO_OK;
}

ipro_status ipro_training_graph_build_objective(ipro_graph *graph, ipro_optimizer_kind optimizer,
                                                const ipro_loss_term *terms, int n_terms,
                                                bool keep_outputs, ipro_training_graph *out,
                                                ipro_error *err) {
  memset(out, 0, sizeof *out);
  out->labels = -1;
  out->start.mean = out->start.std = -1;
  if (graph->batch <= 0)
    return ipro_error_set(err, "a training program needs a concrete batch size");
  if (n_terms < 1 || n_terms > IPRO_MAX_LOSS_TERMS)
    return ipro_error_set(err, "a training objective needs 1 to %d loss terms",
                          IPRO_MAX_LOSS_TERMS);
  int64_t batch = graph->batch;
  ipro_status status = set_training_form(graph, err);
  if (status == IPRO_OK) status = add_labels(graph, out, err);
  if (status == IPRO_OK && !keep_outputs) {
    for (int i = 0; i < graph->n_outputs; i++)
      graph->tensors[graph->outputs[i]].is_graph_output = false;
    graph->n_outputs = 0;
  }
  /* Shapes of the forward pass in training form, which the loss nodes check against. */
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, batch, err);
  int seeds[IPRO_MAX_LOSS_TERMS], seed_tensors[IPRO_MAX_LOSS_TERMS];
  for (int k = 0; status == IPRO_OK && k < n_terms; k++) {
    seed_tensors[k] = terms[k].input;
    status = add_loss_term(graph, &terms[k], k, out, &seeds[k], err);
  }
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, batch, err);
  /* autodiff's per-tensor arrays cover every tensor present when it is called */
  int n_tensors = graph->n_tensors;
  bool *wrt = calloc((size_t)n_tensors + 1, sizeof(bool));
  int *gradient_of = malloc(sizeof(int) * ((size_t)n_tensors + 1));
  out->parameters = malloc(sizeof(int) * ((size_t)n_tensors + 1));
  out->gradients = malloc(sizeof(int) * ((size_t)n_tensors + 1));
  if (status == IPRO_OK && (!wrt || !gradient_of || !out->parameters || !out->gradients))
    status = out_of_memory(err);
  for (int t = 0; status == IPRO_OK && t < n_tensors; t++)
    if (ipro_tensor_is_trainable(graph, t)) {
      wrt[t] = true;
      out->parameters[out->n_parameters++] = t;
    }
  if (status == IPRO_OK)
    status = ipro_autodiff_append(graph, n_terms, seed_tensors, seeds, wrt, gradient_of, err);
  for (int p = 0; status == IPRO_OK && p < out->n_parameters; p++)
    out->gradients[p] = gradient_of[out->parameters[p]];
  if (status == IPRO_OK) status = add_optimizer(graph, optimizer, out, err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, batch, err);
  free(wrt);
  free(gradient_of);
  if (status != IPRO_OK) ipro_training_graph_release(out);
  return status;
}

ipro_status ipro_training_graph_build(ipro_graph *graph, ipro_optimizer_kind optimizer,
                                      ipro_training_graph *out, ipro_error *err) {
  if (graph->n_outputs != 1)
    return ipro_error_set(err,
                          "training needs a network with one output (the logits); this one "
                          "has %d",
                          graph->n_outputs);
  const ipro_tensor *logits = &graph->tensors[graph->outputs[0]];
  if (logits->shape.rank != 2 ||
      (logits->dtype != IPRO_DTYPE_FLOAT && logits->dtype != IPRO_DTYPE_DOUBLE))
    return ipro_error_set(err, "the network's output '%s' must be float logits [batch, classes]",
                          logits->name);
  ipro_loss_term cross_entropy = {IPRO_LOSS_CROSS_ENTROPY, graph->outputs[0], -1, 1.0f, 0};
  return ipro_training_graph_build_objective(graph, optimizer, &cross_entropy, 1, false, out, err);
}
