/* torch.export's graph signature (onnx_decode.h): the exporter records, in the metadata_props of
 * each graph input and value_info entry it describes, the kind of input it was to the exported
 * program ("pkg.torch.export.graph_signature.InputSpec.kind": PARAMETER, BUFFER, USER_INPUT, ...).
 * metadata_props is field 4 of ValueInfoProto since ONNX 1.16 (IR version 10), newer than the
 * onnx.proto of Debian 12 (1.13) this project's schema is generated from, so protobuf-c keeps it
 * among the message's unknown fields: each such field holds one length-prefixed
 * StringStringEntryProto, decoded here with protobuf-c. */
#include <stdlib.h>
#include <string.h>

#include "onnx_decode.h"

#define METADATA_PROPS_FIELD 4
#define KIND_KEY "pkg.torch.export.graph_signature.InputSpec.kind"

/* The varint at the start of bytes (at most size of them): its value and length, or 0. */
static size_t read_varint(const uint8_t *bytes, size_t size, uint64_t *value) {
  *value = 0;
  for (size_t i = 0; i < size && i < 10; i++) {
    *value |= (uint64_t)(bytes[i] & 0x7f) << (7 * i);
    if (!(bytes[i] & 0x80)) return i + 1;
  }
  return 0;
}

/* The kind the signature gives info's tensor, written into kind (room for size); false when the
 * entry carries none. protobuf-c keeps a length-prefixed unknown field with its length prefix;
 * a prefix that disagrees with the field's length is taken as no metadata. */
static bool signature_kind(const Onnx__ValueInfoProto *info, char *kind, size_t size) {
  for (unsigned f = 0; f < info->base.n_unknown_fields; f++) {
    const ProtobufCMessageUnknownField *field = &info->base.unknown_fields[f];
    if (field->tag != METADATA_PROPS_FIELD ||
        field->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
      continue;
    uint64_t length;
    size_t prefix = read_varint(field->data, field->len, &length);
    if (!prefix || length != field->len - prefix) continue;
    Onnx__StringStringEntryProto *entry =
        onnx__string_string_entry_proto__unpack(NULL, (size_t)length, field->data + prefix);
    if (!entry) continue;
    bool found = entry->key && entry->value && strcmp(entry->key, KIND_KEY) == 0;
    if (found) {
      strncpy(kind, entry->value, size - 1);
      kind[size - 1] = '\0';
    }
    onnx__string_string_entry_proto__free_unpacked(entry, NULL);
    if (found) return true;
  }
  return false;
}

/* The entry of graph describing name (a graph input or a value_info), or NULL. */
static const Onnx__ValueInfoProto *described(const Onnx__GraphProto *graph, const char *name) {
  for (size_t i = 0; i < graph->n_input; i++)
    if (ipro_onnx_named(graph->input[i]->name, name)) return graph->input[i];
  for (size_t i = 0; i < graph->n_value_info; i++)
    if (ipro_onnx_named(graph->value_info[i]->name, name)) return graph->value_info[i];
  return NULL;
}

bool ipro_onnx_has_graph_signature(const Onnx__GraphProto *graph) {
  char kind[32];
  for (size_t i = 0; i < graph->n_input; i++)
    if (signature_kind(graph->input[i], kind, sizeof kind)) return true;
  for (size_t i = 0; i < graph->n_value_info; i++)
    if (signature_kind(graph->value_info[i], kind, sizeof kind)) return true;
  return false;
}

bool ipro_onnx_signature_kind(const Onnx__GraphProto *graph, const char *name, char *kind,
                              size_t size) {
  const Onnx__ValueInfoProto *info = described(graph, name);
  return info && signature_kind(info, kind, size);
}
