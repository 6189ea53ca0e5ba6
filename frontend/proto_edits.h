/* Temporary edits to a message protobuf-c decoded, for writing a changed copy of an ONNX file.
 *
 * protobuf-c frees a decoded message by walking its own fields, so a field that is shortened
 * (a count lowered), repointed (raw_data at our buffer) or switched (data_location) must hold its
 * decoded value again before the message is freed, or the message leaks or frees what it does
 * not own. Each edit remembers the field's old bytes; ipro_proto_edits_undo puts them all back,
 * last first, and frees the buffers the edits handed to the message. */
#ifndef IPRO_PROTO_EDITS_H
#define IPRO_PROTO_EDITS_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/error.h"

typedef struct {
  void *field;
  unsigned char old[16];
  size_t size;
} ipro_proto_edit_record;

typedef struct {
  ipro_proto_edit_record *edits;
  size_t count, capacity;
  void **owned; /* buffers to free after undo */
  size_t n_owned, owned_capacity;
} ipro_proto_edits;

/* Writes size bytes (at most 16) of value into field, remembering the old ones. */
ipro_status ipro_proto_edits_set(ipro_proto_edits *log, void *field, const void *value, size_t size,
                                 ipro_error *err);
/* Keeps buffer (malloc'd) until undo; NULL buffer is an out-of-memory error. */
ipro_status ipro_proto_own(ipro_proto_edits *log, void *buffer, ipro_error *err);
void ipro_proto_edits_undo(ipro_proto_edits *log);

/* Typed shorthands. */
#define IPRO_PROTO_SET(log, field, value, err)                                                     \
  ipro_proto_edits_set((log), &(field), &(__typeof__(field)){value}, sizeof(field), (err))

#endif
