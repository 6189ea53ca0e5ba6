/* A small streaming JSON writer for the --json outputs (the plan's, partitioner/plan.h, and the
 * CLI's): callers only say what they write. Strings are escaped per RFC 8259. */
#ifndef IPRO_JSON_WRITER_H
#define IPRO_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  FILE *out;
  int depth;
  bool needs_comma[32];
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
