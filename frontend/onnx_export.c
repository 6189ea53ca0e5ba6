/* Exporting new initializer values into a copy of an ONNX model (see onnx_export.h).
 *
 * The decoded message's own buffers are never freed or reallocated here: each replaced
 * initializer's fields are saved, pointed at a buffer this file owns for packing, and put back
 * before protobuf-c frees the message, so the message is freed exactly as it was decoded. */
#include "onnx_export.h"

#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "onnx_decode.h"

/* The fields of one TensorProto that a replacement changes, as decoded. */
typedef struct {
  Onnx__TensorProto *proto;
  protobuf_c_boolean has_raw_data;
  ProtobufCBinaryData raw_data;
  size_t n_float_data;
  float *float_data;
  protobuf_c_boolean has_data_location;
  Onnx__TensorProto__DataLocation data_location;
  size_t n_external_data;
  Onnx__StringStringEntryProto **external_data;
  uint8_t *value; /* ours: the new raw data */
} replacement;

static void save_fields(replacement *r, Onnx__TensorProto *proto) {
  r->proto = proto;
  r->has_raw_data = proto->has_raw_data;
  r->raw_data = proto->raw_data;
  r->n_float_data = proto->n_float_data;
  r->float_data = proto->float_data;
  r->has_data_location = proto->has_data_location;
  r->data_location = proto->data_location;
  r->n_external_data = proto->n_external_data;
  r->external_data = proto->external_data;
}

static void restore_fields(const replacement *r) {
  Onnx__TensorProto *proto = r->proto;
  proto->has_raw_data = r->has_raw_data;
  proto->raw_data = r->raw_data;
  proto->n_float_data = r->n_float_data;
  proto->float_data = r->float_data;
  proto->has_data_location = r->has_data_location;
  proto->data_location = r->data_location;
  proto->n_external_data = r->n_external_data;
  proto->external_data = r->external_data;
}

static void point_at_value(Onnx__TensorProto *proto, uint8_t *value, size_t bytes) {
  proto->has_raw_data = 1;
  proto->raw_data.data = value;
  proto->raw_data.len = bytes;
  proto->n_float_data = 0;
  proto->float_data = NULL;
  proto->has_data_location = 0;
  proto->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
  proto->n_external_data = 0;
  proto->external_data = NULL;
}

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

/* Asks for every float initializer's value; fills replacements[0..*count). */
static ipro_status collect(const Onnx__GraphProto *graph, const char *source,
                           ipro_export_value_fn value_of, void *context, replacement *replacements,
                           size_t *count, ipro_error *err) {
  for (size_t i = 0; i < graph->n_initializer; i++) {
    Onnx__TensorProto *proto = graph->initializer[i];
    if (proto->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) continue;
    const char *name = proto->name ? proto->name : "";
    size_t bytes = float_bytes(proto->dims, proto->n_dims);
    if (bytes == SIZE_MAX || proto->n_dims > IPRO_MAX_RANK)
      return ipro_error_set(err, "%s: initializer '%s' has an invalid shape", source, name);
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
    replacement *r = &replacements[(*count)++];
    save_fields(r, proto);
    r->value = value;
    point_at_value(proto, value, bytes);
  }
  return IPRO_OK;
}

ipro_status ipro_onnx_export_initializers(const char *source_model, const char *destination,
                                          ipro_export_value_fn value_of, void *context,
                                          ipro_error *err) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_onnx_read_file(source_model, &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, bytes);
  free(bytes);
  if (!model)
    return ipro_error_set(err, "'%s' is not a valid ONNX model (truncated or corrupt)",
                          source_model);
  if (!model->graph) {
    onnx__model_proto__free_unpacked(model, NULL);
    return ipro_error_set(err, "'%s' has no graph", source_model);
  }
  Onnx__GraphProto *graph = model->graph;
  size_t count = 0;
  replacement *replacements =
      calloc(graph->n_initializer ? graph->n_initializer : 1, sizeof *replacements);
  ipro_status status = replacements ? IPRO_OK : ipro_error_set(err, "out of memory");
  if (status == IPRO_OK)
    status = collect(graph, source_model, value_of, context, replacements, &count, err);

  uint8_t *packed = NULL;
  size_t packed_size = 0;
  if (status == IPRO_OK) {
    packed_size = onnx__model_proto__get_packed_size(model);
    packed = malloc(packed_size ? packed_size : 1);
    if (!packed)
      status = ipro_error_set(err, "out of memory writing '%s'", destination);
    else
      onnx__model_proto__pack(model, packed);
  }
  if (status == IPRO_OK) status = ipro_write_file_atomic(destination, packed, packed_size, err);

  free(packed);
  for (size_t i = 0; i < count; i++) {
    restore_fields(&replacements[i]);
    free(replacements[i].value);
  }
  free(replacements);
  onnx__model_proto__free_unpacked(model, NULL);
  return status;
}
