/* The --json outputs (the plan's, partitioner/plan.h, and the CLI's), written through jansson:
 * callers say what they write, in order, and the document is built as jansson values and
 * written when its outermost object closes (compact, one line, doubles to 17 significant
 * digits). Strings are jansson's to escape (RFC 8259); on top of that DEL and the C1 controls,
 * which JSON allows as they are, are written escaped too, so that JSON printed to a terminal
 * cannot drive it (ir/printable.h). JSON holds UTF-8 only: text that is not (an ONNX name may be
 * any bytes) is written with its bytes from 0x80 up as the text \xNN. A double that is not
 * finite, which JSON has no number for, is written as null. */
#ifndef IPRO_JSON_WRITER_H
#define IPRO_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define IPRO_JSON_MAX_DEPTH 32

struct json_t;

typedef struct {
  FILE *out;
  int depth;
  struct json_t *open[IPRO_JSON_MAX_DEPTH]; /* the objects and arrays open, outermost first */
} ipro_json_writer;

void ipro_json_begin_object(ipro_json_writer *w, const char *key);
void ipro_json_end_object(ipro_json_writer *w);
void ipro_json_begin_array(ipro_json_writer *w, const char *key);
void ipro_json_end_array(ipro_json_writer *w);
/* key is NULL inside arrays. */
void ipro_json_string(ipro_json_writer *w, const char *key, const char *value);
void ipro_json_int(ipro_json_writer *w, const char *key, int64_t value);
void ipro_json_double(ipro_json_writer *w, const char *key, double value);
void ipro_json_bool(ipro_json_writer *w, const char *key, bool value);

#endif
