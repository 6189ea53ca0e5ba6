/* Frozen parameters (`--freeze PATTERN`, train, compile and plan): the network's trainable
 * parameters (training_graph.h's rule) whose names a pattern matches are marked frozen before
 * anything is built from the network, as PyTorch's requires_grad=False leaves a weight out of the
 * optimizer. They stay initializers, held once in the parameter block like the others, but get
 * no gradient and no optimizer state; autodiff runs no backward pass through a frozen part that
 * the trained parameters do not depend on (a frozen stem keeps no activations for one); and
 * training writes them back as they were loaded. BatchNormalization's running statistics are
 * state, not parameters: a frozen BatchNormalization's scale and bias stay, its running
 * statistics still follow the batches, as they do in PyTorch's training mode.
 *
 * A pattern is a shell glob (fnmatch(3), '*' crossing '.' and '/'), matched against the whole
 * tensor name or a module prefix of it: "layer1" freezes "layer1.0.conv1.weight" (it matches
 * "layer1.*"), "*.bias" every bias, "conv1.weight" exactly that tensor. */
#ifndef IPRO_FROZEN_PARAMETERS_H
#define IPRO_FROZEN_PARAMETERS_H

#include <stdbool.h>

#include "ir/graph.h"

/* the most --freeze patterns one run takes */
#define IPRO_MAX_FROZEN_PATTERNS 64

/* Whether pattern matches name (the tensor or a module holding it). */
bool ipro_frozen_pattern_matches(const char *pattern, const char *name);

/* What ipro_graph_freeze froze: parameters and their values, and the parameters left to train. */
typedef struct {
  int parameters, trained;
  int64_t values;
} ipro_frozen_count;

/* Marks frozen every trainable parameter of graph that one of the n_patterns patterns matches;
 * *frozen (may be NULL) counts them. A pattern that matches no trainable parameter is an
 * error naming it (and, for a pattern that matches some other tensor, what that tensor is), as is
 * freezing every parameter (nothing would train); model names the file in messages. No patterns:
 * nothing. */
ipro_status ipro_graph_freeze(ipro_graph *graph, int n_patterns, const char *const *patterns,
                              const char *model, ipro_frozen_count *frozen, ipro_error *err);

/* `--freeze-statistics PATTERN`: every BatchNormalization whose running mean or variance a pattern
 * names (as above: "layer1" names "layer1.0.bn1.running_mean") gets the attribute
 * frozen_statistics, which keeps it in inference form in the training program
 * (training_graph.h): it normalises with its running statistics and leaves them as loaded, as
 * PyTorch's bn.eval() does (torchvision's FrozenBatchNorm2d), while its scale and bias still train
 * unless --freeze names them. *frozen (may be NULL) counts the BatchNormalizations; a pattern that
 * names none is an error. */
ipro_status ipro_graph_freeze_statistics(ipro_graph *graph, int n_patterns,
                                         const char *const *patterns, const char *model,
                                         int *frozen, ipro_error *err);

#endif
