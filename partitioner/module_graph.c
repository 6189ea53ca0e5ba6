/* Extraction of the module between two cut points (see module_graph.h). */
#include "module_graph.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/training_graph.h"

typedef struct {
  const ipro_graph *source;
  ipro_graph *module;
  int *map; /* source tensor index -> module tensor index, -1 when not copied yet */
  bool sizes_only;
} extraction;

static ipro_status out_of_memory(ipro_error *err) {
  return ipro_error_set(err, "out of memory extracting a module");
}

static char *copy_string(const char *s) {
  size_t n = strlen(s ? s : "") + 1;
  char *c = malloc(n);
  if (c) memcpy(c, s ? s : "", n);
  return c;
}

/* The module's copy of source tensor t (created on first use). */
static int tensor_copy(extraction *x, int t, ipro_error *err) {
  if (x->map[t] >= 0) return x->map[t];
  const ipro_tensor *from = &x->source->tensors[t];
  int index = ipro_graph_tensor(x->module, from->name);
  if (index < 0) {
    out_of_memory(err);
    return -1;
  }
  ipro_tensor *to = &x->module->tensors[index];
  to->dtype = from->dtype;
  to->shape = from->shape;
  to->kind = from->kind;
  to->frozen = from->frozen;
  if (from->declared_shape && ipro_tensor_declare_shape(to, from->declared_shape) != IPRO_OK) {
    out_of_memory(err);
    return -1;
  }
  /* a frozen parameter is a weight like the trained ones: planned, never read, in a costing */
  if (x->sizes_only && from->data && (from->frozen || ipro_tensor_is_trainable(x->source, t)))
    to->data_bytes = from->data_bytes;
  else if (from->data && ipro_tensor_set_data(to, from->data, from->data_bytes, err) != IPRO_OK)
    return -1;
  x->map[t] = index;
  return index;
}

static ipro_status copy_node(extraction *x, const ipro_node *from, ipro_error *err) {
  int index =
      ipro_graph_add_node(x->module, from->name, from->op_type, from->n_inputs, from->n_outputs);
  if (index < 0) return out_of_memory(err);
  x->module->nodes[index].op = from->op;
  for (int i = 0; i < from->n_inputs; i++) {
    if (from->inputs[i] < 0) continue;
    int t = tensor_copy(x, from->inputs[i], err);
    if (t < 0) return IPRO_ERROR;
    x->module->nodes[index].inputs[i] = t;
  }
  for (int o = 0; o < from->n_outputs; o++) {
    if (from->outputs[o] < 0) continue;
    int t = tensor_copy(x, from->outputs[o], err);
    if (t < 0) return IPRO_ERROR;
    x->module->nodes[index].outputs[o] = t;
    x->module->tensors[t].producer = index;
  }
  for (int a = 0; a < from->n_attrs; a++) {
    const ipro_attr *attr = &from->attrs[a];
    ipro_node *to = &x->module->nodes[index];
    ipro_status s = IPRO_OK;
    switch (attr->kind) {
    case IPRO_ATTR_FLOAT: s = ipro_node_set_float(to, attr->name, attr->f); break;
    case IPRO_ATTR_INT: s = ipro_node_set_int(to, attr->name, attr->i); break;
    case IPRO_ATTR_STRING: s = ipro_node_set_string(to, attr->name, attr->s); break;
    case IPRO_ATTR_FLOATS:
      s = ipro_node_set_floats(to, attr->name, attr->floats, attr->count);
      break;
    case IPRO_ATTR_INTS: s = ipro_node_set_ints(to, attr->name, attr->ints, attr->count); break;
    case IPRO_ATTR_TENSOR: {
      int t = tensor_copy(x, (int)attr->i, err);
      if (t < 0) return IPRO_ERROR;
      to = &x->module->nodes[index];
      s = ipro_node_set_int(to, attr->name, t);
      if (s == IPRO_OK) to->attrs[to->n_attrs - 1].kind = IPRO_ATTR_TENSOR;
      break;
    }
    }
    if (s != IPRO_OK) return out_of_memory(err);
  }
  return IPRO_OK;
}

/* Makes module tensor t a graph input whose batch dimension is symbolic again. */
static ipro_status add_input(ipro_graph *module, int t, int64_t batch, ipro_error *err) {
  ipro_tensor *tensor = &module->tensors[t];
  tensor->kind = IPRO_TENSOR_ACTIVATION;
  tensor->is_graph_input = true;
  tensor->producer = -1;
  ipro_shape declared = tensor->shape;
  if (declared.rank > 0 && declared.dims[0] == batch) declared.dims[0] = IPRO_DIM_BATCH;
  if (ipro_tensor_declare_shape(tensor, &declared) != IPRO_OK) return out_of_memory(err);
  int *grown = realloc(module->inputs, sizeof(int) * (size_t)(module->n_inputs + 1));
  if (!grown) return out_of_memory(err);
  module->inputs = grown;
  grown[module->n_inputs++] = t;
  return IPRO_OK;
}

static ipro_status add_output(ipro_graph *module, int t, ipro_error *err) {
  int *grown = realloc(module->outputs, sizeof(int) * (size_t)(module->n_outputs + 1));
  if (!grown) return out_of_memory(err);
  module->outputs = grown;
  grown[module->n_outputs++] = t;
  module->tensors[t].is_graph_output = true;
  return IPRO_OK;
}

static ipro_status extract(extraction *x, int first_cut, int last_cut, ipro_error *err) {
  const ipro_graph *g = x->source;
  ipro_graph *m = x->module;
  m->path = copy_string(g->path);
  m->producer_name = copy_string(g->producer_name);
  m->producer_version = copy_string(g->producer_version);
  if (!m->path || !m->producer_name || !m->producer_version) return out_of_memory(err);
  m->ir_version = g->ir_version;
  m->opset = g->opset;
  m->batch = g->batch;
  /* The inputs first, so they keep the order of the source. */
  if (first_cut < 0) {
    for (int i = 0; i < g->n_inputs; i++) {
      int t = tensor_copy(x, g->inputs[i], err);
      if (t < 0 || add_input(m, t, g->batch, err) != IPRO_OK) return IPRO_ERROR;
      const ipro_shape *declared = g->tensors[g->inputs[i]].declared_shape;
      if (declared && ipro_tensor_declare_shape(&m->tensors[t], declared) != IPRO_OK)
        return out_of_memory(err);
    }
  } else {
    int t = tensor_copy(x, first_cut, err);
    if (t < 0 || add_input(m, t, g->batch, err) != IPRO_OK) return IPRO_ERROR;
  }
  int start = first_cut < 0 ? 0 : g->tensors[first_cut].producer + 1;
  int end = last_cut < 0 ? g->n_nodes - 1 : g->tensors[last_cut].producer;
  for (int n = start; n <= end; n++)
    if (copy_node(x, &g->nodes[n], err) != IPRO_OK) return IPRO_ERROR;
  if (last_cut >= 0) return add_output(m, x->map[last_cut], err);
  for (int i = 0; i < g->n_outputs; i++) {
    int t = tensor_copy(x, g->outputs[i], err);
    if (t < 0 || add_output(m, t, err) != IPRO_OK) return IPRO_ERROR;
  }
  return IPRO_OK;
}

ipro_status ipro_module_graph_extract(const ipro_graph *graph, int first_cut, int last_cut,
                                      bool sizes_only, ipro_graph **out, ipro_error *err) {
  *out = NULL;
  if ((first_cut >= 0 && graph->tensors[first_cut].producer < 0) ||
      (last_cut >= 0 && graph->tensors[last_cut].producer < 0) ||
      (first_cut >= 0 && last_cut >= 0 &&
       graph->tensors[first_cut].producer >= graph->tensors[last_cut].producer))
    return ipro_error_set(err, "a module must start at a cut point before the one it ends at");
  extraction x = {.source = graph, .module = ipro_graph_create(), .sizes_only = sizes_only};
  x.map = malloc(sizeof(int) * ((size_t)graph->n_tensors + 1));
  ipro_status status = x.module && x.map ? IPRO_OK : out_of_memory(err);
  for (int t = 0; x.map && t < graph->n_tensors; t++)
    x.map[t] = -1;
  if (status == IPRO_OK) status = extract(&x, first_cut, last_cut, err);
  free(x.map);
  if (status != IPRO_OK) {
    ipro_graph_free(x.module);
    return status;
  }
  *out = x.module;
  return IPRO_OK;
}
