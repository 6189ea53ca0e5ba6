/* The remembering backend of planning_backend.h: an open-addressing table from a node's kind
 * (a text key) to what the real backend said about it. */
#include "planning_backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Constant operands up to this size are part of a node's kind; larger ones are weights, whose
 * values no backend reads when it prepares a kernel (they change every step). */
#define SMALL_CONSTANT_BYTES 256

typedef struct {
  char *key; /* NULL: empty entry */
  bool supported;
  bool workspace_known;
  size_t workspace_bytes;
  bool has_frugal_variant;
} remembered;

typedef struct {
  ipro_backend base;
  ipro_backend *inner;
  remembered *table;
  size_t capacity, count; /* capacity: a power of two */
} planning_backend;

/* ---- the key ---- */

typedef struct {
  char *text;
  size_t length, capacity;
  bool failed; /* out of memory: the node is then not remembered */
} key_builder;

/* Room for `more` bytes and a terminator; false (and failed) when out of memory. */
static bool reserve(key_builder *k, size_t more) {
  if (k->failed) return false;
  if (k->length + more + 1 <= k->capacity) return true;
  size_t capacity = 2 * k->capacity + more + 1;
  char *grown = realloc(k->text, capacity);
  if (!grown) {
    k->failed = true;
    return false;
  }
  k->text = grown, k->capacity = capacity;
  return true;
}

static void append_bytes(key_builder *k, const char *bytes, size_t count) {
  if (!reserve(k, count)) return;
  memcpy(k->text + k->length, bytes, count);
  k->length += count;
  k->text[k->length] = '\0';
}

static void append_text(key_builder *k, const char *text) { append_bytes(k, text, strlen(text)); }

/* A decimal integer, then `separator` (none when 0). The key is built for every node of every
 * module the planner costs (thousands of modules for ResNet-110 at K = 4), so the integers and
 * the constants' bytes are written directly rather than through snprintf, which took 43% of the
 * planning time. */
static void append_int(key_builder *k, long long value, char separator) {
  char digits[24];
  size_t n = 0;
  unsigned long long magnitude =
      value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
  do {
    digits[sizeof digits - 1 - n++] = (char)('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude);
  if (value < 0) digits[sizeof digits - 1 - n++] = '-';
  append_bytes(k, digits + sizeof digits - n, n);
  if (separator) append_bytes(k, &separator, 1);
}

/* A float exactly (C's hexadecimal form), then `separator` (none when 0). */
static void append_float(key_builder *k, float value, char separator) {
  char text[48];
  int n = snprintf(text, sizeof text, "%a", (double)value);
  if (n < 0 || (size_t)n >= sizeof text) {
    k->failed = true;
    return;
  }
  append_bytes(k, text, (size_t)n);
  if (separator) append_bytes(k, &separator, 1);
}

static void append_hex(key_builder *k, const unsigned char *bytes, size_t count) {
  static const char digits[] = "0123456789abcdef";
  if (!reserve(k, 2 * count)) return;
  for (size_t b = 0; b < count; b++) {
    k->text[k->length++] = digits[bytes[b] >> 4];
    k->text[k->length++] = digits[bytes[b] & 15];
  }
  k->text[k->length] = '\0';
}

/* A tensor's part of the key: also its layout (0 plain), which changes the kernel and its
 * workspace. */
static void append_tensor(key_builder *k, const ipro_graph *graph, int index,
                          const uint8_t *layouts) {
  const ipro_tensor *t = &graph->tensors[index];
  append_text(k, "(");
  append_int(k, (int)t->dtype, ' ');
  append_int(k, (int)t->kind, ' ');
  append_int(k, layouts ? (int)layouts[index] : 0, ' ');
  append_int(k, t->shape.rank, ':');
  for (int d = 0; d < t->shape.rank; d++)
    append_int(k, (long long)t->shape.dims[d], ',');
  if (t->data && t->data_bytes <= SMALL_CONSTANT_BYTES) {
    append_text(k, "=");
    append_hex(k, t->data, t->data_bytes);
  }
  append_text(k, ")");
}

/* NULL when out of memory. */
static char *node_key(const ipro_graph *graph, const ipro_node *node, const uint8_t *layouts,
                      bool frugal) {
  key_builder k = {.capacity = 256};
  k.text = malloc(k.capacity);
  if (!k.text) return NULL;
  k.text[0] = '\0';
  append_int(&k, frugal ? 1 : 0, '|');
  append_int(&k, (int)node->op, '|');
  append_text(&k, node->op_type);
  append_text(&k, "|");
  for (int i = 0; i < node->n_inputs; i++) {
    if (node->inputs[i] < 0)
      append_text(&k, "-");
    else
      append_tensor(&k, graph, node->inputs[i], layouts);
  }
  append_text(&k, "|");
  for (int o = 0; o < node->n_outputs; o++) {
    if (node->outputs[o] < 0)
      append_text(&k, "-");
    else
      append_tensor(&k, graph, node->outputs[o], layouts);
  }
  for (int a = 0; a < node->n_attrs; a++) {
    const ipro_attr *attr = &node->attrs[a];
    append_text(&k, "|");
    append_text(&k, attr->name);
    append_text(&k, ":");
    append_int(&k, (int)attr->kind, ':');
    switch (attr->kind) {
    case IPRO_ATTR_FLOAT: append_float(&k, attr->f, 0); break;
    case IPRO_ATTR_INT: append_int(&k, (long long)attr->i, 0); break;
    case IPRO_ATTR_STRING: append_text(&k, attr->s ? attr->s : ""); break;
    case IPRO_ATTR_FLOATS:
      for (int v = 0; v < attr->count; v++)
        append_float(&k, attr->floats[v], ',');
      break;
    case IPRO_ATTR_INTS:
      for (int v = 0; v < attr->count; v++)
        append_int(&k, (long long)attr->ints[v], ',');
      break;
    case IPRO_ATTR_TENSOR: append_tensor(&k, graph, (int)attr->i, NULL); break;
    }
  }
  if (k.failed) {
    free(k.text);
    return NULL;
  }
  return k.text;
}

/* ---- the table ---- */

/* FNV-1a over the key's 8-byte words (then its last bytes), with a final mix: the keys run to
 * hundreds of bytes and are hashed for every node of every module costed, where a byte at a time
 * took a tenth of the planning time. */
static size_t key_hash(const char *key) {
  uint64_t h = 14695981039346656037u;
  size_t length = strlen(key), at = 0;
  for (; at + 8 <= length; at += 8) {
    uint64_t word;
    memcpy(&word, key + at, 8);
    h = (h ^ word) * 1099511628211u;
  }
  for (; at < length; at++)
    h = (h ^ (unsigned char)key[at]) * 1099511628211u;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9u;
  h ^= h >> 32;
  return (size_t)h;
}

static remembered *slot_of(remembered *table, size_t capacity, const char *key) {
  size_t e = key_hash(key) & (capacity - 1);
  while (table[e].key && strcmp(table[e].key, key) != 0)
    e = (e + 1) & (capacity - 1);
  return &table[e];
}

/* The entry for key, made (taking ownership of key) if new; NULL when out of memory (key is then
 * freed). */
static remembered *remember(planning_backend *p, char *key) {
  if (2 * (p->count + 1) > p->capacity) {
    size_t capacity = p->capacity ? 2 * p->capacity : 256;
    remembered *grown = calloc(capacity, sizeof *grown);
    if (!grown) {
      free(key);
      return NULL;
    }
    for (size_t e = 0; e < p->capacity; e++)
      if (p->table[e].key) *slot_of(grown, capacity, p->table[e].key) = p->table[e];
    free(p->table);
    p->table = grown, p->capacity = capacity;
  }
  remembered *entry = slot_of(p->table, p->capacity, key);
  if (entry->key) {
    free(key);
    return entry;
  }
  entry->key = key;
  p->count++;
  return entry;
}

/* The node's entry, or NULL when it cannot be remembered (out of memory). */
static remembered *entry_of(planning_backend *p, const ipro_graph *graph, const ipro_node *node,
                            bool *is_new) {
  char *key = node_key(graph, node, p->base.layouts, p->base.frugal);
  if (!key) return NULL;
  size_t before = p->count;
  remembered *entry = remember(p, key);
  *is_new = p->count != before;
  return entry;
}

/* ---- the backend ---- */

static ipro_status refuse_to_run(ipro_kernel *self, void *const *inputs, void *const *outputs,
                                 void *workspace, uint64_t step, ipro_error *err) {
  (void)self, (void)inputs, (void)outputs, (void)workspace, (void)step;
  return ipro_error_set(err, "a planning kernel cannot run");
}

static void free_kernel(ipro_kernel *self) { free(self); }

static bool planning_supports(const ipro_backend *self, const ipro_graph *graph,
                              const ipro_node *node) {
  planning_backend *p = (planning_backend *)self;
  bool is_new = false;
  remembered *entry = entry_of(p, graph, node, &is_new);
  if (entry && !is_new) return entry->supported;
  p->inner->layouts = self->layouts;
  p->inner->frugal = self->frugal;
  bool supported = p->inner->supports_forward(p->inner, graph, node);
  p->inner->layouts = NULL;
  p->inner->frugal = false;
  if (entry) entry->supported = supported;
  return supported;
}

static ipro_status planning_prepare(ipro_backend *self, const ipro_graph *graph,
                                    const ipro_node *node, ipro_kernel **out, ipro_error *err) {
  planning_backend *p = (planning_backend *)self;
  bool is_new = false;
  remembered *entry = entry_of(p, graph, node, &is_new);
  if (entry && entry->workspace_known) {
    ipro_kernel *kernel = calloc(1, sizeof *kernel);
    if (!kernel) return ipro_error_set(err, "out of memory");
    kernel->workspace_bytes = entry->workspace_bytes;
    kernel->has_frugal_variant = entry->has_frugal_variant;
    kernel->run = refuse_to_run;
    kernel->destroy = free_kernel;
    *out = kernel;
    return IPRO_OK;
  }
  p->inner->layouts = self->layouts;
  p->inner->frugal = self->frugal;
  if (entry && is_new) entry->supported = p->inner->supports_forward(p->inner, graph, node);
  ipro_status status = p->inner->prepare_forward(p->inner, graph, node, out, err);
  p->inner->layouts = NULL;
  p->inner->frugal = false;
  if (status != IPRO_OK) return IPRO_ERROR;
  if (entry && *out) {
    entry->workspace_known = true;
    entry->workspace_bytes = (*out)->workspace_bytes;
    entry->has_frugal_variant = (*out)->has_frugal_variant;
  }
  return IPRO_OK;
}

static void planning_layouts(const ipro_backend *self, const ipro_graph *graph,
                             const bool *excluded, uint8_t *layouts) {
  const planning_backend *p = (const planning_backend *)self;
  p->inner->choose_layouts(p->inner, graph, excluded, layouts);
}

static size_t planning_layout_bytes(const ipro_backend *self, const ipro_graph *graph, int tensor,
                                    uint8_t layout) {
  const planning_backend *p = (const planning_backend *)self;
  return p->inner->layout_bytes(p->inner, graph, tensor, layout);
}

static ipro_status planning_allocate(ipro_backend *self, size_t bytes, void **out,
                                     ipro_error *err) {
  planning_backend *p = (planning_backend *)self;
  return p->inner->allocate(p->inner, bytes, out, err);
}

static void planning_release(ipro_backend *self, void *pointer, size_t bytes) {
  planning_backend *p = (planning_backend *)self;
  p->inner->release(p->inner, pointer, bytes);
}

static ipro_status planning_to_device(ipro_backend *self, void *device, const void *host,
                                      size_t bytes, ipro_error *err) {
  planning_backend *p = (planning_backend *)self;
  return p->inner->copy_to_device(p->inner, device, host, bytes, err);
}

static ipro_status planning_to_host(ipro_backend *self, void *host, const void *device,
                                    size_t bytes, ipro_error *err) {
  planning_backend *p = (planning_backend *)self;
  return p->inner->copy_to_host(p->inner, host, device, bytes, err);
}

static void planning_destroy(ipro_backend *self) {
  planning_backend *p = (planning_backend *)self;
  for (size_t e = 0; e < p->capacity; e++)
    free(p->table[e].key);
  free(p->table);
  p->inner->destroy(p->inner);
  free(p);
}

ipro_status ipro_planning_backend_create(ipro_backend *inner, ipro_backend **out, ipro_error *err) {
  *out = NULL;
  planning_backend *p = calloc(1, sizeof *p);
  if (!p) {
    inner->destroy(inner);
    return ipro_error_set(err, "out of memory");
  }
  p->inner = inner;
  p->base.name = inner->name;
  p->base.supports_forward = planning_supports;
  p->base.prepare_forward = planning_prepare;
  p->base.choose_layouts = inner->choose_layouts ? planning_layouts : NULL;
  p->base.layout_bytes = inner->layout_bytes ? planning_layout_bytes : NULL;
  p->base.carries_layouts = inner->carries_layouts;
  p->base.allocate = planning_allocate;
  p->base.release = planning_release;
  p->base.copy_to_device = planning_to_device;
  p->base.copy_to_host = planning_to_host;
  p->base.host_memory = inner->host_memory;
  p->base.runs_fused_relu = inner->runs_fused_relu;
  p->base.arena_alignment = inner->arena_alignment;
  p->base.destroy = planning_destroy;
  *out = &p->base;
  return IPRO_OK;
}
