/* The undo log for temporary edits to decoded protobuf-c messages (see proto_edits.h). */
#include "proto_edits.h"

#include <stdlib.h>
#include <string.h>

ipro_status ipro_proto_edits_set(ipro_proto_edits *log, void *field, const void *value, size_t size,
                                 ipro_error *err) {
  if (size > sizeof log->edits[0].old)
    return ipro_error_set(err, "internal: a protobuf field of %zu bytes", size);
  if (log->count == log->capacity) {
    size_t capacity = log->capacity ? log->capacity * 2 : 64;
    ipro_proto_edit_record *grown = realloc(log->edits, capacity * sizeof *grown);
    if (!grown) return ipro_error_set(err, "out of memory");
    log->edits = grown, log->capacity = capacity;
  }
  ipro_proto_edit_record *e = &log->edits[log->count++];
  e->field = field, e->size = size;
  memcpy(e->old, field, size);
  memcpy(field, value, size);
  return IPRO_OK;
}

ipro_status ipro_proto_own(ipro_proto_edits *log, void *buffer, ipro_error *err) {
  if (!buffer) return ipro_error_set(err, "out of memory");
  if (log->n_owned == log->owned_capacity) {
    size_t capacity = log->owned_capacity ? log->owned_capacity * 2 : 64;
    void **grown = realloc(log->owned, capacity * sizeof *grown);
    if (!grown) {
      free(buffer);
      return ipro_error_set(err, "out of memory");
    }
    log->owned = grown, log->owned_capacity = capacity;
  }
  log->owned[log->n_owned++] = buffer;
  return IPRO_OK;
}

void ipro_proto_edits_undo(ipro_proto_edits *log) {
  while (log->count) {
    ipro_proto_edit_record *e = &log->edits[--log->count];
    memcpy(e->field, e->old, e->size);
  }
  for (size_t i = 0; i < log->n_owned; i++)
    free(log->owned[i]);
  free(log->edits);
  free(log->owned);
  memset(log, 0, sizeof *log);
}
