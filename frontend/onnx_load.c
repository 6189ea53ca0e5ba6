/* The ONNX model loader: protobuf-c decodes the ModelProto, and this file turns it into the IR of
 * graph.h — opset imports, initializers (also when listed as graph inputs), graph inputs with a
 * symbolic batch dimension, nodes with their attributes, Constant values as constant tensors —
 * and puts the nodes in topological order. Everything a file can get wrong is reported with the
 * file, node and tensor named; nothing here trusts the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/checked_size.h"
#include "onnx_decode.h"

static char *copy_string(const char *s) {
  if (!s) s = "";
  size_t n = strlen(s) + 1;
  char *copy = malloc(n);
  if (copy) memcpy(copy, s, n);
  return copy;
}

static ipro_status out_of_memory(ipro_error *err) { return ipro_error_set(err, "out of memory"); }

static ipro_status load_opsets(const Onnx__ModelProto *model, ipro_graph *graph, ipro_error *err) {
  graph->opsets = calloc(model->n_opset_import ? model->n_opset_import : 1, sizeof(ipro_opset));
  if (!graph->opsets) return out_of_memory(err);
  graph->opset = -1;
  for (size_t i = 0; i < model->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *opset = model->opset_import[i];
    const char *domain = opset->domain ? opset->domain : "";
    graph->opsets[i].domain = copy_string(domain);
    if (!graph->opsets[i].domain) return out_of_memory(err);
    graph->opsets[i].version = opset->version;
    graph->n_opsets++;
    if (strcmp(domain, "") == 0 || strcmp(domain, "ai.onnx") == 0) graph->opset = opset->version;
  }
  if (graph->opset < 0)
    return ipro_error_set(err, "the model imports no version of the default ONNX opset");
  if (graph->opset < 7)
    return ipro_error_set(err, "the model uses ONNX opset %lld; infopro supports opset 7 and later",
                          (long long)graph->opset);
  return IPRO_OK;
}

/* Tensor `name` as an initializer holding value's data. */
static ipro_status load_initializer(ipro_graph *graph, const char *name,
                                    const Onnx__TensorProto *value, ipro_error *err) {
  int index = ipro_graph_tensor(graph, name);
  if (index < 0) return out_of_memory(err);
  ipro_tensor *tensor = &graph->tensors[index];
  tensor->kind = IPRO_TENSOR_INITIALIZER;
  return ipro_onnx_decode_tensor(value, graph->path, tensor, err);
}

/* Whether initializer `name` is read by a BatchNormalization as its running mean or variance
 * (inputs 3 and 4), which training updates in place: a buffer to PyTorch, state to infopro. */
static bool running_statistic(const Onnx__GraphProto *proto, const char *name) {
  for (size_t n = 0; n < proto->n_node; n++) {
    const Onnx__NodeProto *node = proto->node[n];
    if (!node->op_type || strcmp(node->op_type, "BatchNormalization") != 0) continue;
    for (size_t i = 3; i < node->n_input && i < 5; i++)
      if (ipro_onnx_named(node->input[i], name)) return true;
  }
  return false;
}

/* Whether a real initializer is a constant rather than a parameter, by torch.export's graph
 * signature (which lists every parameter and buffer):
 *  - a tensor it names a BUFFER or a CONSTANT_TENSOR, other than a BatchNormalization's running
 *    statistics: a fixed attention mask (-inf where masked), a position table; PyTorch does not
 *    train them (and an update would turn a mask's -inf into NaN);
 *  - a scalar it does not name, as its optimisation leaves LayerNorm's and RMSNorm's ε, Pow's
 *    exponent and attention's scale: trained, they would change what the network computes (ε
 *    drifting with its gradient). A larger tensor it does not name is a parameter the optimisation
 *    transformed (a linear layer's weight, transposed) and stays one.
 * Without a signature (the TorchScript exporter, which writes its constants as Constant nodes but
 * its buffers as initializers like its parameters) every real initializer stays a parameter. */
static bool exporter_constant(const Onnx__GraphProto *proto, bool signature,
                              const Onnx__TensorProto *initializer, const ipro_tensor *tensor) {
  if (!signature || (tensor->dtype != IPRO_DTYPE_FLOAT && tensor->dtype != IPRO_DTYPE_DOUBLE))
    return false;
  char kind[32];
  if (!ipro_onnx_signature_kind(proto, initializer->name, kind, sizeof kind))
    return tensor->shape.rank == 0;
  return strcmp(kind, "PARAMETER") != 0 && !running_statistic(proto, initializer->name);
}

static ipro_status load_initializers(const Onnx__GraphProto *proto, ipro_graph *graph,
                                     ipro_error *err) {
  bool signature = ipro_onnx_has_graph_signature(proto);
  for (size_t i = 0; i < proto->n_initializer; i++) {
    const Onnx__TensorProto *initializer = proto->initializer[i];
    if (!initializer->name || !*initializer->name)
      return ipro_error_set(err, "initializer number %zu has no name", i);
    if (ipro_graph_find_tensor(graph, initializer->name) >= 0)
      return ipro_error_set(err, "initializer '%s' is defined twice", initializer->name);
    if (load_initializer(graph, initializer->name, initializer, err) != IPRO_OK) return IPRO_ERROR;
    ipro_tensor *tensor = &graph->tensors[ipro_graph_find_tensor(graph, initializer->name)];
    if (exporter_constant(proto, signature, initializer, tensor))
      tensor->kind = IPRO_TENSOR_CONSTANT;
  }
  return IPRO_OK;
}

/* A parameter an exporter deduplicated into an Identity of an equal one (onnx_decode.h): loaded
 * as the initializer it was, with the copied value. */
static ipro_status load_parameter_copy(ipro_graph *graph, const Onnx__NodeProto *node,
                                       const Onnx__TensorProto *source, ipro_error *err) {
  const char *name = node->output[0];
  int existing = ipro_graph_find_tensor(graph, name);
  if (existing >= 0) {
    const ipro_tensor *t = &graph->tensors[existing];
    if (t->producer >= 0 || t->kind == IPRO_TENSOR_INITIALIZER || t->is_graph_input)
      return ipro_error_set(err,
                            "node '%s' (Identity) writes tensor '%s', which is already defined",
                            node->name ? node->name : "", name);
  }
  return load_initializer(graph, name, source, err);
}

/* Reads a graph input's declared type. Only the batch (axis 0) may be symbolic. */
static ipro_status load_input_type(const Onnx__ValueInfoProto *info, ipro_tensor *tensor,
                                   ipro_error *err) {
  const Onnx__TypeProto *type = info->type;
  if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    return ipro_error_set(err,
                          "graph input '%s' is not a plain tensor (sequence, map or optional "
                          "types are not supported)",
                          tensor->name);
  const Onnx__TypeProto__Tensor *tensor_type = type->tensor_type;
  tensor->dtype = (ipro_dtype)tensor_type->elem_type;
  if (!tensor_type->shape)
    return ipro_error_set(err, "graph input '%s' has no shape", tensor->name);
  const Onnx__TensorShapeProto *shape = tensor_type->shape;
  if (shape->n_dim > IPRO_MAX_RANK)
    return ipro_error_set(err, "graph input '%s' has rank %zu; infopro supports up to %d",
                          tensor->name, shape->n_dim, IPRO_MAX_RANK);
  ipro_shape declared = {.rank = (int)shape->n_dim};
  for (size_t d = 0; d < shape->n_dim; d++) {
    const Onnx__TensorShapeProto__Dimension *dim = shape->dim[d];
    bool has_value = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    if (has_value && dim->dim_value >= 0) {
      declared.dims[d] = dim->dim_value;
    } else if (d == 0 && !has_value) {
      declared.dims[d] = IPRO_DIM_BATCH;
    } else {
      return ipro_error_set(err,
                            "graph input '%s': dimension %zu is %s; only the batch dimension "
                            "(axis 0) may be symbolic",
                            tensor->name, d, has_value ? "negative" : "symbolic or unknown");
    }
  }
  if (!ipro_shape_size(&declared, 1, NULL))
    return ipro_error_set(err, "graph input '%s' has more than %lld elements even at batch 1",
                          tensor->name, (long long)IPRO_MAX_TENSOR_ELEMENTS);
  if (ipro_tensor_declare_shape(tensor, &declared) != IPRO_OK)
    return ipro_error_set(err, "out of memory");
  tensor->shape = declared;
  return IPRO_OK;
}

static ipro_status load_graph_io(const Onnx__GraphProto *proto, ipro_graph *graph,
                                 ipro_error *err) {
  graph->inputs = malloc(sizeof(int) * (proto->n_input ? proto->n_input : 1));
  graph->outputs = malloc(sizeof(int) * (proto->n_output ? proto->n_output : 1));
  if (!graph->inputs || !graph->outputs) return out_of_memory(err);
  for (size_t i = 0; i < proto->n_input; i++) {
    const char *name = proto->input[i]->name;
    if (!name || !*name) return ipro_error_set(err, "graph input number %zu has no name", i);
    int existing = ipro_graph_find_tensor(graph, name);
    if (existing >= 0 && graph->tensors[existing].kind == IPRO_TENSOR_INITIALIZER)
      continue; /* an initializer listed as an input (IR < 4 style): a weight, not a feed */
    if (existing >= 0) return ipro_error_set(err, "graph input '%s' is listed twice", name);
    int index = ipro_graph_tensor(graph, name);
    if (index < 0) return out_of_memory(err);
    graph->tensors[index].is_graph_input = true;
    if (load_input_type(proto->input[i], &graph->tensors[index], err) != IPRO_OK) return IPRO_ERROR;
    graph->inputs[graph->n_inputs++] = index;
  }
  for (size_t i = 0; i < proto->n_output; i++) {
    const char *name = proto->output[i]->name;
    if (!name || !*name) return ipro_error_set(err, "graph output number %zu has no name", i);
    int index = ipro_graph_tensor(graph, name);
    if (index < 0) return out_of_memory(err);
    graph->tensors[index].is_graph_output = true;
    graph->outputs[graph->n_outputs++] = index;
  }
  return IPRO_OK;
}

/* A tensor-valued attribute becomes a CONSTANT tensor named "<node>:<attribute>". */
static int load_tensor_attribute(ipro_graph *graph, const char *node_name,
                                 const char *attribute_name, const Onnx__AttributeProto *attribute,
                                 ipro_error *err) {
  char name[512];
  snprintf(name, sizeof name, "%s:%s", node_name, attribute_name);
  int index = ipro_graph_tensor(graph, name);
  if (index < 0) {
    out_of_memory(err);
    return -1;
  }
  graph->tensors[index].kind = IPRO_TENSOR_CONSTANT;
  if (ipro_onnx_decode_tensor(attribute->t, graph->path, &graph->tensors[index], err) != IPRO_OK) {
    ipro_error_prefix(err, "node '%s', attribute '%s'", node_name, attribute_name);
    return -1;
  }
  return index;
}

/* A list of strings as one string, its elements joined by commas (the recurrent ops'
 * activations, the only list of strings among the ops infopro reads: ir/recurrent.h parses it).
 * NULL when out of memory; the caller frees it. */
static char *joined_strings(const Onnx__AttributeProto *attribute) {
  size_t length = 1;
  for (size_t k = 0; k < attribute->n_strings; k++)
    length += attribute->strings[k].len + 1;
  char *joined = malloc(length), *at = joined;
  if (!joined) return NULL;
  for (size_t k = 0; k < attribute->n_strings; k++) {
    if (k) *at++ = ',';
    if (attribute->strings[k].len) memcpy(at, attribute->strings[k].data, attribute->strings[k].len);
    at += attribute->strings[k].len;
  }
  *at = '\0';
  return joined;
}

static ipro_status load_attributes(ipro_graph *graph, int node_index, const Onnx__NodeProto *proto,
                                   ipro_error *err) {
  for (size_t a = 0; a < proto->n_attribute; a++) {
    const Onnx__AttributeProto *attribute = proto->attribute[a];
    ipro_node *node = &graph->nodes[node_index];
    const char *name = attribute->name ? attribute->name : "";
    ipro_status status = IPRO_OK;
    switch (attribute->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
      status = ipro_node_set_float(node, name, attribute->f);
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
      status = ipro_node_set_int(node, name, attribute->i);
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: {
      char *value = malloc(attribute->s.len + 1);
      if (!value) return out_of_memory(err);
      if (attribute->s.len) memcpy(value, attribute->s.data, attribute->s.len);
      value[attribute->s.len] = '\0';
      status = ipro_node_set_string(node, name, value);
      free(value);
      break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: {
      char *value = joined_strings(attribute);
      if (!value) return out_of_memory(err);
      status = ipro_node_set_string(node, name, value);
      free(value);
      break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
      if (attribute->n_floats > INT32_MAX) return out_of_memory(err);
      status = ipro_node_set_floats(node, name, attribute->floats, (int)attribute->n_floats);
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
      if (attribute->n_ints > INT32_MAX) return out_of_memory(err);
      status = ipro_node_set_ints(node, name, attribute->ints, (int)attribute->n_ints);
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
      if (!attribute->t)
        return ipro_error_set(err, "node '%s': tensor attribute '%s' has no value", node->name,
                              name);
      char *node_name = copy_string(node->name);
      if (!node_name) return out_of_memory(err);
      int tensor = load_tensor_attribute(graph, node_name, name, attribute, err);
      free(node_name);
      if (tensor < 0) return IPRO_ERROR;
      node = &graph->nodes[node_index];
      status = ipro_node_set_int(node, name, tensor);
      if (status == IPRO_OK) node->attrs[node->n_attrs - 1].kind = IPRO_ATTR_TENSOR;
      break;
    }
    default:
      return ipro_error_set(err,
                            "node '%s' (%s): attribute '%s' is of a kind infopro does not "
                            "support (graphs, sparse tensors)",
                            node->name, node->op_type, name);
    }
    if (status != IPRO_OK) return out_of_memory(err);
  }
  return IPRO_OK;
}

/* A Constant node's value is known at load time: its output becomes a CONSTANT tensor. */
static ipro_status load_constant_value(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *output = ipro_node_output(graph, node, 0);
  if (!output) return ipro_error_set(err, "node '%s' (Constant) has no output", node->name);
  const ipro_attr *attr = NULL;
  for (int a = 0; a < node->n_attrs && !attr; a++)
    if (strncmp(node->attrs[a].name, "value", 5) == 0) attr = &node->attrs[a];
  if (!attr) return ipro_error_set(err, "node '%s' (Constant) has no value attribute", node->name);
  output->kind = IPRO_TENSOR_CONSTANT;
  if (attr->kind == IPRO_ATTR_TENSOR) {
    const ipro_tensor *value = &graph->tensors[attr->i];
    output = ipro_node_output(graph, node, 0); /* the array may have moved */
    output->dtype = value->dtype;
    output->shape = value->shape;
    return ipro_tensor_set_data(output, value->data, value->data_bytes, err);
  }
  if (strcmp(attr->name, "value_float") == 0 && attr->kind == IPRO_ATTR_FLOAT) {
    output->dtype = IPRO_DTYPE_FLOAT;
    output->shape.rank = 0;
    return ipro_tensor_set_data(output, &attr->f, sizeof attr->f, err);
  }
  if (strcmp(attr->name, "value_int") == 0 && attr->kind == IPRO_ATTR_INT) {
    output->dtype = IPRO_DTYPE_INT64;
    output->shape.rank = 0;
    return ipro_tensor_set_data(output, &attr->i, sizeof attr->i, err);
  }
  if (strcmp(attr->name, "value_floats") == 0 && attr->kind == IPRO_ATTR_FLOATS) {
    output->dtype = IPRO_DTYPE_FLOAT;
    output->shape.rank = 1;
    output->shape.dims[0] = attr->count;
    return ipro_tensor_set_data(output, attr->floats, sizeof(float) * (size_t)attr->count, err);
  }
  if (strcmp(attr->name, "value_ints") == 0 && attr->kind == IPRO_ATTR_INTS) {
    output->dtype = IPRO_DTYPE_INT64;
    output->shape.rank = 1;
    output->shape.dims[0] = attr->count;
    return ipro_tensor_set_data(output, attr->ints, sizeof(int64_t) * (size_t)attr->count, err);
  }
  return ipro_error_set(err, "node '%s' (Constant): attribute '%s' is not supported", node->name,
                        attr->name);
}

/* A split written with sequences (onnx_decode.h), loaded as the Split it stands for: its pieces
 * named by the SequenceAt nodes that read them (which are not loaded), its extents the split
 * input, or a chunk size for the inference to divide the axis by. */
static ipro_status load_sequence_split(ipro_graph *graph, const Onnx__NodeProto *node,
                                       const ipro_sequence_split *split, const char *name,
                                       ipro_error *err) {
  int n_inputs = split->chunk ? 1 : 2;
  int index = ipro_graph_add_node(graph, name, "Split", n_inputs, split->n_pieces);
  if (index < 0) return out_of_memory(err);
  for (int i = 0; i < n_inputs; i++) {
    int tensor = ipro_graph_tensor(graph, node->input[i]);
    if (tensor < 0) return out_of_memory(err);
    graph->nodes[index].inputs[i] = tensor;
  }
  for (int k = 0; k < split->n_pieces; k++) {
    if (!split->pieces[k]) continue;
    int tensor = ipro_graph_tensor(graph, split->pieces[k]);
    if (tensor < 0) return out_of_memory(err);
    ipro_tensor *t = &graph->tensors[tensor];
    if (t->producer >= 0 || t->kind == IPRO_TENSOR_INITIALIZER || t->is_graph_input)
      return ipro_error_set(err,
                            "node '%s' (SplitToSequence) writes tensor '%s', which is already "
                            "defined",
                            name, split->pieces[k]);
    t->producer = index;
    graph->nodes[index].outputs[k] = tensor;
  }
  ipro_node *loaded = &graph->nodes[index];
  if (ipro_node_set_int(loaded, "axis", split->axis) != IPRO_OK ||
      (split->chunk && ipro_node_set_int(loaded, "chunk", split->chunk) != IPRO_OK))
    return out_of_memory(err);
  return IPRO_OK;
}

static ipro_status load_nodes(const Onnx__GraphProto *proto, ipro_graph *graph, ipro_error *err) {
  for (size_t n = 0; n < proto->n_node; n++) {
    const Onnx__NodeProto *node_proto = proto->node[n];
    const char *op_type = node_proto->op_type ? node_proto->op_type : "";
    char generated_name[64];
    const char *name = node_proto->name;
    if (!name || !*name) {
      snprintf(generated_name, sizeof generated_name, "%s_%zu", op_type, n);
      name = generated_name;
    }
    if (ipro_onnx_reads_sequence_split(proto, node_proto)) continue; /* a piece of a Split */
    ipro_sequence_split sequence_split;
    if (ipro_onnx_sequence_split(proto, node_proto, &sequence_split)) {
      if (load_sequence_split(graph, node_proto, &sequence_split, name, err) != IPRO_OK)
        return IPRO_ERROR;
      continue;
    }
    const Onnx__TensorProto *copied = ipro_onnx_parameter_copy_source(proto, node_proto);
    if (copied) {
      if (load_parameter_copy(graph, node_proto, copied, err) != IPRO_OK) return IPRO_ERROR;
      continue;
    }
    const char *domain = node_proto->domain ? node_proto->domain : "";
    if (*domain && strcmp(domain, "ai.onnx") != 0)
      return ipro_error_set(err,
                            "node '%s' uses op '%s' from domain '%s', which infopro does not "
                            "support (only the default ONNX domain)",
                            name, op_type, domain);
    if (node_proto->n_input > 64 || node_proto->n_output > 64)
      return ipro_error_set(err, "node '%s' (%s) has too many inputs or outputs", name, op_type);
    int index = ipro_graph_add_node(graph, name, op_type, (int)node_proto->n_input,
                                    (int)node_proto->n_output);
    if (index < 0) return out_of_memory(err);
    for (size_t i = 0; i < node_proto->n_input; i++) {
      const char *input = node_proto->input[i];
      if (!input || !*input) continue; /* an omitted optional input */
      int tensor = ipro_graph_tensor(graph, input);
      if (tensor < 0) return out_of_memory(err);
      graph->nodes[index].inputs[i] = tensor;
    }
    for (size_t i = 0; i < node_proto->n_output; i++) {
      const char *output = node_proto->output[i];
      if (!output || !*output) continue;
      int tensor = ipro_graph_tensor(graph, output);
      if (tensor < 0) return out_of_memory(err);
      ipro_tensor *t = &graph->tensors[tensor];
      if (t->producer >= 0 || t->kind == IPRO_TENSOR_INITIALIZER || t->is_graph_input)
        return ipro_error_set(err, "node '%s' (%s) writes tensor '%s', which is already defined",
                              name, op_type, output);
      t->producer = index;
      graph->nodes[index].outputs[i] = tensor;
    }
    if (load_attributes(graph, index, node_proto, err) != IPRO_OK) return IPRO_ERROR;
    ipro_node *node = &graph->nodes[index];
    if (strcmp(op_type, "Constant") == 0 && load_constant_value(graph, node, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* True when a tensor is available before any node runs. */
static bool is_source(const ipro_tensor *tensor) {
  return tensor->is_graph_input || tensor->kind == IPRO_TENSOR_INITIALIZER ||
         (tensor->kind == IPRO_TENSOR_CONSTANT && tensor->producer < 0);
}

/* Orders the nodes so that every input is produced before it is read (stable: a file that is
 * already sorted keeps its order), and reports tensors nothing produces. */
static ipro_status sort_topologically(ipro_graph *graph, ipro_error *err) {
  int n = graph->n_nodes;
  bool *placed = calloc((size_t)n + 1, sizeof(bool));
  bool *ready = calloc((size_t)graph->n_tensors + 1, sizeof(bool));
  ipro_node *sorted = malloc(sizeof(ipro_node) * (size_t)(n ? n : 1));
  int *new_index = malloc(sizeof(int) * (size_t)(n ? n : 1));
  if (!placed || !ready || !sorted || !new_index) {
    free(placed);
    free(ready);
    free(sorted);
    free(new_index);
    return out_of_memory(err);
  }
  for (int t = 0; t < graph->n_tensors; t++)
    ready[t] = is_source(&graph->tensors[t]);
  int count = 0;
  bool progress = true;
  while (count < n && progress) {
    progress = false;
    for (int i = 0; i < n; i++) {
      if (placed[i]) continue;
      const ipro_node *node = &graph->nodes[i];
      bool inputs_ready = true;
      for (int k = 0; k < node->n_inputs && inputs_ready; k++)
        if (node->inputs[k] >= 0 && !ready[node->inputs[k]]) inputs_ready = false;
      if (!inputs_ready) continue;
      placed[i] = true;
      new_index[i] = count;
      sorted[count++] = *node;
      for (int k = 0; k < node->n_outputs; k++)
        if (node->outputs[k] >= 0) ready[node->outputs[k]] = true;
      progress = true;
    }
  }
  ipro_status status = IPRO_OK;
  if (count < n) {
    /* Name the first node that can never run and the tensor it waits for. */
    for (int i = 0; i < n && status == IPRO_OK; i++) {
      if (placed[i]) continue;
      const ipro_node *node = &graph->nodes[i];
      for (int k = 0; k < node->n_inputs; k++) {
        int t = node->inputs[k];
        if (t < 0 || ready[t]) continue;
        const ipro_tensor *tensor = &graph->tensors[t];
        status = tensor->producer < 0
                     ? ipro_error_set(err,
                                      "node '%s' (%s) reads tensor '%s', which is not a graph "
                                      "input, an initializer, or the output of any node "
                                      "(missing initializer?)",
                                      node->name, node->op_type, tensor->name)
                     : ipro_error_set(err, "node '%s' (%s) is part of a cycle through '%s'",
                                      node->name, node->op_type, tensor->name);
        break;
      }
    }
  } else {
    if (n > 0) memcpy(graph->nodes, sorted, sizeof(ipro_node) * (size_t)n);
    for (int t = 0; t < graph->n_tensors; t++)
      if (graph->tensors[t].producer >= 0)
        graph->tensors[t].producer = new_index[graph->tensors[t].producer];
  }
  free(placed);
  free(ready);
  free(sorted);
  free(new_index);
  return status;
}

static ipro_status check_outputs_defined(const ipro_graph *graph, ipro_error *err) {
  for (int i = 0; i < graph->n_outputs; i++) {
    const ipro_tensor *tensor = &graph->tensors[graph->outputs[i]];
    if (tensor->producer < 0 && !is_source(tensor))
      return ipro_error_set(err, "graph output '%s' is not produced by any node", tensor->name);
  }
  return IPRO_OK;
}

/* The file's bytes decoded, or NULL with the message. */
static Onnx__ModelProto *unpack_model(const uint8_t *bytes, size_t size, const char *path,
                                      ipro_error *err) {
  if (size == 0) {
    ipro_error_set(err, "%s: the file is empty, not an ONNX model", path);
    return NULL;
  }
  Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, bytes);
  if (!model)
    ipro_error_set(err,
                   "%s: not a valid ONNX model (protobuf decoding failed: the file is "
                   "truncated, corrupt, or not a ModelProto)",
                   path);
  return model;
}

/* The model's metadata_props, copied (an entry without a key is skipped). */
static ipro_status load_metadata(const Onnx__ModelProto *model, ipro_graph *graph,
                                 ipro_error *err) {
  size_t n = model->n_metadata_props;
  graph->metadata_keys = calloc(n + 1, sizeof(char *));
  graph->metadata_values = calloc(n + 1, sizeof(char *));
  if (!graph->metadata_keys || !graph->metadata_values) return out_of_memory(err);
  for (size_t i = 0; i < n; i++) {
    const Onnx__StringStringEntryProto *entry = model->metadata_props[i];
    if (!entry->key) continue;
    char *key = copy_string(entry->key), *value = copy_string(entry->value);
    if (!key || !value) {
      free(key), free(value);
      return out_of_memory(err);
    }
    graph->metadata_keys[graph->n_metadata] = key;
    graph->metadata_values[graph->n_metadata++] = value;
  }
  return IPRO_OK;
}

/* The graph of a decoded model, which it frees. */
static ipro_status load_model(Onnx__ModelProto *model, const char *path, ipro_graph **out,
                              ipro_error *err) {
  ipro_graph *graph = ipro_graph_create();
  ipro_status status = graph ? IPRO_OK : out_of_memory(err);
  if (status == IPRO_OK) {
    graph->path = copy_string(path);
    graph->producer_name = copy_string(model->producer_name);
    graph->producer_version = copy_string(model->producer_version);
    graph->ir_version = model->ir_version;
    if (!graph->path || !graph->producer_name || !graph->producer_version)
      status = out_of_memory(err);
  }
  if (status == IPRO_OK) status = load_metadata(model, graph, err);
  if (status == IPRO_OK && !model->graph) status = ipro_error_set(err, "the model has no graph");
  if (status == IPRO_OK) status = load_opsets(model, graph, err);
  if (status == IPRO_OK) status = load_initializers(model->graph, graph, err);
  if (status == IPRO_OK)
    graph->folded_batch_norms = ipro_onnx_folded_batch_norms(model->graph, graph->folded_batch_norm,
                                                             sizeof graph->folded_batch_norm);
  if (status == IPRO_OK) status = load_graph_io(model->graph, graph, err);
  if (status == IPRO_OK) status = load_nodes(model->graph, graph, err);
  if (status == IPRO_OK && graph->n_outputs == 0)
    status = ipro_error_set(err, "the graph has no output");
  if (status == IPRO_OK) status = sort_topologically(graph, err);
  if (status == IPRO_OK) status = check_outputs_defined(graph, err);
  onnx__model_proto__free_unpacked(model, NULL);
  if (status != IPRO_OK) {
    if (strncmp(err->message, path, strlen(path)) != 0) ipro_error_prefix(err, "%s", path);
    ipro_graph_free(graph);
    return status;
  }
  *out = graph;
  return IPRO_OK;
}

ipro_status ipro_graph_load_buffer(const uint8_t *bytes, size_t size, const char *path,
                                   ipro_graph **out, ipro_error *err) {
  *out = NULL;
  Onnx__ModelProto *model = unpack_model(bytes, size, path, err);
  return model ? load_model(model, path, out, err) : IPRO_ERROR;
}

/* The file's bytes go as soon as they are decoded, before the graph copies the weights: a
 * model's weights are held at most twice while it loads (file and decoded, then decoded and
 * graph), not three times. */
ipro_status ipro_graph_load(const char *path, ipro_graph **out, ipro_error *err) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  *out = NULL;
  if (ipro_onnx_read_file(path, &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  Onnx__ModelProto *model = unpack_model(bytes, size, path, err);
  free(bytes);
  return model ? load_model(model, path, out, err) : IPRO_ERROR;
}
