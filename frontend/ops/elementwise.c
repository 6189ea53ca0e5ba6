/* Op rows of the broadcasting arithmetic ops: Add, Sub, Mul, Div (two inputs) and Sum (one or
 * more). Inputs are float32 or float64 (all of one type) and broadcast the numpy way; integer
 * arithmetic on shape values is not something infopro folds, so integer inputs are reported as
 * unsupported. */
#include "op_helpers.h"
#include "op_rows.h"

/* Broadcasts every present input of node into *out, checking each has the first one's real
 * type, which is the output's (*dtype). */
static ipro_status broadcast_inputs(const ipro_graph *graph, const ipro_node *node, ipro_shape *out,
                                    ipro_dtype *dtype, ipro_error *err) {
  ipro_tensor *first;
  if (ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &first, err) != IPRO_OK) return IPRO_ERROR;
  ipro_shape shape = first->shape;
  *dtype = first->dtype;
  for (int i = 1; i < node->n_inputs; i++) {
    ipro_tensor *input;
    if (ipro_op_input(graph, node, i, IPRO_DTYPES(first->dtype), &input, err) != IPRO_OK ||
        ipro_op_broadcast(node, &shape, i == 1 ? first->name : "the inputs before it",
                          &input->shape, input->name, &shape, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  *out = shape;
  return IPRO_OK;
}

ipro_status ipro_binary_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_shape shape;
  ipro_dtype dtype;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      broadcast_inputs(graph, node, &shape, &dtype, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, dtype, &shape, err);
}

int64_t ipro_binary_flops(const ipro_graph *graph, const ipro_node *node) {
  return ipro_op_output_elements(graph, node, 0);
}

ipro_status ipro_sum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_shape shape;
  ipro_dtype dtype;
  if (ipro_op_check_arity(graph, node, node->n_inputs > 0 ? node->n_inputs : 1, 64, 1, 1, err) !=
          IPRO_OK ||
      broadcast_inputs(graph, node, &shape, &dtype, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, dtype, &shape, err);
}

int64_t ipro_sum_flops(const ipro_graph *graph, const ipro_node *node) {
  int present = 0;
  for (int i = 0; i < node->n_inputs; i++)
    present += node->inputs[i] >= 0;
  return present > 1 ? (present - 1) * ipro_op_output_elements(graph, node, 0) : 0;
}
