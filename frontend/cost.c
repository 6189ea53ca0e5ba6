/* Parameters, FLOPs, saved bytes and cut points of a graph (see cost.h for the definitions). */
#include "cost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/checked_size.h"
#include "op_table.h"

static bool is_activation(const ipro_tensor *tensor) {
  return tensor->kind == IPRO_TENSOR_ACTIVATION;
}

static void count_parameters(const ipro_graph *graph, ipro_graph_cost *cost, bool *counted) {
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    for (int i = 0; i < node->n_inputs; i++) {
      int t = node->inputs[i];
      if (t < 0 || counted[t]) continue;
      const ipro_tensor *tensor = &graph->tensors[t];
      if (tensor->kind != IPRO_TENSOR_INITIALIZER || tensor->dtype != IPRO_DTYPE_FLOAT) continue;
      counted[t] = true;
      int64_t elements = ipro_shape_elements(&tensor->shape);
      bool running_statistic = ipro_node_input_is_running_statistic(node, i);
      if (running_statistic)
        cost->nodes[n].bn_running_values += elements;
      else
        cost->nodes[n].params += elements;
    }
  }
}

static void mark_saved(const ipro_graph *graph, int tensor_index, bool *saved) {
  if (tensor_index >= 0 && is_activation(&graph->tensors[tensor_index])) saved[tensor_index] = true;
}

static void count_saved_bytes(const ipro_graph *graph, ipro_graph_cost *cost, bool *saved) {
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    const ipro_op_info *info = ipro_op_info_of(node->op);
    for (int i = 0; i < node->n_inputs && i < 32; i++)
      if (info->saved_inputs & (1u << i)) mark_saved(graph, node->inputs[i], saved);
    for (int i = 0; i < node->n_outputs && i < 32; i++)
      if (info->saved_outputs & (1u << i)) mark_saved(graph, node->outputs[i], saved);
    if (info->saved_extra_bytes) cost->nodes[n].saved_bytes += info->saved_extra_bytes(graph, node);
  }
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    if (!saved[t]) continue;
    if (tensor->producer >= 0)
      cost->nodes[tensor->producer].saved_bytes += ipro_tensor_bytes(tensor);
  }
}

/* shared_change[i]: how the number of parameters whose readers a cut after node i would separate
 * changes there. A parameter read by several nodes (tied weights, or equal ones an exporter
 * deduplicated: PyTorch's torch.export-based exporter does with its default optimisation) is one
 * tensor trained by all its readers; modules are trained apart, each on its own copy of what it
 * reads, so no cut may fall between its first and last reader. */
/* The first and last node reading parameter t (-1, -1 for none; a float initializer). */
static bool parameter_readers(const ipro_graph *graph, int t, int *first, int *last) {
  const ipro_tensor *tensor = &graph->tensors[t];
  *first = *last = -1;
  if (tensor->kind != IPRO_TENSOR_INITIALIZER || tensor->dtype != IPRO_DTYPE_FLOAT) return false;
  for (int c = 0; c < graph->n_nodes; c++)
    for (int i = 0; i < graph->nodes[c].n_inputs; i++)
      if (graph->nodes[c].inputs[i] == t) {
        if (*first < 0) *first = c;
        *last = c;
      }
  return *last > *first;
}

static void mark_shared_parameters(const ipro_graph *graph, int *shared_change) {
  for (int t = 0; t < graph->n_tensors; t++) {
    int first, last;
    if (parameter_readers(graph, t, &first, &last)) {
      shared_change[first]++;
      shared_change[last]--;
    }
  }
}

/* after[t]: t is computed from a float initializer that is not frozen nor a BatchNormalization's
 * running statistic, so a module ending at t trains something of the network's. NULL where no
 * parameter is frozen (every cut point stays, as without --freeze) or out of memory. */
static bool *tensors_after_parameters(const ipro_graph *graph) {
  bool any_frozen = false;
  for (int t = 0; t < graph->n_tensors && !any_frozen; t++)
    any_frozen = graph->tensors[t].frozen;
  bool *after = any_frozen ? calloc((size_t)graph->n_tensors + 1, sizeof(bool)) : NULL;
  if (!after) return NULL;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    bool reads = false;
    for (int i = 0; i < node->n_inputs && !reads; i++) {
      int t = node->inputs[i];
      bool running_statistic = ipro_node_input_is_running_statistic(node, i);
      const ipro_tensor *tensor = t >= 0 ? &graph->tensors[t] : NULL;
      reads = tensor && (after[t] || (tensor->kind == IPRO_TENSOR_INITIALIZER && !tensor->frozen &&
                                      tensor->dtype == IPRO_DTYPE_FLOAT && !running_statistic));
    }
    for (int o = 0; o < node->n_outputs && reads; o++)
      if (node->outputs[o] >= 0) after[node->outputs[o]] = true;
  }
  return after;
}

/* Whether tensor is a cut point of the network that ipro_graph_cuts_after_parameters drops. */
static bool cut_before_parameters(const ipro_graph *graph, int tensor) {
  int *cut_points = malloc(sizeof(int) * ((size_t)graph->n_nodes + 1));
  bool *after = tensors_after_parameters(graph);
  int n = cut_points ? ipro_graph_find_cut_points(graph, cut_points) : 0;
  bool dropped = false;
  for (int c = 0; after && c < n; c++)
    dropped |= cut_points[c] == tensor && !after[tensor];
  free(cut_points);
  free(after);
  return dropped;
}

int ipro_graph_cuts_after_parameters(const ipro_graph *graph, int *cut_points, int n_cut_points) {
  bool *after = tensors_after_parameters(graph);
  if (!after) return n_cut_points;
  int kept = 0;
  for (int c = 0; c < n_cut_points; c++)
    if (after[cut_points[c]]) cut_points[kept++] = cut_points[c];
  free(after);
  return kept;
}

void ipro_graph_explain_not_cut(const ipro_graph *graph, int tensor, char *why, size_t size) {
  /* The ends of the network are live alone too, but a cut there leaves a module with no node. */
  if (graph->tensors[tensor].is_graph_output) {
    snprintf(why, size,
             "it is the network's output: a cut there would leave an empty module after it");
    return;
  }
  if (graph->tensors[tensor].is_graph_input) {
    snprintf(why, size,
             "it is the network's input: a cut there would leave an empty module before it");
    return;
  }
  if (!is_activation(&graph->tensors[tensor])) {
    snprintf(why, size, "it is one of the model's constants (an initializer), not an activation");
    return;
  }
  /* The local heads take feature maps and feature vectors (partitioner/infopro_heads.h). */
  int rank = graph->tensors[tensor].shape.rank;
  if (rank < 2 || rank > 4) {
    snprintf(why, size,
             "the local heads attach to feature maps or feature vectors (rank 2 to 4), and it has "
             "rank %d",
             rank);
    return;
  }
  int producer = graph->tensors[tensor].producer;
  for (int t = 0; t < graph->n_tensors && producer >= 0; t++) {
    int first, last;
    if (parameter_readers(graph, t, &first, &last) && first <= producer && producer < last) {
      snprintf(why, size,
               "parameter '%s' is read on both sides of it, by '%s' and '%s', and modules "
               "trained apart cannot share a parameter",
               graph->tensors[t].name, graph->nodes[first].name, graph->nodes[last].name);
      return;
    }
  }
  /* Read only by pointwise activations: the cut goes after the activation (see
   * ipro_graph_find_cut_points), at its output. */
  int readers = 0, pointwise = 0, first_reader = -1;
  for (int c = 0; c < graph->n_nodes; c++)
    for (int i = 0; i < graph->nodes[c].n_inputs; i++)
      if (graph->nodes[c].inputs[i] == tensor) {
        readers++;
        pointwise += ipro_op_info_of(graph->nodes[c].op)->pointwise;
        if (first_reader < 0) first_reader = c;
        break;
      }
  if (readers == 0) {
    snprintf(why, size, "no node reads it");
    return;
  }
  if (pointwise == readers && graph->nodes[first_reader].n_outputs > 0) {
    snprintf(why, size,
             "it is read only by the pointwise activation '%s', which belongs with the module "
             "before the cut: cut at its output '%s'",
             graph->nodes[first_reader].name,
             graph->tensors[graph->nodes[first_reader].outputs[0]].name);
    return;
  }
  if (cut_before_parameters(graph, tensor)) {
    snprintf(why, size,
             "--freeze froze every parameter before it: module 1 would train only its own "
             "heads");
    return;
  }
  snprintf(why, size,
           "another activation is live beside it, so a gradient-isolated module cannot end there");
}

int ipro_graph_find_cut_points(const ipro_graph *graph, int *cut_points) {
  int n = graph->n_nodes;
  /* live_change[i]: how the number of live activations changes right after node i. */
  int *live_change = calloc((size_t)n + 2, sizeof(int));
  int *shared_change = calloc((size_t)n + 2, sizeof(int));
  if (!live_change || !shared_change) {
    free(live_change);
    free(shared_change);
    return 0;
  }
  mark_shared_parameters(graph, shared_change);
  int live_before_first = 0;
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    if (!is_activation(tensor)) continue;
    int defined = tensor->producer; /* -1 for graph inputs */
    if (defined < 0 && !tensor->is_graph_input) continue;
    int last_use = tensor->is_graph_output ? n : defined;
    for (int c = 0; c < n; c++) {
      const ipro_node *node = &graph->nodes[c];
      for (int i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] == t && c > last_use) last_use = c;
    }
    if (last_use <= defined) continue; /* never read: never live */
    if (defined < 0)
      live_before_first++;
    else
      live_change[defined]++;
    if (last_use < n) live_change[last_use]--;
  }
  int count = 0, live = live_before_first, shared = 0;
  for (int i = 0; i < n; i++) {
    live += live_change[i];
    shared += shared_change[i];
    const ipro_node *node = &graph->nodes[i];
    int t = node->n_outputs > 0 ? node->outputs[0] : -1;
    if (live != 1 || shared > 0 || t < 0) continue;
    const ipro_tensor *tensor = &graph->tensors[t];
    if (!is_activation(tensor) || tensor->is_graph_output) continue;
    /* The single live tensor must be this node's output, read later, and not only by a
     * pointwise activation (see op_table.h). */
    int readers = 0, pointwise_readers = 0;
    for (int c = i + 1; c < n; c++)
      for (int k = 0; k < graph->nodes[c].n_inputs; k++)
        if (graph->nodes[c].inputs[k] == t) {
          readers++;
          pointwise_readers += ipro_op_info_of(graph->nodes[c].op)->pointwise;
          break;
        }
    if (readers > 0 && pointwise_readers < readers) cut_points[count++] = t;
  }
  free(live_change);
  free(shared_change);
  return count;
}

ipro_status ipro_graph_cost_compute(const ipro_graph *graph, ipro_graph_cost *out,
                                    ipro_error *err) {
  memset(out, 0, sizeof *out);
  if (graph->batch <= 0)
    return ipro_error_set(err, "costs need a concrete batch size (infer shapes with a batch)");
  out->n_nodes = graph->n_nodes;
  out->nodes = calloc((size_t)graph->n_nodes + 1, sizeof *out->nodes);
  out->cut_points = malloc(sizeof(int) * ((size_t)graph->n_nodes + 1));
  bool *flags = calloc((size_t)graph->n_tensors + 1, sizeof(bool));
  bool *saved = calloc((size_t)graph->n_tensors + 1, sizeof(bool));
  if (!out->nodes || !out->cut_points || !flags || !saved) {
    free(flags);
    free(saved);
    ipro_graph_cost_release(out);
    return ipro_error_set(err, "out of memory computing costs");
  }
  count_parameters(graph, out, flags);
  count_saved_bytes(graph, out, saved);
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    ipro_node_cost *cost = &out->nodes[n];
    cost->flops = ipro_op_info_of(node->op)->flops(graph, node);
    bool fits = cost->flops >= 0;
    for (int o = 0; o < node->n_outputs; o++) {
      const ipro_tensor *output = ipro_node_output(graph, node, o);
      if (output && is_activation(output))
        fits = fits &&
               ipro_checked_add(cost->output_bytes, ipro_tensor_bytes(output), &cost->output_bytes);
    }
    fits = fits && ipro_checked_add(out->params, cost->params, &out->params) &&
           ipro_checked_add(out->bn_running_values, cost->bn_running_values,
                            &out->bn_running_values) &&
           ipro_checked_add(out->flops, cost->flops, &out->flops) &&
           ipro_checked_add(out->saved_bytes, cost->saved_bytes, &out->saved_bytes);
    if (!fits) {
      free(flags);
      free(saved);
      ipro_graph_cost_release(out);
      return ipro_error_set(err,
                            "node '%s' (%s): its FLOPs or bytes at batch %lld, or the graph's "
                            "totals with them, overflow a 64-bit count",
                            node->name, node->op_type, (long long)graph->batch);
    }
  }
  for (int i = 0; i < graph->n_inputs; i++)
    out->input_bytes += ipro_tensor_bytes(&graph->tensors[graph->inputs[i]]);
  out->n_cut_points = ipro_graph_find_cut_points(graph, out->cut_points);
  for (int c = 0; c < out->n_cut_points; c++) {
    int producer = graph->tensors[out->cut_points[c]].producer;
    if (producer >= 0) out->nodes[producer].is_cut = true;
  }
  free(flags);
  free(saved);
  return IPRO_OK;
}

void ipro_graph_cost_release(ipro_graph_cost *cost) {
  free(cost->nodes);
  free(cost->cut_points);
  cost->nodes = NULL;
  cost->cut_points = NULL;
}
