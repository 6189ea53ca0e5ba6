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

static bool named(const char *a, const char *b) { return a && b && *a && !strcmp(a, b); }

const Onnx__TensorProto *ipro_onnx_parameter_copy_source(const Onnx__GraphProto *graph,
                                                         const Onnx__NodeProto *node) {
  bool default_domain = !node->domain || !*node->domain || !strcmp(node->domain, "ai.onnx");
  if (!default_domain || !named(node->op_type, "Identity") || node->n_input != 1 ||
      node->n_output != 1 || !node->output[0] || !*node->output[0])
    return NULL;
  for (size_t o = 0; o < graph->n_output; o++)
    if (named(graph->output[o]->name, node->output[0])) return NULL;
  for (size_t i = 0; i < graph->n_initializer; i++) {
    const Onnx__TensorProto *value = graph->initializer[i];
    if (named(value->name, node->input[0]))
      return value->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? value : NULL;
  }
  return NULL;
}
