/* Freezing parameters by name (see frozen_parameters.h). */
#include "frozen_parameters.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "training_graph.h"

bool ipro_frozen_pattern_matches(const char *pattern, const char *name) {
  if (fnmatch(pattern, name, 0) == 0) return true;
  /* a module prefix: "layer1" as "layer1.*" (PyTorch's names), "/layer1" as "/layer1/" then any */
  char prefixed[1024];
  for (const char *separator = "./"; *separator; separator++) {
    int n = snprintf(prefixed, sizeof prefixed, "%s%c*", pattern, *separator);
    if (n > 0 && (size_t)n < sizeof prefixed && fnmatch(prefixed, name, 0) == 0) return true;
  }
  return false;
}

static bool matched_by_any(int n_patterns, const char *const *patterns, const char *name) {
  for (int p = 0; p < n_patterns; p++)
    if (ipro_frozen_pattern_matches(patterns[p], name)) return true;
  return false;
}

/* The error for a pattern that matches no trainable parameter: what it matches instead, or the
 * first parameters' names, so that the user sees how this model names them. */
static ipro_status no_parameter(const ipro_graph *graph, const bool *trainable, const char *pattern,
                                const char *model, ipro_error *err) {
  for (int t = 0; t < graph->n_tensors; t++)
    if (ipro_frozen_pattern_matches(pattern, graph->tensors[t].name))
      return ipro_error_set(err,
                            "%s: --freeze '%s' matches no trainable parameter; it matches '%s', "
                            "which is not one (an input, an activation, a constant or a "
                            "BatchNormalization's running statistic)",
                            model, pattern, graph->tensors[t].name);
  char examples[400] = "";
  int shown = 0;
  for (int t = 0; t < graph->n_tensors && shown < 3; t++) {
    if (!trainable[t]) continue;
    size_t used = strlen(examples);
    snprintf(examples + used, sizeof examples - used, "%s'%.100s'", shown ? ", " : "",
             graph->tensors[t].name);
    shown++;
  }
  return ipro_error_set(err,
                        "%s: --freeze '%s' matches none of the model's tensors; its parameters "
                        "are named like %s",
                        model, pattern, shown ? examples : "(none)");
}

ipro_status ipro_graph_freeze(ipro_graph *graph, int n_patterns, const char *const *patterns,
                              const char *model, ipro_frozen_count *frozen, ipro_error *err) {
  if (frozen) *frozen = (ipro_frozen_count){0};
  if (n_patterns == 0) return IPRO_OK;
  bool *trainable = calloc((size_t)graph->n_tensors + 1, sizeof(bool));
  if (!trainable) return ipro_error_set(err, "out of memory freezing parameters");
  int n_trainable = 0;
  for (int t = 0; t < graph->n_tensors; t++)
    if ((trainable[t] = ipro_tensor_is_trainable(graph, t))) n_trainable++;
  ipro_status status = IPRO_OK;
  for (int p = 0; status == IPRO_OK && p < n_patterns; p++) {
    bool any = false;
    for (int t = 0; !any && t < graph->n_tensors; t++)
      any = trainable[t] && ipro_frozen_pattern_matches(patterns[p], graph->tensors[t].name);
    if (!any) status = no_parameter(graph, trainable, patterns[p], model, err);
  }
  /* trainable[t] becomes whether t is frozen: a trainable parameter a pattern names */
  ipro_frozen_count count = {0};
  for (int t = 0; t < graph->n_tensors; t++) {
    trainable[t] = trainable[t] && matched_by_any(n_patterns, patterns, graph->tensors[t].name);
    count.parameters += trainable[t];
    if (trainable[t]) count.values += ipro_shape_elements(&graph->tensors[t].shape);
  }
  count.trained = n_trainable - count.parameters;
  if (status == IPRO_OK && count.trained == 0)
    status = ipro_error_set(err,
                            "%s: --freeze freezes all %d of the model's parameters; nothing would "
                            "train",
                            model, n_trainable);
  for (int t = 0; status == IPRO_OK && t < graph->n_tensors; t++)
    graph->tensors[t].frozen |= trainable[t];
  if (status == IPRO_OK && frozen) *frozen = count;
  free(trainable);
  return status;
}

ipro_status ipro_graph_freeze_statistics(ipro_graph *graph, int n_patterns,
                                         const char *const *patterns, const char *model,
                                         int *frozen, ipro_error *err) {
  if (frozen) *frozen = 0;
  int count = 0;
  for (int p = 0; p < n_patterns; p++) {
    int matched = 0;
    for (int n = 0; n < graph->n_nodes; n++) {
      ipro_node *node = &graph->nodes[n];
      if (node->op != IPRO_OP_BATCH_NORMALIZATION || node->n_inputs < 5) continue;
      const ipro_tensor *mean = ipro_node_input(graph, node, 3),
                        *var = ipro_node_input(graph, node, 4);
      if (!(mean && ipro_frozen_pattern_matches(patterns[p], mean->name)) &&
          !(var && ipro_frozen_pattern_matches(patterns[p], var->name)))
        continue;
      matched++;
      if (ipro_node_attr_int(node, "frozen_statistics", 0)) continue;
      if (ipro_node_set_int(node, "frozen_statistics", 1) != IPRO_OK)
        return ipro_error_set(err, "out of memory freezing running statistics");
      count++;
    }
    if (!matched)
      return ipro_error_set(err,
                            "%s: --freeze-statistics '%s' names the running statistics of no "
                            "BatchNormalization (it is matched against their names, such as "
                            "'layer1.0.bn1.running_mean')",
                            model, patterns[p]);
  }
  if (frozen) *frozen = count;
  return IPRO_OK;
}
