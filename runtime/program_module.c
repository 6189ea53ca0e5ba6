/* A module's training program in a compiled program file (program_module.h; byte layout:
 * schemas/program.md, "module"). */
#include "program_module.h"

#include <stdlib.h>
#include <string.h>

#include "ir/op_names.h"

/* Ops travel by their canonical names (ir/op_list.h), so that a program never depends on
 * the numbering of the enum in the build that wrote it. */

/* FLAG_NETWORK: the data is the network's (not written); FLAG_DRAWN: drawn at start-up (not
 * written; read as zeros until ipro_start_values_apply draws it). */
enum { FLAG_INPUT = 1, FLAG_OUTPUT = 2, FLAG_DECLARED = 4, FLAG_NETWORK = 8, FLAG_DRAWN = 16 };

/* The longest name or string attribute a program may hold. */
#define MAX_STRING_BYTES (1u << 20)

/* ---- writing ---- */

static void put_shape(ipro_byte_writer *w, const ipro_shape *shape) {
  ipro_put_i64(w, shape->rank);
  for (int d = 0; d < shape->rank; d++)
    ipro_put_i64(w, shape->dims[d]);
}

static void put_indices(ipro_byte_writer *w, int count, const int *indices) {
  ipro_put_u32(w, (uint32_t)count);
  for (int i = 0; i < count; i++)
    ipro_put_i64(w, indices[i]);
}

static void put_attr(ipro_byte_writer *w, const ipro_attr *a) {
  ipro_put_string(w, a->name);
  ipro_put_u32(w, (uint32_t)a->kind);
  switch (a->kind) {
  case IPRO_ATTR_FLOAT: ipro_put_f32(w, a->f); break;
  case IPRO_ATTR_INT:
  case IPRO_ATTR_TENSOR: ipro_put_i64(w, a->i); break;
  case IPRO_ATTR_STRING: ipro_put_string(w, a->s); break;
  case IPRO_ATTR_FLOATS:
    ipro_put_u32(w, (uint32_t)a->count);
    for (int i = 0; i < a->count; i++)
      ipro_put_f32(w, a->floats[i]);
    break;
  case IPRO_ATTR_INTS:
    ipro_put_u32(w, (uint32_t)a->count);
    for (int i = 0; i < a->count; i++)
      ipro_put_i64(w, a->ints[i]);
    break;
  }
}

/* Whether tensor's data is byte for byte that of the network's tensor of its name. */
static bool network_holds(const ipro_graph *network, const ipro_tensor *tensor) {
  int t = network ? ipro_graph_find_tensor(network, tensor->name) : -1;
  if (t < 0) return false;
  const ipro_tensor *own = &network->tensors[t];
  return own->data && own->dtype == tensor->dtype && own->data_bytes == tensor->data_bytes &&
         memcmp(own->data, tensor->data, tensor->data_bytes) == 0;
}

static bool is_drawn(const ipro_start_values *start, int t) {
  for (int i = 0; i < start->n_drawn; i++)
    if (start->drawn[i] == t) return true;
  return false;
}

void ipro_program_module_put(ipro_byte_writer *w, const ipro_graph *g,
                             const ipro_training_graph *training, const ipro_graph *network) {
  ipro_put_i64(w, g->batch);
  ipro_put_i64(w, g->opset);
  ipro_put_u32(w, (uint32_t)g->n_tensors);
  for (int t = 0; t < g->n_tensors; t++) {
    const ipro_tensor *tensor = &g->tensors[t];
    ipro_put_string(w, tensor->name);
    ipro_put_u32(w, (uint32_t)tensor->dtype);
    put_shape(w, &tensor->shape);
    ipro_put_u32(w, (uint32_t)tensor->kind);
    /* an empty tensor (an exporter's [0]-shaped constant) has no data to draw or take */
    bool has_data = tensor->data && tensor->data_bytes > 0;
    bool drawn = has_data && is_drawn(&training->start, t);
    bool from_network = has_data && !drawn && network_holds(network, tensor);
    ipro_put_u32(w, (tensor->is_graph_input ? FLAG_INPUT : 0) |
                        (tensor->is_graph_output ? FLAG_OUTPUT : 0) |
                        (tensor->declared_shape ? FLAG_DECLARED : 0) |
                        (from_network ? FLAG_NETWORK : 0) | (drawn ? FLAG_DRAWN : 0));
    if (tensor->declared_shape) put_shape(w, tensor->declared_shape);
    ipro_put_i64(w, tensor->producer);
    ipro_put_u64(w, tensor->data ? tensor->data_bytes : 0);
    if (tensor->data && !from_network && !drawn)
      ipro_put_bytes(w, tensor->data, tensor->data_bytes);
  }
  ipro_put_u32(w, (uint32_t)g->n_nodes);
  for (int n = 0; n < g->n_nodes; n++) {
    const ipro_node *node = &g->nodes[n];
    ipro_put_string(w, node->name ? node->name : "");
    ipro_put_string(w, node->op_type ? node->op_type : "");
    ipro_put_string(w, ipro_op_name(node->op));
    put_indices(w, node->n_inputs, node->inputs);
    put_indices(w, node->n_outputs, node->outputs);
    ipro_put_u32(w, (uint32_t)node->n_attrs);
    for (int a = 0; a < node->n_attrs; a++)
      put_attr(w, &node->attrs[a]);
  }
  put_indices(w, g->n_inputs, g->inputs);
  put_indices(w, g->n_outputs, g->outputs);
  ipro_put_u32(w, (uint32_t)training->n_parameters);
  for (int p = 0; p < training->n_parameters; p++) {
    ipro_put_i64(w, training->parameters[p]);
    ipro_put_i64(w, training->gradients[p]);
  }
  ipro_put_i64(w, training->labels);
  put_indices(w, training->n_losses, training->losses);
  ipro_put_i64(w, training->hyper);
  const ipro_start_values *start = &training->start;
  ipro_put_u64(w, start->seed_offset);
  ipro_put_u32(w, (uint32_t)start->n_drawn);
  for (int i = 0; i < start->n_drawn; i++) {
    ipro_put_i64(w, start->drawn[i]);
    ipro_put_f32(w, start->bounds[i]);
  }
  ipro_put_i64(w, start->mean);
  ipro_put_i64(w, start->std);
}

/* ---- reading ---- */

typedef struct {
  ipro_byte_reader *r;
  const char *bad; /* the first field out of range */
} module_reader;

static bool fail(module_reader *m, const char *what) {
  if (!m->bad) m->bad = what;
  return false;
}

/* A count of items of at least item_bytes each that the remaining bytes can hold. */
static bool get_count(module_reader *m, size_t item_bytes, int limit, int *count,
                      const char *what) {
  uint32_t n = ipro_get_u32(m->r);
  if (m->r->short_read) return fail(m, what);
  if ((uint64_t)n > (uint64_t)limit || (uint64_t)n * item_bytes > (size_t)(m->r->end - m->r->at))
    return fail(m, what);
  *count = (int)n;
  return true;
}

/* A string into malloc'd memory. */
static bool get_owned_string(module_reader *m, char **out, const char *what) {
  *out = NULL;
  uint32_t n = ipro_get_u32(m->r);
  if (m->r->short_read || n > MAX_STRING_BYTES) return fail(m, what);
  const uint8_t *bytes = ipro_get_bytes(m->r, n);
  if (!bytes || memchr(bytes, 0, n)) return fail(m, what);
  *out = malloc((size_t)n + 1);
  if (!*out) return fail(m, "memory for a name (out of memory)");
  memcpy(*out, bytes, n);
  (*out)[n] = '\0';
  return true;
}

/* An index below limit, or -1 where optional. */
static bool get_index(module_reader *m, int limit, bool optional, int *out, const char *what) {
  int64_t v = ipro_get_i64(m->r);
  if (m->r->short_read || v >= limit || v < (optional ? -1 : 0)) return fail(m, what);
  *out = (int)v;
  return true;
}

static bool get_indices(module_reader *m, int limit, bool optional, int *count, int **out,
                        const char *what) {
  *out = NULL;
  if (!get_count(m, 8, 1 << 30, count, what)) return false;
  *out = malloc(sizeof(int) * (size_t)(*count > 0 ? *count : 1));
  if (!*out) return fail(m, "memory for indices (out of memory)");
  for (int i = 0; i < *count; i++)
    if (!get_index(m, limit, optional, &(*out)[i], what)) return false;
  return true;
}

static bool get_shape(module_reader *m, ipro_shape *shape) {
  int64_t rank = ipro_get_i64(m->r);
  if (m->r->short_read || rank < -1 || rank > IPRO_MAX_RANK) return fail(m, "a tensor's rank");
  shape->rank = (int)rank;
  for (int d = 0; d < shape->rank; d++) {
    shape->dims[d] = ipro_get_i64(m->r);
    if (m->r->short_read || (shape->dims[d] < 0 && shape->dims[d] != IPRO_DIM_BATCH))
      return fail(m, "a tensor's dimension");
  }
  return true;
}

static bool get_tensor(module_reader *m, ipro_graph *g, int index) {
  char *name = NULL;
  if (!get_owned_string(m, &name, "a tensor's name")) return false;
  int t = ipro_graph_tensor(g, name);
  free(name);
  if (t < 0) return fail(m, "memory for a tensor (out of memory)");
  if (t != index) return fail(m, "a tensor's name (two tensors share it)");
  ipro_tensor *tensor = &g->tensors[t];
  uint32_t dtype = ipro_get_u32(m->r);
  if (m->r->short_read || dtype >= IPRO_DTYPE_COUNT_) return fail(m, "a tensor's type");
  tensor->dtype = (ipro_dtype)dtype;
  if (!get_shape(m, &tensor->shape)) return false;
  uint32_t kind = ipro_get_u32(m->r), flags = ipro_get_u32(m->r);
  if (m->r->short_read || kind > IPRO_TENSOR_STATE) return fail(m, "a tensor's kind");
  if (flags > (FLAG_INPUT | FLAG_OUTPUT | FLAG_DECLARED | FLAG_NETWORK | FLAG_DRAWN) ||
      ((flags & FLAG_NETWORK) && (flags & FLAG_DRAWN)))
    return fail(m, "a tensor's flags");
  tensor->kind = (ipro_tensor_kind)kind;
  tensor->is_graph_input = flags & FLAG_INPUT;
  tensor->is_graph_output = flags & FLAG_OUTPUT;
  if (flags & FLAG_DECLARED) {
    ipro_shape declared;
    if (!get_shape(m, &declared)) return false;
    if (ipro_tensor_declare_shape(tensor, &declared) != IPRO_OK)
      return fail(m, "memory for a shape (out of memory)");
  }
  int64_t producer = ipro_get_i64(m->r);
  uint64_t data_bytes = ipro_get_u64(m->r);
  if (m->r->short_read || producer < -1 || producer > INT32_MAX)
    return fail(m, "a tensor's producer");
  tensor->producer = (int)producer;
  if (data_bytes == 0)
    return !(flags & (FLAG_NETWORK | FLAG_DRAWN)) || fail(m, "a tensor's data (none)");
  /* the kernels read a tensor's data by its shape: the two must agree */
  if (data_bytes != (uint64_t)ipro_tensor_bytes(tensor))
    return fail(m, "a tensor's data (not the size of its shape)");
  if (flags & FLAG_NETWORK) { /* the network's values, taken at start-up */
    tensor->data_bytes = (size_t)data_bytes;
    return true;
  }
  if (flags & FLAG_DRAWN) { /* zeros until drawn */
    tensor->data = calloc(1, (size_t)data_bytes);
    tensor->data_bytes = (size_t)data_bytes;
    return tensor->data || fail(m, "memory for a tensor's data (out of memory)");
  }
  if (data_bytes > (size_t)(m->r->end - m->r->at)) return fail(m, "a tensor's data (cut short)");
  ipro_error ignored;
  if (ipro_tensor_set_data(tensor, ipro_get_bytes(m->r, (size_t)data_bytes), (size_t)data_bytes,
                           &ignored) != IPRO_OK)
    return fail(m, "memory for a tensor's data (out of memory)");
  return true;
}

static bool get_attr(module_reader *m, int n_tensors, ipro_attr *a) {
  if (!get_owned_string(m, &a->name, "an attribute's name")) return false;
  uint32_t kind = ipro_get_u32(m->r);
  if (m->r->short_read || kind > IPRO_ATTR_TENSOR) return fail(m, "an attribute's kind");
  a->kind = (ipro_attr_kind)kind;
  switch (a->kind) {
  case IPRO_ATTR_FLOAT: a->f = ipro_get_f32(m->r); break;
  case IPRO_ATTR_INT: a->i = ipro_get_i64(m->r); break;
  case IPRO_ATTR_TENSOR: {
    int index;
    if (!get_index(m, n_tensors, false, &index, "an attribute's tensor")) return false;
    a->i = index;
    break;
  }
  case IPRO_ATTR_STRING: return get_owned_string(m, &a->s, "an attribute's text");
  case IPRO_ATTR_FLOATS:
    if (!get_count(m, 4, 1 << 30, &a->count, "an attribute's length")) return false;
    a->floats = malloc(sizeof(float) * (size_t)(a->count > 0 ? a->count : 1));
    if (!a->floats) return fail(m, "memory for an attribute (out of memory)");
    for (int i = 0; i < a->count; i++)
      a->floats[i] = ipro_get_f32(m->r);
    break;
  case IPRO_ATTR_INTS:
    if (!get_count(m, 8, 1 << 30, &a->count, "an attribute's length")) return false;
    a->ints = malloc(sizeof(int64_t) * (size_t)(a->count > 0 ? a->count : 1));
    if (!a->ints) return fail(m, "memory for an attribute (out of memory)");
    for (int i = 0; i < a->count; i++)
      a->ints[i] = ipro_get_i64(m->r);
    break;
  }
  return !m->r->short_read || fail(m, "an attribute's value");
}

static bool get_node(module_reader *m, ipro_graph *g, ipro_node *node) {
  char *op = NULL;
  bool named = get_owned_string(m, &node->name, "a node's name") &&
               get_owned_string(m, &node->op_type, "a node's op type") &&
               get_owned_string(m, &op, "a node's op");
  node->op = named ? ipro_op_from_any_name(op) : IPRO_OP_COUNT;
  free(op);
  if (!named) return false;
  if (node->op == IPRO_OP_COUNT) return fail(m, "a node's op (not one this runtime has)");
  if (!get_indices(m, g->n_tensors, true, &node->n_inputs, &node->inputs, "a node's inputs") ||
      !get_indices(m, g->n_tensors, true, &node->n_outputs, &node->outputs, "a node's outputs"))
    return false;
  int n_attrs;
  if (!get_count(m, 8, 1 << 16, &n_attrs, "a node's attribute count")) return false;
  node->attrs = calloc((size_t)(n_attrs > 0 ? n_attrs : 1), sizeof *node->attrs);
  if (!node->attrs) return fail(m, "memory for attributes (out of memory)");
  for (node->n_attrs = 0; node->n_attrs < n_attrs; node->n_attrs++)
    if (!get_attr(m, g->n_tensors, &node->attrs[node->n_attrs])) return node->n_attrs++, false;
  return true;
}

/* Every tensor's producer is the node that lists it as an output, and no other. */
static bool producers_agree(module_reader *m, const ipro_graph *g) {
  int *expected = malloc(sizeof(int) * (size_t)(g->n_tensors > 0 ? g->n_tensors : 1));
  if (!expected) return fail(m, "memory for a check (out of memory)");
  for (int t = 0; t < g->n_tensors; t++)
    expected[t] = -1;
  bool ok = true;
  for (int n = 0; n < g->n_nodes && ok; n++)
    for (int o = 0; o < g->nodes[n].n_outputs && ok; o++) {
      int t = g->nodes[n].outputs[o];
      if (t >= 0 && expected[t] >= 0) ok = fail(m, "a node's outputs (a tensor written twice)");
      if (t >= 0) expected[t] = n;
    }
  for (int t = 0; t < g->n_tensors && ok; t++)
    if (g->tensors[t].producer != expected[t]) ok = fail(m, "a tensor's producer");
  free(expected);
  return ok;
}

static bool get_graph(module_reader *m, ipro_graph *g) {
  g->batch = ipro_get_i64(m->r);
  g->opset = ipro_get_i64(m->r);
  if (m->r->short_read || g->batch < 1 || g->batch > (INT64_C(1) << 31))
    return fail(m, "the graph's batch");
  int n_tensors;
  if (!get_count(m, 40, 1 << 28, &n_tensors, "the tensor count")) return false;
  for (int t = 0; t < n_tensors; t++)
    if (!get_tensor(m, g, t)) return false;
  int n_nodes;
  if (!get_count(m, 24, 1 << 28, &n_nodes, "the node count")) return false;
  g->nodes = calloc((size_t)(n_nodes > 0 ? n_nodes : 1), sizeof *g->nodes);
  if (!g->nodes) return fail(m, "memory for nodes (out of memory)");
  g->node_capacity = n_nodes;
  for (g->n_nodes = 0; g->n_nodes < n_nodes; g->n_nodes++)
    if (!get_node(m, g, &g->nodes[g->n_nodes])) return g->n_nodes++, false;
  for (int t = 0; t < g->n_tensors; t++)
    if (g->tensors[t].producer >= g->n_nodes) return fail(m, "a tensor's producer");
  return producers_agree(m, g) &&
         get_indices(m, g->n_tensors, false, &g->n_inputs, &g->inputs, "the graph's inputs") &&
         get_indices(m, g->n_tensors, false, &g->n_outputs, &g->outputs, "the graph's outputs");
}

static bool get_training(module_reader *m, int n_tensors, ipro_training_graph *t) {
  if (!get_count(m, 16, n_tensors, &t->n_parameters, "the parameter count")) return false;
  size_t n = (size_t)(t->n_parameters > 0 ? t->n_parameters : 1);
  t->parameters = malloc(sizeof(int) * n);
  t->gradients = malloc(sizeof(int) * n);
  if (!t->parameters || !t->gradients) return fail(m, "memory for parameters (out of memory)");
  for (int p = 0; p < t->n_parameters; p++)
    if (!get_index(m, n_tensors, false, &t->parameters[p], "a parameter") ||
        !get_index(m, n_tensors, true, &t->gradients[p], "a parameter's gradient"))
      return false;
  if (!get_index(m, n_tensors, true, &t->labels, "the labels") ||
      !get_count(m, 8, IPRO_MAX_LOSS_TERMS, &t->n_losses, "the loss count"))
    return false;
  for (int l = 0; l < t->n_losses; l++)
    if (!get_index(m, n_tensors, false, &t->losses[l], "a loss")) return false;
  return get_index(m, n_tensors, false, &t->hyper, "the hyper-parameters");
}

/* A float tensor with data of its shape (weights drawn at start-up, normalisation constants). */
static bool holds_floats(const ipro_graph *g, int t) {
  return g->tensors[t].dtype == IPRO_DTYPE_FLOAT && g->tensors[t].data != NULL;
}

static bool get_start(module_reader *m, const ipro_graph *g, ipro_start_values *s) {
  s->mean = s->std = -1;
  s->seed_offset = ipro_get_u64(m->r);
  if (!get_count(m, 12, g->n_tensors, &s->n_drawn, "the drawn weights' count")) return false;
  size_t n = (size_t)(s->n_drawn > 0 ? s->n_drawn : 1);
  s->drawn = malloc(sizeof(int) * n);
  s->bounds = malloc(sizeof(float) * n);
  if (!s->drawn || !s->bounds) return fail(m, "memory for drawn weights (out of memory)");
  for (int i = 0; i < s->n_drawn; i++) {
    if (!get_index(m, g->n_tensors, false, &s->drawn[i], "a drawn weight")) return false;
    s->bounds[i] = ipro_get_f32(m->r);
    if (!holds_floats(g, s->drawn[i]) || !(s->bounds[i] > 0 && s->bounds[i] < 1e30f))
      return fail(m, "a drawn weight (not float weights, or its bound)");
  }
  if (!get_index(m, g->n_tensors, true, &s->mean, "the normalisation's mean") ||
      !get_index(m, g->n_tensors, true, &s->std, "the normalisation's std"))
    return false;
  if ((s->mean >= 0 && !holds_floats(g, s->mean)) || (s->std >= 0 && !holds_floats(g, s->std)))
    return fail(m, "the normalisation's constants");
  return true;
}

ipro_status ipro_program_module_get(ipro_byte_reader *r, ipro_graph **graph,
                                    ipro_training_graph *training, ipro_error *err) {
  memset(training, 0, sizeof *training);
  *graph = NULL;
  module_reader m = {.r = r};
  ipro_graph *g = ipro_graph_create();
  if (!g) return ipro_error_set(err, "out of memory");
  if (!get_graph(&m, g) || !get_training(&m, g->n_tensors, training) ||
      !get_start(&m, g, &training->start)) {
    ipro_graph_free(g);
    ipro_training_graph_release(training);
    memset(training, 0, sizeof *training);
    return ipro_error_set(err, "%s", m.bad);
  }
  *graph = g;
  return IPRO_OK;
}

ipro_status ipro_program_module_take_network_values(ipro_graph *module, const ipro_graph *network,
                                                    ipro_error *err) {
  for (int t = 0; t < module->n_tensors; t++) {
    ipro_tensor *tensor = &module->tensors[t];
    if (tensor->data || tensor->data_bytes == 0) continue;
    int own = ipro_graph_find_tensor(network, tensor->name);
    const ipro_tensor *from = own >= 0 ? &network->tensors[own] : NULL;
    if (!from || !from->data || from->dtype != tensor->dtype ||
        from->data_bytes != tensor->data_bytes)
      return ipro_error_set(err,
                            "the module's tensor '%s' takes its values from the network, which "
                            "has no such %s tensor of %zu bytes",
                            tensor->name, ipro_dtype_name(tensor->dtype), tensor->data_bytes);
    if (ipro_tensor_set_data(tensor, from->data, from->data_bytes, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  return IPRO_OK;
}
