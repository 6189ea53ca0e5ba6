/* The op table: one row per supported operator, indexed by ipro_op.
 *
 * A row says everything the compiler knows about an op: how to put a node into canonical form,
 * how to infer its output shapes (folding constant shape computations), what it costs, and what
 * its backward pass must keep. Later stages (reference kernels, gradient rules, backends) keep
 * their own tables indexed by the same ipro_op, each with a static_assert on IPRO_OP_COUNT.
 * Nothing outside these tables switches on op names. */
#ifndef IPRO_OP_TABLE_H
#define IPRO_OP_TABLE_H

#include "ir/graph.h"
#include "ir/op_names.h"

typedef struct {
  const char *name;
  /* Rewrites node into the canonical form for graph->opset (attributes instead of constant
   * inputs, defaults filled in). Called once after loading. NULL: the ONNX form is canonical. */
  ipro_status (*normalize)(ipro_graph *graph, ipro_node *node, ipro_error *err);
  /* Sets the dtype and shape of every output from the inputs, checks that they are consistent
   * and of a supported dtype, and folds the node into constant outputs when it is a shape
   * computation whose inputs are known. */
  ipro_status (*infer)(ipro_graph *graph, ipro_node *node, ipro_error *err);
  /* Forward floating-point operations at the graph's batch (a multiply-add counts 2). */
  int64_t (*flops)(const ipro_graph *graph, const ipro_node *node);
  /* What the backward pass reads: bit i set = the i-th input (resp. output) must be kept from
   * the forward pass. Parameters and constants among them cost nothing extra. */
  unsigned saved_inputs;
  unsigned saved_outputs;
  /* Bytes of extra state the forward pass keeps for the backward (masks, statistics); NULL: 0. */
  int64_t (*saved_extra_bytes)(const ipro_graph *graph, const ipro_node *node);
  /* An elementwise function of one input (Relu, Sigmoid, ...). A tensor read only by such an op
   * is not offered as a cut point: its activation's output is, which hands the next module the
   * same information in the form the network itself passes on. */
  bool pointwise;
} ipro_op_info;

const ipro_op_info *ipro_op_info_of(ipro_op op);

#endif
