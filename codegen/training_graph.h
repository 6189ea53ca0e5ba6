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

#include <stdint.h>

#include "ir/training_program.h"

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

/* Whether tensor t of graph is a trainable parameter by the rule above. */
bool ipro_tensor_is_trainable(const ipro_graph *graph, int t);

#endif
