/* The streaming JSON writer of json_writer.h. */
#include "json_writer.h"

#include <inttypes.h>

#include "ir/printable.h"

static void write_escaped(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\t': fputs("\\t", out); break;
    case '\r': fputs("\\r", out); break;
    default: {
      /* the other control characters too, DEL and C1 among them: valid in JSON as they are, but
       * JSON printed to a terminal must not drive it (ir/printable.h) */
      size_t control = ipro_control_length((const char *)p);
      if (control)
        fprintf(out, "\\u%04x", p[control - 1]); /* C1's code point is its second byte */
      else
        fputc(*p, out);
      p += control ? control - 1 : 0;
    }
    }
  }
  fputc('"', out);
}

static void start_value(ipro_json_writer *w, const char *key) {
  if (w->depth > 0 && w->needs_comma[w->depth]) fputc(',', w->out);
  if (w->depth > 0) w->needs_comma[w->depth] = true;
  if (key) {
    write_escaped(w->out, key);
    fputc(':', w->out);
  }
}

static void open_scope(ipro_json_writer *w, const char *key, char bracket) {
  start_value(w, key);
  fputc(bracket, w->out);
  if (w->depth < 31) w->depth++;
  w->needs_comma[w->depth] = false;
}

void ipro_json_begin_object(ipro_json_writer *w, const char *key) { open_scope(w, key, '{'); }
void ipro_json_begin_array(ipro_json_writer *w, const char *key) { open_scope(w, key, '['); }

void ipro_json_end_object(ipro_json_writer *w) {
  fputc('}', w->out);
  if (w->depth > 0) w->depth--;
  if (w->depth == 0) fputc('\n', w->out);
}

void ipro_json_end_array(ipro_json_writer *w) {
  fputc(']', w->out);
  if (w->depth > 0) w->depth--;
}

void ipro_json_string(ipro_json_writer *w, const char *key, const char *value) {
  start_value(w, key);
  write_escaped(w->out, value ? value : "");
}

void ipro_json_int(ipro_json_writer *w, const char *key, int64_t value) {
  start_value(w, key);
  fprintf(w->out, "%" PRId64, value);
}

void ipro_json_double(ipro_json_writer *w, const char *key, double value) {
  start_value(w, key);
  fprintf(w->out, "%.17g", value);
}

void ipro_json_bool(ipro_json_writer *w, const char *key, bool value) {
  start_value(w, key);
  fputs(value ? "true" : "false", w->out);
}
