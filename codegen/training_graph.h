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

typedef enum {
  IPRO_LOSS_CROSS_ENTROPY,       /* softmax cross-entropy of logits against the labels */
  IPRO_LOSS_SUPERVISED_CONTRAST, /* SupCon on features against the labels, temperature 0.07 */
  IPRO_LOSS_BINARY_CROSS_ENTROPY /* BCE of a prediction in (0, 1) against a target tensor */
} ipro_loss_kind;

/* One term of the objective: weight · loss(input[, target]). */
typedef struct {
  ipro_loss_kind kind;
  int input;
  int target; /* BCE only, else -1 */
  float weight;
  float temperature; /* SupCon only */
} ipro_loss_term;

#define IPRO_MAX_LOSS_TERMS 4
/* The most modules a network is cut into: the partitioner's search and the runtime's trainer
 * share it, so it lives with the program format both read. */
#define IPRO_MAX_MODULES 16

typedef struct {
  int n_parameters;
  int *parameters; /* tensor indices of the trainable initializers */
  int *gradients;  /* the gradient tensor of each, -1 when the loss does not depend on it */
  int labels;      /* the int64 [batch] graph input */
  int n_losses;
  int losses[IPRO_MAX_LOSS_TERMS]; /* the scalar loss of each term, graph outputs after the kept
                                      ones, in the order of the terms */
  int hyper; /* STATE float[IPRO_HYPER_COUNT], written by the trainer before each step */
} ipro_training_graph;

/* End-to-end training: cross-entropy on the graph's single output (the logits), which stops
 * being an output; the loss is the only output. graph must be normalised and shape-inferred at a
 * concrete batch; it is inferred again at that batch before returning. */
ipro_status ipro_training_graph_build(ipro_graph *graph, ipro_optimizer_kind optimizer,
                                      ipro_training_graph *out, ipro_error *err);
/* Any objective: a weighted sum of loss terms. keep_outputs: the graph's existing outputs stay
 * outputs (a local module hands its activation on), before the losses; otherwise only the losses
 * are outputs. */
ipro_status ipro_training_graph_build_objective(ipro_graph *graph, ipro_optimizer_kind optimizer,
                                                const ipro_loss_term *terms, int n_terms,
                                                bool keep_outputs, ipro_training_graph *out,
                                                ipro_error *err);
void ipro_training_graph_release(ipro_training_graph *training);

/* Whether tensor t of graph is a trainable parameter by the rule above. */
bool ipro_tensor_is_trainable(const ipro_graph *graph, int t);

#endif
