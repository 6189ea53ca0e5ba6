/* Moving initializer data into a side file (see onnx_external_data.h). Tensors follow one another
 * in initializer order, each starting at a multiple of 64 bytes so that a reader may map the file
 * and use the floats in place. */
#include "onnx_external_data.h"
#include "onnx_export.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGNMENT 64

bool ipro_onnx_uses_external_data(const Onnx__GraphProto *graph) {
  for (size_t i = 0; i < graph->n_initializer; i++)
    if (graph->initializer[i]->has_data_location &&
        graph->initializer[i]->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
      return true;
  return false;
}

ipro_status ipro_onnx_side_files(const char *model_path, char (*locations)[512], int max,
                                 int *count, ipro_error *err) {
  *count = 0;
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_onnx_read_file(model_path, &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, bytes);
  free(bytes);
  if (!model || !model->graph) {
    if (model) onnx__model_proto__free_unpacked(model, NULL);
    return ipro_error_set(err, "'%s' is not a valid ONNX model (truncated or corrupt)", model_path);
  }
  ipro_status status = IPRO_OK;
  for (size_t i = 0; i < model->graph->n_initializer && status == IPRO_OK; i++) {
    const Onnx__TensorProto *t = model->graph->initializer[i];
    if (!t->has_data_location || t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
      continue;
    for (size_t e = 0; e < t->n_external_data; e++) {
      const Onnx__StringStringEntryProto *entry = t->external_data[e];
      if (!entry->key || !entry->value || strcmp(entry->key, "location") != 0) continue;
      bool known = false;
      for (int k = 0; k < *count && !known; k++)
        known = strcmp(locations[k], entry->value) == 0;
      if (known) continue;
      if (*count == max || strlen(entry->value) >= 512 || entry->value[0] == '/' ||
          strstr(entry->value, ".."))
        status = ipro_error_set(err,
                                "'%s': external data location '%s' is not one of at most %d "
                                "files beside the model",
                                model_path, entry->value, max);
      else
        snprintf(locations[(*count)++], 512, "%s", entry->value);
    }
  }
  onnx__model_proto__free_unpacked(model, NULL);
  return status;
}

/* The side file as it is written: its bytes so far. */
typedef struct {
  ipro_atomic_file *file;
  size_t size;
} side_writer;

static void append(side_writer *w, const void *data, size_t size, size_t *offset) {
  static const uint8_t padding[ALIGNMENT];
  size_t start = (w->size + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  ipro_atomic_file_write(w->file, padding, start - w->size);
  ipro_atomic_file_write(w->file, data, size);
  w->size = start + size;
  *offset = start;
}

static Onnx__StringStringEntryProto *entry(ipro_proto_edits *log, const char *key,
                                           const char *value, ipro_error *err) {
  size_t key_length = strlen(key) + 1, value_length = strlen(value) + 1;
  Onnx__StringStringEntryProto *e = malloc(sizeof *e + key_length + value_length);
  if (ipro_proto_own(log, e, err) != IPRO_OK) return NULL;
  onnx__string_string_entry_proto__init(e);
  e->key = (char *)(e + 1);
  e->value = e->key + key_length;
  memcpy(e->key, key, key_length);
  memcpy(e->value, value, value_length);
  return e;
}

/* Points proto at [offset, offset + length) of side_name. */
static ipro_status point_external(Onnx__TensorProto *proto, const char *side_name, size_t offset,
                                  size_t length, ipro_proto_edits *log, ipro_error *err) {
  char offset_text[32], length_text[32];
  snprintf(offset_text, sizeof offset_text, "%zu", offset);
  snprintf(length_text, sizeof length_text, "%zu", length);
  Onnx__StringStringEntryProto **entries = malloc(3 * sizeof *entries);
  if (ipro_proto_own(log, entries, err) != IPRO_OK) return IPRO_ERROR;
  if (!(entries[0] = entry(log, "location", side_name, err)) ||
      !(entries[1] = entry(log, "offset", offset_text, err)) ||
      !(entries[2] = entry(log, "length", length_text, err)))
    return IPRO_ERROR;
  ipro_status status = IPRO_PROTO_SET(log, proto->has_raw_data, 0, err);
  if (!status) status = IPRO_PROTO_SET(log, proto->n_float_data, 0, err);
  if (!status) status = IPRO_PROTO_SET(log, proto->has_data_location, 1, err);
  if (!status)
    status =
        IPRO_PROTO_SET(log, proto->data_location, ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL, err);
  if (!status) status = IPRO_PROTO_SET(log, proto->n_external_data, 3, err);
  if (!status) status = IPRO_PROTO_SET(log, proto->external_data, entries, err);
  return status;
}

ipro_status ipro_onnx_externalize(Onnx__GraphProto *graph, const char *source_model,
                                  const char *side_name, ipro_atomic_file *side,
                                  ipro_proto_edits *log, size_t *side_size, ipro_error *err) {
  side_writer writer = {.file = side};
  ipro_status status = IPRO_OK;
  for (size_t i = 0; i < graph->n_initializer && status == IPRO_OK; i++) {
    Onnx__TensorProto *proto = graph->initializer[i];
    bool external = proto->has_data_location &&
                    proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    size_t offset = 0, length = 0;
    if (external) { /* one tensor at a time: read, written, let go */
      ipro_tensor tensor = {0};
      status = ipro_onnx_decode_tensor(proto, source_model, &tensor, err);
      if (status == IPRO_OK) append(&writer, tensor.data, tensor.data_bytes, &offset);
      length = tensor.data_bytes;
      free(tensor.data);
      if (status != IPRO_OK) ipro_error_prefix(err, "%s", source_model);
    } else if (proto->has_raw_data && proto->raw_data.len >= IPRO_EXTERNAL_DATA_THRESHOLD) {
      append(&writer, proto->raw_data.data, proto->raw_data.len, &offset);
      length = proto->raw_data.len;
    } else {
      continue;
    }
    if (status == IPRO_OK) status = point_external(proto, side_name, offset, length, log, err);
  }
  *side_size = writer.size;
  return status;
}
