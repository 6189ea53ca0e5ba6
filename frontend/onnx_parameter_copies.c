/* Parameters an exporter deduplicated (see onnx_decode.h).
 *
 * PyTorch's TorchScript exporter, exporting a model in inference mode, replaces every initializer
 * whose value equals an earlier one's by an Identity of that one: a freshly initialised network,
 * whose BatchNormalizations it folds into their convolutions, gets all its zero biases of one
 * width as Identity copies of the first. In PyTorch they were separate parameters that happened
 * to be equal; trained as one tensor they would be tied (and a cut could not pass between their
 * readers), and folded as constants they would not train at all. So the loader reads each such
 * copy as an initializer of its own, and the exporter writes it back as one, the Identity gone. */
#include <string.h>

#include "onnx_decode.h"

const Onnx__TensorProto *ipro_onnx_parameter_copy_source(const Onnx__GraphProto *graph,
                                                         const Onnx__NodeProto *node) {
  if (!ipro_onnx_default_domain(node) || !ipro_onnx_named(node->op_type, "Identity") ||
      node->n_input != 1 || node->n_output != 1 || !node->output[0] || !*node->output[0])
    return NULL;
  for (size_t o = 0; o < graph->n_output; o++)
    if (ipro_onnx_named(graph->output[o]->name, node->output[0])) return NULL;
  for (size_t i = 0; i < graph->n_initializer; i++) {
    const Onnx__TensorProto *value = graph->initializer[i];
    if (ipro_onnx_named(value->name, node->input[0]))
      return value->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? value : NULL;
  }
  return NULL;
}
