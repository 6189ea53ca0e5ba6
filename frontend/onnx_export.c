/* Exporting new initializer values into a copy of an ONNX model (see onnx_export.h).
 *
 * The decoded message's own buffers are never freed or reallocated here: every field changed on
 * the way out goes through an undo log (proto_edits.h) that puts it back before protobuf-c frees
 * the message, so the message is freed exactly as it was decoded. */
#include "onnx_export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/atomic_file.h"
#include "model_in_memory.h"
#include "onnx_decode.h"
#include "onnx_external_data.h"
#include "onnx_inference_form.h"
#include "proto_edits.h"

/* Bytes of a float tensor with these dims, or SIZE_MAX for a negative or absurd shape. */
static size_t float_bytes(const int64_t *dims, size_t rank) {
  int64_t count = 1;
  for (size_t i = 0; i < rank; i++) {
    if (dims[i] < 0) return SIZE_MAX;
    if (dims[i] != 0 && count > (INT64_C(1) << 40) / dims[i]) return SIZE_MAX;
    count *= dims[i];
  }
  return (size_t)count * sizeof(float);
}

/* The decoded message's own storage of a float initializer's `bytes` of value, when it has one
 * (raw_data of exactly that size, stored in the model itself, as PyTorch's exporters write
 * every initializer): NULL otherwise. */
static void *in_place_value(Onnx__TensorProto *proto, size_t bytes) {
  if (proto->has_data_location &&
      proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return NULL;
  if (proto->has_raw_data && proto->raw_data.len == bytes && bytes > 0) return proto->raw_data.data;
  return NULL;
}

/* Asks for every float initializer's value: written in place where the message holds one
 * (in_place_value), else into a buffer each replaced initializer is pointed at. */
static ipro_status collect(const Onnx__GraphProto *graph, const char *source,
                           ipro_export_value_fn value_of, void *context, ipro_proto_edits *log,
                           ipro_error *err) {
  for (size_t i = 0; value_of && i < graph->n_initializer; i++) {
    Onnx__TensorProto *proto = graph->initializer[i];
    if (proto->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) continue;
    const char *name = proto->name ? proto->name : "";
    size_t bytes = float_bytes(proto->dims, proto->n_dims);
    if (bytes == SIZE_MAX || proto->n_dims > IPRO_MAX_RANK)
      return ipro_error_set(err, "%s: initializer '%s' has an invalid shape", source, name);
    /* Where the source holds the value in the message itself, the new one replaces it there:
     * no second copy of the weights (ResNet-18: 45 MB) */
    void *in_place = in_place_value(proto, bytes);
    if (in_place) {
      ipro_status status = value_of(context, name, IPRO_DTYPE_FLOAT, proto->dims,
                                    (int)proto->n_dims, in_place, bytes, err);
      if (status == IPRO_ERROR) return IPRO_ERROR;
      continue;
    }
    uint8_t *value = malloc(bytes ? bytes : 1);
    if (!value) return ipro_error_set(err, "out of memory exporting '%s' (%zu bytes)", name, bytes);
    ipro_status status = value_of(context, name, IPRO_DTYPE_FLOAT, proto->dims, (int)proto->n_dims,
                                  value, bytes, err);
    if (status == IPRO_EXPORT_KEEP) {
      free(value);
      continue;
    }
    if (status != IPRO_OK) {
      free(value);
      return IPRO_ERROR;
    }
    if (ipro_proto_own(log, value, err) != IPRO_OK) return IPRO_ERROR;
    status = IPRO_PROTO_SET(log, proto->has_raw_data, 1, err);
    if (!status) status = IPRO_PROTO_SET(log, proto->raw_data.len, bytes, err);
    if (!status) status = IPRO_PROTO_SET(log, proto->raw_data.data, value, err);
    if (!status) status = IPRO_PROTO_SET(log, proto->n_float_data, 0, err);
    if (!status) status = IPRO_PROTO_SET(log, proto->has_data_location, 0, err);
    if (!status)
      status = IPRO_PROTO_SET(log, proto->data_location, ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT,
                              err);
    if (!status) status = IPRO_PROTO_SET(log, proto->n_external_data, 0, err);
    if (status != IPRO_OK) return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* A parameter the source holds as an Identity copy of an equal one (onnx_decode.h) and the
 * callback gives a value for: a new initializer named as the copy, in the message's list. */
static ipro_status add_copy_initializer(const Onnx__TensorProto *source, const char *name,
                                        ipro_export_value_fn value_of, void *context,
                                        Onnx__TensorProto **made, ipro_proto_edits *log,
                                        ipro_error *err) {
  *made = NULL;
  size_t bytes = float_bytes(source->dims, source->n_dims);
  if (bytes == SIZE_MAX || source->n_dims > IPRO_MAX_RANK)
    return ipro_error_set(err, "initializer '%s' has an invalid shape", source->name);
  uint8_t *value = malloc(bytes ? bytes : 1);
  if (ipro_proto_own(log, value, err) != IPRO_OK) return IPRO_ERROR;
  ipro_status status = value_of(context, name, IPRO_DTYPE_FLOAT, source->dims, (int)source->n_dims,
                                value, bytes, err);
  if (status != IPRO_OK) return status;
  Onnx__TensorProto *copy = malloc(sizeof *copy);
  if (ipro_proto_own(log, copy, err) != IPRO_OK) return IPRO_ERROR;
  onnx__tensor_proto__init(copy);
  copy->name = (char *)name;
  copy->n_dims = source->n_dims;
  copy->dims = source->dims;
  copy->has_data_type = 1;
  copy->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  copy->has_raw_data = 1;
  copy->raw_data.len = bytes;
  copy->raw_data.data = value;
  *made = copy;
  return IPRO_OK;
}

/* Writes each deduplicated parameter the callback trained back as the initializer it was: the
 * Identity node goes, an initializer named as its output comes (onnx_parameter_copies.c). The
 * strings and dims of the new initializers are the message's own; the lists are ours. */
static ipro_status restore_parameter_copies(Onnx__GraphProto *graph, ipro_export_value_fn value_of,
                                            void *context, ipro_proto_edits *log, ipro_error *err) {
  size_t copies = 0;
  for (size_t n = 0; n < graph->n_node; n++)
    if (ipro_onnx_parameter_copy_source(graph, graph->node[n])) copies++;
  if (!value_of || copies == 0) return IPRO_OK;
  Onnx__NodeProto **nodes = malloc(graph->n_node * sizeof *nodes);
  Onnx__TensorProto **initializers = malloc((graph->n_initializer + copies) * sizeof *initializers);
  if (ipro_proto_own(log, nodes, err) != IPRO_OK ||
      ipro_proto_own(log, initializers, err) != IPRO_OK)
    return IPRO_ERROR;
  if (graph->n_initializer)
    memcpy(initializers, graph->initializer, graph->n_initializer * sizeof *initializers);
  size_t n_nodes = 0, n_initializers = graph->n_initializer;
  for (size_t n = 0; n < graph->n_node; n++) {
    Onnx__NodeProto *node = graph->node[n];
    const Onnx__TensorProto *source = ipro_onnx_parameter_copy_source(graph, node);
    Onnx__TensorProto *made = NULL;
    if (source) {
      ipro_status status =
          add_copy_initializer(source, node->output[0], value_of, context, &made, log, err);
      if (status == IPRO_ERROR) return IPRO_ERROR;
    }
    if (made)
      initializers[n_initializers++] = made;
    else
      nodes[n_nodes++] = node;
  }
  ipro_status status = IPRO_PROTO_SET(log, graph->node, nodes, err);
  if (!status) status = IPRO_PROTO_SET(log, graph->n_node, n_nodes, err);
  if (!status) status = IPRO_PROTO_SET(log, graph->initializer, initializers, err);
  if (!status) status = IPRO_PROTO_SET(log, graph->n_initializer, n_initializers, err);
  return status;
}

/* The side file's name as the model records it (no folder) and its path. */
static void side_file_names(const char *destination, char *name, size_t name_size, char *path,
                            size_t path_size) {
  const char *slash = strrchr(destination, '/');
  snprintf(name, name_size, "%s.data", slash ? slash + 1 : destination);
  snprintf(path, path_size, "%s.data", destination);
}

bool ipro_onnx_export_needs_side_file(bool external_data, bool source_external, size_t inline_bytes,
                                      size_t inline_limit) {
  size_t limit = inline_limit ? inline_limit : IPRO_EXPORT_INLINE_LIMIT;
  return external_data || source_external || inline_bytes > limit;
}

/* protobuf-c's output buffer, appending to an atomic file through a staging area, so that the
 * packed model is never held whole (it was: a third copy of the weights at the end of training). */
#define STAGING_BYTES ((size_t)64 << 10)
typedef struct {
  ProtobufCBuffer base;
  ipro_atomic_file *file;
  uint8_t *staged;
  size_t used;
} file_buffer;

static void flush_staged(file_buffer *b) {
  ipro_atomic_file_write(b->file, b->staged, b->used);
  b->used = 0;
}

static void append_to_file(ProtobufCBuffer *buffer, size_t length, const uint8_t *data) {
  file_buffer *b = (file_buffer *)buffer;
  if (length == 0) return; /* an empty field's bytes: data may be NULL */
  if (b->used + length > STAGING_BYTES) flush_staged(b);
  if (length >= STAGING_BYTES) {
    ipro_atomic_file_write(b->file, data, length);
    return;
  }
  memcpy(b->staged + b->used, data, length);
  b->used += length;
}

static ipro_status pack_to_file(const Onnx__ModelProto *model, const char *destination,
                                ipro_error *err) {
  file_buffer b = {.base = {.append = append_to_file}, .staged = malloc(STAGING_BYTES)};
  if (!b.staged) return ipro_error_set(err, "out of memory writing '%s'", destination);
  ipro_status status = ipro_atomic_file_open(destination, &b.file, err);
  if (status == IPRO_OK) {
    protobuf_c_message_pack_to_buffer(&model->base, &b.base);
    flush_staged(&b);
    status = ipro_atomic_file_commit(b.file, err);
  }
  free(b.staged);
  return status;
}

/* Packs the (edited) model and writes it, with its side file first when one is made. */
static ipro_status write_model(Onnx__ModelProto *model, const ipro_export_request *r,
                               bool source_external, ipro_proto_edits *log, ipro_error *err) {
  bool external =
      ipro_onnx_export_needs_side_file(r->external_data, source_external,
                                       onnx__model_proto__get_packed_size(model), r->inline_limit);
  char side_name[1024], side_path[4096];
  side_file_names(r->destination, side_name, sizeof side_name, side_path, sizeof side_path);
  ipro_atomic_file *side = NULL;
  size_t side_size = 0;
  ipro_status status = IPRO_OK;
  if (external) {
    status = ipro_atomic_file_open(side_path, &side, err);
    if (status == IPRO_OK)
      status = ipro_onnx_externalize(model->graph, r->source_model, side_name, side, log,
                                     &side_size, err);
  }
  size_t packed_size = onnx__model_proto__get_packed_size(model);
  if (status == IPRO_OK && packed_size > IPRO_EXPORT_INLINE_LIMIT)
    status = ipro_error_set(err,
                            "'%s' would be %zu bytes even with its weights outside, past "
                            "protobuf's 2 GB limit",
                            r->destination, packed_size);
  /* the side file first, so that the model never names data that is not there yet */
  if (side && (status != IPRO_OK || side_size == 0))
    ipro_atomic_file_abandon(side);
  else if (side)
    status = ipro_atomic_file_commit(side, err);
  if (status == IPRO_OK) status = pack_to_file(model, r->destination, err);
  if (r->wrote_side_file) *r->wrote_side_file = status == IPRO_OK && side_size > 0;
  return status;
}

/* The source model decoded from its bytes where they already are: the model a compiled program
 * holds in memory, or the file mapped read-only (its pages the page cache's, not a heap copy
 * beside the decoded one). */
static ipro_status unpack_source(const char *path, Onnx__ModelProto **model, ipro_error *err) {
  size_t size = 0;
  const uint8_t *held = ipro_model_in_memory(path, &size);
  *model = NULL;
  if (held) {
    *model = onnx__model_proto__unpack(NULL, size, held);
  } else {
    int fd = open(path, O_RDONLY);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0) {
      ipro_status s = ipro_error_set(err, "cannot open '%s': %s", path, strerror(errno));
      if (fd >= 0) close(fd);
      return s;
    }
    if (S_ISDIR(info.st_mode)) {
      close(fd);
      return ipro_error_set(err, "cannot read '%s': it is a directory", path);
    }
    size = (size_t)info.st_size;
    void *mapped = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    int mapping_error = errno;
    close(fd);
    if (mapped == MAP_FAILED)
      return ipro_error_set(err, "cannot read '%s': %s", path, strerror(mapping_error));
    if (mapped) *model = onnx__model_proto__unpack(NULL, size, mapped);
    if (mapped) munmap(mapped, size);
  }
  if (!*model)
    return ipro_error_set(err, "'%s' is not a valid ONNX model (truncated or corrupt)", path);
  return IPRO_OK;
}

/* The request's metadata laid over the model's metadata_props (an entry of the same key
 * replaced, or removed for a NULL value; the others added after), as edits the log undoes. */
static ipro_status set_metadata(Onnx__ModelProto *model, const ipro_export_request *r,
                                ipro_proto_edits *log, ipro_error *err) {
  if (r->n_metadata <= 0) return IPRO_OK;
  size_t n = model->n_metadata_props;
  Onnx__StringStringEntryProto **entries = malloc((n + (size_t)r->n_metadata) * sizeof *entries);
  Onnx__StringStringEntryProto *added = calloc((size_t)r->n_metadata, sizeof *added);
  if (ipro_proto_own(log, entries, err) != IPRO_OK || ipro_proto_own(log, added, err) != IPRO_OK)
    return IPRO_ERROR;
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    bool replaced = false;
    for (int k = 0; k < r->n_metadata && !replaced; k++)
      replaced = model->metadata_props[i]->key &&
                 strcmp(model->metadata_props[i]->key, r->metadata_keys[k]) == 0;
    if (!replaced) entries[count++] = model->metadata_props[i];
  }
  for (int k = 0; k < r->n_metadata; k++) {
    if (!r->metadata_values[k]) continue; /* the key removed */
    onnx__string_string_entry_proto__init(&added[k]);
    added[k].key = (char *)r->metadata_keys[k];
    added[k].value = (char *)r->metadata_values[k];
    entries[count++] = &added[k];
  }
  if (IPRO_PROTO_SET(log, model->n_metadata_props, count, err) != IPRO_OK ||
      IPRO_PROTO_SET(log, model->metadata_props, entries, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_onnx_export(const ipro_export_request *r, ipro_error *err) {
  Onnx__ModelProto *model = NULL;
  if (unpack_source(r->source_model, &model, err) != IPRO_OK) return IPRO_ERROR;
  if (!model->graph) {
    onnx__model_proto__free_unpacked(model, NULL);
    return ipro_error_set(err, "'%s' has no graph", r->source_model);
  }
  ipro_proto_edits log = {0};
  bool source_external = ipro_onnx_uses_external_data(model->graph);
  ipro_status status = collect(model->graph, r->source_model, r->value_of, r->context, &log, err);
  if (status == IPRO_OK)
    status = restore_parameter_copies(model->graph, r->value_of, r->context, &log, err);
  int changed = 0;
  if (status == IPRO_OK && r->inference) {
    status = ipro_onnx_inference_form(model->graph, &log, &changed, err);
    if (status != IPRO_OK) ipro_error_prefix(err, "%s", r->source_model);
  }
  if (status == IPRO_OK) status = set_metadata(model, r, &log, err);
  if (status == IPRO_OK) status = write_model(model, r, source_external, &log, err);
  ipro_proto_edits_undo(&log);
  onnx__model_proto__free_unpacked(model, NULL);
  return status;
}

ipro_status ipro_onnx_export_initializers(const char *source_model, const char *destination,
                                          ipro_export_value_fn value_of, void *context,
                                          ipro_error *err) {
  ipro_export_request request = {.source_model = source_model,
                                 .destination = destination,
                                 .value_of = value_of,
                                 .context = context};
  return ipro_onnx_export(&request, err);
}
