/* Exporting new initializer values into a copy of an ONNX model (see onnx_export.h).
 *
 * The decoded message's own buffers are never freed or reallocated here: every field changed on
 * the way out goes through an undo log (proto_edits.h) that puts it back before protobuf-c frees
 * the message, so the message is freed exactly as it was decoded. */
#include "onnx_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
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

/* Asks for every float initializer's value and points each replaced one at it. */
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

/* Packs the (edited) model and writes it, with its side file first when one is made. */
static ipro_status write_model(Onnx__ModelProto *model, const ipro_export_request *r,
                               bool source_external, ipro_proto_edits *log, ipro_error *err) {
  bool external =
      ipro_onnx_export_needs_side_file(r->external_data, source_external,
                                       onnx__model_proto__get_packed_size(model), r->inline_limit);
  char side_name[1024], side_path[4096];
  side_file_names(r->destination, side_name, sizeof side_name, side_path, sizeof side_path);
  uint8_t *side = NULL;
  size_t side_size = 0;
  if (external && ipro_onnx_externalize(model->graph, r->source_model, side_name, log, &side,
                                        &side_size, err) != IPRO_OK)
    return IPRO_ERROR;
  size_t packed_size = onnx__model_proto__get_packed_size(model);
  ipro_status status = IPRO_OK;
  if (packed_size > IPRO_EXPORT_INLINE_LIMIT)
    status = ipro_error_set(err,
                            "'%s' would be %zu bytes even with its weights outside, past "
                            "protobuf's 2 GB limit",
                            r->destination, packed_size);
  if (status == IPRO_OK && side) status = ipro_write_file_atomic(side_path, side, side_size, err);
  free(side);
  uint8_t *packed = status == IPRO_OK ? malloc(packed_size ? packed_size : 1) : NULL;
  if (status == IPRO_OK && !packed)
    status = ipro_error_set(err, "out of memory writing '%s'", r->destination);
  if (status == IPRO_OK) {
    onnx__model_proto__pack(model, packed);
    status = ipro_write_file_atomic(r->destination, packed, packed_size, err);
  }
  free(packed);
  if (r->wrote_side_file) *r->wrote_side_file = status == IPRO_OK && side_size > 0;
  return status;
}

ipro_status ipro_onnx_export(const ipro_export_request *r, ipro_error *err) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_onnx_read_file(r->source_model, &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, bytes);
  free(bytes);
  if (!model)
    return ipro_error_set(err, "'%s' is not a valid ONNX model (truncated or corrupt)",
                          r->source_model);
  if (!model->graph) {
    onnx__model_proto__free_unpacked(model, NULL);
    return ipro_error_set(err, "'%s' has no graph", r->source_model);
  }
  ipro_proto_edits log = {0};
  bool source_external = ipro_onnx_uses_external_data(model->graph);
  ipro_status status = collect(model->graph, r->source_model, r->value_of, r->context, &log, err);
  int changed = 0;
  if (status == IPRO_OK && r->inference) {
    status = ipro_onnx_inference_form(model->graph, &log, &changed, err);
    if (status != IPRO_OK) ipro_error_prefix(err, "%s", r->source_model);
  }
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
