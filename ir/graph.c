/* Construction, lookup and attribute access for the IR of graph.h. */
#include "ir/graph.h"
#include "ir/op_names.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *duplicate_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *copy = malloc(n);
  if (copy) memcpy(copy, s, n);
  return copy;
}

ipro_graph *ipro_graph_create(void) { return calloc(1, sizeof(ipro_graph)); }

static void free_attr(ipro_attr *attr) {
  free(attr->name);
  free(attr->s);
  free(attr->floats);
  free(attr->ints);
}

static void free_node(ipro_node *node) {
  free(node->name);
  free(node->op_type);
  free(node->inputs);
  free(node->outputs);
  for (int a = 0; a < node->n_attrs; a++)
    free_attr(&node->attrs[a]);
  free(node->attrs);
}

void ipro_graph_free(ipro_graph *graph) {
  if (!graph) return;
  for (int i = 0; i < graph->n_tensors; i++) {
    free(graph->tensors[i].name);
    free(graph->tensors[i].data);
    free(graph->tensors[i].declared_shape);
  }
  for (int i = 0; i < graph->n_nodes; i++)
    free_node(&graph->nodes[i]);
  for (int i = 0; i < graph->n_opsets; i++)
    free(graph->opsets[i].domain);
  free(graph->opsets);
  free(graph->tensors);
  free(graph->tensor_index);
  free(graph->nodes);
  free(graph->inputs);
  free(graph->outputs);
  free(graph->path);
  free(graph->producer_name);
  free(graph->producer_version);
  for (int i = 0; i < graph->n_metadata; i++)
    free(graph->metadata_keys[i]), free(graph->metadata_values[i]);
  free(graph->metadata_keys);
  free(graph->metadata_values);
  free(graph);
}

const char *ipro_graph_metadata(const ipro_graph *graph, const char *key) {
  for (int i = 0; i < graph->n_metadata; i++)
    if (strcmp(graph->metadata_keys[i], key) == 0) return graph->metadata_values[i];
  return NULL;
}

/* FNV-1a: simple, and spreads the long shared prefixes of exported names ("/layer1/...") well. */
static uint32_t name_hash(const char *name) {
  uint32_t h = 2166136261u;
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    h = (h ^ *c) * 16777619u;
  return h;
}

/* The index entry where name is, or the empty entry where it would go. */
static int index_entry(const ipro_graph *graph, const char *name) {
  int mask = graph->tensor_index_capacity - 1;
  int e = (int)(name_hash(name) & (uint32_t)mask);
  while (graph->tensor_index[e] >= 0 && strcmp(graph->tensors[graph->tensor_index[e]].name, name))
    e = (e + 1) & mask;
  return e;
}

static bool grow_index(ipro_graph *graph) {
  int capacity = graph->tensor_index_capacity ? 2 * graph->tensor_index_capacity : 128;
  int *grown = malloc(sizeof(int) * (size_t)capacity);
  if (!grown) return false;
  for (int e = 0; e < capacity; e++)
    grown[e] = -1;
  free(graph->tensor_index);
  graph->tensor_index = grown;
  graph->tensor_index_capacity = capacity;
  for (int t = 0; t < graph->n_tensors; t++)
    graph->tensor_index[index_entry(graph, graph->tensors[t].name)] = t;
  return true;
}

int ipro_graph_find_tensor(const ipro_graph *graph, const char *name) {
  if (graph->tensor_index_capacity == 0) return -1;
  return graph->tensor_index[index_entry(graph, name)];
}

ipro_status ipro_tensor_declare_shape(ipro_tensor *tensor, const ipro_shape *shape) {
  if (!tensor->declared_shape) tensor->declared_shape = malloc(sizeof *tensor->declared_shape);
  if (!tensor->declared_shape) return IPRO_ERROR;
  *tensor->declared_shape = *shape;
  return IPRO_OK;
}

void ipro_graph_shrink_to_fit(ipro_graph *graph) {
  if (graph->n_tensors > 0 && graph->n_tensors < graph->tensor_capacity) {
    ipro_tensor *fit = realloc(graph->tensors, (size_t)graph->n_tensors * sizeof *fit);
    if (fit) graph->tensors = fit, graph->tensor_capacity = graph->n_tensors;
  }
  if (graph->n_nodes > 0 && graph->n_nodes < graph->node_capacity) {
    ipro_node *fit = realloc(graph->nodes, (size_t)graph->n_nodes * sizeof *fit);
    if (fit) graph->nodes = fit, graph->node_capacity = graph->n_nodes;
  }
}

int ipro_graph_tensor(ipro_graph *graph, const char *name) {
  int found = ipro_graph_find_tensor(graph, name);
  if (found >= 0) return found;
  if (2 * (graph->n_tensors + 1) > graph->tensor_index_capacity && !grow_index(graph)) return -1;
  if (graph->n_tensors == graph->tensor_capacity) {
    int capacity = graph->tensor_capacity ? 2 * graph->tensor_capacity : 64;
    ipro_tensor *grown = realloc(graph->tensors, (size_t)capacity * sizeof *grown);
    if (!grown) return -1;
    graph->tensors = grown;
    graph->tensor_capacity = capacity;
  }
  ipro_tensor *tensor = &graph->tensors[graph->n_tensors];
  memset(tensor, 0, sizeof *tensor);
  tensor->name = duplicate_string(name);
  if (!tensor->name) return -1;
  tensor->shape.rank = -1;
  tensor->producer = -1;
  graph->tensor_index[index_entry(graph, name)] = graph->n_tensors;
  return graph->n_tensors++;
}

int ipro_graph_add_node(ipro_graph *graph, const char *name, const char *op_type, int n_inputs,
                        int n_outputs) {
  if (graph->n_nodes == graph->node_capacity) {
    int capacity = graph->node_capacity ? 2 * graph->node_capacity : 64;
    ipro_node *grown = realloc(graph->nodes, (size_t)capacity * sizeof *grown);
    if (!grown) return -1;
    graph->nodes = grown;
    graph->node_capacity = capacity;
  }
  ipro_node *node = &graph->nodes[graph->n_nodes];
  memset(node, 0, sizeof *node);
  node->name = duplicate_string(name);
  node->op_type = duplicate_string(op_type);
  node->op = ipro_op_from_name(op_type);
  node->inputs = malloc(sizeof(int) * (size_t)(n_inputs > 0 ? n_inputs : 1));
  node->outputs = malloc(sizeof(int) * (size_t)(n_outputs > 0 ? n_outputs : 1));
  if (!node->name || !node->op_type || !node->inputs || !node->outputs) {
    free(node->name);
    free(node->op_type);
    free(node->inputs);
    free(node->outputs);
    return -1;
  }
  node->n_inputs = n_inputs;
  node->n_outputs = n_outputs;
  for (int i = 0; i < n_inputs; i++)
    node->inputs[i] = -1;
  for (int i = 0; i < n_outputs; i++)
    node->outputs[i] = -1;
  return graph->n_nodes++;
}

static void set_producers(ipro_graph *graph) {
  for (int t = 0; t < graph->n_tensors; t++)
    graph->tensors[t].producer = -1;
  for (int n = 0; n < graph->n_nodes; n++)
    for (int o = 0; o < graph->nodes[n].n_outputs; o++)
      if (graph->nodes[n].outputs[o] >= 0) graph->tensors[graph->nodes[n].outputs[o]].producer = n;
}

void ipro_graph_remove_nodes(ipro_graph *graph, const bool *removed) {
  int kept = 0;
  for (int n = 0; n < graph->n_nodes; n++) {
    if (removed[n]) {
      free_node(&graph->nodes[n]);
      continue;
    }
    graph->nodes[kept++] = graph->nodes[n];
  }
  graph->n_nodes = kept;
  set_producers(graph);
}

void ipro_graph_move_last_node(ipro_graph *graph, int at) {
  int last = graph->n_nodes - 1;
  if (at < 0 || at >= last) return;
  ipro_node moved = graph->nodes[last];
  memmove(&graph->nodes[at + 1], &graph->nodes[at], sizeof(ipro_node) * (size_t)(last - at));
  graph->nodes[at] = moved;
  set_producers(graph);
}

ipro_status ipro_tensor_set_data(ipro_tensor *tensor, const void *bytes, size_t size,
                                 ipro_error *err) {
  void *copy = malloc(size ? size : 1);
  if (!copy) return ipro_error_set(err, "out of memory for the data of tensor '%s'", tensor->name);
  if (size) memcpy(copy, bytes, size);
  free(tensor->data);
  tensor->data = copy;
  tensor->data_bytes = size;
  return IPRO_OK;
}

const ipro_attr *ipro_node_attr(const ipro_node *node, const char *name) {
  for (int i = 0; i < node->n_attrs; i++)
    if (strcmp(node->attrs[i].name, name) == 0) return &node->attrs[i];
  return NULL;
}

int64_t ipro_node_attr_int(const ipro_node *node, const char *name, int64_t fallback) {
  const ipro_attr *attr = ipro_node_attr(node, name);
  return attr && attr->kind == IPRO_ATTR_INT ? attr->i : fallback;
}

float ipro_node_attr_float(const ipro_node *node, const char *name, float fallback) {
  const ipro_attr *attr = ipro_node_attr(node, name);
  return attr && attr->kind == IPRO_ATTR_FLOAT ? attr->f : fallback;
}

uint64_t ipro_node_random_stream(const ipro_node *node) {
  const ipro_attr *seed = ipro_node_attr(node, "seed");
  if (seed && seed->kind == IPRO_ATTR_INT) return (uint64_t)seed->i;
  if (seed && seed->kind == IPRO_ATTR_FLOAT) {
    uint32_t bits;
    memcpy(&bits, &seed->f, sizeof bits);
    return bits;
  }
  uint64_t hash = UINT64_C(14695981039346656037);
  for (const char *c = node->name; c && *c; c++)
    hash = (hash ^ (unsigned char)*c) * UINT64_C(1099511628211);
  return hash;
}

const char *ipro_node_attr_string(const ipro_node *node, const char *name, const char *fallback) {
  const ipro_attr *attr = ipro_node_attr(node, name);
  return attr && attr->kind == IPRO_ATTR_STRING ? attr->s : fallback;
}

const int64_t *ipro_node_attr_ints(const ipro_node *node, const char *name, int *count) {
  const ipro_attr *attr = ipro_node_attr(node, name);
  if (!attr || attr->kind != IPRO_ATTR_INTS) {
    *count = 0;
    return NULL;
  }
  *count = attr->count;
  return attr->ints;
}

const float *ipro_node_attr_floats(const ipro_node *node, const char *name, int *count) {
  const ipro_attr *attr = ipro_node_attr(node, name);
  if (!attr || attr->kind != IPRO_ATTR_FLOATS) {
    *count = 0;
    return NULL;
  }
  *count = attr->count;
  return attr->floats;
}

void ipro_node_remove_attr(ipro_node *node, const char *name) {
  for (int i = 0; i < node->n_attrs; i++) {
    if (strcmp(node->attrs[i].name, name) != 0) continue;
    free_attr(&node->attrs[i]);
    memmove(&node->attrs[i], &node->attrs[i + 1],
            (size_t)(node->n_attrs - i - 1) * sizeof *node->attrs);
    node->n_attrs--;
    return;
  }
}

/* Returns a fresh attribute slot called name (replacing any previous one), or NULL. */
static ipro_attr *new_attr(ipro_node *node, const char *name, ipro_attr_kind kind) {
  ipro_node_remove_attr(node, name);
  ipro_attr *grown = realloc(node->attrs, (size_t)(node->n_attrs + 1) * sizeof *grown);
  if (!grown) return NULL;
  node->attrs = grown;
  ipro_attr *attr = &node->attrs[node->n_attrs];
  memset(attr, 0, sizeof *attr);
  attr->name = duplicate_string(name);
  if (!attr->name) return NULL;
  attr->kind = kind;
  node->n_attrs++;
  return attr;
}

ipro_status ipro_node_set_int(ipro_node *node, const char *name, int64_t value) {
  ipro_attr *attr = new_attr(node, name, IPRO_ATTR_INT);
  if (!attr) return IPRO_ERROR;
  attr->i = value;
  return IPRO_OK;
}

ipro_status ipro_node_set_float(ipro_node *node, const char *name, float value) {
  ipro_attr *attr = new_attr(node, name, IPRO_ATTR_FLOAT);
  if (!attr) return IPRO_ERROR;
  attr->f = value;
  return IPRO_OK;
}

ipro_status ipro_node_set_string(ipro_node *node, const char *name, const char *value) {
  ipro_attr *attr = new_attr(node, name, IPRO_ATTR_STRING);
  if (!attr) return IPRO_ERROR;
  attr->s = duplicate_string(value);
  return attr->s ? IPRO_OK : IPRO_ERROR;
}

ipro_status ipro_node_set_ints(ipro_node *node, const char *name, const int64_t *values,
                               int count) {
  ipro_attr *attr = new_attr(node, name, IPRO_ATTR_INTS);
  if (!attr) return IPRO_ERROR;
  attr->ints = malloc(sizeof(int64_t) * (size_t)(count > 0 ? count : 1));
  if (!attr->ints) return IPRO_ERROR;
  if (count) memcpy(attr->ints, values, sizeof(int64_t) * (size_t)count);
  attr->count = count;
  return IPRO_OK;
}

ipro_status ipro_node_set_floats(ipro_node *node, const char *name, const float *values,
                                 int count) {
  ipro_attr *attr = new_attr(node, name, IPRO_ATTR_FLOATS);
  if (!attr) return IPRO_ERROR;
  attr->floats = malloc(sizeof(float) * (size_t)(count > 0 ? count : 1));
  if (!attr->floats) return IPRO_ERROR;
  if (count) memcpy(attr->floats, values, sizeof(float) * (size_t)count);
  attr->count = count;
  return IPRO_OK;
}

ipro_tensor *ipro_node_input(const ipro_graph *graph, const ipro_node *node, int i) {
  if (i < 0 || i >= node->n_inputs || node->inputs[i] < 0) return NULL;
  return &graph->tensors[node->inputs[i]];
}

ipro_tensor *ipro_node_output(const ipro_graph *graph, const ipro_node *node, int i) {
  if (i < 0 || i >= node->n_outputs || node->outputs[i] < 0) return NULL;
  return &graph->tensors[node->outputs[i]];
}

bool ipro_graph_tensor_is_read(const ipro_graph *graph, int tensor) {
  if (graph->tensors[tensor].is_graph_output) return true;
  for (int n = 0; n < graph->n_nodes; n++)
    for (int i = 0; i < graph->nodes[n].n_inputs; i++)
      if (graph->nodes[n].inputs[i] == tensor && !ipro_node_is_folded(graph, &graph->nodes[n]))
        return true;
  return false;
}

bool ipro_dropout_to_identity(ipro_graph *graph, int n) {
  ipro_node *node = &graph->nodes[n];
  for (int o = 1; o < node->n_outputs; o++)
    if (node->outputs[o] >= 0 && ipro_graph_tensor_is_read(graph, node->outputs[o])) return false;
  for (int o = 1; o < node->n_outputs; o++)
    if (node->outputs[o] >= 0) graph->tensors[node->outputs[o]].producer = -1;
  node->op = IPRO_OP_IDENTITY;
  node->n_outputs = 1;
  node->n_inputs = 1;
  ipro_node_remove_attr(node, "ratio");
  ipro_node_remove_attr(node, "training_mode");
  ipro_node_remove_attr(node, "seed");
  return true;
}

bool ipro_node_input_is_running_statistic(const ipro_node *node, int i) {
  return node->op == IPRO_OP_BATCH_NORMALIZATION && (i == 3 || i == 4);
}

bool ipro_node_is_folded(const ipro_graph *graph, const ipro_node *node) {
  for (int o = 0; o < node->n_outputs; o++) {
    const ipro_tensor *output = ipro_node_output(graph, node, o);
    if (output && output->kind == IPRO_TENSOR_ACTIVATION) return false;
  }
  return true;
}
