/* Stochastic depth in inference form (see stochastic_depth.h). */
#include "stochastic_depth.h"

/* The value of a one-element real constant, followed back through Cast, CastLike and Identity to
 * the Constant or initializer it comes from (before shape inference has folded them). */
static bool scalar_value(const ipro_graph *graph, int t, double *value, int depth) {
  if (t < 0 || depth > 4) return false;
  const ipro_tensor *x = &graph->tensors[t];
  bool real = x->dtype == IPRO_DTYPE_FLOAT || x->dtype == IPRO_DTYPE_DOUBLE;
  if (x->data && real && x->data_bytes == ipro_dtype_size(x->dtype))
    return ipro_dtype_convert(x->data, x->dtype, value, IPRO_DTYPE_DOUBLE, 1);
  if (x->producer < 0) return false;
  const ipro_node *node = &graph->nodes[x->producer];
  bool passes =
      node->op == IPRO_OP_CAST || node->op == IPRO_OP_CAST_LIKE || node->op == IPRO_OP_IDENTITY;
  return passes && node->n_inputs > 0 && scalar_value(graph, node->inputs[0], value, depth + 1);
}

/* The node producing t when it is op `op`, else NULL. */
static const ipro_node *made_by(const ipro_graph *graph, int t, ipro_op op) {
  if (t < 0 || graph->tensors[t].producer < 0) return NULL;
  const ipro_node *node = &graph->nodes[graph->tensors[t].producer];
  return node->op == op && node->n_inputs > 0 ? node : NULL;
}

/* Whether Div node `div` divides a keep mask drawn with probability p by that same p. */
static bool is_scaled_keep_mask(const ipro_graph *graph, const ipro_node *div) {
  if (div->op != IPRO_OP_DIV || div->n_inputs != 2) return false;
  const ipro_node *cast = made_by(graph, div->inputs[0], IPRO_OP_CAST);
  if (!cast) cast = made_by(graph, div->inputs[0], IPRO_OP_CAST_LIKE);
  const ipro_node *less = cast ? made_by(graph, cast->inputs[0], IPRO_OP_LESS) : NULL;
  const ipro_node *noise = less && less->n_inputs == 2
                               ? made_by(graph, less->inputs[0], IPRO_OP_RANDOM_UNIFORM_LIKE)
                               : NULL;
  if (!noise || ipro_node_attr_float(noise, "low", 0.0f) != 0.0f ||
      ipro_node_attr_float(noise, "high", 1.0f) != 1.0f)
    return false;
  double kept, divisor;
  return scalar_value(graph, less->inputs[1], &kept, 0) &&
         scalar_value(graph, div->inputs[1], &divisor, 0) && kept == divisor && kept > 0 &&
         kept <= 1;
}

void ipro_stochastic_depth_to_inference(ipro_graph *graph) {
  for (int n = 0; n < graph->n_nodes; n++) {
    ipro_node *div = &graph->nodes[n];
    if (is_scaled_keep_mask(graph, div)) div->inputs[0] = div->inputs[1];
  }
}
