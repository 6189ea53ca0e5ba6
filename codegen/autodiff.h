/* Reverse-mode automatic differentiation on the IR: appends to a graph the nodes that compute
 * gradients, so the backward pass is an ordinary part of the program that the same shape
 * inference, memory planner, executor and backends handle.
 *
 * Gradients flow from seeds (a tensor and the tensor holding its gradient, e.g. the logits and
 * the loss's gradient with respect to them) back through every node whose inputs depend on a
 * tensor that was asked for. Each op's rule (gradient_rules.c, one per op, indexed by ipro_op)
 * emits the backward nodes; where a tensor feeds several nodes, its partial gradients are summed.
 * An op without a rule on the path is an error that names the op and the node. The graph must
 * have concrete shapes: backward nodes carry them in their attributes. */
#ifndef IPRO_AUTODIFF_H
#define IPRO_AUTODIFF_H

#include <stdbool.h>

#include "ir/graph.h"

/* wrt[t] (for each tensor present at the call) asks for the gradient of tensor t; on success
 * gradient_of[t] is the tensor holding it, or -1 where the seeds do not depend on t. */
ipro_status ipro_autodiff_append(ipro_graph *graph, int n_seeds, const int *seed_tensors,
                                 const int *seed_gradients, const bool *wrt, int *gradient_of,
                                 ipro_error *err);

/* ---- for the gradient rules (gradient_rules.c) ---- */

typedef struct ipro_autodiff ipro_autodiff;

/* A rule receives the forward node's index, the gradient tensor of each output (-1: none), and
 * which inputs need a gradient; it writes the gradient tensor of each of those inputs (or -1). */
typedef ipro_status (*ipro_gradient_rule)(ipro_autodiff *ad, int node, const int *output_grads,
                                          const bool *wanted, int *input_grads, ipro_error *err);

/* The rule table, indexed by ipro_op; NULL where an op has no gradient. */
const ipro_gradient_rule *ipro_gradient_rules(void);

ipro_graph *ipro_autodiff_graph(ipro_autodiff *ad);
/* Appends a node of op `op` for the backward of forward node `forward` (named after it), with
 * the given inputs and n_outputs fresh float tensors, written into outputs. When copy_attributes
 * is set the forward node's attributes are copied first. Returns the new node's index or -1
 * (out of memory, with err set). */
int ipro_autodiff_emit(ipro_autodiff *ad, int forward, ipro_op op, const int *inputs, int n_inputs,
                       int n_outputs, int *outputs, bool copy_attributes, ipro_error *err);
/* A new constant tensor of dtype and shape holding values, named after the forward node and
 * what. -1 when out of memory. */
int ipro_autodiff_constant(ipro_autodiff *ad, int forward, const char *what, ipro_dtype dtype,
                           const ipro_shape *shape, const void *values, ipro_error *err);
/* A new constant int64 tensor holding values (for Reshape's shape input). -1 when out of memory. */
int ipro_autodiff_constant_ints(ipro_autodiff *ad, int forward, const int64_t *values, int count,
                                ipro_error *err);

#endif
