/* torch.export's graph signature (onnx_decode.h): the exporter records, in the metadata_props of
 * each graph input and value_info entry it describes, the kind of input it was to the exported
 * program ("pkg.torch.export.graph_signature.InputSpec.kind": PARAMETER, BUFFER, USER_INPUT, ...).
 * metadata_props is field 4 of ValueInfoProto since ONNX 1.16 (IR version 10), newer than the
 * onnx.proto of Debian 12 (1.13) this project's schema is generated from, so protobuf-c keeps it
 * among the message's unknown fields: each such field holds one length-prefixed
 * StringStringEntryProto, decoded here with protobuf-c. The exporter also writes the whole
 * signature as text into the graph's metadata_props (field 16 of GraphProto, unknown the same
 * way), which names the buffers the graph no longer holds (BatchNormalizations folded away). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_decode.h"

#define METADATA_PROPS_FIELD 4
#define GRAPH_METADATA_PROPS_FIELD 16
#define KIND_KEY "pkg.torch.export.graph_signature.InputSpec.kind"
#define PROGRAM_SIGNATURE_KEY "pkg.torch.export.ExportedProgram.graph_signature"

/* The varint at the start of bytes (at most size of them): its value and length, or 0. */
static size_t read_varint(const uint8_t *bytes, size_t size, uint64_t *value) {
  *value = 0;
  for (size_t i = 0; i < size && i < 10; i++) {
    *value |= (uint64_t)(bytes[i] & 0x7f) << (7 * i);
    if (!(bytes[i] & 0x80)) return i + 1;
  }
  return 0;
}

/* The value of entry `key` among the unknown fields numbered `field` of a message (metadata_props
 * that Debian's onnx.proto does not know), newly allocated, or NULL. protobuf-c keeps a
 * length-prefixed unknown field with its length prefix; a prefix that disagrees with the field's
 * length is taken as no metadata. */
static char *unknown_metadata(const ProtobufCMessage *message, uint32_t field_number,
                              const char *key) {
  for (unsigned f = 0; f < message->n_unknown_fields; f++) {
    const ProtobufCMessageUnknownField *field = &message->unknown_fields[f];
    if (field->tag != field_number || field->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
      continue;
    uint64_t length;
    size_t prefix = read_varint(field->data, field->len, &length);
    if (!prefix || length != field->len - prefix) continue;
    Onnx__StringStringEntryProto *entry =
        onnx__string_string_entry_proto__unpack(NULL, (size_t)length, field->data + prefix);
    if (!entry) continue;
    char *value = entry->key && entry->value && strcmp(entry->key, key) == 0
                      ? malloc(strlen(entry->value) + 1)
                      : NULL;
    if (value) strcpy(value, entry->value);
    onnx__string_string_entry_proto__free_unpacked(entry, NULL);
    if (value) return value;
  }
  return NULL;
}

/* The kind the signature gives info's tensor, written into kind (room for size); false when the
 * entry carries none. */
static bool signature_kind(const Onnx__ValueInfoProto *info, char *kind, size_t size) {
  char *value = unknown_metadata(&info->base, METADATA_PROPS_FIELD, KIND_KEY);
  if (!value) return false;
  strncpy(kind, value, size - 1);
  kind[size - 1] = '\0';
  free(value);
  return true;
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

/* Whether tensor `name` is an initializer of graph or read by one of its nodes. */
static bool in_graph(const Onnx__GraphProto *graph, const char *name) {
  for (size_t i = 0; i < graph->n_initializer; i++)
    if (ipro_onnx_named(graph->initializer[i]->name, name)) return true;
  for (size_t n = 0; n < graph->n_node; n++)
    for (size_t i = 0; i < graph->node[n]->n_input; i++)
      if (ipro_onnx_named(graph->node[n]->input[i], name)) return true;
  return false;
}

int ipro_onnx_folded_batch_norms(const Onnx__GraphProto *graph, char *first, size_t size) {
  if (size) first[0] = '\0';
  char *text = unknown_metadata(&graph->base, GRAPH_METADATA_PROPS_FIELD, PROGRAM_SIGNATURE_KEY);
  if (!text) return 0;
  static const char target[] = "BUFFER target='", statistic[] = "running_mean";
  int folded = 0;
  for (char *at = strstr(text, target); at; at = strstr(at, target)) {
    at += strlen(target);
    char *end = strchr(at, '\'');
    if (!end) break;
    *end = '\0';
    size_t length = strlen(at);
    bool mean =
        length >= strlen(statistic) && strcmp(at + length - strlen(statistic), statistic) == 0;
    if (mean && !in_graph(graph, at)) {
      if (!folded++ && size) /* the module: the name without ".running_mean" */
        snprintf(first, size, "%.*s",
                 (int)(length - strlen(statistic) - (length > strlen(statistic))), at);
    }
    at = end + 1;
  }
  free(text);
  return folded;
}
