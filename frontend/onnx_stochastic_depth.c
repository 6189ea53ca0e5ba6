/* Stochastic depth in inference form, on an ONNX file's graph (the rewrite stochastic_depth.h
 * makes to the IR, made here to the decoded message for `infopro export --inference`): each Div
 * of a keep mask Cast(Less(RandomUniformLike(·), p)) by the same p reads p twice, Div(p, p) = 1.
 * One input name of the Div changes, through the undo log. */
#include <string.h>

#include "onnx_inference_form.h"

/* The node of graph that writes tensor `name`, or NULL. */
static const Onnx__NodeProto *producer(const Onnx__GraphProto *graph, const char *name) {
  for (size_t n = 0; n < graph->n_node; n++)
    for (size_t o = 0; o < graph->node[n]->n_output; o++)
      if (ipro_onnx_named(graph->node[n]->output[o], name)) return graph->node[n];
  return NULL;
}

/* The node writing `name` when it is a default-domain `op` with at least `inputs` inputs. */
static const Onnx__NodeProto *made_by(const Onnx__GraphProto *graph, const char *name,
                                      const char *op, size_t inputs) {
  const Onnx__NodeProto *node = producer(graph, name);
  return node && ipro_onnx_default_domain(node) && ipro_onnx_named(node->op_type, op) &&
                 node->n_input >= inputs
             ? node
             : NULL;
}

/* The value of a one-element real constant named `name`: an initializer, a Constant's value, or
 * either through Cast, CastLike or Identity. */
static bool scalar_value(const Onnx__GraphProto *graph, const char *name, double *value,
                         int depth) {
  int count, rank;
  if (!name || depth > 4) return false;
  if (ipro_onnx_constant_values(graph, name, IPRO_DTYPE_DOUBLE, value, 1, &count, &rank))
    return count == 1;
  const Onnx__NodeProto *node = producer(graph, name);
  if (!node || !ipro_onnx_default_domain(node)) return false;
  bool passes = ipro_onnx_named(node->op_type, "Cast") ||
                ipro_onnx_named(node->op_type, "CastLike") ||
                ipro_onnx_named(node->op_type, "Identity");
  return passes && node->n_input > 0 && scalar_value(graph, node->input[0], value, depth + 1);
}

static float attribute_float(const Onnx__NodeProto *node, const char *name, float fallback) {
  for (size_t a = 0; a < node->n_attribute; a++)
    if (ipro_onnx_named(node->attribute[a]->name, name)) return node->attribute[a]->f;
  return fallback;
}

static bool is_scaled_keep_mask(const Onnx__GraphProto *graph, const Onnx__NodeProto *div) {
  if (!ipro_onnx_default_domain(div) || !ipro_onnx_named(div->op_type, "Div") || div->n_input != 2)
    return false;
  const Onnx__NodeProto *cast = made_by(graph, div->input[0], "Cast", 1);
  if (!cast) cast = made_by(graph, div->input[0], "CastLike", 1);
  const Onnx__NodeProto *less = cast ? made_by(graph, cast->input[0], "Less", 2) : NULL;
  const Onnx__NodeProto *noise =
      less ? made_by(graph, less->input[0], "RandomUniformLike", 1) : NULL;
  if (!noise || attribute_float(noise, "low", 0.0f) != 0.0f ||
      attribute_float(noise, "high", 1.0f) != 1.0f)
    return false;
  double kept, divisor;
  return scalar_value(graph, less->input[1], &kept, 0) &&
         scalar_value(graph, div->input[1], &divisor, 0) && kept == divisor && kept > 0 &&
         kept <= 1;
}

ipro_status ipro_onnx_stochastic_depth_to_inference(Onnx__GraphProto *graph, ipro_proto_edits *log,
                                                    int *changed, ipro_error *err) {
  for (size_t n = 0; n < graph->n_node; n++) {
    Onnx__NodeProto *div = graph->node[n];
    if (!is_scaled_keep_mask(graph, div)) continue;
    if (IPRO_PROTO_SET(log, div->input[0], div->input[1], err) != IPRO_OK) return IPRO_ERROR;
    (*changed)++;
  }
  return IPRO_OK;
}
