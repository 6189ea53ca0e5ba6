/* Rewriting BatchNormalization and Dropout into inference form (see onnx_inference_form.h).
 *
 * Only counts, pointers and attribute values change, through the undo log, so the decoded message
 * is freed exactly as protobuf-c built it. Outputs are dropped from the end only (a node's output
 * list is shortened), which keeps the first output, the one inference uses, in place. */
#include "onnx_inference_form.h"

#include <stdlib.h>
#include <string.h>

static bool named(const char *a, const char *b) { return a && b && !strcmp(a, b); }

/* Sets an existing training_mode attribute to 0. */
static ipro_status clear_training_attribute(Onnx__NodeProto *node, ipro_proto_edits *log,
                                            ipro_error *err) {
  for (size_t a = 0; a < node->n_attribute; a++)
    if (named(node->attribute[a]->name, "training_mode"))
      return IPRO_PROTO_SET(log, node->attribute[a]->i, 0, err);
  return IPRO_OK;
}

/* Removes graph outputs named in dropped[0..n) (training-only tensors). */
static ipro_status drop_graph_outputs(Onnx__GraphProto *graph, char **dropped, size_t n,
                                      ipro_proto_edits *log, ipro_error *err) {
  Onnx__ValueInfoProto **kept = malloc((graph->n_output ? graph->n_output : 1) * sizeof *kept);
  if (ipro_proto_own(log, kept, err) != IPRO_OK) return IPRO_ERROR;
  size_t count = 0;
  for (size_t o = 0; o < graph->n_output; o++) {
    bool drop = false;
    for (size_t d = 0; d < n && !drop; d++)
      drop = named(graph->output[o]->name, dropped[d]);
    if (!drop) kept[count++] = graph->output[o];
  }
  if (count == graph->n_output) return IPRO_OK;
  if (count == 0)
    return ipro_error_set(err, "every graph output is a training-only statistic; nothing would "
                               "remain of the model in inference form");
  ipro_status status = IPRO_PROTO_SET(log, graph->output, kept, err);
  if (status == IPRO_OK) status = IPRO_PROTO_SET(log, graph->n_output, count, err);
  return status;
}

ipro_status ipro_onnx_inference_form(Onnx__GraphProto *graph, ipro_proto_edits *log, int *changed,
                                     ipro_error *err) {
  *changed = 0;
  char **dropped = NULL;
  size_t n_dropped = 0;
  ipro_status status = IPRO_OK;
  for (size_t n = 0; n < graph->n_node && status == IPRO_OK; n++) {
    Onnx__NodeProto *node = graph->node[n];
    bool batch_norm = named(node->op_type, "BatchNormalization"),
         dropout = named(node->op_type, "Dropout");
    if (!batch_norm && !dropout) continue;
    if (node->domain && node->domain[0] && strcmp(node->domain, "ai.onnx")) continue;
    size_t keep_inputs = dropout && node->n_input > 2 ? 2 : node->n_input;
    if (node->n_output <= 1 && keep_inputs == node->n_input) {
      status = clear_training_attribute(node, log, err);
      continue;
    }
    char **grown = realloc(dropped, (n_dropped + node->n_output) * sizeof *dropped);
    if (!grown) {
      status = ipro_error_set(err, "out of memory");
      break;
    }
    dropped = grown;
    for (size_t o = 1; o < node->n_output; o++)
      if (node->output[o] && node->output[o][0]) dropped[n_dropped++] = node->output[o];
    status = clear_training_attribute(node, log, err);
    if (status == IPRO_OK && node->n_output > 1)
      status = IPRO_PROTO_SET(log, node->n_output, 1, err);
    if (status == IPRO_OK && keep_inputs != node->n_input)
      status = IPRO_PROTO_SET(log, node->n_input, keep_inputs, err);
    (*changed)++;
  }
  /* A dropped output that another node still reads would leave that node without its input. */
  for (size_t n = 0; n < graph->n_node && status == IPRO_OK; n++)
    for (size_t i = 0; i < graph->node[n]->n_input && status == IPRO_OK; i++)
      for (size_t d = 0; d < n_dropped && status == IPRO_OK; d++)
        if (named(graph->node[n]->input[i], dropped[d]))
          status = ipro_error_set(err,
                                  "node '%s' reads '%s', a training-only output; the model has "
                                  "no inference form without it",
                                  graph->node[n]->name ? graph->node[n]->name : "", dropped[d]);
  if (status == IPRO_OK && n_dropped)
    status = drop_graph_outputs(graph, dropped, n_dropped, log, err);
  free(dropped);
  if (status == IPRO_OK) status = ipro_onnx_stochastic_depth_to_inference(graph, log, changed, err);
  return status;
}
