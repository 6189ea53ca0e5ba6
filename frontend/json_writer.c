/* The --json outputs through jansson (json_writer.h). */
#include "json_writer.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/printable.h"

/* text as jansson takes it: itself when it is UTF-8 (jansson's own check), else a malloc'd copy
 * with every byte from 0x80 up written as the text \xNN (*copy set, for the caller to free). */
static const char *as_utf8(const char *text, char **copy) {
  *copy = NULL;
  json_t *probe = json_string(text);
  if (probe) {
    json_decref(probe);
    return text;
  }
  size_t length = strlen(text);
  *copy = malloc(4 * length + 1);
  if (!*copy) return "";
  char *at = *copy;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    at += *p < 0x80 ? (size_t)snprintf(at, 2, "%c", *p) : (size_t)snprintf(at, 5, "\\x%02x", *p);
  return *copy;
}

/* value (its reference taken; NULL, jansson's answer to no memory, as null) into the innermost
 * open object under key, or appended to the innermost open array. */
static void place(ipro_json_writer *w, const char *key, json_t *value) {
  if (!value) value = json_null();
  if (w->depth == 0) { /* a document is one object or array */
    json_decref(value);
    return;
  }
  json_t *parent = w->open[w->depth - 1];
  if (json_is_array(parent)) {
    json_array_append_new(parent, value);
    return;
  }
  char *copy;
  json_object_set_new(parent, as_utf8(key ? key : "", &copy), value);
  free(copy);
}

static void open_scope(ipro_json_writer *w, const char *key, json_t *container) {
  if (w->depth == 0) {
    w->open[0] = container; /* the document, written when it closes */
    w->depth = container ? 1 : 0;
    return;
  }
  place(w, key, container); /* the parent holds the reference; the pointer stays good */
  if (container && w->depth < IPRO_JSON_MAX_DEPTH) w->open[w->depth++] = container;
}

/* The document as jansson writes it, with DEL and C1 (in strings alone: everything else jansson
 * writes is ASCII and printable, or escaped) escaped too, and a newline. */
static void write_document(FILE *out, const json_t *document) {
  char *text = json_dumps(document, JSON_COMPACT | JSON_REAL_PRECISION(17));
  if (!text) {
    fputs("null\n", out); /* no memory to write it */
    return;
  }
  for (const char *p = text; *p;) {
    size_t control = ipro_control_length(p);
    if (control)
      fprintf(out, "\\u%04X", (unsigned char)p[control - 1]); /* C1's code point: its 2nd byte */
    else
      fputc(*p, out);
    p += control ? control : 1;
  }
  fputc('\n', out);
  free(text);
}

static void close_scope(ipro_json_writer *w) {
  if (w->depth == 0) return;
  if (--w->depth > 0) return;
  write_document(w->out, w->open[0]);
  json_decref(w->open[0]);
  w->open[0] = NULL;
}

void ipro_json_begin_object(ipro_json_writer *w, const char *key) {
  open_scope(w, key, json_object());
}
void ipro_json_begin_array(ipro_json_writer *w, const char *key) {
  open_scope(w, key, json_array());
}
void ipro_json_end_object(ipro_json_writer *w) { close_scope(w); }
void ipro_json_end_array(ipro_json_writer *w) { close_scope(w); }

void ipro_json_string(ipro_json_writer *w, const char *key, const char *value) {
  char *copy;
  place(w, key, json_string(as_utf8(value ? value : "", &copy)));
  free(copy);
}

void ipro_json_int(ipro_json_writer *w, const char *key, int64_t value) {
  place(w, key, json_integer((json_int_t)value));
}

void ipro_json_double(ipro_json_writer *w, const char *key, double value) {
  place(w, key, isfinite(value) ? json_real(value) : json_null());
}

void ipro_json_bool(ipro_json_writer *w, const char *key, bool value) {
  place(w, key, json_boolean(value));
}
