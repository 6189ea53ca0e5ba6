/* Per-node cost facts and the cut points of a shape-inferred graph.
 *
 * Parameters: every float initializer a node reads counts once, at its first reader, as trainable
 * parameters — except BatchNormalization's running mean and variance (inputs 3 and 4), which are
 * counted as bn_running_values. FLOPs come from the op table (a multiply-add counts 2). Saved bytes
 * are what a training step must keep for the backward pass: each activation that some node's
 * backward reads (op table masks) is counted once, at the node that produces it, plus each node's
 * extra state (BN statistics, dropout masks). The graph input is not in saved_bytes; it is the
 * input batch of DESIGN.md's memory model (input_bytes).
 *
 * A cut point is an activation that is the only live activation once its producer has run: every
 * path from the input to the output passes through it, so the network can be split there; and no
 * parameter is read both before and after it (a tied or deduplicated parameter is one tensor, which
 * two modules trained apart cannot share). */
#ifndef IPRO_COST_H
#define IPRO_COST_H

#include "ir/graph.h"

typedef struct {
  int64_t params;
  int64_t bn_running_values;
  int64_t flops;
  int64_t output_bytes;
  int64_t saved_bytes;
  bool is_cut; /* the node's first output is a cut point */
} ipro_node_cost;

typedef struct {
  int n_nodes;
  ipro_node_cost *nodes; /* indexed like graph->nodes */
  int64_t params;
  int64_t bn_running_values;
  int64_t flops;
  int64_t saved_bytes;
  int64_t input_bytes;
  int n_cut_points;
  int *cut_points; /* tensor indices, in topological order */
} ipro_graph_cost;

/* The graph must have concrete shapes (ipro_graph_infer_shapes with a batch > 0). */
ipro_status ipro_graph_cost_compute(const ipro_graph *graph, ipro_graph_cost *out, ipro_error *err);
void ipro_graph_cost_release(ipro_graph_cost *cost);

/* Writes the cut points (tensor indices, topological order) into cut_points, which has room for
 * graph->n_nodes entries, and returns how many there are. The partitioner chooses among these. */
int ipro_graph_find_cut_points(const ipro_graph *graph, int *cut_points);
/* Why activation `tensor`, not a cut point, is none, as a phrase for a message: it is the
 * network's output or input (a cut there makes an empty module), a parameter is read on both
 * sides of it (named with its first and last reader), --freeze froze every parameter before it
 * (ipro_graph_cuts_after_parameters), or another activation is live. */
void ipro_graph_explain_not_cut(const ipro_graph *graph, int tensor, char *why, size_t size);
/* Where some parameter is frozen (codegen/frozen_parameters.h), keeps, in place and in order,
 * the cut points computed from a parameter (a float initializer neither frozen nor a
 * BatchNormalization's running statistic), returning how many: a cut inside the frozen stem
 * would leave module 1 nothing of the network's to train, its heads training only themselves.
 * Without a frozen parameter every cut point stays. */
int ipro_graph_cuts_after_parameters(const ipro_graph *graph, int *cut_points, int n_cut_points);

#endif
