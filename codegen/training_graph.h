/* Turns a network into its training step, in place: the forward pass in training form, the
 * softmax cross-entropy loss on the network's logits against a new int64 graph input "labels",
 * the backward pass (autodiff.h), and one optimizer update per trainable parameter. The result
 * is an ordinary graph whose only output is the loss; the executor runs it as one program, and
 * the memory planner keeps each saved activation only until its backward node has read it.
 *
 * Trainable parameters are the float initializers the network reads, except BatchNormalization's
 * running statistics (which the forward pass updates in place, as PyTorch does). Gradients,
 * optimizer moments and the hyper-parameter vector are STATE tensors: persistent, outside the
 * arena, zero at the start. */
#ifndef IPRO_TRAINING_GRAPH_H
#define IPRO_TRAINING_GRAPH_H

#include "frontend/graph.h"

typedef enum { IPRO_OPTIMIZER_SGD, IPRO_OPTIMIZER_ADAMW } ipro_optimizer_kind;

/* Number of floats in the hyper-parameter tensor (codegen/internal_ops.md). */
#define IPRO_HYPER_COUNT 6

typedef struct {
  int n_parameters;
  int *parameters; /* tensor indices of the trainable initializers */
  int *gradients;  /* the gradient tensor of each, -1 when the loss does not depend on it */
  int logits, labels, loss;
  int hyper; /* STATE float[IPRO_HYPER_COUNT], written by the trainer before each step */
} ipro_training_graph;

/* graph must be normalised and shape-inferred at a concrete batch; it is inferred again at that
 * batch before returning. */
ipro_status ipro_training_graph_build(ipro_graph *graph, ipro_optimizer_kind optimizer,
                                      ipro_training_graph *out, ipro_error *err);
void ipro_training_graph_release(ipro_training_graph *training);

/* Whether tensor t of graph is a trainable parameter by the rule above. */
bool ipro_tensor_is_trainable(const ipro_graph *graph, int t);

#endif
